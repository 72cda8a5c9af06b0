"""Learn: the lecture's ladder from bigram to GPT, the averaging trick, the 1/√d scaling and
makemore, computed on the first visit (`studio.learn`)."""
from __future__ import annotations

import gradio as gr

from studio.code_views import LECTURE
from studio.learn import learn_views

from .tab import Desk, TabDrawing, TabSpec


def layout(desk: Desk) -> TabDrawing:
    """Computed when the tab is first opened (then remembered: it does not depend on the model)."""
    with desk.tab():
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
        desk.code_part()
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

    single = dict(ladder_plot=ladder_plot, ladder_table=ladder_table, ladder_samples=ladder_samples,
                  trick_table=trick_table, trick_checks=trick_checks, scaling_note=scaling_note,
                  scaling_plot=scaling_plot, counts_plot=counts_plot, neural_plot=neural_plot,
                  embedding_plot=embedding_plot, makemore_note=makemore_note)     # studio.learn.LearnViews' names
    views_by_name = single | {f"trick_plot_{i}": plot for i, plot in enumerate(trick_plots)}

    def opened(_values):
        computed = learn_views(desk.shared.zoo)
        return ({name: getattr(computed, name) for name in single}
                | {f"trick_plot_{i}": figure for i, figure in enumerate(computed.trick_plots)})

    return TabDrawing(reads={}, views=views_by_name, opened=opened)


TAB = TabSpec("learn", "Learn", layout, code="ladder")
