"""ui/lab/vowels.py in the worked example: a whole Lab instrument in one module. Its sub-tab,
its link parameter, its endpoint (an MCP tool) and its code view all come from this file."""
from __future__ import annotations

import gradio as gr

from gpt.vowels import vowel_probability
from studio.code_views import CodeView
from studio.links import MAX_TEXT_CHARS, Param

from ..refusals import user_errors
from ..shared import described
from .instrument import Bench, Drawing, Instrument, lab_text


def words(probabilities: list[float]) -> str:
    return (f"A vowel next: {sum(probabilities) / len(probabilities):.4f} on average over "
            f"{len(probabilities)} positions.")


def layout(bench: Bench) -> Drawing:
    gr.Markdown("How likely the model thinks a vowel comes next, after each character.")
    text = gr.Textbox("ROMEO:\nO Juliet", label="Text")
    button = gr.Button("Measure vowels", variant="primary")
    note = gr.Markdown(elem_id="vowel-note")
    bench.code_part(text)

    @button.click(inputs=[bench.shared.model, text, bench.shared.trained], outputs=note, api_name="lab_vowels",
                  **bench.inference)
    @user_errors
    @described
    def lab_vowels(model_name, passage, trained=None):
        """How likely the model thinks a vowel comes next, after each character of a text.

        Args:
            {MODEL}
            passage: the text.
        Returns:
            A note with the mean probability of a vowel next.
        """
        return words(vowel_probability(bench.pick(model_name, trained), lab_text(passage)))

    return Drawing(boxes={"text": text}, views={"note": note}, read=lambda values: lab_text(values["text"]),
                   measure=lambda context, given: vowel_probability(context.model, given),
                   page=lambda probabilities: {"note": words(probabilities)},
                   cleared=lambda message: {"note": message}, note="note", carried={"vtext": "text"})


INSTRUMENT = Instrument(
    "vowels", "Vowels", 60, layout,
    params=(Param("vtext", "text", None, hi=MAX_TEXT_CHARS, label="vowel text", model_text=True),),
    code=CodeView("Vowels", ("gpt.vowels.vowel_probability",), lambda model, text: vowel_probability(model, text)))
