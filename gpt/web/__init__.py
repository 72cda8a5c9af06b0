"""The static edition: a GPT checkpoint as a web page that runs the model in the visitor's browser.

    python -m gpt.web checkpoints/shakespeare-gpt site/      # then serve site/ with any static server

The page needs no Python and no server beyond one that sends files: the model runs in the
browser with ONNX Runtime Web, from an ONNX graph built from the checkpoint's own weights
(`gpt.web.graph`), so a class of 300 costs the host nothing but bytes. It writes text
(temperature, top-k, top-p, seed; greedy text identical to `gpt.generate`), the next-character
distribution at every step and each head's attention. Training and the Lab stay in the app.

A site folder holds:

    index.html, app.js, gpt.js, style.css   the page (gpt/web/page/)
    model.onnx                              the forward pass with the weights
    model.json                              vocabulary, sizes and the run's facts
    vendor/                                 ONNX Runtime Web and plotly.js, with their licences
    README.md                               a Hugging Face static Space's card (sdk: static)
"""
from __future__ import annotations

import io
import json
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

from ..data import NAMED_CORPORA
from ..errors import UsageError
from ..language_model import LanguageModel

PAGE = Path(__file__).parent / "page"
VENDOR = Path(__file__).parent / "vendor"
RUNTIME_FILES = ("ort.wasm.min.mjs", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm")
DEFAULT_PROMPTS = {"shakespeare": "ROMEO:\n", "names": ""}


@dataclass(frozen=True)
class Site:
    """What an export wrote: where, and how many bytes a visitor downloads."""

    folder: Path
    files: dict[str, int]            # relative path -> bytes

    @property
    def total_bytes(self) -> int:
        return sum(self.files.values())


def unavailable_reason(model: LanguageModel) -> str | None:
    """Why `model` cannot become a static page, or None when it can."""
    from ..model import GPT
    from ..onnx_graph import onnx

    if not isinstance(model, GPT):
        return (f"the static edition runs a GPT; this checkpoint is {model.kind}, "
                "which the app shows but the page does not (export a GPT checkpoint)")
    if onnx is None:
        return "the onnx package is not installed (pip install onnx)"
    return None


def plotly_js() -> Path:
    """plotly.js as the pinned plotly Python package ships it (no second copy to keep)."""
    import plotly

    path = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    if not path.is_file():
        raise UsageError(f"plotly.min.js is missing from the plotly package ({path}); reinstall plotly")
    return path


def facts(model: LanguageModel, name: str) -> dict:
    """model.json: what the page needs to encode, decode and describe the model."""
    run = model.run
    spec = NAMED_CORPORA.get(run.corpus or "")
    c = model.config
    return {
        "title": run.title or name,
        "corpus": spec.title if spec else run.corpus,
        "line_framed": bool(run.line_framed),
        "val_loss": run.evaluation.val_loss if run.evaluation else None,
        "steps": run.step,
        "params": model.num_params(),
        "config": {"vocab_size": c.vocab_size, "block_size": c.block_size, "n_layer": c.n_layer,
                   "n_head": c.n_head, "n_embd": c.n_embd},
        "vocab": model.tokenizer.chars,
        "default_prompt": DEFAULT_PROMPTS.get(run.corpus or "", ""),
        "onnx": "model.onnx",
    }


def space_card(about: dict) -> str:
    """The README.md that makes the folder a Hugging Face static Space as it is."""
    return "\n".join([
        "---",
        f"title: {json.dumps(about['title'][:60])}",
        "emoji: 🎭",
        "colorFrom: indigo",
        "colorTo: yellow",
        "sdk: static",
        "app_file: index.html",
        "license: mit",
        "short_description: A character-level GPT that runs in your browser",
        "---",
        "",
        f"# {about['title']}",
        "",
        f"A character-level GPT ({about['params']:,} parameters"
        + (f", trained on {about['corpus']}" if about["corpus"] else "") + ") that writes in your browser:",
        "the model runs on your device with ONNX Runtime Web; this Space only serves the files.",
        "Made with tinyshakespeare-gpt's `python -m gpt.web`.",
        "",
    ])


def export(source: LanguageModel | str | Path, out_dir: str | Path, name: str | None = None) -> Site:
    """Write the static site of `source` (a loaded GPT, a checkpoint folder or a Hub repo id)
    into `out_dir`, which must not exist or be empty. Returns what was written."""
    from .. import checkpoint
    from .graph import window_graph

    out = Path(out_dir)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UsageError(f"{out} already exists and is not an empty folder: choose a new folder "
                         "(the export never overwrites files)")
    if isinstance(source, LanguageModel):
        model, name = source, name or "your model"
    else:
        model, name = checkpoint.load(source), name or Path(str(source)).name
    if model.tokenizer is None:
        raise UsageError("the model has no tokenizer; load it with gpt.load() or set model.tokenizer")
    if (reason := unavailable_reason(model)) is not None:
        raise UsageError(reason)
    about = facts(model, name)
    graph = window_graph(model).SerializeToString()      # reads the weights, changes nothing
    out.mkdir(parents=True, exist_ok=True)
    for page_file in PAGE.iterdir():
        shutil.copyfile(page_file, out / page_file.name)
    (out / "vendor" / "onnxruntime-web").mkdir(parents=True)
    for runtime_file in RUNTIME_FILES:
        shutil.copyfile(VENDOR / "onnxruntime-web" / runtime_file, out / "vendor" / "onnxruntime-web" / runtime_file)
    shutil.copyfile(VENDOR / "LICENSE-onnxruntime-web", out / "vendor" / "LICENSE-onnxruntime-web")
    shutil.copyfile(plotly_js(), out / "vendor" / "plotly.min.js")
    (out / "model.onnx").write_bytes(graph)
    (out / "model.json").write_text(json.dumps(about, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    (out / "README.md").write_text(space_card(about), encoding="utf-8")
    files = {str(p.relative_to(out)): p.stat().st_size for p in sorted(out.rglob("*")) if p.is_file()}
    return Site(out, files)


def zipped(site: Site) -> bytes:
    """The site as one zip file holding its folder (unpack it anywhere, serve the folder)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in site.files:
            archive.write(site.folder / name, f"{site.folder.name}/{name}")
    return buffer.getvalue()


def push_space(site: Site, repo_id: str, token: str | None = None, private: bool = False) -> str:
    """Create (or update) the Hugging Face static Space `repo_id` with the site; its URL."""
    from huggingface_hub import HfApi

    api = HfApi(token=token)
    api.create_repo(repo_id, repo_type="space", space_sdk="static", private=private, exist_ok=True)
    api.upload_folder(folder_path=str(site.folder), repo_id=repo_id, repo_type="space",
                      commit_message="Static edition from tinyshakespeare-gpt (python -m gpt.web)")
    return f"https://huggingface.co/spaces/{repo_id}"
