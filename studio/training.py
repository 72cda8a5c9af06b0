"""Live training for one browser session: a corpus, a model and a budget, all within limits."""
from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from gpt import checkpoint, web
from gpt.data import NAMED_CORPORA, Corpus, CorpusUnavailableError, read_text_file
from gpt.errors import UsageError
from gpt.hardware import bf16_is_fast
from gpt.records import TrainConfig
from gpt.registry import build_model, count_params
from gpt.tokenizer import CharTokenizer
from gpt.trainer import Trainer

from .errors import InputError, without_paths
from .settings import SETTINGS

CORPUS_CHOICES = [("Tiny Shakespeare", "shakespeare"), ("names", "names"), ("upload a .txt", "upload")]
"""(label, value): the page shows the label, a request sends the value (a label is accepted too)."""
MODEL_CHOICES = [("GPT", "gpt"), ("MLP", "mlp"), ("Bigram", "bigram")]
MODEL_TYPES = tuple(value for _, value in MODEL_CHOICES)
OPTIMIZER_CHOICES = [("AdamW", "adamw"), ("Muon + AdamW", "muon")]
OPTIMIZER_NAMES = {value: label for label, value in OPTIMIZER_CHOICES}
MUON_LR_SCALE = 2.0
"""Muon's learning rate over AdamW's in live training (docs/recipes.md: the probes that chose it)."""


def corpus_source(choice: str) -> str:
    """"shakespeare", "names" or "upload", from a choice's value or its label."""
    return dict(CORPUS_CHOICES).get(choice, choice)


def optimizer_choice(choice: str) -> str:
    """"adamw" or "muon", from a choice's value or its label."""
    return dict(OPTIMIZER_CHOICES).get(choice, choice).lower()


def load_corpus_choice(choice: str, upload_path: str | None) -> Corpus:
    """The corpus a person picked, or a clear reason why it cannot be had."""
    source = corpus_source(choice)
    if source == "upload":
        if not upload_path:
            raise InputError("Choose a .txt file to upload first.")
        # Never deleted here: Gradio keeps one file per content and name, so two students attaching
        # the teacher's corpus (or one pressing Train twice) hold the same path. Gradio's cache
        # sweep (delete_cache in ui/__init__.py) removes it once it is old.
        try:
            text = read_text_file(upload_path, max_bytes=SETTINGS.max_upload_bytes)
        except (UsageError, OSError) as e:
            raise InputError(f"That upload cannot be used: {without_paths(str(e))}." if isinstance(e, UsageError)
                             else "That upload could not be read; please attach it again.") from None
        if len(text) < 2000:
            raise InputError(f"The uploaded text has {len(text):,} characters; at least 2,000 are needed to train.")
        distinct = len(set(text))
        if distinct > SETTINGS.max_vocab:
            raise InputError(f"The uploaded text has {distinct:,} distinct characters; a character-level model here "
                             f"takes at most {SETTINGS.max_vocab:,}. Upload text in one or two alphabets.")
        return Corpus.from_text(text, name=Path(upload_path).stem)
    if source not in NAMED_CORPORA:
        raise InputError(f"Unknown corpus {choice!r}.")
    try:
        return Corpus.load(source)
    except CorpusUnavailableError as e:
        raise InputError(f"{e} You can upload the text as a .txt file instead.") from None


@dataclass
class TrainRequest:
    corpus: str = "shakespeare"
    upload: str | None = None
    model_type: str = "gpt"
    # Chosen by measurement (bench/train.py, docs/recipes.md): on one CPU thread a shallow,
    # wide GPT with a short context and a high learning rate learns the most per second.
    n_layer: int = 2
    n_head: int = 4
    n_embd: int = 128
    block_size: int = 64
    n_hidden: int = 200          # the MLP's hidden units
    minutes: float = 1.0
    max_steps: int = 5000
    lr: float = 6e-3
    batch_size: int = 32
    optimizer: str = "muon"      # Muon on the hidden matrices, AdamW on the rest; or "adamw" for everything


