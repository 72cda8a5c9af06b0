"""Live trainings take turns: at most N at once, the rest wait in line and are told where they stand."""
from __future__ import annotations

import heapq
import itertools
import threading
import time

from .errors import InputError

STARTUP_SECONDS = 5.0
"""Added to a run's time budget for its estimate: the worker's start and the final evaluation."""


class TrainingSlots:
    """A line for live training: `slots` run at once, in the order they asked.

    Each training states its time budget, so the line can say how long the wait will be:
    the runs ahead finish when their budgets are spent (or sooner, when they stop early)."""

    def __init__(self, slots: int, line: int = 30):
        self.slots = slots
        self.line = line                                  # at most this many wait; the next is told to come back
        self._lock = threading.RLock()                    # reentrant: join asks ahead_of
        self._running: dict[int, float] = {}              # ticket -> when it is expected to end (monotonic)
        self._waiting: list[tuple[int, float]] = []       # (ticket, budget in seconds), first in line first
        self._tickets = itertools.count()

    def join(self, budget: float) -> int:
        """Take a place at the back of the line; returns the ticket. A full line refuses, saying so."""
        with self._lock:
            if len(self._running) >= self.slots and len(self._waiting) >= self.line:
                _, seconds = self.ahead_of(None)
                raise InputError(f"The line for live training is full: {len(self._running)} running and "
                                 f"{len(self._waiting)} waiting, at most {self.line} may wait. Try again in about "
                                 f"{max(1, round(seconds / 60)):,} min.")
            ticket = next(self._tickets)
            self._waiting.append((ticket, budget + STARTUP_SECONDS))
            return ticket

    def try_start(self, ticket: int) -> bool:
        """Start if this ticket is first in line and a slot is free."""
        with self._lock:
            if len(self._running) < self.slots and self._waiting and self._waiting[0][0] == ticket:
                _, budget = self._waiting.pop(0)
                self._running[ticket] = time.monotonic() + budget
                return True
            return False

    def leave(self, ticket: int) -> None:
        """Finished, stopped or gone: free the slot (or the place in line)."""
        with self._lock:
            self._running.pop(ticket, None)
            self._waiting = [(t, b) for t, b in self._waiting if t != ticket]

    def ahead_of(self, ticket: int | None) -> tuple[int, float]:
        """(trainings ahead of this ticket, seconds until it should start); None: a new one at the back."""
        with self._lock:
            now = time.monotonic()
            free_at = [max(0.0, end - now) for end in self._running.values()]
            free_at += [0.0] * (self.slots - len(free_at))
            heapq.heapify(free_at)
            ahead = len(self._running)
            for t, budget in self._waiting:
                if t == ticket:
                    break
                ahead += 1
                heapq.heappush(free_at, heapq.heappop(free_at) + budget)
            return ahead, free_at[0]

    def message(self, ticket: int) -> str:
        ahead, seconds = self.ahead_of(ticket)
        runs = "1 training" if ahead == 1 else f"{ahead} trainings"
        return (f"**Waiting for a training slot**: {runs} ahead of you, about {about(seconds)}. "
                "This page keeps your place; Stop leaves the line.")


def about(seconds: float) -> str:
    """A wait as a person reads it, coarse enough that it changes every few seconds, not every
    second: a page waiting in line is then sent a new line only when it says something new."""
    if seconds < 90:
        return f"{max(5, 5 * round(seconds / 5))} s"
    return f"{round(seconds / 60):,} min"
