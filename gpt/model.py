"""The GPT of the lecture and of nanoGPT, for characters, with a KV cache for decoding.

A stack of pre-LayerNorm transformer blocks: each block lets every position gather
information from the positions before it (causal multi-head self-attention), then
thinks about it alone (a feed-forward layer), both added onto a residual stream.
"""
from __future__ import annotations

import contextlib
import contextvars
import math
from dataclasses import dataclass
from typing import Callable, Iterator, Mapping

import torch
import torch.nn.functional as F
from torch import nn

from .errors import UsageError
from .language_model import LanguageModel, check_sizes


@dataclass
class GPTConfig:
    vocab_size: int
    block_size: int = 256
    n_layer: int = 6
    n_head: int = 6
    n_embd: int = 192
    dropout: float = 0.1
    bias: bool = False          # biases in Linear and LayerNorm; nanoGPT finds them unnecessary
    tie_weights: bool = True    # the output head reuses the token embedding matrix

    def __post_init__(self):
        check_sizes(self, "vocab_size", "block_size", "n_layer", "n_head", "n_embd")
        if not 0 <= self.dropout < 1:
            raise UsageError(f"dropout must be in [0, 1), not {self.dropout}")
        if self.n_embd % self.n_head:
            raise UsageError(f"n_embd={self.n_embd} must be a multiple of n_head={self.n_head}")


HeadEdit = Callable[[torch.Tensor], torch.Tensor]
"""Takes every head's output (B, n_head, T, head_size) and returns what the layer uses instead."""

_HEAD_EDITS: contextvars.ContextVar[Mapping[nn.Module, HeadEdit]] = contextvars.ContextVar("head_edits", default={})


@contextlib.contextmanager
def editing_heads(edits: Mapping[nn.Module, HeadEdit]) -> Iterator[None]:
    """Within the context, each `HeadOutputs` module in `edits` passes its heads through its
    edit; everywhere else, and in every other thread or task, the model is untouched.

    This is how the lab removes heads without changing a model that other requests are using
    at the same moment: the edit belongs to the calling context (a `contextvars` value), not to
    the model, so nothing registered on a shared module can leak into someone else's pass."""
    previous = _HEAD_EDITS.get()
    _HEAD_EDITS.set({**previous, **edits})
    try:
        yield
    finally:
        _HEAD_EDITS.set(previous)     # set, not reset(token): safe even if resumed in a copied context


StreamEdit = Callable[[torch.Tensor], torch.Tensor]
"""Takes the residual stream after a block (B, T, C) and returns what the next block reads instead."""

_STREAM_EDITS: contextvars.ContextVar[Mapping[int, StreamEdit]] = contextvars.ContextVar("stream_edits", default={})


@contextlib.contextmanager
def editing_stream(edits: Mapping[int, StreamEdit]) -> Iterator[None]:
    """Within the context, the residual stream after block `layer` passes through
    `edits[layer]` in the calling context's forward passes (a sparse autoencoder's
    reconstruction spliced in, a feature added for steering); the model is untouched."""
    previous = _STREAM_EDITS.get()
    _STREAM_EDITS.set({**previous, **edits})
    try:
        yield
    finally:
        _STREAM_EDITS.set(previous)


def model_edited() -> bool:
    """Whether the calling context edits any head or the stream (a fast decoding path that
    knows nothing of edits must then step aside)."""
    return bool(_HEAD_EDITS.get()) or bool(_STREAM_EDITS.get())


class HeadOutputs(nn.Module):
    """The point where every head's output (B, n_head, T, head_size) is seen before the heads
    are joined: the identity, unless the calling context edits it (`editing_heads`)."""

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        edit = _HEAD_EDITS.get().get(self)
        return y if edit is None else edit(y)


