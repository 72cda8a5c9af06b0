"""Checkpoints: a folder of safetensors weights and JSON, never a pickle.

    model.safetensors       the weights (optionally stored in bf16/fp16; loaded back to fp32)
    config.json             model type, architecture, vocabulary, and the run's record (gpt.records)
    history.json            every evaluation of the run: step, train/val loss, lr, tokens, time
    training_state.*        optimizer moments, step and RNG states, only while training (resume)
    README.md               a model card for the Hugging Face Hub (shipped checkpoints)

`load()` takes a local folder or a Hugging Face Hub repo id. Saving writes a new folder
beside the old one and swaps them, so an interrupted save never leaves half a checkpoint.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, load_model, save_file, save_model

from .errors import UsageError
from .language_model import LanguageModel
from .records import RunRecord
from .registry import build_model, count_params, model_config_dict
from .tokenizer import CharTokenizer

FORMAT_VERSION = 2
"""1: a free-form `info` dict; 2: the typed `run` record. Both load."""
WEIGHTS = "model.safetensors"
CONFIG = "config.json"
HISTORY = "history.json"
STATE_TENSORS = "training_state.safetensors"
STATE_JSON = "training_state.json"
HUB_FILES = [WEIGHTS, CONFIG, HISTORY, "README.md", "lab.json"]
DTYPE_NAMES = {torch.float32: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}
_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


class CheckpointError(RuntimeError):
    """A checkpoint that is missing, corrupt, or does not match its own config."""


def save(model: LanguageModel, out_dir: str | Path, *, training_state: tuple[dict, dict] | None = None,
         weights_dtype: torch.dtype | None = None, card: str | None = None) -> Path:
    """Write `model` with its tokenizer, run record and history as a checkpoint folder, atomically.

    `training_state` is (tensors, json) from the trainer. `weights_dtype` (e.g. torch.bfloat16)
    halves the file for shipping; the model in memory is untouched.
    """
    if model.tokenizer is None:
        raise UsageError("the model has no tokenizer to save with it")
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        run = replace(model.run, weights_dtype=DTYPE_NAMES.get(weights_dtype or torch.float32, "fp32"))
        config = {
            "format_version": FORMAT_VERSION,
            "model_type": model.model_type,
            "model": model_config_dict(model),
            "vocab": model.tokenizer.to_json(),
            "num_params": model.num_params(),
            "run": run.to_json(),
        }
        (tmp / CONFIG).write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        (tmp / HISTORY).write_text(json.dumps(model.history) + "\n", encoding="utf-8")
        to_save = model
        if weights_dtype is not None:
            to_save = build_model(model.model_type, **model_config_dict(model)).to(weights_dtype)
            to_save.load_state_dict(model.state_dict())
        try:
            save_model(to_save, str(tmp / WEIGHTS), metadata={"format": "pt", "model_type": model.model_type})
            if training_state is not None:
                tensors, state_json = training_state
                save_file(tensors, str(tmp / STATE_TENSORS))
        except SafetensorError as e:         # a full disk, as safetensors reports it: an OSError like any other
            raise OSError(f"could not write the weights to {out_dir}: {e}") from None
        if training_state is not None:
            (tmp / STATE_JSON).write_text(json.dumps(state_json) + "\n", encoding="utf-8")
        if card is not None:
            (tmp / "README.md").write_text(card, encoding="utf-8")
        tmp.chmod(0o755)    # mkdtemp makes it private; a checkpoint is an ordinary folder
        for file in tmp.iterdir():
            file.chmod(0o644)
        _swap_in(tmp, out_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out_dir


def _old(target: Path) -> Path:
    return target.with_name(f".{target.name}.old")


def _swap_in(new: Path, target: Path) -> None:
    """Replace folder `target` by `new` with two renames; the old one goes only afterwards.
    A process killed between the renames leaves the previous save as `.NAME.old`, which
    `newest_complete` finds."""
    old = _old(target)
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        os.replace(target, old)
    os.replace(new, target)
    shutil.rmtree(old, ignore_errors=True)


def newest_complete(target: str | Path) -> Path | None:
    """The folder a save to `target` left whole: `target`, or the previous save if a process
    died between the two renames. Temporary folders of killed saves are removed."""
    target = Path(target)
    for leftover in target.parent.glob(f".{target.name}.*"):
        if leftover != _old(target) and leftover.is_dir():
            shutil.rmtree(leftover, ignore_errors=True)
    for candidate in (target, _old(target)):
        if _complete(candidate):
            return candidate
    return None


def _complete(folder: Path) -> bool:
    return (folder / CONFIG).is_file() and (folder / WEIGHTS).is_file()


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def best_val_loss(folder: str | Path) -> float:
    """The val loss a saved best checkpoint was chosen by (its last evaluation), or +inf."""
    found = newest_complete(folder)
    try:
        history = load_history(found) if found else []
    except CheckpointError:
        return float("inf")
    return history[-1].get("val_loss", float("inf")) if history else float("inf")


HUB_TIMEOUT = 60.0
"""Seconds a Hub download may take before `load` gives up (the download itself is left to finish,
and a later `load` of the same repo waits on it rather than starting another)."""
_DOWNLOADS: dict[str, tuple[threading.Thread, dict]] = {}
_DOWNLOADS_LOCK = threading.Lock()


def source_kind(path_or_repo_id: str | Path) -> str:
    """Where a checkpoint would come from, without loading or downloading it: "folder" (a local
    folder holding a config, or the previous save a killed one left) or "hub" (an owner/name repo
    id that is no local path). CheckpointError for a file, a folder with no config, or a name that
    is neither."""
    path = Path(path_or_repo_id).expanduser()
    name = str(path_or_repo_id)
    if path.is_dir():
        if not (path / CONFIG).is_file():
            raise CheckpointError(f"{name} holds no {CONFIG}: not a checkpoint folder")
        return "folder"
    if not path.exists() and _complete(_old(path)):
        return "folder"
    if path.exists():
        raise CheckpointError(f"{name} is a file; a checkpoint is a folder holding {CONFIG} and {WEIGHTS}")
    if not _REPO_ID.match(name):
        raise CheckpointError(f"no checkpoint folder at {name!r}, and it is not a Hub repo id (owner/name)")
    return "hub"


def resolve(path_or_repo_id: str | Path, timeout: float = HUB_TIMEOUT) -> Path:
    """A local checkpoint folder: the path itself (or, when a save was killed between its two
    renames, the previous save it left as `.NAME.old`), or a download of a Hub repo's files,
    given up after `timeout` seconds so that a Hub that never answers blocks nobody for long."""
    path = Path(path_or_repo_id).expanduser()
    if path.is_dir():
        return path
    if not path.exists() and _complete(_old(path)):     # read only: a save under way is never touched
        return _old(path)
    name = str(path_or_repo_id)
    source_kind(name)                                   # a file, or neither a folder nor a repo id: refused
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError, RepositoryNotFoundError

    with _DOWNLOADS_LOCK:                   # one download of a repo at a time: a hung one is waited on, not repeated
        worker, result = _DOWNLOADS.get(name, (None, {}))
        if worker is None or not worker.is_alive():
            result = {}

            def download() -> None:
                try:
                    result["path"] = snapshot_download(name, allow_patterns=HUB_FILES,
                                                       etag_timeout=min(timeout, 10.0))
                except BaseException as e:          # handed to the caller below
                    result["error"] = e

            worker = threading.Thread(target=download, daemon=True, name=f"hub-download {name}")
            _DOWNLOADS[name] = (worker, result)
            worker.start()
    worker.join(timeout)
    if worker.is_alive():
        raise CheckpointError(f"the Hugging Face Hub did not deliver {name!r} within {timeout:g} s; try again later, "
                              "or pass a local checkpoint folder")
    try:
        if "error" in result:
            raise result["error"]
        return Path(result["path"])
    except RepositoryNotFoundError:
        raise CheckpointError(f"no Hugging Face Hub model repo {name!r} (or it is private)") from None
    except (LocalEntryNotFoundError, HfHubHTTPError, OSError) as e:
        raise CheckpointError(
            f"could not download {name!r} from the Hugging Face Hub and it is not cached ({type(e).__name__}); "
            "offline? pass a local checkpoint folder instead"
        ) from None


def read_config(folder: str | Path) -> dict:
    """config.json, checked for the fields and types a checkpoint needs."""
    path = Path(folder) / CONFIG
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CheckpointError(f"{folder} has no {CONFIG}: it is not a checkpoint folder") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CheckpointError(f"{path} is corrupt: {e}") from None
    if not isinstance(config, dict):
        raise CheckpointError(f"{path} is corrupt: it holds a {type(config).__name__}, not a JSON object")
    missing = [k for k in ("model_type", "model", "vocab") if k not in config]
    if missing:
        raise CheckpointError(f"{path} lacks {', '.join(missing)}")
    version = config.get("format_version", 1)
    if not isinstance(version, int) or version < 1:
        raise CheckpointError(f"{path} has no valid format_version ({version!r})")
    if version > FORMAT_VERSION:
        raise CheckpointError(f"{path} is format {version}; this code reads up to {FORMAT_VERSION}")
    if not isinstance(config["model"], dict) or not isinstance(config["vocab"], list):
        raise CheckpointError(f"{path} is corrupt: 'model' must be an object and 'vocab' a list of characters")
    return config


def read_run_record(config: dict) -> RunRecord:
    """The run's record from either format: 2 stores it as `run`, 1 kept a free-form `info`."""
    if config.get("format_version", 1) >= 2:
        return RunRecord.from_json(config.get("run", {}))
    return RunRecord.from_v1_info(config.get("info", {}))


