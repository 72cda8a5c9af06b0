"""The Lab tab: the five instruments of `gpt.lab`, as figures, coloured text and notes.

Every view checks its input and says in plain words what it measured; the shipped GPTs'
knockout grid and induction scores come precomputed from their lab.json.
"""
from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import plotly.graph_objects as go
import torch

from gpt import lab, plots
from gpt.data import NAMED_CORPORA, Corpus
from gpt.errors import UsageError
from gpt.generation import generate
from gpt.hardware import bf16_is_fast
from gpt.language_model import LanguageModel
from gpt.report import markdown_table
from gpt.tokenizer import UnknownCharactersError

from .errors import InputError

MAX_LAB_CHARS = 4000
MAX_KNOCKOUT_CHARS = 2048
DEFAULT_PASSAGE_START = 1_003_854 + 2_000      # a passage a little into the val split (never trained on)


def fast_math(model: LanguageModel):
    """bf16 autocast where it is native (about 2x for surprisal here, 0.08 nats at most off a
    character's fp32 value, means equal to 3 decimals); plain fp32 elsewhere."""
    if bf16_is_fast(model.device):
        return torch.autocast(model.device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def default_passage(chars: int = 600) -> str:
    text = Corpus.load("shakespeare").text
    start = text.index("\n\n", DEFAULT_PASSAGE_START) + 2                  # begin at a speech
    return text[start:start + chars]


def _checked_text(model: LanguageModel, text: str, limit: int = MAX_LAB_CHARS) -> str:
    if not text or len(text) < 2:
        raise InputError("Paste or type at least two characters of text to measure.")
    if len(text) > limit:
        raise InputError(f"The text is {len(text):,} characters long; the Lab reads at most {limit:,}.")
    missing = model.tokenizer.unknown_chars(text)
    if missing:
        shown = ", ".join(repr(c) for c in missing[:10])
        one = len(missing) == 1
        raise InputError(f"{shown} {'is' if one else 'are'} not in this model's "
                         f"{model.tokenizer.vocab_size}-character vocabulary; remove {'it' if one else 'them'}.")
    return text


def _needs_heads(model: LanguageModel) -> None:
    try:
        lab.require_heads(model)
    except UsageError as e:
        raise InputError(str(e)[0].upper() + str(e)[1:]) from None


# --- 1. surprisal --------------------------------------------------------------------------

@dataclass
class SurprisalView:
    highlighted: list[tuple[str, float]]   # (character, score in [-1, 1]) for gr.HighlightedText
    note: str


def surprisal_highlights(text: str, scores: np.ndarray) -> list[tuple[str, float | None]]:
    """Each character with its colour score for gr.HighlightedText; the first is not predicted."""
    return [(text[0], None)] + [(c, float(s)) for c, s in zip(text[1:], scores)]


def bits_scores(bits: np.ndarray) -> np.ndarray:
    """Surprisal in bits as a colour score: 8 bits (a 1-in-256 surprise) is full colour."""
    return np.clip(bits / 8, 0, 1)


def most_surprising_in_words(text: str, bits: np.ndarray, shown: int = 5) -> str:
    """The colours' numbers for a reader who cannot see them: the most surprising characters, with
    their positions (the first character is position 0, and is not predicted) and bits."""
    order = np.argsort(-bits, kind="stable")[:shown]
    return "Most surprising: " + ", ".join(
        f"“{plots.VISIBLE.get(text[i + 1], text[i + 1])}” at {i + 1} ({bits[i]:.1f} bits)" for i in order) + "."


def surprisal_view(model: LanguageModel, text: str, other: LanguageModel | None = None,
                   other_name: str = "") -> SurprisalView:
    """Each character coloured by its surprisal in bits (darker: more surprising), or by how
    many bits `model` saves over `other` (red: `model` does worse, purple: better; Gradio's colours)."""
    text = _checked_text(model, text)
    with fast_math(model):
        bits = lab.bits(lab.surprisal(model, text))
    if other is None:
        scores = bits_scores(bits)
        note = (f"Mean **{bits.mean():.2f} bits per character** over {len(bits):,} predicted characters "
                f"(loss {bits.mean() * math.log(2):.3f} nats). {most_surprising_in_words(text, bits)} "
                "🟥 Darker red and a thicker underline: more surprising (full: 8 bits, a 1-in-256 surprise; no "
                "line under 2 bits); the first character is not predicted. Click a character to see what the "
                "model expected there and what it read.")
    else:
        _checked_text(other, text)
        with fast_math(other):
            other_bits = lab.bits(lab.surprisal(other, text))
        diff = bits - other_bits
        scores = np.clip(diff / 4, -1, 1)
        note = (f"This model: **{bits.mean():.2f}** bits per character; {other_name}: **{other_bits.mean():.2f}**. "
                f"🟪 Purple, lined above: this model is less surprised than {other_name}; 🟥 red, underlined: "
                f"more (full: 4 bits either way; pale and no line under 1 bit: about the same). It saves "
                f"{(-diff).mean():.2f} bits per character on average; the largest saving is at position "
                f"{int(diff.argmin()) + 1} ({text[int(diff.argmin()) + 1]!r}).")
    return SurprisalView(surprisal_highlights(text, scores), note)


def prediction_view(model: LanguageModel, text: str, position: int) -> tuple[go.Figure, go.Figure | None, str]:
    """What the model predicted for the character at `position` (0-based, >= 1) and which
    earlier characters each of its heads read when it did."""
    text = _checked_text(model, text)
    if not 1 <= position < len(text):
        raise InputError(f"Pick a character after the first (positions 1 to {len(text) - 1}).")
    context = text[max(0, position - model.block_size):position]
    ids = torch.tensor([model.tokenizer.encode(context)], device=model.device)
    with torch.inference_mode():
        model.eval()
        if model.has_attention:
            logits, maps = model.attention_maps(ids)
        else:
            logits, maps = model(ids)[0], []
    probs = logits[0, -1].float().softmax(-1).cpu().numpy()
    actual = text[position]
    bars = plots.next_char_figure(model.tokenizer.chars, probs, picked=actual, picked_name="next in the text",
                                  title=f"Position {position}, after “…{plots.show_text(context[-20:])}”")
    figure = None
    if maps:
        rows = np.concatenate([m[0, :, -1].float().cpu().numpy() for m in maps])   # (n_layer * n_head, T)
        n_head = maps[0].shape[1]
        labels = [f"L{l} H{h}" for l in range(len(maps)) for h in range(n_head)]
        shown = min(rows.shape[1], 64)
        figure = plots.attention_rows_figure(list(context[-shown:]), rows[:, -shown:], labels,
                                             title=f"What each head read when predicting {actual!r}")
    p_actual = probs[model.tokenizer.stoi[actual]]
    note = (f"The character there is **{plots.show_char(actual)}**; the model gave it p = {p_actual:.3f} "
            f"({-math.log2(max(p_actual, 1e-12)):.2f} bits).")
    return bars, figure, note


# --- 2. head knockout ---------------------------------------------------------------------

def knockout_view(model: LanguageModel, name: str, text: str | None, mode: str,
                  precomputed: dict | None, progress=None) -> tuple[go.Figure, str, str]:
    """The grid, a note, and the label of the head that matters most (e.g. "L0 H4")."""
    _needs_heads(model)
    if mode not in ("zero", "mean"):
        raise InputError("Choose zero or mean ablation.")
    if not text and precomputed:
        grid = np.asarray(precomputed["knockout"][mode], dtype=float)
        where = precomputed["knockout"]["text"] + " (measured when the model was published)"
    else:
        given = bool(text)
        text = _checked_text(model, text if given else default_passage(1024), MAX_KNOCKOUT_CHARS)
        grid = lab.head_knockout(model, text, mode=mode, progress=progress)
        where = (f"the {len(text):,} characters given" if given else
                 f"a {len(text):,}-character val passage (nothing was measured for this model in advance)")
    layer, head = np.unravel_index(np.nanargmax(grid), grid.shape)
    figure = plots.knockout_figure(grid, f"{name}: change in loss with one head removed ({mode} ablation)")
    note = (f"Each cell: how much the mean loss on {where} rises (red) or falls (blue), in nats per character, "
            f"when that head alone is {'zeroed' if mode == 'zero' else 'replaced by its mean output'}. "
            f"The head that matters most here: **layer {layer}, head {head}** (+{grid[layer, head]:.3f} nats). "
            f"The grid in numbers, largest rises first: {grid_in_words(grid)}. "
            "Pick heads below to regenerate without them.")
    return figure, note, f"L{layer} H{head}"


def grid_in_words(grid: np.ndarray, shown: int = 5) -> str:
    """The knockout grid's largest rises and (if any head's removal helps) its largest fall, as text:
    the numbers a screen reader or an assistant needs without the figure."""
    cells = [(float(v), l, h) for (l, h), v in np.ndenumerate(grid) if np.isfinite(v)]
    cells.sort(key=lambda c: -c[0])
    words = ", ".join(f"L{l} H{h} {v:+.3f}" for v, l, h in cells[:shown])
    lowest = cells[-1] if cells else None
    if lowest is not None and lowest[0] < 0 and len(cells) > shown:
        words += f"; lowest L{lowest[1]} H{lowest[2]} {lowest[0]:+.3f}"
    return words


def head_choices(model: LanguageModel) -> list[str]:
    if not model.has_heads:
        return []
    return [f"L{l} H{h}" for l in range(len(model.blocks)) for h in range(model.blocks[0].attn.n_head)]


def parse_heads(model: LanguageModel, chosen: list[str]) -> list[lab.Head]:
    heads = []
    for label in chosen or []:
        try:
            layer, head = (int(part[1:]) for part in label.split())
        except ValueError:
            raise InputError(f"{label!r} is not a head (write it as L<layer> H<head>, e.g. L2 H0).") from None
        heads.append((layer, head))
    return heads


def regenerate_view(model: LanguageModel, chosen: list[str], prompt: str, length: int, seed: int
                    ) -> tuple[str, str, str]:
    """The same prompt and seed from the intact model and with the chosen heads removed."""
    _needs_heads(model)
    heads = parse_heads(model, chosen)
    if not prompt:
        raise InputError("The prompt is empty.")
    try:
        model.tokenizer.encode(prompt)
    except UnknownCharactersError as e:
        raise InputError(str(e)) from None
    length = int(length)
    if not 1 <= length <= 1000:
        raise InputError("The length must be between 1 and 1000 characters.")
    intact = prompt + "".join(generate(model, prompt, length, temperature=0.8, seed=int(seed)))
    try:
        with lab.ablated(model, heads):
            knocked = prompt + "".join(generate(model, prompt, length, temperature=0.8, seed=int(seed)))
    except UsageError as e:
        raise InputError(str(e)) from None
    removed = ", ".join(chosen) if chosen else "none (pick heads above)"
    return intact, knocked, f"Heads removed: {removed}. Same prompt, seed {int(seed)}, temperature 0.8."


# --- 3. logit lens ------------------------------------------------------------------------

DEFAULT_LENS_TEXT = "First Citizen:\nBefore we proceed any further, hear me speak."


def lens_view(model: LanguageModel, text: str) -> tuple[go.Figure, str]:
    _needs_heads(model)
    text = _checked_text(model, text)[-model.block_size:]
    if len(text) < 2:
        raise InputError("The logit lens needs at least two characters.")
    probs = lab.logit_lens(model, text)                                     # (n_layer + 1, T, V)
    truth = np.array(model.tokenizer.encode(text[1:]))
    p_true = probs[:, np.arange(len(truth)), truth]                         # (n_layer + 1, T - 1)
    top_is_true = probs[:, :-1].argmax(-1) == truth                         # the answer is the top choice
    share = top_is_true.mean(1)
    first = next((k for k, s in enumerate(share) if s >= share[-1] * 0.9), len(share) - 1)
    figure = plots.lens_figure(p_true, list(text[:-1]), "Probability of the true next character, read after each layer")
    where = "the embeddings alone" if first == 0 else f"block {first}"
    note = (f"Each row reads the residual stream through the final LayerNorm and the output head. The true next "
            f"character is the top choice at {share[0]:.0%} of positions straight from the embeddings and "
            f"{share[-1]:.0%} at the output; it reaches 90% of its final share at **{where}**. "
            "Pick a position to see the top five per layer.")
    return figure, note


def lens_position_view(model: LanguageModel, text: str, position: int) -> str:
    _needs_heads(model)
    text = _checked_text(model, text)[-model.block_size:]
    if not 0 <= position < len(text) - 1:
        raise InputError(f"Pick a position from 0 to {len(text) - 2}.")
    probs = lab.logit_lens(model, text)[:, position]                        # (n_layer + 1, V)
    rows = []
    for k, row in enumerate(probs):
        top = np.argsort(-row)[:5]
        rows.append(["embeddings" if k == 0 else f"after block {k}",
                     " · ".join(f"`{plots.show_char(model.tokenizer.chars[i])}` {row[i]:.2f}" for i in top)])
    return (f"Reading {plots.show_char(text[position])!r} at position {position}; the true next character is "
            f"`{plots.show_char(text[position + 1])}`.\n\n" + markdown_table(["layer", "top five"], rows))


# --- 4. induction -------------------------------------------------------------------------

STRING_KINDS = [("random characters", "random"), ("a val passage", "val")]
"""(label, value) of the strings the induction instrument writes twice."""


def induction_view(models: list[tuple[str, LanguageModel, dict | None]], length: int = 60, seed: int = 0,
                   kind: str = "random") -> tuple[go.Figure, go.Figure, str]:
    """Loss on both copies of a repeated string (random characters, or a val passage from
    a seeded place), per model, and the first model's induction scores; precomputed results
    are used for the default random string."""
    kind = dict(STRING_KINDS).get(kind, kind)          # a label is accepted too
    if kind not in ("random", "val"):
        raise InputError(f"Choose the string: {' or '.join(value for _, value in STRING_KINDS)}, not {kind!r}.")
    if not 2 <= length <= 120:
        raise InputError("The string length must be between 2 and 120 characters.")
    passage = None
    if kind == "val":
        val = Corpus.load("shakespeare").text[1_003_854:]
        start = int(torch.randint(len(val) - length, (1,), generator=torch.Generator().manual_seed(seed)))
        passage = val[start:start + length]
    curves, notes, first_scores = [], [], None
    for name, model, precomputed in models:
        _needs_heads(model)
        stored = precomputed["induction"] if precomputed else None
        if passage is None and stored and (length, seed) == (stored["length"], stored["seed"]):
            scores, a, b = (np.asarray(stored[k]) for k in ("scores", "first_copy", "second_copy"))
        else:
            try:
                text = None if passage is None else _checked_text(model, passage) * 2
                scores, a, b = lab.induction_scores(model, length=length, seed=seed, text=text)
            except UsageError as e:
                raise InputError(str(e)) from None
        first_scores = scores if first_scores is None else first_scores
        curves.append((name, a, b))
        layer, head = np.unravel_index(scores.argmax(), scores.shape)
        notes.append(f"**{name}**: first copy {a.mean():.2f} nats per character, second copy {b.mean():.2f}; "
                     f"its most induction-like head is layer {layer}, head {head} (score {scores.max():.2f}).")
        uniform = math.log(model.tokenizer.vocab_size)
        if a.mean() > uniform:
            notes.append(f"Above ln({model.tokenizer.vocab_size}) = {uniform:.2f}, the loss of guessing uniformly: "
                         f"{name} is confidently wrong about the first copy, which is nothing like the text it "
                         "was trained on.")
    what = f"A random {length}-character string" if passage is None else f"A {length}-character val passage"
    copies = plots.copies_figure(curves, f"{what}, written twice")
    heat = plots.matrix_figure(first_scores, f"{models[0][0]}: induction score per head", text_format=".2f",
                               height=160 + 40 * first_scores.shape[0], value_range=(0, 1),
                               axis_titles=("head", "layer"))
    return copies, heat, ("An induction head attends from a character to whatever followed that same character "
                          "the last time, so the model can copy; a model that copies scores much lower on the "
                          "second copy.  \n" + "  \n".join(notes))


def formation_view(model: LanguageModel, name: str) -> go.Figure | None:
    """The copying circuit forming during training, from the evaluations its run recorded."""
    if not any("induction_max" in h for h in model.history):
        return None
    return plots.formation_figure(model.history, f"{name}: the copying circuit forming during training")


# --- 5. memorisation ----------------------------------------------------------------------

@lru_cache(maxsize=4)
def verbatim_index(corpus_name: str) -> tuple[lab.VerbatimIndex, str]:
    corpus = Corpus.load(corpus_name)
    dataset = corpus.dataset(8)
    return lab.VerbatimIndex(dataset.split_text("train")), NAMED_CORPORA[corpus_name].title


def covered_runs(text: str, covered: np.ndarray, label: str) -> list[tuple[str, str | None]]:
    """The text cut where coverage changes: overlapping spans make one highlighted run, never
    fragments; every character (newlines too) appears exactly once, in order."""
    runs: list[tuple[str, str | None]] = []
    start = 0
    for end in range(1, len(text) + 1):
        if end == len(text) or covered[end] != covered[start]:
            runs.append((text[start:end], label if covered[start] else None))
            start = end
    return runs


def memorised_view(model: LanguageModel, text: str, min_len: int) -> tuple[list[tuple[str, str | None]], str]:
    if model.run.corpus not in NAMED_CORPORA:
        raise InputError("The memorisation check needs the model's training text; it is known for the models "
                         "trained on Tiny Shakespeare or names.")
    if not text:
        raise InputError("Paste or generate some text to check.")
    if len(text) > MAX_LAB_CHARS:
        raise InputError(f"The text is {len(text):,} characters long; the check reads at most {MAX_LAB_CHARS:,}.")
    min_len = int(min_len)
    if not 5 <= min_len <= 200:
        raise InputError("The shortest span must be between 5 and 200 characters.")
    index, title = verbatim_index(model.run.corpus)
    found = index.matches(text, min_len)
    covered = np.zeros(len(text), dtype=bool)
    for m in found:
        covered[m.start:m.end] = True
    highlighted = covered_runs(text, covered, "in the training text")
    if not found:
        return highlighted, (f"No span of {min_len} or more characters occurs verbatim in the {title} training split.")
    rows = []
    for m in sorted(found, key=lambda m: m.end - m.start, reverse=True)[:10]:
        line, speaker = index.locate(m.train_offset)
        span = text[m.start:m.end][:60].replace("\n", "↵")
        rows.append([m.end - m.start, f"`{span}`", f"{line:,}", speaker or "—"])
    return highlighted, (f"{len(found)} span(s) of at least {min_len} characters occur verbatim in the {title} "
                         f"training split, covering {covered.mean():.0%} of the text. "
                         "Longest first:\n\n" + markdown_table(["length", "span", "training line", "speaker"], rows))


def memorised_sample_view(model: LanguageModel, prompt: str, chars: int = 1000, min_len: int = 20
                          ) -> tuple[str, list[tuple[str, str | None]], str]:
    """A fresh sample (temperature 0.8, seed 0), checked against the model's training text."""
    sample = prompt + "".join(generate(model, prompt, chars, temperature=0.8, seed=0, unknown="drop"))
    return (sample, *memorised_view(model, sample, min_len))
