"""What a tab declares, once: its key, its label, its link parameters, its code view, its
sub-views, and how it is drawn without its own buttons (when it opens, when the model changes,
when a link names it). `ui/page.py` lists the tabs in their order and derives from these specs
the tab bar, the link parameters (`studio.links.params`), the page's script's list of views and
the code-view registry; `Shared.wire` turns each tab's `TabDrawing` into the page's listeners.
The Lab's instruments are declared the same way, one level down (`ui/lab/instrument.py`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import gradio as gr
from gradio.blocks import Block

from studio.code_views import VIEWS as CODE_VIEWS
from studio.links import Param
from studio.settings import Settings

from .shared import Shared, TabDrawing, Values


def no_params(settings: Settings) -> tuple[Param, ...]:
    """A tab whose components carry nothing in links."""
    return ()


@dataclass(frozen=True)
class TabSpec:
    key: str                                  # its id, and tab=KEY in links
    label: str                                # what the tab bar says
    layout: Callable[["Desk"], TabDrawing]   # lays out its components inside the tab, wires its buttons
    params: Callable[[Settings], tuple[Param, ...]] = no_params   # the link parameters its components carry
    code: str | None = None                   # its "The code" part: a view of studio.code_views.VIEWS
    views: tuple[str, ...] = ()               # its sub-views as links name them (the first is the default)


@dataclass(frozen=True)
class Desk:
    """What a tab's layout is given: the page's shared parts, its own spec and the page itself."""
    shared: Shared
    spec: TabSpec
    demo: gr.Blocks
    laid_out: dict[str, TabDrawing]           # the tabs before it, by key

    def tab(self) -> gr.Tab:
        """The tab itself, to lay the components out in."""
        return self.shared.tab(self.spec.label, self.spec.key)

    def code_part(self, text=None) -> gr.Accordion:
        """The tab's "The code" part, its shapes measured on `text`'s value."""
        if self.spec.code is None:
            raise ValueError(f"the tab {self.spec.key!r} declares no code view")
        return self.shared.code_part(CODE_VIEWS[self.spec.code], text)


def by_field(page) -> dict[str, gr.components.Component]:
    """A dataclass of a tab's components, by field name (a list's items as NAME_0, NAME_1, ...):
    the names of a TabDrawing's views for a tab that keeps its components in one."""
    found = {}
    for name, value in vars(page).items():
        if isinstance(value, (list, tuple)):
            found |= {f"{name}_{i}": item for i, item in enumerate(value) if isinstance(item, Block)}
        elif isinstance(value, Block):
            found[name] = value
    return found


def named(update: dict, views: dict[str, gr.components.Component]) -> Values:
    """A handler's answer by component (`{component: value}`) as the same answer by the names of
    `views`, for a tab whose helpers answer listeners written against components."""
    name_of = {component: name for name, component in views.items()}
    return {name_of[component]: value for component, value in update.items()}
