"""Generation for the app: check what a person asked for, then stream text with a record of
every step's distributions for the next-character view."""
from __future__ import annotations

import asyncio
import math
import secrets
import time
from dataclasses import dataclass, field
from typing import AsyncIterator, Callable, Iterator

import numpy as np
import torch

from gpt.errors import UsageError
from gpt.generation import MAX_SEED, SamplingSettings, Step, check_seed, sample_ids
from gpt.language_model import LanguageModel

from .decoding import BatchDecoder
from .errors import InputError
from .inputs import number, text, whole
from .settings import SETTINGS


@dataclass
class GenerationRecord:
    """A finished or running generation: the text and each step's distributions.

    Another thread may read it while it grows (Stop, then inspect): `steps` counts only the
    steps whose character and distributions are all in."""

    prompt: str                       # as used, after unknown characters were handled
    vocab: list[str]
    seed: int | None = None           # the seed it was sampled with (drawn for it when none was asked for)
    chars: list[str] = field(default_factory=list)                 # generated, one per step
    sampled_from: list[np.ndarray] = field(default_factory=list)   # per step, after temperature/top-k/top-p (fp16)
    model_probs: list[np.ndarray] = field(default_factory=list)    # per step, the model at temperature 1 (fp16)

    @property
    def prompt_chars(self) -> int:
        return len(self.prompt)

    @property
    def generated(self) -> str:
        return "".join(self.chars)

    @property
    def text(self) -> str:
        return self.prompt + self.generated

    @property
    def steps(self) -> int:
        return min(len(self.chars), len(self.sampled_from), len(self.model_probs))


def prepare_prompt(model: LanguageModel, prompt: str, unknown: str) -> tuple[str, str]:
    """Validate and clean a prompt. Returns (prompt to use, a note on what was changed)."""
    prompt = text(prompt, "prompt")
    if prompt == "":
        raise InputError("The prompt is empty: type at least one character (for example ROMEO: and a newline).")
    if len(prompt) > SETTINGS.max_prompt_chars:
        raise InputError(f"The prompt is {len(prompt):,} characters long; the limit is {SETTINGS.max_prompt_chars:,}.")
    missing = model.tokenizer.unknown_chars(prompt)
    if not missing:
        return prompt, ""
    shown = ", ".join(repr(c) for c in missing[:10])
    if unknown == "error":
        verb = "is" if len(missing) == 1 else "are"
        raise InputError(f"{shown} {verb} not in this model's {model.tokenizer.vocab_size}-character vocabulary: "
                         "remove them, or choose to replace or drop unknown characters.")
    cleaned = model.tokenizer.clean(prompt, unknown="replace" if unknown == "replace" else "drop")
    action = f"replaced by {model.tokenizer.replacement!r}" if unknown == "replace" else "dropped"
    if not cleaned:
        raise InputError(f"Every character of the prompt ({shown}) is outside the model's vocabulary.")
    return cleaned, f"Not in this model's {model.tokenizer.vocab_size}-character vocabulary: {shown} ({action})."


def check_settings(max_new_tokens, temperature, top_k, top_p, seed) -> tuple[int, SamplingSettings, int | None]:
    """Turn the form's values into a length, sampling settings and a seed.

    The settings themselves are checked by the library (`SamplingSettings`, `check_seed`);
    here the form's conventions are applied: top-k 0 and top-p 1 mean off, an empty seed
    means a random one."""
    n = whole(max_new_tokens, "length", 1, SETTINGS.max_new_tokens)
    temperature = number(temperature, "temperature")
    top_k = whole(top_k or 0, "top-k")
    top_p = number(1 if top_p in (None, "") else top_p, "top-p")
    seed = parse_seed(seed)
    try:
        settings = SamplingSettings(temperature, top_k or None, top_p if top_p != 1 else None)
        return n, settings, check_seed(seed)
    except UsageError as e:
        raise InputError(str(e)) from None


def parse_seed(seed) -> int | None:
    """A seed typed in a box ("" or none: a fresh random one each time), or sent as a number."""
    if seed is None or (isinstance(seed, str) and not seed.strip()) or (isinstance(seed, float) and math.isnan(seed)):
        return None
    if isinstance(seed, str) and seed.strip().isdigit():
        seed = int(seed.strip())                    # exact, past float's 2^53
    return whole(seed, "seed", 0, MAX_SEED)


