"""Work the first visitors would otherwise wait for, done in the background once the server is
up: the default model loaded, the Learn tab's figures, the shipped timeline read, the
Lab's first view of the default model and its Features' tables (measured in bench/browser.py: the Learn tab's first
visit took 1.2 s, later visits 0.4 s)."""
from __future__ import annotations

import logging
import threading

from .errors import REFUSALS
from .features import MODEL_NAME, FeatureAtlas, atlas_for
from .lab_opening import open_part
from .learn import learn_views
from .resources import Resources

LOG = logging.getLogger("tinyshakespeare-gpt")


def warm(resources: Resources) -> None:
    try:
        name = resources.default_model
        if name is not None:
            model = resources.zoo.get(name)
            open_part(resources.zoo, name, model, "surprisal")
        if resources.shipped_timeline.available:
            resources.shipped_timeline.get()
        learn_views(resources.zoo)
        if FeatureAtlas.available(resources.zoo.root) and MODEL_NAME in resources.zoo.names():
            atlas_for(resources.zoo, str(resources.zoo.root)).context_texts     # the Lab's Features: tables, search
    except REFUSALS as e:          # a broken checkpoint: the first visitor is told, as without warming
        LOG.info("warming up skipped the rest: %s", e)


def warm_in_background(resources: Resources) -> threading.Thread:
    thread = threading.Thread(target=warm, args=(resources,), name="warm-up", daemon=True)
    thread.start()
    return thread
