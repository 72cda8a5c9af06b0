"""Logit lens: the next-character prediction read from the residual stream after every layer."""
from __future__ import annotations

from dataclasses import dataclass

import gradio as gr
import plotly.graph_objects as go

from gpt import lab
from studio import lab as lab_views
from studio.code_views import CodeView
from studio.links import MAX_TEXT_CHARS, Param

from ..refusals import user_errors
from ..shared import described, position_input, shown
from .instrument import Bench, Context, Drawing, Instrument, lab_text


@dataclass(frozen=True)
class LensPart:
    figure: go.Figure | None
    note: str
    table: str


def measure(context: Context, given: tuple[str, int]) -> LensPart:
    text, position = given
    figure, note = lab_views.lens_view(context.model, text)
    return LensPart(figure, note, lab_views.lens_position_view(context.model, text, position))


def layout(bench: Bench) -> Drawing:
    shared, pick = bench.shared, bench.pick
    gr.Markdown("Read the next-character prediction straight from the residual stream after each "
                "layer (final LayerNorm, then the output head): at which layer does the answer appear?")
    with gr.Row():
        lens_text = gr.Textbox(lab_views.DEFAULT_LENS_TEXT, lines=2, label="Text", scale=3)
        lens_btn = gr.Button("Read every layer", variant="primary", scale=1)
    lens_note = gr.Markdown()
    lens_plot = gr.Plot(show_label=False, elem_id="lens-plot")
    with gr.Row():
        lens_pos = gr.Number(10, precision=0, minimum=0, label="Position")
        lens_pos_btn = gr.Button("Top five per layer")
    lens_table = gr.Markdown()
    bench.code_part(lens_text)

    @lens_btn.click(inputs=[shared.model, lens_text, shared.trained], outputs=[lens_plot, lens_note],
                    api_name="lab_lens", **bench.inference)
    @user_errors
    @described
    def lab_lens(model_name, passage, trained=None):
        """The logit lens: the next-character prediction read from the residual stream after every layer.

        Args:
            {MODEL}
            passage: the text (at most 2,000 characters the model knows).
        Returns:
            Per layer and position, the probability of the true next character, and a note on where it appears.
        """
        figure, note = lab_views.lens_view(pick(model_name, trained), lab_text(passage))
        return {lens_plot: shown(figure), lens_note: note}

    @lens_pos_btn.click(inputs=[shared.model, lens_text, lens_pos, shared.trained], outputs=lens_table,
                        api_name="lab_lens_position", **bench.inference)
    @user_errors
    @described
    def lab_lens_position(model_name, passage, position, trained=None):
        """The logit lens at one position: the five likeliest next characters after each layer.

        Args:
            {MODEL}
            passage: the text.
            position: the position whose next character is predicted, 0-based.
        Returns:
            A table of the top five characters and probabilities per layer.
        """
        return lab_views.lens_position_view(pick(model_name, trained), lab_text(passage), position_input(position))

    return Drawing(
        boxes={"text": lens_text, "position": lens_pos},
        views={"figure": lens_plot, "note": lens_note, "table": lens_table},
        read=lambda v: (lab_text(v["text"]), position_input(v["position"])), measure=measure,
        page=lambda r: {"figure": shown(r.figure), "note": r.note, "table": r.table},
        cleared=lambda message: {"figure": shown(None), "note": message, "table": ""},
        note="note", carried={"lens": "text", "lpos": "position"})


def _run(model, text) -> None:
    lab.logit_lens(model, text)


INSTRUMENT = Instrument(
    "lens", "Logit lens", 30, layout,
    params=(Param("lens", "text", None, hi=MAX_TEXT_CHARS, label="logit lens text", model_text=True),
            Param("lpos", "int", None, 0, MAX_TEXT_CHARS, label="logit lens position")),
    code=CodeView("Logit lens", ("gpt.lab.logit_lens",), _run, needs_attention=True))
