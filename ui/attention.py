"""Attention: one heatmap per head of a chosen layer over the real characters of the last
generated text (or the prompt), with one head (or their average) shown large."""
from __future__ import annotations

import gradio as gr

from gpt.introspect import MAX_ATTENTION_CHARS
from studio import inputs, views
from studio.errors import InputError

from .generate import GenerateTab
from .refusals import user_errors
from .shared import Shared, described, layer_and_head, shown


def build(shared: Shared, generate: GenerateTab) -> None:
    settings = shared.resources.settings
    default = shared.resources.default_model
    n_layers, n_heads = (views.attention_shape(shared.zoo.get(default)) if default else None) or (1, 1)
    with shared.tab("Attention", "attention"):
        # one row of controls and the map under it: the map starts on the first screen at 1024 x 768
        # (it started at y = 650 of 800 below two rows and the note); the note is its caption
        with gr.Row(equal_height=True):
            layer = gr.Slider(0, max(n_layers - 1, 1), value=0, step=1, label="Layer", min_width=200,
                              elem_id="attention-layer")
            head = gr.Dropdown(views.head_options(n_heads), value=views.AVERAGE, label="Shown large", min_width=160)
            n_chars = gr.Slider(8, MAX_ATTENTION_CHARS, value=32, step=1, label="Characters to show", min_width=200)
            attention_btn = gr.Button("Draw attention", variant="primary", min_width=140, scale=0)
        plot = gr.Plot(label="Attention weights", elem_id="attention-plot", visible=False)
        with gr.Accordion("The map in words: what each character reads most", open=False,
                          elem_id="attention-words-box"):
            words = gr.Markdown(elem_id="attention-words")     # a screen reader's (and an assistant's) map
        note = gr.Markdown(elem_id="attention-note")
        grid = gr.Plot(label="Every head of the layer", elem_id="attention-grid", visible=False)
        shared.code_part("attention")

    @user_errors
    @described
    def attention(model_name, record, prompt, layer_index, chars, head_name=views.AVERAGE, trained=None):
        """Draw every attention head of one layer over the characters of a text.

        Args:
            {MODEL}
            prompt: the text whose attention to draw (the last chars characters of it).
            layer_index: the layer, from 0.
            chars: how many of the text's last characters to show, 8 to 128.
            head_name: "average of heads", or one head as "head 0", "head 1", ...
        Returns:
            The chosen head's map, every head's map, a note explaining how to read them, and the chosen map in words
            (for each character, the characters it reads most with their weights: the numbers without the figure).
        """
        source = "the text on screen" if record is not None else "the prompt (generate to see your text here)"
        text = record.text if record is not None else inputs.text(prompt, "prompt", settings.max_prompt_chars)
        if not text:
            raise InputError("There is no text to draw: type a prompt, or generate some text first.")
        figure, heads, line, in_words = views.attention_view(
            shared.pick(model_name, trained), text, inputs.whole(layer_index, "layer", 0),
            inputs.whole(chars, "number of characters", 1, MAX_ATTENTION_CHARS), source,
            inputs.text(head_name, "head") or views.AVERAGE)
        return {plot: shown(figure), grid: shown(heads), note: line, words: in_words}

    drawn = [shared.model, shared.record, generate.prompt, layer, n_chars, head, shared.trained]
    outputs = [plot, grid, note, words]
    attention_btn.click(attention, drawn, outputs, api_name="attention", concurrency_id="inference")
    head.change(attention, drawn, outputs, api_visibility="private")
    # a person moving the layer or the number of characters redraws at once (the title said "Layer 2"
    # while the slider and the address said 4); a model switch or a link sets them and draws itself
    for control in (layer, n_chars):
        control.input(attention, drawn, outputs, api_visibility="private", trigger_mode="always_last")

    def after_text(open_tab, *values):
        """A finished text's maps, drawn at once only while the Attention tab is on screen: opening
        the tab draws them otherwise, so a class writing on the Generate tab spends no 80-130 ms
        of the shared CPU (and 73 KB each) on maps nobody looks at."""
        return attention(*values) if open_tab == "attention" else {note: gr.skip()}

    for finished in generate.finished:               # the maps of a text follow it once it ends
        finished.then(after_text, [shared.open_tab, *drawn], outputs, api_visibility="private")
    shared.when_tab_opens("attention", attention, drawn, outputs)

    def rebind(model_name, record, prompt, _layer, chars, _head, trained):
        """The layer slider and head choice bound to the new model's shape, and its maps drawn."""
        try:
            shape = views.attention_shape(shared.pick(model_name, trained))
        except InputError:
            shape = None
        if shape is None:
            controls = {layer: gr.Slider(interactive=False),
                        head: gr.Dropdown(choices=views.head_options(0), value=views.AVERAGE)}
        else:
            controls = dict(zip((layer, head), layer_and_head(*shape)))
        try:
            return controls | attention(model_name, record, prompt, 0, chars, views.AVERAGE, trained)
        except gr.Error as e:
            return controls | {plot: shown(None), grid: shown(None), note: str(e), words: ""}

    shared.when_model_changes(rebind, drawn, [layer, head, *outputs], tab="attention")

    links = shared.links
    links.carry("layer", layer)
    links.carry("head", head)
    links.carry("chars", n_chars)

    def linked(link, model_name, record, prompt, _layer, chars, _head, trained):
        """The layer and head the link names, checked against the model's shape, and the maps drawn
        (after its text when the link makes its text again: the maps follow a finished text)."""
        try:
            shape = views.attention_shape(shared.pick(model_name, trained))
        except InputError:
            shape = None
        layers, heads = shape or (1, 0)
        layer_index, head_name, problems = link.get("layer", 0), link.get("head", views.AVERAGE), []
        if layer_index >= layers:
            problems.append(f"This model has {layers} layer{'s' * (layers != 1)}: layer 0 is shown, not "
                            f"{layer_index}.")
            layer_index = 0
        if head_name not in views.head_options(heads):
            problems.append(f"This model's heads are numbered 0-{heads - 1}: their average is shown.")
            head_name = views.AVERAGE
        page = {layer: layer_index, head: head_name}
        if "gen" not in link:
            page |= attention(model_name, record, prompt, layer_index, chars, head_name, trained)
        if problems:
            page[note] = " ".join(problems) + (" " + page[note] if note in page else "")
        return page

    links.on_open("attention", linked, drawn, [layer, head, *outputs])
