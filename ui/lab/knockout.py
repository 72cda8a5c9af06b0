"""Head knockout: remove one attention head at a time and measure how much the loss rises; then
regenerate a text without the heads you choose."""
from __future__ import annotations

from dataclasses import dataclass

import gradio as gr
import plotly.graph_objects as go

from gpt import lab
from gpt.generation import MAX_SEED
from studio import inputs
from studio import lab as lab_views
from studio.code_views import CodeView
from studio.lab_opening import DEFAULT_PROMPT, OPENING_SAMPLE_CHARS

from ..refusals import REFUSALS, user_errors
from ..shared import described, shown
from .instrument import Bench, Context, Drawing, Instrument, lab_text

KNOCKOUT_SOURCES = [("the fixed val slice (shipped models: measured when published)", "val"),
                    ("the text in the Surprisal box", "text")]


@dataclass(frozen=True)
class KnockoutPart:
    figure: go.Figure | None
    note: str
    head_choices: list[str]
    removed: list[str]              # ticked in the boxes, named in the note, removed in `knocked`: one set
    intact: str
    knocked: str
    regenerate_note: str


@dataclass(frozen=True)
class Regeneration:
    prompt: str
    length: int
    seed: int


def measure(context: Context, given: Regeneration) -> KnockoutPart:
    """The val slice's grid (a shipped model's measured when published), and the prompt written
    without the head that matters most."""
    model = context.model
    figure, note, top = lab_views.knockout_view(model, context.model_name, None, "zero",
                                                context.zoo.precomputed(context.model_name))
    intact, knocked, regenerate_note = lab_views.regenerate_view(model, [top], given.prompt, given.length, given.seed)
    return KnockoutPart(figure, note, lab_views.head_choices(model), [top], intact, knocked, regenerate_note)


def layout(bench: Bench) -> Drawing:
    shared, zoo, default = bench.shared, bench.zoo, bench.shared.resources.default_model
    gr.Markdown("Remove one attention head at a time (its output zeroed, or replaced by its mean, "
                "before the output projection) and measure how much the loss rises.")
    with gr.Row():
        source = gr.Radio(KNOCKOUT_SOURCES, value="val", label="Measure on")
        mode = gr.Radio(["zero", "mean"], value="zero", label="Ablation")
        knockout_btn = gr.Button("Knock out each head", variant="primary")
    knockout_note = gr.Markdown()
    knockout_plot = gr.Plot(show_label=False, elem_id="knockout-plot")
    heads = gr.CheckboxGroup(lab_views.head_choices(zoo.get(default)) if default else [],
                             label="Heads to remove", elem_id="knockout-heads")
    with gr.Row():
        prompt = gr.Textbox(DEFAULT_PROMPT, label="Prompt to regenerate", lines=2)
        length = gr.Slider(20, 1000, value=OPENING_SAMPLE_CHARS, step=10, label="Characters")
        seed = gr.Number(0, precision=0, minimum=0, label="Seed")
        regen_btn = gr.Button("Regenerate without them", variant="primary")
    regen_note = gr.Markdown(elem_id="regen-note")
    with gr.Row():
        intact = gr.Textbox(label="Intact model", lines=10, elem_id="regen-intact")
        knocked = gr.Textbox(label="With the heads removed", lines=10, elem_id="regen-knocked")
    surprisal_text = bench.box("surprisal", "text")         # "the text in the Surprisal box"
    bench.code_part(surprisal_text)

    pick = bench.pick

    @knockout_btn.click(inputs=[shared.model, source, surprisal_text, mode, shared.trained],
                        outputs=[knockout_plot, knockout_note], api_name="lab_knockout", **bench.inference)
    @user_errors
    @described
    def lab_knockout(model_name, source, passage, mode, trained=None, progress=gr.Progress()):
        """Remove each attention head in turn and measure how much the next-character loss rises.

        Args:
            {MODEL}
            source: "val" (a fixed val slice; shipped models are measured in advance) or "text" (passage).
            passage: the text to measure on when source is "text".
            mode: "zero" (the head's output zeroed) or "mean" (replaced by its mean over the text).
        Returns:
            A layer-by-head grid of the loss increase, and a note naming the heads that matter most.
        """
        on_val = source == "val"
        precomputed = zoo.precomputed(model_name) if on_val else None
        if on_val and precomputed is None:
            progress(0, desc="no precomputed grid for this model: measuring on a val passage")
        figure, note, _ = lab_views.knockout_view(
            pick(model_name, trained), model_name, None if on_val else lab_text(passage), mode, precomputed,
            progress=lambda f: progress(f, desc="knocking heads out, layer by layer"))
        return {knockout_plot: shown(figure), knockout_note: note}

    @regen_btn.click(inputs=[shared.model, heads, prompt, length, seed, shared.trained],
                     outputs=[intact, knocked, regen_note], api_name="lab_regenerate", **bench.inference)
    @user_errors
    @described
    def lab_regenerate(model_name, chosen, prompt, length, seed, trained=None):
        """The same prompt and seed written by the intact model and with some attention heads removed.

        Args:
            {MODEL}
            chosen: the heads to remove, as "L<layer> H<head>" strings (e.g. ["L0 H1", "L2 H3"]).
            prompt: the text to continue.
            length: characters to write.
            seed: a whole number.
        Returns:
            The intact text, the text without those heads, and a note.
        """
        given = read_regeneration(prompt, length, seed, bench.max_prompt)
        texts = lab_views.regenerate_view(pick(model_name, trained), chosen, given.prompt, given.length, given.seed)
        return dict(zip((intact, knocked, regen_note), texts))

    def page(r: KnockoutPart) -> dict:
        # the ticked heads, the note's heads and the heads removed from the text: one set, set here
        return {"figure": shown(r.figure), "note": r.note, "heads": gr.CheckboxGroup(choices=r.head_choices,
                                                                                     value=r.removed),
                "intact": r.intact, "knocked": r.knocked, "regenerate_note": r.regenerate_note}

    def cleared(message: str) -> dict:
        return {"figure": shown(None), "note": message, "intact": "", "knocked": "", "regenerate_note": ""}

    def follow(model) -> dict:
        """A new model's heads to choose from, none ticked."""
        try:
            choices = lab_views.head_choices(model) if model is not None else []
        except REFUSALS:
            choices = []
        return {"heads": gr.CheckboxGroup(choices=choices, value=[])}

    return Drawing(
        boxes={"prompt": prompt, "length": length, "seed": seed},
        views={"figure": knockout_plot, "note": knockout_note, "heads": heads, "intact": intact, "knocked": knocked,
               "regenerate_note": regen_note},
        read=lambda v: read_regeneration(v["prompt"], v["length"], v["seed"], bench.max_prompt),
        measure=measure, page=page, cleared=cleared, note="note", follow=follow)


def read_regeneration(prompt, length, seed, max_prompt: int) -> Regeneration:
    return Regeneration(inputs.text(prompt, "prompt", max_prompt), inputs.whole(length, "length"),
                        inputs.whole(seed, "seed", 0, MAX_SEED))


def _run(model, text) -> None:
    lab.head_knockout(model, text, heads=[(0, 0)])


INSTRUMENT = Instrument(
    "knockout", "Head knockout", 20, layout,
    code=CodeView("Head knockout", ("gpt.lab.head_knockout", "gpt.lab.ablated", "gpt.model.editing_heads",
                                    "gpt.model.HeadOutputs.forward"), _run, needs_attention=True))
