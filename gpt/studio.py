"""Everything the web app computes, kept out of the UI so it can be tested without a browser.

`ModelZoo` finds and caches the shipped checkpoints; `generate_stream` validates a request
and streams text with a record of every step's distribution; `LiveTraining` trains a model
for one browser session within limits set by environment variables.
"""
from __future__ import annotations

import copy
import math
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np
import torch

from . import checkpoint
from .base import LanguageModel
from .data import NAMED_CORPORA, Corpus, CorpusUnavailableError, read_text_file
from .introspect import counted_bigram_loss
from .models import build_model, dataset_for
from .sampling import SamplingSettings, sample_ids
from .tokenizer import CharTokenizer
from .trainer import TrainConfig, Trainer

SESSION_MODEL = "your model (trained here)"


class InputError(ValueError):
    """A request the app refuses, with a message meant for the person who made it."""


def _env_number(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return default


@dataclass(frozen=True)
class Limits:
    """Bounds for a public demo on a free 2-vCPU Space; each can be set by an environment variable."""

    max_new_tokens: int = 2000
    max_temperature: float = 2.0
    max_prompt_chars: int = 10_000
    max_params: int = int(_env_number("GPT_APP_MAX_PARAMS", 2_000_000))
    max_steps: int = int(_env_number("GPT_APP_MAX_STEPS", 5_000))
    max_minutes: float = _env_number("GPT_APP_MAX_MINUTES", 5.0)
    max_upload_mb: float = _env_number("GPT_APP_MAX_UPLOAD_MB", 2.0)


LIMITS = Limits()


# --- the shipped models ------------------------------------------------------------------

class ModelZoo:
    """The checkpoints the app offers: every folder under `root`, plus extra folders or Hub
    repo ids (comma-separated in $GPT_APP_MODELS). Loaded on first use, shared read-only."""

    def __init__(self, root: str | Path = "checkpoints", extra: list[str] | None = None):
        root = Path(root)
        self.sources: dict[str, str] = {}
        if root.is_dir():   # checkpoints/NAME and one level of collections, checkpoints/ladder/NAME
            for config in sorted([*root.glob(f"*/{checkpoint.CONFIG}"), *root.glob(f"*/*/{checkpoint.CONFIG}")]):
                self.sources[config.parent.relative_to(root).as_posix()] = str(config.parent)
        env_extra = [s.strip() for s in os.environ.get("GPT_APP_MODELS", "").split(",") if s.strip()]
        for source in (extra or []) + env_extra:
            self.sources[Path(source).name] = source
        self._loaded: dict[str, LanguageModel] = {}
        self._lock = threading.Lock()

    def names(self) -> list[str]:
        """The flagship first, then the other checkpoints, then collections such as the ladder."""
        return sorted(self.sources, key=lambda n: (n != "shakespeare-gpt", "/" in n, n))

    def get(self, name: str) -> LanguageModel:
        if name not in self.sources:
            raise InputError(f"there is no model called {name!r}; choose one of: {', '.join(self.names())}")
        with self._lock:
            if name not in self._loaded:
                try:
                    self._loaded[name] = checkpoint.load(self.sources[name])
                except checkpoint.CheckpointError as e:
                    raise InputError(f"the model {name!r} could not be loaded: {e}") from None
            return self._loaded[name]


def describe(model: LanguageModel) -> str:
    """One line about a model for the UI."""
    val = model.info.get("eval", {}).get("val_loss")
    corpus = model.info.get("corpus", "?")
    loss = f", val loss {val:.3f}" if val else ""
    return (f"{model.model_type.upper()} · {model.num_params():,} parameters · trained on {corpus} · "
            f"context {model.block_size} characters{loss}")


# --- generation --------------------------------------------------------------------------

@dataclass
class GenerationRecord:
    """A finished or running generation: the text and each step's distributions."""

    text: str                         # prompt (as used) + generated characters
    prompt_chars: int
    vocab: list[str]
    sampled_from: list[np.ndarray] = field(default_factory=list)   # per step, after temperature/top-k/top-p
    model_probs: list[np.ndarray] = field(default_factory=list)    # per step, the model at temperature 1

    @property
    def generated(self) -> str:
        return self.text[self.prompt_chars:]


def prepare_prompt(model: LanguageModel, prompt: str, unknown: str) -> tuple[str, str]:
    """Validate and clean a prompt. Returns (prompt to use, a note on what was changed)."""
    if prompt is None or prompt == "":
        raise InputError("The prompt is empty: type at least one character (for example ROMEO: and a newline).")
    if len(prompt) > LIMITS.max_prompt_chars:
        raise InputError(f"The prompt is {len(prompt):,} characters long; the limit is {LIMITS.max_prompt_chars:,}.")
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
    try:
        n = int(max_new_tokens)
    except (TypeError, ValueError):
        raise InputError("The length must be a whole number of characters.") from None
    if not 1 <= n <= LIMITS.max_new_tokens:
        raise InputError(f"The length must be between 1 and {LIMITS.max_new_tokens} characters, not {n}.")
    try:
        temperature, top_k, top_p = float(temperature), int(top_k or 0), float(1 if top_p in (None, "") else top_p)
    except (TypeError, ValueError):
        raise InputError("Temperature, top-k and top-p must be numbers.") from None
    if not 0 <= temperature <= LIMITS.max_temperature:
        raise InputError(f"The temperature must be between 0 and {LIMITS.max_temperature:g}, not {temperature:g}.")
    if top_k < 0:
        raise InputError(f"Top-k must be 0 (off) or a positive whole number, not {top_k}.")
    if not 0 < top_p <= 1:
        raise InputError(f"Top-p must be above 0 and at most 1 (1 = off), not {top_p:g}.")
    settings = SamplingSettings(temperature, top_k or None, top_p if top_p < 1 else None)
    if seed in (None, "") or (isinstance(seed, float) and math.isnan(seed)):
        seed = None
    else:
        seed = int(seed)
        if not 0 <= seed < 2**63:
            raise InputError("The seed must be a whole number from 0 upwards (or empty for a random one).")
    return n, settings, seed


def generate_stream(model: LanguageModel, prompt: str, max_new_tokens, temperature=0.8, top_k=None,
                    top_p=None, seed=None, unknown: str = "replace", flush_every: float = 0.05
                    ) -> Iterator[tuple[GenerationRecord, str]]:
    """Yield (record so far, note) every `flush_every` seconds and once at the end."""
    n, settings, seed = check_settings(max_new_tokens, temperature, top_k, top_p, seed)
    prompt, note = prepare_prompt(model, prompt, unknown)
    if len(prompt) > model.block_size:
        chars = "character" if model.block_size == 1 else f"{model.block_size} characters"
        note += (" " if note else "") + f"The model reads only the last {chars} of the prompt."
    record = GenerationRecord(prompt, len(prompt), model.tokenizer.chars)
    pieces: list[str] = []
    last_flush = time.perf_counter()
    for step in sample_ids(model, model.tokenizer.encode(prompt), n, settings, seed):
        pieces.append(model.tokenizer.chars[step.token])
        record.sampled_from.append(step.probs.numpy())
        record.model_probs.append(step.logits.float().softmax(-1).numpy())
        if time.perf_counter() - last_flush >= flush_every:
            record.text = prompt + "".join(pieces)
            last_flush = time.perf_counter()
            yield record, note
    record.text = prompt + "".join(pieces)
    yield record, note


# --- live training -----------------------------------------------------------------------

CORPUS_CHOICES = {"Tiny Shakespeare": "shakespeare", "names": "names", "upload a .txt": "upload"}


def load_corpus_choice(choice: str, upload_path: str | None) -> Corpus:
    """The corpus a person picked, or a clear reason why it cannot be had."""
    source = CORPUS_CHOICES.get(choice, choice)
    if source == "upload":
        if not upload_path:
            raise InputError("Choose a .txt file to upload first.")
        try:
            text = read_text_file(upload_path, max_bytes=int(LIMITS.max_upload_mb * 1e6))
        except ValueError as e:
            raise InputError(f"That upload cannot be used: {e}.") from None
        if len(text) < 2000:
            raise InputError(f"The uploaded text has {len(text):,} characters; at least 2,000 are needed to train.")
        return Corpus.from_text(text, name=Path(upload_path).stem)
    if source not in NAMED_CORPORA:
        raise InputError(f"Unknown corpus {choice!r}.")
    try:
        return Corpus.load(source)
    except CorpusUnavailableError as e:
        raise InputError(f"{e} You can upload the text as a .txt file instead.") from None


@dataclass
class TrainRequest:
    corpus: str = "Tiny Shakespeare"
    upload: str | None = None
    model_type: str = "gpt"
    # Chosen by measurement (bench/train.py, docs/recipes.md): on one CPU thread a shallow,
    # wide GPT with a short context and a high learning rate learns the most per second.
    n_layer: int = 2
    n_head: int = 4
    n_embd: int = 128
    block_size: int = 64
    minutes: float = 1.0
    max_steps: int = 5000
    lr: float = 6e-3
    batch_size: int = 32


def architecture(request: TrainRequest, vocab_size: int) -> dict:
    if request.model_type == "bigram":
        return {"vocab_size": vocab_size}
    if request.model_type == "mlp":
        return {"vocab_size": vocab_size, "block_size": min(request.block_size, 16),
                "n_embd": min(request.n_embd, 64), "n_hidden": 4 * request.n_embd}
    if request.n_embd % request.n_head:
        raise InputError(f"The embedding width {request.n_embd} must be a multiple of the number of heads "
                         f"{request.n_head}.")
    return {"vocab_size": vocab_size, "block_size": request.block_size, "n_layer": request.n_layer,
            "n_head": request.n_head, "n_embd": request.n_embd, "dropout": 0.0}


def build_training(request: TrainRequest) -> Trainer:
    """Check a request against the limits and set up its trainer (not yet run)."""
    if request.model_type not in ("bigram", "mlp", "gpt"):
        raise InputError(f"Unknown model type {request.model_type!r}.")
    if not 0 < request.minutes <= LIMITS.max_minutes:
        raise InputError(f"The time budget must be between 0 and {LIMITS.max_minutes:g} minutes.")
    if not 1 <= request.max_steps <= LIMITS.max_steps:
        raise InputError(f"The number of steps must be between 1 and {LIMITS.max_steps:,}.")
    if not 1e-5 <= request.lr <= 1.0:
        raise InputError("The learning rate must be between 1e-5 and 1.")
    if not 1 <= request.batch_size <= 256:
        raise InputError("The batch size must be between 1 and 256.")
    corpus = load_corpus_choice(request.corpus, request.upload)
    tokenizer = CharTokenizer.from_text(corpus.text)
    try:
        model = build_model(request.model_type, **architecture(request, tokenizer.vocab_size))
    except ValueError as e:
        raise InputError(str(e)) from None
    if model.num_params() > LIMITS.max_params:
        raise InputError(f"That model has {model.num_params():,} parameters; the limit here is "
                         f"{LIMITS.max_params:,}. Use fewer layers or a narrower embedding.")
    model.tokenizer = tokenizer
    try:
        dataset = dataset_for(model, corpus)
    except ValueError as e:
        raise InputError(str(e)) from None
    model.info.setdefault("eval", {})["bigram_val_loss"] = counted_bigram_loss(dataset)
    config = TrainConfig(max_steps=request.max_steps, time_budget=request.minutes * 60,
                         batch_size=request.batch_size, lr=request.lr, warmup_steps=min(50, request.max_steps // 10),
                         eval_interval=max(10, min(50, request.max_steps // 20)), eval_batches=4,
                         weight_decay=0.1 if request.model_type == "gpt" else 0.0, sample_chars=120,
                         bf16=request.model_type == "gpt" and bf16_is_fast())
    return Trainer(model, dataset, config)


def bigram_reference(model: LanguageModel) -> float | None:
    """The counting bigram's val loss on the model's corpus: the line a trained model must beat.

    Published checkpoints (gpt.publish) and live-trained models both keep it in info["eval"]."""
    return model.info.get("eval", {}).get("bigram_val_loss")


def bf16_is_fast() -> bool:
    """bf16 autocast pays off on CPUs with native bf16 math (AVX-512 BF16 or AMX)."""
    try:
        flags = open("/proc/cpuinfo").read()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def snapshot(model: LanguageModel) -> LanguageModel:
    """A copy to generate from while the original may still be training."""
    return copy.deepcopy(model).eval()


# --- the Learn tab -----------------------------------------------------------------------

def markdown_table(headers: list[str], rows: list[list]) -> str:
    """A Markdown table: for the Learn tab, and for the benchmarks' output to paste into the README."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    return "\n".join(lines + ["| " + " | ".join(str(c) for c in row) + " |" for row in rows])


@dataclass
class RungResult:
    number: int
    title: str
    params: int
    val_loss: float
    lecture_val: float | None
    note: str
    sample: str
    name: str


def ladder_results(zoo: ModelZoo) -> list[RungResult]:
    """Every shipped rung of the ladder (checkpoints/ladder/*), in order."""
    from .ladder import RUNGS

    specs = {rung.number: rung for rung in RUNGS}     # the text comes from the code, the numbers from the run
    results = []
    for name in zoo.names():
        if not name.startswith("ladder/"):
            continue
        model = zoo.get(name)
        spec = specs[model.info["rung"]["number"]]
        results.append(RungResult(spec.number, spec.title, model.num_params(), model.info["eval"]["val_loss"],
                                  spec.lecture_val, spec.note, model.info.get("sample", ""), name))
    return sorted(results, key=lambda r: r.number)


@dataclass
class MakemoreViews:
    chars: list[str]
    counts: np.ndarray            # makemore part 1's count matrix
    neural_probs: np.ndarray      # softmax of the trained neural bigram's table
    embedding: np.ndarray | None  # (27, 2) of the 2-D MLP
    names: list[str]              # samples from the 2-D MLP
    bigram_val: float
    mlp2d_val: float | None
    mlp_val: float | None


def makemore_views(zoo: ModelZoo, samples: int = 12) -> MakemoreViews:
    bigram = zoo.get("names-bigram")
    counts = np.asarray(bigram.info["bigram_counts"])
    # the count matrix uses '.' for start/end, the model uses '\n' (index 0 in both)
    chars = ["."] + bigram.tokenizer.chars[1:]
    neural = torch.softmax(bigram.logits_table.weight.detach(), -1).numpy()
    embedding, names, mlp2d_val = None, [], None
    if "names-mlp-2d" in zoo.sources:
        mlp2d = zoo.get("names-mlp-2d")
        embedding = mlp2d.embedding.weight.detach().numpy()
        text = "".join(sample_text(mlp2d, samples * 12))
        names = [n for n in text.split("\n") if n][:samples]
        mlp2d_val = mlp2d.info["eval"]["val_loss"]
    mlp_val = zoo.get("names-mlp").info["eval"]["val_loss"] if "names-mlp" in zoo.sources else None
    return MakemoreViews(chars, counts, neural, embedding, names, bigram.info["eval"]["val_loss"], mlp2d_val, mlp_val)


def sample_text(model: LanguageModel, n: int, seed: int = 0) -> list[str]:
    steps = sample_ids(model, [], n, SamplingSettings(temperature=1.0), seed=seed)
    return [model.tokenizer.chars[s.token] for s in steps]
