"""Snapshots of a model's weights as it trains, to scrub through a run afterwards.

The trainer hands a snapshot store the model at chosen steps (at the start and at every
evaluation by default). `MemorySnapshots` keeps at most `max_count` of them in memory (for
live training: bf16 copies, so a 0.4M-parameter model costs 0.8 MB a snapshot); when full
it drops every other one but the first and the newest, so the kept steps stay spread from
the start to now. `DiskSnapshots` writes each as an ordinary checkpoint folder,
`OUT/snapshots/step-000250`, loadable with `gpt.load`, optionally only at chosen steps and
in a compact dtype (a shipped timeline: see gpt.timeline).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import torch

from . import checkpoint
from .errors import UsageError
from .language_model import LanguageModel
from .registry import build_model, model_config_dict


@dataclass
class Snapshot:
    step: int
    weights: dict[str, torch.Tensor]      # on the CPU, in `dtype`
    history: list[dict]                   # the run's evaluations up to this step


class MemorySnapshots:
    """At most `max_count` snapshots in memory, spread over the run."""

    def __init__(self, max_count: int = 24, dtype: torch.dtype = torch.bfloat16):
        if max_count < 2:
            raise UsageError("keep at least 2 snapshots: the start and the newest")
        self.max_count, self.dtype = max_count, dtype
        self.snapshots: list[Snapshot] = []

    def add(self, model: LanguageModel, step: int) -> None:
        weights = {k: v.detach().to("cpu", self.dtype if v.is_floating_point() else v.dtype, copy=True)
                   for k, v in model.state_dict().items()}
        self.snapshots.append(Snapshot(step, weights, list(model.history)))
        if len(self.snapshots) > self.max_count:
            first, *middle, newest = self.snapshots
            self.snapshots = [first, *middle[1::2], newest]

    @property
    def steps(self) -> list[int]:
        return [s.step for s in self.snapshots]

    def model_at(self, model: LanguageModel, step: int) -> LanguageModel:
        """A copy of `model` (same architecture and tokenizer) with the weights it had at `step`."""
        found = next((s for s in self.snapshots if s.step == step), None)
        if found is None:
            raise UsageError(f"no snapshot at step {step}; there are snapshots at {self.steps}")
        at = build_model(model.model_type, **model_config_dict(model))      # a fresh module: no hooks, no grads
        at.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in found.weights.items()})
        at.tokenizer, at.run, at.history = model.tokenizer, copy.copy(model.run), list(found.history)
        at.run.step = found.step
        return at.to(model.device).eval()


def snapshot_folder(folder: str | Path, step: int) -> Path:
    return Path(folder) / f"step-{step:06d}"


class DiskSnapshots:
    """Each snapshot an ordinary checkpoint folder under `folder`: at every evaluation, or
    only at `steps` (which must then be evaluation steps); weights in `weights_dtype`."""

    def __init__(self, folder: str | Path, steps: Iterable[int] | None = None,
                 weights_dtype: torch.dtype | None = None):
        self.folder = Path(folder)
        self.only = None if steps is None else set(steps)
        self.weights_dtype = weights_dtype

    def add(self, model: LanguageModel, step: int) -> None:
        if self.only is None or step in self.only:
            checkpoint.save(model, snapshot_folder(self.folder, step), weights_dtype=self.weights_dtype)

    @property
    def steps(self) -> list[int]:
        return sorted(int(p.name.split("-")[1]) for p in self.folder.glob("step-*") if p.is_dir())
