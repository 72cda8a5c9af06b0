"""What the tabs share: the model choice and its note, the session's states, one listener for
a model switch and one for a tab switch, and small component helpers.

Tabs do not listen to the model list or to the tab bar themselves: each declares how it is drawn
(`ui.tab.TabDrawing`), `draws` registers that, and `wire` makes one Gradio listener of each.
Why, re-measured on Gradio 6.31 (issue 38; docs/benchmarks.md, "the event layer re-measured"):
- the tab bar, not each gr.Tab: a tab's own select fires at page load and when a link selects
  it, and a quick second click is sent with the first click's data unless every click is
  answered (tests/test_gradio_events.py shows both; tests/test_browser.py's quick second click);
- one listener for a model switch, not one per tab's part: a link draws the same parts in its
  own order through it (`Links.wire`), and one per part cost every later answer on the page
  0.3-0.5 s (the Timeline's arrow key 0.46 s, not 0.13), bench/browser.py beside it. The race
  that first asked for it (the Lab's boxes said one thing, its note another) no longer shows
  with one listener per part;
- a dropdown's `input` at every blur is not a choice (`chosen`; tests/test_gradio_events.py).
"""
from __future__ import annotations

import inspect
import logging
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Sequence

import gradio as gr

from studio import views
from studio.code_views import CodeView, code_markdown
from studio.errors import InputError
from studio.inputs import whole
from studio.lab import MAX_LAB_CHARS
from studio.links import Param, ViewLink
from studio.resources import Resources
from studio.tools import tool_doc
from studio.zoo import SESSION_MODEL, describe

from .links import Links, unique_components as _unique

LOG = logging.getLogger("tinyshakespeare-gpt")
Update = dict          # {component: new value or gr.update(...)}: what a handler returns
Values = dict[str, Any]        # a component's value, by the name its tab gives it

# Progress targets. Gradio 6.31's page copies the value of every component that was ever a
# progress target, with all its children, at each status change of any listener: a listener whose
# targets are its outputs (or a tab bar) makes each change copy much of the page. So a listener that
# draws many views shows its progress on one small text, and `settle_progress_targets` gives every
# other listener one target (docs/benchmarks.md, "one progress target per listener").


def settle_progress_targets(demo: gr.Blocks, quiet: gr.Component) -> None:
    """One progress target for each listener: `quiet`, a component never shown, for all that show
    no progress; for the others the one chosen at its call, else its first output a person sees
    (where its spinner shows)."""
    from gradio.blocks import BlockContext

    if not all(hasattr(fn, "show_progress_on") for fn in demo.fns.values()):    # Gradio's BlockFunction moved it
        raise RuntimeError("gradio's BlockFunction has no show_progress_on: update ui/shared.settle_progress_targets")
    for fn in demo.fns.values():
        if fn.fn is None:                                   # run in the browser alone: no status
            continue
        if fn.show_progress == "hidden":
            fn.show_progress_on = [quiet]
        elif not fn.show_progress_on:
            seen = [c for c in fn.outputs if not isinstance(c, (gr.State, BlockContext))]
            fn.show_progress_on = [seen[0] if seen else quiet]


def on_tab_opened(tabs: gr.Tabs, fn: Callable[..., Update | None], inputs: list, outputs: list,
                  **listener) -> None:
    """`fn(label, *inputs)` when a person opens a tab of `tabs` (by a click: not when a link or a
    listener selects it). Every click runs with its own label (trigger_mode "multiple"): Gradio
    6.31's page runs a click that came while the last was being answered ("always_last") with the
    *first* click's event data, so a quick second click opened the first tab again. Not one
    listener per gr.Tab either: a tab's own select also fires when it is selected by an update
    and for the first tab on page load, so a link's snapshot was redrawn at snapshot 0."""
    listener["trigger_mode"] = "multiple"
    if inspect.isgeneratorfunction(fn):         # Gradio streams a listener's updates by its kind
        def opened(event: gr.SelectData, *values):
            yield from fn(event.value, *values)
    else:
        def opened(event: gr.SelectData, *values):
            return fn(event.value, *values)
    opened.__name__ = fn.__name__
    tabs.select(opened, inputs, outputs, **listener)


