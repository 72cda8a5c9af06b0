"""Helpers shared by the benchmark scripts: timing, medians, the machine, and a Markdown table."""
from __future__ import annotations

import resource
import statistics
import time

from gpt.hardware import describe
from gpt.report import markdown_table as table  # noqa: F401  (the scripts print with it)


def median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def machine(device="cpu") -> str:
    import torch

    return f"{describe(device)}, {torch.get_num_threads()} torch thread(s)"


def synchronize(device) -> None:
    """Wait for the GPU's queued work, so that a timer measures it."""
    import torch

    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()
