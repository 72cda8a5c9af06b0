"""How many cores the rest of the machine leaves idle, so that live training can borrow them.

A small model's training step runs ~1.5× faster on two threads than on one (docs/recipes.md),
but only while the second core is free: when another process holds it, OpenMP's barriers make
every parallel region wait for the preempted thread, and a two-thread process can run many
times slower than a one-thread one. So a training worker measures, between its steps, how much
CPU everything else on the machine (or in its container) used over the last quarter second,
takes the cores nobody else is using, and gives one back as soon as someone needs it: a student
pressing Generate, a Lab request, a second training.
"""
from __future__ import annotations

import math
import os
import time
from pathlib import Path
from typing import Callable

CGROUP = Path("/sys/fs/cgroup")
WINDOW = 0.25          # seconds of CPU accounting behind each decision
CALM_WINDOWS = 2       # quiet windows in a row before a thread is added (one busy window takes it away)
BUSY_SLACK = 0.2       # cores the others may use and still leave one free (background daemons, a page's poll)


def available_cores() -> int:
    """Cores this process may use: its CPU affinity, capped by a container's CPU quota (cgroup v2)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    try:
        quota, period = (CGROUP / "cpu.max").read_text().split()
        if quota != "max":
            cores = min(cores, max(1, math.floor(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return max(1, cores)


def busy_cpu_seconds() -> float | None:
    """CPU seconds used so far by every process this one shares cores with: its container's
    (cgroup v2 `cpu.stat`) when it has one, else the whole machine's (`/proc/stat`); None where
    neither can be read (then nothing is borrowed)."""
    try:
        for line in (CGROUP / "cpu.stat").read_text().splitlines():
            name, value = line.split()
            if name == "usage_usec":
                return int(value) / 1e6
    except (OSError, ValueError):
        pass
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()
        # cpu  user nice system idle iowait irq softirq steal ...: all but idle and iowait are busy
        ticks = [int(x) for x in fields[1:9]]
        return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


class SpareCores:
    """The number of threads to train on now, between `least` and `most`.

    Call `threads()` between steps; it re-decides once per `window` seconds from how many
    cores the other processes used in that window (everything busy minus this process)."""

    def __init__(self, least: int = 1, most: int | None = None, window: float = WINDOW,
                 busy: Callable[[], float | None] = busy_cpu_seconds,
                 own: Callable[[], float] = time.process_time, clock: Callable[[], float] = time.monotonic,
                 cores: int | None = None):
        self.least = max(1, least)
        self.most = max(self.least, most if most is not None else available_cores())
        self.cores = cores if cores is not None else available_cores()
        self.window, self._busy, self._own, self._clock = window, busy, own, clock
        self.current = self.least
        self.others = 0.0              # cores the other processes used in the last window
        self._calm = 0
        self._mark = self._sample()

    def _sample(self) -> tuple[float, float | None, float]:
        return self._clock(), self._busy(), self._own()

    def threads(self) -> int:
        if self.most == self.least:
            return self.least
        now = self._clock()
        if now - self._mark[0] < self.window:
            return self.current
        (then, busy_then, own_then), (now, busy_now, own_now) = self._mark, self._sample()
        self._mark = (now, busy_now, own_now)
        if busy_then is None or busy_now is None:
            self.current = self.least
            return self.current
        self.others = max(0.0, (busy_now - busy_then) - (own_now - own_then)) / (now - then)
        wanted = min(self.most, max(self.least, math.floor(self.cores - self.others + BUSY_SLACK)))
        if wanted < self.current:
            self.current, self._calm = wanted, 0
        elif wanted > self.current:
            self._calm += 1
            if self._calm >= CALM_WINDOWS:
                self.current, self._calm = self.current + 1, 0
        else:
            self._calm = 0
        return self.current
