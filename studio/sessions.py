"""Forget what the server keeps for a browser session once it has been idle past the time-to-live,
and keep the number of sessions bounded.

For every session Gradio keeps the latest value of every output it sent (the text, each
figure's JSON) so that a reloaded page can be restored, and it lets go only after 10,000
sessions. A classroom leaves ~6 MB a student behind (bench/sessions.py), and any request with
a new session id, even a refused one, costs ~25 kB (ui/session_records.py). The sweeper drops a
session's whole record once it has gone unused for the time-to-live (every request renews it: a `gr.State`'s own
time-to-live counts from when the value was set, and would take a student's model and seat
while they use them), and past `max_sessions` it drops the least recently used sessions that
hold nothing worth keeping (no trained model, no seat) before any that do. Then it asks the C
allocator to hand the freed pages back to the system (glibc keeps them otherwise: measured, 30
sessions' memory stayed resident until `malloc_trim`).
"""
from __future__ import annotations

import ctypes
import ctypes.util
import datetime
import functools
import gc
import logging
import threading
from typing import Callable


LOG = logging.getLogger("tinyshakespeare-gpt")
HOLDER_PATIENCE = 30
"""Sweeps without a session holder before the sweeper says so (the holder exists once the server does)."""


def forget_idle_sessions(holder, ttl: float, now: datetime.datetime | None = None,
                         max_sessions: int | None = None, worth_keeping: Callable[[object], bool] = lambda s: False
                         ) -> int:
    """Drop the sessions of `holder` (Gradio's StateHolder) unused for more than `ttl` seconds;
    then, past `max_sessions`, the least recently used for which `worth_keeping(session)` is
    false, and only then the least recently used of the rest. Returns how many were dropped."""
    now = now or datetime.datetime.now()
    with holder.lock:
        idle = [sid for sid, used in list(holder.time_last_used.items()) if (now - used).total_seconds() > ttl]
        excess = len(holder.session_data) - len(idle) - (max_sessions if max_sessions is not None else 1 << 62)
        if excess > 0:
            gone = set(idle)
            by_age = sorted((sid for sid in holder.session_data if sid not in gone),
                            key=lambda sid: holder.time_last_used.get(sid, now))
            anonymous = [sid for sid in by_age if not worth_keeping(holder.session_data[sid])]
            kept = [sid for sid in by_age if worth_keeping(holder.session_data[sid])]
            idle += (anonymous + kept)[:excess]
        for sid in idle:
            holder.session_data.pop(sid, None)
            holder.time_last_used.pop(sid, None)
    return len(idle)


@functools.lru_cache(maxsize=1)
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's malloc_trim, looked up once (finding the C library may run ldconfig); None elsewhere."""
    try:
        return ctypes.CDLL(ctypes.util.find_library("c")).malloc_trim
    except (OSError, AttributeError, TypeError):
        return None                           # not glibc (macOS, Windows, musl): nothing to ask


def release_freed_memory() -> None:
    """Collect cycles, then return free heap pages to the system where the C library can (glibc)."""
    gc.collect()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


def start_sweeper(find_holder: Callable[[], object | None], ttl: float, max_sessions: int | None = None,
                  worth_keeping: Callable[[object], bool] = lambda s: False, interval: float | None = None,
                  stop: threading.Event | None = None) -> threading.Thread:
    """Sweep every ttl/3 seconds (at most 10 s past `max_sessions`' bound, else a minute) in a
    daemon thread until `stop` is set; `find_holder` returns the holder once the server has one."""
    interval = interval or min(10.0 if max_sessions else 60.0, ttl / 3)

    stop = stop or threading.Event()

    def sweep() -> None:
        missing = 0
        while not stop.wait(interval):
            holder = find_holder()
            if holder is None:
                missing += 1
                if missing == HOLDER_PATIENCE:        # said, not a sweeper that silently never sweeps
                    LOG.error("the session sweeper has found no session holder for %d sweeps: idle sessions "
                              "are not forgotten (was the app launched?)", missing)
                continue
            try:
                if forget_idle_sessions(holder, ttl, max_sessions=max_sessions, worth_keeping=worth_keeping):
                    release_freed_memory()
            except Exception:                          # noqa: BLE001 - logged whole; the next sweep tries again
                LOG.exception("the session sweeper failed this sweep")

    thread = threading.Thread(target=sweep, daemon=True, name="session-sweeper")
    thread.start()
    return thread