class KVCache:
    """Keys and values of the positions seen so far, for every layer, preallocated.

    Decoding one character then costs one position's worth of work per layer instead of
    recomputing the whole context: the new query attends to the cached keys and values.
    The cache holds at most `block_size` positions, the longest context the position
    embedding knows; `gpt.generation` decides what to do when it is full.
    """

    def __init__(self, config: GPTConfig, batch_size: int = 1, dtype: torch.dtype = torch.float32,
                 device: torch.device | str = "cpu"):
        head_size = config.n_embd // config.n_head
        shape = (config.n_layer, batch_size, config.n_head, config.block_size, head_size)
        self.keys = torch.zeros(shape, dtype=dtype, device=device)
        self.values = torch.zeros(shape, dtype=dtype, device=device)
        self.length = 0

    def store(self, layer: int, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Write this step's keys/values (B, nh, T, hs) after the cached ones; return all of
        them, (B, nh, length + T, hs)."""
        end = self.length + k.size(2)
        self.keys[layer, :, :, self.length:end] = k
        self.values[layer, :, :, self.length:end] = v
        return self.keys[layer, :, :, :end], self.values[layer, :, :, :end]

    def reset(self) -> None:
        self.length = 0

    def row_mask(self) -> torch.Tensor | None:
        """Every row holds the same positions: no mask beyond causality."""
        return None


class RowCache(KVCache):
    """A KV cache whose rows are independent texts of different lengths, for decoding many
    streams in one batch: each `decode_rows` step appends one position to every active row.

    Rows 0..active-1 are in use; a row is filled from a one-row `KVCache` (`load_row`) and
    freed by moving the last active row into its place (`drop_row`), so the active rows
    always form one dense batch."""

    def __init__(self, config: GPTConfig, capacity: int, dtype: torch.dtype = torch.float32,
                 device: torch.device | str = "cpu"):
        super().__init__(config, capacity, dtype, device)
        self.lengths = torch.zeros(capacity, dtype=torch.long, device=device)
        self.active = 0
        self._step: tuple | None = None       # (rows, positions, visible length, mask) of the step under way

    def begin_step(self) -> None:
        """Before a step's layers: where each active row writes, and what it may see, found
        once for all layers."""
        at = self.lengths[:self.active]
        end = int(at.max()) + 1
        self._step = (torch.arange(self.active, device=at.device), at, end,
                      (torch.arange(end, device=at.device) <= at[:, None])[:, None, None, :])

    def store(self, layer, k, v):
        """This step's keys/values (active, nh, 1, hs), each row at its own next position."""
        rows, at, end, _ = self._step
        self.keys[layer, rows, :, at] = k[:, :, 0]
        self.values[layer, rows, :, at] = v[:, :, 0]
        return self.keys[layer, :self.active, :, :end], self.values[layer, :self.active, :, :end]

    def row_mask(self) -> torch.Tensor:
        """(active, 1, 1, S): a row sees its own positions up to the one just written."""
        return self._step[3]

    def load_row(self, row: int, single: KVCache) -> None:
        n = single.length
        self.keys[:, row, :, :n] = single.keys[:, 0, :, :n]
        self.values[:, row, :, :n] = single.values[:, 0, :, :n]
        self.lengths[row] = n

    def drop_row(self, row: int) -> None:
        last = self.active - 1
        if row != last:
            self.keys[:, row] = self.keys[:, last]
            self.values[:, row] = self.values[:, last]
            self.lengths[row] = self.lengths[last]
        self.active -= 1


class CausalSelfAttention(nn.Module):
    """Multi-head attention in which position t may only look at positions <= t.

    `heads` sees every head's output before the heads are joined and projected: within
    `editing_heads({attn.heads: fn})`, `fn` reads or replaces that (B, n_head, T, head_size)
    tensor, e.g. to knock a head out, for the calling thread's passes only.
    """

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.n_head = config.n_head
        self.dropout = config.dropout
        self.qkv = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)
        self.heads = HeadOutputs()
        self.proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        self.resid_dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor, cache: KVCache | None = None, layer: int = 0,
                return_weights: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
        B, T, C = x.shape                        # batch, new positions, channels (n_embd)
        nh, hs = self.n_head, C // self.n_head   # heads, head size
        # one matmul makes the queries, keys and values of every head: (B, T, 3 * C) ->
        q, k, v = self.qkv(x).view(B, T, 3, nh, hs).permute(2, 0, 3, 1, 4)   # each (B, nh, T, hs)
        rows = None
        if cache is not None:
            k, v = cache.store(layer, k, v)      # (B, nh, S, hs), S = cached + T positions
            rows = cache.row_mask()              # rows of different lengths: (B, 1, 1, S), else None
        past = k.size(2) - T                     # cached positions before this chunk's first query
        dropout = self.dropout if self.training else 0.0
        weights = None
        if return_weights:
            # The explicit form of what scaled_dot_product_attention computes, to look at.
            scores = (q @ k.transpose(-2, -1)) / math.sqrt(hs)                 # (B, nh, T, S)
            visible = torch.ones(T, k.size(2), dtype=torch.bool, device=x.device).tril(past)
            weights = scores.masked_fill(~visible, float("-inf")).softmax(dim=-1)   # rows sum to 1
            y = F.dropout(weights, dropout, self.training) @ v                # (B, nh, T, hs)
        elif rows is not None:
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=rows, dropout_p=dropout)
        elif past == 0:
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=dropout, is_causal=True)
        elif T == 1:
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=dropout)  # sees the whole past
        else:
            visible = torch.ones(T, k.size(2), dtype=torch.bool, device=x.device).tril(past)
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=visible, dropout_p=dropout)
        y = self.heads(y)                                    # (B, nh, T, hs), the edit point
        y = y.transpose(1, 2).reshape(B, T, C)               # heads side by side: (B, T, nh * hs)
        return self.resid_dropout(self.proj(y)), weights


