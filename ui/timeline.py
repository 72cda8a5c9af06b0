"""Timeline: one slider scrubs a training run, and every view shows the same snapshot."""
from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from studio import inputs
from studio import timeline as timeline_views
from studio import views
from studio.errors import InputError
from studio.links import Param, ViewLink
from studio.settings import Settings
from studio.timeline import TIMELINE_SOURCES, pick_timeline

from .refusals import user_errors
from .shared import Shared, TabDrawing, Values, described, layer_and_head, on_tab_opened, position_input, shown
from .tab import Desk, TabSpec, by_field, named

QUIET = dict(api_visibility="private", trigger_mode="always_last", show_progress="hidden")
VIEW_LABELS = {"attention": "Attention", "next": "Next character", "surprisal": "Surprisal",
               "diagnostics": "Activations and gradients"}
"""Each view below the curve: its name in links (tview=NAME; the first is the default) and its sub-tab's label."""
VIEW_OF_TAB = {label: view for view, label in VIEW_LABELS.items()}
VIEWS = tuple(VIEW_LABELS)
SHOW_FRAME = """(source, index, note, sample) => {
  // a finished run's notes and samples came with its loss curve (layout.meta.frames): show this one at once
  const gd = document.querySelector('#timeline-loss .js-plotly-plot');
  const frames = source === 'shipped' && gd && gd.layout && gd.layout.meta && gd.layout.meta.frames;
  const frame = frames && frames[Math.round(index) - 1];      // the slider counts from 1
  return frame ? [frame[0], frame[1]] : [note, sample];
}"""
"""The page's own answer to the slider for the shipped run: no request, so the note and the
sample follow a key or a drag as fast as the page draws them."""


def tab_id(view: str) -> str:
    return f"timeline-{view}-tab"


@dataclass(frozen=True)
class TimelinePage:
    """The Timeline's components, by name."""
    source: gr.Radio
    step: gr.Slider
    note: gr.Markdown
    whole_frame: gr.Button
    view_state: gr.State
    loss: gr.Plot
    sample: gr.Textbox
    views_tabs: gr.Tabs
    layer: gr.Slider
    head: gr.Dropdown
    attention_note: gr.Markdown
    attention: gr.Plot
    position: gr.Slider
    next_char: gr.Plot
    surprisal: gr.HighlightedText
    surprisal_note: gr.Markdown
    diagnostics: list[gr.Plot]
    diagnostics_note: gr.Markdown

    @property
    def marked(self) -> list:
        """What follows every frame of a drag."""
        return [self.note, self.loss, self.sample]

    @property
    def drawn(self) -> list:
        """The views below the curve."""
        return [self.attention, self.attention_note, self.next_char, self.surprisal, self.surprisal_note,
                *self.diagnostics, self.diagnostics_note]


def link_params(settings: Settings) -> tuple[Param, ...]:
    """The snapshot and the view below the curve a link carries (of the shipped run: a live one stays
    in its session)."""
    return (Param("step", "int", 1, 1, 10_000, label="snapshot"),        # numbered from 1, as on the slider
            Param("tview", "choice", VIEWS[0], choices=VIEWS, label="Timeline view"))


def layout(desk: Desk) -> TabDrawing:
    """Lays out the tab, then wires the scrubbing and the opening (from the tab, the run's choice or a link)."""
    page = _layout(desk)
    frames = _Frames(desk.shared, page)
    _wire_scrubbing(desk.shared, page, frames)
    return _wire_opening(desk.shared, page, frames)


