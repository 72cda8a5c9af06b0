"""Blocking work on the event loop's terms: a coroutine waits for it without holding a thread
of Gradio's pool while it waits."""
from __future__ import annotations

import asyncio
import threading
import time
from typing import AsyncIterator, Iterator, TypeVar

T = TypeVar("T")
_DONE = object()


async def iterate_in_threads(items: Iterator[T]) -> AsyncIterator[T]:
    """Each item of a blocking iterator, taken in a worker thread and awaited here.

    Closing (a cancelled event: Stop) closes `items` as soon as the step under way returns,
    in a thread of its own, so its clean-up (stopping a worker process) runs even though
    nobody waits for it."""
    try:
        while (item := await asyncio.to_thread(next, items, _DONE)) is not _DONE:
            yield item
    finally:
        threading.Thread(target=_close_when_free, args=(items,), daemon=True, name="close-iterator").start()


def _close_when_free(items: Iterator, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            close = getattr(items, "close", None)
            if close is not None:
                close()
            return
        except ValueError as e:           # "generator already executing": its step is still running
            if "already executing" not in str(e) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)
