"""Generate: a prompt and the sampling settings; the text streams in, and the next-character
distribution of any step can be inspected once it ends."""
from __future__ import annotations

import asyncio
from dataclasses import dataclass

import gradio as gr

from gpt.generation import MAX_SEED, MAX_TEMPERATURE
from studio import shutdown, views
from studio.generation import agenerate_stream
from studio.lab_opening import DEFAULT_PROMPT
from studio.links import Param, text_chars
from studio.settings import Settings
from studio.zoo import SESSION_MODEL

from .refusals import user_errors
from .shared import described, shown
from .tab import Desk, TabDrawing, TabSpec

UNKNOWN_CHOICES = ["replace", "drop", "error"]
SHOW_OUTPUT = """() => { const box = document.querySelector('#output-text');
    if (box) box.scrollIntoView({block: 'nearest', behavior: 'smooth'}); }"""
"""Bring the text box into view as the text starts (on a phone it sits a screen below the button)."""


@dataclass(frozen=True)
class GenerateTab:
    prompt: gr.Textbox
    finished: list            # the events after which the text on screen is final (ended, or stopped)


def _sampling_settings(max_new_tokens: int) -> tuple:
    """Temperature, length, top-k, top-p, seed and what to do with unknown characters."""
    with gr.Row():
        temperature = gr.Slider(0, MAX_TEMPERATURE, value=0.8, step=0.05, label="Temperature", info="0 = greedy")
        length = gr.Slider(1, max_new_tokens, value=500, step=1, label="New characters")
    with gr.Row():
        top_k = gr.Slider(0, 65, value=0, step=1, label="Top-k", info="0 = off", min_width=170)
        top_p = gr.Slider(0.05, 1, value=1, step=0.05, label="Top-p", info="1 = off", min_width=170)
    seed = gr.Textbox("", label="Seed", placeholder="empty: a new random seed each time", max_length=20)
    unknown = gr.Radio(UNKNOWN_CHOICES, value="replace", label="Characters the model does not know")
    return temperature, length, top_k, top_p, seed, unknown


def link_params(settings: Settings) -> tuple[Param, ...]:
    """The prompt and sampling settings a link carries, and the seed of the text on screen (`gen`:
    the link makes that text again)."""
    return (Param("prompt", "text", None, hi=text_chars(settings.max_prompt_chars), model_text=True),
            Param("temp", "float", 0.8, 0, MAX_TEMPERATURE, label="temperature"),
            Param("len", "int", 500, 1, settings.max_new_tokens, label="length"),
            Param("topk", "int", 0, 0, 10_000, label="top-k"),
            Param("topp", "float", 1.0, 0.05, 1, label="top-p"),
            Param("seed", "int", None, 0, MAX_SEED),
            Param("gen", "int", None, 0, MAX_SEED, label="seed of the text on screen"))


