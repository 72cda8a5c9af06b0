"""Loss curves: the chosen checkpoint's whole run, compared with others if asked."""
from __future__ import annotations

import gradio as gr

from studio import views

from .refusals import user_errors
from .shared import Shared, shown


def build(shared: Shared, demo: gr.Blocks) -> None:
    with shared.tab("Loss curves", "loss"):
        with gr.Row():
            compare = gr.Dropdown(shared.resources.model_choices, value=[], multiselect=True,
                                  label="Compare with (val curves)", scale=3, min_width=260)
            along = gr.Radio(["step", "tokens"], value="step", label="Along", min_width=160)
            with gr.Column(min_width=160):
                log_x = gr.Checkbox(False, label="log scale: along")
                log_y = gr.Checkbox(False, label="log scale: loss")
        note = gr.Markdown()
        plot = gr.Plot(label="Loss curves", elem_id="losses-plot")
        shared.code_part("loss")

    @user_errors
    def draw(model_name, others=(), x="step", logarithmic_x=False, logarithmic_y=False, trained=None):
        compared = [(other, shared.pick(other, trained)) for other in others or []]
        figure, line = views.loss_view(shared.pick(model_name, trained), model_name, compared, x,
                                       bool(logarithmic_x), bool(logarithmic_y))
        return {plot: shown(figure), note: line}

    drawn = [shared.model, compare, along, log_x, log_y, shared.trained]
    gr.on([demo.load, compare.change, along.change, log_x.change, log_y.change], draw, drawn, [plot, note],
          api_visibility="private")
    shared.when_model_changes(draw, drawn, [plot, note], tab="loss")
