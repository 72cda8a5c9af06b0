"""The Learn tab: the ladder from bigram to GPT, the lecture's worked examples, makemore.

Everything is computed once, on the first visit to the tab (`learn_views`)."""
from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import plotly.graph_objects as go
import torch

from gpt import lecture, plots
from gpt.report import markdown_table
from gpt.data import Corpus, CorpusUnavailableError
from gpt.generation import SamplingSettings, sample_ids
from gpt.ladder import RUNGS
from gpt.language_model import LanguageModel
from gpt.metrics import bigram_counts

from .errors import InputError
from .zoo import ModelZoo


@dataclass
class RungResult:
    number: int
    title: str
    params: int
    val_loss: float
    lecture_val: float | None
    note: str
    sample: str
    name: str


def ladder_results(zoo: ModelZoo) -> list[RungResult]:
    """Every shipped rung of the ladder (checkpoints/ladder/*), in order: the text comes
    from the curriculum (gpt.ladder), the numbers from the shipped runs."""
    specs = {rung.number: rung for rung in RUNGS}
    results = []
    for name in zoo.names():
        model = zoo.get(name) if name.startswith("ladder/") else None
        if model is None or model.run.ladder_rung not in specs:
            continue
        spec = specs[model.run.ladder_rung]
        results.append(RungResult(spec.number, spec.title, model.num_params(), model.run.evaluation.val_loss,
                                  spec.lecture_val, spec.note, model.run.sample or "", name))
    return sorted(results, key=lambda r: r.number)


@dataclass
class MakemoreViews:
    chars: list[str]
    counts: np.ndarray            # makemore part 1's count matrix, over every name
    neural_probs: np.ndarray      # softmax of the trained neural bigram's table
    embedding: np.ndarray | None  # (27, 2) of the 2-D MLP
    names: list[str]              # samples from the 2-D MLP
    bigram_val: float
    mlp2d_val: float | None
    mlp_val: float | None


def makemore_views(zoo: ModelZoo, samples: int = 12) -> MakemoreViews:
    bigram = zoo.get("names-bigram")
    try:
        names = Corpus.load("names")
    except CorpusUnavailableError as e:
        raise InputError(str(e)) from None
    counts = bigram_counts(bigram.dataset_for(names), ("train", "val")).numpy()
    # the count matrix uses '.' for start/end, the model uses '\n' (index 0 in both)
    chars = ["."] + bigram.tokenizer.chars[1:]
    neural = torch.softmax(bigram.logits_table.weight.detach().float().cpu(), -1).numpy()
    embedding, new_names, mlp2d_val = None, [], None
    if "names-mlp-2d" in zoo.sources:
        mlp2d = zoo.get("names-mlp-2d")
        embedding = mlp2d.embedding.weight.detach().float().cpu().numpy()
        text = "".join(sample_text(mlp2d, samples * 12))
        new_names = [n for n in text.split("\n") if n][:samples]
        mlp2d_val = mlp2d.run.evaluation.val_loss
    mlp_val = zoo.get("names-mlp").run.evaluation.val_loss if "names-mlp" in zoo.sources else None
    return MakemoreViews(chars, counts, neural, embedding, new_names, bigram.run.evaluation.val_loss,
                         mlp2d_val, mlp_val)


def sample_text(model: LanguageModel, n: int, seed: int = 0) -> list[str]:
    steps = sample_ids(model, [], n, SamplingSettings(temperature=1.0), seed=seed)
    return [model.tokenizer.chars[s.token] for s in steps]


@dataclass
class LearnViews:
    ladder_plot: go.Figure | None
    ladder_table: str
    ladder_samples: str
    trick_plots: list[go.Figure]
    trick_table: str
    trick_checks: str
    scaling_note: str
    scaling_plot: go.Figure
    counts_plot: go.Figure | None
    neural_plot: go.Figure | None
    embedding_plot: go.Figure | None
    makemore_note: str


