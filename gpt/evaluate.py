"""Loss over a whole split: the honest number to compare models by."""
from __future__ import annotations

import torch

from .base import LanguageModel
from .data import IGNORE_INDEX, Dataset


@torch.inference_mode()
def split_loss(model: LanguageModel, dataset: Dataset, split: str, batch_size: int = 64,
               max_batches: int | None = None) -> float:
    """Mean cross-entropy (nats per character) over every example of `split`.

    Text corpora are cut into non-overlapping windows of the model's block size, every
    position of every window counted once; framed corpora count every framed example.
    `max_batches` limits it to a fixed leading slice (for quick, repeatable checks).
    """
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    try:
        for i, (x, y) in enumerate(dataset.iter_split(split, batch_size)):
            if max_batches is not None and i >= max_batches:
                break
            logits, _ = model(x)
            mask = y != IGNORE_INDEX
            total += torch.nn.functional.cross_entropy(
                logits[mask].float(), y[mask], reduction="sum").item()
            count += int(mask.sum())
    finally:
        model.train(was_training)
    return total / count