def load(path_or_repo_id: str | Path, device: str | torch.device = "cpu", timeout: float = HUB_TIMEOUT
         ) -> LanguageModel:
    """Load a checkpoint folder or Hub repo id onto `device` ("cpu", "cuda", "mps"): an fp32
    model in eval mode, with `.tokenizer`, `.run` (what its run knows) and `.history`."""
    folder = resolve(path_or_repo_id, timeout)
    config = read_config(folder)
    weights = folder / WEIGHTS
    if not weights.is_file():
        raise CheckpointError(f"{folder} has no {WEIGHTS}")
    check_layers(config, weights)           # before anything is built: 100,000 layers cost minutes even on meta
    try:
        tokenizer = CharTokenizer.from_json(config["vocab"])
        run = read_run_record(config)
        params = count_params(config["model_type"], **config["model"])
    except (TypeError, ValueError, RuntimeError) as e:      # RuntimeError: sizes past what torch can hold
        raise CheckpointError(f"{folder / CONFIG} describes no valid model: {e}") from None
    if config["model"].get("vocab_size") != tokenizer.vocab_size:
        raise CheckpointError(f"{folder / CONFIG}: vocab_size {config['model'].get('vocab_size')} "
                              f"but {tokenizer.vocab_size} characters in the vocabulary")
    if weights.stat().st_size < 2 * params:     # at least 2 bytes a parameter (bf16/fp16)
        raise CheckpointError(f"{weights} does not match {CONFIG}: {params:,} parameters cannot fit in "
                              f"{weights.stat().st_size:,} bytes")
    model = build_model(config["model_type"], **config["model"])
    try:
        load_model(model, str(weights), strict=True)
    except (SafetensorError, RuntimeError, ValueError, OSError) as e:
        raise CheckpointError(f"{weights} does not match {CONFIG} or is corrupt: {_first_line(e)}") from None
    model.tokenizer = tokenizer
    model.run = run
    model.history = load_history(folder)
    return model.float().to(device).eval()


