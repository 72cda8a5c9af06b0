"""The Lab's Features sub-tab: browse the shipped SAE's features, see which fire at any
character, steer a generation with one, and compare each with the untrained-model control."""
from __future__ import annotations

import gradio as gr

from gpt.generation import MAX_SEED
from gpt.plots import VISIBLE
from studio import inputs
from studio import lab as lab_views
from studio.features import MAX_STRENGTH, MODEL_NAME, NOT_SHIPPED, FeatureAtlas, atlas_for

from .refusals import user_errors
from .shared import Shared, described

AT_COLUMNS = ["feature", "activation", "promotes", "its strongest val context"]


def plain_chars(text: str) -> list[tuple[str, None]]:
    return [(VISIBLE.get(c, c) if c in VISIBLE and c != "\n" else c, None) for c in text]


def build(shared: Shared) -> None:
    """The sub-tab; call inside the Lab's gr.Tabs."""
    zoo = shared.zoo
    checkpoints = str(zoo.root)
    with gr.Tab("Features", id="lab-features") as features_tab:
        if MODEL_NAME not in zoo.names() or not FeatureAtlas.available(checkpoints):
            gr.Markdown("No sparse autoencoder is shipped with these checkpoints (`python recipes/sae.py` makes one).")
            return
        # filled when the sub-tab opens (from tables: no model run), so the app starts without loading them
        summary = gr.Markdown("Opening the features…", elem_id="features-summary")
        # The number box sends 0 when nothing was chosen (Gradio's Number), so the first opening shows
        # the most frequent feature unless a link named one; later openings keep the feature on screen
        opened = gr.State(False)
        with gr.Accordion("What an SAE is, how good this one is, and the control", open=False):
            explanation = gr.Markdown()
        with gr.Row(elem_classes="end-aligned"):        # buttons their own height, beside the boxes' inputs
            query = gr.Textbox(label="Search: context text, or promotes: e", scale=2, max_length=100, min_width=200)
            find_btn = gr.Button("Find", scale=1, min_width=80)
            found = gr.Dropdown([], label="Features found", scale=3, min_width=240, elem_id="feature-found")
            number = gr.Number(None, precision=0, minimum=0, label="Feature", scale=1, min_width=100)
        header = gr.Markdown()
        with gr.Row(elem_classes="contexts-row"):     # one HTML block each: ~400 shaded characters drawn at once
            contexts = gr.HTML(elem_id="feature-contexts")
            control = gr.HTML(elem_id="feature-control")
        gr.Markdown("**Which features fire at a character**: click one in the text (type your own above it).")
        passage = lab_views.default_passage(300)
        with gr.Row(elem_classes="end-aligned"):
            at_text = gr.Textbox(passage, lines=2, max_lines=6, label="Text", max_length=lab_views.MAX_LAB_CHARS,
                                 scale=4, elem_id="features-text")
            last_btn = gr.Button("My last generation", size="sm", scale=1, min_width=120, elem_id="features-last")
        at_chars = gr.HighlightedText(plain_chars(passage), label="Click a character", combine_adjacent=False,
                                      show_legend=False, elem_classes="char-text", elem_id="feature-chars")
        at_note = gr.Markdown(elem_id="feature-at-note")
        at_table = gr.Dataframe(headers=AT_COLUMNS, interactive=False, label="Active features, strongest first "
                                "(click a row to open it)", elem_id="feature-table")
        at_position = gr.Number(visible=False, precision=0)      # the API's way in: a 1-based position
        at_api = shared.api_button()
        gr.Markdown("**Steer**: the same prompt and seed, with the feature's direction added to the stream "
                    "at every position, or its activation held at a value there (hold at 0: the feature removed).")
        with gr.Row():
            prompt = gr.Textbox("ROMEO:\n", label="Prompt", lines=2, scale=2)
            how = gr.Radio([("add", "add"), ("hold at", "hold")], value="add",
                           label="The feature", scale=1, min_width=140)
            strength = gr.Slider(-MAX_STRENGTH, MAX_STRENGTH, value=10, step=0.5, label="Strength or value", scale=2)
            length = gr.Slider(20, 500, value=200, step=10, label="Characters", scale=1)
            seed = gr.Number(0, precision=0, minimum=0, label="Seed", scale=1)
        steer_btn = gr.Button("Generate with and without the feature", variant="primary")
        with gr.Row():
            plain_out = gr.Textbox(label="Without", lines=8)
            steered_out = gr.Textbox(label="With the feature", lines=8)
        shared.code_part("features")

    page = [number, header, contexts, control]

    def atlas() -> FeatureAtlas:
        return atlas_for(zoo, checkpoints)

    def shown(f) -> dict:
        p = atlas().feature(f)
        return {number: p.feature, header: p.header, contexts: p.contexts, control: p.control}

    def listing(choices: list[tuple[str, int]], f: int, label: str) -> gr.Dropdown:
        """The list, holding the feature on screen (it was blank, or named another feature, when the
        page showed one it did not list): put first when it is not among them."""
        if f not in {n for _, n in choices}:
            choices = [(atlas().label(f), f)] + choices
        return gr.Dropdown(choices=choices, value=f, label=label)

    def opened_on(f) -> dict:
        """A feature opened from the table or the number box, named by the list too."""
        page_ = shown(f)
        return page_ | {found: listing(atlas().search(""), page_[number], "Most frequent features")}

    # queue=False: read from tables in ~25 ms, answered by a plain POST without the queue's round trip

    @features_tab.select(inputs=[number, opened, shared.links.state], outputs=[summary, explanation, found, opened,
                                                                               *page],
                         api_name="features_open", queue=False)
    @user_errors
    @described
    def features_open(feature=None, was_opened=True, link=None):
        first = atlas().search("")
        on_a_page = link is not None                    # a page has its link record; an API call has none
        if on_a_page and not was_opened and "feature" not in link:
            feature = None
        if feature is None or not 0 <= feature < atlas().sae.config.n_features:
            feature = first[0][1]
        feature = int(feature)
        return {summary: atlas().headline(), explanation: atlas().summary() + "\n\n*" + NOT_SHIPPED + "*",
                found: listing(first, feature, "Most frequent features"), opened: True} | shown(feature)

    @gr.on([find_btn.click, query.submit], inputs=query, outputs=found, api_name="features_search")
    @user_errors
    @described
    def features_search(text):
        results = atlas().search(inputs.text(text, "search", 100) if text else "")
        if not results:
            return gr.Dropdown(choices=[], value=None, label="Features found: none")
        return gr.Dropdown(choices=results, value=results[0][1], label=f"Features found: {len(results)}")

    # A link's feature is in the box before the sub-tab is selected, and selecting it opens that feature
    shared.links.carry("feature", number)

    @found.input(inputs=found, outputs=page, api_visibility="private")
    @user_errors
    def picked(f):
        return shown(f)

    @number.submit(inputs=number, outputs=[*page, found], api_name="feature_page")
    @user_errors
    @described
    def feature_page(f):
        return opened_on(f)

    at_text.change(lambda t: plain_chars(t or ""), at_text, at_chars, api_visibility="private")

    @last_btn.click(inputs=shared.record, outputs=[at_text, at_note], api_visibility="private",
                    show_progress="hidden")
    def last_generation(record):
        """The text generated last in this session (its end, as much as the box holds), to click through."""
        if record is None or not record.text:
            return gr.skip(), "Generate a text first (in *Generate*): then its characters can be clicked here."
        return record.text[-lab_views.MAX_LAB_CHARS:], ""

    def active_at(text, position) -> dict:
        rows = atlas().features_at(text, position)
        shown_char = VISIBLE.get(text[position - 1], text[position - 1])
        return {at_table: rows, at_note: f"After character {position} (`{shown_char}`): the features of the "
                                         f"stream at layer {atlas().sae.config.layer}, strongest first."}

    # queue=False: answered by a plain POST, without the queue's round trip (in the browser, a
    # character's features 0.28-0.30 s against 0.37-0.41 s queued); ~20 ms of model, no need to wait in line
    # "multiple": every click answered, each with its own character (Gradio's default drops a click
    # that comes while the last is answered, and "always_last" answers it with the first's event data)
    @at_chars.select(inputs=at_text, outputs=[at_table, at_note], api_visibility="private",
                     queue=False, show_progress="hidden", trigger_mode="multiple")
    @user_errors
    def clicked(text, event: gr.SelectData):
        return active_at(inputs.text(text, "text", lab_views.MAX_LAB_CHARS), event.index + 1)

    @at_api.click(inputs=[at_text, at_position], outputs=[at_table, at_note], api_name="features_at",
                  concurrency_id="inference")
    @user_errors
    @described
    def features_at(text, position):
        return active_at(inputs.text(text, "text", lab_views.MAX_LAB_CHARS), inputs.whole(position, "position"))

    @at_table.select(outputs=[*page, found], api_visibility="private", trigger_mode="multiple")     # as above
    @user_errors
    def row_opened(event: gr.SelectData):
        row = getattr(event, "row_value", None)
        return opened_on(int(row[0])) if row else {number: gr.skip()}

    @steer_btn.click(inputs=[prompt, number, strength, length, seed, how], outputs=[plain_out, steered_out],
                     api_name="feature_steer", concurrency_id="inference")
    @user_errors
    @described
    def feature_steer(text, f, s, n, seed_value, how="add"):
        return atlas().steer(inputs.text(text, "prompt", 500), f, inputs.number(s, "strength"),
                             inputs.whole(n, "length", 1, 500), inputs.whole(seed_value, "seed", 0, MAX_SEED),
                             inputs.text_choice(how, "how"))

