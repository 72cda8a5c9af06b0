"""tinyshakespeare-gpt: watch a small character-level GPT write, attend and learn.

UI wiring only: every computation lives in the `gpt` package (gpt/studio.py for what the
app does, gpt/plots.py for its figures), where it is tested without a browser.
"""
from __future__ import annotations

import functools
import inspect
import os
from pathlib import Path

from gpt.fast_start import skip_gradio_dev_work

if os.environ.get("GPT_APP_FAST_START", "1") != "0":   # 0: import gradio as it comes (bench/app.py's baseline)
    skip_gradio_dev_work()                              # must precede `import gradio`: see gpt/fast_start.py

import gradio as gr  # noqa: E402
import torch  # noqa: E402

from gpt import lecture, plots, studio  # noqa: E402
from gpt.checkpoint import CheckpointError  # noqa: E402
from gpt.introspect import MAX_ATTENTION_CHARS, attention_maps, has_attention  # noqa: E402
from gpt.studio import LIMITS, SESSION_MODEL, InputError, TrainRequest  # noqa: E402

# Generation and live training share two cores; one thread per request keeps them from
# fighting (measured: 2 threads per process degrade badly when another process runs).
torch.set_num_threads(int(os.environ.get("GPT_APP_THREADS", "1")))

ROOT = Path(__file__).resolve().parent
ZOO = studio.ModelZoo(ROOT / "checkpoints")
DEFAULT_MODEL = ZOO.names()[0] if ZOO.names() else None
DEFAULT_PROMPT = "ROMEO:\n"


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


def pick_model(name: str, trained):
    """A shipped model, or a snapshot of the one this browser session trained."""
    if name == SESSION_MODEL:
        if trained is None:
            raise InputError("This session has not trained a model yet: use the Train live tab first.")
        return studio.snapshot(trained)
    return ZOO.get(name)


MODEL_CHOICES = ZOO.names() + [SESSION_MODEL]   # the session's own model is listed from the start


# --- Generate ----------------------------------------------------------------------------

@user_errors
def generate(prompt, model_name, max_new_tokens, temperature, top_k, top_p, seed, unknown, trained=None):
    model = pick_model(model_name, trained)
    record, note = None, ""
    for record, note in studio.generate_stream(model, prompt, max_new_tokens, temperature, top_k, top_p,
                                               seed, unknown):
        yield record.text, note, gr.skip(), gr.skip(), gr.skip()
    steps = len(record.sampled_from)
    # a slider needs two distinct ends; with a single step, position 2 shows that step too
    yield (record.text, note, record, gr.Slider(minimum=1, maximum=max(steps, 2), value=steps, step=1,
                                                interactive=steps > 1),
           next_char_plot(record, steps))


def next_char_plot(record, position):
    if record is None or not record.sampled_from:
        return None
    i = int(min(max(position, 1), len(record.sampled_from))) - 1
    context = record.text[max(0, record.prompt_chars + i - 20):record.prompt_chars + i]
    return plots.next_char_figure(record.vocab, record.sampled_from[i], record.model_probs[i],
                                  picked=record.generated[i], title=f"Step {i + 1}, after {context!r}")


def describe_model(name, trained):
    try:
        return studio.describe(pick_model(name, trained))
    except InputError as e:
        return str(e)


# --- Attention ---------------------------------------------------------------------------

@user_errors
def draw_attention(model_name, record, prompt, layer, n_chars, trained=None):
    model = pick_model(model_name, trained)
    if not has_attention(model):
        kind = {"bigram": "looks only at the previous character", "mlp":
                f"concatenates the embeddings of the last {model.block_size} characters"}[model.model_type]
        return None, (f"**The {model.model_type} model has no attention**: it {kind}, with fixed weights per "
                      "position. Pick a GPT to see attention.")
    text = record.text if record is not None else prompt
    layer = int(min(max(layer, 0), model.config.n_layer - 1))
    maps = attention_maps(model, text, int(n_chars))
    figure = plots.attention_figure(maps.chars, maps.maps[layer], layer, maps.start)
    source = "the last generated text" if record is not None else "the prompt (generate to see your text here)"
    return figure, (f"Layer {layer} of {model.config.n_layer}, {model.config.n_head} heads, reading the last "
                    f"{len(maps.chars)} characters of {source}. Each row is one character's query; it can only "
                    "attend to itself and earlier characters, so everything above the diagonal is zero.")


