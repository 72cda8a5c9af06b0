"""The Lab's Features view: the shipped SAE's features of the shipped GPT's residual stream,
beside the same recipe on an untrained GPT (the control). Everything a page shows comes from
the precomputed tables (recipes/sae.py), except a character's features and steering, which
run the model."""
from __future__ import annotations

import html
import math
import re
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path

import torch

from gpt import sae as S
from gpt.generation import generate
from gpt.model import GPT
from gpt.plots import VISIBLE

from .errors import InputError

SAE_FOLDER = "shakespeare-gpt-sae"
MODEL_NAME = "shakespeare-gpt"
SHOWN_CONTEXTS = 12
FOUND = 40
"""Features a search lists."""
MAX_STRENGTH = 50.0
STEERING = {"add": S.steering, "hold": S.clamping}
"""How a feature steers: its direction added to the stream, or its activation held at a value."""
CONTEXTS_LABEL = "Its strongest val contexts (shade and underline: activation)"
CONTROL_LABEL = "The control: feature of the same number, untrained GPT"
NOT_SHIPPED = ("Features are shipped for the shipped GPT (shakespeare-gpt) only: an SAE needs ~10 minutes of one "
               "core and hundreds of thousands of the model's activations, more than a live session has. "
               "What you see here is that model's, whichever model is chosen above.")


@dataclass
class Side:
    """One SAE's tables on the val text and what it measured."""
    tables: S.FeatureTables
    meta: dict


RARE = 0.05
"""The default list leaves out features firing at more than 5% of positions (a few fire almost
everywhere: the stream's common direction, not something to name)."""


@lru_cache(maxsize=2)
def atlas_for(zoo, checkpoints: str) -> "FeatureAtlas":
    """The one atlas of a zoo's shipped GPT, built on first use (the app warms it up)."""
    from gpt.data import Corpus

    model = zoo.get(MODEL_NAME)
    return FeatureAtlas(checkpoints, model, model.dataset_for(Corpus.load("shakespeare")).splits["val"])


