"""Memorisation: which spans of a text occur word for word in the model's training split (found
with a suffix array over it)."""
from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from gpt import lab
from studio import inputs
from studio import lab as lab_views
from studio.code_views import CodeView
from studio.lab_opening import DEFAULT_PROMPT
from studio.links import MAX_TEXT_CHARS, Param

from ..refusals import user_errors
from ..shared import described
from .instrument import Bench, Context, Drawing, Instrument, lab_text

Highlighted = list[tuple[str, str | None]]


@dataclass(frozen=True)
class MemorisedPart:
    sample: str | None              # the fresh sample checked (None: the typed text was checked)
    highlighted: Highlighted
    note: str


def measure(context: Context, given: tuple[str, int]) -> MemorisedPart:
    """The typed text, or (with the box empty) a fresh sample of the model, checked against its training split."""
    text, min_len = given
    if text:
        return MemorisedPart(None, *lab_views.memorised_view(context.model, text, min_len))
    return MemorisedPart(*lab_views.memorised_sample_view(context.model, DEFAULT_PROMPT, min_len=min_len))


def layout(bench: Bench) -> Drawing:
    shared, pick = bench.shared, bench.pick
    gr.Markdown("Which spans of a text occur word for word in the model's training split "
                "(found with a suffix array over it)? Leave the box empty to check your last "
                "generation.")
    memo_text = gr.Textbox("", lines=6, label="Text (empty: the last generation)",
                           max_length=lab_views.MAX_LAB_CHARS)
    with gr.Row():
        memo_len = gr.Slider(5, 100, value=20, step=1, label="Shortest span (characters)")
        memo_btn = gr.Button("Find verbatim spans", variant="primary")
    memo_out = gr.HighlightedText(label="Spans found in the training text", combine_adjacent=False,
                                  color_map={"in the training text": "orange"}, elem_id="memo-text",
                                  show_inline_category=False, show_legend=True, elem_classes="char-text")
    memo_note = gr.Markdown()
    bench.code_part(memo_text)

    @memo_btn.click(inputs=[shared.model, memo_text, memo_len, shared.record, shared.trained],
                    outputs=[memo_out, memo_note], api_name="lab_memorised", **bench.inference)
    @user_errors
    @described
    def lab_memorised(model_name, typed, min_len, record=None, trained=None):
        """The spans of a text found word for word in the model's training split, with line and speaker.

        Args:
            {MODEL}
            typed: the text to check.
            min_len: the shortest span counted, in characters (5 to 100).
        Returns:
            The text with the verbatim spans marked, and a note listing where each was found.
        """
        checked = lab_text(typed) or (record.text if record is not None else "")
        spans, note = lab_views.memorised_view(pick(model_name, trained), checked,
                                               inputs.whole(min_len, "shortest span"))
        return {memo_out: spans, memo_note: note}

    def page(r: MemorisedPart) -> dict:
        return {"spans": r.highlighted, "note": r.note} | ({"text": r.sample} if r.sample else {})

    return Drawing(
        boxes={"text": memo_text, "min_len": memo_len},
        views={"spans": memo_out, "note": memo_note, "text": memo_text},
        read=lambda v: (lab_text(v["text"]), inputs.whole(v["min_len"], "shortest span")), measure=measure,
        page=page, cleared=lambda message: {"spans": [], "note": message}, note="note", carried={"memo": "text"})


def _run(model, text) -> None:
    lab.VerbatimIndex(text * 3).matches(text, min_len=5)


INSTRUMENT = Instrument(
    "memorised", "Memorisation", 50, layout,
    params=(Param("memo", "text", None, hi=MAX_TEXT_CHARS, label="memorisation text"),),
    code=CodeView("Memorisation", ("gpt.lab.VerbatimIndex.matches", "gpt.lab.VerbatimIndex.longest_at",
                                   "gpt.lab._suffix_array"), _run))
