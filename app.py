"""tinyshakespeare-gpt: watch a small character-level GPT write, attend and learn.

Layout and wiring only: what the app computes lives in `studio/` (tested without a
browser) on top of the `gpt` library.
"""
from __future__ import annotations

import functools
import inspect
from pathlib import Path

from studio.fast_start import skip_gradio_dev_work
from studio.settings import SETTINGS

if SETTINGS.fast_start:          # GPT_APP_FAST_START=0 imports gradio as it comes (bench/app.py's baseline)
    skip_gradio_dev_work()       # must precede `import gradio`: see studio/fast_start.py

import gradio as gr  # noqa: E402
import torch  # noqa: E402

from gpt.checkpoint import CheckpointError  # noqa: E402
from gpt.generation import MAX_TEMPERATURE  # noqa: E402
from gpt.hardware import pick_device  # noqa: E402
from gpt.introspect import MAX_ATTENTION_CHARS  # noqa: E402
from studio import views  # noqa: E402
from studio.errors import InputError  # noqa: E402
from studio.generation import generate_stream  # noqa: E402
from studio.learn import learn_views  # noqa: E402
from studio.training import CORPUS_CHOICES, TrainRequest, build_training  # noqa: E402
from studio.zoo import SESSION_MODEL, ModelZoo, describe  # noqa: E402

# Generation and live training share two cores; one thread per request keeps them from
# fighting (measured: 2 threads per process degrade badly when another process runs).
torch.set_num_threads(SETTINGS.threads)

ROOT = Path(__file__).resolve().parent
DEVICE = pick_device(SETTINGS.device)
ZOO = ModelZoo(ROOT / "checkpoints", SETTINGS.extra_models, device=DEVICE)
DEFAULT_MODEL = ZOO.names()[0] if ZOO.names() else None
DEFAULT_PROMPT = "ROMEO:\n"
MODEL_CHOICES = ZOO.names() + [SESSION_MODEL]   # the session's own model is listed from the start


