"""Plotly figures for the app and for notebooks: attention maps, next-character
probabilities, and loss curves. Each takes plain data and returns a `go.Figure`."""
from __future__ import annotations

import functools
import math
from typing import Callable, Sequence

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
from plotly.subplots import make_subplots

from .diagnostics import StepDiagnostics
from .plot_words import in_words

WHITE = pio.templates["plotly_white"]


def white(fig: go.Figure) -> go.Figure:
    """Give a figure plotly's white template. The registered template is valid already, so it
    is set as plotly sets its own default template, without validating it again: validation
    is half the cost of building a small figure (~7 of 13 ms), paid at every view a server draws."""
    layout = fig.layout
    layout._validate = False
    try:
        layout.template = WHITE
    finally:
        layout._validate = fig._validate
    return fig


def figure(data=None) -> go.Figure:
    """A new figure in the white template."""
    return white(go.Figure(data))


def subplots(**grid) -> go.Figure:
    """`make_subplots(**grid)` in the white template."""
    return white(make_subplots(**grid))


PAGE_HINTS = {
    "in_words": "the figure in words, read as the plot's name (assets/accessible-names.html)",
    "square": "a map kept square at the width the page gives it (assets/fit-figures.html)",
    "aspect": "a grid of square panels: its height over its width",
    "side": "a square map's largest side, px",
    "colorbar": "a colour bar beside the map, moved with the refitted width",
    "cells": "a square map's cells across, to size them",
    "cell_text": "px a cell needs to hold its number: narrower cells drop it (hover keeps it)",
    "template": "the cells' text template where they are wide enough",
    "columns": "cells across a map that is not square",
    "marker": "the Timeline marker's shape and point, and every step it may move to (assets/timeline-marker.html)",
    "frames": "every snapshot's note and sample of a finished run, shown as the slider moves (ui/timeline.py)",
}
"""What a figure tells the app's page in `layout.meta`, by name: the page's scripts read these and
no other (tests/test_page_hints.py checks the scripts against this list)."""


def hinted(fig: go.Figure, **hints) -> go.Figure:
    """The figure with `hints` for the page added to its `layout.meta` (each a name of PAGE_HINTS)."""
    unknown = set(hints) - set(PAGE_HINTS)
    if unknown:
        raise ValueError(f"not a page hint: {sorted(unknown)} (gpt.plots.PAGE_HINTS names them)")
    fig.update_layout(meta=dict(fig.layout.meta or {}) | hints)
    return fig


def with_words(fig: go.Figure) -> go.Figure:
    """The figure, carrying itself in words (`plot_words.in_words`) as `layout.meta.in_words`: the
    page gives it to a screen reader as the plot's name (assets/accessible-names.html)."""
    return hinted(fig, in_words=in_words(fig))


def worded(make: Callable[..., go.Figure | None]) -> Callable[..., go.Figure | None]:
    """A figure function whose figures carry their words (`with_words`)."""
    @functools.wraps(make)
    def made(*args, **kwargs):
        fig = make(*args, **kwargs)
        return None if fig is None else with_words(fig)
    made.worded = True
    return made


VISIBLE = {"\n": "↵", " ": "␣", "\t": "⇥"}


def show_char(c: str) -> str:
    """A character as it should appear on an axis: newline and space made visible."""
    return VISIBLE.get(c, c)


def distinct_labels(chars: Sequence[str]) -> list[str]:
    """Axis categories that look like the characters but never merge when one repeats:
    each carries its position as invisible zero-width spaces. Plotly then thins the labels
    by itself where the plot is too narrow for all of them (a phone)."""
    return [show_char(c) + "\u200b" * i for i, c in enumerate(chars)]