def shown(figure) -> gr.Plot:
    """A plot that hides when there is nothing to draw, rather than leaving an empty box."""
    return gr.Plot(value=figure, visible=figure is not None)


def described(fn):
    """The handler's own docstring as the API page and the MCP tools show it (`studio.tools.tool_doc`)."""
    if not fn.__doc__:
        raise ValueError(f"the endpoint {fn.__name__} has no docstring: the API page and assistants read it")
    fn.__doc__ = tool_doc(fn.__doc__)
    return fn


def not_a_tool(fn):
    """Keep a public endpoint out of the assistants' tools (the MCP server). Gradio 6.31 makes every
    named endpoint a tool except those its own decorators mark as something else (`_mcp_type`
    other than "tool"); tests/test_mcp.py checks that this still holds."""
    fn._mcp_type = "not a tool"
    return fn


def layer_and_head(n_layer: int, n_head: int) -> tuple[gr.Slider, gr.Dropdown]:
    """A layer slider and a head choice bound to a model's shape (layers and heads 0-based)."""
    return (gr.Slider(minimum=0, maximum=max(n_layer - 1, 1), value=0, step=1, interactive=n_layer > 1),
            gr.Dropdown(choices=views.head_options(n_head), value=views.AVERAGE))


def position_input(position) -> int:
    """A character position in a Lab or Timeline text (the views check it against the text itself)."""
    return whole(position, "position", 0, MAX_LAB_CHARS)


@dataclass(eq=False)
class TabDrawing:
    """How a tab is drawn without its own buttons. Each function reads the values of `reads` by
    name (with `open_tab`, the tab on screen, where it names the page's state) and answers with
    values of `views` by name; a link's also gets the checked link. Leave one out for "nothing":
    - `opened`: a person opens the tab (a model switch made while it was hidden draws `model` instead);
    - `model`: the model changed with the tab on screen, or it opens after a switch;
    - `linked`: a link opens on the tab (left out: as `opened`)."""
    reads: dict[str, gr.components.Component]
    views: dict[str, gr.components.Component]
    opened: Callable[[Values], Values | None] | None = None
    model: Callable[[Values], Values | None] | None = None
    linked: Callable[[ViewLink, Values], Values | None] | None = None
    parts: Any = None                  # what it offers the tabs after it (and tests), as `Desk.laid_out[key].parts`

    def on_page(self, values: Values | None) -> dict | None:
        """Names to components' values, for a listener's answer."""
        return None if values is None else {self.views[name]: value for name, value in values.items()}


@dataclass(frozen=True)
class Listener:
    fn: Callable[..., Update | None]
    inputs: list
    outputs: list
    tab: str | None = None            # the tab it draws: run on a model change with it open, else when it opens


