"""The ladder's model: the lecture's GPT with each idea behind a switch, so that the Learn
tab can train it one idea at a time (see `gpt.ladder` for the rungs).

    mixing="average"    every position averages itself and its past (tril / T)
    mixing="attention"  learned causal self-attention with `n_head` heads
    feed_forward        a GPT feed-forward layer after the mixing
    residual            add each sub-layer onto a residual stream instead of replacing it
    layer_norm          LayerNorm before each sub-layer and the head
    n_layer, dropout    depth and regularisation
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .errors import UsageError
from .language_model import LanguageModel, check_sizes
from .model import CausalSelfAttention, FeedForward, GPTConfig


@dataclass
class LadderConfig:
    vocab_size: int
    block_size: int = 64
    n_embd: int = 64
    mixing: str = "average"      # "average" (uniform over the past) or "attention" (learned)
    n_head: int = 1
    n_layer: int = 1
    feed_forward: bool = False
    residual: bool = False
    layer_norm: bool = False
    dropout: float = 0.0

    def __post_init__(self):
        check_sizes(self, "vocab_size", "block_size", "n_embd", "n_head", "n_layer")
        if self.mixing not in ("average", "attention"):
            raise UsageError(f"mixing must be 'average' or 'attention', not {self.mixing!r}")

    def attention_config(self) -> GPTConfig:
        """The same sizes in the GPT's terms, to build its attention and feed-forward layers."""
        return GPTConfig(self.vocab_size, self.block_size, self.n_layer, self.n_head, self.n_embd, self.dropout)


class CausalAverage(nn.Module):
    """The "mathematical trick": each position becomes the mean of itself and its past."""

    def forward(self, x: torch.Tensor, return_weights: bool = False):
        B, T, _ = x.shape
        weights = torch.tril(torch.ones(T, T, device=x.device))
        weights = weights / weights.sum(1, keepdim=True)          # (T, T), row t: 1/(t+1) up to t
        return weights @ x, weights.expand(B, 1, T, T) if return_weights else None


class LadderBlock(nn.Module):
    """One block of the ladder: mix positions, then (optionally) think, each with the switches."""

    def __init__(self, config: LadderConfig):
        super().__init__()
        self.residual = config.residual
        attention_config = config.attention_config()
        self.mix = CausalSelfAttention(attention_config) if config.mixing == "attention" else CausalAverage()
        self.ffwd = FeedForward(attention_config) if config.feed_forward else None
        norm = nn.LayerNorm if config.layer_norm else lambda n: nn.Identity()
        self.ln_1, self.ln_2 = norm(config.n_embd), norm(config.n_embd)

    def forward(self, x, return_weights=False):
        mixed, weights = self.mix(self.ln_1(x), return_weights=return_weights)
        x = x + mixed if self.residual else mixed
        if self.ffwd is not None:
            thought = self.ffwd(self.ln_2(x))
            x = x + thought if self.residual else thought
        return x, weights


class LadderModel(LanguageModel):
    model_type = "ladder"
    has_attention = True      # learned weights, or the uniform average drawn as weights

    def __init__(self, config: LadderConfig):
        super().__init__()
        self.config = config
        self.token_embedding = nn.Embedding(config.vocab_size, config.n_embd)
        self.position_embedding = nn.Embedding(config.block_size, config.n_embd)
        self.layers = nn.ModuleList(LadderBlock(config) for _ in range(config.n_layer))
        self.ln_f = nn.LayerNorm(config.n_embd) if config.layer_norm else nn.Identity()
        self.head = nn.Linear(config.n_embd, config.vocab_size)
        self.drop = nn.Dropout(config.dropout)

    def _run(self, idx, return_weights):
        T = idx.size(1)
        if T > self.config.block_size:
            raise UsageError(f"{T} positions exceed the block size {self.config.block_size}")
        x = self.drop(self.token_embedding(idx) + self.position_embedding.weight[:T])   # (B, T, C)
        maps = []
        for layer in self.layers:
            x, weights = layer(x, return_weights)
            maps.append(weights)
        return self.head(self.ln_f(x)), maps                                           # (B, T, V)

    def forward(self, idx, targets=None):
        logits, _ = self._run(idx, return_weights=False)
        return logits, self.loss(logits, targets)

    def attention_maps(self, idx):
        """Each layer's mixing weights (B, n_head, T, T): learned, or the uniform average."""
        return self._run(idx, return_weights=True)
