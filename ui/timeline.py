"""Timeline: one slider scrubs a training run, and every view shows the same snapshot."""
from __future__ import annotations

import gradio as gr

from studio import inputs
from studio import timeline as timeline_views
from studio import views
from studio.errors import InputError
from studio.timeline import TIMELINE_SOURCES, pick_timeline

from .refusals import user_errors
from .shared import Shared, described, layer_and_head, on_tab_opened, position_input, shown

QUIET = dict(api_visibility="private", trigger_mode="always_last", show_progress="hidden")
VIEW_OF_TAB = {"Attention": "attention", "Next character": "next", "Surprisal": "surprisal",
               "Activations and gradients": "diagnostics"}
VIEWS = tuple(VIEW_OF_TAB.values())
SHOW_FRAME = """(source, index, note, sample) => {
  // a finished run's notes and samples came with its loss curve (layout.meta.frames): show this one at once
  const gd = document.querySelector('#timeline-loss .js-plotly-plot');
  const frames = source === 'shipped' && gd && gd.layout && gd.layout.meta && gd.layout.meta.frames;
  const frame = frames && frames[Math.round(index) - 1];      // the slider counts from 1
  return frame ? [frame[0], frame[1]] : [note, sample];
}"""
"""The page's own answer to the slider for the shipped run: no request, so the note and the
sample follow a key or a drag as fast as the page draws them."""


