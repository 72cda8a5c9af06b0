"""What every model in the project shares: next-character logits, their loss, and a
declaration of what the model can do, so callers ask the model instead of its type."""
from __future__ import annotations

from typing import Any, ClassVar, Protocol

import torch
import torch.nn.functional as F
from torch import nn

from .data import IGNORE_INDEX, Corpus, Dataset
from .errors import UsageError
from .records import RunRecord
from .tokenizer import CharTokenizer

POSITION_FREE_WINDOW = 64
"""Training window for models that read a fixed number of previous characters wherever they are."""


class DecodingCache(Protocol):
    """What a model keeps between decoding steps (the GPT's `KVCache`): how many positions
    it holds, and a way to start over."""

    length: int

    def reset(self) -> None: ...


class LanguageModel(nn.Module):
    """A next-character model: `forward(idx, targets=None) -> (logits, loss)`.

    `idx` is a (B, T) tensor of token ids; `logits[b, t]` scores the character that follows
    `idx[b, :t+1]`. With `targets` (B, T), `loss` is their mean cross-entropy, skipping
    positions marked IGNORE_INDEX; without, it is None. A loaded model also carries its
    `tokenizer`, what its run knows (`run`) and its training log (`history`).

    Capabilities, each answered by the model itself:
      `has_attention` / `attention_maps(idx)`    mixing weights to look at, or `no_attention_reason`
      `new_cache()`                               a KV cache for decoding, or None
      `training_window(line_framed)`              how many characters one training row holds
      `reads_any_length`                          inputs may be longer than the block (no position embedding)
      `has_heads`                                 embed / blocks[i].attn.heads / unembed for the lab
    """

    model_type: ClassVar[str]

    @property
    def kind(self) -> str:
        """The model's type with its article, for sentences: "a bigram", "an MLP", "a GPT"."""
        return {"bigram": "a bigram", "mlp": "an MLP", "gpt": "a GPT"}.get(self.model_type, f"a {self.model_type}")
    has_attention: ClassVar[bool] = False
    reads_any_length: ClassVar[bool] = False
    has_heads: ClassVar[bool] = False
    config: Any

    def __init__(self):
        super().__init__()
        self.tokenizer: CharTokenizer | None = None
        self.run = RunRecord()
        self.history: list[dict] = []   # one record per evaluation: step, losses, lr, tokens, time

    @property
    def block_size(self) -> int:
        """The longest context the model reads."""
        return self.config.block_size

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def num_params(self) -> int:
        """Parameters, counting a tied weight once."""
        return sum(p.numel() for p in {id(p): p for p in self.parameters()}.values())

    @staticmethod
    def loss(logits: torch.Tensor, targets: torch.Tensor | None) -> torch.Tensor | None:
        if targets is None:
            return None
        return F.cross_entropy(logits.reshape(-1, logits.size(-1)).float(), targets.reshape(-1),
                               ignore_index=IGNORE_INDEX)

    # --- capabilities ------------------------------------------------------------------

    @property
    def no_attention_reason(self) -> str:
        """Why there are no attention weights to show (empty for models that have them)."""
        return ""

    def attention_maps(self, idx: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Logits and each layer's attention weights (B, n_head, T, T), rows summing to 1."""
        raise UsageError(f"{self.kind} model has no attention: it {self.no_attention_reason}")

    def new_cache(self, batch_size: int = 1) -> DecodingCache | None:
        """Storage for what decoding can reuse between steps; None: recompute the window each step."""
        return None

    def training_window(self, line_framed: bool) -> int:
        """Characters per training row: the block size. Models that read a fixed number of
        previous characters anywhere (bigram, MLP) train on longer windows of running text,
        which gives more targets per row with the same meaning."""
        return self.block_size

    def dataset_for(self, corpus: Corpus) -> Dataset:
        """The corpus cut the way this model trains and is evaluated on it."""
        return corpus.dataset(self.training_window(corpus.line_framed), self.tokenizer)


def check_sizes(config, *names: str) -> None:
    """Refuse sizes that are not positive whole numbers, naming the setting (a config read from
    a file may hold anything: 0 heads would otherwise end in a ZeroDivisionError)."""
    for name in names:
        value = getattr(config, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise UsageError(f"{name} must be a whole number of at least 1, not {value!r}")
