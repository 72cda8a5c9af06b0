"""A figure in words: what a screen reader reads instead of a plot, and what an assistant reads
instead of its JSON. Written from the figure's own traces, so it cannot disagree with them.

Each kind of trace says what a reader would look for first:
- a line: where it starts and ends, and its lowest and highest points;
- bars: the tallest bars with their values;
- a heatmap: its size and its largest cells, with their row and column;
- points (a scatter without lines): how many, and what they are labelled.
"""
from __future__ import annotations

import html
import re

import numpy as np
import plotly.graph_objects as go

SHOWN = 3
"""How many bars, cells or labels a trace names: enough to read, short enough to listen to."""
MAX_TRACES = 12
"""Traces described; a figure with more says how many it left out."""


def plain(text: object) -> str:
    """Plotly's text (HTML tags, entities, zero-width spaces that keep labels apart) as plain words."""
    text = re.sub(r"<br\s*/?>", ", ", str(text or ""))
    text = html.unescape(re.sub(r"<[^>]+>", "", text)).replace("\u200b", "")
    return re.sub(r"\s+", " ", text).strip(" ,")


def number(value: float) -> str:
    """Three significant digits, read as a person would say them: 6,500 rather than 6.5e+03."""
    if float(value).is_integer() or abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def _title(fig: go.Figure) -> str:
    """The title, and what the axes measure where they say so."""
    title = plain(fig.layout.title.text if fig.layout.title else None) or "A figure"
    axes = [f"{which} {words}" for which, axis in (("across:", fig.layout.xaxis), ("up:", fig.layout.yaxis))
            if axis and axis.title and (words := plain(axis.title.text))]
    return f"{title} ({'; '.join(axes)})" if axes else title


def _labels(values, n: int) -> list[str]:
    """An axis' category labels, or positions from 0 where it has none."""
    return [plain(v) for v in values] if values is not None and len(values) == n else [str(i) for i in range(n)]


def _line(trace, name: str) -> str:
    x, y = np.asarray(trace.x, dtype=float), np.asarray(trace.y, dtype=float)
    low, high = int(np.nanargmin(y)), int(np.nanargmax(y))
    return (f"{name}: {len(y)} points from {number(x[0])} to {number(x[-1])}; starts at {number(y[0])}, ends at "
            f"{number(y[-1])}, lowest {number(y[low])} at {number(x[low])}, highest {number(y[high])} at "
            f"{number(x[high])}")


def _points(trace, name: str) -> str:
    labels = [plain(t) for t in trace.text] if trace.text is not None and not isinstance(trace.text, str) else []
    shown = f", labelled {', '.join(labels[:SHOWN * 3])}{'…' if len(labels) > SHOWN * 3 else ''}" if labels else ""
    return f"{name}: {len(trace.x)} points{shown}"


def largest(values: np.ndarray, n: int = SHOWN) -> np.ndarray:
    """The indices of the `n` largest values, largest first, ties by position: a full stable sort's
    first `n`, without sorting a whole 256×256 map at every figure drawn (docs/benchmarks.md)."""
    values = np.where(np.isnan(values), -np.inf, values)                    # a gap sorts last, as in argsort
    if values.size <= n:
        return np.argsort(-values, kind="stable")
    candidates = np.flatnonzero(values >= np.partition(values, -n)[-n])     # every tie at the n-th kept
    return candidates[np.argsort(-values[candidates], kind="stable")][:n]


def _bars(trace, name: str) -> str:
    y = np.asarray(trace.y, dtype=float)
    labels = _labels(trace.x, len(y))
    order = largest(y)
    return f"{name}: tallest " + ", ".join(f"{labels[i]} {number(y[i])}" for i in order)


def _heatmap(trace, name: str) -> str:
    z = np.asarray(trace.z, dtype=float)
    rows, columns = _labels(trace.y, z.shape[0]), _labels(trace.x, z.shape[1])
    flat = z.ravel()
    order = largest(flat)
    cells = ", ".join(f"row {rows[i // z.shape[1]]}, column {columns[i % z.shape[1]]}: {number(flat[i])}"
                      for i in order if np.isfinite(flat[i]))
    return f"{name}: {z.shape[0]} rows by {z.shape[1]} columns; largest {cells}"


def _trace(trace, index: int, alone: bool) -> str | None:
    name = plain(trace.name) or ("" if alone else f"trace {index + 1}")
    if trace.type == "heatmap":
        return _heatmap(trace, name) if trace.z is not None and np.size(trace.z) else None
    if trace.y is None or len(trace.y) == 0:
        return None                                 # an empty trace: a marker not placed yet
    if trace.type == "bar":
        return _bars(trace, name)
    if trace.type == "scatter":
        return _line(trace, name) if "lines" in (trace.mode or "lines") else _points(trace, name)
    return f"{name}: a {trace.type} trace"


def in_words(fig: go.Figure) -> str:
    """The figure's title, then each trace in a clause: its name and what a reader would look for."""
    described = [d.removeprefix(": ") for i, t in enumerate(fig.data) if (d := _trace(t, i, len(fig.data) == 1))]
    left = len(described) - MAX_TRACES
    tail = [f"and {left} more"] if left > 0 else []
    return f"{_title(fig)}. " + "; ".join(described[:MAX_TRACES] + tail) + ("." if described else "")
