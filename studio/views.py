"""The figures and notes of the Generate, Attention and Loss tabs."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import torch

from gpt import plots
from gpt.introspect import attention_maps
from gpt.language_model import LanguageModel

from .errors import InputError
from .generation import GenerationRecord


def next_char_view(record: GenerationRecord | None, position: int) -> go.Figure | None:
    """The distributions at one step (1-based) of a generation."""
    if record is None or record.steps == 0:
        return None
    i = int(min(max(position, 1), record.steps)) - 1
    context = record.text[max(0, record.prompt_chars + i - 20):record.prompt_chars + i]
    return plots.next_char_figure(record.vocab, record.sampled_from[i], record.model_probs[i],
                                  picked=record.generated[i], title=f"Step {i + 1}, after “{plots.show_text(context)}”")


AVERAGE = "average of heads"
LOOK_FOR = ("What to look for: a bright diagonal is a head reading the current character; a stripe just left of "
            "it reads the previous one; bright columns under spaces, newlines or a speaker's name gather what a "
            "word or line started with.")


def head_options(n_head: int) -> list[str]:
    """The choices of the "which head" control: the heads' average, then each head."""
    return [AVERAGE] + [f"head {h}" for h in range(n_head)]


def pick_head(weights: np.ndarray, head: str | None, layer: int) -> tuple[np.ndarray, str]:
    """One head's map from a layer's (n_head, T, T) weights, or their average; and its name."""
    if head == AVERAGE or head in (None, ""):
        return weights.mean(0), AVERAGE
    h = int(str(head).split()[-1])
    if not 0 <= h < weights.shape[0]:
        raise InputError(f"There is no head {h}: layer {layer} has heads 0 to {weights.shape[0] - 1}.")
    return weights[h], f"head {h}"


def attention_shape(model: LanguageModel) -> tuple[int, int] | None:
    """(layers, heads) of a model that has attention, for the controls; None otherwise."""
    if not model.has_attention:
        return None
    _, maps = model.attention_maps(torch.zeros(1, 1, dtype=torch.long, device=model.device))
    return len(maps), maps[0].shape[1]


THINNED_LABELS = 48
"""Characters beyond which plotly labels only some of the axes' characters (on a laptop screen)."""


def attention_in_words(chars: list[str], weights: np.ndarray, title: str, top: int = 3) -> str:
    """The large map as text: for each query character (a row), the keys it reads most, with their
    weights. What a screen reader reads, and what an assistant gets instead of a figure's JSON."""
    lines = [f"**{title}**, row by row: each character, then the characters it reads most (weight)."]
    for i, row in enumerate(np.asarray(weights, dtype=np.float64)):
        order = np.argsort(-row[:i + 1], kind="stable")[:top]
        read = ", ".join(f"`{plots.show_char(chars[j])}` {row[j]:.2f}" for j in order if row[j] >= 0.005)
        lines.append(f"{i + 1}. `{plots.show_char(chars[i])}` reads {read or 'nothing above 0.005'}")
    return "\n".join(lines)


def attention_view(model: LanguageModel, text: str, layer: int, n_chars: int, source: str,
                   head: str = AVERAGE) -> tuple[go.Figure | None, go.Figure | None, str, str]:
    """One head (or the heads' average) of one layer large, every head of it small, a note, and the
    large map in words (`attention_in_words`; empty for a model without attention)."""
    if not model.has_attention:
        kind = model.kind[0].upper() + model.kind[1:]
        return None, None, (f"**{kind} model has no attention**: it {model.no_attention_reason}. "
                            "Pick a GPT to see attention."), ""
    maps = attention_maps(model, text, int(n_chars))
    n_layer, n_head = len(maps.maps), maps.maps[0].shape[0]
    layer = int(min(max(layer, 0), n_layer - 1))
    weights = maps.maps[layer]
    enlarged, which = pick_head(weights, head, layer)
    title = f"Layer {layer}, {which}"
    figure = plots.attention_figure(maps.chars, enlarged, title, maps.start)
    grid = plots.attention_grid_figure(weights, layer)
    heads = "1 head" if n_head == 1 else f"{n_head} heads"
    context = "" if maps.start == 0 else (f" Each row was computed with up to {model.block_size} characters of "
                                          "context before it, so its visible weights can sum to less than 1.")
    thinned = (" At this length the axes label only every few characters where they do not fit; hover over a "
               "cell for its characters." if len(maps.chars) > THINNED_LABELS else "")
    note = (f"Layer {layer} (layers 0 to {n_layer - 1}), {heads}: the last {len(maps.chars)} characters "
            f"of {source}. A row is one character's query; it reads only itself and earlier "
            f"characters, so everything above the diagonal is zero.{context}{thinned} {LOOK_FOR}")
    return figure, grid, note, attention_in_words(maps.chars, enlarged, title)


def curves_in_words(history: list[dict]) -> str:
    """The loss curves' numbers for a reader who cannot see them: where the val curve starts, its
    best, its end, and where it turns (up, if it overfits; else the step by which 90% of its fall
    was done)."""
    steps = [h["step"] for h in history]
    val = np.array([h["val_loss"] for h in history], dtype=float)
    best = int(val.argmin())
    words = (f"In words: val loss {val[0]:.3f} at step {steps[0]:,}, best {val[best]:.3f} at step {steps[best]:,}, "
             f"{val[-1]:.3f} at the end (step {steps[-1]:,}); train {history[-1]['train_loss']:.3f} at the end.")
    if val[-1] - val[best] > 0.01:
        return words + f" The val curve turns up after step {steps[best]:,}: the model starts to overfit."
    fall = val[0] - val[best]
    if fall <= 0:
        return words + " The val curve never falls."
    done = int(np.argmax(val[0] - val >= 0.9 * fall))
    return words + f" The val curve flattens: 90% of its fall was done by step {steps[done]:,}."


def loss_view(model: LanguageModel, name: str, others: list[tuple[str, LanguageModel]] = (), x: str = "step",
              log_x: bool = False, log_y: bool = False) -> tuple[go.Figure | None, str]:
    """A run's loss curves, optionally beside the val curves of other models."""
    if not model.history:
        return None, "This model has no training history."
    compared = [(other_name, other.history) for other_name, other in others if other.history and other_name != name]
    figure = plots.loss_figure(model.history, model.tokenizer.vocab_size, model.run.bigram_val_loss,
                               title=f"{name}: loss", others=compared, x=x, log_x=log_x, log_y=log_y)
    last = model.history[-1]
    whole = (f" The whole val split, measured on the shipped weights: **{model.run.evaluation.val_loss:.3f}**."
             if model.run.evaluation else "")
    return figure, (f"The curves: {len(model.history)} evaluations on a fixed random sample of the train and val "
                    f"splits; the last, at step {last['step']:,}: train {last['train_loss']:.3f}, val "
                    f"{last['val_loss']:.3f}.{whole} {curves_in_words(model.history)}")
