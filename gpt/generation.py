"""Sampling text from any of the models, one character at a time, as a stream.

Each step turns the model's logits for the next character into a distribution:
divide by the temperature (0 means always take the most likely character), keep only
the `top_k` most likely characters and/or the smallest set whose probabilities add up to
`top_p`, renormalise, and draw from it with a seeded generator of its own: the same seed
and settings give the same text, and the process's global random state is never touched.

A model that offers a cache (`model.new_cache()`, the GPT's KV cache) decodes with it.
Its position embedding knows `block_size` positions, so when the cache is full we keep the
last `block_size // 2` characters, re-encode them in one pass (a "re-prefill") and continue.
The context therefore always holds between half and all of a block, and the re-prefill
costs one forward pass every block_size // 2 characters. nanoGPT's `generate` instead
re-runs the model on the last `block_size` characters at every step (`use_cache=False`
here): identical text within the first block, slightly different context after it, and
far slower.

The step of one new character runs, where it can, as one ONNX Runtime call
(`gpt.onnx_decoding`, `engine="auto"`): the same math in one call instead of ~120 small
PyTorch operations, about 3× faster on a CPU. `engine="torch"` always uses the model itself.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator, Literal

import torch

from . import onnx_decoding
from .errors import UsageError
from .language_model import DecodingCache, LanguageModel
from .model import model_edited
from .tokenizer import UnknownPolicy

Engine = Literal["auto", "torch", "onnx"]
ENGINES = ("auto", "torch", "onnx")

MAX_TEMPERATURE = 2.0
"""Above 2 the distribution is close to uniform over the vocabulary: noise, not style."""
MAX_SEED = 2**63 - 1


@dataclass(frozen=True)
class SamplingSettings:
    """How to turn logits into a draw; checked on creation, with messages meant for people."""

    temperature: float = 1.0
    top_k: int | None = None      # None: no limit
    top_p: float | None = None    # None: no limit

    def __post_init__(self):
        if not 0 <= self.temperature <= MAX_TEMPERATURE:
            raise UsageError(f"The temperature must be between 0 and {MAX_TEMPERATURE:g}, not {self.temperature:g}.")
        if self.top_k is not None and self.top_k < 1:
            raise UsageError(f"Top-k must be at least 1 (or off), not {self.top_k}.")
        if self.top_p is not None and not 0 < self.top_p <= 1:
            raise UsageError(f"Top-p must be above 0 and at most 1 (or off), not {self.top_p:g}.")


def check_seed(seed: int | None) -> int | None:
    if seed is not None and not 0 <= seed <= MAX_SEED:
        raise UsageError(f"The seed must be a whole number from 0 to 2^63 - 1 (or none for a random one), not {seed}.")
    return seed


def next_token_probs(logits: torch.Tensor, settings: SamplingSettings) -> torch.Tensor:
    """The distribution the sampler draws from, given the last position's logits (..., V)."""
    logits = logits.float()
    if not bool(torch.isfinite(logits).all()) and (      # the usual case costs one check
            torch.isnan(logits).any() or torch.isposinf(logits).any() or not torch.isfinite(logits).any(-1).all()):
        raise UsageError("the model's output is not a number (NaN, or infinite): its weights are broken")
    if settings.temperature == 0:
        return torch.nn.functional.one_hot(logits.argmax(-1), logits.size(-1)).float()
    logits = scaled(logits, settings.temperature)
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


