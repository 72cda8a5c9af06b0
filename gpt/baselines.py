"""The lecture's first two models: the bigram table and makemore's MLP (Bengio et al. 2003)."""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .language_model import POSITION_FREE_WINDOW, LanguageModel, check_sizes


class PositionFreeModel(LanguageModel):
    """Reads a fixed number of previous characters wherever they are in the text."""

    reads_any_length = True

    def training_window(self, line_framed: bool) -> int:
        return self.block_size if line_framed else max(self.block_size, POSITION_FREE_WINDOW)


@dataclass
class BigramConfig:
    vocab_size: int
    block_size: int = 1

    def __post_init__(self):
        check_sizes(self, "vocab_size", "block_size")


class Bigram(PositionFreeModel):
    """A V x V table: row i holds the logits of the character that follows character i.

    It sees one character of context, so its best possible loss is the conditional entropy
    of the next character given the current one (about 2.45 nats on Tiny Shakespeare). The
    table starts at zero, i.e. at the uniform distribution and a loss of ln(V).
    """

    model_type = "bigram"
    no_attention_reason = "looks only at the previous character, through one row of a table"

    def __init__(self, config: BigramConfig):
        super().__init__()
        self.config = config
        self.logits_table = nn.Embedding(config.vocab_size, config.vocab_size)
        nn.init.zeros_(self.logits_table.weight)

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None):
        logits = self.logits_table(idx)       # (B, T, V): row idx[b, t] of the table
        return logits, self.loss(logits, targets)


@dataclass
class MLPConfig:
    vocab_size: int
    block_size: int = 3
    n_embd: int = 10
    n_hidden: int = 200

    def __post_init__(self):
        check_sizes(self, "vocab_size", "block_size", "n_embd", "n_hidden")


class MLP(PositionFreeModel):
    """makemore part 2: embed the last `block_size` characters, concatenate, one tanh layer.

    Every position predicts from the `block_size` characters ending at it; positions near
    the start of a sequence see the missing context as token 0 (the newline, makemore's '.').
    The initialisation is makemore part 3's: tanh inputs scaled by gain 5/3 / sqrt(fan_in)
    and a near-zero output layer, so training starts near the uniform loss, not far above it.
    """

    model_type = "mlp"

    def __init__(self, config: MLPConfig):
        super().__init__()
        self.config = config
        self.embedding = nn.Embedding(config.vocab_size, config.n_embd)
        self.hidden = nn.Linear(config.block_size * config.n_embd, config.n_hidden)
        self.act = nn.Tanh()                    # a module, so diagnostics can watch it
        self.output = nn.Linear(config.n_hidden, config.vocab_size)
        with torch.no_grad():
            nn.init.normal_(self.embedding.weight)
            fan_in = self.hidden.in_features
            nn.init.normal_(self.hidden.weight, std=(5 / 3) / fan_in**0.5)
            self.hidden.bias.mul_(0.01)
            self.output.weight.mul_(0.01)
            self.output.bias.zero_()

    @property
    def no_attention_reason(self) -> str:
        return (f"concatenates the embeddings of the last {self.block_size} characters, "
                "with the same weights for a position whatever the text")

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None):
        padded = F.pad(idx, (self.config.block_size - 1, 0), value=0)
        contexts = padded.unfold(1, self.config.block_size, 1)   # (B, T, block_size)
        emb = self.embedding(contexts).flatten(2)                 # (B, T, block_size * n_embd)
        logits = self.output(self.act(self.hidden(emb)))          # (B, T, V)
        return logits, self.loss(logits, targets)
