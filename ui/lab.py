"""Lab: measured answers about the chosen model, one sub-tab per instrument (surprisal, head
knockout, logit lens, induction, memorisation), and the shipped GPT's features (`ui/features.py`).
The instrument on screen is measured on what its boxes hold when the Lab or its sub-tab opens,
or the model changes (`studio.lab_opening`)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import gradio as gr

from gpt.generation import MAX_SEED
from studio import inputs
from studio import lab as lab_views
from studio.lab_opening import (DEFAULT_PROMPT, OPENING_SAMPLE_CHARS, PARTS, OpeningInputs, Refused, induction_part,
                                open_part)
from studio.zoo import SESSION_MODEL

from . import features
from .refusals import REFUSALS, user_errors
from .shared import Shared, described, on_tab_opened, position_input, shown

KNOCKOUT_SOURCES = [("the fixed val slice (shipped models: measured when published)", "val"),
                    ("the text in the Surprisal box", "text")]
NO_COMPARISON = "none"


def lab_text(text) -> str:
    return inputs.text(text, "text", lab_views.MAX_LAB_CHARS)


@dataclass(frozen=True)
class LabWiring:
    """What tests drive: the Lab's part of a model switch, the head boxes, the page's default inputs."""
    refresh: Callable[..., dict]
    heads: gr.CheckboxGroup
    defaults: list


def build(shared: Shared) -> LabWiring:
    """Lays out the Lab and wires it."""
    zoo, default = shared.zoo, shared.resources.default_model
    with shared.tab("Lab", "lab"):
        part_state = gr.State("surprisal")       # the instrument on screen
        fresh_state = gr.State({})               # instrument -> the model its figures show (shipped models only)
        gr.Markdown("Measured answers about the model chosen above: where it is surprised, which heads matter, "
                    "which layer knows the answer, whether it copies, and what it memorised.")
        with gr.Tabs(overflow_behavior="wrap") as instruments:
            with gr.Tab("Surprisal", id="lab-surprisal"):
                gr.Markdown("How surprised the model is by each character, in bits (−log₂ p). Compare two "
                            "models to see where the extra context pays off.")
                # max_lines 4: the box grew to 12 lines with the passage and pushed the result below the first screen
                text = gr.Textbox(lab_views.default_passage(), lines=3, max_lines=4,
                                  label="Text (a val passage: never trained on)", max_length=lab_views.MAX_LAB_CHARS)
                with gr.Row():
                    compare = gr.Dropdown([("(no comparison)", NO_COMPARISON)] + shared.resources.model_choices,
                                          value=NO_COMPARISON, label="Compare with", scale=2)
                    surprisal_btn = gr.Button("Measure surprisal", variant="primary", scale=1)
                surprisal = gr.HighlightedText(label="Surprisal per character (click one)", combine_adjacent=False,
                                               show_legend=False, elem_id="surprisal-text",
                                               elem_classes="char-text")
                surprisal_note = gr.Markdown(elem_id="surprisal-note")
                with gr.Row():
                    predict_pos = gr.Number(1, precision=0, minimum=1, label="Inspect position", scale=1)
                    predict_btn = gr.Button("Inspect", scale=1)
                predict_note = gr.Markdown()
                with gr.Row():
                    predict_plot = gr.Plot(show_label=False, elem_id="predict-plot")
                    rows_plot = gr.Plot(show_label=False, elem_id="rows-plot")
                shared.code_part("surprisal", text)
            with gr.Tab("Head knockout", id="lab-knockout"):
                gr.Markdown("Remove one attention head at a time (its output zeroed, or replaced by its mean, "
                            "before the output projection) and measure how much the loss rises.")
                with gr.Row():
                    knockout_source = gr.Radio(KNOCKOUT_SOURCES, value="val", label="Measure on")
                    knockout_mode = gr.Radio(["zero", "mean"], value="zero", label="Ablation")
                    knockout_btn = gr.Button("Knock out each head", variant="primary")
                knockout_note = gr.Markdown()
                knockout_plot = gr.Plot(show_label=False, elem_id="knockout-plot")
                heads = gr.CheckboxGroup(lab_views.head_choices(zoo.get(default)) if default else [],
                                         label="Heads to remove", elem_id="knockout-heads")
                with gr.Row():
                    regen_prompt = gr.Textbox(DEFAULT_PROMPT, label="Prompt to regenerate", lines=2)
                    regen_length = gr.Slider(20, 1000, value=OPENING_SAMPLE_CHARS, step=10, label="Characters")
                    regen_seed = gr.Number(0, precision=0, minimum=0, label="Seed")
                    regen_btn = gr.Button("Regenerate without them", variant="primary")
                regen_note = gr.Markdown(elem_id="regen-note")
                with gr.Row():
                    intact = gr.Textbox(label="Intact model", lines=10, elem_id="regen-intact")
                    knocked = gr.Textbox(label="With the heads removed", lines=10, elem_id="regen-knocked")
                shared.code_part("knockout", text)
            with gr.Tab("Logit lens", id="lab-lens"):
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
                shared.code_part("lens", lens_text)
            with gr.Tab("Induction", id="lab-induction"):
                gr.Markdown("Write a random string twice. A model that has learned to copy (with *induction "
                            "heads*) is far less surprised the second time. The shipped GPT never learned to: "
                            "Tiny Shakespeare rarely repeats itself within a block. The copying GPT was trained "
                            "where copying pays.")
                with gr.Row():
                    induction_kind = gr.Radio(lab_views.STRING_KINDS, value="random", label="Written twice")
                    induction_len = gr.Slider(10, 60, value=60, step=1, label="String length")
                    induction_seed = gr.Number(0, precision=0, minimum=0, label="Seed")
                    induction_btn = gr.Button("Compare", variant="primary")
                induction_note = gr.Markdown()
                with gr.Row():
                    copies_plot = gr.Plot(show_label=False, elem_id="copies-plot")
                    induction_plot = gr.Plot(show_label=False, elem_id="induction-plot")
                formation_plot = gr.Plot(show_label=False, elem_id="formation-plot")
                shared.code_part("induction")
            with gr.Tab("Memorisation", id="lab-memorised"):
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
                                              show_inline_category=False, show_legend=True,
                                              elem_classes="char-text")
                memo_note = gr.Markdown()
                shared.code_part("memorised", memo_text)
            features.build(shared)       # the shipped GPT's SAE: its own sub-tab, opened from tables

    pick, inference = shared.pick, dict(concurrency_id="inference")
    max_prompt = shared.resources.settings.max_prompt_chars

    @surprisal_btn.click(inputs=[shared.model, text, compare, shared.trained], outputs=[surprisal, surprisal_note],
                         api_name="lab_surprisal", **inference)
    @user_errors
    @described
    def lab_surprisal(model_name, passage, compare_name, trained=None):
        other = None if compare_name in (None, "", NO_COMPARISON) else pick(compare_name, trained)
        view = lab_views.surprisal_view(pick(model_name, trained), lab_text(passage), other, compare_name)
        return {surprisal: view.highlighted, surprisal_note: view.note}

    @predict_btn.click(inputs=[shared.model, text, predict_pos, shared.trained],
                       outputs=[predict_plot, rows_plot, predict_note], api_name="lab_predict", **inference)
    @user_errors
    @described
    def lab_predict(model_name, passage, position, trained=None):
        bars, rows, note = lab_views.prediction_view(pick(model_name, trained), lab_text(passage),
                                                     position_input(position))
        return {predict_plot: shown(bars), rows_plot: shown(rows), predict_note: note}

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

    @knockout_btn.click(inputs=[shared.model, knockout_source, text, knockout_mode, shared.trained],
                        outputs=[knockout_plot, knockout_note], api_name="lab_knockout", **inference)
    @user_errors
    @described
    def lab_knockout(model_name, source, passage, mode, trained=None, progress=gr.Progress()):
        on_val = source == "val"
        precomputed = zoo.precomputed(model_name) if on_val else None
        if on_val and precomputed is None:
            progress(0, desc="no precomputed grid for this model: measuring on a val passage")
        figure, note, _ = lab_views.knockout_view(
            pick(model_name, trained), model_name, None if on_val else lab_text(passage), mode, precomputed,
            progress=lambda f: progress(f, desc="knocking heads out, layer by layer"))
        return {knockout_plot: shown(figure), knockout_note: note}

    @regen_btn.click(inputs=[shared.model, heads, regen_prompt, regen_length, regen_seed, shared.trained],
                     outputs=[intact, knocked, regen_note], api_name="lab_regenerate", **inference)
    @user_errors
    @described
    def lab_regenerate(model_name, chosen, prompt, length, seed, trained=None):
        texts = lab_views.regenerate_view(pick(model_name, trained), chosen,
                                          inputs.text(prompt, "prompt", max_prompt),
                                          inputs.whole(length, "length"), inputs.whole(seed, "seed", 0, MAX_SEED))
        return dict(zip((intact, knocked, regen_note), texts))

    @lens_btn.click(inputs=[shared.model, lens_text, shared.trained], outputs=[lens_plot, lens_note],
                    api_name="lab_lens", **inference)
    @user_errors
    @described
    def lab_lens(model_name, passage, trained=None):
        figure, note = lab_views.lens_view(pick(model_name, trained), lab_text(passage))
        return {lens_plot: shown(figure), lens_note: note}

    @lens_pos_btn.click(inputs=[shared.model, lens_text, lens_pos, shared.trained], outputs=lens_table,
                        api_name="lab_lens_position", **inference)
    @user_errors
    @described
    def lab_lens_position(model_name, passage, position, trained=None):
        return lab_views.lens_position_view(pick(model_name, trained), lab_text(passage), position_input(position))

    @induction_btn.click(inputs=[shared.model, induction_len, induction_seed, induction_kind, shared.trained],
                         outputs=[copies_plot, induction_plot, formation_plot, induction_note],
                         api_name="lab_induction", **inference)
    @user_errors
    @described
    def lab_induction(model_name, length, seed, kind="random", trained=None):
        part = induction_part(zoo, model_name, pick(model_name, trained), length, seed, kind)
        return {copies_plot: shown(part.copies), induction_plot: shown(part.heat),
                formation_plot: shown(part.formation), induction_note: part.note}

    @memo_btn.click(inputs=[shared.model, memo_text, memo_len, shared.record, shared.trained],
                    outputs=[memo_out, memo_note], api_name="lab_memorised", **inference)
    @user_errors
    @described
    def lab_memorised(model_name, typed, min_len, record=None, trained=None):
        checked = lab_text(typed) or (record.text if record is not None else "")
        spans, note = lab_views.memorised_view(pick(model_name, trained), checked,
                                               inputs.whole(min_len, "shortest span"))
        return {memo_out: spans, memo_note: note}

    def part_page(part: str, result) -> dict:
        """One instrument's answer on the page, or its refusal in its note with its figures hidden."""
        r, refused = result, isinstance(result, Refused)
        if part == "surprisal":
            return ({surprisal: [], surprisal_note: r.message, predict_plot: shown(None), rows_plot: shown(None),
                     predict_note: "", predict_pos: 1} if refused else
                    {surprisal: r.highlighted, surprisal_note: r.note, predict_plot: shown(r.bars),
                     rows_plot: shown(r.rows), predict_note: r.prediction_note, predict_pos: r.position})
        if part == "knockout":
            # the ticked heads, the note's heads and the heads removed from the text: one set, set here
            return ({knockout_plot: shown(None), knockout_note: r.message, intact: "", knocked: "", regen_note: ""}
                    if refused else
                    {knockout_plot: shown(r.figure), knockout_note: r.note,
                     heads: gr.CheckboxGroup(choices=r.head_choices, value=r.removed), intact: r.intact,
                     knocked: r.knocked, regen_note: r.regenerate_note})
        if part == "lens":
            return ({lens_plot: shown(None), lens_note: r.message, lens_table: ""} if refused else
                    {lens_plot: shown(r.figure), lens_note: r.note, lens_table: r.table})
        if part == "induction":
            return ({copies_plot: shown(None), induction_plot: shown(None), formation_plot: shown(None),
                     induction_note: r.message} if refused else
                    {copies_plot: shown(r.copies), induction_plot: shown(r.heat), formation_plot: shown(r.formation),
                     induction_note: r.note})
        return ({memo_out: [], memo_note: r.message} if refused else
                {memo_out: r.highlighted, memo_note: r.note} | ({memo_text: r.sample} if r.sample else {}))

    part_of_tab = dict(zip(("Surprisal", "Head knockout", "Logit lens", "Induction", "Memorisation"), PARTS))
    on_page = [text, regen_prompt, regen_length, regen_seed, lens_text, lens_pos, induction_len, induction_seed,
               induction_kind, memo_text]
    outputs = [surprisal, surprisal_note, predict_plot, rows_plot, predict_note, predict_pos, knockout_plot,
               knockout_note, heads, intact, knocked, regen_note, lens_plot, lens_note, lens_table, copies_plot,
               induction_plot, formation_plot, induction_note, memo_text, memo_out, memo_note, fresh_state]

    def measured(part: str, model_name, trained, values) -> dict:
        try:
            model = pick(model_name, trained)
            w = inputs.whole
            given = OpeningInputs(lab_text(values[0]), inputs.text(values[1], "prompt", max_prompt),
                                  w(values[2], "length"), w(values[3], "seed", 0, MAX_SEED), lab_text(values[4]),
                                  position_input(values[5]), w(values[6], "string length"),
                                  w(values[7], "seed", 0, MAX_SEED), values[8] or "random", lab_text(values[9]))
            return part_page(part, open_part(zoo, model_name, model, part, given))
        except REFUSALS as e:
            return part_page(part, Refused(str(e)))

    def shown_for(part, model_name, trained, fresh, values) -> dict:
        """The instrument on screen measured for this model, unless it already shows it."""
        if model_name != SESSION_MODEL and fresh.get(part) == model_name:
            return {}
        return measured(part, model_name, trained, values) | {fresh_state: {**fresh, part: model_name}}

    def opened(model_name, trained, part, fresh, *values):
        return shown_for(part, model_name, trained, fresh, values)

    notes = [surprisal_note, knockout_note, regen_note, lens_note, induction_note, memo_note]

    def instrument_opened(label, model_name, trained, fresh, *values):
        part = part_of_tab.get(label)
        if part is None:                   # Features: the shipped SAE's, shown from its tables, whatever the model
            return {part_state: gr.skip()}
        return {part_state: part} | shown_for(part, model_name, trained, fresh, values)

    on_tab_opened(instruments, instrument_opened, [shared.model, shared.trained, fresh_state, *on_page],
                  [part_state, *outputs], api_visibility="private", show_progress="minimal",
                  show_progress_on=notes)     # see 'Progress targets' in ui/shared.py

    def refresh(model_name, trained, open_tab, part, fresh, *values):
        """A new model: the head boxes follow it, every instrument's figures of the last model
        are cleared, and with the Lab open the instrument on screen is measured at once (the
        others when they are opened)."""
        try:
            choices = lab_views.head_choices(pick(model_name, trained))
        except REFUSALS:
            choices = []
        page = {}
        for other in PARTS:
            page |= part_page(other, Refused(""))
        page |= {heads: gr.CheckboxGroup(choices=choices, value=[]), fresh_state: {}}
        if open_tab == "lab":
            page |= shown_for(part, model_name, trained, {}, values)
        return page

    lab_inputs = [shared.model, shared.trained, part_state, fresh_state, *on_page]
    shared.when_tab_opens("lab", opened, lab_inputs, outputs)
    shared.when_model_changes(refresh, [shared.model, shared.trained, shared.open_tab, part_state, fresh_state,
                                        *on_page], outputs, tab="lab")

    links = shared.links
    for key, component in (("text", text), ("pos", predict_pos), ("lens", lens_text), ("lpos", lens_pos),
                           ("memo", memo_text)):
        links.carry(key, component)

    def linked(link, model_name, trained, _part, _fresh, *values):
        """The instrument the link names, measured on the texts it carries (already in their boxes)."""
        part = link.get("lab", "surprisal")
        page = {instruments: gr.Tabs(selected=f"lab-{part}"), part_state: part if part in PARTS else gr.skip()}
        if part == "features":          # selecting the sub-tab opens it, on the link's feature (ui/features.py)
            return page
        page |= shown_for(part, model_name, trained, {}, values)
        if part == "surprisal" and "pos" in link:
            try:
                page |= lab_predict(model_name, values[0], link.get("pos"), trained) | {predict_pos: link.get("pos")}
            except gr.Error as e:
                page[predict_note] = str(e)
        return page

    links.on_open("lab", linked, lab_inputs, [instruments, part_state, *outputs])
    return LabWiring(refresh, heads, [c.value for c in on_page])
