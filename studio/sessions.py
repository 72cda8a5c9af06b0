"""Forget what the server keeps for a browser session once it has been idle past the time-to-live.

For every session Gradio keeps the latest value of every output it sent (the text, each
figure's JSON) so that a reloaded page can be restored, and it lets go only after 10,000
sessions; a `gr.State`'s time-to-live frees the State values alone. A classroom leaves
~6 MB a student behind (bench/sessions.py). The sweeper drops a session's whole record
once it has gone unused for the time-to-live, like its State, and then asks the C allocator
to hand the freed pages back to the system (glibc keeps them otherwise: measured, 30
sessions' memory stayed resident until `malloc_trim`).
"""
from __future__ import annotations

import ctypes
import ctypes.util
import datetime
import functools
import gc
import threading
from typing import Callable


def forget_idle_sessions(holder, ttl: float, now: datetime.datetime | None = None) -> int:
    """Drop the sessions of `holder` (Gradio's StateHolder) unused for more than `ttl` seconds."""
    now = now or datetime.datetime.now()
    with holder.lock:
        idle = [sid for sid, used in list(holder.time_last_used.items()) if (now - used).total_seconds() > ttl]
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


def start_sweeper(find_holder: Callable[[], object | None], ttl: float) -> threading.Thread:
    """Sweep every ttl/3 seconds (at most a minute) in a daemon thread; `find_holder` returns
    the holder once the server has one."""
    interval = min(60.0, ttl / 3)

    def sweep() -> None:
        stop = threading.Event()
        while not stop.wait(interval):
            holder = find_holder()
            if holder is not None and forget_idle_sessions(holder, ttl):
                release_freed_memory()

    thread = threading.Thread(target=sweep, daemon=True, name="session-sweeper")
    thread.start()
    return thread