class Shared:
    """Built inside the app's Blocks: the session states at once, the model row by `model_row()`."""

    def __init__(self, resources: Resources, tabs: Sequence[str], link_params: list[Param]):
        self.resources = resources
        self.zoo = resources.zoo
        # Kept as long as the session is used: the sweeper (studio/sessions.py) forgets a session
        # idle for GPT_APP_SESSION_TTL. No time_to_live here: Gradio's counts from when a value was
        # set, so a student's model and seat vanished while they were still using them.
        self.trained = gr.State(None)                        # the model this session trained
        self.live_timeline = gr.State(None)                  # its run: snapshots and diagnostics
        self.record = gr.State(None)                         # the last generation, step by step
        self.seat = gr.State(None)                           # the class board this session joined (a Seat)
        # The seat's token as the browser keeps it (localStorage): a reload or a server restart finds
        # the seat again. Made here, outside every tab: a BrowserState inside a tab not yet opened
        # reads as empty at page load. The token is the credential (the server keeps only its
        # digest); the encryption's key is fixed only so that a restarted server can still read it.
        self.kept_seat = gr.BrowserState(None, storage_key="tinyshakespeare-gpt-seat",
                                         secret="tinyshakespeare-gpt seat v1")
        self.open_tab = gr.State("generate")                 # the tab on screen
        self.drawn_model = gr.State(resources.default_model)  # the model the page's views were drawn for
        self.stale_tabs = gr.State(frozenset())              # tabs drawn for an earlier model: redrawn when opened
        self._model_listeners: list[Listener] = []
        self._tab_listeners: dict[str, Listener] = {}
        self._tab_ids: dict[str, str] = {}                   # label -> id
        self.links = Links(resources, tabs, link_params)    # the parameters the tabs declare (ui/tab.TabSpec)

    def worth_keeping(self, session) -> bool:
        """Whether a session (Gradio's SessionState) holds what a student would lose: a model they
        trained or a seat on a board. The sweeper lets such sessions go last."""
        values = session.state_data
        return values.get(self.trained._id) is not None or values.get(self.seat._id) is not None

    def model_row(self) -> None:
        default = self.resources.default_model
        with gr.Row():                       # side by side on a wide screen, stacked on a phone
            self.model = gr.Dropdown(self.resources.model_choices, value=default, label="Model", scale=1,
                                     min_width=260)
            with gr.Column(scale=2, min_width=260):
                self.model_info = gr.Markdown(self.describe(default, None) if default else "No checkpoints found.")
            self.links.share_button()
        self.links.share_row()
        self.link_note = gr.Markdown(elem_id="link-note")     # what a link could not reopen, and why
        self.quiet = gr.Markdown(visible=False)     # the progress target of listeners that show none
        self.links.carry("model", self.model)
        self._model_listeners.append(Listener(lambda name, trained: {self.model_info: self.describe(name, trained)},
                                              [self.model, self.trained], [self.model_info]))

    def pick(self, name, trained):
        """The model a request names: a checkpoint, or this session's own."""
        return self.zoo.pick(name, trained)

    def describe(self, name, trained) -> str:
        try:
            return describe(self.pick(name, trained))
        except InputError as e:
            return str(e)

    def tab(self, label: str, id: str) -> gr.Tab:
        self._tab_ids[label] = id
        return gr.Tab(label, id=id)

    def code_part(self, view: CodeView, text=None) -> gr.Accordion:
        """A closed "The code" part under a view: the lines of gpt/ that computed it, read from the
        source when opened, with the shapes its tensors had on the chosen model reading `text`'s value."""
        with gr.Accordion("The code", open=False, elem_classes="code-part") as part:
            shown = gr.Markdown(elem_classes="code-view")
        base_url = self.resources.settings.source_url

        def opened(name, trained, text_value=None):
            try:
                model = self.pick(name, trained)
            except InputError:
                model = None                       # the code is still shown, without shapes
            return code_markdown(view, model, text_value if isinstance(text_value, str) else None, base_url)

        part.expand(opened, [self.model, self.trained] + ([text] if text is not None else []), shown,
                    api_visibility="private", show_progress="hidden")
        return part

    @staticmethod
    def api_button() -> gr.Button:
        """The trigger of an endpoint for API clients alone (the page reaches the same views
        through lighter listeners): a button that is never shown. Build it inside a tab."""
        return gr.Button(visible=False, elem_classes="api-only")

    def draws(self, tab: str, drawing: TabDrawing) -> None:
        """How `tab` is drawn when it opens, when the model changes and when a link names it."""
        names = list(drawing.reads)
        inputs, outputs = [drawing.reads[n] for n in names], _unique(list(drawing.views.values()))

        def page(fn: Callable[[Values], Values | None]) -> Callable[..., Update | None]:
            return lambda *values: drawing.on_page(fn(dict(zip(names, values))))

        if drawing.opened is not None:
            self._tab_listeners[tab] = Listener(page(drawing.opened), inputs, outputs, tab)
        if drawing.model is not None:
            self._model_listeners.append(Listener(page(drawing.model), inputs, outputs, tab))
        linked = drawing.linked or (drawing.opened and (lambda _link, values: drawing.opened(values)))
        if linked:
            self.links.on_open(tab, lambda link, *values: drawing.on_page(linked(link, dict(zip(names, values)))),
                               inputs, outputs)

    def wire(self, demo: gr.Blocks, tabs: gr.Tabs) -> None:
        """The one listener for the model list and the one for the tab bar, and the links."""
        self.tabs = tabs
        listeners = self._model_listeners
        inputs = _unique([self.open_tab, self.stale_tabs, self.drawn_model]
                         + [c for listener in listeners for c in listener.inputs])
        outputs = _unique([self.stale_tabs, self.drawn_model] + [c for listener in listeners for c in listener.outputs])

        def run_parts(parts: list[Listener], open_tab: str, given: dict) -> Iterator[Update]:
            """Each part's update as soon as it is ready; a refusal in one is raised once the others have run."""
            first_error = None
            for listener in parts:
                try:
                    update = listener.fn(*(open_tab if c is self.open_tab else given[c] for c in listener.inputs))
                except gr.Error as e:
                    first_error = first_error or e
                    continue
                if update:
                    yield update
            if first_error is not None:
                raise first_error

        def model_changed(open_tab, stale, drawn, *values) -> Iterator[Update]:
            """The model note and the open tab's part, now; the other tabs' parts are drawn when
            they are opened (so a switch costs one tab's work, and a click on another tab right
            after it does not wait behind every hidden tab's figures). Nothing when the model is
            the one drawn already: see `chosen`."""
            given = dict(zip(inputs[3:], values))
            name = given.get(self.model)
            if not (chosen(name, drawn) or name == SESSION_MODEL):   # the session's own: maybe retrained since
                yield {self.drawn_model: gr.skip()}
                return
            later = frozenset(listener.tab for listener in listeners if listener.tab not in (None, open_tab))
            yield {self.stale_tabs: frozenset(stale or ()) | later, self.drawn_model: name}
            yield from run_parts([listener for listener in listeners if listener.tab in (None, open_tab)],
                                 open_tab, given)

        # `input`, not `change`: a link that opens on another model runs the same parts in its own
        # order (the model's, then the tab as the link asks), not in a race with this listener
        self.model.input(model_changed, inputs, outputs, api_visibility="private", trigger_mode="always_last",
                         show_progress="minimal", show_progress_on=self.model_info)   # see 'Progress targets' above
        self.links.wire(demo, tabs, self.open_tab, self.model, model_changed, inputs[1:], outputs, self.link_note,
                        self.model_info)

        tab_listeners = list(self._tab_listeners.values())
        tab_inputs = _unique([self.stale_tabs] + [c for listener in tab_listeners + listeners for c in listener.inputs])
        tab_outputs = _unique([self.open_tab] + outputs + [c for listener in tab_listeners for c in listener.outputs])

        def tab_opened(label: str, *values) -> Iterator[Update]:
            tab = self._tab_ids.get(label, "")
            yield {self.open_tab: tab}
            given = dict(zip(tab_inputs, values))
            stale = frozenset(given[self.stale_tabs] or ())
            if tab in stale:            # drawn for an earlier model: its model part redraws it for this one
                yield {self.stale_tabs: stale - {tab}}
                yield from run_parts([listener for listener in listeners if listener.tab == tab], tab, given)
                return
            listener = self._tab_listeners.get(tab)
            if listener is not None:
                if update := listener.fn(*(given[c] for c in listener.inputs)):
                    yield update

        on_tab_opened(tabs, tab_opened, tab_inputs, tab_outputs, api_visibility="private",
                      show_progress="minimal", show_progress_on=self.model_info)       # see 'Progress targets' above
        settle_progress_targets(demo, self.quiet)


def chosen(value, on_screen) -> bool:
    """Whether a dropdown's `input` is a new choice. Gradio 6.31's Dropdown sends `input` at every
    blur, chosen or not (js/dropdown/shared/Dropdown.svelte, `handle_blur`): a click on an option
    sends it twice, and a keyboard user tabbing past the box sends it too. Those that name what is
    on screen already are not a choice (tests/test_keyboard.py: tabbing past the Model box and the
    Features list keeps what they drew)."""
    return value is not None and value != on_screen