class FeatureAtlas:
    """The shipped SAE, its tables, and the control's tables, read once and shared."""

    def __init__(self, checkpoints: str | Path, model: GPT, val_ids: torch.Tensor):
        folder = Path(checkpoints) / SAE_FOLDER
        self.model = model
        self.sae = S.load_sae(folder / "trained")
        self.trained = Side(S.load_tables(folder / "trained"), _meta(folder / "trained"))
        self.random = Side(S.load_tables(folder / "random"), _meta(folder / "random"))
        self.val_ids = val_ids
        self.chars = model.tokenizer.chars
        self.n_features = self.sae.config.n_features

    @classmethod
    def available(cls, checkpoints: str | Path) -> bool:
        folder = Path(checkpoints) / SAE_FOLDER
        return all((folder / side / S.FEATURE_TABLES).is_file() for side in ("trained", "random"))

    @cached_property
    def logit_effect(self) -> torch.Tensor:
        return S.logit_effect(self.sae, self.model)                       # (n_features, V)

    @cached_property
    def context_texts(self) -> list[str]:
        """Each feature's top contexts as one lowercased string, for search by text."""
        return [" ".join(self._context(f, i).lower() for i in range(SHOWN_CONTEXTS)) for f in range(self.n_features)]

    # --- what the page shows -------------------------------------------------------------

    def headline(self) -> str:
        q = self.trained.meta["quality"]
        c = self.sae.config
        return (f"The shipped GPT's residual stream after block {c.layer} as {c.n_features:,} features, {c.k} active "
                f"at each position: {q['fvu']:.3f} of its variance unexplained, **{100 * q['recovered']:.1f}%** of "
                f"the loss recovered with the reconstruction in place.")

    def summary(self) -> str:
        q, r = self.trained.meta["quality"], self.random.meta["quality"]
        et, er = self.trained.meta["top_context_entropy_bits"], self.random.meta["top_context_entropy_bits"]
        c = self.sae.config
        return (f"A sparse autoencoder rewrites the residual stream after block {c.layer} (of 0–"
                f"{self.model.config.n_layer - 1}) as {c.k} of {c.n_features:,} learned directions at every "
                f"position. On val it leaves **{q['fvu']:.3f}** of the stream's variance unexplained; with its "
                f"reconstruction in place of the stream the next-character loss is {q['spliced_loss']:.3f} against "
                f"{q['clean_loss']:.3f} clean and {q['ablated_loss']:.3f} with the layer mean-ablated: "
                f"**{100 * q['recovered']:.1f}%** of the loss recovered; {100 * q['dead_fraction']:.1f}% of "
                f"features never fire.\n\n"
                f"**The control**: the same recipe on an *untrained* GPT of the same shape (its SAE's FVU: "
                f"{r['fvu']:.3f}) also finds features that look tidy, because its stream is mostly the current "
                f"character's embedding: the character at a "
                f"feature's top contexts has {er['at']:.2f} bits of entropy there, {et['at']:.2f} here. What tells "
                f"them apart is what comes *next*: the character after the firing position has "
                f"**{et['after']:.2f} bits** here against **{er['after']:.2f}** for the control (lower: the "
                f"feature knows what follows). A feature that only names the current character proves little.")

    def feature(self, f: int) -> FeaturePage:
        f = self.check_feature(f)
        effect = self.logit_effect[f]
        order = effect.argsort(descending=True)
        promotes = [self.chars[i] for i in order[:8].tolist()]
        suppresses = [self.chars[i] for i in order[-8:].flip(0).tolist()]
        density = float(self.trained.tables.density[f])
        header = (f"**Feature {f}** fires at {100 * density:.2f}% of val positions"
                  f" (the control's feature {f}: {100 * float(self.random.tables.density[f]):.2f}%). "
                  f"Read through the unembedding it promotes {_chars(promotes)} and suppresses {_chars(suppresses)}.")
        return FeaturePage(f, header, self.contexts_html(self.trained, f, CONTEXTS_LABEL),
                           self.contexts_html(self.random, f, CONTROL_LABEL))

    def shaded_lines(self, side: Side, f: int) -> list[list[tuple[str, float]]]:
        """The top contexts, one a line, each character with the feature's activation there
        relative to the strongest (0 where it does not fire)."""
        tables = side.tables
        peak = float(tables.top_values[f, 0]) or 1.0
        lines = []
        for i in range(SHOWN_CONTEXTS):
            if float(tables.top_values[f, i]) <= 0:
                break
            start = int(tables.top_positions[f, i]) - S.CONTEXT_BEFORE
            line = []
            for j, a in enumerate(tables.shading[f, i].float().tolist()):
                at = start + j
                if 0 <= at < len(self.val_ids):
                    line.append((self.chars[int(self.val_ids[at])], round(min(1.0, a / peak), 3) if a > 0 else 0.0))
            lines.append(line)
        return lines

    def contexts_html(self, side: Side, f: int, label: str) -> str:
        """The shaded contexts as one block of HTML: a browser draws ~400 spans of it at once, where
        ~400 HighlightedText tokens are each a component of their own (0.1-0.3 s to draw)."""
        lines = self.shaded_lines(side, f)
        body = "".join(f'<div class="context-line">{"".join(_shaded(c, a) for c, a in line)}</div>' for line in lines)
        return (f'<div class="shaded-contexts"><div class="shaded-label">{html.escape(label)}</div>'
                f'{body or "<div>(this feature never fired on val)</div>"}</div>')

    def _context(self, f: int, i: int) -> str:
        tables = self.trained.tables
        if float(tables.top_values[f, i]) <= 0:
            return ""
        at = int(tables.top_positions[f, i])
        lo, hi = max(0, at - S.CONTEXT_BEFORE), min(len(self.val_ids), at + S.CONTEXT_AFTER + 1)
        return "".join(self.chars[int(t)] for t in self.val_ids[lo:hi])

    def search(self, query: str) -> list[tuple[str, int]]:
        """Features for a query, as (label, number): "promotes: x" by the character they
        promote most; any other text by their top contexts; empty: the most frequent."""
        query = (query or "").strip()
        if len(query) > 100:
            raise InputError("Search for at most 100 characters.")
        if m := re.fullmatch(r"promotes:\s?(.)", query, flags=re.S):
            char = m.group(1)
            if char not in self.chars:
                raise InputError(f"{char!r} is not one of the model's characters.")
            found = self.logit_effect[:, self.chars.index(char)].argsort(descending=True)[:FOUND].tolist()
        elif query:
            needle = query.lower()
            counts = [(text.count(needle), f) for f, text in enumerate(self.context_texts)]
            found = [f for n, f in sorted(counts, key=lambda t: (-t[0], t[1])) if n > 0][:FOUND]
        else:
            density = self.trained.tables.density
            found = [f for f in density.argsort(descending=True).tolist() if density[f] <= RARE][:FOUND]
        return [(self.label(f), f) for f in found]

    def label(self, f: int) -> str:
        top = self._context(f, 0)
        snippet = "".join(VISIBLE.get(c, c) for c in top[max(0, S.CONTEXT_BEFORE - 8):S.CONTEXT_BEFORE + 1])
        promoted = self.chars[int(self.logit_effect[f].argmax())]
        return f"#{f} · …{snippet} · promotes {VISIBLE.get(promoted, promoted)}"

    def features_at(self, text: str, position: int, top: int = 10) -> list[list]:
        """The features active after reading `text` up to character `position` (1-based),
        strongest first: rows of [feature, activation, what it promotes, its top context]."""
        if not text:
            raise InputError("Type or paste a text first.")
        if not 1 <= position <= len(text):
            raise InputError(f"The position must be between 1 and {len(text)}.")
        unknown = sorted(set(text) - set(self.chars))
        if unknown:
            raise InputError(f"The model does not know {', '.join(map(repr, unknown[:5]))}.")
        ids = torch.tensor(self.model.tokenizer.encode(text[:position]))
        codes = S.feature_activations(self.sae, self.model, ids)[-1]          # the last position's
        values, order = codes.topk(top)
        rows = []
        for v, f in zip(values.tolist(), order.tolist()):
            if v <= 0:
                break
            promoted = self.chars[int(self.logit_effect[f].argmax())]
            rows.append([f, round(v, 3), VISIBLE.get(promoted, promoted),
                         "".join(VISIBLE.get(c, c) for c in self._context(f, 0))])
        return rows

    def steer(self, prompt: str, f: int, strength: float, length: int, seed: int,
              how: str = "add") -> tuple[str, str]:
        """The same prompt and seed without and with the feature: its direction added at
        `strength` ("add"), or its activation held at `strength` at every position ("hold")."""
        f = self.check_feature(f)
        if not (isinstance(strength, (int, float)) and math.isfinite(strength)) or abs(strength) > MAX_STRENGTH:
            raise InputError(f"The strength must be a number between -{MAX_STRENGTH:g} and {MAX_STRENGTH:g}.")
        if how not in STEERING:
            raise InputError(f"Steer by one of {', '.join(STEERING)}, not {how!r}.")
        plain = "".join(generate(self.model, prompt, length, temperature=0.8, seed=seed, unknown="replace"))
        with STEERING[how](self.model, self.sae, f, float(strength)):
            steered = "".join(generate(self.model, prompt, length, temperature=0.8, seed=seed, unknown="replace"))
        return prompt + plain, prompt + steered

    def check_feature(self, f) -> int:
        if not isinstance(f, (int, float)) or not math.isfinite(f) or int(f) != f or not 0 <= f < self.n_features:
            raise InputError(f"Pick a feature from 0 to {self.n_features - 1}.")
        return int(f)


@dataclass
class FeaturePage:
    """What a feature's page shows; the contexts as HTML, each character a `span.token` whose
    `data-a` is its activation relative to the strongest."""
    feature: int
    header: str
    contexts: str
    control: str


def _meta(folder: Path) -> dict:
    import json

    return json.loads((folder / S.SAE_CONFIG).read_text())


def _shaded(char: str, activation: float) -> str:
    shown = html.escape(VISIBLE.get(char, char))
    if activation <= 0:
        return f'<span class="token">{shown}</span>'
    return (f'<span class="token" data-a="{activation:g}" title="{activation:.2f} of the strongest" '
            f'style="background-color: rgba(239, 68, 60, {activation:g}); --level: {activation:g}">{shown}</span>')


def _chars(chars: list[str]) -> str:
    return " ".join(f"`{VISIBLE.get(c, c)}`" for c in chars)
