"""How often one address may do what costs others: guess board codes, take seats, open boards.

A class shares one server and often one public address (a school's network), so the limits are
set for a whole class behind one address, and low enough that one client cannot enumerate the
boards or fill them: each is a count of events in a sliding window, per address, in this process's
memory (a restart forgets them, which costs an attacker nothing they could not wait out).
"""
from __future__ import annotations

import hashlib
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Callable

from .errors import InputError


@dataclass(frozen=True)
class Limit:
    name: str              # what is limited, in the refusal's words
    count: int             # at most this many events
    seconds: float         # in any window this long


# Set for a class of 40 behind one address; the README's limits section says what they leave possible.
BOARD_MISSES = Limit("board codes that were not found", 30, 600)
JOINS_PER_ADDRESS = Limit("seats taken from this address", 45, 600)
JOINS_PER_BOARD = Limit("students joining this board", 45, 60)
OPENS_PER_ADDRESS = Limit("boards opened from this address", 10, 3600)
OPEN_BOARDS_PER_ADDRESS = 3
"""Boards one address may hold open at once (the store counts them: they outlive a restart)."""
MAX_KEYS = 50_000
"""Addresses remembered per limit; the quietest are forgotten first past it (memory stays bounded)."""


class RateLimiter:
    """Sliding-window counts per (limit, key); thread-safe."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self.clock = clock
        self._events: dict[tuple[str, str], deque] = {}
        self._lock = threading.Lock()

    def _window(self, limit: Limit, key: str, now: float) -> deque:
        events = self._events.setdefault((limit.name, key), deque())
        while events and events[0] <= now - limit.seconds:
            events.popleft()
        return events

    def check(self, limit: Limit, key: str) -> None:
        """Refuse (InputError, saying when to come back) if `key` has used up `limit`."""
        now = self.clock()
        with self._lock:
            events = self._window(limit, key, now)
            if len(events) >= limit.count:
                wait = max(1, round(events[0] + limit.seconds - now))
                raise InputError(f"Slow down: {limit.count} {limit.name} in {limit.seconds / 60:g} min is the most "
                                 f"this server takes; try again in {_duration(wait)}.")

    def record(self, limit: Limit, key: str) -> None:
        now = self.clock()
        with self._lock:
            self._window(limit, key, now).append(now)
            if len(self._events) > MAX_KEYS:
                self._forget_quietest(now)

    def take(self, limit: Limit, key: str) -> None:
        """check, then record: one event that counts whether it succeeds or not."""
        self.check(limit, key)
        self.record(limit, key)

    def _forget_quietest(self, now: float) -> None:
        for key in [k for k, events in self._events.items() if not events or events[-1] <= now - 600]:
            del self._events[key]
        while len(self._events) > MAX_KEYS:                  # still full: drop the oldest inserted
            del self._events[next(iter(self._events))]


def _duration(seconds: int) -> str:
    return f"{seconds} s" if seconds < 90 else f"{round(seconds / 60)} min"


def client_key(headers: dict | None, host: str | None, behind_proxy: bool) -> str:
    """Who is asking, as a short digest of their address (never stored in the clear). Behind a
    proxy that sets it (a Space), the first X-Forwarded-For address; elsewhere the peer's own,
    since a header anyone can send must not decide the limit."""
    address = host or "unknown"
    if behind_proxy and headers:
        forwarded = headers.get("x-forwarded-for") or ""
        address = forwarded.split(",")[0].strip() or address
    return hashlib.sha256(address.encode()).hexdigest()[:16]
