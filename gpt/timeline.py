"""A training run as a timeline: snapshots of its weights, and what each one shows.

A `Timeline` holds a run's snapshot steps, its loss history, its diagnostics and a `Probe`:
the same prompt, seed, text and passage asked of every snapshot. For each snapshot it
gives a `Frame`: a seeded sample, the attention maps and next-character distributions over
the probe's text, and the surprisal of its passage. Put side by side, the frames show what
the model learned when: noise, then spelling, then words, then speaker names.

A shipped timeline precomputes every frame (`save`), so scrubbing it only draws; a live one
computes a frame the first time its step is shown and keeps it while the snapshot lives.

    timeline = Timeline.load("checkpoints/shakespeare-timeline")
    frame = timeline.frame(timeline.steps[3])          # precomputed
    model = timeline.model_at(timeline.steps[3])       # an ordinary model, as gpt.load gives
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numpy as np
from safetensors import SafetensorError
from safetensors.numpy import load_file, save_file

from . import checkpoint
from .data import Dataset
from .diagnostics import Diagnostics, StepDiagnostics
from .errors import UsageError
from .generation import generate
from .introspect import attention_maps
from .lab import next_char_probs, surprisal
from .language_model import LanguageModel
from .snapshots import DiskSnapshots, MemorySnapshots, snapshot_folder

TIMELINE_FILE = "timeline.json"
FRAMES_FILE = "frames.safetensors"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class Probe:
    """What every snapshot of a run is asked, identically, so that only the weights change."""

    text: str                  # attention maps and next-character distributions over it
    passage: str               # its surprisal, character by character
    prompt: str = "\n"
    seed: int = 0
    sample_chars: int = 200
    temperature: float = 0.8

    @classmethod
    def for_run(cls, model: LanguageModel, dataset: Dataset, text_chars: int = 64, passage_chars: int = 300
                ) -> "Probe":
        """Whole lines from the start of the val split (never trained on), the text no longer
        than the model's context so its attention maps see all of it."""
        val = dataset.split_text("val")
        start = val.find("\n") + 1 if 0 <= val.find("\n") < 200 else 0
        window = text_chars if model.reads_any_length else min(text_chars, model.block_size)
        prompt = "\n" if "\n" in model.tokenizer.stoi else val[start]
        return cls(text=val[start:start + max(window, 2)], passage=val[start:start + passage_chars], prompt=prompt)


@dataclass
class Frame:
    """What one snapshot shows for the probe."""

    step: int
    train_loss: float | None
    val_loss: float | None
    sample: str                      # the continuation of probe.prompt (without it)
    next_char: np.ndarray            # (T, V): the distribution after each character of probe.text
    surprisal: np.ndarray            # (P - 1,): nats at each character of probe.passage after the first
    attention: np.ndarray | None     # (n_layer, n_head, T, T); None for a model without attention


def compute_frame(model: LanguageModel, probe: Probe, step: int, history: list[dict]) -> Frame:
    """Ask one snapshot the probe's questions."""
    losses = next((h for h in history if h["step"] == step), {})
    sample = "".join(generate(model, probe.prompt, probe.sample_chars, temperature=probe.temperature,
                              seed=probe.seed))
    attention = None
    if model.has_attention:
        attention = np.stack(attention_maps(model, probe.text, len(probe.text)).maps)   # (L, H, T, T)
    return Frame(step, losses.get("train_loss"), losses.get("val_loss"), sample, next_char_probs(model, probe.text),
                 surprisal(model, probe.passage), attention)


