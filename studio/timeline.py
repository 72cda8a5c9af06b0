"""The Timeline tab: scrub a run and watch every view follow the same snapshot.

The shipped timeline has every frame precomputed (gpt.timeline), so moving the slider only
draws figures; a session's live run computes a frame the first time its step is shown.
"""
from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from pathlib import Path

import plotly.graph_objects as go

from gpt import plots
from gpt.checkpoint import CheckpointError
from gpt.diagnostics import Diagnostics
from gpt.lab import bits
from gpt.snapshots import MemorySnapshots
from gpt.timeline import TIMELINE_FILE, Probe, Timeline
from gpt.trainer import Trainer

from .errors import InputError
from .lab import bits_scores, most_surprising_in_words, surprisal_highlights
from .views import pick_head

LIVE_SNAPSHOTS = 16
"""Snapshots a live run keeps: 16 bf16 copies of the 0.41M-parameter default GPT are 13 MB."""


class ShippedTimeline:
    """The timeline under checkpoints/, read once on first use and shared by every user."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self._timeline: Timeline | None = None
        self._lock = threading.Lock()

    @property
    def available(self) -> bool:
        return (self.folder / TIMELINE_FILE).is_file()

    def get(self) -> Timeline:
        with self._lock:
            if self._timeline is None:
                try:
                    self._timeline = Timeline.load(self.folder)
                except CheckpointError:
                    raise InputError("The shipped timeline could not be read; train a model live and "
                                     "scrub your own run instead.") from None
            return self._timeline


def live_timeline(trainer: Trainer, snapshots: MemorySnapshots, diagnostics: Diagnostics) -> Timeline:
    """The timeline of a live run, following its snapshots and diagnostics as they arrive."""
    model = trainer.model
    return Timeline.live(model, snapshots, Probe.for_run(model, trainer.dataset), diagnostics,
                         f"Your live {model.model_type.upper()} ({model.num_params():,} parameters) on "
                         f"{trainer.dataset.corpus.name}")


@dataclass
class FrameView:
    note: str
    loss: go.Figure
    sample: str


def step_at(timeline: Timeline, index: int) -> int:
    steps = timeline.steps
    if not steps:
        raise InputError("This run has no snapshots yet: they are taken at every evaluation.")
    return steps[int(min(max(index, 0), len(steps) - 1))]


def frame_view(timeline: Timeline, index: int, with_texts: bool = False) -> FrameView:
    """What follows every frame of a drag: the note, the loss curve with its marker, the sample.

    The figure lists every snapshot's marker, so the page moves it without a new figure
    (assets/timeline-marker.html); `with_texts` (a finished run, whose frames are all at hand)
    also puts every snapshot's note and sample in `layout.meta.frames`, which the page shows
    the moment the slider moves (ui/timeline.py)."""
    note, sample = frame_text(timeline, index)
    loss = plots.loss_figure(timeline.history, len(timeline.vocab), None,
                             title="Loss: the marker is the snapshot shown", marker_step=step_at(timeline, index),
                             marker_steps=timeline.steps)
    if with_texts:
        plots.hinted(loss, frames=every_frame_text(timeline))
    return FrameView(note, loss, sample)


def every_frame_text(timeline: Timeline) -> list[tuple[str, str]]:
    """Every snapshot's (note, sample), in slider order: 16 snapshots are ~7 KB."""
    return [frame_text(timeline, index) for index in range(len(timeline.steps))]


def frame_text(timeline: Timeline, index: int) -> tuple[str, str]:
    """The note and the sample of a snapshot: all a finished run's slider needs from the server."""
    step = step_at(timeline, index)
    frame = timeline.frame(step)
    steps = timeline.steps
    val = f" · val loss **{frame.val_loss:.3f}**" if frame.val_loss is not None else ""
    train = f" · train **{frame.train_loss:.3f}**" if frame.train_loss is not None else ""
    note = (f"Snapshot {steps.index(step) + 1} of {len(steps)}: **step {step:,}**"
            f"{' (the untrained model)' if step == 0 else ''}{val}{train}. {timeline.description}")
    return note, frame.sample


def surprisal_view(timeline: Timeline, index: int) -> tuple[list[tuple[str, float | None]], str]:
    """A val passage coloured by the snapshot's surprisal at each character, and its mean."""
    step = step_at(timeline, index)
    surprise = bits(timeline.frame(step).surprisal)
    highlighted = surprisal_highlights(timeline.probe.passage, bits_scores(surprise))
    return highlighted, (f"Mean **{surprise.mean():.2f} bits per character** on this val passage at step {step:,} "
                         f"(loss {surprise.mean() * math.log(2):.3f} nats); darker red and a thicker underline: "
                         "more surprising. "
                         f"{most_surprising_in_words(timeline.probe.passage, surprise)}")


