"""What this machine offers: which device to run on, and whether bf16 math is fast there."""
from __future__ import annotations

import os
import platform
from functools import cache

import torch

from .errors import UsageError

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


def pick_device(name: str = "auto") -> torch.device:
    """`auto`: CUDA if present, then Apple's MPS, then the CPU. A named device that is
    missing is an error, not a silent fallback."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name not in DEVICE_CHOICES and not name.startswith("cuda:"):
        raise UsageError(f"unknown device {name!r}; choose one of {', '.join(DEVICE_CHOICES)}")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise UsageError("CUDA was asked for, but torch sees no CUDA GPU here (use --device cpu or auto)")
    if name == "mps" and not torch.backends.mps.is_available():
        raise UsageError("MPS was asked for, but torch sees no Apple GPU here (use --device cpu or auto)")
    return torch.device(name)


@cache
def cpu_flags() -> frozenset[str]:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


@cache
def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def bf16_is_fast(device: torch.device | str = "cpu") -> bool:
    """bf16 autocast pays off on GPUs that support it and on CPUs with native bf16 math
    (AVX-512 BF16 or AMX); elsewhere it is emulated and slower than fp32."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type == "mps":
        return False
    return bool({"avx512_bf16", "amx_bf16"} & cpu_flags())


def describe(device: torch.device | str = "cpu") -> str:
    """One line for model cards and benchmark tables."""
    device = torch.device(device)
    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)}, torch {torch.__version__}"
    return f"{os.cpu_count()} CPU cores ({cpu_name()}), torch {torch.__version__}"