DEFAULTS: dict[tuple[str, str], dict] = {
    # (model, corpus): what differs from TrainRequest's GPT-on-Shakespeare defaults
    # Muon is measured for the GPT on Shakespeare (docs/recipes.md); elsewhere AdamW, as measured before
    ("gpt", "names"): dict(block_size=16, n_embd=64, lr=3e-3, optimizer="adamw"),
    ("mlp", "names"): dict(block_size=3, n_embd=10, n_hidden=200, lr=1e-2, batch_size=128, optimizer="adamw"),
    ("mlp", "shakespeare"): dict(block_size=8, n_embd=16, n_hidden=512, lr=1e-2, optimizer="adamw"),
    ("mlp", "upload"): dict(block_size=8, n_embd=16, n_hidden=512, lr=1e-2, optimizer="adamw"),
    ("bigram", "names"): dict(lr=0.1, batch_size=256, optimizer="adamw"),
    ("bigram", "shakespeare"): dict(lr=0.1, optimizer="adamw"),
    ("bigram", "upload"): dict(lr=0.1, optimizer="adamw"),
}


LONG_BUDGET_MINUTES = 3.0
LONG_BUDGETS: dict[tuple[str, str], dict] = {
    # (model, corpus): what learns more from LONG_BUDGET_MINUTES on (docs/recipes.md: at 3 minutes a
    # 3 x 192 GPT beats the 2 x 128 one, which wins at 1 and at 2)
    ("gpt", "shakespeare"): dict(n_layer=3, n_head=6, n_embd=192),
}
SIZES = ("n_layer", "n_head", "n_embd", "block_size", "n_hidden", "lr", "batch_size", "optimizer")
"""The settings `defaults_for` chooses (the rest is the corpus, the model type and the budget)."""


def defaults_for(model_type: str, corpus_choice: str, minutes: float = 1.0) -> TrainRequest:
    """The settings that train this model on this corpus well within a budget of `minutes`."""
    source = corpus_source(corpus_choice)
    sizes = DEFAULTS.get((model_type, source), {})
    if minutes >= LONG_BUDGET_MINUTES:
        sizes = sizes | LONG_BUDGETS.get((model_type, source), {})
    return TrainRequest(corpus=source, model_type=model_type, minutes=minutes, **sizes)


def sizes_for_budget(model_type: str, corpus_choice: str, minutes: float, current: dict) -> dict | None:
    """The sizes to show once the budget becomes `minutes`: that budget's defaults when the
    `current` sizes are one of this model's defaults (nobody changed them); None when
    they were set by hand (they stay) or nothing changes."""
    presets = [defaults_for(model_type, corpus_choice, m) for m in (1.0, LONG_BUDGET_MINUTES)]
    chosen = defaults_for(model_type, corpus_choice, minutes)

    def sizes(r: TrainRequest) -> dict:
        return {k: getattr(r, k) for k in SIZES}

    if all(sizes(p) != current for p in presets) or sizes(chosen) == current:
        return None
    return sizes(chosen)


def architecture(request: TrainRequest, vocab_size: int) -> dict:
    if request.model_type == "bigram":
        return {"vocab_size": vocab_size}
    if request.model_type == "mlp":
        return {"vocab_size": vocab_size, "block_size": request.block_size, "n_embd": request.n_embd,
                "n_hidden": request.n_hidden}
    if request.n_embd % request.n_head:
        raise InputError(f"The embedding width {request.n_embd} must be a multiple of the number of heads "
                         f"{request.n_head}.")
    return {"vocab_size": vocab_size, "block_size": request.block_size, "n_layer": request.n_layer,
            "n_head": request.n_head, "n_embd": request.n_embd, "dropout": 0.0}


def check_limits(request: TrainRequest) -> None:
    """The request's own numbers against the app's limits: nothing read, nothing built."""
    if request.model_type not in MODEL_TYPES:
        raise InputError(f"Unknown model type {request.model_type!r}.")
    if not 0 < request.minutes <= SETTINGS.max_minutes:
        raise InputError(f"The time budget must be between 0 and {SETTINGS.max_minutes:g} minutes.")
    if not 1 <= request.max_steps <= SETTINGS.max_steps:
        raise InputError(f"The number of steps must be between 1 and {SETTINGS.max_steps:,}.")
    if not 1e-5 <= request.lr <= 1.0:
        raise InputError("The learning rate must be between 1e-5 and 1.")
    if not 1 <= request.batch_size <= 256:
        raise InputError("The batch size must be between 1 and 256.")
    if request.optimizer not in OPTIMIZER_NAMES:
        raise InputError(f"Unknown optimizer {request.optimizer!r}: choose one of {', '.join(OPTIMIZER_NAMES)}.")


