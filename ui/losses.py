"""Loss curves: the chosen checkpoint's whole run, compared with others if asked."""
from __future__ import annotations

import gradio as gr

from studio import views

from .refusals import user_errors
from .shared import shown
from .tab import Desk, TabDrawing, TabSpec, Values


def layout(desk: Desk) -> TabDrawing:
    """Drawn when the page loads and at each change of its settings; a new model redraws it."""
    shared = desk.shared
    with desk.tab():
        with gr.Row():
            compare = gr.Dropdown(shared.resources.model_choices, value=[], multiselect=True,
                                  label="Compare with (val curves)", scale=3, min_width=260)
            along = gr.Radio(["step", "tokens"], value="step", label="Along", min_width=160)
            with gr.Column(min_width=160):
                log_x = gr.Checkbox(False, label="log scale: along")
                log_y = gr.Checkbox(False, label="log scale: loss")
        note = gr.Markdown()
        plot = gr.Plot(label="Loss curves", elem_id="losses-plot")
        desk.code_part()

    reads = dict(model=shared.model, compare=compare, along=along, log_x=log_x, log_y=log_y, trained=shared.trained)
    views_by_name = dict(plot=plot, note=note)

    @user_errors
    def draw(v: Values) -> Values:
        compared = [(other, shared.pick(other, v["trained"])) for other in v["compare"] or []]
        figure, line = views.loss_view(shared.pick(v["model"], v["trained"]), v["model"], compared, v["along"],
                                       bool(v["log_x"]), bool(v["log_y"]))
        return dict(plot=shown(figure), note=line)

    def on_page(*values):
        return {views_by_name[name]: value for name, value in draw(dict(zip(reads, values))).items()}

    gr.on([desk.demo.load, compare.change, along.change, log_x.change, log_y.change], on_page, list(reads.values()),
          [plot, note], api_visibility="private")
    return TabDrawing(reads, views_by_name, model=draw)


TAB = TabSpec("loss", "Loss curves", layout, code="loss")
