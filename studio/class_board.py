"""A class board as the app feeds and shows it: a student's live training posts to the board the
student joined (`BoardPosting`), and anyone with the code sees every run at once (`board_view`):
the curves overlaid, a leaderboard by whole-val loss with the settings that differ between runs,
and the best samples. The runs themselves live in a `BoardStore` (studio/board_store.py).

Nicknames come from students and are shown to the class, so they are never markup here: the
leaderboard is a table of plain strings, the curves' legend escapes them (plotly reads a few HTML
tags in text), and each is wrapped in Unicode isolates so a right-to-left name cannot reorder
the rest of its row.
"""
from __future__ import annotations

import asyncio
import html
import math
import threading
from collections import Counter, OrderedDict
from dataclasses import dataclass, replace
from typing import AsyncIterator

import plotly.graph_objects as go

from gpt import plots
from gpt.data import Corpus
from gpt.generation import generate
from gpt.language_model import LanguageModel
from gpt.metrics import split_loss

from .board_store import BoardSnapshot, BoardStore, Rules, RunRecord, Seat
from .errors import InputError
from .live import LiveUpdate
from .training import CORPUS_CHOICES, MODEL_CHOICES, OPTIMIZER_NAMES, TrainRequest

RACE_MINUTES = (0.25, 0.5, 1.0, 2.0)
"""The budgets a race may fix. A class of 30 on a 2-core Space trains one run at a time, so the
race's length is about 30 × (budget + start-up + final evaluation): bench/race.py measures it."""
FAMILIES = {value: label for label, value in MODEL_CHOICES}      # "gpt" -> "GPT", as Train live names them
SETTING_NAMES = {"model": "model", "n_layer": "layers", "n_head": "heads", "n_embd": "width",
                 "block_size": "context", "n_hidden": "hidden", "lr": "lr", "batch_size": "batch",
                 "optimizer": "optimizer", "minutes": "min"}
LEADERBOARD_FIXED = ["#", "who", "val loss", "steps"]
SHOWN_SAMPLES = 3
LEGEND_RUNS = 10                 # the best runs are named in the legend; the rest are drawn, unnamed
CURVE_POINTS = 60                # each run's curve is drawn through at most this many of its points
EVAL_BATCH = 64
SAMPLE_CHARS = 200


def isolated(name: str) -> str:
    """A student's text in a first-strong isolate (U+2068 … U+2069): shown as written, RTL or not,
    without reordering what stands beside it."""
    return "\u2068" + name + "\u2069"


def corpus_label(corpus: str) -> str:
    return {value: label for label, value in CORPUS_CHOICES}.get(corpus, corpus)


def rules_text(rules: Rules) -> str:
    parts = [f"corpus {corpus_label(rules.corpus)}"]
    if rules.minutes is not None:
        parts.append(f"budget {rules.minutes:g} min for everyone")
    if rules.model_type:
        parts.append(f"model {FAMILIES.get(rules.model_type, rules.model_type)}")
    return ", ".join(parts)


def check_rules(rules: Rules, request: TrainRequest) -> None:
    """A run the board would not take is refused before it trains (the page locks these settings
    too; this is what holds when a request skips the page)."""
    if request.corpus != rules.corpus:
        raise InputError(f"This board's runs learn {corpus_label(rules.corpus)}: pick it in Train live.")
    if rules.minutes is not None and not math.isclose(request.minutes, rules.minutes):
        raise InputError(f"This board is a race of {rules.minutes:g} min: every run trains for exactly that long.")
    if rules.model_type and request.model_type != rules.model_type:
        raise InputError(f"This board's race is for the {FAMILIES.get(rules.model_type, rules.model_type)}: "
                         "pick that model in Train live.")


def run_settings(request: TrainRequest) -> dict:
    """What the board shows of a run's settings: those its model family uses."""
    used = {"bigram": ("lr", "batch_size", "minutes"),
            "mlp": ("n_embd", "block_size", "n_hidden", "lr", "batch_size", "optimizer", "minutes"),
            "gpt": ("n_layer", "n_head", "n_embd", "block_size", "lr", "batch_size", "optimizer", "minutes")}
    return {"model": request.model_type} | {key: getattr(request, key) for key in used.get(request.model_type, ())}


def whole_val_loss(model: LanguageModel, corpus: str) -> float:
    """The loss a run is ranked by: every character of the corpus's val split (not the curve's sample)."""
    dataset = model.dataset_for(Corpus.load(corpus, line_framed=model.run.line_framed))
    return split_loss(model, dataset, "val", EVAL_BATCH)