def checked_architecture(request: TrainRequest, vocab_size: int) -> dict:
    """The model's settings for a corpus of `vocab_size` characters, refused when over the
    parameter limit (counted on the meta device: nothing is allocated)."""
    arch = architecture(request, vocab_size)
    try:
        params = count_params(request.model_type, **arch)
    except UsageError as e:
        raise InputError(str(e)) from None
    if params > SETTINGS.max_params:
        raise InputError(f"That model has {params:,} parameters; the limit here is {SETTINGS.max_params:,}. "
                         "Use fewer layers or a narrower embedding.")
    return arch


def check_request(request: TrainRequest) -> None:
    """Everything `build_training` would refuse, found before a training waits for its slot,
    keeping nothing: a request waiting in line holds its settings and no corpus or model."""
    check_limits(request)
    corpus = load_corpus_choice(request.corpus, request.upload)
    checked_architecture(request, CharTokenizer.from_text(corpus.text).vocab_size)


def build_training(request: TrainRequest, device: torch.device | str = "cpu") -> Trainer:
    """Check a request against the limits and set up its trainer on `device` (not yet run)."""
    check_limits(request)
    corpus = load_corpus_choice(request.corpus, request.upload)
    tokenizer = CharTokenizer.from_text(corpus.text)
    arch = checked_architecture(request, tokenizer.vocab_size)
    model = build_model(request.model_type, **arch).to(device)
    model.tokenizer = tokenizer
    try:
        dataset = model.dataset_for(corpus)
    except UsageError as e:
        raise InputError(str(e)) from None
    config = TrainConfig(max_steps=request.max_steps, time_budget=request.minutes * 60,
                         batch_size=request.batch_size, lr=request.lr, optimizer=request.optimizer,
                         muon_lr_scale=MUON_LR_SCALE, warmup_steps=min(50, request.max_steps // 10),
                         eval_interval=max(10, min(50, request.max_steps // 20)), eval_batches=4,
                         weight_decay=0.1 if request.model_type == "gpt" else 0.0, sample_chars=120,
                         bf16=request.model_type == "gpt" and bf16_is_fast(model.device))
    return Trainer(model, dataset, config)


EXPORTS = Path(tempfile.gettempdir()) / "tinyshakespeare-gpt-exports"
EXPORT_MAX_AGE = 3600.0
"""Seconds a downloaded zip is kept here: Gradio has long since copied it into its own cache
(which the page's delete_cache, ui/__init__.py, sweeps in turn), so nobody still holds it."""


def export_zip(model, name: str = "my-model", exports: Path = EXPORTS, max_age: float = EXPORT_MAX_AGE) -> Path:
    """The session's model as a zip of a checkpoint folder (safetensors, config, history),
    which `gpt.load` reads once unpacked. Written to a fresh folder of its own under `exports`,
    where folders older than `max_age` seconds are removed first: downloads do not pile up."""
    folder = _download_folder(model, exports, max_age)
    checkpoint.save(model, folder / name)
    archive = shutil.make_archive(str(folder / name), "zip", root_dir=folder, base_dir=name)
    shutil.rmtree(folder / name, ignore_errors=True)
    return Path(archive)


def export_site_zip(model, name: str = "my-model-web", exports: Path = EXPORTS, max_age: float = EXPORT_MAX_AGE) -> Path:
    """The session's model as a web page that runs it in any browser (`gpt.web`): a zip of the
    static site, to unpack and serve from any static host, or open with `python -m http.server`."""
    if model is not None and (reason := web.unavailable_reason(model)) is not None:
        raise InputError(f"No web page for this model: {reason}.")
    folder = _download_folder(model, exports, max_age)
    site = web.export(model, folder / name, name="Your model (trained live)")
    archive = folder / f"{name}.zip"
    archive.write_bytes(web.zipped(site))
    shutil.rmtree(site.folder, ignore_errors=True)
    return archive


def _download_folder(model, exports: Path, max_age: float) -> Path:
    """A fresh folder of one download's own under `exports`, older ones swept first."""
    if model is None:
        raise InputError("Train a model first: there is nothing to download yet.")
    exports.mkdir(parents=True, exist_ok=True)
    sweep_exports(exports, max_age)
    return Path(tempfile.mkdtemp(prefix="download-", dir=exports))


def sweep_exports(exports: Path, max_age: float) -> None:
    cutoff = time.time() - max_age
    for folder in exports.glob("download-*"):
        try:
            if folder.stat().st_mtime < cutoff:
                shutil.rmtree(folder, ignore_errors=True)
        except FileNotFoundError:          # another request swept it first
            pass
