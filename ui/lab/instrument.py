"""What a Lab instrument declares, once: its name, its sub-tab, its link parameters, its code
view, and how it is drawn without a button press (when its sub-tab opens, the model changes,
or a link names it). The Lab (`ui/lab/__init__.py`) finds every module of this package that
defines `INSTRUMENT` and derives its sub-tabs, the link parameters, the page's list of
instruments and the code views from them; the endpoints an instrument's buttons call are
declared beside their handlers, with the docstring the API page and the assistants read.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, Callable, Hashable

import gradio as gr

from gpt.language_model import LanguageModel
from studio import inputs
from studio import lab as lab_views
from studio.code_views import CodeView
from studio.errors import REFUSALS
from studio.links import Param
from studio.zoo import SESSION_MODEL, ModelZoo

from ..links import unique_components
from ..shared import Shared

Values = dict[str, Any]        # a view's or a box's value, by the name the instrument gives it


@dataclass(frozen=True)
class Instrument:
    key: str                        # its name in links (lab=KEY) and its sub-tab's id (lab-KEY)
    label: str                      # its sub-tab's label
    order: int                      # its place among the sub-tabs
    layout: Callable[["Bench"], "Drawing | None"]   # lays out its components inside its sub-tab, wires its buttons
    params: tuple[Param, ...] = ()  # the link parameters it reads (its boxes say which, by `Drawing.carried`)
    code: CodeView | None = None    # "The code" under it (`Bench.code_part` places it)

    @property
    def tab_id(self) -> str:
        return f"lab-{self.key}"


@dataclass(frozen=True)
class Context:
    """The model an instrument measures, as a request names it."""
    zoo: ModelZoo
    model_name: str
    model: LanguageModel


@dataclass(eq=False)                # hashed by identity: the key of the shipped models' remembered parts
class Drawing:
    """How an instrument is drawn without its button. `read` checks what its boxes hold (raising
    a refusal in words), `measure` computes its part (plain data, kept for shipped models on the
    page's defaults), `page` turns a part into its views' values; `cleared(message)` is its
    views emptied with `message` in its note. Every name is a key of `boxes` or `views`."""
    boxes: dict[str, gr.components.Component]          # what it reads, by name
    views: dict[str, gr.components.Component]          # what it writes, by name
    read: Callable[[Values], Hashable]
    measure: Callable[[Context, Hashable], Any]
    page: Callable[[Any], Values]
    cleared: Callable[[str], Values]
    note: str                                          # the view its progress and refusals show in
    carried: dict[str, str] = field(default_factory=dict)     # link parameter -> box name
    follow: Callable[[LanguageModel | None], Values] | None = None   # on every model change (the heads' boxes)
    linked: Callable[[Context, Values, Any], Values] | None = None   # more from a link: fn(context, values, link)

    @property
    def outputs(self) -> list:
        """What its drawing writes (a box it sets, as the Surprisal position, is among its views):
        only these are a listener's outputs, since each output costs the page at every answer."""
        return unique_components(list(self.views.values()))

    def defaults(self) -> Values:
        """What the boxes hold when the page opens."""
        return {name: box.value for name, box in self.boxes.items()}

    def on_page(self, values: Values) -> Values:
        """Names to components' values (`{views[name]: value}`) for a handler's answer."""
        return {self.views[name]: value for name, value in values.items()}

    def opened(self, context: Context, values: Values) -> Values:
        """The instrument on what its boxes hold, or its refusal in its note. A shipped model's part
        on the page's defaults is the same for every student: it is computed once."""
        try:
            given = self.read(values)
            shipped = context.model_name != SESSION_MODEL and context.zoo.sources.get(context.model_name) is not None
            if shipped and given == self.read(self.defaults()):
                part = _remembered(self, context.zoo, context.model_name)
            else:
                part = self.measure(context, given)
        except REFUSALS as e:
            return self.cleared(str(e))
        return self.page(part)


@functools.lru_cache(maxsize=256)          # every shipped model's parts, many times over
def _remembered(drawing: Drawing, zoo: ModelZoo, model_name: str):
    return drawing.measure(Context(zoo, model_name, zoo.get(model_name)), drawing.read(drawing.defaults()))


@dataclass(frozen=True)
class Bench:
    """What an instrument's layout is given: the page's shared parts and the sub-tab it fills."""
    shared: Shared
    instrument: Instrument
    tab: gr.Tab
    laid_out: dict[str, Drawing]           # the instruments before it, by key

    def box(self, instrument: str, name: str) -> gr.components.Component:
        """A box of an instrument laid out before this one (the knockout measures the Surprisal text)."""
        return self.laid_out[instrument].boxes[name]

    @property
    def zoo(self) -> ModelZoo:
        return self.shared.zoo

    @property
    def max_prompt(self) -> int:
        return self.shared.resources.settings.max_prompt_chars

    def pick(self, name, trained) -> LanguageModel:
        return self.shared.pick(name, trained)

    def code_part(self, text=None) -> gr.Accordion:
        """The instrument's "The code" part, its shapes measured on `text`'s value."""
        return self.shared.code_part(self.instrument.code, text)

    inference = dict(concurrency_id="inference")
    """A button's listener: the model work of every tab shares one line of workers."""


def lab_text(text) -> str:
    """A text an instrument reads (its limit: studio.lab.MAX_LAB_CHARS)."""
    return inputs.text(text, "text", lab_views.MAX_LAB_CHARS)
