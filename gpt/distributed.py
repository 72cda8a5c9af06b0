"""Joining a `torchrun` job: one process per CPU/GPU worker, PyTorch DDP between them."""
from __future__ import annotations

import os

import torch
import torch.distributed as dist


def init_from_env(device: torch.device) -> torch.device:
    """Start the process group if torchrun launched us; return this process's device.

    torchrun sets RANK, LOCAL_RANK and WORLD_SIZE. The backend follows the device: NCCL
    between GPUs (each process takes GPU number LOCAL_RANK), gloo between CPU processes.
    Run on one machine as `torchrun --standalone --nproc_per_node=2 -m gpt.train ...`.
    """
    if "RANK" not in os.environ or dist.is_initialized():
        return device
    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
        torch.cuda.set_device(device)
        dist.init_process_group(backend="nccl", device_id=device)
        return device
    dist.init_process_group(backend="gloo")
    return device


def shutdown() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()
