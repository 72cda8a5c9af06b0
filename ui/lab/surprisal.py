"""Surprisal: how surprised the model is by each character, in bits; click one to see what the
model expected there and which earlier characters each head read."""
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

NO_COMPARISON = "none"
Highlighted = list[tuple[str, float | str | None]]


@dataclass(frozen=True)
class SurprisalPart:
    highlighted: Highlighted
    note: str
    position: int                   # the most surprising character, inspected below
    bars: go.Figure | None
    rows: go.Figure | None
    prediction_note: str


def most_surprising_position(highlighted: Highlighted) -> int:
    """The position of the character the model found most surprising (the first character,
    having no context, is never chosen; ties go to the earliest)."""
    scores = [score for _, score in highlighted[1:]]
    if not scores:
        return 1
    return 1 + max(range(len(scores)), key=lambda i: scores[i] if scores[i] is not None else float("-inf"))


def measure(context: Context, text: str) -> SurprisalPart:
    view = lab_views.surprisal_view(context.model, text)
    position = most_surprising_position(view.highlighted)
    bars, rows, note = lab_views.prediction_view(context.model, text, position)
    return SurprisalPart(view.highlighted, view.note, position, bars, rows, note)


def layout(bench: Bench) -> Drawing:
    shared = bench.shared
    gr.Markdown("How surprised the model is by each character, in bits (−log₂ p). Compare two "
                "models to see where the extra context pays off.")
    # max_lines 4: the box grew to 12 lines with the passage and pushed the result below the first screen
    text = gr.Textbox(lab_views.default_passage(), lines=3, max_lines=4, elem_id="lab-text",
                      label="Text (a val passage: never trained on)", max_length=lab_views.MAX_LAB_CHARS)
    with gr.Row():
        compare = gr.Dropdown([("(no comparison)", NO_COMPARISON)] + shared.resources.model_choices,
                              value=NO_COMPARISON, label="Compare with", scale=2)
        surprisal_btn = gr.Button("Measure surprisal", variant="primary", scale=1)
    surprisal = gr.HighlightedText(label="Surprisal per character (click one)", combine_adjacent=False,
                                   show_legend=False, elem_id="surprisal-text", elem_classes="char-text")
    surprisal_note = gr.Markdown(elem_id="surprisal-note")
    with gr.Row():
        predict_pos = gr.Number(1, precision=0, minimum=1, label="Inspect position", scale=1)
        predict_btn = gr.Button("Inspect", scale=1)
    predict_note = gr.Markdown()
    with gr.Row():
        predict_plot = gr.Plot(show_label=False, elem_id="predict-plot")
        rows_plot = gr.Plot(show_label=False, elem_id="rows-plot")
    bench.code_part(text)
    views = {"surprisal": surprisal, "note": surprisal_note, "bars": predict_plot, "rows": rows_plot,
             "prediction_note": predict_note, "position": predict_pos}

    pick = bench.pick

    @surprisal_btn.click(inputs=[shared.model, text, compare, shared.trained], outputs=[surprisal, surprisal_note],
                         api_name="lab_surprisal", **bench.inference)
    @user_errors
    @described
    def lab_surprisal(model_name, passage, compare_name, trained=None):
        """How surprised the model is by each character of a text, in bits (-log2 of its probability).

        Args:
            {MODEL}
            passage: the text to measure (at most 2,000 characters the model knows).
            compare_name: another model to subtract (its bits minus this one's per character), or "none".
        Returns:
            Each character with its surprisal, and a note with the mean bits per character and the loss.
        """
        other = None if compare_name in (None, "", NO_COMPARISON) else pick(compare_name, trained)
        view = lab_views.surprisal_view(pick(model_name, trained), lab_text(passage), other, compare_name)
        return {surprisal: view.highlighted, surprisal_note: view.note}

    @predict_btn.click(inputs=[shared.model, text, predict_pos, shared.trained],
                       outputs=[predict_plot, rows_plot, predict_note], api_name="lab_predict", **bench.inference)
    @user_errors
    @described
    def lab_predict(model_name, passage, position, trained=None):
        """What the model expected at one character of a text, and which earlier characters each head read.

        Args:
            {MODEL}
            passage: the text.
            position: the character to inspect, 1-based (the first is not predicted).
        Returns:
            The next-character distribution there, the heads' attention rows, and the true character's probability.
        """
        return {views[name]: value for name, value in inspected(pick(model_name, trained), passage, position).items()}

    @surprisal.select(inputs=[shared.model, text, shared.trained],
                      outputs=[predict_plot, rows_plot, predict_note, predict_pos], api_visibility="private",
                      trigger_mode="multiple")     # every click its own character (see ui/shared.on_tab_opened)
    def clicked(model_name, passage, trained, evt: gr.SelectData):
        """A click on a character of the coloured text: inspect that position."""
        position = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
        if position == 0:       # said, not silently ignored
            return {predict_note: "**The first character is not predicted**: nothing comes before it for the "
                                  "model to read. Click a later one."}
        return lab_predict(model_name, passage, position, trained) | {predict_pos: position}

    def page(r: SurprisalPart) -> dict:
        return {"surprisal": r.highlighted, "note": r.note, "bars": shown(r.bars), "rows": shown(r.rows),
                "prediction_note": r.prediction_note, "position": r.position}

    def cleared(message: str) -> dict:
        return {"surprisal": [], "note": message, "bars": shown(None), "rows": shown(None), "prediction_note": "",
                "position": 1}

    def linked(context: Context, values: dict, link) -> dict:
        """A link's position, inspected."""
        if "pos" not in link:
            return {}
        try:
            return {"position": link.get("pos")} | inspected(context.model, values["text"], link.get("pos"))
        except gr.Error as e:
            return {"prediction_note": str(e)}

    return Drawing(
        boxes={"text": text, "position": predict_pos}, views=views,
        read=lambda values: lab_text(values["text"]), measure=measure, page=page, cleared=cleared,
        note="note", carried={"text": "text", "pos": "position"}, linked=linked)


@user_errors
def inspected(model, passage, position) -> dict:
    """What the model expected at one position, and what its heads read there: the views' values by name."""
    bars, rows, note = lab_views.prediction_view(model, lab_text(passage), position_input(position))
    return {"bars": shown(bars), "rows": shown(rows), "prediction_note": note}


def _run(model, text) -> None:
    lab.surprisal(model, text)


INSTRUMENT = Instrument(
    "surprisal", "Surprisal", 10, layout,
    params=(Param("text", "text", None, hi=MAX_TEXT_CHARS, label="Lab text", model_text=True),
            Param("pos", "int", None, 1, MAX_TEXT_CHARS, label="position")),
    code=CodeView("Surprisal", ("gpt.lab.surprisal", "gpt.lab.windows", "gpt.lab._per_position"), _run))