RANDOM_SEEDS = 1_000_000
"""A seed drawn for a request that asked for none is below this: short enough to read out to a class."""

FLUSH_PER_STREAM = 0.025
"""Seconds between a stream's updates per stream sharing the decoder: 0.2 s up to 8, 0.8 s at 32."""


@dataclass
class Plan:
    """A checked request: the record to fill, the note to show, and what to decode."""

    record: GenerationRecord
    note: str
    ids: list[int]
    length: int
    settings: SamplingSettings
    seed: int | None


def plan(model: LanguageModel, prompt: str, max_new_tokens, temperature, top_k, top_p, seed,
         unknown: str) -> Plan:
    """Check what a person asked for and say what will be decoded."""
    n, settings, seed = check_settings(max_new_tokens, temperature, top_k, top_p, seed)
    if seed is None:          # drawn here, so that the text can be made again (a link carries its seed)
        seed = secrets.randbelow(RANDOM_SEEDS)
    prompt, note = prepare_prompt(model, prompt, unknown)
    if len(prompt) > model.block_size:
        chars = "character" if model.block_size == 1 else f"{model.block_size} characters"
        note += (" " if note else "") + f"The model reads only the last {chars} of the prompt."
    return Plan(GenerationRecord(prompt, model.tokenizer.chars, seed), note, model.tokenizer.encode(prompt), n,
                settings, seed)


def flush_interval(flush_every: float, decoder: BatchDecoder) -> Callable[[], float]:
    """Seconds between a stream's updates: FLUSH_PER_STREAM for each stream sharing the decoder."""
    return lambda: max(flush_every, FLUSH_PER_STREAM * decoder.load)


async def agenerate_stream(model: LanguageModel, prompt: str, max_new_tokens, temperature=0.8, top_k=None,
                           top_p=None, seed=None, unknown: str = "replace", flush_every: float = 0.2,
                           decoder: BatchDecoder | None = None) -> AsyncIterator[tuple[GenerationRecord, str]]:
    """Yield (record so far, note) at the first character, then every `flush_every` seconds,
    the last time with the last character. With a `decoder`, the steps come from the batch
    shared with everyone else using that model, waiting for them holds no thread, and when
    many streams share it each flushes less often (FLUSH_PER_STREAM seconds per stream):
    every update costs the server the same whatever its size, so a full class gets fewer,
    larger chunks instead of a slower batch. Without one (a session's own model) the sampler
    runs in a worker thread."""
    p = plan(model, prompt, max_new_tokens, temperature, top_k, top_p, seed, unknown)
    if decoder is not None:
        chunks = decoder.achunks(p.ids, p.length, p.settings, p.seed, every=flush_interval(flush_every, decoder))
    else:
        chunks = in_a_thread(paced(sample_ids(model, p.ids, p.length, p.settings, p.seed), flush_every))
    async for chunk in chunks:
        record_steps(p.record, chunk)
        yield p.record, p.note


async def in_a_thread(items: Iterator) -> AsyncIterator:
    """Iterate a blocking iterator from a coroutine, each item fetched in a worker thread."""
    done = object()
    try:
        while (item := await asyncio.to_thread(next, items, done)) is not done:
            yield item
    finally:
        try:
            items.close()
        except ValueError:                 # still running in its thread: it ends with that thread
            pass


def record_steps(record: GenerationRecord, steps: list[Step]) -> None:
    """Append steps to a record, their distributions as float16 (half the memory a session holds)."""
    sampled = torch.stack([s.probs for s in steps]).numpy().astype(np.float16)                 # (steps, V)
    model = torch.stack([s.logits for s in steps]).float().softmax(-1).numpy().astype(np.float16)
    record.sampled_from.extend(sampled)
    record.model_probs.extend(model)
    record.chars.extend(record.vocab[s.token] for s in steps)


def paced(steps: Iterator[Step], every: float) -> Iterator[list[Step]]:
    """Group steps into lists: the first step alone, then whatever came in each `every` seconds."""
    chunk, last = [], float("-inf")
    for step in steps:
        chunk.append(step)
        if time.perf_counter() - last >= every:
            last = time.perf_counter()
            yield chunk
            chunk = []
    if chunk:
        yield chunk
