"""Induction: a random string written twice; a model that has learned to copy is far less
surprised by the second copy."""
from __future__ import annotations

from dataclasses import dataclass

import gradio as gr
import plotly.graph_objects as go

from gpt import lab
from gpt.generation import MAX_SEED
from studio import inputs
from studio import lab as lab_views
from studio.code_views import CodeView
from studio.lab_opening import COPYING_MODEL

from ..refusals import user_errors
from ..shared import described, shown
from .instrument import Bench, Context, Drawing, Instrument


@dataclass(frozen=True)
class InductionPart:
    copies: go.Figure | None
    heat: go.Figure | None
    formation: go.Figure | None
    note: str


@dataclass(frozen=True)
class Strings:
    length: int
    seed: int
    kind: str


def measure(context: Context, given: Strings) -> InductionPart:
    """The chosen model's copies and induction scores beside the copying GPT's, and that GPT's formation."""
    zoo, name = context.zoo, context.model_name
    chosen = [(name, context.model, zoo.precomputed(name))]
    has_copier = COPYING_MODEL in zoo.sources
    if name != COPYING_MODEL and has_copier:
        chosen.append((COPYING_MODEL, zoo.get(COPYING_MODEL), zoo.precomputed(COPYING_MODEL)))
    copies, heat, note = lab_views.induction_view(chosen, given.length, given.seed, given.kind)
    formation = lab_views.formation_view(zoo.get(COPYING_MODEL), COPYING_MODEL) if has_copier else None
    return InductionPart(copies, heat, formation, note)


def read_strings(length, seed, kind) -> Strings:
    return Strings(inputs.whole(length, "string length"), inputs.whole(seed, "seed", 0, MAX_SEED), kind or "random")


def layout(bench: Bench) -> Drawing:
    shared, pick = bench.shared, bench.pick
    gr.Markdown("Write a random string twice. A model that has learned to copy (with *induction "
                "heads*) is far less surprised the second time. The shipped GPT never learned to: "
                "Tiny Shakespeare rarely repeats itself within a block. The copying GPT was trained "
                "where copying pays.")
    with gr.Row():
        kind = gr.Radio(lab_views.STRING_KINDS, value="random", label="Written twice")
        length = gr.Slider(10, 60, value=60, step=1, label="String length")
        seed = gr.Number(0, precision=0, minimum=0, label="Seed")
        induction_btn = gr.Button("Compare", variant="primary")
    induction_note = gr.Markdown()
    with gr.Row():
        copies_plot = gr.Plot(show_label=False, elem_id="copies-plot")
        induction_plot = gr.Plot(show_label=False, elem_id="induction-plot")
    formation_plot = gr.Plot(show_label=False, elem_id="formation-plot")
    bench.code_part()

    @induction_btn.click(inputs=[shared.model, length, seed, kind, shared.trained],
                         outputs=[copies_plot, induction_plot, formation_plot, induction_note],
                         api_name="lab_induction", **bench.inference)
    @user_errors
    @described
    def lab_induction(model_name, length, seed, kind="random", trained=None):
        """Induction: a string written twice; a model that copies is far less surprised by the second copy.

        Args:
            {MODEL}
            length: the string's length, 10 to 60.
            seed: a whole number choosing the string.
            kind: "random" (random characters) or "val" (a passage of the val split).
        Returns:
            The loss on each copy, each head's induction score, and (for the copying GPT) how they formed.
        """
        part = measure(Context(bench.zoo, model_name, pick(model_name, trained)), read_strings(length, seed, kind))
        return {copies_plot: shown(part.copies), induction_plot: shown(part.heat),
                formation_plot: shown(part.formation), induction_note: part.note}

    def read(v: dict) -> Strings:
        return read_strings(v["length"], v["seed"], v["kind"])

    def opened(context: Context, given: Strings) -> InductionPart:
        # the slider's length, or as many characters as fit twice in the model's block
        return measure(context, Strings(max(2, min(given.length, context.model.block_size // 2)), given.seed,
                                        given.kind))

    return Drawing(
        boxes={"length": length, "seed": seed, "kind": kind},
        views={"copies": copies_plot, "heat": induction_plot, "formation": formation_plot, "note": induction_note},
        read=read, measure=opened,
        page=lambda r: {"copies": shown(r.copies), "heat": shown(r.heat), "formation": shown(r.formation),
                        "note": r.note},
        cleared=lambda message: {"copies": shown(None), "heat": shown(None), "formation": shown(None),
                                 "note": message},
        note="note")


def _run(model, text) -> None:
    lab.induction_scores(model, length=10, seed=0)


INSTRUMENT = Instrument(
    "induction", "Induction", 40, layout,
    code=CodeView("Induction", ("gpt.lab.induction_scores", "gpt.lab.repeated_random_text"), _run,
                  needs_attention=True))
