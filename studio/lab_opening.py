"""What the Lab shows before anyone types: every instrument run on a default input, so that
opening the tab (or switching the model with it open) shows measured answers, not empty boxes.

Each instrument's part is computed on its own: one that refuses the model (a bigram has no
heads to knock out) carries its message, and the others still show.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, TypeVar

import plotly.graph_objects as go

from gpt.generation import MAX_SEED
from gpt.language_model import LanguageModel

from . import lab as lab_views
from .errors import REFUSALS
from .inputs import whole
from .zoo import ModelZoo

COPYING_MODEL = "copying-gpt"
"""The GPT trained where copying pays: the induction instrument's reference."""
DEFAULT_PROMPT = "ROMEO:\n"
OPENING_SAMPLE_CHARS = 200
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


@dataclass(frozen=True)
class LabOpening:
    surprisal: SurprisalPart | Refused
    knockout: KnockoutPart | Refused
    lens: LensPart | Refused
    induction: InductionPart | Refused
    memorised: MemorisedPart | Refused


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


def open_lab(zoo: ModelZoo, model_name: str, model: LanguageModel, memo: str = "") -> LabOpening:
    """Every instrument on its default input: a val passage's surprisal with its most surprising
    character inspected; the knockout grid with the same prompt regenerated without the most
    important head; the logit lens; induction; and the typed Memorisation text checked, or a
    fresh sample when none is typed."""
    passage = lab_views.default_passage()

    def surprisal() -> SurprisalPart:
        view = lab_views.surprisal_view(model, passage)
        position = most_surprising_position(view.highlighted)
        bars, rows, note = lab_views.prediction_view(model, passage, position)
        return SurprisalPart(view.highlighted, view.note, position, bars, rows, note)

    def knockout() -> KnockoutPart:
        figure, note, top = lab_views.knockout_view(model, model_name, None, "zero", zoo.precomputed(model_name))
        intact, knocked, regenerate_note = lab_views.regenerate_view(model, [top], DEFAULT_PROMPT,
                                                                     OPENING_SAMPLE_CHARS, 0)
        return KnockoutPart(figure, note, lab_views.head_choices(model), [top], intact, knocked, regenerate_note)

    def lens() -> LensPart:
        figure, note = lab_views.lens_view(model, lab_views.DEFAULT_LENS_TEXT)
        return LensPart(figure, note, lab_views.lens_position_view(model, lab_views.DEFAULT_LENS_TEXT, 10))

    def memorised() -> MemorisedPart:
        if memo:
            return MemorisedPart(None, *lab_views.memorised_view(model, memo, MEMO_MIN_LEN))
        return MemorisedPart(*lab_views.memorised_sample_view(model, DEFAULT_PROMPT, min_len=MEMO_MIN_LEN))

    length = max(2, min(60, model.block_size // 2))         # 60 characters, or as many as fit twice
    return LabOpening(_attempt(surprisal), _attempt(knockout), _attempt(lens),
                      _attempt(lambda: induction_part(zoo, model_name, model, length, 0)), _attempt(memorised))

