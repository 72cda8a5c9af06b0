"""Lab: measured answers about the chosen model, one sub-tab per instrument. Each instrument is
one module of this package, declaring an `INSTRUMENT` (`instrument.Instrument`): the Lab finds
them, lays them out in their order, and draws the one on screen on what its boxes hold when the
Lab or its sub-tab opens, when the model changes, or when a link names it."""
from __future__ import annotations

import functools
import importlib
import pkgutil
from dataclasses import dataclass

import gradio as gr

from studio.code_views import CodeView
from studio.links import Param, ViewLink
from studio.resources import Resources
from studio.zoo import SESSION_MODEL

from ..links import unique_components
from ..refusals import REFUSALS
from ..shared import Shared, on_tab_opened
from ..tab import Desk, TabDrawing, TabSpec, Values
from .instrument import Bench, Context, Drawing, Instrument

DESCRIPTION = ("Measured answers about the model chosen above: where it is surprised, which heads matter, "
               "which layer knows the answer, whether it copies, and what it memorised.")


@functools.cache
def instruments() -> tuple[Instrument, ...]:
    """Every module of this package that declares an INSTRUMENT, in their order."""
    found = []
    for module in pkgutil.iter_modules(__path__):
        declared = getattr(importlib.import_module(f"{__name__}.{module.name}"), "INSTRUMENT", None)
        if isinstance(declared, Instrument):
            found.append(declared)
    keys = [i.key for i in found]
    if len(set(keys)) != len(keys):
        raise RuntimeError(f"two Lab instruments share a key: {sorted(keys)}")
    return tuple(sorted(found, key=lambda i: (i.order, i.key)))


def keys() -> tuple[str, ...]:
    """The instruments' names, as links and the page's script spell them (the first is the default)."""
    return tuple(i.key for i in instruments())


def link_params() -> list[Param]:
    """The link parameters of the Lab: which instrument, and what each one's boxes carry."""
    names = keys()
    return [Param("lab", "choice", names[0], choices=names, label="Lab instrument"),
            *(p for i in instruments() for p in i.params)]


def code_views() -> dict[str, CodeView]:
    return {i.key: i.code for i in instruments() if i.code is not None}


@dataclass(frozen=True)
class LabWiring:
    """What tests drive: the Lab's drawing (its part of a model switch), and each instrument's by key."""
    drawing: TabDrawing
    drawings: dict[str, Drawing]
    resources: Resources

    def switched(self, model_name: str, open_tab: str = "lab", key: str = "knockout",
                 typed: dict[tuple[str, str], object] | None = None) -> dict:
        """The Lab's part of a switch to `model_name`, the boxes holding their defaults but for
        `typed` ({(instrument, box name): value})."""
        values = {name: component.value for name, component in self.drawing.reads.items()}
        values |= dict(model=model_name, trained=None, open_tab=open_tab, part=key, fresh={})
        values |= {_box_name(instrument, name): value for (instrument, name), value in (typed or {}).items()}
        return self.drawing.on_page(self.drawing.model(values))

    def warm(self) -> None:
        """The first instrument on the default model, as the Lab first shows it (remembered for every visitor)."""
        zoo, name = self.resources.zoo, self.resources.default_model
        first = self.drawings.get(keys()[0])
        if name is not None and first is not None:
            first.opened(Context(zoo, name, zoo.get(name)), first.defaults())


def layout(desk: Desk) -> TabDrawing:
    """Lays out the Lab, one sub-tab per instrument, and draws them without a button press."""
    shared = desk.shared
    with desk.tab():
        part_state = gr.State(keys()[0])          # the instrument on screen
        fresh_state = gr.State({})                 # instrument -> the model its figures show (shipped models only)
        gr.Markdown(DESCRIPTION)
        drawings: dict[str, Drawing] = {}
        with gr.Tabs(overflow_behavior="wrap") as sub_tabs:
            for instrument in instruments():
                with gr.Tab(instrument.label, id=instrument.tab_id) as tab:
                    drawing = instrument.layout(Bench(shared, instrument, tab, dict(drawings)))
                if drawing is not None:
                    drawings[instrument.key] = drawing
    lab = _wire(shared, sub_tabs, part_state, fresh_state, drawings)
    lab.parts = LabWiring(lab, drawings, shared.resources)
    return lab


def _box_name(instrument: str, name: str) -> str:
    """An instrument's box or view among the Lab's: INSTRUMENT.NAME."""
    return f"{instrument}.{name}"