class FeedForward(nn.Module):
    """Each position alone: widen 4x, GELU (a module, so hooks can watch it), narrow back."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.up = nn.Linear(config.n_embd, 4 * config.n_embd, bias=config.bias)
        self.act = nn.GELU()
        self.down = nn.Linear(4 * config.n_embd, config.n_embd, bias=config.bias)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.down(self.act(self.up(x))))   # (B, T, C) -> (B, T, 4C) -> (B, T, C)


class Block(nn.Module):
    """x + attention(LN(x)), then x + feed_forward(LN(x)): communicate, then compute."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.mlp = FeedForward(config)

    def forward(self, x, cache=None, layer=0, return_weights=False):
        attended, weights = self.attn(self.ln_1(x), cache, layer, return_weights)
        x = x + attended
        return x + self.mlp(self.ln_2(x)), weights


class GPT(LanguageModel):
    model_type = "gpt"
    has_attention = True
    has_heads = True

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.config = config
        self.token_embedding = nn.Embedding(config.vocab_size, config.n_embd)
        self.position_embedding = nn.Embedding(config.block_size, config.n_embd)
        self.dropout = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layer))
        self.ln_f = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        if config.tie_weights:
            self.head.weight = self.token_embedding.weight
        self.apply(self._init_weights)
        # GPT-2's scaled init: each residual branch's output projection is shrunk so the
        # residual stream's variance does not grow with depth.
        for name, p in self.named_parameters():
            if name.endswith(("proj.weight", "down.weight")):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layer))

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None,
                cache: KVCache | None = None):
        """Logits (B, T, V) for every position of `idx` (B, T); with a cache, `idx` continues
        the cached text."""
        logits, _ = self._run(idx, cache, return_weights=False)
        return logits, self.loss(logits, targets)

    def attention_maps(self, idx: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Logits and each layer's attention weights (B, n_head, T, T), rows summing to 1."""
        return self._run(idx, None, return_weights=True)

    # The forward pass in three parts, for looking inside (the logit lens reads the residual
    # stream between blocks through `unembed`):
    #     x = model.embed(idx); for block in model.blocks: x, _ = block(x); model.unembed(x)

    def embed(self, idx: torch.Tensor, start: int = 0) -> torch.Tensor:
        """The residual stream's start: token plus position embeddings, (B, T) -> (B, T, C).
        `start` is the position of idx[:, 0] (the cache length when decoding)."""
        T = idx.size(1)
        if start + T > self.config.block_size:
            raise UsageError(f"{start + T} positions exceed the block size {self.config.block_size}")
        return self.dropout(self.token_embedding(idx) + self.position_embedding.weight[start:start + T])

    def unembed(self, x: torch.Tensor) -> torch.Tensor:
        """Next-character logits read from a residual stream: (B, T, C) -> (B, T, V)."""
        return self.head(self.ln_f(x))

    def _run(self, idx, cache, return_weights):
        x = self.embed(idx, cache.length if cache is not None else 0)
        maps = []
        edits = _STREAM_EDITS.get()
        for layer, block in enumerate(self.blocks):
            x, weights = block(x, cache, layer, return_weights)
            if layer in edits:
                x = edits[layer](x)
            maps.append(weights)
        if cache is not None:
            cache.length += idx.size(1)
        return self.unembed(x), maps

    def decode_rows(self, tokens: torch.Tensor, cache: RowCache) -> torch.Tensor:
        """One step for every active row of a RowCache: `tokens` (active,) continue each
        row's own text; returns the next-character logits (active, V)."""
        at = cache.lengths[:cache.active]
        if int(at.max()) >= self.config.block_size:
            raise UsageError(f"a row is full: {self.config.block_size} positions is the block size")
        x = self.token_embedding(tokens)[:, None] + self.position_embedding(at)[:, None]   # (active, 1, C)
        cache.begin_step()
        edits = _STREAM_EDITS.get()
        for layer, block in enumerate(self.blocks):
            x, _ = block(x, cache, layer)
            if layer in edits:
                x = edits[layer](x)
        cache.lengths[:cache.active] += 1
        return self.unembed(x)[:, 0]

    def new_cache(self, batch_size: int = 1) -> KVCache:
        p = self.token_embedding.weight
        return KVCache(self.config, batch_size, dtype=p.dtype, device=p.device)