def _layout(desk: Desk) -> TimelinePage:
    """The run and its slider, the note, the loss curve and the sample, and one view at a time below them."""
    shipped = desk.shared.resources.shipped_timeline
    with desk.tab():
        gr.Markdown("Scrub through a training run: every view below shows the same snapshot of the weights. "
                    "Watch the sample go from noise to spelling, to words, to speaker names, and the attention "
                    "heads settle into their jobs.")
        # the controls start bound to the shipped run (read in ~10 ms); opening the tab rebinds them
        n_snapshots, n_layer, n_head, n_chars = (timeline_views.controls(shipped.get()) if shipped.available
                                                 else (2, 1, 1, 2))
        with gr.Row():
            source = gr.Radio(TIMELINE_SOURCES, value="shipped", label="Run", scale=2)
            # numbered from 1, as the note counts them ("Snapshot 1 of 16")
            step = gr.Slider(1, max(n_snapshots, 2), value=1, step=1, scale=3, min_width=260,
                             label="Snapshot (drag, or use the arrow keys)", elem_id="timeline-step")
        note = gr.Markdown(elem_id="timeline-note")
        whole_frame = Shared.api_button()
        view_state = gr.State("attention")      # the view on screen below the curve: the one drawn per frame
        with gr.Row():
            loss = gr.Plot(show_label=False, elem_id="timeline-loss", min_width=320)
            sample = gr.Textbox(label="A sample at this step (the same seed at every step)", lines=12, max_lines=14,
                                elem_id="timeline-sample", min_width=280)
        # One view at a time below the curve: a browser draws only the one on screen, so a frame
        # settles in a fraction of the time five figures take (measured in bench/browser.py).
        with gr.Tabs(overflow_behavior="wrap") as views_tabs:
            with gr.Tab(VIEW_LABELS["attention"], id=tab_id("attention")):
                with gr.Row():
                    layer = gr.Slider(0, max(n_layer - 1, 1), value=0, step=1, label="Layer", min_width=200)
                    head = gr.Dropdown(views.head_options(n_head), value=views.AVERAGE, label="Head", min_width=200)
                attention_note = gr.Markdown()
                attention = gr.Plot(show_label=False, elem_id="timeline-attention")
            with gr.Tab(VIEW_LABELS["next"], id=tab_id("next")):
                position = gr.Slider(1, n_chars, value=min(10, n_chars), step=1,
                                     label="Next character after position")
                next_char = gr.Plot(show_label=False, elem_id="timeline-next")
            with gr.Tab(VIEW_LABELS["surprisal"], id=tab_id("surprisal")):
                surprisal = gr.HighlightedText(label="Surprisal of a val passage at this step",
                                               combine_adjacent=False, show_legend=False,
                                               elem_id="timeline-surprisal", elem_classes="char-text")
                surprisal_note = gr.Markdown(elem_id="timeline-surprisal-note")
            with gr.Tab(VIEW_LABELS["diagnostics"], id=tab_id("diagnostics")):
                with gr.Row():
                    diagnostics = [gr.Plot(show_label=False, elem_id=f"timeline-{name}", min_width=300)
                                   for name in ("activations", "ratios", "gradients")]
                diagnostics_note = gr.Markdown()
                desk.code_part()

    return TimelinePage(source=source, step=step, note=note, whole_frame=whole_frame, view_state=view_state, loss=loss, sample=sample, views_tabs=views_tabs, layer=layer, head=head, attention_note=attention_note, attention=attention, position=position, next_char=next_char, surprisal=surprisal, surprisal_note=surprisal_note, diagnostics=diagnostics, diagnostics_note=diagnostics_note)


class _Frames:
    """One snapshot of the chosen run on the page: the note, curve and sample, and the views below."""

    def __init__(self, shared: Shared, page: TimelinePage):
        self.shipped, self.p = shared.resources.shipped_timeline, page

    def run(self, source_choice, live):
        return pick_timeline(inputs.text_choice(source_choice, "run"), live, self.shipped)

    @staticmethod
    def snapshot(number) -> int:
        """The slider's snapshot number (from 1) as the run's index (from 0)."""
        return inputs.whole(number, "snapshot", 1) - 1

    @user_errors
    def marker(self, source_choice, index, live=None) -> dict:
        """What follows every frame of a drag: the note, the loss curve's marker and the sample."""
        frame = timeline_views.frame_view(self.run(source_choice, live), self.snapshot(index),
                                          with_texts=source_choice == "shipped")
        return {self.p.note: frame.note, self.p.loss: shown(frame.loss), self.p.sample: frame.sample}

    @user_errors
    def figures(self, source_choice, index, layer_index, head_name, at, live=None, shown_views=VIEWS) -> dict:
        """What follows as fast as it can: the views below the curve (by default all of them)."""
        p, timeline, index = self.p, self.run(source_choice, live), self.snapshot(index)
        page = {}
        if "attention" in shown_views:
            figure, line = timeline_views.attention_view(timeline, index, inputs.whole(layer_index, "layer", 0),
                                                         head_name)
            page |= {p.attention: shown(figure), p.attention_note: line}
        if "next" in shown_views:
            page[p.next_char] = shown(timeline_views.next_char_view(timeline, index, position_input(at)))
        if "surprisal" in shown_views:
            highlighted, line = timeline_views.surprisal_view(timeline, index)
            page |= {p.surprisal: highlighted, p.surprisal_note: line}
        if "diagnostics" in shown_views:
            *diagnostic_figures, line = timeline_views.diagnostics_view(timeline, index)
            page |= {plot: shown(f) for plot, f in zip(p.diagnostics, diagnostic_figures)} | {p.diagnostics_note: line}
        return page


