"""Timeline: one slider scrubs a training run, and every view shows the same snapshot."""
from __future__ import annotations

import gradio as gr

from studio import inputs
from studio import timeline as timeline_views
from studio import views
from studio.errors import InputError
from studio.timeline import TIMELINE_SOURCES, pick_timeline

from .refusals import user_errors
from .shared import Shared, layer_and_head, position_input, shown

QUIET = dict(api_visibility="private", trigger_mode="always_last", show_progress="hidden")


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
            step = gr.Slider(0, n_snapshots - 1, value=0, step=1, scale=3, min_width=260,
                             label="Snapshot (drag, or use the arrow keys)", elem_id="timeline-step")
        note = gr.Markdown(elem_id="timeline-note")
        with gr.Row():
            loss = gr.Plot(show_label=False, elem_id="timeline-loss", min_width=320)
            sample = gr.Textbox(label="A sample at this step (the same seed at every step)", lines=12, max_lines=14,
                                elem_id="timeline-sample", min_width=280)
        with gr.Row():
            layer = gr.Slider(0, max(n_layer - 1, 1), value=0, step=1, label="Layer", min_width=200)
            head = gr.Dropdown(views.head_options(n_head), value=views.AVERAGE, label="Head", min_width=200)
        attention_note = gr.Markdown()
        attention = gr.Plot(show_label=False, elem_id="timeline-attention")
        position = gr.Slider(1, n_chars, value=min(10, n_chars), step=1, label="Next character after position")
        next_char = gr.Plot(show_label=False, elem_id="timeline-next")
        surprisal = gr.HighlightedText(label="Surprisal of a val passage at this step", combine_adjacent=False,
                                       show_legend=False, elem_id="timeline-surprisal",
                                       elem_classes="char-text")
        surprisal_note = gr.Markdown()
        gr.Markdown("### Activations and gradients")
        with gr.Row():
            diagnostics = [gr.Plot(show_label=False, elem_id=f"timeline-{name}", min_width=300)
                           for name in ("activations", "ratios", "gradients")]
        diagnostics_note = gr.Markdown()

    def run(source_choice, live):
        return pick_timeline(inputs.text_choice(source_choice, "run"), live, shipped)

    def snapshot(index) -> int:
        return inputs.whole(index, "snapshot", 0)

    @user_errors
    def show(source_choice, index, layer_index, head_name, at, live=None):
        """Every view at one snapshot: the loss marker, sample, attention, next character, surprisal, diagnostics."""
        timeline, index = run(source_choice, live), snapshot(index)
        frame = timeline_views.frame_view(timeline, index)
        figure, line = timeline_views.attention_view(timeline, index, inputs.whole(layer_index, "layer", 0), head_name)
        *figures, diagnostics_line = timeline_views.diagnostics_view(timeline, index)
        return ({note: frame.note, loss: shown(frame.loss), sample: frame.sample, attention: shown(figure),
                 attention_note: line,
                 next_char: shown(timeline_views.next_char_view(timeline, index, position_input(at))),
                 surprisal: frame.surprisal, surprisal_note: frame.surprisal_note, diagnostics_note: diagnostics_line}
                | {plot: shown(f) for plot, f in zip(diagnostics, figures)})

    views_out = [note, loss, sample, attention, attention_note, next_char, surprisal, surprisal_note, *diagnostics,
                 diagnostics_note]
    step.input(show, [source, step, layer, head, position, shared.live_timeline], views_out, api_name="timeline",
               trigger_mode="always_last", show_progress="hidden")

    def opened(source_choice, live):
        """The controls bound to the chosen run (snapshots, layers, heads, text length), at its first snapshot."""
        try:
            snapshots, layers, heads, chars = timeline_views.controls(run(source_choice, live))
        except InputError as e:
            return {step: gr.Slider(interactive=False), layer: gr.Slider(interactive=False), note: str(e)}
        controls = {step: gr.Slider(minimum=0, maximum=max(snapshots - 1, 1), value=0, step=1,
                                    interactive=snapshots > 1),
                    position: gr.Slider(minimum=1, maximum=chars, value=min(10, chars), step=1)}
        controls |= dict(zip((layer, head), layer_and_head(layers, heads)))
        return controls | show(source_choice, 0, 0, views.AVERAGE, min(10, chars), live)

    opening = ([source, shared.live_timeline], [step, layer, head, position, *views_out])
    source.change(opened, *opening, api_visibility="private", show_progress="minimal")
    shared.when_tab_opens("timeline", opened, *opening)

    @gr.on([layer.input, head.input], inputs=[source, step, layer, head, shared.live_timeline],
           outputs=[attention, attention_note], **QUIET)
    @user_errors
    def redraw_attention(source_choice, index, layer_index, head_name, live=None):
        figure, line = timeline_views.attention_view(run(source_choice, live), snapshot(index),
                                                     inputs.whole(layer_index, "layer", 0), head_name)
        return {attention: shown(figure), attention_note: line}

    @position.input(inputs=[source, step, position, shared.live_timeline], outputs=next_char, **QUIET)
    @user_errors
    def redraw_next_char(source_choice, index, at, live=None):
        return shown(timeline_views.next_char_view(run(source_choice, live), snapshot(index), position_input(at)))