def _wire(shared: Shared, sub_tabs: gr.Tabs, part_state: gr.State, fresh_state: gr.State,
          drawings: dict[str, Drawing]) -> TabDrawing:
    """The sub-tabs' own listener, and the Lab's drawing: on its opening, a model switch and a link,
    each draws the instrument on screen through its Drawing, by the names it gave its components."""
    reads = dict(model=shared.model, trained=shared.trained, open_tab=shared.open_tab, part=part_state,
                 fresh=fresh_state)
    reads |= {_box_name(key, name): box for key, d in drawings.items() for name, box in d.boxes.items()}
    views_by_name = dict(part=part_state, fresh=fresh_state, sub_tabs=sub_tabs)
    views_by_name |= {_box_name(key, name): view for key, d in drawings.items() for name, view in d.views.items()}
    box_components = unique_components([box for key, d in drawings.items() for box in d.boxes.values()])
    outputs = unique_components([c for d in drawings.values() for c in d.outputs]) + [fresh_state]
    notes = [d.views[d.note] for d in drawings.values()]
    of_label = {i.label: i.key for i in instruments()}
    tab_of = {i.key: i.tab_id for i in instruments()}

    def boxes_of(key: str, v: Values) -> Values:
        """An instrument's boxes' values, by its own names."""
        return {name: v[_box_name(key, name)] for name in drawings[key].boxes}

    def qualified(key: str, values: Values) -> Values:
        """An instrument's views' values, by their names among the Lab's."""
        return {_box_name(key, name): value for name, value in values.items()}

    def on_page(values: Values) -> dict:
        return {views_by_name[name]: value for name, value in values.items()}

    def context(model_name, trained) -> Context:
        return Context(shared.zoo, model_name, shared.pick(model_name, trained))

    def shown_for(key: str, v: Values, fresh) -> Values:
        """The instrument on screen measured for this model, unless it already shows it."""
        if v["model"] != SESSION_MODEL and fresh.get(key) == v["model"]:
            return {}
        drawing = drawings[key]
        try:
            page = drawing.opened(context(v["model"], v["trained"]), boxes_of(key, v))
        except REFUSALS as e:                       # the model itself refused (a broken checkpoint)
            page = drawing.cleared(str(e))
        return qualified(key, page) | {"fresh": {**fresh, key: v["model"]}}

    def instrument_opened(label, model_name, trained, fresh, *values):
        key = of_label.get(label)
        if key not in drawings:            # Features: the shipped SAE's, drawn from its own tables
            return {part_state: key or gr.skip()}
        by_box = dict(zip(box_components, values))
        v = dict(model=model_name, trained=trained) | {name: by_box[box] for name, box in reads.items()
                                                        if box in by_box}
        return {part_state: key} | on_page(shown_for(key, v, fresh))

    on_tab_opened(sub_tabs, instrument_opened, [shared.model, shared.trained, fresh_state, *box_components],
                  [part_state, *outputs], api_visibility="private", show_progress="minimal",
                  show_progress_on=notes)     # see 'Progress targets' in ui/shared.py

    def opened(v: Values) -> Values:
        return shown_for(v["part"], v, v["fresh"]) if v["part"] in drawings else {}

    def refresh(v: Values) -> Values:
        """A new model: what follows the model follows it, every instrument's figures of the last
        model are cleared, and with the Lab open the instrument on screen is measured at once (the
        others when they are opened)."""
        try:
            model = shared.pick(v["model"], v["trained"])
        except REFUSALS:
            model = None
        page = {"fresh": {}}
        for key, drawing in drawings.items():
            page |= qualified(key, drawing.cleared("") | (drawing.follow(model) if drawing.follow else {}))
        if v["open_tab"] == "lab" and v["part"] in drawings:
            page |= shown_for(v["part"], v, {})
        return page

    for key, drawing in drawings.items():
        for param, name in drawing.carried.items():
            shared.links.carry(param, drawing.boxes[name])

    def linked(link: ViewLink, v: Values) -> Values:
        """The instrument the link names, measured on the texts it carries (already in their boxes)."""
        key = link.get("lab", keys()[0])
        page = {"sub_tabs": gr.Tabs(selected=tab_of[key]), "part": key}
        if key not in drawings:            # selecting its sub-tab opens it, on the link's values
            return page
        page |= shown_for(key, v, {})
        drawing = drawings[key]
        if drawing.linked is not None:
            try:
                page |= qualified(key, drawing.linked(context(v["model"], v["trained"]), boxes_of(key, v), link))
            except REFUSALS as e:
                page[_box_name(key, drawing.note)] = str(e)
        return page

    return TabDrawing(reads, views_by_name, opened=opened, model=refresh, linked=linked)


TAB = TabSpec("lab", "Lab", layout, lambda settings: tuple(link_params()), views=keys())
