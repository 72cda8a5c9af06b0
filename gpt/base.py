"""What every model in the project shares: next-character logits and their loss."""
from __future__ import annotations

from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from .data import IGNORE_INDEX
from .tokenizer import CharTokenizer


class LanguageModel(nn.Module):
    """A next-character model: `forward(idx, targets=None) -> (logits, loss)`.

    `idx` is a (B, T) tensor of token ids; `logits[b, t]` scores the character that follows
    `idx[b, :t+1]`. With `targets` (B, T), `loss` is their mean cross-entropy, skipping
    positions marked IGNORE_INDEX; without, it is None. A loaded model also carries its
    `tokenizer`, so text goes in and comes out without any other object.
    """

    model_type: ClassVar[str]

    def __init__(self):
        super().__init__()
        self.tokenizer: CharTokenizer | None = None
        self.info: dict = {}            # how it was trained: corpus, settings, measured losses
        self.history: list[dict] = []   # the training log: one record per evaluation

    @property
    def block_size(self) -> int:
        return self.config.block_size

    def num_params(self) -> int:
        """Parameters, counting a tied weight once."""
        return sum(p.numel() for p in {id(p): p for p in self.parameters()}.values())

    @staticmethod
    def loss(logits: torch.Tensor, targets: torch.Tensor | None) -> torch.Tensor | None:
        if targets is None:
            return None
        return F.cross_entropy(logits.reshape(-1, logits.size(-1)).float(), targets.reshape(-1),
                               ignore_index=IGNORE_INDEX)
