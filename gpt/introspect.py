"""Looking inside a model: its attention weights over a text."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .errors import UsageError
from .language_model import LanguageModel

MAX_ATTENTION_CHARS = 128


@dataclass
class AttentionMaps:
    chars: list[str]           # the characters on both axes
    start: int                 # position of chars[0] in the text they were cut from
    maps: list[np.ndarray]     # one (n_head, T, T) array per layer


@torch.inference_mode()
def attention_maps(model: LanguageModel, text: str, max_chars: int = MAX_ATTENTION_CHARS) -> AttentionMaps:
    """The attention weights of every layer and head over the last `max_chars` characters
    of `text`, computed with the context the model really had: up to a full block of the
    text before them. Rows over the visible characters therefore need not sum to 1: the
    rest of a row's weight went to earlier characters, out of view."""
    if not model.has_attention:
        raise UsageError(f"{model.kind} model has no attention: it {model.no_attention_reason}")
    chars = list(model.tokenizer.clean(text, unknown="drop"))
    if not chars:
        raise UsageError("there is no text to look at")
    context_start = max(0, len(chars) - model.block_size)
    shown = min(max_chars, len(chars) - context_start)
    idx = torch.tensor([model.tokenizer.encode("".join(chars[context_start:]))], device=model.device)
    was_training = model.training
    model.eval()
    try:
        _, maps = model.attention_maps(idx)
    finally:
        model.train(was_training)
    return AttentionMaps(chars[-shown:], len(chars) - shown,
                         [m[0, :, -shown:, -shown:].float().cpu().numpy() for m in maps])