class BoardPosting:
    """One live training's posts to its board: checked against the board's rules when made,
    started when the training starts, each new evaluation a point of its curve, then its final
    loss and sample, or that it stopped."""

    def __init__(self, store: BoardStore, seat: Seat, request: TrainRequest):
        check_rules(store.rules(seat.board), request)
        self.store, self.seat, self.request = store, seat, request
        self.run: int | None = None
        self.posted = 0                 # evaluations of the model's history already on the board
        self.done = False

    def start(self) -> None:
        self.run = self.store.start_run(self.seat, run_settings(self.request))

    def saw(self, model: LanguageModel | None) -> None:
        """Post the evaluations the model's history has gained since the last call."""
        if model is None or self.done:
            return
        if self.run is None:
            self.start()
        for entry in model.history[self.posted:]:
            self.store.add_point(self.seat, self.run, entry["step"], entry["elapsed"], entry["val_loss"])
        self.posted = len(model.history)

    def finish(self, model: LanguageModel) -> float:
        """Measure the whole val split and post it with the run's last sample; returns the loss."""
        self.saw(model)
        loss = whole_val_loss(model, self.request.corpus)
        self.store.finish_run(self.seat, self.run, loss, model.run.step, board_sample(model))
        self.done = True
        return loss

    def stopped(self, model: LanguageModel | None) -> None:
        """The run ended early (Stop, a closed page, a failure): it stays on the board, unranked."""
        if self.done or self.run is None:
            return
        self.saw(model)
        self.done = True
        steps = model.run.step if model is not None else 0
        self.store.finish_run(self.seat, self.run, None, steps, "", stopped=True)


async def posted_training(updates: AsyncIterator[LiveUpdate], posting: BoardPosting) -> AsyncIterator[LiveUpdate]:
    """A live training's updates, each posted to the board as it passes; once the training is
    done, its whole-val loss is measured and posted, and the student told where the run stands.
    A run that ends any other way (Stop, a closed page, a refusal) is posted as stopped. A post
    the board refuses (closed meanwhile, a full disk) ends the posting, never the training: the
    student is told why, and the model is theirs as without a board."""
    model = None
    refused = None                  # why the board stopped taking this run's posts
    try:
        async for update in updates:
            model = update.model or model
            if refused is None:
                try:
                    if update.phase == "starting":
                        await asyncio.to_thread(posting.start)
                    elif update.phase == "evaluated":
                        await asyncio.to_thread(posting.saw, model)
                except InputError as e:
                    refused = str(e)
                    posting.done = True
            if refused is not None:
                update = replace(update, status=update.status + f"\n\n**Not posted to board {posting.seat.board}**: "
                                 f"{refused}")
            yield update
            if update.done and model is not None and refused is None:
                yield replace(update, phase="posting", status=update.status + "\n\nMeasuring the whole val split "
                              f"for board {posting.seat.board}…", curve=None, model=None, timeline=None)
                try:
                    loss = await asyncio.to_thread(posting.finish, model)
                    line = posted_message(posting, loss)
                except InputError as e:
                    posting.done = True
                    line = f"**Not posted to board {posting.seat.board}**: {e}"
                yield replace(update, phase="posted", status=update.status + "\n\n" + line, curve=None, model=None,
                              timeline=None)
    finally:
        try:
            posting.stopped(model)
        except InputError:
            pass                    # the board is gone or closed: nothing left to mark


def posted_message(posting: BoardPosting, loss: float) -> str:
    snapshot = posting.store.snapshot(posting.seat.board)
    ranked_runs = [run for run in ranked(snapshot.runs) if run.final_val is not None]
    place = next((i for i, run in enumerate(ranked_runs, 1) if run.id == posting.run), None)
    where = f": **{_ordinal(place)}** of {len(ranked_runs)} finished runs" if place else ""
    return (f"Posted to board **{posting.seat.board}**: whole val loss **{loss:.3f}**{where}. "
            "See it in *Class board*.")


def _ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def board_sample(model: LanguageModel) -> str:
    """Every run's sample from the same start and seed, so samples compare like the losses do."""
    return "".join(generate(model, "", SAMPLE_CHARS, temperature=0.8, seed=0, engine="torch"))


# --- the board as the class sees it -------------------------------------------------------------

@dataclass(frozen=True)
class BoardView:
    headline: str                      # markdown: nothing in it comes from a student
    figure: go.Figure | None
    headers: list[str]
    rows: list[list[str]]
    samples: str                       # plain text


def ranked(runs: list[RunRecord]) -> list[RunRecord]:
    """Finished runs by whole-val loss, then runs still training by their latest curve point, then stopped ones."""
    def key(run: RunRecord):
        if run.final_val is not None:
            return (0, run.final_val, run.id)
        if run.finished is None:
            return (1, run.points[-1][2] if run.points else math.inf, run.id)
        return (2, run.points[-1][2] if run.points else math.inf, run.id)
    return sorted(runs, key=key)


def differing_settings(runs: list[RunRecord]) -> list[str]:
    """The settings whose values differ between the board's runs (in SETTING_NAMES' order): the
    ones that can explain the ranking. The rest are the same for everyone and said once."""
    keys = [key for key in SETTING_NAMES if any(key in run.settings for run in runs)]
    return [key for key in keys if len({_shown(run.settings.get(key)) for run in runs}) > 1]


