"""Attention: one heatmap per head of a chosen layer over the real characters of the last
generated text (or the prompt), with one head (or their average) shown large."""
from __future__ import annotations

import gradio as gr

from gpt.introspect import MAX_ATTENTION_CHARS
from studio import inputs, views
from studio.errors import InputError
from studio.links import MAX_HEADS, MAX_LAYERS, Param, ViewLink
from studio.settings import Settings

from .refusals import user_errors
from .shared import described, layer_and_head, shown
from .tab import Desk, TabDrawing, TabSpec, Values


def link_params(settings: Settings) -> tuple[Param, ...]:
    """The layer, head and text length a link carries (checked against the model when it opens)."""
    return (Param("layer", "int", 0, 0, MAX_LAYERS - 1, per_model=True),
            Param("head", "choice", None, choices=tuple(views.head_options(MAX_HEADS)), per_model=True),
            Param("chars", "int", 32, 8, MAX_ATTENTION_CHARS, label="characters to show"))


def layout(desk: Desk) -> TabDrawing:
    shared, generate = desk.shared, desk.laid_out["generate"].parts
    settings = shared.resources.settings
    default = shared.resources.default_model
    n_layers, n_heads = (views.attention_shape(shared.zoo.get(default)) if default else None) or (1, 1)
    with desk.tab():
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
        desk.code_part()

    reads = dict(model=shared.model, record=shared.record, prompt=generate.prompt, layer=layer, chars=n_chars,
                 head=head, trained=shared.trained)
    views_by_name = dict(layer=layer, head=head, plot=plot, grid=grid, note=note, words=words)

    @user_errors
    def draw(v: Values) -> Values:
        """The maps of the chosen layer over the text on screen (or the prompt); a refusal as a message."""
        record = v["record"]
        source = "the text on screen" if record is not None else "the prompt (generate to see your text here)"
        text = record.text if record is not None else inputs.text(v["prompt"], "prompt", settings.max_prompt_chars)
        if not text:
            raise InputError("There is no text to draw: type a prompt, or generate some text first.")
        figure, heads, line, in_words = views.attention_view(
            shared.pick(v["model"], v["trained"]), text, inputs.whole(v["layer"], "layer", 0),
            inputs.whole(v["chars"], "number of characters", 1, MAX_ATTENTION_CHARS), source,
            inputs.text(v["head"], "head") or views.AVERAGE)
        return dict(plot=shown(figure), grid=shown(heads), note=line, words=in_words)

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
        values = draw(dict(model=model_name, record=record, prompt=prompt, layer=layer_index, chars=chars,
                           head=head_name, trained=trained))
        return {views_by_name[name]: value for name, value in values.items()}

    drawn = list(reads.values())
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

    def refused(e: gr.Error) -> Values:
        return dict(plot=shown(None), grid=shown(None), note=str(e), words="")

    def shape_of(v: Values) -> tuple[int, int] | None:
        try:
            return views.attention_shape(shared.pick(v["model"], v["trained"]))
        except InputError:
            return None

    def rebind(v: Values) -> Values:
        """The layer slider and head choice bound to the new model's shape, and its maps drawn."""
        shape = shape_of(v)
        if shape is None:
            controls = dict(layer=gr.Slider(interactive=False),
                            head=gr.Dropdown(choices=views.head_options(0), value=views.AVERAGE))
        else:
            controls = dict(zip(("layer", "head"), layer_and_head(*shape)))
        try:
            return controls | draw(v | dict(layer=0, head=views.AVERAGE))
        except gr.Error as e:
            return controls | refused(e)

    def linked(link: ViewLink, v: Values) -> Values:
        """The layer and head the link names, checked against the model's shape, and the maps drawn
        (after its text when the link makes its text again: the maps follow a finished text)."""
        layer_index, head_name, problems = _checked_link(link, shape_of(v) or (1, 0))
        page = dict(layer=layer_index, head=head_name)
        if "gen" not in link:
            page |= draw(v | page)
        if problems:
            page["note"] = " ".join(problems) + (" " + page["note"] if "note" in page else "")
        return page

    return TabDrawing(reads, views_by_name, opened=draw, model=rebind, linked=linked)


def _checked_link(link: ViewLink, shape: tuple[int, int]) -> tuple[int, str, list[str]]:
    """The layer and head a link names, or the defaults where the model has no such layer or head (said why)."""
    layers, heads = shape
    layer_index, head_name, problems = link.get("layer", 0), link.get("head", views.AVERAGE), []
    if layer_index >= layers:
        problems.append(f"This model has {layers} layer{'s' * (layers != 1)}: layer 0 is shown, not {layer_index}.")
        layer_index = 0
    if head_name not in views.head_options(heads):
        problems.append(f"This model's heads are numbered 0-{heads - 1}: their average is shown.")
        head_name = views.AVERAGE
    return layer_index, head_name, problems


TAB = TabSpec("attention", "Attention", layout, link_params, code="attention")
