"""A live training as a person sees it: waiting for a slot, then the worker's progress turned
into what the Train live view shows (status, curve, samples, log, diagnostics), one update at a time.

`live_training` is what the Train button runs. It holds no thread while it waits: the line is
polled from the event loop, and each blocking step (reading the corpus, building the model,
the worker's next report) is awaited in a worker thread.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import AsyncIterator, Iterator

import plotly.graph_objects as go
import torch

from gpt.language_model import LanguageModel
from gpt.snapshots import MemorySnapshots
from gpt.timeline import Timeline
from gpt.trainer import Progress

from . import shutdown
from . import timeline as timeline_views
from . import views
from .slots import TrainingSlots
from .threads import iterate_in_threads
from .training import OPTIMIZER_NAMES, TrainRequest, build_training, check_request
from .worker import RemoteTraining
from .zoo import SESSION_LABEL

LOG_COLUMNS = {"step": "step", "train": "train_loss", "val": "val_loss", "lr": "lr", "characters": "tokens",
               "seconds": "elapsed"}
POLL_SECONDS = 1.0
"""How often a waiting training looks at the line (a page hears only when its place changes)."""

Diagnostics = tuple[go.Figure | None, go.Figure | None, go.Figure | None]


@dataclass(frozen=True)
class LiveUpdate:
    """One change to the Train live view. `phase` says which parts it carries; a part left
    None is left as it is on the page (the session's model, above all, is kept while waiting)."""
    phase: str                                   # waiting | starting | training | evaluated | stopping
    status: str
    model: LanguageModel | None = None
    timeline: Timeline | None = None
    curve: go.Figure | None = None
    samples: str | None = None
    log: list[list] | None = None
    diagnostics: Diagnostics | None = None
    done: bool = False                           # the run's last evaluation: training is over

    @property
    def clears(self) -> bool:
        """Whether the curve, samples, log and diagnostics of an earlier run are cleared."""
        return self.phase in ("waiting", "starting")


def status_line(p: Progress, budget: float) -> str:
    val = f" · val **{p.val_loss:.3f}**" if p.val_loss is not None else ""
    return (f"step {p.step:,} (at most {p.max_steps:,}) · {p.elapsed:.0f} of {budget:.0f} s · loss {p.loss:.3f}{val} · "
            f"{p.tokens_per_sec:,.0f} predicted characters/s · about {p.time_left:.0f} s left")


def log_rows(history: list[dict]) -> list[list]:
    """The evaluations as a table, in LOG_COLUMNS' order: rounded, one row each."""
    return [[h["step"], round(h["train_loss"], 4), round(h["val_loss"], 4), f"{h['lr']:.2e}", h["tokens"],
             round(h["elapsed"], 1)] for h in history]


def header(trainer) -> str:
    model = trainer.model
    val_chars = trainer.dataset.num_tokens("val")
    # a small upload's val split is shorter than the sample: say what the curve measures there
    measured = (f"a fixed sample of {trainer.eval_targets:,} characters of the val split"
                if trainer.eval_targets < val_chars else
                f"{trainer.eval_targets:,} predictions drawn from the whole val split ({val_chars:,} characters, "
                "so each is predicted several times)")
    return (f"Training {model.kind} with {model.num_params():,} parameters on "
            f"{trainer.dataset.corpus.name} ({trainer.dataset.num_tokens('train'):,} training characters). "
            f"Val loss on the curve: {measured}.")


def stopped_message(trained: LanguageModel | None) -> str:
    if trained is None:
        return "Stopped before the first step: nothing was trained."
    return (f"**Stopped** at step {trained.run.step:,}, after {trained.run.elapsed:.0f} s of training (the worker's "
            "start-up not counted). Your model is kept: pick "
            f"*{SESSION_LABEL}* in Generate, Attention or the Lab.")


def previous_run(previous: LanguageModel | None, request: TrainRequest) -> list[tuple[str, LanguageModel]]:
    """The session's last model as a curve to beat, when it learned the same corpus: train
    with AdamW, then with Muon, and see both under one time budget."""
    if previous is None or not previous.history or previous.run.corpus != _corpus_name(request):
        return []
    kind = previous.kind.split(" ", 1)[1]                       # "a GPT" -> "GPT"
    config = previous.run.train_config
    optimizer = f", {OPTIMIZER_NAMES.get(config.optimizer, config.optimizer)}" if config is not None else ""
    return [(f"your previous run ({kind}{optimizer})", previous)]


def _corpus_name(request: TrainRequest) -> str | None:
    return request.corpus if request.corpus != "upload" else None


def run_label(request: TrainRequest) -> str:
    return f"This run ({OPTIMIZER_NAMES[request.optimizer]})"


async def live_training(request: TrainRequest, slots: TrainingSlots, device: torch.device,
                        threads: int = 1, previous: LanguageModel | None = None,
                        most_threads: int | None = None) -> AsyncIterator[LiveUpdate]:
    """Check the request, wait for a slot (told the place in line when it changes), then train
    in a worker process, reporting each step and each evaluation; the curve is drawn against
    seconds of training, beside the session's `previous` model's when it learned the same
    corpus. The worker trains on `threads` threads, and on up to `most_threads` while the
    machine's other cores are idle. Raises InputError for a request refused before it waits (a corpus that cannot be
    used, a model over the limits)."""
    # A training waiting for its slot holds its settings and nothing else: the corpus is read to
    # check the request and let go; it is loaded and encoded, and the model built, once the slot comes.
    await asyncio.to_thread(check_request, request)
    budget = request.minutes * 60
    ticket = slots.join(budget)
    try:
        told = None
        while not slots.try_start(ticket):
            if (message := slots.message(ticket)) != told:
                yield LiveUpdate("waiting", message)
                told = message
            await asyncio.sleep(POLL_SECONDS)
        trainer = await asyncio.to_thread(build_training, request, device)
        snapshots = MemorySnapshots(max_count=timeline_views.LIVE_SNAPSHOTS)
        remote = RemoteTraining(trainer, snapshots, threads=threads, most_threads=most_threads)
        timeline = timeline_views.live_timeline(trainer, snapshots, remote.diagnostics)
        top = header(trainer)
        # the session holds the model from the first update on, so Stop keeps it
        yield LiveUpdate("starting", top + "\n\nStarting…", model=trainer.model, timeline=timeline)
        curve = CurveSettings(run_label(request), previous_run(previous, request))
        async for update in iterate_in_threads(_progress(remote, trainer.model, timeline, top, budget, curve)):
            if shutdown.STOPPING.is_set():
                yield LiveUpdate("stopping", shutdown.MESSAGE)
                return
            yield update
    finally:
        slots.leave(ticket)


@dataclass(frozen=True)
class CurveSettings:
    name: str
    others: list[tuple[str, LanguageModel]]


def _progress(remote: RemoteTraining, model: LanguageModel, timeline: Timeline, top: str,
              budget: float, curve: CurveSettings) -> Iterator[LiveUpdate]:
    samples: list[str] = []
    for p in remote.run():
        if p.val_loss is None and not p.done:           # a progress line (every few steps)
            yield LiveUpdate("training", top + "\n\n" + status_line(p, budget))
            continue
        if p.sample is not None:
            samples.insert(0, f"--- step {p.step}, val {p.val_loss:.3f} ---\n{p.sample}")
        done = (f"\n\n**Done.** Pick *{SESSION_LABEL}* in Generate, Attention or the Lab, and scrub its run in "
                "the Timeline (*your live training*)." if p.done else "")
        last = len(timeline.steps) - 1
        activations, ratios, gradients, _ = timeline_views.diagnostics_view(timeline, last, marked=False)
        yield LiveUpdate("evaluated", top + "\n\n" + status_line(p, budget) + done, model=model, timeline=timeline,
                         curve=views.loss_view(model, curve.name, curve.others, x="elapsed")[0],
                         samples="\n\n".join(samples),
                         log=log_rows(model.history), diagnostics=(activations, ratios, gradients), done=p.done)
