"""Looking inside a model: its attention weights over a text."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .language_model import LanguageModel

MAX_ATTENTION_CHARS = 128


@dataclass
class AttentionMaps:
    chars: list[str]           # the characters on both axes
    start: int                 # position of chars[0] in the text they were cut from
    maps: list[np.ndarray]     # one (n_head, T, T) array per layer


@torch.inference_mode()
def attention_maps(model: LanguageModel, text: str, max_chars: int = MAX_ATTENTION_CHARS) -> AttentionMaps:
    """The attention weights of every layer and head while reading the end of `text`.

    We read the last `min(max_chars, block_size)` characters in one forward pass: the same
    computation that produced each of those characters' predictions when the window starts
    at the beginning of a fresh context (the KV cache gives identical results; tested).
    """
    if not model.has_attention:
        raise ValueError(f"a {model.model_type} model has no attention: it {model.no_attention_reason}")
    chars = list(model.tokenizer.clean(text, unknown="drop"))
    window = min(max_chars, model.block_size)
    start = max(0, len(chars) - window)
    chars = chars[start:]
    if not chars:
        raise ValueError("there is no text to look at")
    idx = torch.tensor([model.tokenizer.encode("".join(chars))], device=model.device)
    was_training = model.training
    model.eval()
    try:
        _, maps = model.attention_maps(idx)
    finally:
        model.train(was_training)
    return AttentionMaps(chars, start, [m[0].float().cpu().numpy() for m in maps])
