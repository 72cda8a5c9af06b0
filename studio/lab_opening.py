"""What the Lab shows before anyone presses a button: the instrument on screen run on what its
boxes hold (by default a val passage, the prompt "ROMEO:", the lens sentence, a random string,
a fresh sample), so that opening it, or switching the model, shows measured answers.

Each instrument is one part, computed when it is opened: one that refuses the model (a bigram
has no heads to knock out) carries its message. A shipped model's parts are remembered, since
they are the same for every student: a class opening the Lab pays for each part once.
"""
from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from typing import Callable, TypeVar

import plotly.graph_objects as go

from gpt.generation import MAX_SEED
from gpt.language_model import LanguageModel

from . import lab as lab_views
from .errors import REFUSALS
from .inputs import whole
from .zoo import SESSION_MODEL, ModelZoo

COPYING_MODEL = "copying-gpt"
"""The GPT trained where copying pays: the induction instrument's reference."""
DEFAULT_PROMPT = "ROMEO:\n"
OPENING_SAMPLE_CHARS = 200
"""Characters regenerated with and without a head when the knockout opens (its slider's default)."""
MEMO_MIN_LEN = 20

Highlighted = list[tuple[str, float | str | None]]
Part = TypeVar("Part")


@dataclass(frozen=True)
class Refused:
    """An instrument that cannot run on this model, and why (shown in its note)."""
    message: str


@dataclass(frozen=True)
class SurprisalPart:
    highlighted: Highlighted
    note: str
    position: int                   # the most surprising character, inspected below
    bars: go.Figure | None
    rows: go.Figure | None
    prediction_note: str


@dataclass(frozen=True)
class KnockoutPart:
    figure: go.Figure | None
    note: str
    head_choices: list[str]
    removed: list[str]              # ticked in the boxes, named in the note, removed in `knocked`: one set
    intact: str
    knocked: str
    regenerate_note: str


@dataclass(frozen=True)
class LensPart:
    figure: go.Figure | None
    note: str
    table: str


@dataclass(frozen=True)
class InductionPart:
    copies: go.Figure | None
    heat: go.Figure | None
    formation: go.Figure | None
    note: str


@dataclass(frozen=True)
class MemorisedPart:
    sample: str | None              # the fresh sample checked (None: the typed text was checked)
    highlighted: Highlighted
    note: str


def most_surprising_position(highlighted: Highlighted) -> int:
    """The position of the character the model found most surprising (the first character,
    having no context, is never chosen; ties go to the earliest)."""
    scores = [score for _, score in highlighted[1:]]
    if not scores:
        return 1
    return 1 + max(range(len(scores)), key=lambda i: scores[i] if scores[i] is not None else float("-inf"))


def induction_part(zoo: ModelZoo, model_name: str, model: LanguageModel, length, seed,
                   kind: str = "random") -> InductionPart:
    """The chosen model's copies and induction scores beside the copying GPT's, and that GPT's formation."""
    chosen = [(model_name, model, zoo.precomputed(model_name))]
    has_copier = COPYING_MODEL in zoo.sources
    if model_name != COPYING_MODEL and has_copier:
        chosen.append((COPYING_MODEL, zoo.get(COPYING_MODEL), zoo.precomputed(COPYING_MODEL)))
    copies, heat, note = lab_views.induction_view(chosen, whole(length, "string length"),
                                                  whole(seed, "seed", 0, MAX_SEED), kind)
    formation = lab_views.formation_view(zoo.get(COPYING_MODEL), COPYING_MODEL) if has_copier else None
    return InductionPart(copies, heat, formation, note)


def _attempt(compute: Callable[[], Part]) -> Part | Refused:
    try:
        return compute()
    except REFUSALS as e:
        return Refused(str(e))


PARTS = ("surprisal", "knockout", "lens", "induction", "memorised")
"""The Lab's instruments, in the order of its sub-tabs."""


@dataclass(frozen=True)
class OpeningInputs:
    """What the page holds when an instrument opens: the part uses these, so the figures it
    shows agree with the boxes beside them."""
    text: str = ""                       # the Surprisal box (empty: the default val passage)
    prompt: str = DEFAULT_PROMPT         # knockout's regeneration
    length: int = OPENING_SAMPLE_CHARS
    seed: int = 0
    lens_text: str = lab_views.DEFAULT_LENS_TEXT
    lens_position: int = 10
    induction_length: int = 60
    induction_seed: int = 0
    induction_kind: str = "random"
    memo: str = ""                       # the Memorisation box (empty: a fresh sample)


def _surprisal(model: LanguageModel, text: str) -> SurprisalPart:
    view = lab_views.surprisal_view(model, text)
    position = most_surprising_position(view.highlighted)
    bars, rows, note = lab_views.prediction_view(model, text, position)
    return SurprisalPart(view.highlighted, view.note, position, bars, rows, note)


def _knockout(zoo: ModelZoo, model_name: str, model: LanguageModel, given: OpeningInputs) -> KnockoutPart:
    figure, note, top = lab_views.knockout_view(model, model_name, None, "zero", zoo.precomputed(model_name))
    intact, knocked, regenerate_note = lab_views.regenerate_view(model, [top], given.prompt, given.length,
                                                                 given.seed)
    return KnockoutPart(figure, note, lab_views.head_choices(model), [top], intact, knocked, regenerate_note)


def _lens(model: LanguageModel, given: OpeningInputs) -> LensPart:
    figure, note = lab_views.lens_view(model, given.lens_text)
    return LensPart(figure, note, lab_views.lens_position_view(model, given.lens_text, given.lens_position))


def _memorised(model: LanguageModel, memo: str) -> MemorisedPart:
    if memo:
        return MemorisedPart(None, *lab_views.memorised_view(model, memo, MEMO_MIN_LEN))
    return MemorisedPart(*lab_views.memorised_sample_view(model, DEFAULT_PROMPT, min_len=MEMO_MIN_LEN))


def open_part(zoo: ModelZoo, model_name: str, model: LanguageModel, part: str,
              given: OpeningInputs = OpeningInputs()):
    """One instrument on what the page holds. A shipped model's answers on the page's default
    inputs are remembered (the same for every student), so a class opening the Lab pays for each
    once; a text a student typed is measured for that student and not kept."""
    if part not in PARTS:
        raise ValueError(f"no Lab part {part!r}")
    if given.text == _default_passage():
        given = dataclasses.replace(given, text="")      # the passage the page starts with: the default
    if model_name != SESSION_MODEL and zoo.sources.get(model_name) is not None and given == OpeningInputs():
        return _remembered(zoo, model_name, part)
    return _compute(zoo, model_name, model, part, given)


def _compute(zoo: ModelZoo, model_name: str, model: LanguageModel, part: str, given: OpeningInputs):
    compute = {
        "surprisal": lambda: _surprisal(model, given.text or _default_passage()),
        "knockout": lambda: _knockout(zoo, model_name, model, given),
        "lens": lambda: _lens(model, given),
        # 60 characters, or as many as fit twice in the block
        "induction": lambda: induction_part(zoo, model_name, model,
                                            max(2, min(given.induction_length, model.block_size // 2)),
                                            given.induction_seed, given.induction_kind),
        "memorised": lambda: _memorised(model, given.memo),
    }[part]
    return _attempt(compute)


_default_passage = functools.cache(lab_views.default_passage)


@functools.lru_cache(maxsize=256)          # every shipped model's five parts, many times over
def _remembered(zoo: ModelZoo, model_name: str, part: str):
    return _compute(zoo, model_name, zoo.get(model_name), part, OpeningInputs())