# --- Loss curves -------------------------------------------------------------------------

@user_errors
def draw_losses(model_name, trained=None):
    model = pick_model(model_name, trained)
    if not model.history:
        return None, "This model has no training history."
    bigram = studio.bigram_reference(model)
    figure = plots.loss_figure(model.history, model.tokenizer.vocab_size, bigram, title=f"{model_name}: loss")
    last = model.history[-1]
    return figure, (f"{len(model.history)} evaluations on fixed batches; last at step {last['step']:,}: "
                    f"train {last['train_loss']:.3f}, val {last['val_loss']:.3f}.")


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
    trainer = studio.build_training(request)
    model = trainer.model
    bigram = studio.bigram_reference(model)
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
        figure = plots.loss_figure(trainer.history, model.tokenizer.vocab_size, bigram, title="Live training loss")
        model.history = list(trainer.history)
        done = "\n\n**Done.** Pick *" + SESSION_MODEL + "* in Generate or Attention." if p.done else ""
        yield figure, header + "\n\n" + status_line(p) + done, "\n\n".join(samples), model.history, model


# --- Learn -------------------------------------------------------------------------------

@functools.cache
def learn_views():
    """The Learn tab's figures and tables; computed once, on the first visit to the tab."""
    rungs = studio.ladder_results(ZOO)
    ladder_plot = plots.ladder_figure([f"{r.number}. {r.title}" for r in rungs], [r.val_loss for r in rungs],
                                      [r.lecture_val for r in rungs]) if rungs else None
    ladder_table = studio.markdown_table(
        ["rung", "what changes", "parameters", "val loss", "lecture", "why ours differ"],
        [[r.number, r.title, f"{r.params:,}", f"{r.val_loss:.3f}", f"{r.lecture_val:.2f}" if r.lecture_val else "—",
          r.note] for r in rungs])
    ladder_samples = "\n\n".join(f"**{r.number}. {r.title}**\n```text\n{r.sample[:200]}\n```" for r in rungs)

    trick = lecture.averaging_trick()
    trick_plots = [plots.matrix_figure(trick.weights_tril.numpy(), "v2: tril / row sums"),
                   plots.matrix_figure(trick.weights_softmax.numpy(), "v3: softmax of masked zeros"),
                   plots.matrix_figure(trick.weights_attention.numpy(), "v4: softmax of masked q·kᵀ / √16")]
    rows = [[t, *(f"{v:+.3f}" for v in trick.x[t].tolist()), *(f"{v:+.3f}" for v in trick.xbow_loop[t].tolist()),
             *(f"{v:+.3f}" for v in trick.xbow_matmul[t].tolist())] for t in range(trick.x.size(0))]
    trick_table = studio.markdown_table(
        ["t", "x[t,0]", "x[t,1]", "v1 mean[0]", "v1 mean[1]", "v2 mean[0]", "v2 mean[1]"], rows)
    trick_checks = "  \n".join(f"`torch.allclose` {name}: **{ok}**" for name, ok in trick.checks.items())

    scaling = lecture.scaling_demo()
    scaling_note = (f"With unit-variance q and k and head size {scaling.head_size}, the raw scores q·kᵀ have "
                    f"variance **{scaling.var_unscaled:.1f}**; divided by √{scaling.head_size} it is "
                    f"**{scaling.var_scaled:.2f}**. "
                    f"The largest softmax weight of a row averages **{scaling.mean_max_unscaled:.2f}** unscaled "
                    f"against **{scaling.mean_max_scaled:.2f}** scaled: unscaled, each query listens to one key.")
    scaling_plot = plots.softmax_rows_figure(scaling.softmax_unscaled.numpy(), scaling.softmax_scaled.numpy(),
                                             scaling.head_size)
    try:
        mm = studio.makemore_views(ZOO)
    except InputError as e:
        return (ladder_plot, ladder_table, ladder_samples, *trick_plots, trick_table, trick_checks, scaling_note,
                scaling_plot, None, None, None, f"makemore checkpoints missing: {e}")
    counts_plot = plots.matrix_figure(mm.counts, "makemore: bigram counts (row = current, column = next)",
                                      mm.chars, mm.chars, text_format="d", height=620)
    probs_plot = plots.matrix_figure(mm.neural_probs, "trained neural bigram: P(next | current)",
                                     mm.chars, mm.chars, text_format=".2f", height=620)
    embedding_plot = (plots.embedding_figure(mm.chars, mm.embedding, "the MLP's 2-D character embeddings")
                      if mm.embedding is not None else None)
    makemore_note = (f"Val loss on held-out names: counting/neural bigram **{mm.bigram_val:.3f}** (lecture ≈ 2.45), "
                     + (f"MLP with 2-D embeddings **{mm.mlp2d_val:.3f}**, " if mm.mlp2d_val else "")
                     + (f"MLP with 10-D embeddings **{mm.mlp_val:.3f}** (lecture ≈ 2.17). " if mm.mlp_val else "")
                     + "New names from the 2-D MLP: " + ", ".join(mm.names))
    return (ladder_plot, ladder_table, ladder_samples, *trick_plots, trick_table, trick_checks, scaling_note,
            scaling_plot, counts_plot, probs_plot, embedding_plot, makemore_note)


