"""The checkpoints the app offers, loaded on first use and shared read-only by every user."""
from __future__ import annotations

import copy
import json
import threading
import time
from pathlib import Path

import torch

from gpt import checkpoint
from gpt.lab import LAB_FILE
from gpt.timeline import TIMELINE_FILE
from gpt.language_model import LanguageModel

from .decoding import BatchDecoder
from .errors import InputError, without_paths

SESSION_MODEL = "yours"
"""The name (and API value) of the model this browser session trained."""
SESSION_LABEL = "your model (trained here)"
RETRY_AFTER = 60.0
"""Seconds a model that failed to load is refused with the same message before it is tried
again: a broken folder or an unreachable Hub costs one attempt a minute, not one a request."""


class ModelZoo:
    """Every folder under `root` holding a checkpoint (one level of collections too, such as
    checkpoints/ladder/NAME), plus extra folders or Hub repo ids."""

    def __init__(self, root: str | Path = "checkpoints", extra: list[str] | None = None,
                 device: torch.device | str = "cpu"):
        root = Path(root)
        self.root = root                      # the shipped checkpoints' folder (the SAE's tables live there too)
        self.device = torch.device(device)
        self.sources: dict[str, str] = {}
        if root.is_dir():
            for config in sorted([*root.glob(f"*/{checkpoint.CONFIG}"), *root.glob(f"*/*/{checkpoint.CONFIG}")]):
                if (config.parent.parent / TIMELINE_FILE).is_file():
                    continue            # a timeline's snapshots are scrubbed in the Timeline tab, not listed
                self.sources[config.parent.relative_to(root).as_posix()] = str(config.parent)
        for source in extra or []:
            self.sources[Path(source).name] = source
        self._loaded: dict[str, LanguageModel] = {}
        self._folders: dict[str, Path] = {}
        self._decoders: dict[str, BatchDecoder] = {}
        self._locks = {name: threading.Lock() for name in self.sources}   # one per model: a slow one blocks no other
        self._failed: dict[str, tuple[float, str]] = {}                  # name -> (when, the message)

    def names(self) -> list[str]:
        """The flagship first, then the other checkpoints, then collections such as the ladder."""
        return sorted(self.sources, key=lambda n: (n != "shakespeare-gpt", "/" in n, n))

    def get(self, name: str) -> LanguageModel:
        if not isinstance(name, str):         # an API caller's list or number: say so, not "unhashable type"
            raise InputError(f"the model must be a model's name (text), not {type(name).__name__}; choose one of: "
                             f"{', '.join(self.names())}")
        if name not in self.sources:
            raise InputError(f"there is no model called {name[:80]!r}; choose one of: {', '.join(self.names())}")
        with self._locks[name]:
            if name not in self._loaded:
                failed = self._failed.get(name)
                if failed is not None and time.monotonic() - failed[0] < RETRY_AFTER:
                    raise InputError(failed[1])
                try:
                    self._folders[name] = checkpoint.resolve(self.sources[name])
                    self._loaded[name] = checkpoint.load(self._folders[name], device=self.device)
                except checkpoint.CheckpointError as e:
                    message = f"the model {name!r} could not be loaded: {without_paths(str(e))}"
                    self._failed[name] = (time.monotonic(), message)
                    raise InputError(message) from None
                self._failed.pop(name, None)
            return self._loaded[name]

    def decoder(self, name: str) -> BatchDecoder | None:
        """The batch that decodes every stream of a shipped GPT together; None for models
        that decode without a cache or restart at every line (they sample alone)."""
        model = self.get(name)
        if model.new_cache() is None or model.run.line_framed:
            return None
        with self._locks[name]:
            if name not in self._decoders:
                self._decoders[name] = BatchDecoder(model)
            return self._decoders[name]

    def precomputed(self, name: str) -> dict | None:
        """What the Lab measured for a shipped model when it was published (lab.json), if anything."""
        if name not in self.sources:
            return None
        self.get(name)
        path = self._folders[name] / LAB_FILE
        try:
            return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
        except (OSError, json.JSONDecodeError):
            return None          # a damaged file only costs the Lab its head start

    def pick(self, name: str, trained: LanguageModel | None) -> LanguageModel:
        """A shipped model, or a snapshot of the one this browser session trained."""
        if name == SESSION_MODEL:
            if trained is None:
                raise InputError("This session has not trained a model yet: use the Train live tab first.")
            return snapshot(trained)
        return self.get(name)


def snapshot(model: LanguageModel) -> LanguageModel:
    """A copy to generate from while the original may still be training."""
    return copy.deepcopy(model).eval()


def describe(model: LanguageModel) -> str:
    """One line about a model for the UI, saying which val loss it quotes."""
    evaluation = model.run.evaluation
    loss = f", val loss {evaluation.val_loss:.3f} (whole val split)" if evaluation else ""
    return (f"{model.model_type.upper()} · {model.num_params():,} parameters · trained on {model.run.corpus or '?'} · "
            f"context {model.block_size} characters{loss} · on {model.device.type.upper()}")