def _wire_scrubbing(shared: Shared, p: TimelinePage, frames: _Frames) -> None:
    """The slider, the view tabs, the layer, head and position: each redraws what it changes."""
    marker, figures = frames.marker, frames.figures

    @user_errors
    def moved(source_choice, index, layer_index, head_name, at, view, shown_note, live=None):
        """Everything a new position changes, in one answer: the view on screen, and the note, the
        curve and the sample where the page could not show them itself. The page moves the shipped
        run's marker and shows its note and sample from the curve (SHOW_FRAME); a live run's curve
        grows, so it is sent again."""
        page = figures(source_choice, index, layer_index, head_name, at, live, (view,))
        if source_choice != "shipped":
            return page | marker(source_choice, index, live)
        line, text = timeline_views.frame_text(frames.run(source_choice, live), frames.snapshot(index))
        return page if shown_note == line else page | {p.note: line, p.sample: text}

    @described
    def timeline(source_choice, index, layer_index, head_name, at, live=None):
        """Every view of one snapshot of a training run: how the model looked part-way through training.

        Args:
            source_choice: "shipped" (16 snapshots of a 2-layer GPT trained on Tiny Shakespeare).
            index: the snapshot, from 1 (noise) to 16 (the end of training).
            layer_index: the layer whose attention to draw, from 0.
            head_name: "average of heads", or one head as "head 0", "head 1", ...
            at: the position in the fixed val text whose next-character distribution to show, from 1.
        Returns:
            The step and losses, the loss curve, a sample, attention, the next-character distribution,
            the surprisal of a val passage and the training diagnostics at that snapshot.
        """
        return marker(source_choice, index, live) | figures(source_choice, index, layer_index, head_name, at, live)

    views_out = p.marked + p.drawn
    frame_inputs = [p.source, p.step, p.layer, p.head, p.position, shared.live_timeline]
    # Two listeners, in this order. The page's own (SHOW_FRAME) shows a finished run's note and
    # sample from its loss curve's meta, asking nothing. Then one request, always answering the
    # latest position (no backlog), for the view on screen and whatever the page could not show.
    # Gradio sends a trigger's requests one after another, each once the one before is answered
    # and drawn (a second request for the note alone delayed the view). queue=False: a plain POST,
    # without the queue's round trip (docs/benchmarks.md has the figures). It only reads the run's snapshots.
    p.step.input(None, [p.source, p.step, p.note, p.sample], [p.note, p.sample], js=SHOW_FRAME, queue=False, **QUIET)
    p.step.input(moved, [p.source, p.step, p.layer, p.head, p.position, p.view_state, p.note, shared.live_timeline],
                 views_out, queue=False, **QUIET)
    p.whole_frame.click(timeline, frame_inputs, views_out, api_name="timeline")

    def view_opened(label, source_choice, index, layer_index, head_name, at, live=None):
        view = VIEW_OF_TAB.get(label, "attention")
        return {p.view_state: view} | figures(source_choice, index, layer_index, head_name, at, live, (view,))

    on_tab_opened(p.views_tabs, view_opened, [p.source, p.step, p.layer, p.head, p.position, shared.live_timeline],
                  [p.view_state, *p.drawn], **QUIET)

    @gr.on([p.layer.input, p.head.input], inputs=[p.source, p.step, p.layer, p.head, shared.live_timeline],
           outputs=[p.attention, p.attention_note], **QUIET)
    def redraw_attention(source_choice, index, layer_index, head_name, live=None):
        return figures(source_choice, index, layer_index, head_name, None, live, ("attention",))

    @p.position.input(inputs=[p.source, p.step, p.position, shared.live_timeline], outputs=p.next_char, **QUIET)
    def redraw_next_char(source_choice, index, at, live=None):
        return figures(source_choice, index, 0, views.AVERAGE, at, live, ("next",))


def _wire_opening(shared: Shared, p: TimelinePage, frames: _Frames) -> TabDrawing:
    """The controls bound to a run when the tab opens, when the run is chosen, and from a link."""
    def opened(source_choice, live, view="attention", number=1):
        """The controls bound to the chosen run (snapshots, layers, heads, text length), at snapshot
        `number` (its first, unless a link names another; past the last, the last)."""
        try:
            snapshots, layers, heads, chars = timeline_views.controls(frames.run(source_choice, live))
        except InputError as e:
            return {p.step: gr.Slider(interactive=False), p.layer: gr.Slider(interactive=False), p.note: str(e)}
        number = min(max(number, 1), snapshots)
        controls = {p.step: gr.Slider(minimum=1, maximum=max(snapshots, 2), value=number, step=1,
                                      interactive=snapshots > 1),
                    p.position: gr.Slider(minimum=1, maximum=chars, value=min(10, chars), step=1)}
        controls |= dict(zip((p.layer, p.head), layer_and_head(layers, heads)))
        return (controls | frames.marker(source_choice, number, live)
                | frames.figures(source_choice, number, 0, views.AVERAGE, min(10, chars), live, (view,)))

    reads = dict(source=p.source, live=shared.live_timeline, view=p.view_state)
    p.source.change(opened, list(reads.values()), [p.step, p.layer, p.head, p.position, *p.marked, *p.drawn],
                    api_visibility="private", show_progress="minimal", show_progress_on=p.note)
    shared.links.carry("step", p.step)
    views_by_name = {name: c for name, c in by_field(p).items() if c is not p.whole_frame}   # what it sets

    def on_opening(v: Values) -> Values:
        return named(opened(v["source"], v["live"], v["view"]), views_by_name)

    def linked(link: ViewLink, _v: Values) -> Values:
        """The shipped run at the link's snapshot, with the view it names (a live run stays in its session)."""
        view = link.get("tview", VIEWS[0])
        return named(opened("shipped", None, view, link.get("step", 1)) | {
            p.source: "shipped", p.view_state: view, p.views_tabs: gr.Tabs(selected=tab_id(view))}, views_by_name)

    return TabDrawing(reads, views_by_name, opened=on_opening, linked=linked)


TAB = TabSpec("timeline", "Timeline", layout, link_params, code="diagnostics", views=VIEWS)