def common_settings(runs: list[RunRecord], differing: list[str]) -> str:
    shared = []
    for key in SETTING_NAMES:
        if key in differing:
            continue
        values = Counter(_shown(run.settings[key]) for run in runs if key in run.settings)
        if values:
            shared.append(f"{SETTING_NAMES[key]} {values.most_common(1)[0][0]}")
    return ", ".join(shared)


def _shown(value) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return FAMILIES.get(value) or OPTIMIZER_NAMES.get(value) or str(value)


def _status(run: RunRecord) -> str:
    if run.final_val is not None:
        return f"{run.final_val:.3f}"
    latest = f" {run.points[-1][2]:.3f}" if run.points else ""
    return f"stopped{latest}" if run.finished is not None else f"training…{latest}"


def board_view(snapshot: BoardSnapshot) -> BoardView:
    runs = ranked(snapshot.runs)
    finished = sum(run.final_val is not None for run in runs)
    training = sum(run.finished is None for run in runs)
    state = "**Closed**: it takes no more runs" if snapshot.closed else "Open: join in *Class board* with the code"
    counted = f"{len(runs)} run{'' if len(runs) == 1 else 's'}" + (f" ({finished} finished, {training} training)"
                                                                    if runs else "")
    differing = differing_settings(runs)
    common = common_settings(runs, differing) if runs else ""
    headline = (f"## Board {snapshot.code}\n{state} · {rules_text(snapshot.rules)} · {snapshot.seats} of "
                f"{snapshot.max_seats} seats · {counted}." + (f" The same for every run: {common}." if common else ""))
    headers = LEADERBOARD_FIXED + [SETTING_NAMES[key] for key in differing]
    rows = []
    for place, run in enumerate(runs, 1):
        rows.append([str(place) if run.final_val is not None else "", isolated(run.nickname), _status(run),
                     f"{run.steps:,}" if run.steps is not None else (f"{run.points[-1][0]:,}" if run.points else "")]
                    + [_shown(run.settings.get(key, "")) for key in differing])
    samples = "\n\n".join(f"{place}. {isolated(run.nickname)} (val {run.final_val:.3f}):\n{run.sample}"
                          for place, run in enumerate(runs[:SHOWN_SAMPLES], 1)
                          if run.final_val is not None and run.sample)
    return BoardView(headline, curves_figure(snapshot.code, runs), headers, rows,
                     samples or "The best runs' samples appear here once runs finish.")


def curves_figure(code: str, runs: list[RunRecord]) -> go.Figure | None:
    """Every run's val-loss curve against seconds of training, the best LEGEND_RUNS named."""
    drawn = [run for run in runs if run.points]
    if not drawn:
        return None
    fig = plots.figure()
    for place, run in enumerate(drawn):
        _, x, y = zip(*thinned(run.points))
        fig.add_trace(go.Scatter(x=list(x), y=list(y), mode="lines+markers", marker=dict(size=5),
                                 name=html.escape(isolated(run.nickname), quote=False),      # " stays "
                                 showlegend=place < LEGEND_RUNS,
                                 opacity=1.0 if place < LEGEND_RUNS else 0.45,
                                 hovertemplate=f"{html.escape(run.nickname, quote=False)}<br>"
                                               "%{x:.0f} s: val %{y:.3f}"
                                               "<extra></extra>"))
    fig.update_layout(title=f"{code}: val loss as each run trains", height=320,
                      xaxis_title="seconds of training", yaxis_title="val loss (nats/char)",
                      legend=dict(font=dict(size=13)), margin=dict(l=60, r=20, t=60, b=50))
    return plots.with_words(fig)


def thinned(points: list, most: int = CURVE_POINTS) -> list:
    """At most `most` of a curve's points, evenly spaced, the first and the last kept: 800 runs of
    500 points cost every viewer 5 MB a redraw; the shape needs far fewer."""
    if len(points) <= most:
        return points
    stride = (len(points) - 1) / (most - 1)
    return [points[round(i * stride)] for i in range(most)]


class BoardViews:
    """Each board's view built once per change (its version) and handed to every page showing it:
    a class of 30 watching one board costs one build per change, not 30."""

    def __init__(self, store: BoardStore, kept: int = 64):
        self.store, self.kept = store, kept
        self._views: OrderedDict[tuple[str, int], BoardView] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, code: str, snapshot: BoardSnapshot | None = None) -> tuple[int, BoardView]:
        """(version, view) of the board as it stands; InputError for a board that is not there."""
        version = snapshot.version if snapshot is not None else self.store.version(code)
        with self._lock:
            view = self._views.get((code, version)) if version is not None else None
            if view is not None:
                self._views.move_to_end((code, version))
                return version, view
        snapshot = snapshot or self.store.snapshot(code)       # raises for a board that is not there
        view = board_view(snapshot)
        with self._lock:
            self._views[(code, snapshot.version)] = view
            while len(self._views) > self.kept:
                self._views.popitem(last=False)
        return snapshot.version, view