def layout(desk: Desk) -> TabDrawing:
    """The tab; what it gives the tabs after it (`GenerateTab`) are its drawing's parts. A link
    redraws it through `Links.generation`, not through a drawing of its own: the text streams."""
    shared = desk.shared
    settings = shared.resources.settings
    with desk.tab():
        with gr.Row():
            with gr.Column(scale=2):
                prompt = gr.Textbox(DEFAULT_PROMPT, lines=4, label="Prompt", max_length=settings.max_prompt_chars)
                with gr.Row():
                    generate_btn = gr.Button("Generate", variant="primary")
                    stop_btn = gr.Button("Stop", variant="stop")
                temperature, length, top_k, top_p, seed, unknown = _sampling_settings(settings.max_new_tokens)
                if settings.static_url:
                    gr.Markdown(f"The shipped GPT also runs in your own browser, with no server: "
                                f"[the static edition]({settings.static_url}).", elem_id="static-edition")
            with gr.Column(scale=3):
                output = gr.Textbox(label="Text", lines=16, max_lines=30, buttons=["copy"], autoscroll=True,
                                    elem_id="output-text", placeholder="Press Generate: the text streams in here.")
                note = gr.Markdown(elem_id="generate-note")      # said aloud when it changes (assets/accessible-names.html)
        made_with = gr.Textbox(visible=False)     # the seed of the text on screen, for the address bar
        on_screen = gr.Number(visible=False, precision=0)   # the text's length when Stop was pressed
        api_generate = shared.api_button()
        # shown once a text exists: before, it was a slider over nothing
        position = gr.Slider(1, 2, value=1, step=1, label="Inspect the choice at step", interactive=False,
                             visible=False)
        probs_plot = gr.Plot(label="Next-character probabilities", elem_id="probs-plot", visible=False)
        desk.code_part(prompt)

    links = shared.links
    for key, component in (("prompt", prompt), ("temp", temperature), ("len", length), ("topk", top_k),
                           ("topp", top_p), ("seed", seed)):
        links.carry(key, component)
    batched = settings.batched_decoding

    @user_errors
    async def on_page(prompt_text, model_name, max_new_tokens, temp, k, p, seed_text, unknown_policy, trained=None):
        """The text streamed into the page, its record kept for the views that follow it."""
        # a coroutine: a class's streams wait for their characters on the event loop, not in 32 threads;
        # finding the model may load it (from disk or the Hub), so that happens in a worker thread
        model = await asyncio.to_thread(shared.pick, model_name, trained)
        decoder = shared.zoo.decoder(model_name) if batched and model_name != SESSION_MODEL else None
        first = True
        async for record, line in agenerate_stream(model, prompt_text, max_new_tokens, temp, k, p, seed_text,
                                                   unknown_policy, decoder=decoder):
            # The state holds this very record (Gradio keeps a reference), so it follows the stream and
            # Stop keeps it: set once, then skipped, which spares Gradio re-storing it at every chunk.
            # The note too is said once: a chunk still on its way after Stop erased "Stopped after …".
            stopping = shutdown.STOPPING.is_set()
            yield {output: record.text, note: shutdown.MESSAGE if stopping else line if first else gr.skip(),
                   shared.record: record if first else gr.skip()}
            if stopping:
                return
            first = False

    def inspector(record):
        """The step slider and the next-character view, set to the last step of a generation."""
        steps = record.steps if record is not None else 0
        made = {made_with: str(record.seed) if record is not None and record.seed is not None else ""}
        if steps == 0:
            return made | {position: gr.Slider(interactive=False, visible=False), probs_plot: shown(None)}
        # a slider needs two distinct ends; with a single step, position 2 shows that step too
        return made | {position: gr.Slider(minimum=1, maximum=max(steps, 2), value=steps, step=1,
                                           interactive=steps > 1, visible=True),
                       probs_plot: shown(views.next_char_view(record, steps))}

    def seed_in_address(event):
        """The address bar names the seed of the text on screen, so that its link makes that text again."""
        return event.then(None, made_with, None, js="(s) => window.viewLink && window.viewLink.set('gen', s, '')")

    generated_by = [prompt, shared.model, length, temperature, top_k, top_p, seed, unknown, shared.trained]
    made_outputs = [output, note, shared.record]
    # with batched decoding a request mostly waits for its characters: let a whole class in at once
    queueing = dict(concurrency_id="generate", concurrency_limit=64 if batched else 4, show_progress="minimal")
    cleared = {output: "", note: "", made_with: ""}
    generation = generate_btn.click(lambda: cleared, None, [output, note, made_with], js=SHOW_OUTPUT,
                                    api_visibility="private").then(
        on_page, generated_by, made_outputs, api_visibility="private", **queueing)

    _api_endpoint(api_generate, on_page, generated_by, output, note, queueing)
    # the views of a finished text follow it, so that the text itself ends as soon as its last character
    ended = generation.then(inspector, shared.record, [position, probs_plot, made_with], api_visibility="private")
    stopped = stop_btn.click(inspector, shared.record, [position, probs_plot, made_with], cancels=[generation],
                             api_visibility="private")
    _say_what_stop_cut(stop_btn, stopped, shared.record, on_screen, note)

    # A link that names the seed of its text makes that text again when it opens (the settings are
    # already in the boxes); the seed box itself stays as the link had it.
    async def linked_generation(request, prompt_text, model_name, max_new_tokens, temp, k, p, _seed_text,
                                unknown_policy, trained=None):
        if not request:
            yield {output: gr.skip()}     # yielding nothing would set every output to None
            return
        async for update in on_page(prompt_text, model_name, max_new_tokens, temp, k, p, str(request["seed"]),
                                    unknown_policy, trained):
            yield update

    relinked = links.generation.change(lambda: cleared, None, [output, note, made_with],
                                       api_visibility="private").then(
        linked_generation, [links.generation, *generated_by], made_outputs, api_visibility="private", **queueing)
    relinked_end = relinked.then(inspector, shared.record, [position, probs_plot, made_with],
                                 api_visibility="private")
    for event in (ended, stopped, relinked_end):
        seed_in_address(event)

    @position.input(inputs=[shared.record, position], outputs=probs_plot, api_visibility="private",
                    trigger_mode="always_last")          # dragging and the arrow keys alike
    def inspect_step(record, step):
        return shown(views.next_char_view(record, step))

    return TabDrawing(reads={}, views={}, parts=GenerateTab(prompt, [ended, stopped, relinked_end]))


