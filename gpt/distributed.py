"""Joining a `torchrun` job: one process per CPU/GPU worker, PyTorch DDP between them."""
from __future__ import annotations

import os

import torch
import torch.distributed as dist


def init_from_env() -> torch.device:
    """Start the process group if torchrun launched us; return this process's device.

    torchrun sets RANK, LOCAL_RANK and WORLD_SIZE. GPUs talk over NCCL, CPUs over gloo.
    Run on one machine as `torchrun --standalone --nproc_per_node=2 -m gpt.train ...`.
    """
    if "RANK" not in os.environ or dist.is_initialized():
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if torch.cuda.is_available():
        local_rank = int(os.environ.get("LOCAL_RANK", 0))
        torch.cuda.set_device(local_rank)
        dist.init_process_group(backend="nccl")
        return torch.device("cuda", local_rank)
    dist.init_process_group(backend="gloo")
    return torch.device("cpu")


def shutdown() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()
