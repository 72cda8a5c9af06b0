"""Lab: measured answers about the chosen model, one sub-tab per instrument. Each instrument is
one module of this package, declaring an `INSTRUMENT` (`instrument.Instrument`): the Lab finds
them, lays them out in their order, and draws the one on screen on what its boxes hold when the
Lab or its sub-tab opens, when the model changes, or when a link names it."""
from __future__ import annotations

import functools
import importlib
import pkgutil
from dataclasses import dataclass
from typing import Callable

import gradio as gr

from studio.code_views import CodeView
from studio.links import Param
from studio.resources import Resources
from studio.zoo import SESSION_MODEL

from ..links import unique_components
from ..refusals import REFUSALS
from ..shared import Shared, on_tab_opened
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
    """What tests drive: the Lab's part of a model switch, and each instrument's drawing by key."""
    refresh: Callable[..., dict]          # refresh(model_name, trained, open_tab, key, fresh, *boxes' values)
    boxes: list                           # the boxes whose values `refresh` takes, in its order
    drawings: dict[str, Drawing]
    resources: Resources

    def switched(self, model_name: str, open_tab: str = "lab", key: str = "knockout",
                 typed: dict[tuple[str, str], object] | None = None) -> dict:
        """The Lab's part of a switch to `model_name`, the boxes holding their defaults but for
        `typed` ({(instrument, box name): value})."""
        values = {box: box.value for box in self.boxes}
        for (instrument, name), value in (typed or {}).items():
            values[self.drawings[instrument].boxes[name]] = value
        return self.refresh(model_name, None, open_tab, key, {}, *values.values())

    def warm(self) -> None:
        """The first instrument on the default model, as the Lab first shows it (remembered for every visitor)."""
        zoo, name = self.resources.zoo, self.resources.default_model
        first = self.drawings.get(keys()[0])
        if name is not None and first is not None:
            first.opened(Context(zoo, name, zoo.get(name)), first.defaults())


def build(shared: Shared) -> LabWiring:
    """Lays out the Lab, one sub-tab per instrument, and draws them without a button press."""
    with shared.tab("Lab", "lab"):
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
    refresh, boxes = _wire(shared, sub_tabs, part_state, fresh_state, drawings)
    return LabWiring(refresh, boxes, drawings, shared.resources)


def _wire(shared: Shared, sub_tabs: gr.Tabs, part_state: gr.State, fresh_state: gr.State,
          drawings: dict[str, Drawing]) -> tuple[Callable[..., dict], list]:
    """One listener each for a sub-tab click, the Lab's opening, a model switch and a link: each
    draws the instrument on screen through its Drawing, by the names it gave its components."""
    boxes = [(key, name, box) for key, d in drawings.items() for name, box in d.boxes.items()]
    box_components = unique_components([box for _, _, box in boxes])
    outputs = unique_components([c for d in drawings.values() for c in d.outputs]) + [fresh_state]
    notes = [d.views[d.note] for d in drawings.values()]
    of_label = {i.label: i.key for i in instruments()}
    tab_of = {i.key: i.tab_id for i in instruments()}

    def named(values) -> dict[str, dict]:
        """The boxes' values, by instrument and name."""
        by_component = dict(zip(box_components, values))
        found: dict[str, dict] = {key: {} for key in drawings}
        for key, name, box in boxes:
            found[key][name] = by_component[box]
        return found

    def context(model_name, trained) -> Context:
        return Context(shared.zoo, model_name, shared.pick(model_name, trained))

    def shown_for(key: str, model_name, trained, fresh, values) -> dict:
        """The instrument on screen measured for this model, unless it already shows it."""
        if model_name != SESSION_MODEL and fresh.get(key) == model_name:
            return {}
        drawing = drawings[key]
        try:
            page = drawing.opened(context(model_name, trained), named(values)[key])
        except REFUSALS as e:                       # the model itself refused (a broken checkpoint)
            page = drawing.cleared(str(e))
        return drawing.on_page(page) | {fresh_state: {**fresh, key: model_name}}

    def instrument_opened(label, model_name, trained, fresh, *values):
        key = of_label.get(label)
        if key not in drawings:            # Features: the shipped SAE's, drawn from its own tables
            return {part_state: key or gr.skip()}
        return {part_state: key} | shown_for(key, model_name, trained, fresh, values)

    on_tab_opened(sub_tabs, instrument_opened, [shared.model, shared.trained, fresh_state, *box_components],
                  [part_state, *outputs], api_visibility="private", show_progress="minimal",
                  show_progress_on=notes)     # see 'Progress targets' in ui/shared.py

    def opened(model_name, trained, key, fresh, *values):
        return shown_for(key, model_name, trained, fresh, values) if key in drawings else {}

    def refresh(model_name, trained, open_tab, key, fresh, *values):
        """A new model: what follows the model follows it, every instrument's figures of the last
        model are cleared, and with the Lab open the instrument on screen is measured at once (the
        others when they are opened)."""
        try:
            model = shared.pick(model_name, trained)
        except REFUSALS:
            model = None
        page = {fresh_state: {}}
        for drawing in drawings.values():
            page |= drawing.on_page(drawing.cleared("") | (drawing.follow(model) if drawing.follow else {}))
        if open_tab == "lab" and key in drawings:
            page |= shown_for(key, model_name, trained, {}, values)
        return page

    lab_inputs = [shared.model, shared.trained, part_state, fresh_state, *box_components]
    shared.when_tab_opens("lab", opened, lab_inputs, outputs)
    shared.when_model_changes(refresh, [shared.model, shared.trained, shared.open_tab, part_state, fresh_state,
                                        *box_components], outputs, tab="lab")
    for drawing in drawings.values():
        for param, name in drawing.carried.items():
            shared.links.carry(param, drawing.boxes[name])

    def linked(link, model_name, trained, _key, _fresh, *values):
        """The instrument the link names, measured on the texts it carries (already in their boxes)."""
        key = link.get("lab", keys()[0])
        page = {sub_tabs: gr.Tabs(selected=tab_of[key]), part_state: key}
        if key not in drawings:            # selecting its sub-tab opens it, on the link's values
            return page
        page |= shown_for(key, model_name, trained, {}, values)
        drawing = drawings[key]
        if drawing.linked is not None:
            try:
                page |= drawing.on_page(drawing.linked(context(model_name, trained), named(values)[key], link))
            except REFUSALS as e:
                page[drawing.views[drawing.note]] = str(e)
        return page

    shared.links.on_open("lab", linked, lab_inputs, [sub_tabs, part_state, *outputs])
    return refresh, box_components