_LAYER = re.compile(r"^(?:blocks|layers)\.(\d+)\.")     # the GPT's and the ladder's layer stacks
WEIGHTLESS_LAYERS = 64
"""The most layers a config may claim when its layers hold no weights (the ladder's averaging
rung): nothing in the file to count them against."""


def check_layers(config: dict, weights: Path) -> None:
    """The config's layer count against the layers the weights file holds, read from its
    header alone (a few kB): a config that claims other layers than were saved is refused
    before a single module is made."""
    n_layer = config["model"].get("n_layer")
    if n_layer is None:
        return
    try:
        with safe_open(str(weights), framework="pt") as f:
            names = list(f.keys())
    except (SafetensorError, OSError) as e:
        raise CheckpointError(f"{weights} is corrupt: {_first_line(e)}") from None
    saved = 1 + max((int(m.group(1)) for name in names if (m := _LAYER.match(name))), default=-1)
    whole = isinstance(n_layer, int) and not isinstance(n_layer, bool)
    if saved == 0 and whole and 1 <= n_layer <= WEIGHTLESS_LAYERS:
        return
    if not whole or n_layer != saved:
        raise CheckpointError(f"{weights.parent / CONFIG} says n_layer={n_layer!r}, but {WEIGHTS} holds "
                              f"{saved} layer{'s' if saved != 1 else ''}")


def load_history(folder: str | Path) -> list[dict]:
    path = Path(folder) / HISTORY
    if not path.is_file():
        return []
    try:
        history = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise CheckpointError(f"{path} is corrupt: {e}") from None
    if not isinstance(history, list) or not all(isinstance(h, dict) for h in history):
        raise CheckpointError(f"{path} is corrupt: it must be a list of evaluation records")
    return history


def load_training_state(folder: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]] | None:
    """The (tensors, json) a trainer saved to resume from, or None for a finished checkpoint."""
    folder = Path(folder)
    if not (folder / STATE_TENSORS).is_file():
        return None
    try:
        return load_file(str(folder / STATE_TENSORS)), json.loads((folder / STATE_JSON).read_text())
    except (SafetensorError, OSError, json.JSONDecodeError) as e:
        raise CheckpointError(f"the training state in {folder} is corrupt: {e}") from None


def push_to_hub(folder: str | Path, repo_id: str, private: bool = False, token: str | None = None) -> str:
    """Upload a checkpoint folder's shippable files to a Hub model repo; returns its URL.
    `token` defaults to the one `hf auth login` stored."""
    from huggingface_hub import HfApi

    api = HfApi(token=token)
    url = api.create_repo(repo_id, private=private, exist_ok=True, repo_type="model")
    api.upload_folder(folder_path=str(folder), repo_id=repo_id, allow_patterns=HUB_FILES)
    return str(url)