def attention_view(timeline: Timeline, index: int, layer: int, head: str) -> tuple[go.Figure | None, str]:
    """One head (or the heads' average) of one layer over the probe text, at the snapshot."""
    step = step_at(timeline, index)
    frame = timeline.frame(step)
    if frame.attention is None:
        return None, "This model has no attention to show."
    n_layer = len(frame.attention)
    layer = int(min(max(layer, 0), n_layer - 1))
    weights, which = pick_head(frame.attention[layer], head, layer)
    figure = plots.attention_figure(list(timeline.probe.text), weights, f"Step {step:,}: layer {layer}, {which}")
    return figure, (f"Layer {layer} (0 to {n_layer - 1}), {which}, over a val text the model never trained on. "
                    "Watch the early snapshots spread their weight evenly, then heads settle on the previous "
                    "character, the start of the word or line, or the speaker's name.")


def next_char_view(timeline: Timeline, index: int, position: int) -> go.Figure:
    """The distribution after character `position` (1-based) of the probe text, at the snapshot."""
    step = step_at(timeline, index)
    frame = timeline.frame(step)
    text = timeline.probe.text
    i = int(min(max(position, 1), len(text))) - 1
    actual = text[i + 1] if i + 1 < len(text) else None
    context = plots.show_text(text[max(0, i - 19):i + 1])
    return plots.next_char_figure(timeline.vocab, frame.next_char[i], picked=actual, picked_name="next in the text",
                                  title=f"Step {step:,}, after “{context}”" + ("" if actual else " (end of text)"))


def diagnostics_view(timeline: Timeline, index: int, marked: bool = True
                     ) -> tuple[go.Figure | None, go.Figure | None, go.Figure | None, str]:
    """The activation histograms nearest the snapshot; the update ratios and gradient spread over the run,
    with the snapshot marked on them when `marked` (the Timeline scrubs; Train live shows the run so far,
    where a "snapshot shown" line past the last record stretched the axis)."""
    step = step_at(timeline, index)
    record = timeline.diagnostics_at(step)
    if record is None:
        return None, None, None, "No diagnostics were recorded for this run."
    with_histograms = [r for r in timeline.diagnostics if r.step <= max(step, 1) and any(a.histogram for a in
                                                                                         r.activations)]
    shown = with_histograms[-1] if with_histograms else record
    activations = plots.activations_figure(shown, f"Activations at step {shown.step:,}") if shown.activations else None
    marker = step if marked else None
    ratios = plots.update_ratio_figure(timeline.diagnostics, marker_step=marker)
    gradients = plots.gradient_figure(timeline.diagnostics, marker_step=marker)
    kinds = {a.kind for a in shown.activations}
    meaning = []
    if "gelu" in kinds:
        meaning.append("a GELU unit is *saturated* when its input is below -3, where GELU is flat (slope under "
                       "0.012) and passes almost no gradient")
    if "tanh" in kinds:
        meaning.append("a tanh unit is *saturated* beyond ±0.97, where its gradient 1 - tanh² is under 0.06")
    return activations, ratios, gradients, (
        f"Measured on the training batch of step {shown.step:,}, not an extra pass. {'; '.join(meaning).capitalize()}"
        f"{'.' if meaning else ''} A unit is *dead* when it is saturated for every example of the batch. The "
        "update ratio says how much each step changes a weight matrix relative to its size: the lecture's rule of "
        "thumb is about 1e-3 (−3 on this axis); far below, that layer learns slowly; far above, too fast.")


def controls(timeline: Timeline) -> tuple[int, int, int, int]:
    """(snapshots, layers, heads, characters of the probe text) for the tab's sliders."""
    attention = timeline.frame(step_at(timeline, 0)).attention
    n_layer, n_head = attention.shape[:2] if attention is not None else (1, 1)
    return len(timeline.steps), n_layer, n_head, len(timeline.probe.text)


TIMELINE_SOURCES = [("the shipped run: a 2-layer GPT on Tiny Shakespeare", "shipped"),
                    ("your live training (Train live)", "live")]
"""(label, value) of the runs the tab scrubs."""


def pick_timeline(source: str, live: Timeline | None, shipped: ShippedTimeline) -> Timeline:
    """The run a request names: this session's live run, or the shipped one."""
    if source == "live":
        if live is None:
            raise InputError("Train a model in *Train live* first: its run appears here, one snapshot per evaluation.")
        return live
    if source != "shipped":
        raise InputError(f"Choose the run: {' or '.join(value for _, value in TIMELINE_SOURCES)}, not {source!r}.")
    if not shipped.available:
        raise InputError("This copy of the app has no shipped timeline (checkpoints/shakespeare-timeline): "
                         "train a model live and scrub your own run.")
    return shipped.get()