class Timeline:
    """A run's snapshots, its history and diagnostics, and a frame for each snapshot."""

    def __init__(self, probe: Probe, vocab: list[str], steps: Callable[[], list[int]],
                 history: Callable[[], list[dict]], model_at: Callable[[int], LanguageModel],
                 diagnostics: Callable[[], list[StepDiagnostics]], description: str = "",
                 frames: dict[int, Frame] | None = None):
        self.probe, self.vocab, self.description = probe, vocab, description
        self._steps, self._history, self._model_at, self._diagnostics = steps, history, model_at, diagnostics
        self._frames: dict[int, Frame] = dict(frames or {})

    @property
    def steps(self) -> list[int]:
        return list(self._steps())

    @property
    def history(self) -> list[dict]:
        return self._history()

    @property
    def diagnostics(self) -> list[StepDiagnostics]:
        return self._diagnostics()

    def model_at(self, step: int) -> LanguageModel:
        if step not in self.steps:
            raise UsageError(f"no snapshot at step {step}; there are snapshots at {self.steps}")
        return self._model_at(step)

    def frame(self, step: int) -> Frame:
        """The frame of the snapshot at `step`, computed once."""
        if step not in self._frames:
            model = self.model_at(step)
            self._frames[step] = compute_frame(model, self.probe, step, model.history)
            for old in set(self._frames) - set(self.steps):       # snapshots thinned away since
                del self._frames[old]
        return self._frames[step]

    def diagnostics_at(self, step: int) -> StepDiagnostics | None:
        """The diagnostics record nearest `step` (at or before it; the first one for step 0)."""
        records = self.diagnostics
        if not records:
            return None
        before = [r for r in records if r.step <= step]
        return before[-1] if before else records[0]

    # --- the two kinds --------------------------------------------------------------------

    @classmethod
    def live(cls, model: LanguageModel, snapshots: MemorySnapshots, probe: Probe,
             diagnostics: Diagnostics | None = None, description: str = "") -> "Timeline":
        """A timeline that follows a run as it trains (the app's live training)."""
        return cls(probe, list(model.tokenizer.chars), lambda: snapshots.steps, lambda: model.history,
                   lambda step: snapshots.model_at(model, step),
                   lambda: list(diagnostics.records) if diagnostics else [], description)

    @classmethod
    def load(cls, folder: str | Path) -> "Timeline":
        """A saved timeline: each snapshot a checkpoint folder `step-NNNNNN`, every frame precomputed."""
        folder = Path(folder)
        try:
            meta = json.loads((folder / TIMELINE_FILE).read_text(encoding="utf-8"))
            tensors = load_file(str(folder / FRAMES_FILE))
            probe, vocab = Probe(**meta["probe"]), list(meta["vocab"])
            frames = {}
            for f in meta["frames"]:
                s = f["step"]
                frames[s] = Frame(s, f["train_loss"], f["val_loss"], f["sample"],
                                  tensors[f"{s}.next_char"].astype(np.float32), tensors[f"{s}.surprisal"],
                                  tensors[f"{s}.attention"].astype(np.float32) if f"{s}.attention" in tensors else None)
            steps = sorted(frames)
            history = list(meta["history"])
            diagnostics = [StepDiagnostics.from_json(r) for r in meta["diagnostics"]]
        except (OSError, ValueError, KeyError, TypeError, SafetensorError) as e:
            raise checkpoint.CheckpointError(f"{folder} holds no readable timeline: {e}") from None
        return cls(probe, vocab, lambda: steps, lambda: history,
                   lambda step: checkpoint.load(snapshot_folder(folder, step)),
                   lambda: diagnostics, meta.get("description", ""), frames)

    def save(self, folder: str | Path, histograms_at: set[int] | None = None) -> Path:
        """Write every frame (computing those not yet seen) beside the snapshot folders already
        in `folder`. Diagnostics keep their histograms only at `histograms_at` (default: the
        snapshot steps and step 1), which keeps the file small."""
        folder = Path(folder)
        steps = self.steps
        keep = histograms_at if histograms_at is not None else set(steps) | {1}
        frames = [self.frame(s) for s in steps]
        tensors: dict[str, np.ndarray] = {}
        for f in frames:
            tensors[f"{f.step}.next_char"] = f.next_char.astype(np.float16)
            tensors[f"{f.step}.surprisal"] = f.surprisal.astype(np.float32)
            if f.attention is not None:
                tensors[f"{f.step}.attention"] = f.attention.astype(np.float16)
        save_file(tensors, str(folder / FRAMES_FILE))
        (folder / FRAMES_FILE).chmod(0o644)
        meta = {"format_version": FORMAT_VERSION, "description": self.description, "probe": asdict(self.probe),
                "vocab": self.vocab,
                "frames": [{"step": f.step, "train_loss": f.train_loss, "val_loss": f.val_loss, "sample": f.sample}
                           for f in frames],
                "history": self.history,
                "diagnostics": [r.to_json(histograms=r.step in keep) for r in self.diagnostics]}
        (folder / TIMELINE_FILE).write_text(json.dumps(meta, ensure_ascii=False) + "\n", encoding="utf-8")
        return folder


def disk_timeline(folder: str | Path, probe: Probe, diagnostics: Diagnostics | None = None,
                  description: str = "") -> Timeline:
    """A timeline over the snapshot folders a run wrote (gpt.snapshots.DiskSnapshots), to `save`."""
    store = DiskSnapshots(folder)
    vocab = list(checkpoint.load(snapshot_folder(folder, store.steps[0])).tokenizer.chars)

    def history() -> list[dict]:
        return checkpoint.load_history(snapshot_folder(folder, store.steps[-1])) if store.steps else []
    return Timeline(probe, vocab, lambda: store.steps, history,
                    lambda step: checkpoint.load(snapshot_folder(folder, step)),
                    lambda: list(diagnostics.records) if diagnostics else [], description)