@worded
def attention_figure(chars: Sequence[str], weights: np.ndarray, title: str, start: int = 0) -> go.Figure:
    """One head's attention, large enough to read: row = the query character, column = the
    character it reads; square cells, every character on the axes at a legible size.
    `start` is the position of chars[0] in the text, for the hover."""
    T = len(chars)
    labels = distinct_labels(chars)
    positions = np.broadcast_to(np.arange(start, start + T), (T, T))
    fig = figure(go.Heatmap(
        x=labels, y=labels, z=weights.astype(np.float32), zmin=0, zmax=1, colorscale="Viridis",
        customdata=np.stack([positions.T, positions], -1),
        colorbar=dict(title="weight", thickness=12),
        hovertemplate="query %{y} (position %{customdata[0]})<br>reads %{x} (position %{customdata[1]})"
                      "<br>weight %{z:.3f}<extra></extra>"))
    font = dict(family="monospace", size=13)
    fig.update_xaxes(type="category", tickfont=font, tickangle=0, title_text="the character read (key)", side="bottom",
                     constrain="domain")
    fig.update_yaxes(type="category", tickfont=font, autorange="reversed", scaleanchor="x",
                     title_text="the character reading (query)")
    side = int(np.clip(18 * T, 320, 720))
    fig.update_layout(title=title, height=side + 150, margin=dict(l=70, r=10, t=60, b=60))
    return hinted(fig, square=True, colorbar=True, side=side)    # the page refits the height to its width


