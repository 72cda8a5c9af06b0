"""Learn: the lecture's ladder from bigram to GPT, the averaging trick, the 1/√d scaling and
makemore, computed on the first visit (`studio.learn`)."""
from __future__ import annotations

import gradio as gr

from studio.code_views import LECTURE
from studio.learn import learn_views

from .shared import Shared


def build(shared: Shared) -> None:
    with shared.tab("Learn", "learn"):
        gr.Markdown("## The ladder\nThe lecture builds the GPT one idea at a time. Each rung below was "
                    "trained on Tiny Shakespeare with the same budget (3,000 steps of 32×64 characters, "
                    "the same schedule), so the differences come from the architecture. Every rung can be "
                    "picked in the model list above, for Generate and Attention. The lecture: "
                    f"[Let's build GPT: from scratch, in code, spelled out]({LECTURE}).")
        ladder_plot = gr.Plot(label="Ladder", elem_id="ladder-plot")
        ladder_table = gr.Markdown(elem_id="ladder-table", elem_classes="wide-table")
        with gr.Accordion("A sample from each rung (prompt ROMEO:, seed 0)", open=False):
            ladder_samples = gr.Markdown()
        gr.Markdown(f"## The mathematical trick\n([in the lecture]({LECTURE}&t=2831s)) Four ways for each of T=8 "
                    "positions (C=2 channels, seeded) to "
                    "gather its past. v1 loops; v2 multiplies by a row-normalised lower-triangular matrix; v3 gets "
                    "the same weights from a softmax over masked zeros; v4 replaces the zeros by data-dependent "
                    "scores: self-attention.")
        with gr.Row():
            trick_plots = [gr.Plot(elem_id=f"trick-{version}", show_label=False) for version in ("v2", "v3", "v4")]
        trick_checks = gr.Markdown()
        shared.code_part("ladder")
        trick_table = gr.Markdown(elem_classes="wide-table")
        gr.Markdown(f"## Why divide by √head_size\n([in the lecture]({LECTURE}&t=4616s))")
        scaling_note = gr.Markdown()
        scaling_plot = gr.Plot(show_label=False)
        gr.Markdown("## makemore: names")
        counts_plot = gr.Plot(show_label=False, elem_id="counts-plot")
        neural_plot = gr.Plot(show_label=False, elem_id="neural-plot")
        with gr.Row():                   # side by side on a wide screen, stacked on a phone
            embedding_plot = gr.Plot(show_label=False, min_width=320)
            makemore_note = gr.Markdown(min_width=260)

    def opened():
        v = learn_views(shared.zoo)
        return ({ladder_plot: v.ladder_plot, ladder_table: v.ladder_table, ladder_samples: v.ladder_samples,
                 trick_table: v.trick_table, trick_checks: v.trick_checks, scaling_note: v.scaling_note,
                 scaling_plot: v.scaling_plot, counts_plot: v.counts_plot, neural_plot: v.neural_plot,
                 embedding_plot: v.embedding_plot, makemore_note: v.makemore_note}
                | dict(zip(trick_plots, v.trick_plots)))

    shared.when_tab_opens("learn", opened, [], [ladder_plot, ladder_table, ladder_samples, *trick_plots, trick_table,
                                                trick_checks, scaling_note, scaling_plot, counts_plot, neural_plot,
                                                embedding_plot, makemore_note])
