"""Looking inside a model: its attention weights over a text, and its next-character odds."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .base import LanguageModel
from .data import Dataset

MAX_ATTENTION_CHARS = 128


@dataclass
class AttentionMaps:
    chars: list[str]           # the characters on both axes
    start: int                 # position of chars[0] in the text they were cut from
    maps: list[np.ndarray]     # one (n_head, T, T) array per layer


def has_attention(model: LanguageModel) -> bool:
    """GPTs and the ladder's rungs from the causal average on mix positions with weights."""
    return hasattr(model, "attention_maps")


@torch.inference_mode()
def attention_maps(model: LanguageModel, text: str, max_chars: int = MAX_ATTENTION_CHARS) -> AttentionMaps:
    """The attention weights of every layer and head while reading the end of `text`.

    We read the last `min(max_chars, block_size)` characters in one forward pass: the same
    computation that produced each of those characters' predictions when the window starts
    at the beginning of a fresh context (the KV cache gives identical results; tested).
    """
    if not has_attention(model):
        raise ValueError(f"a {model.model_type} model has no attention")
    chars = list(model.tokenizer.clean(text, unknown="drop"))
    window = min(max_chars, model.block_size)
    start = max(0, len(chars) - window)
    chars = chars[start:]
    if not chars:
        raise ValueError("there is no text to look at")
    idx = torch.tensor([model.tokenizer.encode("".join(chars))])
    was_training = model.training
    model.eval()
    try:
        _, maps = model.attention_maps(idx)
    finally:
        model.train(was_training)
    return AttentionMaps(chars, start, [m[0].float().numpy() for m in maps])


def bigram_pairs(dataset: Dataset, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Every (current character, next character) pair of a split."""
    data = dataset.splits[split]
    if dataset.corpus.line_framed:
        contexts, nexts = data
        return contexts[:, -1], nexts
    return data[:-1], data[1:]


def counted_bigram_loss(dataset: Dataset, smoothing: float = 1.0) -> float:
    """Val loss of the lecture's counting bigram: P(next | current) from train counts, +1 smoothed.

    Near the best any one-character-context model can do: the reference line every model
    with more context must beat (about 2.45 on Tiny Shakespeare).
    """
    V = dataset.tokenizer.vocab_size
    prev, nxt = bigram_pairs(dataset, "train")
    counts = torch.bincount(prev * V + nxt, minlength=V * V).view(V, V).double() + smoothing
    log_probs = (counts / counts.sum(1, keepdim=True)).log()
    prev, nxt = bigram_pairs(dataset, "val")
    return float(-log_probs[prev, nxt].mean())
