"""The code behind each view: the lines of `gpt/` that computed it, read from the source files
when asked (so they cannot drift from what runs), with the shapes its tensors had.

The shapes are not written by hand either: the view's own computation is run once more on the
chosen model and a short text under a tracer (`sys.settrace`, this thread only), which records
every tensor and array a shown function held when it returned. A function called many times
(once per layer, once per character) shows its last call.
"""
from __future__ import annotations

import inspect
import sys
import textwrap
from copy import deepcopy
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from types import CodeType
from typing import Callable

import numpy as np
import torch

from gpt import lecture
from gpt.data import Corpus
from gpt.diagnostics import Diagnostics
from gpt.generation import SamplingSettings, sample_ids
from gpt.introspect import attention_maps
from gpt.ladder_model import LadderModel
from gpt.language_model import LanguageModel
from gpt.records import TrainConfig
from gpt.trainer import Trainer

ROOT = Path(__file__).absolute().parents[1]
LECTURE = "https://www.youtube.com/watch?v=kCc8FmEb1nY"
"""Andrej Karpathy's "Let's build GPT: from scratch, in code, spelled out." (the lecture this app follows)."""
EXAMPLE_CHARS = 24
"""The traced run reads this many characters: enough for every shape, short enough to be instant."""


@dataclass(frozen=True)
class CodeView:
    title: str
    functions: tuple[str, ...]                      # dotted names under gpt/, in reading order
    run: Callable[[LanguageModel, str], object] | None = None   # the view's computation, for the shapes
    lecture: tuple[tuple[str, int], ...] = ()       # (the lecture's chapter, its start in seconds)
    needs_attention: bool = False
    example: str = ""                               # what the traced run reads, when it is not the model's text


def _decode(model: LanguageModel, text: str) -> None:
    ids = model.tokenizer.encode(text)
    for _ in sample_ids(model, ids, 4, SamplingSettings(0.8, None, None), seed=0, engine="torch"):
        pass


def _diagnostics(model: LanguageModel, text: str) -> None:
    """One watched training step, on a copy: the chosen model (shared by every visitor) is never hooked or changed."""
    copy = deepcopy(model).train()
    watch = Diagnostics(copy, every=1)
    optimizer = torch.optim.AdamW(copy.parameters(), lr=1e-3)
    ids = torch.tensor([model.tokenizer.encode(text)], device=model.device)
    watch.begin(1)
    _, loss = copy(ids[:, :-1], ids[:, 1:])
    loss.backward()
    watch.after_backward()
    optimizer.step()
    watch.after_update()


def _loss(model: LanguageModel, text: str) -> None:
    ids = torch.tensor([model.tokenizer.encode(text)], device=model.device)
    with torch.inference_mode():
        model(ids[:, :-1], ids[:, 1:])