def scaled(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """logits / temperature, for any temperature above 0 however small.

    A tiny temperature would overflow the quotient to infinity (then inf - inf = NaN in the
    softmax): 1e-38 does. The quotient is then taken from the logits less their maximum, in
    float64: the top character's score is 0 and the others fall to -inf, which is exactly the
    limit (all the probability on the top character, shared between ties)."""
    out = logits / temperature
    if bool(torch.isfinite(out).all()) or (torch.isfinite(out).any(-1).all() and not torch.isposinf(out).any()):
        return out                    # the usual case: exactly the plain quotient
    shifted = (logits - logits.max(-1, keepdim=True).values).double()
    return (shifted / temperature).float()


@dataclass
class Step:
    """One sampled character: its id, the distribution it was drawn from, the raw logits
    (both on the CPU, (V,))."""

    token: int
    probs: torch.Tensor
    logits: torch.Tensor


def check_engine(model: LanguageModel, engine: Engine) -> None:
    """Refuse an unknown engine, or "onnx" where ONNX Runtime cannot decode `model`."""
    if engine not in ENGINES:
        raise UsageError(f"engine must be one of {', '.join(ENGINES)}, not {engine!r}")
    if engine == "onnx" and (reason := onnx_decoding.unavailable_reason(model)) is not None:
        raise UsageError(f"engine='onnx' cannot decode this model: {reason}")


def fast_step(model: LanguageModel, cache: DecodingCache, engine: Engine
              ) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None:
    """The faster decoding step over `cache` that `engine` asks for, or None for the model's
    own forward pass: "auto" and "onnx" take ONNX Runtime where it can run the model."""
    if engine == "torch" or onnx_decoding.unavailable_reason(model) is not None:
        return None
    return onnx_decoding.decode_step(model).bind(cache)


def sample_ids(model: LanguageModel, prompt_ids: list[int], max_new_tokens: int,
               settings: SamplingSettings, seed: int | None = None, use_cache: bool = True,
               engine: Engine = "auto") -> Iterator[Step]:
    """Yield `max_new_tokens` sampled steps continuing `prompt_ids` (empty: start at a newline).

    Grad and inference modes are thread-local, and a web server may resume a generator on
    another thread: so each step enters inference mode itself, never across a `yield`.
    """
    if max_new_tokens < 0:
        raise UsageError(f"max_new_tokens must be >= 0, not {max_new_tokens}")
    check_engine(model, engine)
    generator = torch.Generator()          # on the CPU: the same seed gives the same text on any device
    if check_seed(seed) is None:
        generator.seed()                   # fresh entropy for this generator only
    else:
        generator.manual_seed(seed)
    device = model.device
    boundary = model.tokenizer.stoi.get("\n", 0) if model.tokenizer else 0
    # A model trained on framed lines (makemore's names) starts every line from a blank context.
    framed = model.run.line_framed
    context = list(prompt_ids) or [boundary]
    block = model.block_size
    cache = None
    advance = None                         # the fast step over the cache, if any (`fast_step`)
    was_training = model.training
    model.eval()

    def logits_after(ids: list[int], continue_cache: bool = False) -> torch.Tensor:
        """Logits (V,) after `ids`: a fresh pass (the cache, if any, refilled with `ids`), or
        one that continues the cached text."""
        if cache is not None and not continue_cache:
            cache.reset()
        idx = torch.tensor([ids], device=device)
        return (model(idx, cache=cache) if cache is not None else model(idx))[0][0, -1]

    try:
        for i in range(max_new_tokens):
            with torch.inference_mode():
                if i == 0:
                    cache = model.new_cache() if use_cache else None
                    advance = fast_step(model, cache, engine) if cache is not None else None
                    logits = logits_after(context[-block:])
                elif framed and context[-1] == boundary:
                    context = [boundary]
                    logits = logits_after(context)
                elif cache is None:
                    logits = logits_after(context[-block:])
                elif cache.length == block:
                    logits = logits_after(context[-(block // 2):])       # re-prefill half a block
                elif advance is not None and not model_edited():
                    logits = advance(torch.tensor(context[-1:]), torch.tensor([cache.length]))[0]
                    cache.length += 1
                else:
                    logits = logits_after(context[-1:], continue_cache=True)
                logits = logits.float().cpu()
                probs = next_token_probs(logits, settings)
                if settings.temperature == 0:
                    token = int(probs.argmax())
                else:
                    token = int(torch.multinomial(probs, 1, generator=generator))
            context.append(token)
            yield Step(token, probs, logits)
    finally:
        model.train(was_training)


def generate(model: LanguageModel, prompt: str = "", max_new_tokens: int = 500, *,
             temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None,
             seed: int | None = None, unknown: UnknownPolicy = "error", use_cache: bool = True,
             engine: Engine = "auto") -> Iterator[str]:
    """Stream the continuation of `prompt`, one character at a time.

    Characters of the prompt outside the model's vocabulary raise UnknownCharactersError,
    unless `unknown` is "drop" or "replace". `engine` picks the decoding step: "auto" (ONNX
    Runtime where it can run the model, else the model itself), "torch" or "onnx".
    """
    if model.tokenizer is None:
        raise UsageError("the model has no tokenizer; load it with gpt.load() or set model.tokenizer")
    settings = SamplingSettings(temperature, top_k, top_p)
    prompt_ids = model.tokenizer.encode(prompt, unknown=unknown)
    for step in sample_ids(model, prompt_ids, max_new_tokens, settings, seed, use_cache, engine):
        yield model.tokenizer.chars[step.token]
