"""Work the first visitors would otherwise wait for, done in the background once the server is
up: the default model loaded, the Learn tab's figures, the shipped timeline read, the
Lab's first view of the default model and its Features' tables (a first visit of the Learn tab
took three times as long as a later one: docs/benchmarks.md)."""
from __future__ import annotations

import atexit
import logging
import threading
from typing import Callable

from .errors import REFUSALS
from .features import MODEL_NAME, FeatureAtlas, atlas_for
from .learn import learn_views
from .resources import Resources

LOG = logging.getLogger("tinyshakespeare-gpt")


EXIT_WAIT = 30.0
"""Seconds the process waits at exit for the warm-up's step in flight (a few at most)."""


def warm(resources: Resources, stop: threading.Event | None = None,
         first: Callable[[], object] | None = None) -> None:
    """Each step in turn, unless `stop` is set before it; `first` is the page's own (the Lab's
    first view of the default model: ui/lab's `LabWiring.warm`)."""
    stop = stop or threading.Event()
    zoo = resources.zoo
    steps = [first] if first is not None else []
    if resources.shipped_timeline.available:
        steps.append(resources.shipped_timeline.get)
    steps.append(lambda: learn_views(zoo))
    if FeatureAtlas.available(zoo.root) and MODEL_NAME in zoo.names():
        steps.append(lambda: atlas_for(zoo, str(zoo.root)).context_texts)    # the Lab's Features: tables, search
    try:
        for step in steps:
            if stop.is_set():
                return
            step()
    except REFUSALS as e:          # a broken checkpoint: the first visitor is told, as without warming
        LOG.info("warming up skipped the rest: %s", e)


def warm_in_background(resources: Resources, first: Callable[[], object] | None = None) -> threading.Thread:
    """Warm up in a thread of its own. At exit the process stops it after its step in flight and
    waits for that step: a process that ends while a thread is inside torch or ONNX Runtime is
    aborted by the C++ runtime ("terminate called without an active exception", exit -6), which
    a SIGTERM soon after start did about one time in three."""
    stop = threading.Event()
    thread = threading.Thread(target=warm, args=(resources, stop, first), name="warm-up", daemon=True)
    thread.start()

    def finish() -> None:
        stop.set()
        thread.join(EXIT_WAIT)

    atexit.register(finish)
    return thread