def _train_step(model: LanguageModel, text: str) -> None:
    """Two steps of the trainer on a copy, over the text repeated into a corpus long enough for the
    model's context: the chosen model (shared by every visitor) is never changed."""
    copy = deepcopy(model)
    window = model.training_window(line_framed=False)
    repeats = -(-12 * (window + 2) // max(len(text), 1))        # its val split (a tenth) holds a window
    dataset = copy.dataset_for(Corpus.from_text(text * repeats, name="the example text"))
    with torch.random.fork_rng(devices=[]):          # the trainer seeds torch's global generator: put it back
        trainer = Trainer(copy, dataset, TrainConfig(max_steps=2, batch_size=2, eval_batches=1, eval_interval=2,
                                                     warmup_steps=1))
        for _ in trainer.run():
            pass


def _trick(model: LanguageModel, text: str) -> None:
    lecture.averaging_trick()
    lecture.scaling_demo()
    if isinstance(model, LadderModel):                   # a rung chosen above: its own forward pass too
        with torch.inference_mode():
            model(torch.tensor([model.tokenizer.encode(text)], device=model.device))


VIEWS: dict[str, CodeView] = {          # the tabs' views; each Lab instrument declares its own (ui/lab/)
    "attention": CodeView("Attention maps", (
        "gpt.introspect.attention_maps", "gpt.model.GPT.attention_maps", "gpt.model.GPT._run",
        "gpt.model.CausalSelfAttention.forward"), lambda m, t: attention_maps(m, t), needs_attention=True,
        lecture=(("version 4: self-attention", 3720), ("multi-headed self-attention", 4919))),
    "generate": CodeView("Decoding with the KV cache, and the next-character distribution", (
        "gpt.generation.sample_ids", "gpt.generation.next_token_probs", "gpt.generation.scaled",
        "gpt.model.KVCache.store", "gpt.model.CausalSelfAttention.forward"), _decode,
        lecture=(("simplest baseline: bigram language model, loss, generation", 1331),)),
    "loss": CodeView("The loss: cross-entropy of the next character, over a split", (
        "gpt.language_model.LanguageModel.loss", "gpt.trainer.Trainer.evaluate", "gpt.metrics.split_loss"), _loss,
        lecture=(("simplest baseline: bigram language model, loss, generation", 1331),)),
    "train": CodeView("Training: one step of the loop, the learning rate and the optimizer", (
        "gpt.trainer.Trainer.run", "gpt.trainer.lr_at", "gpt.optimizers.make_optimizer"), _train_step,
        lecture=(("training the bigram model", 2151),),
        example="two training steps of a copy of the chosen model on the view's text, repeated"),
    "diagnostics": CodeView("Training diagnostics", ("gpt.diagnostics.activation_stats",
                                                     "gpt.diagnostics.Diagnostics.after_backward",
                                                     "gpt.diagnostics.Diagnostics.after_update"), _diagnostics,
                            example="one training step of a copy of the chosen model on a short text"),
    "ladder": CodeView("The ladder's rungs and the averaging trick", (
        "gpt.ladder_model.CausalAverage.forward", "gpt.ladder_model.LadderBlock.forward",
        "gpt.ladder_model.LadderModel._run", "gpt.lecture.averaging_trick", "gpt.lecture.scaling_demo"), _trick,
        lecture=(("version 1: averaging past context with for loops", 2533),
                 ("the trick in self-attention: matrix multiply as weighted aggregation", 2831),
                 ("version 3: adding softmax", 3282), ("scaled self-attention: why divide by sqrt(head_size)", 4616),
                 ("residual connections", 5208), ("layernorm", 5571)),
        example="the lecture's seeded examples (T=8, C=2; and a rung's forward pass when a ladder model is chosen)"),
}


@dataclass(frozen=True)
class Excerpt:
    name: str                       # e.g. "CausalSelfAttention.forward"
    path: str                       # relative to the repository, e.g. "gpt/model.py"
    first: int
    last: int
    source: str
    code: CodeType


def resolve(dotted: str):
    """The function a dotted name under gpt/ names (decorators such as @contextmanager looked through)."""
    parts = dotted.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            obj = import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for attribute in parts[cut:]:
            obj = getattr(obj, attribute)
        return inspect.unwrap(obj)
    raise ValueError(f"{dotted} names no module")


def excerpt(dotted: str) -> Excerpt:
    fn = resolve(dotted)
    lines, first = inspect.getsourcelines(fn)
    path = Path(inspect.getsourcefile(fn)).absolute().relative_to(ROOT).as_posix()   # as imported: links not followed
    return Excerpt(fn.__qualname__, path, first, first + len(lines) - 1, textwrap.dedent("".join(lines)).rstrip(),
                   fn.__code__)


def traced_shapes(run: Callable[[], object], codes: set[CodeType]) -> dict[CodeType, dict[str, tuple]]:
    """Run `run()` and record, for each function whose code is in `codes`, the shape of every
    tensor or array among its locals as it returned (its last call wins)."""
    seen: dict[CodeType, dict[str, tuple]] = {}

    def on_return(frame, event, arg):
        if event == "return":
            shapes = {name: tuple(value.shape) for name, value in frame.f_locals.items()
                      if isinstance(value, (torch.Tensor, np.ndarray)) and not name.startswith("_")}
            if isinstance(arg, (torch.Tensor, np.ndarray)):
                shapes["(returned)"] = tuple(arg.shape)
            seen[frame.f_code] = shapes
        return on_return

    def on_call(frame, event, arg):
        return on_return if frame.f_code in codes else None

    previous = sys.gettrace()
    sys.settrace(on_call)
    try:
        run()
    finally:
        sys.settrace(previous)
    return seen


def source_link(excerpt_: Excerpt, base_url: str | None) -> str | None:
    """Where the file can be read at these lines: `base_url` + path + a line anchor."""
    if not base_url:
        return None
    return f"{base_url.rstrip('/')}/{excerpt_.path}#L{excerpt_.first}-L{excerpt_.last}"


def example_text(model: LanguageModel, text: str | None) -> str:
    """The traced run's text: the end of the view's own text in the model's characters (or a default)."""
    known = set(model.tokenizer.chars)
    kept = "".join(c for c in (text or "") if c in known)[-EXAMPLE_CHARS:]
    fallback = "".join(c for c in "ROMEO:\nWhat light is this?" if c in known)
    return kept if len(kept) >= 8 else (fallback or model.tokenizer.chars[0] * EXAMPLE_CHARS)


def _shape(shape: tuple) -> str:
    return "(" + ", ".join(str(n) for n in shape) + ")" if shape else "scalar"


def code_markdown(view: CodeView, model: LanguageModel | None = None, text: str | None = None,
                  base_url: str | None = None) -> str:
    """The view's code as Markdown: each function's lines with its file and line numbers, and
    the shapes its tensors had on `model` reading (the end of) `text`."""
    excerpts = [excerpt(name) for name in view.functions]
    shapes: dict[CodeType, dict[str, tuple]] = {}
    ran = ""
    if view.run is not None and model is not None and (model.has_attention or not view.needs_attention):
        sample = example_text(model, text)
        try:
            shapes = traced_shapes(lambda: view.run(model, sample), {e.code for e in excerpts})
            ran = f" on {view.example or f'{model.kind} reading {len(sample)} characters'}"
        except Exception as e:                    # noqa: BLE001 - the code is still shown, without shapes
            ran = f" (not measured: {type(e).__name__})"
    parts = [f"**{view.title}**: the functions of `gpt/` that compute it, as they are in the files this app runs."
             + (f" Tensor shapes measured{ran}." if ran else "")]
    if view.lecture:
        parts.append("In the lecture: " + " · ".join(f"[{title}]({LECTURE}&t={seconds}s)"
                                                   for title, seconds in view.lecture))
    for e in excerpts:
        link = source_link(e, base_url)
        where = f"[`{e.path}` lines {e.first}–{e.last}]({link})" if link else f"`{e.path}` lines {e.first}–{e.last}"
        parts.append(f"#### `{e.name}` · {where}\n```python\n{e.source}\n```")
        if e.code in shapes and shapes[e.code]:
            parts.append("Shapes when it returned: " + " · ".join(f"`{name}` {_shape(shape)}"
                                                                  for name, shape in shapes[e.code].items()))
    return "\n\n".join(parts)