def user_errors(fn):
    """Show the app's own refusals (bad input, missing corpus) as messages, never tracebacks."""
    expected = (InputError, CheckpointError, ValueError)
    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def generator(*args, **kwargs):
            try:
                yield from fn(*args, **kwargs)
            except expected as e:
                raise gr.Error(str(e)) from None
        return generator

    @functools.wraps(fn)
    def function(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except expected as e:
            raise gr.Error(str(e)) from None
    return function


# --- Generate ----------------------------------------------------------------------------

@user_errors
def generate(prompt, model_name, max_new_tokens, temperature, top_k, top_p, seed, unknown, trained=None):
    model = ZOO.pick(model_name, trained)
    record, note = None, ""
    for record, note in generate_stream(model, prompt, max_new_tokens, temperature, top_k, top_p, seed, unknown):
        yield record.text, note, gr.skip(), gr.skip(), gr.skip()
    steps = len(record.sampled_from)
    # a slider needs two distinct ends; with a single step, position 2 shows that step too
    yield (record.text, note, record, gr.Slider(minimum=1, maximum=max(steps, 2), value=steps, step=1,
                                                interactive=steps > 1),
           views.next_char_view(record, steps))


def describe_model(name, trained):
    try:
        return describe(ZOO.pick(name, trained))
    except InputError as e:
        return str(e)


# --- Attention ---------------------------------------------------------------------------

@user_errors
def draw_attention(model_name, record, prompt, layer, n_chars, trained=None):
    source = "the last generated text" if record is not None else "the prompt (generate to see your text here)"
    text = record.text if record is not None else prompt
    return views.attention_view(ZOO.pick(model_name, trained), text, layer, n_chars, source)


# --- Loss curves -------------------------------------------------------------------------

@user_errors
def draw_losses(model_name, trained=None):
    return views.loss_view(ZOO.pick(model_name, trained), model_name)


# --- Train live --------------------------------------------------------------------------

def status_line(p) -> str:
    val = f" · val **{p.val_loss:.3f}**" if p.val_loss is not None else ""
    return (f"step {p.step:,} / {p.max_steps:,} · loss {p.loss:.3f}{val} · {p.tokens_per_sec:,.0f} tokens/s · "
            f"{p.elapsed:.0f} s elapsed · about {p.time_left:.0f} s left")


@user_errors
def train_live(corpus, upload, model_type, n_layer, n_head, n_embd, block_size, minutes, max_steps, lr,
               batch_size, trained=None):
    request = TrainRequest(corpus=corpus, upload=upload, model_type=model_type.lower(), n_layer=int(n_layer),
                           n_head=int(n_head), n_embd=int(n_embd), block_size=int(block_size),
                           minutes=float(minutes), max_steps=int(max_steps), lr=float(lr),
                           batch_size=int(batch_size))
    trainer = build_training(request, DEVICE)
    model = trainer.model
    header = (f"Training a {model.model_type.upper()} with {model.num_params():,} parameters on "
              f"{trainer.dataset.corpus.name} ({trainer.dataset.num_tokens('train'):,} training characters).")
    # The session's state points at the model from the first update on, so Stop keeps it.
    yield None, header, "", [], model
    samples: list[str] = []
    for p in trainer.run():
        if p.val_loss is None and not p.done:
            if p.step % 25 == 0:
                yield gr.skip(), header + "\n\n" + status_line(p), gr.skip(), gr.skip(), gr.skip()
            continue
        if p.sample is not None:
            samples.insert(0, f"--- step {p.step}, val {p.val_loss:.3f} ---\n{p.sample}")
        figure = views.loss_view(model, "Live training")[0]
        done = "\n\n**Done.** Pick *" + SESSION_MODEL + "* in Generate or Attention." if p.done else ""
        yield figure, header + "\n\n" + status_line(p) + done, "\n\n".join(samples), model.history, model


# --- Learn -------------------------------------------------------------------------------

def show_learn_views():
    v = learn_views(ZOO)
    return (v.ladder_plot, v.ladder_table, v.ladder_samples, *v.trick_plots, v.trick_table, v.trick_checks,
            v.scaling_note, v.scaling_plot, v.counts_plot, v.neural_plot, v.embedding_plot, v.makemore_note)


# --- Layout ------------------------------------------------------------------------------

with gr.Blocks(title="tinyshakespeare-gpt") as demo:
    trained_state = gr.State(None)      # the model this browser session trained
    record_state = gr.State(None)       # the last generation: text and per-step distributions

    gr.Markdown("# tinyshakespeare-gpt\nA character-level GPT trained on Tiny Shakespeare on two CPU "
                "cores. Generate text, look at what each attention head reads, and train your own model live. "
                f"Running on **{DEVICE.type.upper()}**.")
    with gr.Row():
        model_dd = gr.Dropdown(MODEL_CHOICES, value=DEFAULT_MODEL, label="Model", scale=1)
        model_info = gr.Markdown(describe_model(DEFAULT_MODEL, None) if DEFAULT_MODEL else "No checkpoints found.")

    with gr.Tabs():
        with gr.Tab("Generate", id="generate"):
            with gr.Row():
                with gr.Column(scale=2):
                    prompt = gr.Textbox(DEFAULT_PROMPT, lines=4, label="Prompt", max_length=SETTINGS.max_prompt_chars)
                    with gr.Row():
                        temperature = gr.Slider(0, MAX_TEMPERATURE, value=0.8, step=0.05, label="Temperature (0 = greedy)")
                        length = gr.Slider(1, SETTINGS.max_new_tokens, value=500, step=1, label="New characters")
                    with gr.Row():
                        top_k = gr.Slider(0, 65, value=0, step=1, label="Top-k (0 = off)")
                        top_p = gr.Slider(0.05, 1, value=1, step=0.05, label="Top-p (1 = off)")
                        seed = gr.Number(0, precision=0, label="Seed (empty = random)", minimum=0)
                    unknown = gr.Radio(["replace", "drop", "error"], value="replace",
                                       label="Characters the model does not know")
                    with gr.Row():
                        generate_btn = gr.Button("Generate", variant="primary")
                        stop_btn = gr.Button("Stop", variant="stop")
                with gr.Column(scale=3):
                    output = gr.Textbox(label="Text", lines=16, max_lines=30, buttons=["copy"], autoscroll=True,
                                        elem_id="output-text")
                    note = gr.Markdown()
            position = gr.Slider(1, 2, value=1, step=1, label="Inspect the choice at step", interactive=False)
            probs_plot = gr.Plot(label="Next-character probabilities", elem_id="probs-plot")

        with gr.Tab("Attention", id="attention"):
            with gr.Row():
                layer = gr.Slider(0, 5, value=0, step=1, label="Layer")
                n_chars = gr.Slider(8, MAX_ATTENTION_CHARS, value=48, step=1, label="Characters to show")
                attention_btn = gr.Button("Draw attention", variant="primary")
            attention_note = gr.Markdown()
            attention_plot = gr.Plot(label="Attention weights", elem_id="attention-plot")

        with gr.Tab("Loss curves", id="loss"):
            losses_note = gr.Markdown()
            losses_plot = gr.Plot(label="Loss curves", elem_id="losses-plot")

        with gr.Tab("Train live", id="train"):
            with gr.Row():
                with gr.Column(scale=2):
                    corpus = gr.Radio(list(CORPUS_CHOICES), value="Tiny Shakespeare", label="Corpus")
                    upload = gr.File(label=f"Your .txt (UTF-8, at most {SETTINGS.max_upload_mb:g} MB)",
                                     file_types=[".txt"], type="filepath")
                    model_type = gr.Radio(["GPT", "MLP", "Bigram"], value="GPT", label="Model")
                    d = TrainRequest()
                    with gr.Row():
                        n_layer = gr.Slider(1, 8, value=d.n_layer, step=1, label="Layers")
                        n_head = gr.Slider(1, 8, value=d.n_head, step=1, label="Heads")
                    with gr.Row():
                        n_embd = gr.Slider(16, 256, value=d.n_embd, step=16, label="Embedding width")
                        block_size = gr.Slider(8, 256, value=d.block_size, step=8, label="Block size (context)")
                    with gr.Row():
                        minutes = gr.Slider(0.25, SETTINGS.max_minutes, value=min(d.minutes, SETTINGS.max_minutes),
                                            step=0.25, label="Minutes")
                        max_steps = gr.Slider(10, SETTINGS.max_steps, value=min(d.max_steps, SETTINGS.max_steps),
                                              step=10, label="Max steps")
                    with gr.Row():
                        lr = gr.Number(d.lr, label="Learning rate", minimum=1e-5, maximum=1)
                        batch_size = gr.Slider(4, 128, value=d.batch_size, step=4, label="Batch size")
                    with gr.Row():
                        train_btn = gr.Button("Train", variant="primary")
                        train_stop = gr.Button("Stop", variant="stop")
                with gr.Column(scale=3):
                    train_status = gr.Markdown()
                    train_plot = gr.Plot(label="Live loss", elem_id="train-plot")
                    train_samples = gr.Textbox(label="Samples (newest first)", lines=10, max_lines=20)
                    with gr.Accordion("Training log", open=False):
                        train_log = gr.JSON(label="Evaluations")

        with gr.Tab("Learn", id="learn") as learn_tab:
            gr.Markdown("## The ladder\nThe lecture builds the GPT one idea at a time. Each rung below was "
                        "trained on Tiny Shakespeare with the same budget (3,000 steps of 32×64 characters, "
                        "the same schedule), so the differences come from the architecture. Every rung can be "
                        "picked in the model list above, for Generate and Attention.")
            ladder_plot = gr.Plot(label="Ladder", elem_id="ladder-plot")
            ladder_table = gr.Markdown()
            with gr.Accordion("A sample from each rung (prompt ROMEO:, seed 0)", open=False):
                ladder_samples = gr.Markdown()
            gr.Markdown("## The mathematical trick\nFour ways for each of T=8 positions (C=2 channels, seeded) to "
                        "gather its past. v1 loops; v2 multiplies by a row-normalised lower-triangular matrix; v3 gets "
                        "the same weights from a softmax over masked zeros; v4 replaces the zeros by data-dependent "
                        "scores: self-attention.")
            with gr.Row():
                trick_v2 = gr.Plot(elem_id="trick-v2", show_label=False)
                trick_v3 = gr.Plot(elem_id="trick-v3", show_label=False)
                trick_v4 = gr.Plot(elem_id="trick-v4", show_label=False)
            trick_checks = gr.Markdown()
            trick_table = gr.Markdown()
            gr.Markdown("## Why divide by √head_size")
            scaling_note = gr.Markdown()
            scaling_plot = gr.Plot(show_label=False)
            gr.Markdown("## makemore: names")
            with gr.Row():
                counts_plot = gr.Plot(show_label=False)
                neural_plot = gr.Plot(show_label=False)
            with gr.Row():
                embedding_plot = gr.Plot(show_label=False)
                makemore_note = gr.Markdown()

    # Events ------------------------------------------------------------------------------
    learn_tab.select(show_learn_views, None, [ladder_plot, ladder_table, ladder_samples, trick_v2, trick_v3, trick_v4,
                                         trick_table, trick_checks, scaling_note, scaling_plot, counts_plot,
                                         neural_plot, embedding_plot, makemore_note], api_visibility="private")
    model_dd.change(describe_model, [model_dd, trained_state], model_info, api_visibility="private")
    generation = generate_btn.click(
        generate, [prompt, model_dd, length, temperature, top_k, top_p, seed, unknown, trained_state],
        [output, note, record_state, position, probs_plot], api_name="generate",
        concurrency_id="inference", show_progress="minimal")
    stop_btn.click(None, None, None, cancels=[generation])
    position.release(views.next_char_view, [record_state, position], probs_plot, api_visibility="private")

    attention_inputs = [model_dd, record_state, prompt, layer, n_chars, trained_state]
    generation.then(draw_attention, attention_inputs, [attention_plot, attention_note], api_visibility="private")
    attention_btn.click(draw_attention, attention_inputs, [attention_plot, attention_note], api_name="attention",
                        concurrency_id="inference")

    loss_event = dict(fn=draw_losses, inputs=[model_dd, trained_state], outputs=[losses_plot, losses_note])
    model_dd.change(api_visibility="private", **loss_event)
    demo.load(api_visibility="private", **loss_event)

    training = train_btn.click(
        train_live, [corpus, upload, model_type, n_layer, n_head, n_embd, block_size, minutes, max_steps, lr,
                     batch_size, trained_state],
        [train_plot, train_status, train_samples, train_log, trained_state], api_name="train",
        concurrency_id="training", concurrency_limit=SETTINGS.training_slots,
        show_progress="minimal")
    train_stop.click(None, None, None, cancels=[training])

demo.queue(max_size=SETTINGS.queue_size, default_concurrency_limit=4)


def launch(**kwargs):
    return demo.launch(show_error=True, enable_monitoring=False,
                       max_file_size=f"{SETTINGS.max_upload_mb:g}mb", **kwargs)


if __name__ == "__main__":
    launch()
