"""Sampling text from any of the models, one character at a time, as a stream.

Each step turns the model's logits for the next character into a distribution:
divide by the temperature (0 means always take the most likely character), keep only
the `top_k` most likely characters and/or the smallest set whose probabilities add up to
`top_p`, renormalise, and draw from it with a seeded generator: the same seed and
settings give the same text.

The GPT decodes with a KV cache. Its position embedding knows `block_size` positions,
so when the cache is full we keep the last `block_size // 2` characters, re-encode them
in one pass (a "re-prefill") and continue. The context therefore always holds between
half and all of a block, and the re-prefill costs one forward pass every block_size // 2
characters. nanoGPT's `generate` instead re-runs the model on the last `block_size`
characters at every step (`use_cache=False` here): identical text within the first block,
slightly different context after it, and far slower.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import torch

from .base import LanguageModel
from .model import GPT
from .tokenizer import UnknownPolicy

MAX_TEMPERATURE = 10.0


@dataclass
class SamplingSettings:
    temperature: float = 1.0
    top_k: int | None = None
    top_p: float | None = None

    def __post_init__(self):
        if not 0 <= self.temperature <= MAX_TEMPERATURE:
            raise ValueError(f"temperature must be between 0 and {MAX_TEMPERATURE:g}, not {self.temperature}")
        if self.top_k is not None and self.top_k < 1:
            raise ValueError(f"top_k must be at least 1 (or None for no limit), not {self.top_k}")
        if self.top_p is not None and not 0 < self.top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1] (or None for no limit), not {self.top_p}")


def next_token_probs(logits: torch.Tensor, settings: SamplingSettings) -> torch.Tensor:
    """The distribution the sampler draws from, given the last position's logits (..., V)."""
    logits = logits.float()
    if settings.temperature == 0:
        return torch.nn.functional.one_hot(logits.argmax(-1), logits.size(-1)).float()
    logits = logits / settings.temperature
    if settings.top_k is not None and settings.top_k < logits.size(-1):
        kth = torch.topk(logits, settings.top_k, dim=-1).values[..., -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    probs = logits.softmax(-1)
    if settings.top_p is not None and settings.top_p < 1:
        sorted_probs, order = probs.sort(dim=-1, descending=True)
        # keep a character if the ones more likely than it add up to less than top_p
        drop_sorted = (sorted_probs.cumsum(-1) - sorted_probs) >= settings.top_p
        drop = drop_sorted.scatter(-1, order, drop_sorted)
        probs = probs.masked_fill(drop, 0.0)
        probs = probs / probs.sum(-1, keepdim=True)
    return probs


@dataclass
class Step:
    """One sampled character: its id, the distribution it was drawn from, the raw logits."""

    token: int
    probs: torch.Tensor
    logits: torch.Tensor


def sample_ids(model: LanguageModel, prompt_ids: list[int], max_new_tokens: int,
               settings: SamplingSettings, seed: int | None = None, use_cache: bool = True
               ) -> Iterator[Step]:
    """Yield `max_new_tokens` sampled steps continuing `prompt_ids` (empty: start at a newline).

    Grad and inference modes are thread-local, and a web server may resume a generator on
    another thread: so each step enters inference mode itself, never across a `yield`.
    """
    if max_new_tokens < 0:
        raise ValueError(f"max_new_tokens must be >= 0, not {max_new_tokens}")
    generator = torch.Generator()
    generator.manual_seed(seed if seed is not None else int(torch.seed() % 2**63))
    boundary = model.tokenizer.stoi.get("\n", 0) if model.tokenizer else 0
    # A model trained on framed lines (makemore's names) starts every line from a blank context.
    framed = bool(getattr(model, "info", {}).get("line_framed"))
    context = list(prompt_ids) or [boundary]
    block = model.block_size
    cache = None
    was_training = model.training
    model.eval()
    try:
        for i in range(max_new_tokens):
            with torch.inference_mode():
                if i == 0:
                    if use_cache and isinstance(model, GPT):
                        cache = model.new_cache()
                    logits = _prefill(model, context[-block:], cache)
                elif framed and context[-1] == boundary:
                    context = [boundary]
                    logits = _prefill(model, context, cache)
                elif cache is None:
                    logits = model(torch.tensor([context[-block:]]))[0][0, -1]
                elif cache.length == block:
                    logits = _prefill(model, context[-(block // 2):], cache)
                else:
                    logits = model(torch.tensor([context[-1:]]), cache=cache)[0][0, -1]
                probs = next_token_probs(logits, settings)
                if settings.temperature == 0:
                    token = int(probs.argmax())
                else:
                    token = int(torch.multinomial(probs, 1, generator=generator))
            context.append(token)
            yield Step(token, probs, logits)
    finally:
        model.train(was_training)


def _prefill(model: LanguageModel, ids: list[int], cache) -> torch.Tensor:
    idx = torch.tensor([ids])
    if cache is None:
        return model(idx)[0][0, -1]
    cache.reset()
    return model(idx, cache=cache)[0][0, -1]


def generate(model: LanguageModel, prompt: str = "", max_new_tokens: int = 500, *,
             temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None,
             seed: int | None = None, unknown: UnknownPolicy = "error", use_cache: bool = True
             ) -> Iterator[str]:
    """Stream the continuation of `prompt`, one character at a time.

    Characters of the prompt outside the model's vocabulary raise UnknownCharactersError,
    unless `unknown` is "drop" or "replace".
    """
    if model.tokenizer is None:
        raise ValueError("the model has no tokenizer; load it with gpt.load() or set model.tokenizer")
    settings = SamplingSettings(temperature, top_k, top_p)
    prompt_ids = model.tokenizer.encode(prompt, unknown=unknown)
    for step in sample_ids(model, prompt_ids, max_new_tokens, settings, seed, use_cache):
        yield model.tokenizer.chars[step.token]