# --- Layout ------------------------------------------------------------------------------

with gr.Blocks(title="tinyshakespeare-gpt") as demo:
    trained_state = gr.State(None)      # the model this browser session trained
    record_state = gr.State(None)       # the last generation: text and per-step distributions

    gr.Markdown("# tinyshakespeare-gpt\nA character-level GPT trained on Tiny Shakespeare on two CPU "
                "cores. Generate text, look at what each attention head reads, and train your own model live.")
    with gr.Row():
        model_dd = gr.Dropdown(MODEL_CHOICES, value=DEFAULT_MODEL, label="Model", scale=1)
        model_info = gr.Markdown(describe_model(DEFAULT_MODEL, None) if DEFAULT_MODEL else "No checkpoints found.")

    with gr.Tabs():
        with gr.Tab("Generate", id="generate"):
            with gr.Row():
                with gr.Column(scale=2):
                    prompt = gr.Textbox(DEFAULT_PROMPT, lines=4, label="Prompt", max_length=LIMITS.max_prompt_chars)
                    with gr.Row():
                        temperature = gr.Slider(0, 2, value=0.8, step=0.05, label="Temperature (0 = greedy)")
                        length = gr.Slider(1, LIMITS.max_new_tokens, value=500, step=1, label="New characters")
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
                    corpus = gr.Radio(list(studio.CORPUS_CHOICES), value="Tiny Shakespeare", label="Corpus")
                    upload = gr.File(label=f"Your .txt (UTF-8, at most {LIMITS.max_upload_mb:g} MB)",
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
                        minutes = gr.Slider(0.25, LIMITS.max_minutes, value=min(d.minutes, LIMITS.max_minutes),
                                            step=0.25, label="Minutes")
                        max_steps = gr.Slider(10, LIMITS.max_steps, value=min(d.max_steps, LIMITS.max_steps),
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
    learn_tab.select(learn_views, None, [ladder_plot, ladder_table, ladder_samples, trick_v2, trick_v3, trick_v4,
                                         trick_table, trick_checks, scaling_note, scaling_plot, counts_plot,
                                         neural_plot, embedding_plot, makemore_note], api_visibility="private")
    model_dd.change(describe_model, [model_dd, trained_state], model_info, api_visibility="private")
    generation = generate_btn.click(
        generate, [prompt, model_dd, length, temperature, top_k, top_p, seed, unknown, trained_state],
        [output, note, record_state, position, probs_plot], api_name="generate",
        concurrency_id="inference", show_progress="minimal")
    stop_btn.click(None, None, None, cancels=[generation])
    position.release(next_char_plot, [record_state, position], probs_plot, api_visibility="private")

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
        concurrency_id="training", concurrency_limit=int(os.environ.get("GPT_APP_TRAINING_SLOTS", "1")),
        show_progress="minimal")
    train_stop.click(None, None, None, cancels=[training])

demo.queue(max_size=int(os.environ.get("GPT_APP_QUEUE", "64")), default_concurrency_limit=4)


def launch(**kwargs):
    return demo.launch(show_error=True, enable_monitoring=False,
                       max_file_size=f"{LIMITS.max_upload_mb:g}mb", **kwargs)


if __name__ == "__main__":
    launch()
