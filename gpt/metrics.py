"""Numbers to compare models by: the loss over a whole split, and the counting bigram that
every model with more than one character of context must beat."""
from __future__ import annotations

from typing import Callable

import torch

from .data import IGNORE_INDEX, Dataset
from .language_model import LanguageModel


@torch.inference_mode()
def split_loss(model: LanguageModel, dataset: Dataset, split: str, batch_size: int = 64,
               max_batches: int | None = None, progress: Callable[[int], None] | None = None) -> float:
    """Mean cross-entropy (nats per character) over every example of `split`.

    Running text is cut into non-overlapping windows of the dataset's block size, every
    position of every window counted once; framed corpora count every framed example.
    `max_batches` limits it to a fixed leading slice (for quick, repeatable checks);
    `progress` is told the characters scored so far after each batch.
    """
    was_training = model.training
    model.eval()
    device = model.device
    total = torch.zeros((), dtype=torch.float64, device=device)
    count = 0
    try:
        for i, (x, y) in enumerate(dataset.iter_split(split, batch_size)):
            if max_batches is not None and i >= max_batches:
                break
            x, y = x.to(device), y.to(device)
            logits, _ = model(x)
            mask = y != IGNORE_INDEX
            total += torch.nn.functional.cross_entropy(logits[mask].float(), y[mask], reduction="sum")
            count += int(mask.sum())
            if progress is not None:
                progress(count)
    finally:
        model.train(was_training)
    return float(total) / count


def bigram_counts(dataset: Dataset, splits: tuple[str, ...] = ("train",)) -> torch.Tensor:
    """(V, V) counts: how often character j follows character i in the given splits.

    On makemore's names (framed, newline = '.') this is the lecture's count matrix N."""
    V = dataset.tokenizer.vocab_size
    counts = torch.zeros(V * V, dtype=torch.long)
    for split in splits:
        prev, nxt = dataset.bigram_pairs(split)
        counts += torch.bincount(prev * V + nxt, minlength=V * V)
    return counts.view(V, V)


def counted_bigram_loss(dataset: Dataset, smoothing: float = 1.0) -> float:
    """Val loss of the lecture's counting bigram: P(next | current) from train counts, +1 smoothed.

    Near the best any one-character-context model can do: the reference line every model
    with more context must beat (about 2.45 on Tiny Shakespeare). Only the pairs that occur
    are counted, so a vocabulary of thousands of characters costs no V x V table.
    """
    V = dataset.tokenizer.vocab_size
    prev, nxt = dataset.bigram_pairs("train")
    seen, seen_counts = torch.unique(prev * V + nxt, return_counts=True)    # sorted pair ids
    row_totals = torch.bincount(prev, minlength=V).double() + smoothing * V
    prev, nxt = dataset.bigram_pairs("val")
    pairs = prev * V + nxt
    at = torch.searchsorted(seen, pairs).clamp(max=len(seen) - 1)
    counts = torch.where(seen[at] == pairs, seen_counts[at], 0).double() + smoothing
    return float(-(counts / row_totals[prev]).log().mean())