@worded
def attention_grid_figure(maps: np.ndarray, layer: int) -> go.Figure:
    """Every head of one layer and their average as small squares, to compare patterns at a
    glance (pick one to see it large)."""
    n_head = maps.shape[0]
    panels = [(f"head {h}", maps[h]) for h in range(n_head)] + [("average", maps.mean(0))]
    cols = min(len(panels), 4)
    rows = math.ceil(len(panels) / cols)
    across, down = 0.04, 0.14        # gaps between panels, as fractions of the grid's width and height
    fig = subplots(rows=rows, cols=cols, subplot_titles=[t for t, _ in panels], horizontal_spacing=across,
                   vertical_spacing=down)
    for k, (title, weights) in enumerate(panels):
        fig.add_trace(go.Heatmap(z=weights.astype(np.float32), zmin=0, zmax=1, colorscale="Viridis",
                                 showscale=False, name=title,
                                 hovertemplate="query %{y}, key %{x}: %{z:.3f}<extra>" + title + "</extra>"),
                      row=k // cols + 1, col=k % cols + 1)
    fig.update_xaxes(showticklabels=False)
    fig.update_yaxes(showticklabels=False, autorange="reversed")
    # square panels: the grid's height over its width (the page fits the height to the width it has,
    # assets/fit-figures.html); the row gap then holds a panel's title even on a phone
    aspect = rows * (1 - (cols - 1) * across) / (cols * (1 - (rows - 1) * down))
    fig.update_layout(title=f"All heads of layer {layer}", height=60 + 190 * rows, margin=dict(l=10, r=10, t=70, b=10))
    return hinted(fig, square=True, aspect=aspect)


def show_text(text: str) -> str:
    """A short stretch of text on one line, newlines and spaces made visible."""
    return "".join(show_char(c) for c in text)


@worded
def next_char_figure(chars: Sequence[str], sampled_from: np.ndarray, model_probs: np.ndarray | None = None,
                     picked: str | None = None, title: str = "Next character", top: int = 15,
                     picked_name: str = "picked") -> go.Figure:
    """The top candidates: the distribution actually sampled from (after temperature, top-k
    and top-p), beside the model's own probabilities (temperature 1) when they differ. The
    character that was picked (or, `picked_name="next in the text"`, that came next) is always
    shown, in orange, with its own legend entry."""
    order = list(np.argsort(-(sampled_from + 1e-3 * (model_probs if model_probs is not None else 0)))[:top])
    if picked is not None and picked in chars and chars.index(picked) not in order:
        order[-1] = chars.index(picked)
    labels = [show_char(chars[i]) if chars[i] in VISIBLE else repr(chars[i])[1:-1] for i in order]
    probs = sampled_from[order].astype(np.float32)
    bars = []
    if model_probs is not None:
        bars.append(go.Bar(name="model (temperature 1)", x=labels, y=model_probs[order].astype(np.float32),
                           marker_color="#b0bec5", offsetgroup="model"))
    bars.append(go.Bar(name="sampled from (after temperature, top-k, top-p)" if model_probs is not None else "model",
                       x=labels, y=probs, marker_color="#1f77b4", offsetgroup="sampled"))
    shown = [k for k, i in enumerate(order) if picked is not None and chars[i] == picked]
    if shown:       # drawn over its own bar (the same offset group): one colour per legend entry
        bars.append(go.Bar(name=picked_name, x=[labels[shown[0]]], y=[probs[shown[0]]], marker_color="#ff7f0e",
                           offsetgroup="sampled"))
    fig = figure(bars)
    if picked is not None:
        title += f"<br>{picked_name} {show_char(picked)}"      # a line of its own: long contexts fit on a phone
    fig.update_layout(barmode="group", title=title, yaxis_title="probability", yaxis_range=[0, 1],
                      height=360, legend=dict(orientation="h", y=-0.2),
                      showlegend=len(bars) > 1, xaxis=dict(tickfont=dict(family="monospace", size=14)))
    return fig


MARKED_POINTS = 80
"""Up to this many evaluations a loss curve marks each one with a dot."""


@worded
def loss_figure(history: Sequence[dict], vocab_size: int | None = None, bigram_val: float | None = None,
                title: str = "Loss", others: Sequence[tuple[str, Sequence[dict]]] = (), x: str = "step",
                log_x: bool = False, log_y: bool = False, marker_step: int | None = None,
                marker_steps: Sequence[int] = ()) -> go.Figure:
    """Train and val loss of a run, with the uniform guess ln(V) and the counting bigram as
    references; `others` adds the val curves of more runs (name, history) to compare.
    `x` is "step", "tokens" (characters seen, comparable across batch sizes) or "elapsed"
    (seconds of training, comparable across optimizers and sizes under one time budget);
    `marker_step` draws a line and a point at that step (the timeline's current snapshot);
    `marker_steps` lists every step it may move to, in `layout.meta.marker`: the line's index in
    `layout.shapes`, the point's in `data`, and one [x, val loss or None, legend name] per step."""
    fig = figure()
    key_x = x if x in ("step", "elapsed") else "tokens"

    def kept(h):
        """On a log axis step 0 (no characters seen) has no place: drawn anyway, plotly ran it
        in from the left edge."""
        return [e for e in h if e[key_x] > 0] if log_x else list(h)

    for key, name, color in (("train_loss", "train", "#1f77b4"), ("val_loss", "val", "#d62728")):
        points = kept(history)
        # a dot per evaluation while they can be told apart; past that a dot is one more SVG path
        # to draw each time the figure changes (600 a curve: ~0.1 s more of the browser's main thread)
        mode = "lines+markers" if len(points) <= MARKED_POINTS else "lines"
        fig.add_trace(go.Scatter(x=[e[key_x] for e in points], y=[e[key] for e in points], mode=mode,
                                 name=name, line=dict(color=color), marker=dict(size=4)))
    palette = ["#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#ff7f0e", "#2ca02c"]
    for k, (name, other) in enumerate(others):
        points = kept(other)
        fig.add_trace(go.Scatter(x=[e[key_x] for e in points], y=[e["val_loss"] for e in points], mode="lines",
                                 name=f"{name}: val", line=dict(color=palette[k % len(palette)])))
    if vocab_size:
        fig.add_hline(y=math.log(vocab_size), line_dash="dot", line_color="gray",
                      # short: on a phone the longer "uniform guess ln(65) = 4.17" ran into the marker at step 0
                      annotation_text=f"uniform: ln({vocab_size}) = {math.log(vocab_size):.2f}")
    if bigram_val:
        fig.add_hline(y=bigram_val, line_dash="dash", line_color="#2ca02c",
                      annotation_text=f"counting bigram, val {bigram_val:.2f}", annotation_position="bottom right")
    if marker_step is not None:
        by_step = {e["step"]: e for e in history}

        def marker_at(step: int) -> list:
            """[x, val loss or None, legend name] of the marker at `step`."""
            at = by_step.get(step)
            if at is None:
                return [step, None, f"step {step:,}"]
            return [step if x == "step" else at[key_x], at["val_loss"], f"step {step:,}: val {at['val_loss']:.3f}"]

        at_x, at_y, at_name = marker_at(marker_step)
        fig.add_vline(x=at_x, line_color="#ff7f0e", line_width=2)
        fig.add_trace(go.Scatter(x=[] if at_y is None else [at_x], y=[] if at_y is None else [at_y],
                                 mode="markers", marker=dict(size=11, color="#ff7f0e", symbol="diamond"),
                                 name=at_name, showlegend=at_y is not None))
        if marker_steps:
            # where the page may move the marker without a new figure (assets/timeline-marker.html)
            hinted(fig, marker={"shape": len(fig.layout.shapes) - 1, "trace": len(fig.data) - 1,
                                "points": [marker_at(step) for step in marker_steps]})
    axis_title = {"step": "step", "elapsed": "seconds of training"}.get(key_x, "characters seen")
    fig.update_xaxes(type="log" if log_x else "linear", title_text=axis_title)
    fig.update_yaxes(type="log" if log_y else "linear", title_text="loss (nats per character)")
    fig.update_layout(title=title, height=420 if others else 380,
                      legend=dict(orientation="h", y=-0.22))
    return fig


@worded
def ladder_figure(labels: Sequence[str], ours: Sequence[float], lecture: Sequence[float | None],
                  titles: Sequence[str] | None = None) -> go.Figure:
    """Val loss of each rung of the ladder, ours as bars, the lecture's reported values as
    markers. `labels` are short (they sit on the axis); `titles` say what each rung adds."""
    titles = list(titles or labels)
    fig = figure([go.Bar(name="ours (same budget for every rung)", x=list(labels), y=list(ours),
                            marker_color="#1f77b4", text=[f"{v:.3f}" for v in ours], textposition="inside",
                            insidetextanchor="end", textfont=dict(color="white"), customdata=titles,
                            hovertemplate="%{customdata}: val %{y:.3f}<extra></extra>")])
    points = [(label, value) for label, value in zip(labels, lecture) if value is not None]
    fig.add_trace(go.Scatter(name="the lecture reports", x=[p[0] for p in points], y=[p[1] for p in points],
                             mode="markers", marker=dict(symbol="diamond", size=12, color="#d62728"),
                             hovertemplate="the lecture: %{y:.2f}<extra></extra>"))
    fig.update_xaxes(tickangle=-35, tickfont=dict(size=12), automargin=True)    # names never run together
    fig.update_layout(title="Val loss as the transformer is assembled, one idea at a time",
                      yaxis_title="val loss (nats per character)", yaxis_range=[1.0, max(ours) + 0.2],
                      height=440, legend=dict(orientation="h", y=-0.18, x=0),
                      margin=dict(l=60, r=20, t=60, b=90))
    return fig


@worded
def count_matrix_figure(counts: np.ndarray, chars: Sequence[str], title: str, text_format: str = "d",
                        zmax: float | None = None, scale_title: str | None = None) -> go.Figure:
    """makemore's big table as the lecture draws it: each cell shows its pair and its value. Two
    tables given the same `zmax` share one colour scale (shown, titled `scale_title`, when given)."""
    labels = [show_char(c) for c in chars]
    value = (lambda v: f"{int(v)}") if text_format == "d" else (lambda v: f"{v:{text_format}}")
    text = [[f"{a}{b}<br>{value(v)}" for b, v in zip(labels, row)] for a, row in zip(labels, counts)]
    fig = figure(go.Heatmap(z=np.asarray(counts, dtype=np.float32), x=labels, y=labels, colorscale="Blues",
                               zmin=0 if zmax is not None else None, zmax=zmax,
                               text=text, texttemplate="%{text}", textfont=dict(size=12),
                               showscale=scale_title is not None,
                               colorbar=dict(title=scale_title) if scale_title else None,
                               hovertemplate="%{y} then %{x}: %{z}<extra></extra>"))
    fig.update_yaxes(autorange="reversed", type="category", scaleanchor="x", constrain="domain",
                     title_text="current character")
    # the axis with room to spare gives up domain, not range: the map keeps its labels beside it
    fig.update_xaxes(type="category", side="top", title_text="next character", constrain="domain")
    # on a narrow screen the page drops the cell text (hover keeps it): assets/fit-figures.html
    fig.update_layout(title=title, height=1000, margin=dict(l=60, r=10, t=110, b=10))
    return hinted(fig, square=True, cells=len(labels), cell_text=34, template="%{text}", side=880,
                  colorbar=scale_title is not None)


@worded
def matrix_figure(matrix: np.ndarray, title: str, x_labels: Sequence[str] | None = None,
                  y_labels: Sequence[str] | None = None, text_format: str = ".2f", height: int = 320,
                  value_range: tuple[float, float] | None = None, axis_titles: tuple[str, str] | None = None
                  ) -> go.Figure:
    """A small annotated heatmap: attention weights of the worked example, or makemore's counts."""
    rows, cols = matrix.shape
    x = [show_char(c) for c in x_labels] if x_labels else list(range(cols))
    y = [show_char(c) for c in y_labels] if y_labels else list(range(rows))
    low, high = value_range if value_range else (None, None)
    fig = figure(go.Heatmap(z=np.asarray(matrix, dtype=np.float32), x=x, y=y, colorscale="Blues",
                               zmin=low, zmax=high,
                               texttemplate="%{z:" + text_format + "}", textfont=dict(size=12), showscale=False,
                               hovertemplate="row %{y}, column %{x}: %{z:" + text_format + "}<extra></extra>"))
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(type="category", side="top")
    if axis_titles:
        fig.update_xaxes(title_text=axis_titles[0])
        fig.update_yaxes(title_text=axis_titles[1])
    # an x-axis title on top needs room between it and the figure's title
    fig.update_layout(title=title, height=height + (30 if axis_titles else 0),
                      margin=dict(l=40 if not axis_titles else 60, r=10, t=110 if axis_titles else 80, b=10))
    return fig


@worded
def embedding_figure(chars: Sequence[str], embedding: np.ndarray, title: str) -> go.Figure:
    """A 2-D character embedding, each point labelled by its character."""
    fig = figure(go.Scatter(x=embedding[:, 0], y=embedding[:, 1], mode="markers+text",
                               text=[show_char(c) for c in chars], textposition="middle center",
                               marker=dict(size=22, color="#cfe3f7"), textfont=dict(size=14, family="monospace")))
    fig.update_layout(title=title, height=420, xaxis_title="dimension 0",
                      yaxis_title="dimension 1")
    return fig


@worded
def softmax_rows_figure(unscaled: np.ndarray, scaled: np.ndarray, head_size: int) -> go.Figure:
    """One query's attention weights with and without the 1/sqrt(head_size) scaling."""
    keys = [str(i) for i in range(len(unscaled))]     # short labels: a phone's axis never turns them on end
    fig = figure([go.Bar(name="softmax(q·k)", x=keys, y=unscaled, marker_color="#d62728"),
                  go.Bar(name=f"softmax(q·k / √{head_size})", x=keys, y=scaled, marker_color="#1f77b4")])
    fig.update_xaxes(type="category", tickangle=0, title_text="key (the position read)")
    fig.update_layout(barmode="group", title="Without the scaling, softmax is nearly one-hot",
                      yaxis_title="weight", height=340, legend=dict(orientation="h", y=-0.3))
    return fig



# --- the lab -------------------------------------------------------------------------------

@worded
def knockout_figure(grid: np.ndarray, title: str) -> go.Figure:
    """Layer x head heatmap of the change in loss (nats per character) when a head is removed."""
    n_layer, n_head = grid.shape
    limit = float(np.nanmax(np.abs(grid))) or 1e-3
    fig = figure(go.Heatmap(
        z=grid.astype(np.float32), x=[f"head {h}" for h in range(n_head)], y=[f"layer {l}" for l in range(n_layer)],
        zmin=-limit, zmax=limit, colorscale="RdBu_r", text=[[f"{v:+.3f}" for v in row] for row in grid],
        texttemplate="%{text}", textfont=dict(size=12),
        colorbar=dict(title="Δ loss"),
        hovertemplate="%{y}, %{x}: loss changes by %{z:+.4f} nats per character<extra></extra>"))
    fig.update_yaxes(autorange="reversed")
    # the page drops the cells' numbers where a cell is under 52 px wide (a phone: they ran together)
    fig.update_layout(title=title, height=120 + 48 * n_layer, margin=dict(l=70, r=20, t=60, b=40))
    return hinted(fig, cell_text=52, columns=n_head, template="%{text}")


@worded
def lens_figure(p_true: np.ndarray, chars: Sequence[str], title: str) -> go.Figure:
    """(n_layer + 1, T) probability of the true next character read after each layer."""
    rows = ["embeddings"] + [f"after block {i}" for i in range(1, p_true.shape[0])]
    labels = [show_char(c) for c in chars]
    categories = [f"{label!r} @{i}" for i, label in enumerate(labels)]
    step = max(1, len(labels) // 64)
    fig = figure(go.Heatmap(
        z=p_true.astype(np.float32), x=categories, y=rows, zmin=0, zmax=1, colorscale="Viridis",
        colorbar=dict(title="p(next)"),
        hovertemplate="%{y}, reading %{x}: p(true next character) = %{z:.3f}<extra></extra>"))
    fig.update_xaxes(tickmode="array", tickvals=categories[::step], ticktext=labels[::step], tickangle=0,
                     tickfont=dict(family="monospace", size=12), title_text="position (the character read)")
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(title=title, height=140 + 40 * p_true.shape[0],
                      margin=dict(l=110, r=20, t=60, b=50))
    return fig


@worded
def copies_figure(curves: Sequence[tuple[str, np.ndarray, np.ndarray]], title: str) -> go.Figure:
    """Loss at each position of a string's first and second copy, for one or more models."""
    fig = figure()
    palette = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"]
    for k, (name, first, second) in enumerate(curves):
        color = palette[k % len(palette)]
        fig.add_trace(go.Scatter(x=list(range(1, len(first) + 1)), y=first.astype(np.float32), mode="lines",
                                 name=f"{name}: first copy", line=dict(color=color, dash="dot")))
        fig.add_trace(go.Scatter(x=list(range(len(second))), y=second.astype(np.float32), mode="lines",
                                 name=f"{name}: second copy", line=dict(color=color)))
    fig.update_layout(title=title, xaxis_title="position within the copy", yaxis_title="loss (nats)",
                      height=380, legend=dict(orientation="h", y=-0.25))
    return fig


@worded
def formation_figure(history: Sequence[dict], title: str) -> go.Figure:
    """How a copying circuit forms during training: top induction score and the loss on a
    random string's second copy, at every evaluation."""
    steps = [h["step"] for h in history if "induction_max" in h]
    fig = subplots(specs=[[{"secondary_y": True}]])
    fig.add_trace(go.Scatter(x=steps, y=[h["induction_max"] for h in history if "induction_max" in h],
                             name="top induction score", line=dict(color="#9467bd")), secondary_y=False)
    fig.add_trace(go.Scatter(x=steps, y=[h["second_copy_loss"] for h in history if "induction_max" in h],
                             name="random string, second copy (nats)", line=dict(color="#d62728")), secondary_y=True)
    fig.add_trace(go.Scatter(x=steps, y=[h["first_copy_loss"] for h in history if "induction_max" in h],
                             name="random string, first copy (nats)", line=dict(color="#d62728", dash="dot")),
                  secondary_y=True)
    fig.update_yaxes(title_text="induction score", range=[0, 1], secondary_y=False)
    fig.update_yaxes(title_text="loss (nats)", secondary_y=True)
    fig.update_layout(title=title, xaxis_title="training step", height=380,
                      legend=dict(orientation="h", y=-0.25))
    return fig


@worded
def attention_rows_figure(chars: Sequence[str], rows: np.ndarray, labels: Sequence[str], title: str) -> go.Figure:
    """One query's attention in every head: rows are heads, columns the characters it could read."""
    labels_x = [show_char(c) for c in chars]
    categories = [f"{c!r} @{i}" for i, c in enumerate(labels_x)]
    fig = figure(go.Heatmap(
        z=rows.astype(np.float32), x=categories, y=list(labels), zmin=0, zmax=1, colorscale="Viridis",
        colorbar=dict(title="weight"), hovertemplate="%{y} reads %{x} with weight %{z:.3f}<extra></extra>"))
    step = max(1, len(chars) // 48)
    fig.update_xaxes(tickmode="array", tickvals=categories[::step], ticktext=labels_x[::step], tickangle=0,
                     tickfont=dict(family="monospace", size=12))
    fig.update_yaxes(autorange="reversed", tickfont=dict(family="monospace"))
    fig.update_layout(title=title, height=120 + 18 * len(labels),
                      margin=dict(l=70, r=20, t=60, b=40))
    return fig


# --- diagnostics (the lecture's "activations and gradients" plots) ------------------------

def _short(name: str) -> str:
    """A parameter or module name short enough for a legend: blocks.0.mlp.fc.weight -> 0.mlp.fc."""
    return name.replace("blocks.", "").replace(".weight", "")


@worded
def activations_figure(record: StepDiagnostics, title: str | None = None) -> go.Figure:
    """Each nonlinearity's activation histogram at one step, with its saturated fraction and
    dead units in the legend (what "saturated" means is in gpt.diagnostics)."""
    fig = figure()
    for a in record.activations:
        if not a.histogram:
            continue
        counts, edges = np.asarray(a.histogram[0], float), np.asarray(a.histogram[1])
        centres = (edges[1:] + edges[:-1]) / 2
        density = counts / max(counts.sum(), 1) / np.diff(edges)
        what = "output" if a.kind == "tanh" else "input"
        fig.add_trace(go.Scatter(x=centres, y=density, mode="lines", name=(
            f"{_short(a.layer)} ({a.kind} {what})<br>mean {a.mean:+.2f}, std {a.std:.2f}, "
            f"saturated {100 * a.saturated:.1f}%, dead {a.dead}/{a.units}")))
    fig.update_layout(title=title or f"Activations at step {record.step:,}", height=440,
                      xaxis_title="activation value", yaxis_title="density",
                      legend=dict(orientation="h", y=-0.25, font=dict(size=12)), margin=dict(l=60, r=20, t=50, b=40))
    return fig


def _per_matrix_figure(records: Sequence[StepDiagnostics], field: str, title: str, y_title: str,
                       marker_step: int | None, log_y: bool = False) -> go.Figure:
    """One line per weight matrix (LayerNorm gains left out) of a ParameterStats field over the steps."""
    fig = figure()
    names = [p.name for p in records[0].parameters if "weight" in p.name and "ln" not in p.name] if records else []
    for name in names:
        values = [(r.step, next((getattr(p, field) for p in r.parameters if p.name == name), None)) for r in records]
        points = [(s, v) for s, v in values if v is not None and (v > 0 or not log_y)]
        fig.add_trace(go.Scatter(x=[s for s, _ in points], y=[v for _, v in points], mode="lines", name=_short(name)))
    if marker_step is not None:
        fig.add_vline(x=marker_step, line_color="#ff7f0e", line_width=2, annotation_text="snapshot shown",
                      annotation_position="top right", annotation_font_color="#ff7f0e")
    if log_y:       # labels at the decades alone (10⁻³, 10⁻⁴), not at every minor tick
        fig.update_yaxes(type="log", dtick=1, exponentformat="power", minor=dict(ticks="", showgrid=False))
    fig.update_layout(title=title, height=440, xaxis_title="step", yaxis_title=y_title,
                      legend=dict(orientation="h", y=-0.3, font=dict(size=12)), margin=dict(l=60, r=20, t=50, b=40))
    return fig


@worded
def update_ratio_figure(records: Sequence[StepDiagnostics], marker_step: int | None = None) -> go.Figure:
    """log10 of std(update) / std(weight) for every weight matrix over training, with the
    lecture's guide line at -3 (each step changes a weight by about a thousandth of its size)."""
    fig = _per_matrix_figure(records, "update_ratio", "log10 std(update) / std(weight)", "log10 ratio",
                             marker_step)
    fig.add_hline(y=-3, line_dash="dash", line_color="black", annotation_text="1e-3: the lecture's guide",
                  annotation_position="bottom left")     # the curves start high: the left end stays clear
    return fig


@worded
def gradient_figure(records: Sequence[StepDiagnostics], marker_step: int | None = None) -> go.Figure:
    """The standard deviation of each weight matrix's gradient over training (log scale)."""
    return _per_matrix_figure(records, "grad_std", "Gradient std per weight matrix", "std of the gradient",
                              marker_step, log_y=True)