def build(shared: Shared) -> None:
    shipped = shared.resources.shipped_timeline
    with shared.tab("Timeline", "timeline"):
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
        whole_frame = shared.api_button()
        view_state = gr.State("attention")      # the view on screen below the curve: the one drawn per frame
        with gr.Row():
            loss = gr.Plot(show_label=False, elem_id="timeline-loss", min_width=320)
            sample = gr.Textbox(label="A sample at this step (the same seed at every step)", lines=12, max_lines=14,
                                elem_id="timeline-sample", min_width=280)
        # One view at a time below the curve: a browser draws only the one on screen, so a frame
        # settles in a fraction of the time five figures take (measured in bench/browser.py).
        with gr.Tabs(overflow_behavior="wrap") as views_tabs:
            with gr.Tab("Attention", id="timeline-attention-tab"):
                with gr.Row():
                    layer = gr.Slider(0, max(n_layer - 1, 1), value=0, step=1, label="Layer", min_width=200)
                    head = gr.Dropdown(views.head_options(n_head), value=views.AVERAGE, label="Head", min_width=200)
                attention_note = gr.Markdown()
                attention = gr.Plot(show_label=False, elem_id="timeline-attention")
            with gr.Tab("Next character", id="timeline-next-tab"):
                position = gr.Slider(1, n_chars, value=min(10, n_chars), step=1,
                                     label="Next character after position")
                next_char = gr.Plot(show_label=False, elem_id="timeline-next")
            with gr.Tab("Surprisal", id="timeline-surprisal-tab"):
                surprisal = gr.HighlightedText(label="Surprisal of a val passage at this step",
                                               combine_adjacent=False, show_legend=False,
                                               elem_id="timeline-surprisal", elem_classes="char-text")
                surprisal_note = gr.Markdown(elem_id="timeline-surprisal-note")
            with gr.Tab("Activations and gradients", id="timeline-diagnostics-tab"):
                with gr.Row():
                    diagnostics = [gr.Plot(show_label=False, elem_id=f"timeline-{name}", min_width=300)
                                   for name in ("activations", "ratios", "gradients")]
                diagnostics_note = gr.Markdown()
                shared.code_part("diagnostics")

    def run(source_choice, live):
        return pick_timeline(inputs.text_choice(source_choice, "run"), live, shipped)

    def snapshot(number) -> int:
        """The slider's snapshot number (from 1) as the run's index (from 0)."""
        return inputs.whole(number, "snapshot", 1) - 1

    @user_errors
    def marker(source_choice, index, live=None):
        """What follows every frame of a drag: the note, the loss curve's marker and the sample."""
        frame = timeline_views.frame_view(run(source_choice, live), snapshot(index),
                                          with_texts=source_choice == "shipped")
        return {note: frame.note, loss: shown(frame.loss), sample: frame.sample}

    @user_errors
    def moved(source_choice, index, layer_index, head_name, at, view, shown_note, live=None):
        """Everything a new position changes, in one answer: the view on screen, and the note, the
        curve and the sample where the page could not show them itself. The page moves the shipped
        run's marker and shows its note and sample from the curve (SHOW_FRAME); a live run's curve
        grows, so it is sent again."""
        page = figures(source_choice, index, layer_index, head_name, at, live, (view,))
        if source_choice != "shipped":
            return page | marker(source_choice, index, live)
        line, text = timeline_views.frame_text(run(source_choice, live), snapshot(index))
        return page if shown_note == line else page | {note: line, sample: text}

    @user_errors
    def figures(source_choice, index, layer_index, head_name, at, live=None, shown_views=VIEWS):
        """What follows as fast as it can: the views below the curve (by default all of them)."""
        timeline, index = run(source_choice, live), snapshot(index)
        page = {}
        if "attention" in shown_views:
            figure, line = timeline_views.attention_view(timeline, index, inputs.whole(layer_index, "layer", 0),
                                                         head_name)
            page |= {attention: shown(figure), attention_note: line}
        if "next" in shown_views:
            page[next_char] = shown(timeline_views.next_char_view(timeline, index, position_input(at)))
        if "surprisal" in shown_views:
            highlighted, line = timeline_views.surprisal_view(timeline, index)
            page |= {surprisal: highlighted, surprisal_note: line}
        if "diagnostics" in shown_views:
            *diagnostic_figures, line = timeline_views.diagnostics_view(timeline, index)
            page |= {plot: shown(f) for plot, f in zip(diagnostics, diagnostic_figures)} | {diagnostics_note: line}
        return page

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

    marked = [note, loss, sample]
    drawn = [attention, attention_note, next_char, surprisal, surprisal_note, *diagnostics, diagnostics_note]
    views_out = marked + drawn
    frame_inputs = [source, step, layer, head, position, shared.live_timeline]
    # Two listeners, in this order. The page's own (SHOW_FRAME) shows a finished run's note and
    # sample from its loss curve's meta, asking nothing. Then one request, always answering the
    # latest position (no backlog), for the view on screen and whatever the page could not show.
    # Gradio sends a trigger's requests one after another, each once the one before is answered
    # and drawn: a second request for the note alone cost the view ~0.1 s in the browser.
    # queue=False: a plain POST, without the queue's round trip (measured in the browser: the arrow
    # key's note 0.20 s and every figure 0.37 s, against 0.27 and 0.48 s queued; the last frame of
    # a drag 0.24 s after release, against 0.59 s). It only reads the run's snapshots.
    step.input(None, [source, step, note, sample], [note, sample], js=SHOW_FRAME, queue=False, **QUIET)
    step.input(moved, [source, step, layer, head, position, view_state, note, shared.live_timeline], views_out,
               queue=False, **QUIET)
    whole_frame.click(timeline, frame_inputs, views_out, api_name="timeline")

    def view_opened(label, source_choice, index, layer_index, head_name, at, live=None):
        view = VIEW_OF_TAB.get(label, "attention")
        return {view_state: view} | figures(source_choice, index, layer_index, head_name, at, live, (view,))

    on_tab_opened(views_tabs, view_opened, [source, step, layer, head, position, shared.live_timeline],
                  [view_state, *drawn], **QUIET)

    def opened(source_choice, live, view="attention", number=1):
        """The controls bound to the chosen run (snapshots, layers, heads, text length), at snapshot
        `number` (its first, unless a link names another; past the last, the last)."""
        try:
            snapshots, layers, heads, chars = timeline_views.controls(run(source_choice, live))
        except InputError as e:
            return {step: gr.Slider(interactive=False), layer: gr.Slider(interactive=False), note: str(e)}
        number = min(max(number, 1), snapshots)
        controls = {step: gr.Slider(minimum=1, maximum=max(snapshots, 2), value=number, step=1,
                                    interactive=snapshots > 1),
                    position: gr.Slider(minimum=1, maximum=chars, value=min(10, chars), step=1)}
        controls |= dict(zip((layer, head), layer_and_head(layers, heads)))
        return (controls | marker(source_choice, number, live)
                | figures(source_choice, number, 0, views.AVERAGE, min(10, chars), live, (view,)))

    opening = ([source, shared.live_timeline, view_state], [step, layer, head, position, *views_out])
    source.change(opened, *opening, api_visibility="private", show_progress="minimal", show_progress_on=note)
    shared.when_tab_opens("timeline", opened, *opening)

    shared.links.carry("step", step)

    def linked(link, _source, _live, _view):
        """The shipped run at the link's snapshot, with the view it names (a live run stays in its session)."""
        view = link.get("tview", "attention")
        return opened("shipped", None, view, link.get("step", 1)) | {
            source: "shipped", view_state: view, views_tabs: gr.Tabs(selected=f"timeline-{view}-tab")}

    shared.links.on_open("timeline", linked, opening[0], opening[1] + [source, view_state, views_tabs])

    @gr.on([layer.input, head.input], inputs=[source, step, layer, head, shared.live_timeline],
           outputs=[attention, attention_note], **QUIET)
    def redraw_attention(source_choice, index, layer_index, head_name, live=None):
        return figures(source_choice, index, layer_index, head_name, None, live, ("attention",))

    @position.input(inputs=[source, step, position, shared.live_timeline], outputs=next_char, **QUIET)
    def redraw_next_char(source_choice, index, at, live=None):
        return figures(source_choice, index, 0, views.AVERAGE, at, live, ("next",))
