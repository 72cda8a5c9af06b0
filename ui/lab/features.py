"""The Lab's Features sub-tab: browse the shipped SAE's features, see which fire at any
character, steer a generation with one, and compare each with the untrained-model control."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import gradio as gr

from gpt.generation import MAX_SEED
from gpt.plots import VISIBLE
from studio import inputs
from studio import lab as lab_views
from studio.code_views import CodeView
from studio.features import MAX_STRENGTH, MODEL_NAME, NOT_SHIPPED, FeatureAtlas, atlas_for
from studio.links import Param

from ..refusals import user_errors
from ..shared import chosen, described
from .instrument import Bench, Instrument

AT_COLUMNS = ["feature", "activation", "promotes", "its strongest val context"]


def plain_chars(text: str) -> list[tuple[str, None]]:
    return [(VISIBLE.get(c, c) if c in VISIBLE and c != "\n" else c, None) for c in text]


@dataclass(frozen=True)
class FeaturePage:
    """One feature on screen, as the browsing, the table of active features and steering share it."""
    number: gr.Number
    header: gr.Markdown
    contexts: gr.HTML
    control: gr.HTML
    found: gr.Dropdown
    atlas: Callable[[], FeatureAtlas]

    @property
    def outputs(self) -> list:
        return [self.number, self.header, self.contexts, self.control]

    def shown(self, f) -> dict:
        p = self.atlas().feature(f)
        return {self.number: p.feature, self.header: p.header, self.contexts: p.contexts, self.control: p.control}

    def listing(self, choices: list[tuple[str, int]], f: int, label: str) -> gr.Dropdown:
        """The list, holding the feature on screen (it was blank, or named another feature, when the
        page showed one it did not list): put first when it is not among them."""
        if f not in {n for _, n in choices}:
            choices = [(self.atlas().label(f), f)] + choices
        return gr.Dropdown(choices=choices, value=f, label=label)

    def opened_on(self, f) -> dict:
        """A feature opened from the table or the number box, named by the list too."""
        page = self.shown(f)
        return page | {self.found: self.listing(self.atlas().search(""), page[self.number], "Most frequent features")}


def layout(bench: Bench) -> None:
    """The sub-tab: its tables are read when it opens, so the app starts without loading them."""
    zoo = bench.zoo
    checkpoints = str(zoo.root)
    if MODEL_NAME not in zoo.names() or not FeatureAtlas.available(checkpoints):
        gr.Markdown("No sparse autoencoder is shipped with these checkpoints (`python recipes/sae.py` makes one).")
        return
    page = _browse(bench, lambda: atlas_for(zoo, checkpoints))
    _active_at(bench, page)
    _steer(bench, page)
    bench.code_part()


def _browse(bench: Bench, atlas: Callable[[], FeatureAtlas]) -> FeaturePage:
    """The headline, the search, the list and one feature's contexts beside the control's."""
    shared = bench.shared
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
    page = FeaturePage(number, header, contexts, control, found, atlas)

    # queue=False: read from tables, answered by a plain POST without the queue's round trip
    @bench.tab.select(inputs=[number, opened, shared.links.state],
                      outputs=[summary, explanation, found, opened, *page.outputs], api_name="features_open",
                      queue=False)
    @user_errors
    @described
    def features_open(feature=None, was_opened=True, link=None):
        """Open the sparse-autoencoder features of the shipped GPT's residual stream (after block 3):
        the SAE's quality, the most frequent features (of those firing at most 5% of the time), and one
        feature's page (its strongest val contexts beside the untrained-model control).

        Args:
            feature: the feature to show, 0 to 1535 (none: the most frequent).
        Returns:
            The headline, the explanation, the features listed, and the feature's number, header and contexts
            (HTML: one context a line, each character a span.token with its activation, relative to the
            strongest, in data-a).
        """
        first = atlas().search("")
        on_a_page = link is not None                    # a page has its link record; an API call has none
        if on_a_page and not was_opened and "feature" not in link:
            feature = None
        if feature is None or not 0 <= feature < atlas().sae.config.n_features:
            feature = first[0][1]
        feature = int(feature)
        return {summary: atlas().headline(), explanation: atlas().summary() + "\n\n*" + NOT_SHIPPED + "*",
                found: page.listing(first, feature, "Most frequent features"), opened: True} | page.shown(feature)

    @gr.on([find_btn.click, query.submit], inputs=query, outputs=found, api_name="features_search")
    @user_errors
    @described
    def features_search(text):
        """Search the SAE's features by the text of their strongest contexts, or by what they promote.

        Args:
            text: words to find in the contexts (e.g. "ROMEO"), or "promotes: x" for features that promote x.
        Returns:
            The matching features, best first.
        """
        results = atlas().search(inputs.text(text, "search", 100) if text else "")
        if not results:
            return gr.Dropdown(choices=[], value=None, label="Features found: none")
        return gr.Dropdown(choices=results, value=results[0][1], label=f"Features found: {len(results)}")

    # A link's feature is in the box before the sub-tab is selected, and selecting it opens that feature
    shared.links.carry("feature", number)

    @found.input(inputs=[found, number], outputs=page.outputs, api_visibility="private")
    @user_errors
    def picked(f, on_screen):
        return page.shown(f) if chosen(f, on_screen) else {number: gr.skip()}

    @number.submit(inputs=number, outputs=[*page.outputs, found], api_name="feature_page")
    @user_errors
    @described
    def feature_page(f):
        """One SAE feature's page: its density, what it promotes and suppresses, and its strongest contexts.

        Args:
            f: the feature, 0 to 1535.
        Returns:
            The feature's number, header, contexts and the control's contexts (HTML, as features_open gives
            them), and the list of the most frequent features with it among them.
        """
        return page.opened_on(f)

    return page


def _active_at(bench: Bench, page: FeaturePage) -> None:
    """Which features fire at a character of a text: click one; a row of the table opens its feature."""
    gr.Markdown("**Which features fire at a character**: click one in the text (type your own above it).")
    passage = lab_views.default_passage(300)
    with gr.Row(elem_classes="end-aligned"):
        at_text = gr.Textbox(passage, lines=2, max_lines=6, label="Text", max_length=lab_views.MAX_LAB_CHARS,
                             scale=4, elem_id="features-text")
        last_btn = gr.Button("My last generation", size="sm", scale=1, min_width=120, elem_id="features-last")
    at_chars = gr.HighlightedText(plain_chars(passage), label="Click a character", combine_adjacent=False,
                                  show_legend=False, elem_classes="char-text", elem_id="feature-chars")
    at_note = gr.Markdown(elem_id="feature-at-note")
    # wrap: its contexts wrap on a phone rather than scroll a box inside the grid
    at_table = gr.Dataframe(headers=AT_COLUMNS, interactive=False, label="Active features, strongest first "
                            "(click a row to open it)", elem_id="feature-table", wrap=True)
    at_position = gr.Number(visible=False, precision=0)      # the API's way in: a 1-based position
    at_api = bench.shared.api_button()
    atlas = page.atlas

    at_text.change(lambda t: plain_chars(t or ""), at_text, at_chars, api_visibility="private")

    @last_btn.click(inputs=bench.shared.record, outputs=[at_text, at_note], api_visibility="private",
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

    # queue=False: a plain POST without the queue's round trip (a few ms of model: no need to wait in line).
    # "multiple": every click answered, each with its own character (see ui/shared.on_tab_opened)
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
        """The SAE features active at one character of a text, strongest first.

        Args:
            text: the text (characters the shipped GPT knows).
            position: the character, 1-based.
        Returns:
            A table of features with their activations, what each promotes, and its strongest context.
        """
        return active_at(inputs.text(text, "text", lab_views.MAX_LAB_CHARS), inputs.whole(position, "position"))

    @at_table.select(outputs=[*page.outputs, page.found], api_visibility="private", trigger_mode="multiple")
    @user_errors
    def row_opened(event: gr.SelectData):
        row = getattr(event, "row_value", None)
        return page.opened_on(int(row[0])) if row else {page.number: gr.skip()}


def _steer(bench: Bench, page: FeaturePage) -> None:
    """The same prompt and seed written without and with the feature on screen."""
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

    @steer_btn.click(inputs=[prompt, page.number, strength, length, seed, how], outputs=[plain_out, steered_out],
                     api_name="feature_steer", concurrency_id="inference")
    @user_errors
    @described
    def feature_steer(text, f, s, n, seed_value, how="add"):
        """Steering: the same prompt and seed written without and with one SAE feature, either added to the
        stream at a strength or held at an activation at every position.

        Args:
            text: the prompt.
            f: the feature, 0 to 1535.
            s: the strength added (negative suppresses) or the activation held, -50 to 50.
            n: characters to write, 1 to 500.
            seed_value: a whole number.
            how: "add" (its direction times s added) or "hold" (its activation held at s; 0 removes it).
        Returns:
            The text without the feature and the text with it.
        """
        return page.atlas().steer(inputs.text(text, "prompt", 500), f, inputs.number(s, "strength"),
                                  inputs.whole(n, "length", 1, 500), inputs.whole(seed_value, "seed", 0, MAX_SEED),
                                  inputs.text_choice(how, "how"))


INSTRUMENT = Instrument(
    "features", "Features", 90, layout,
    params=(Param("feature", "int", None, 0, 1_000_000),),
    code=CodeView("Sparse autoencoder features", ("gpt.sae.TopKSAE.encode", "gpt.sae.TopKSAE.decode",
                                                  "gpt.sae.residual_stream", "gpt.sae.logit_effect",
                                                  "gpt.sae.steering", "gpt.sae.clamping")))