def _say_what_stop_cut(stop_btn: gr.Button, stopped, record: gr.State, on_screen: gr.Number, note: gr.Markdown):
    """What Stop cut: the characters on screen at the click, read in the page at once, against the
    text kept. A chunk already on its way still arrives (~0.2 s of characters): said, rather than
    looking like Stop lagged."""
    stop_btn.click(None, None, on_screen, js="() => document.querySelector('#output-text textarea')?.value.length ?? 0")

    def stop_note(record_, shown_chars):
        if record_ is None:
            return gr.skip()
        late = max(0, len(record_.text) - int(shown_chars or 0))
        return (f"**Stopped** after {record_.steps:,} characters"
                + (f" ({late:,} of them were already on their way when you pressed Stop)." if late else "."))

    stopped.then(stop_note, [record, on_screen], note, api_visibility="private", show_progress="hidden")


def _api_endpoint(trigger: gr.Button, on_page, generated_by: list, output: gr.Textbox, note: gr.Markdown,
                  queueing: dict) -> None:
    """The API's (and assistants') way in: the same stream without the page's record, as an endpoint
    whose outputs are components alone (Gradio 6.31's MCP server fails on an endpoint that outputs State)."""
    @described
    async def generate(prompt_text, model_name, max_new_tokens, temp, k, p, seed_text, unknown_policy, trained=None):
        """Continue a prompt with a character-level GPT, one character at a time (streamed).

        Args:
            prompt_text: the text to continue (characters the model does not know are handled by unknown_policy).
            {MODEL}
            max_new_tokens: how many characters to write, 1 to 2000.
            temp: sampling temperature, 0 (greedy: always the likeliest character) to 2; 0.8 is the app's default.
            k: top-k, keep only the k likeliest characters (0 = off).
            p: top-p (nucleus), keep the likeliest characters whose probabilities sum to p (1 = off).
            seed_text: a whole number makes the text reproducible; empty: a fresh random one.
            unknown_policy: "replace", "drop" or "error" for characters outside the model's vocabulary.
        Returns:
            The prompt and its continuation, and a note on what was done.
        """
        said = ""
        async for update in on_page(prompt_text, model_name, max_new_tokens, temp, k, p, seed_text, unknown_policy,
                                    trained):
            said = update[note] if isinstance(update[note], str) else said     # the page's note is sent once
            yield {output: update[output], note: said}

    trigger.click(generate, generated_by, [output, note], api_name="generate", **queueing)


TAB = TabSpec("generate", "Generate", layout, link_params, code="generate")
