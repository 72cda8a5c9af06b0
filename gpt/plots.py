"""Plotly figures for the app and for notebooks: attention maps, next-character
probabilities, and loss curves. Each takes plain data and returns a `go.Figure`."""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

VISIBLE = {"\n": "↵", " ": "␣", "\t": "⇥"}


def show_char(c: str) -> str:
    """A character as it should appear on an axis: newline and space made visible."""
    return VISIBLE.get(c, c)


def attention_figure(chars: Sequence[str], maps: np.ndarray, layer: int, start: int = 0) -> go.Figure:
    """One heatmap per head of one layer, plus the heads' average.

    `maps` is (n_head, T, T): row = query position, column = key position. Positions are
    the axes (so repeated characters stay apart); the tick labels are the characters.
    `start` is the position of chars[0] in the whole text, for the hover labels.
    """
    n_head, T, _ = maps.shape
    panels = [(f"head {h}", maps[h]) for h in range(n_head)] + [("average of heads", maps.mean(0))]
    cols = min(len(panels), 4 if T <= 48 else 2 if T <= 96 else 1)
    rows = math.ceil(len(panels) / cols)
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=[title for title, _ in panels],
                        horizontal_spacing=0.06, vertical_spacing=0.12 / rows + 0.02)
    labels = [show_char(c) for c in chars]
    # Each axis category names its position too, so repeated characters never merge; the
    # hover then shows both, and the tick labels show just the characters.
    categories = [f"{label!r} @{start + i}" for i, label in enumerate(labels)]
    tick_step = max(1, T // 64)
    ticks = dict(tickmode="array", tickvals=categories[::tick_step], ticktext=labels[::tick_step],
                 tickfont=dict(family="monospace", size=11 if T <= 48 else 8), tickangle=0)
    for k, (title, weights) in enumerate(panels):
        row, col = k // cols + 1, k % cols + 1
        fig.add_trace(go.Heatmap(
            x=categories, y=categories, z=weights.astype(np.float32), zmin=0, zmax=1,
            colorscale="Viridis", showscale=(k == 0), name=title,
            hovertemplate="query %{y}<br>key %{x}<br>weight %{z:.3f}<extra>" + title + "</extra>",
        ), row=row, col=col)
        fig.update_xaxes(ticks, row=row, col=col, title_text="key (attended to)" if row == rows else None)
        fig.update_yaxes(ticks, row=row, col=col, autorange="reversed",
                         title_text="query" if col == 1 else None)
    side = 300 if cols > 1 else 700
    fig.update_layout(title=f"Layer {layer}: how much each character (row) attends to each earlier one (column)",
                      height=side * rows + 90, template="plotly_white", margin=dict(l=60, r=20, t=90, b=40))
    return fig


def next_char_figure(chars: Sequence[str], sampled_from: np.ndarray, model_probs: np.ndarray,
                     picked: str | None = None, title: str = "Next character", top: int = 15) -> go.Figure:
    """The top candidates: the model's own probabilities (temperature 1) beside the
    distribution actually sampled from (after temperature, top-k and top-p)."""
    order = np.argsort(-(sampled_from + 1e-3 * model_probs))[:top]
    labels = [repr(chars[i])[1:-1] if chars[i] not in VISIBLE else show_char(chars[i]) for i in order]
    fig = go.Figure([
        go.Bar(name="model (temperature 1)", x=labels, y=model_probs[order].astype(np.float32),
               marker_color="#b0bec5"),
        go.Bar(name="sampled from (after temperature, top-k, top-p)", x=labels,
               y=sampled_from[order].astype(np.float32), marker_color="#1f77b4"),
    ])
    if picked is not None:
        title += f" — picked {show_char(picked)!r}"
    fig.update_layout(barmode="group", title=title, yaxis_title="probability", yaxis_range=[0, 1],
                      template="plotly_white", height=360, legend=dict(orientation="h", y=-0.2),
                      xaxis=dict(tickfont=dict(family="monospace", size=14)))
    return fig


def loss_figure(history: Sequence[dict], vocab_size: int | None = None, bigram_val: float | None = None,
                title: str = "Loss") -> go.Figure:
    """Train and val loss against step, with the uniform guess ln(V) and the bigram as references."""
    steps = [h["step"] for h in history]
    fig = go.Figure()
    for key, name, color in (("train_loss", "train", "#1f77b4"), ("val_loss", "val", "#d62728")):
        fig.add_trace(go.Scatter(x=steps, y=[h[key] for h in history], mode="lines+markers", name=name,
                                 line=dict(color=color), marker=dict(size=4)))
    if vocab_size:
        fig.add_hline(y=math.log(vocab_size), line_dash="dot", line_color="gray",
                      annotation_text=f"uniform guess ln({vocab_size}) = {math.log(vocab_size):.2f}")
    if bigram_val:
        fig.add_hline(y=bigram_val, line_dash="dash", line_color="#2ca02c",
                      annotation_text=f"bigram val {bigram_val:.2f}", annotation_position="bottom right")
    fig.update_layout(title=title, xaxis_title="step", yaxis_title="loss (nats per character)",
                      template="plotly_white", height=380, legend=dict(orientation="h", y=-0.2))
    return fig


def ladder_figure(labels: Sequence[str], ours: Sequence[float], lecture: Sequence[float | None]) -> go.Figure:
    """Val loss of each rung of the ladder, ours as bars, the lecture's reported values as markers."""
    fig = go.Figure([go.Bar(name="ours (same budget for every rung)", x=list(labels), y=list(ours),
                            marker_color="#1f77b4", text=[f"{v:.3f}" for v in ours], textposition="outside")])
    points = [(label, value) for label, value in zip(labels, lecture) if value is not None]
    fig.add_trace(go.Scatter(name="the lecture reports", x=[p[0] for p in points], y=[p[1] for p in points],
                             mode="markers", marker=dict(symbol="diamond", size=12, color="#d62728")))
    fig.update_layout(title="Val loss as the transformer is assembled, one idea at a time",
                      yaxis_title="val loss (nats per character)", yaxis_range=[1.0, max(ours) + 0.3],
                      template="plotly_white", height=420, legend=dict(orientation="h", y=-0.3))
    return fig


def matrix_figure(matrix: np.ndarray, title: str, x_labels: Sequence[str] | None = None,
                  y_labels: Sequence[str] | None = None, text_format: str = ".2f", height: int = 320) -> go.Figure:
    """A small annotated heatmap: attention weights of the worked example, or makemore's counts."""
    rows, cols = matrix.shape
    x = [show_char(c) for c in x_labels] if x_labels else list(range(cols))
    y = [show_char(c) for c in y_labels] if y_labels else list(range(rows))
    fig = go.Figure(go.Heatmap(z=np.asarray(matrix, dtype=np.float32), x=x, y=y, colorscale="Blues",
                               texttemplate="%{z:" + text_format + "}", textfont=dict(size=9), showscale=False,
                               hovertemplate="row %{y}, column %{x}: %{z:" + text_format + "}<extra></extra>"))
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(type="category", side="top")
    fig.update_layout(title=title, template="plotly_white", height=height, margin=dict(l=40, r=10, t=80, b=10))
    return fig


def embedding_figure(chars: Sequence[str], embedding: np.ndarray, title: str) -> go.Figure:
    """A 2-D character embedding, each point labelled by its character."""
    fig = go.Figure(go.Scatter(x=embedding[:, 0], y=embedding[:, 1], mode="markers+text",
                               text=[show_char(c) for c in chars], textposition="middle center",
                               marker=dict(size=22, color="#cfe3f7"), textfont=dict(size=14, family="monospace")))
    fig.update_layout(title=title, template="plotly_white", height=420, xaxis_title="dimension 0",
                      yaxis_title="dimension 1")
    return fig


def softmax_rows_figure(unscaled: np.ndarray, scaled: np.ndarray, head_size: int) -> go.Figure:
    """One query's attention weights with and without the 1/sqrt(head_size) scaling."""
    keys = [f"key {i}" for i in range(len(unscaled))]
    fig = go.Figure([go.Bar(name="softmax(q·k)", x=keys, y=unscaled, marker_color="#d62728"),
                     go.Bar(name=f"softmax(q·k / √{head_size})", x=keys, y=scaled, marker_color="#1f77b4")])
    fig.update_layout(barmode="group", title="Without the scaling, softmax is nearly one-hot",
                      yaxis_title="weight", template="plotly_white", height=320, legend=dict(orientation="h", y=-0.25))
    return fig