@cache
def learn_views(zoo: ModelZoo) -> LearnViews:
    """The Learn tab's figures and tables."""
    rungs = ladder_results(zoo)
    ladder_plot = plots.ladder_figure([f"{r.number} {r.name.split('-', 1)[-1]}" for r in rungs],
                                      [r.val_loss for r in rungs], [r.lecture_val for r in rungs],
                                      [f"{r.number}. {r.title}" for r in rungs]) if rungs else None
    ladder_table = markdown_table(
        ["#", "what changes", "weights", "val", "lecture", "why ours differ"],
        [[r.number, r.title, f"{r.params:,}", f"{r.val_loss:.3f}", f"{r.lecture_val:.2f}" if r.lecture_val else "—",
          r.note] for r in rungs])
    ladder_samples = "\n\n".join(f"**{r.number}. {r.title}**\n```text\n{r.sample[:200]}\n```" for r in rungs)

    trick = lecture.averaging_trick()
    trick_plots = [plots.matrix_figure(trick.weights_tril.numpy(), "v2: tril / row sums"),
                   plots.matrix_figure(trick.weights_softmax.numpy(), "v3: softmax of masked zeros"),
                   plots.matrix_figure(trick.weights_attention.numpy(), "v4: softmax of masked q·kᵀ / √16")]
    rows = [[t, *(f"{v:+.3f}" for v in trick.x[t].tolist()), *(f"{v:+.3f}" for v in trick.xbow_loop[t].tolist()),
             *(f"{v:+.3f}" for v in trick.xbow_matmul[t].tolist())] for t in range(trick.x.size(0))]
    trick_table = markdown_table(
        ["t", "x[t,0]", "x[t,1]", "v1 mean[0]", "v1 mean[1]", "v2 mean[0]", "v2 mean[1]"], rows)
    trick_checks = "  \n".join(f"`torch.allclose` {name}: **{ok}**" for name, ok in trick.checks.items())

    scaling = lecture.scaling_demo()
    scaling_note = (f"With unit-variance q and k and head size {scaling.head_size}, the raw scores q·kᵀ have "
                    f"variance **{scaling.var_unscaled:.1f}**; divided by √{scaling.head_size} it is "
                    f"**{scaling.var_scaled:.2f}**. "
                    f"The largest softmax weight of a row averages **{scaling.mean_max_unscaled:.2f}** unscaled "
                    f"against **{scaling.mean_max_scaled:.2f}** scaled: unscaled, each query listens to one key.")
    scaling_plot = plots.softmax_rows_figure(scaling.softmax_unscaled.numpy(), scaling.softmax_scaled.numpy(),
                                             scaling.head_size)
    views = LearnViews(ladder_plot, ladder_table, ladder_samples, trick_plots, trick_table, trick_checks,
                       scaling_note, scaling_plot, None, None, None, "")
    try:
        mm = makemore_views(zoo)
    except InputError as e:
        views.makemore_note = f"makemore checkpoints missing: {e}"
        return views
    # the lecture's point: counting and gradient descent reach the same table. Both drawn as
    # P(next | current) on one colour scale (raw counts beside probabilities looked different: q→u)
    counted = bigram_probabilities(mm.counts)
    agreement = table_agreement(counted, mm.neural_probs, mm.chars, mm.counts.sum(1))
    top = float(max(counted.max(), mm.neural_probs.max()))
    views.counts_plot = plots.count_matrix_figure(counted, mm.chars, "counted: P(next | current) = N[a, b] / N[a].sum()",
                                                  text_format=".2f", zmax=top, scale_title="P")
    views.neural_plot = plots.count_matrix_figure(mm.neural_probs, mm.chars,
                                                  "learned: the neural bigram's softmax(W)[a, b]", text_format=".2f",
                                                  zmax=top, scale_title="P")
    views.embedding_plot = (plots.embedding_figure(mm.chars, mm.embedding, "the MLP's 2-D character embeddings")
                            if mm.embedding is not None else None)
    views.makemore_note = (
        f"Val loss on held-out names: counting/neural bigram **{mm.bigram_val:.3f}** (lecture ≈ 2.45), "
        + (f"MLP with 2-D embeddings **{mm.mlp2d_val:.3f}**, " if mm.mlp2d_val else "")
        + (f"MLP with 10-D embeddings **{mm.mlp_val:.3f}** (lecture ≈ 2.17). " if mm.mlp_val else "")
        + "New names from the 2-D MLP: " + ", ".join(mm.names) + ". " + agreement)
    return views


def bigram_probabilities(counts: np.ndarray) -> np.ndarray:
    """makemore part 1's table: each row of pair counts, plus one (the lecture's smoothing), normalised."""
    smoothed = counts.astype(np.float64) + 1
    return smoothed / smoothed.sum(1, keepdims=True)


def table_agreement(counted: np.ndarray, learned: np.ndarray, chars: list[str], row_pairs: np.ndarray) -> str:
    """How closely the learned table matches the counted one (`bigram_probabilities`), in words with
    the numbers; `row_pairs` is how many pairs each row of counts holds."""
    gap = np.abs(counted - learned)
    i, j = np.unravel_index(int(gap.argmax()), gap.shape)
    return (f"**The two tables agree**: on average a cell differs by {gap.mean():.4f}. The largest difference, "
            f"{gap.max():.3f}, is {chars[i]!r} then {chars[j]!r} (counted {counted[i, j]:.3f}, learned "
            f"{learned[i, j]:.3f}): the {chars[i]!r} row rests on only {int(row_pairs[i]):,} pairs, so the +1 "
            "added to every count, and the network having seen the training names alone, move it most.")
