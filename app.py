"""tinyshakespeare-gpt: watch a small character-level GPT write, attend and learn.

Layout and wiring only: what the app computes lives in `studio/` (tested without a
browser) on top of the `gpt` library.
"""
from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import sys
from pathlib import Path

from studio.fast_start import skip_gradio_dev_work
from studio.settings import SETTINGS

if SETTINGS.fast_start:          # GPT_APP_FAST_START=0 imports gradio as it comes (bench/app.py's baseline)
    skip_gradio_dev_work()       # must precede `import gradio`: see studio/fast_start.py

import gradio as gr  # noqa: E402
import torch  # noqa: E402

from gpt.checkpoint import CheckpointError  # noqa: E402
from gpt.generation import MAX_SEED, MAX_TEMPERATURE  # noqa: E402
from gpt.hardware import pick_device  # noqa: E402
from gpt.introspect import MAX_ATTENTION_CHARS  # noqa: E402
from gpt.snapshots import MemorySnapshots  # noqa: E402
from studio import inputs, shutdown  # noqa: E402
from studio import lab as lab_views  # noqa: E402
from studio import timeline as timeline_views  # noqa: E402
from studio import views  # noqa: E402
from studio.errors import InputError  # noqa: E402
from studio.generation import agenerate_stream  # noqa: E402
from studio.hub import DEFAULT_REPO_NAME, LOCAL_INSTRUCTIONS, push_session_model  # noqa: E402
from studio.learn import learn_views  # noqa: E402
from studio.sessions import start_sweeper  # noqa: E402
from studio.slots import TrainingSlots  # noqa: E402
from studio.threads import iterate_in_threads  # noqa: E402
from studio.training import (CORPUS_CHOICES, TrainRequest, build_training, check_request, defaults_for,  # noqa: E402
                             export_zip)
from studio.worker import RemoteTraining  # noqa: E402
from studio.zoo import SESSION_MODEL, ModelZoo, describe  # noqa: E402

# Generation and live training share two cores; one thread per request keeps them from
# fighting (measured: 2 threads per process degrade badly when another process runs).
torch.set_num_threads(SETTINGS.threads)

ROOT = Path(__file__).resolve().parent
LOG = logging.getLogger("tinyshakespeare-gpt")
try:
    DEVICE = pick_device(SETTINGS.device)
except ValueError as e:          # a device this machine lacks: say so, and stop before anything else
    raise SystemExit(f"GPT_APP_DEVICE={SETTINGS.device!r}: {e}") from None
ZOO = ModelZoo(ROOT / "checkpoints", SETTINGS.extra_models, device=DEVICE)
DEFAULT_MODEL = ZOO.names()[0] if ZOO.names() else None
DEFAULT_PROMPT = "ROMEO:\n"
MODEL_CHOICES = ZOO.names() + [SESSION_MODEL]   # the session's own model is listed from the start
GENERATE_SLOTS = 64 if SETTINGS.batched_decoding else 4      # requests decoding at once
DEFAULT_PASSAGE = lab_views.default_passage()
KNOCKOUT_SOURCES = ["the fixed val slice (measured at publish time)", "the text in the Surprisal box"]
# live trainings take turns, told their place
TRAINING_SLOTS = TrainingSlots(SETTINGS.training_slots, SETTINGS.training_line)
SHIPPED_TIMELINE = timeline_views.ShippedTimeline(ROOT / "checkpoints" / "shakespeare-timeline")
TIMELINE_SOURCES = ["the shipped run: a 2-layer GPT on Tiny Shakespeare", "your live training (Train live)"]


def shown(figure):
    """A plot that hides when there is nothing to draw, rather than leaving an empty box."""
    return gr.Plot(value=figure, visible=figure is not None)


REFUSALS = (InputError, CheckpointError, ValueError)    # the app's own refusals: shown as messages


def quiet_gradio_refusals() -> None:
    """Gradio's own input checks (a slider value out of range, a choice not offered) raise
    gr.Error with a traceback printed for each: ~27 lines per refused request. They are
    refusals like the app's, so they log one line. Fails loudly if Gradio's Error changes."""
    original = gr.Error.__init__
    if getattr(original, "quiet_for_components", False):
        return
    if "print_exception" not in inspect.signature(original).parameters:
        raise RuntimeError("gradio.Error no longer takes print_exception: update quiet_gradio_refusals")

    @functools.wraps(original)
    def init(self, message="Error raised.", *args, **kwargs):
        caller = sys._getframe(1).f_globals.get("__name__", "")
        if caller.startswith("gradio.components") and "print_exception" not in kwargs and len(args) < 4:
            kwargs["print_exception"] = False
            LOG.info("refused by Gradio's input check: %s", message)
        original(self, message, *args, **kwargs)

    init.quiet_for_components = True
    gr.Error.__init__ = init


def plain_path_refusals() -> None:
    """A request naming a file it did not upload ("app.py", "/etc/passwd") is refused by Gradio
    with the server's absolute path in the message and a traceback in the log; the refusal
    stays, the message names the file alone. Fails loudly if Gradio's check moves."""
    from gradio import processing_utils

    original = getattr(processing_utils, "_check_allowed", None)
    if original is None:
        raise RuntimeError("gradio.processing_utils._check_allowed is gone: update plain_path_refusals")
    if getattr(original, "plain", False):
        return

    @functools.wraps(original)
    def check_allowed(path, *args, **kwargs):
        try:
            return original(path, *args, **kwargs)
        except gr.exceptions.InvalidPathError:
            LOG.info("refused a file the client did not upload: %s", path)
            raise gr.Error(f"{Path(str(path)).name!r} was not uploaded through this page: attach the file again.",
                           print_exception=False) from None

    check_allowed.plain = True
    processing_utils._check_allowed = check_allowed


quiet_gradio_refusals()
plain_path_refusals()


def refused(fn_name: str, error: Exception) -> gr.Error:
    """The message a person sees; the server log gets one line, not a traceback per refused input."""
    LOG.info("%s refused: %s", fn_name, error)
    return gr.Error(str(error), print_exception=False)


def user_errors(fn):
    """Show the app's own refusals (bad input, missing corpus) as messages, never tracebacks."""
    if inspect.isasyncgenfunction(fn):
        @functools.wraps(fn)
        async def async_generator(*args, **kwargs):
            try:
                async for item in fn(*args, **kwargs):
                    yield item
            except REFUSALS as e:
                raise refused(fn.__name__, e) from None
        return async_generator
    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def generator(*args, **kwargs):
            try:
                yield from fn(*args, **kwargs)
            except REFUSALS as e:
                raise refused(fn.__name__, e) from None
        return generator

    @functools.wraps(fn)
    def function(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except REFUSALS as e:
            raise refused(fn.__name__, e) from None
    return function


# --- Generate ----------------------------------------------------------------------------

@user_errors
async def generate(prompt, model_name, max_new_tokens, temperature, top_k, top_p, seed, unknown, trained=None):
    # a coroutine: a class's streams wait for their characters on the event loop, not in 32 threads;
    # finding the model may load it (from disk or the Hub), so that happens in a worker thread
    model, decoder = await asyncio.to_thread(model_and_decoder, model_name, trained)
    first = True
    async for record, note in agenerate_stream(model, prompt, max_new_tokens, temperature, top_k, top_p, seed,
                                               unknown, decoder=decoder):
        # The state holds this very record (Gradio keeps a reference), so it follows the stream and Stop
        # keeps it: set once, then skipped, which spares Gradio re-storing it at every chunk.
        if shutdown.STOPPING.is_set():
            yield record.text, shutdown.MESSAGE, record if first else gr.skip()
            return
        yield record.text, note, record if first else gr.skip()
        first = False


def model_and_decoder(model_name, trained):
    """The model to sample from, and the batch decoder its streams share (None: each samples alone)."""
    model = ZOO.pick(model_name, trained)
    return model, ZOO.decoder(model_name) if model_name != SESSION_MODEL and SETTINGS.batched_decoding else None


def inspector(record):
    """The step slider and the next-character view, set to the last step of a generation."""
    steps = record.steps if record is not None else 0
    if steps == 0:
        return gr.Slider(interactive=False), shown(None)
    # a slider needs two distinct ends; with a single step, position 2 shows that step too
    return (gr.Slider(minimum=1, maximum=max(steps, 2), value=steps, step=1, interactive=steps > 1),
            shown(views.next_char_view(record, steps)))


def inspect_step(record, position):
    return shown(views.next_char_view(record, position))


def clear_generation():
    """Before a new generation: no stale text or note beside what comes next."""
    return "", ""


def describe_model(name, trained):
    try:
        return describe(ZOO.pick(name, trained))
    except InputError as e:
        return str(e)


# --- Attention ---------------------------------------------------------------------------

@user_errors
def draw_attention(model_name, record, prompt, layer, n_chars, head=views.AVERAGE, trained=None):
    source = "the text on screen" if record is not None else "the prompt (generate to see your text here)"
    text = record.text if record is not None else inputs.text(prompt, "prompt", SETTINGS.max_prompt_chars)
    if not text:
        raise InputError("There is no text to draw: type a prompt, or generate some text first.")
    figure, grid, note = views.attention_view(ZOO.pick(model_name, trained), text, inputs.whole(layer, "layer", 0),
                                              inputs.whole(n_chars, "number of characters", 1, MAX_ATTENTION_CHARS),
                                              source, inputs.text(head, "head") or views.AVERAGE)
    return shown(figure), shown(grid), note


def attention_controls(model_name, trained):
    """The layer slider and the head choice, bound to the chosen model's shape."""
    try:
        shape = views.attention_shape(ZOO.pick(model_name, trained))
    except InputError:
        shape = None
    if shape is None:
        return gr.Slider(interactive=False), gr.Dropdown(choices=views.head_options(0), value=views.AVERAGE)
    return layer_and_head(*shape)


def layer_and_head(n_layer: int, n_head: int):
    """A layer slider and a head choice bound to a model's shape (layers and heads 0-based)."""
    return (gr.Slider(minimum=0, maximum=max(n_layer - 1, 1), value=0, step=1, interactive=n_layer > 1),
            gr.Dropdown(choices=views.head_options(n_head), value=views.AVERAGE))


# --- Loss curves -------------------------------------------------------------------------

@user_errors
def draw_losses(model_name, compare=(), x="step", log_x=False, log_y=False, trained=None):
    others = [(other, ZOO.pick(other, trained)) for other in compare or []]
    figure, note = views.loss_view(ZOO.pick(model_name, trained), model_name, others, x, bool(log_x), bool(log_y))
    return shown(figure), note


# --- Train live --------------------------------------------------------------------------

LOG_COLUMNS = {"step": "step", "train": "train_loss", "val": "val_loss", "lr": "lr", "characters": "tokens",
               "seconds": "elapsed"}


def status_line(p, budget: float) -> str:
    val = f" · val **{p.val_loss:.3f}**" if p.val_loss is not None else ""
    return (f"step {p.step:,} (at most {p.max_steps:,}) · {p.elapsed:.0f} of {budget:.0f} s · loss {p.loss:.3f}{val} · "
            f"{p.tokens_per_sec:,.0f} predicted characters/s · about {p.time_left:.0f} s left")


def log_rows(history) -> list[list]:
    """The evaluations as a table: rounded, one row each."""
    return [[h["step"], round(h["train_loss"], 4), round(h["val_loss"], 4), f"{h['lr']:.2e}", h["tokens"],
             round(h["elapsed"], 1)] for h in history]


@user_errors
async def train_live(corpus, upload, model_type, n_layer, n_head, n_embd, block_size, minutes, max_steps, lr,
                     batch_size, n_hidden=TrainRequest.n_hidden, trained=None):
    w = inputs.whole
    request = TrainRequest(corpus=inputs.text_choice(corpus, "corpus"), upload=upload,
                           model_type=inputs.text_choice(model_type, "model").lower(),
                           n_layer=w(n_layer, "number of layers"), n_head=w(n_head, "number of heads"),
                           n_embd=w(n_embd, "embedding width"), block_size=w(block_size, "block size"),
                           n_hidden=w(n_hidden, "number of hidden units"),
                           minutes=inputs.number(minutes, "time budget"),
                           max_steps=w(max_steps, "number of steps"), lr=inputs.number(lr, "learning rate"),
                           batch_size=w(batch_size, "batch size"))
    # A training waiting for its slot holds its settings and nothing else: the corpus is read to
    # check the request and let go; it is loaded and encoded, and the model built, once the slot
    # comes. Waiting is a coroutine's sleep, not one of the server's threads.
    await asyncio.to_thread(check_request, request)
    budget = request.minutes * 60
    ticket = TRAINING_SLOTS.join(budget)
    try:
        told = None
        while not TRAINING_SLOTS.try_start(ticket):
            if (message := TRAINING_SLOTS.message(ticket)) != told:     # a new line only when it says something new
                yield (shown(None), message, "", [], gr.skip(), gr.skip(), shown(None), shown(None),
                       shown(None))            # the session keeps its last model while it waits
                told = message
            await asyncio.sleep(1.0)
        trainer = await asyncio.to_thread(build_training, request, DEVICE)    # trained in a worker process
        snapshots = MemorySnapshots(max_count=timeline_views.LIVE_SNAPSHOTS)
        remote = RemoteTraining(trainer, snapshots, threads=SETTINGS.threads)
        timeline = timeline_views.live_timeline(trainer, snapshots, remote.diagnostics)
        model = trainer.model
        header = (f"Training a {model.model_type.upper()} with {model.num_params():,} parameters on "
                  f"{trainer.dataset.corpus.name} ({trainer.dataset.num_tokens('train'):,} training characters). "
                  f"Val loss on the curve: a fixed sample of {trainer.eval_targets:,} characters of the val split.")
        # The session's state points at the model from the first update on, so Stop keeps it.
        yield shown(None), header + "\n\nStarting…", "", [], model, timeline, shown(None), shown(None), shown(None)
        async for update in iterate_in_threads(_train_updates(remote, model, timeline, header, budget)):
            if shutdown.STOPPING.is_set():
                yield (gr.skip(), shutdown.MESSAGE, *[gr.skip()] * 7)
                return
            yield update
    finally:
        TRAINING_SLOTS.leave(ticket)


def _train_updates(remote, model, timeline, header, budget):
    samples: list[str] = []
    for p in remote.run():
        if p.val_loss is None and not p.done:           # a progress line (every few steps)
            yield (gr.skip(), header + "\n\n" + status_line(p, budget), *[gr.skip()] * 7)
            continue
        if p.sample is not None:
            samples.insert(0, f"--- step {p.step}, val {p.val_loss:.3f} ---\n{p.sample}")
        figure = shown(views.loss_view(model, "Live training")[0])
        done = "\n\n**Done.** Pick *" + SESSION_MODEL + "* in Generate, Attention or the Lab." if p.done else ""
        status = header + "\n\n" + status_line(p, budget) + done
        activations, ratios, gradients, _ = timeline_views.diagnostics_view(timeline, len(timeline.steps) - 1)
        yield (figure, status, "\n\n".join(samples), log_rows(model.history), model, timeline, shown(activations),
               shown(ratios), shown(gradients))


def clear_training():
    """Before a new run: no stale curve, status, samples, diagnostics or download from the last one."""
    return (shown(None), "Preparing…", "", [], shown(None), shown(None), shown(None),
            gr.File(value=None, visible=False))


def training_stopped(trained):
    if trained is None:
        return "Stopped before the first step: nothing was trained."
    return (f"**Stopped** at step {trained.run.step:,} after {trained.run.elapsed:.0f} s. Your model is kept: pick "
            f"*{SESSION_MODEL}* in Generate, Attention or the Lab.")


@user_errors
def download_model(trained):
    return gr.File(value=str(export_zip(trained)), visible=True)


@user_errors
def push_model(trained, repo_name, private, profile: gr.OAuthProfile | None, token: gr.OAuthToken | None):
    """Push the session's model to the signed-in student's own account."""
    url = push_session_model(trained, profile.username if profile else None, repo_name, private,
                             token.token if token else None)
    return (f"**Pushed** to [{url}]({url}). Load it anywhere with `gpt.load(\"{url.rstrip('/').split('/', 3)[-1]}\")`"
            f"{' (private: sign in to see it)' if private else ''}.")


def train_defaults(model_type, corpus_choice):
    """The sliders set to what trains this model on this corpus well, showing only its own."""
    d = defaults_for(model_type.lower(), corpus_choice)
    gpt_like, mlp = d.model_type == "gpt", d.model_type == "mlp"
    return (gr.Slider(value=d.n_layer, visible=gpt_like), gr.Slider(value=d.n_head, visible=gpt_like),
            gr.Slider(value=d.n_embd, visible=gpt_like or mlp), gr.Slider(value=d.block_size, visible=gpt_like or mlp),
            gr.Slider(value=d.n_hidden, visible=mlp), d.lr, gr.Slider(value=d.batch_size))


# --- Timeline ----------------------------------------------------------------------------

def pick_timeline(source, live):
    if source == TIMELINE_SOURCES[1]:
        if live is None:
            raise InputError("Train a model in *Train live* first: its run appears here, one snapshot per evaluation.")
        return live
    if not SHIPPED_TIMELINE.available:
        raise InputError("This copy of the app has no shipped timeline (checkpoints/shakespeare-timeline): "
                         "train a model live and scrub your own run.")
    return SHIPPED_TIMELINE.get()


@user_errors
def timeline_show(source, index, layer, head, position, live=None):
    """Every view at one snapshot: the loss marker, sample, attention, next character, surprisal, diagnostics."""
    timeline = pick_timeline(source, live)
    index, layer, position = snapshot_number(index), inputs.whole(layer, "layer", 0), position_input(position)
    view = timeline_views.frame_view(timeline, index)
    attention, attention_note = timeline_views.attention_view(timeline, index, layer, head)
    activations, ratios, gradients, diagnostics_note = timeline_views.diagnostics_view(timeline, index)
    return (view.note, shown(view.loss), view.sample, shown(attention), attention_note,
            shown(timeline_views.next_char_view(timeline, index, position)), view.surprisal,
            view.surprisal_note, shown(activations), shown(ratios), shown(gradients), diagnostics_note)


@user_errors
def timeline_attention(source, index, layer, head, live=None):
    figure, note = timeline_views.attention_view(pick_timeline(source, live), snapshot_number(index),
                                                 inputs.whole(layer, "layer", 0), head)
    return shown(figure), note


@user_errors
def timeline_next_char(source, index, position, live=None):
    return shown(timeline_views.next_char_view(pick_timeline(source, live), snapshot_number(index),
                                               position_input(position)))


def snapshot_number(index) -> int:
    return inputs.whole(index, "snapshot", 0)


def timeline_open(source, live):
    """The controls bound to the chosen run (snapshots, layers, heads, text length), at its first snapshot."""
    try:
        timeline = pick_timeline(source, live)
        controls = timeline_views.controls(timeline)
    except InputError as e:
        return (gr.Slider(interactive=False), gr.Slider(interactive=False), gr.Dropdown(), gr.Slider(),
                str(e), *[gr.skip()] * 11)
    n_snapshots, n_layer, n_head, text_chars = controls
    return (gr.Slider(minimum=0, maximum=max(n_snapshots - 1, 1), value=0, step=1, interactive=n_snapshots > 1),
            *layer_and_head(n_layer, n_head),
            gr.Slider(minimum=1, maximum=text_chars, value=min(10, text_chars), step=1),
            *timeline_show(source, 0, 0, views.AVERAGE, min(10, text_chars), live))


# --- Lab ---------------------------------------------------------------------------------

NO_COMPARISON = "(no comparison)"
LAB_OUTPUTS = 22          # what lab_open fills
HEAD_BOXES = 8            # where among them the knockout's head boxes are


COPYING_MODEL = "copying-gpt"


@user_errors
def lab_surprisal(model_name, text, compare_name, trained=None):
    model = ZOO.pick(model_name, trained)
    other = None if compare_name in (None, "", NO_COMPARISON) else ZOO.pick(compare_name, trained)
    view = lab_views.surprisal_view(model, lab_text_input(text), other, compare_name)
    return view.highlighted, view.note


@user_errors
def lab_predict(model_name, text, position, trained=None):
    bars, rows, note = lab_views.prediction_view(ZOO.pick(model_name, trained), lab_text_input(text),
                                                 position_input(position))
    return shown(bars), shown(rows), note


def lab_predict_clicked(model_name, text, trained, evt: gr.SelectData):
    """A click on a character of the coloured text: inspect that position."""
    position = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
    return (*lab_predict(model_name, text, position, trained), position)


@user_errors
def lab_knockout(model_name, source, text, mode, trained=None, progress=gr.Progress()):
    model = ZOO.pick(model_name, trained)
    precomputed = ZOO.precomputed(model_name) if source == KNOCKOUT_SOURCES[0] else None
    use_text = None if source == KNOCKOUT_SOURCES[0] else lab_text_input(text)
    if use_text is None and precomputed is None:
        progress(0, desc="no precomputed grid for this model: measuring on a val passage")
    figure, note, _ = lab_views.knockout_view(model, model_name, use_text, mode, precomputed,
                                              progress=lambda f: progress(f, desc="knocking heads out, layer by layer"))
    return shown(figure), note


@user_errors
def lab_regenerate(model_name, heads, prompt, length, seed, trained=None):
    return lab_views.regenerate_view(ZOO.pick(model_name, trained), heads,
                                     inputs.text(prompt, "prompt", SETTINGS.max_prompt_chars),
                                     inputs.whole(length, "length"), inputs.whole(seed, "seed", 0, MAX_SEED))


def lab_heads(model_name, trained):
    try:
        return gr.CheckboxGroup(choices=lab_views.head_choices(ZOO.pick(model_name, trained)), value=[])
    except InputError:
        return gr.CheckboxGroup(choices=[], value=[])


@user_errors
def lab_lens(model_name, text, trained=None):
    figure, note = lab_views.lens_view(ZOO.pick(model_name, trained), lab_text_input(text))
    return shown(figure), note


@user_errors
def lab_lens_position(model_name, text, position, trained=None):
    return lab_views.lens_position_view(ZOO.pick(model_name, trained), lab_text_input(text),
                                        position_input(position))


def induction_outputs(model_name, model, length, seed, kind):
    """The chosen model's copies and scores beside the copying GPT, and that GPT's formation."""
    chosen = [(model_name, model, ZOO.precomputed(model_name))]
    if model_name != COPYING_MODEL and COPYING_MODEL in ZOO.sources:
        chosen.append((COPYING_MODEL, ZOO.get(COPYING_MODEL), ZOO.precomputed(COPYING_MODEL)))
    copies, heat, note = lab_views.induction_view(chosen, inputs.whole(length, "string length"),
                                                  inputs.whole(seed, "seed", 0, MAX_SEED), kind)
    formation = None
    if COPYING_MODEL in ZOO.sources:
        formation = lab_views.formation_view(ZOO.get(COPYING_MODEL), COPYING_MODEL)
    return shown(copies), shown(heat), shown(formation), note


@user_errors
def lab_induction(model_name, length, seed, kind=lab_views.STRING_KINDS[0], trained=None):
    return induction_outputs(model_name, ZOO.pick(model_name, trained), length, seed, kind)


@user_errors
def lab_memorised(model_name, text, min_len, record=None, trained=None):
    text = lab_text_input(text) or (record.text if record is not None else "")
    return lab_views.memorised_view(ZOO.pick(model_name, trained), text, inputs.whole(min_len, "shortest span"))


def lab_text_input(text) -> str:
    return inputs.text(text, "text", lab_views.MAX_LAB_CHARS)


def position_input(position) -> int:
    """A character position in a Lab or Timeline text (the views check it against the text itself)."""
    return inputs.whole(position, "position", 0, lab_views.MAX_LAB_CHARS)


def lab_open(model_name, trained, memo=""):
    """Defaults that show something without any input: a val passage's surprisal with its
    most surprising character inspected, the knockout grid and the intact model beside the
    one without its most important head, the logit lens, induction, and a fresh sample
    checked for memorised spans (or the text typed there: never replaced). The model is picked,
    and the grid measured, once."""
    try:
        model = ZOO.pick(model_name, trained)
    except REFUSALS as e:
        return ([], str(e), shown(None), shown(None), "", 1, shown(None), "", gr.skip(), "", "", "",
                shown(None), "", "", shown(None), shown(None), shown(None), "", gr.skip(), [], "")

    def attempt(compute, on_error):
        try:
            return compute()
        except REFUSALS as e:
            return on_error(str(e))

    def surprisal():
        view = lab_views.surprisal_view(model, DEFAULT_PASSAGE)
        scores = [score for _, score in view.highlighted[1:]]
        position = 1 + max(range(len(scores)), key=scores.__getitem__)
        bars, rows, note = lab_views.prediction_view(model, DEFAULT_PASSAGE, position)
        return view.highlighted, view.note, shown(bars), shown(rows), note, position

    def knockout():
        figure, note, top = lab_views.knockout_view(model, model_name, None, "zero", ZOO.precomputed(model_name))
        intact, knocked, regen_note = lab_views.regenerate_view(model, [top], DEFAULT_PROMPT, 200, 0)
        # the ticked heads, the note's heads and the heads removed from the text: one set, chosen here
        return (shown(figure), note, gr.CheckboxGroup(choices=lab_views.head_choices(model), value=[top]), intact,
                knocked, regen_note)

    def lens():
        figure, note = lab_views.lens_view(model, lab_views.DEFAULT_LENS_TEXT)
        return shown(figure), note, lab_views.lens_position_view(model, lab_views.DEFAULT_LENS_TEXT, 10)

    length = max(2, min(60, model.block_size // 2))         # 60 characters, or as many as fit twice
    return (
        *attempt(surprisal, lambda e: ([], e, shown(None), shown(None), "", 1)),
        *attempt(knockout, lambda e: (shown(None), e, gr.CheckboxGroup(choices=[], value=[]), "", "", "")),
        *attempt(lens, lambda e: (shown(None), e, "")),
        *attempt(lambda: induction_outputs(model_name, model, length, 0, lab_views.STRING_KINDS[0]),
                 lambda e: (shown(None), shown(None), shown(None), e)),
        *attempt(lambda: (gr.skip(), *lab_views.memorised_view(model, memo, 20)) if memo else
                 lab_views.memorised_sample_view(model, DEFAULT_PROMPT), lambda e: (gr.skip(), [], e)),
    )


def lab_refresh(model_name, trained, visible, memo=""):
    """A new model: with the Lab open, measure it, so no figure shows the last model; with it
    closed, only the head boxes follow the model (the rest is measured when the Lab opens)."""
    if not visible:
        outputs = [gr.skip()] * LAB_OUTPUTS
        outputs[HEAD_BOXES] = lab_heads(model_name, trained)
        return outputs
    return lab_open(model_name, trained, lab_text_input(memo))


# --- Learn -------------------------------------------------------------------------------

def show_learn_views():
    v = learn_views(ZOO)
    return (v.ladder_plot, v.ladder_table, v.ladder_samples, *v.trick_plots, v.trick_table, v.trick_checks,
            v.scaling_note, v.scaling_plot, v.counts_plot, v.neural_plot, v.embedding_plot, v.makemore_note)


# --- Layout ------------------------------------------------------------------------------

# Files Gradio keeps (downloads, plots) are deleted every hour once an hour old.
with gr.Blocks(title="tinyshakespeare-gpt", delete_cache=(3600, 3600)) as demo:
    # Per browser session, forgotten GPT_APP_SESSION_TTL seconds after the session ends
    trained_state = gr.State(None, time_to_live=SETTINGS.session_ttl)   # the model this session trained
    timeline_state = gr.State(None, time_to_live=SETTINGS.session_ttl)  # its run: snapshots and diagnostics
    record_state = gr.State(None, time_to_live=SETTINGS.session_ttl)    # the last generation, step by step
    lab_visible = gr.State(False)       # whether the Lab is the open tab: a new model then refreshes it

    gr.Markdown("# tinyshakespeare-gpt\nA character-level GPT trained on Tiny Shakespeare on two CPU "
                "cores. Generate text, look at what each attention head reads, and train your own model live. "
                f"Running on **{DEVICE.type.upper()}**.")
    with gr.Row():                       # side by side on a wide screen, stacked on a phone
        model_dd = gr.Dropdown(MODEL_CHOICES, value=DEFAULT_MODEL, label="Model", scale=1, min_width=260)
        with gr.Column(scale=2, min_width=260):
            model_info = gr.Markdown(describe_model(DEFAULT_MODEL, None) if DEFAULT_MODEL else "No checkpoints found.")

    with gr.Tabs():
        with gr.Tab("Generate", id="generate") as generate_tab:
            with gr.Row():
                with gr.Column(scale=2):
                    prompt = gr.Textbox(DEFAULT_PROMPT, lines=4, label="Prompt", max_length=SETTINGS.max_prompt_chars)
                    with gr.Row():
                        generate_btn = gr.Button("Generate", variant="primary")
                        stop_btn = gr.Button("Stop", variant="stop")
                    with gr.Row():
                        temperature = gr.Slider(0, MAX_TEMPERATURE, value=0.8, step=0.05, label="Temperature",
                                                info="0 = greedy")
                        length = gr.Slider(1, SETTINGS.max_new_tokens, value=500, step=1, label="New characters")
                    with gr.Row():
                        top_k = gr.Slider(0, 65, value=0, step=1, label="Top-k", info="0 = off", min_width=170)
                        top_p = gr.Slider(0.05, 1, value=1, step=0.05, label="Top-p", info="1 = off", min_width=170)
                    seed = gr.Textbox("", label="Seed", placeholder="empty: a new random seed each time", max_length=20)
                    unknown = gr.Radio(["replace", "drop", "error"], value="replace",
                                       label="Characters the model does not know")
                with gr.Column(scale=3):
                    output = gr.Textbox(label="Text", lines=16, max_lines=30, buttons=["copy"], autoscroll=True,
                                        elem_id="output-text", placeholder="Press Generate: the text streams in here.")
                    note = gr.Markdown()
            position = gr.Slider(1, 2, value=1, step=1, label="Inspect the choice at step", interactive=False)
            probs_plot = gr.Plot(label="Next-character probabilities", elem_id="probs-plot", visible=False)

        with gr.Tab("Attention", id="attention") as attention_tab:
            default_shape = views.attention_shape(ZOO.get(DEFAULT_MODEL)) if DEFAULT_MODEL else None
            n_layers, n_heads = default_shape or (1, 1)
            with gr.Row():
                layer = gr.Slider(0, max(n_layers - 1, 1), value=0, step=1, label="Layer", min_width=240,
                                  elem_id="attention-layer")
                head = gr.Dropdown(views.head_options(n_heads), value=views.AVERAGE,
                                   label="Shown large", min_width=200)
            with gr.Row():
                n_chars = gr.Slider(8, MAX_ATTENTION_CHARS, value=32, step=1, label="Characters to show")
                attention_btn = gr.Button("Draw attention", variant="primary")
            attention_note = gr.Markdown()
            attention_plot = gr.Plot(label="Attention weights", elem_id="attention-plot", visible=False)
            attention_grid = gr.Plot(label="Every head of the layer", elem_id="attention-grid", visible=False)

        with gr.Tab("Loss curves", id="loss") as loss_tab:
            with gr.Row():
                loss_compare = gr.Dropdown(MODEL_CHOICES, value=[], multiselect=True, label="Compare with (val curves)",
                                           scale=3, min_width=260)
                loss_x = gr.Radio(["step", "tokens"], value="step", label="Along", min_width=160)
                with gr.Column(min_width=160):
                    loss_log_x = gr.Checkbox(False, label="log scale: steps")
                    loss_log_y = gr.Checkbox(False, label="log scale: loss")
            losses_note = gr.Markdown()
            losses_plot = gr.Plot(label="Loss curves", elem_id="losses-plot")

        with gr.Tab("Train live", id="train") as train_tab:
            with gr.Row():
                with gr.Column(scale=2):
                    corpus = gr.Radio(list(CORPUS_CHOICES), value="Tiny Shakespeare", label="Corpus")
                    upload = gr.File(label=f"Your .txt (UTF-8, at most {SETTINGS.max_upload_mb:g} MB)",
                                     file_types=[".txt"], type="filepath")
                    model_type = gr.Radio(["GPT", "MLP", "Bigram"], value="GPT", label="Model")
                    with gr.Row():
                        train_btn = gr.Button("Train", variant="primary")
                        train_stop = gr.Button("Stop", variant="stop")
                    d = TrainRequest()
                    with gr.Row():
                        n_layer = gr.Slider(1, 8, value=d.n_layer, step=1, label="Layers")
                        n_head = gr.Slider(1, 8, value=d.n_head, step=1, label="Heads")
                    with gr.Row():
                        n_embd = gr.Slider(2, 256, value=d.n_embd, step=2, label="Embedding width")
                        block_size = gr.Slider(1, 256, value=d.block_size, step=1, label="Block size (context)")
                    n_hidden = gr.Slider(16, 1024, value=d.n_hidden, step=8, label="Hidden units", visible=False)
                    with gr.Row():
                        minutes = gr.Slider(0.25, SETTINGS.max_minutes, value=min(d.minutes, SETTINGS.max_minutes),
                                            step=0.25, label="Minutes")
                        max_steps = gr.Slider(10, SETTINGS.max_steps, value=min(d.max_steps, SETTINGS.max_steps),
                                              step=10, label="Max steps")
                    with gr.Row():
                        lr = gr.Number(d.lr, label="Learning rate", minimum=1e-5, maximum=1)
                        batch_size = gr.Slider(4, 256, value=d.batch_size, step=4, label="Batch size")
                    download_btn = gr.Button("Download my model (.zip)")
                    download_file = gr.File(label="Your model: unzip, then gpt.load(folder)", visible=False,
                                            elem_id="model-zip")
                    with gr.Accordion("Keep it on the Hugging Face Hub", open=False, elem_id="hub-push"):
                        if SETTINGS.hub_sign_in:         # a Space with OAuth: the student's own account
                            gr.LoginButton()
                            with gr.Row():
                                push_name = gr.Textbox(DEFAULT_REPO_NAME, label="Repository name (under your "
                                                       "account)", max_length=96, scale=2)
                                push_private = gr.Checkbox(True, label="Private", scale=1)
                            push_btn = gr.Button("Push my model")
                            push_note = gr.Markdown()
                        else:
                            gr.Markdown(LOCAL_INSTRUCTIONS)
                with gr.Column(scale=3):
                    train_status = gr.Markdown("Pick a corpus and a model, then **Train**: the loss curve and "
                                               "samples appear here as it learns.")
                    train_plot = gr.Plot(label="Live loss", elem_id="train-plot", visible=False)
                    train_samples = gr.Textbox(label="Samples (newest first)", lines=10, max_lines=20)
                    with gr.Accordion("Training log", open=False):
                        train_log = gr.Dataframe(headers=list(LOG_COLUMNS), label="Evaluations", interactive=False)
            with gr.Row():
                train_activations = gr.Plot(show_label=False, elem_id="train-activations", visible=False,
                                            min_width=300)
                train_ratios = gr.Plot(show_label=False, elem_id="train-ratios", visible=False, min_width=300)
                train_gradients = gr.Plot(show_label=False, elem_id="train-gradients", visible=False, min_width=300)

        with gr.Tab("Timeline", id="timeline") as timeline_tab:
            gr.Markdown("Scrub through a training run: every view below shows the same snapshot of the weights. "
                        "Watch the sample go from noise to spelling, to words, to speaker names, and the attention "
                        "heads settle into their jobs.")
            # the controls start bound to the shipped run (read in ~10 ms); opening the tab rebinds them
            n_snapshots, tl_layers, tl_heads, tl_chars = (timeline_views.controls(SHIPPED_TIMELINE.get())
                                                          if SHIPPED_TIMELINE.available else (2, 1, 1, 2))
            with gr.Row():
                timeline_source = gr.Radio(TIMELINE_SOURCES, value=TIMELINE_SOURCES[0], label="Run", scale=2)
                timeline_step = gr.Slider(0, n_snapshots - 1, value=0, step=1, scale=3, min_width=260,
                                          label="Snapshot (drag, or use the arrow keys)", elem_id="timeline-step")
            timeline_note = gr.Markdown(elem_id="timeline-note")
            with gr.Row():
                timeline_loss = gr.Plot(show_label=False, elem_id="timeline-loss", min_width=320)
                timeline_sample = gr.Textbox(label="A sample at this step (the same seed at every step)", lines=12,
                                             max_lines=14, elem_id="timeline-sample", min_width=280)
            with gr.Row():
                timeline_layer = gr.Slider(0, max(tl_layers - 1, 1), value=0, step=1, label="Layer", min_width=200)
                timeline_head = gr.Dropdown(views.head_options(tl_heads), value=views.AVERAGE, label="Head",
                                            min_width=200)
            timeline_attention_note = gr.Markdown()
            timeline_attention_plot = gr.Plot(show_label=False, elem_id="timeline-attention")
            timeline_position = gr.Slider(1, tl_chars, value=min(10, tl_chars), step=1,
                                          label="Next character after position")
            timeline_next = gr.Plot(show_label=False, elem_id="timeline-next")
            timeline_surprisal = gr.HighlightedText(label="Surprisal of a val passage at this step",
                                                    combine_adjacent=False, show_legend=False,
                                                    elem_id="timeline-surprisal")
            timeline_surprisal_note = gr.Markdown()
            gr.Markdown("### Activations and gradients")
            with gr.Row():
                timeline_activations = gr.Plot(show_label=False, elem_id="timeline-activations", min_width=300)
                timeline_ratios = gr.Plot(show_label=False, elem_id="timeline-ratios", min_width=300)
                timeline_gradients = gr.Plot(show_label=False, elem_id="timeline-gradients", min_width=300)
            timeline_diagnostics_note = gr.Markdown()

        with gr.Tab("Lab", id="lab") as lab_tab:
            gr.Markdown("Measured answers about the model chosen above: where it is surprised, which heads matter, "
                        "which layer knows the answer, whether it copies, and what it memorised.")
            with gr.Tabs():
                with gr.Tab("Surprisal", id="lab-surprisal"):
                    gr.Markdown("How surprised the model is by each character, in bits (−log₂ p). Compare two "
                                "models to see where the extra context pays off.")
                    lab_text = gr.Textbox(DEFAULT_PASSAGE, lines=6, max_lines=12, label="Text (a val passage: never "
                                          "trained on)", max_length=lab_views.MAX_LAB_CHARS)
                    with gr.Row():
                        compare_dd = gr.Dropdown([NO_COMPARISON] + MODEL_CHOICES, value=NO_COMPARISON,
                                                 label="Compare with", scale=2)
                        surprisal_btn = gr.Button("Measure surprisal", variant="primary", scale=1)
                    surprisal_out = gr.HighlightedText(label="Surprisal per character (click one)",
                                                       combine_adjacent=False,
                                                       show_legend=False, elem_id="surprisal-text")
                    surprisal_note = gr.Markdown()
                    with gr.Row():
                        predict_pos = gr.Number(1, precision=0, minimum=1, label="Inspect position", scale=1)
                        predict_btn = gr.Button("Inspect", scale=1)
                    predict_note = gr.Markdown()
                    with gr.Row():
                        predict_plot = gr.Plot(show_label=False, elem_id="predict-plot")
                        rows_plot = gr.Plot(show_label=False, elem_id="rows-plot")
                with gr.Tab("Head knockout", id="lab-knockout"):
                    gr.Markdown("Remove one attention head at a time (its output zeroed, or replaced by its mean, "
                                "before the output projection) and measure how much the loss rises.")
                    with gr.Row():
                        knockout_source = gr.Radio(KNOCKOUT_SOURCES, value=KNOCKOUT_SOURCES[0], label="Measure on")
                        knockout_mode = gr.Radio(["zero", "mean"], value="zero", label="Ablation")
                        knockout_btn = gr.Button("Knock out each head", variant="primary")
                    knockout_note = gr.Markdown()
                    knockout_plot = gr.Plot(show_label=False, elem_id="knockout-plot")
                    knockout_heads = gr.CheckboxGroup(lab_views.head_choices(ZOO.get(DEFAULT_MODEL))
                                                      if DEFAULT_MODEL else [], label="Heads to remove")
                    with gr.Row():
                        regen_prompt = gr.Textbox(DEFAULT_PROMPT, label="Prompt to regenerate", lines=2)
                        regen_length = gr.Slider(20, 1000, value=300, step=10, label="Characters")
                        regen_seed = gr.Number(0, precision=0, minimum=0, label="Seed")
                        regen_btn = gr.Button("Regenerate without them", variant="primary")
                    regen_note = gr.Markdown()
                    with gr.Row():
                        regen_intact = gr.Textbox(label="Intact model", lines=10, elem_id="regen-intact")
                        regen_knocked = gr.Textbox(label="With the heads removed", lines=10, elem_id="regen-knocked")
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
                with gr.Tab("Induction", id="lab-induction"):
                    gr.Markdown("Write a random string twice. A model that has learned to copy (with *induction "
                                "heads*) is far less surprised the second time. The shipped GPT never learned to: "
                                "Tiny Shakespeare rarely repeats itself within a block. The copying GPT was trained "
                                "where copying pays.")
                    with gr.Row():
                        induction_kind = gr.Radio(lab_views.STRING_KINDS, value=lab_views.STRING_KINDS[0],
                                                  label="Written twice")
                        induction_len = gr.Slider(10, 60, value=60, step=1, label="String length")
                        induction_seed = gr.Number(0, precision=0, minimum=0, label="Seed")
                        induction_btn = gr.Button("Compare", variant="primary")
                    induction_note = gr.Markdown()
                    with gr.Row():
                        copies_plot = gr.Plot(show_label=False, elem_id="copies-plot")
                        induction_plot = gr.Plot(show_label=False, elem_id="induction-plot")
                    formation_plot = gr.Plot(show_label=False, elem_id="formation-plot")
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
                                                  color_map={"in the training text": "orange"}, elem_id="memo-text")
                    memo_note = gr.Markdown()

        with gr.Tab("Learn", id="learn") as learn_tab:
            gr.Markdown("## The ladder\nThe lecture builds the GPT one idea at a time. Each rung below was "
                        "trained on Tiny Shakespeare with the same budget (3,000 steps of 32×64 characters, "
                        "the same schedule), so the differences come from the architecture. Every rung can be "
                        "picked in the model list above, for Generate and Attention.")
            ladder_plot = gr.Plot(label="Ladder", elem_id="ladder-plot")
            ladder_table = gr.Markdown(elem_id="ladder-table")
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
            counts_plot = gr.Plot(show_label=False, elem_id="counts-plot")
            neural_plot = gr.Plot(show_label=False, elem_id="neural-plot")
            with gr.Row():
                embedding_plot = gr.Plot(show_label=False)
                makemore_note = gr.Markdown()

    # Events ------------------------------------------------------------------------------
    lab_outputs = [surprisal_out, surprisal_note, predict_plot, rows_plot, predict_note, predict_pos, knockout_plot,
                   knockout_note, knockout_heads, regen_intact, regen_knocked, regen_note, lens_plot, lens_note,
                   lens_table, copies_plot, induction_plot, formation_plot, induction_note, memo_text, memo_out,
                   memo_note]
    assert len(lab_outputs) == LAB_OUTPUTS and lab_outputs[HEAD_BOXES] is knockout_heads
    lab_tab.select(lab_open, [model_dd, trained_state, memo_text], lab_outputs, api_visibility="private")
    lab_tab.select(lambda: True, None, lab_visible, api_visibility="private")
    for other in (generate_tab, attention_tab, loss_tab, train_tab, timeline_tab, learn_tab):
        other.select(lambda: False, None, lab_visible, api_visibility="private")
    # one listener writes the head boxes on a model switch (two used to race: boxes and note disagreed)
    model_dd.change(lab_refresh, [model_dd, trained_state, lab_visible, memo_text], lab_outputs,
                    api_visibility="private")
    surprisal_btn.click(lab_surprisal, [model_dd, lab_text, compare_dd, trained_state], [surprisal_out, surprisal_note],
                        api_name="lab_surprisal", concurrency_id="inference")
    predict_btn.click(lab_predict, [model_dd, lab_text, predict_pos, trained_state],
                      [predict_plot, rows_plot, predict_note], api_name="lab_predict", concurrency_id="inference")
    surprisal_out.select(lab_predict_clicked, [model_dd, lab_text, trained_state],
                         [predict_plot, rows_plot, predict_note, predict_pos], api_visibility="private")
    knockout_btn.click(lab_knockout, [model_dd, knockout_source, lab_text, knockout_mode, trained_state],
                       [knockout_plot, knockout_note], api_name="lab_knockout", concurrency_id="inference")
    regen_btn.click(lab_regenerate, [model_dd, knockout_heads, regen_prompt, regen_length, regen_seed, trained_state],
                    [regen_intact, regen_knocked, regen_note], api_name="lab_regenerate", concurrency_id="inference")
    lens_btn.click(lab_lens, [model_dd, lens_text, trained_state], [lens_plot, lens_note], api_name="lab_lens",
                   concurrency_id="inference")
    lens_pos_btn.click(lab_lens_position, [model_dd, lens_text, lens_pos, trained_state], lens_table,
                       api_name="lab_lens_position", concurrency_id="inference")
    induction_btn.click(lab_induction, [model_dd, induction_len, induction_seed, induction_kind, trained_state],
                        [copies_plot, induction_plot, formation_plot, induction_note], api_name="lab_induction",
                        concurrency_id="inference")
    memo_btn.click(lab_memorised, [model_dd, memo_text, memo_len, record_state, trained_state], [memo_out, memo_note],
                   api_name="lab_memorised", concurrency_id="inference")

    learn_tab.select(show_learn_views, None, [ladder_plot, ladder_table, ladder_samples, trick_v2, trick_v3, trick_v4,
                                         trick_table, trick_checks, scaling_note, scaling_plot, counts_plot,
                                         neural_plot, embedding_plot, makemore_note], api_visibility="private")
    model_dd.change(describe_model, [model_dd, trained_state], model_info, api_visibility="private")
    generation = generate_btn.click(clear_generation, None, [output, note], api_visibility="private").then(
        generate, [prompt, model_dd, length, temperature, top_k, top_p, seed, unknown, trained_state],
        [output, note, record_state], api_name="generate",
        # with batched decoding a request mostly waits for its characters: let a whole class in at once
        concurrency_id="generate", concurrency_limit=GENERATE_SLOTS, show_progress="minimal")
    attention_inputs = [model_dd, record_state, prompt, layer, n_chars, head, trained_state]
    attention_outputs = [attention_plot, attention_grid, attention_note]
    stop_btn.click(inspector, record_state, [position, probs_plot], cancels=[generation],
                   api_visibility="private").then(draw_attention, attention_inputs, attention_outputs,
                                                  api_visibility="private")
    position.input(inspect_step, [record_state, position], probs_plot, api_visibility="private",
                   trigger_mode="always_last")          # dragging and the arrow keys alike

    # the views of a finished text follow it, so that the text itself ends as soon as its last character
    generation.then(inspector, record_state, [position, probs_plot], api_visibility="private").then(
        draw_attention, attention_inputs, attention_outputs, api_visibility="private")
    attention_btn.click(draw_attention, attention_inputs, attention_outputs, api_name="attention",
                        concurrency_id="inference")
    head.change(draw_attention, attention_inputs, attention_outputs, api_visibility="private")
    attention_tab.select(draw_attention, attention_inputs, attention_outputs, api_visibility="private")
    model_dd.change(attention_controls, [model_dd, trained_state], [layer, head], api_visibility="private").then(
        draw_attention, attention_inputs, attention_outputs, api_visibility="private")

    loss_event = dict(fn=draw_losses, inputs=[model_dd, loss_compare, loss_x, loss_log_x, loss_log_y, trained_state],
                      outputs=[losses_plot, losses_note])
    model_dd.change(api_visibility="private", **loss_event)
    demo.load(api_visibility="private", **loss_event)
    for control in (loss_compare, loss_x, loss_log_x, loss_log_y):
        control.change(api_visibility="private", **loss_event)

    train_inputs = [corpus, upload, model_type, n_layer, n_head, n_embd, block_size, minutes, max_steps, lr,
                    batch_size, n_hidden, trained_state]
    train_diagnostics = [train_activations, train_ratios, train_gradients]
    training = train_btn.click(clear_training, None, [train_plot, train_status, train_samples, train_log,
                                                      *train_diagnostics, download_file],
                               api_visibility="private").then(
        train_live, train_inputs, [train_plot, train_status, train_samples, train_log, trained_state, timeline_state,
                                   *train_diagnostics], api_name="train",
        # the line is TRAINING_SLOTS' (it tells each student their place), not Gradio's raw counter
        concurrency_id="training", concurrency_limit=SETTINGS.queue_size, show_progress="minimal")
    train_stop.click(training_stopped, trained_state, train_status, cancels=[training], api_visibility="private")
    arch_sliders = [n_layer, n_head, n_embd, block_size, n_hidden, lr, batch_size]
    model_type.change(train_defaults, [model_type, corpus], arch_sliders, api_visibility="private")
    corpus.change(train_defaults, [model_type, corpus], arch_sliders, api_visibility="private")
    upload.upload(lambda: "upload a .txt", None, corpus, api_visibility="private")      # a file attached is a file used
    download_btn.click(download_model, trained_state, download_file, api_name="download_model")
    if SETTINGS.hub_sign_in:
        push_btn.click(push_model, [trained_state, push_name, push_private], push_note, api_visibility="private")

    timeline_views_out = [timeline_note, timeline_loss, timeline_sample, timeline_attention_plot,
                          timeline_attention_note, timeline_next, timeline_surprisal, timeline_surprisal_note,
                          timeline_activations, timeline_ratios, timeline_gradients, timeline_diagnostics_note]
    timeline_controls = [timeline_step, timeline_layer, timeline_head, timeline_position]
    for opened in (timeline_tab.select, timeline_source.change):
        opened(timeline_open, [timeline_source, timeline_state], timeline_controls + timeline_views_out,
               api_visibility="private", show_progress="minimal")
    timeline_step.input(timeline_show, [timeline_source, timeline_step, timeline_layer, timeline_head,
                                        timeline_position, timeline_state], timeline_views_out,
                        api_name="timeline", trigger_mode="always_last", show_progress="hidden")
    for control in (timeline_layer, timeline_head):
        control.input(timeline_attention, [timeline_source, timeline_step, timeline_layer, timeline_head,
                                           timeline_state], [timeline_attention_plot, timeline_attention_note],
                      api_visibility="private", trigger_mode="always_last", show_progress="hidden")
    timeline_position.input(timeline_next_char, [timeline_source, timeline_step, timeline_position, timeline_state],
                            timeline_next, api_visibility="private", trigger_mode="always_last",
                            show_progress="hidden")

demo.queue(max_size=SETTINGS.queue_size, default_concurrency_limit=4)


ASSETS = ROOT / "assets"
CSS_FILE = ASSETS / "app.css"                      # the coloured-text and table styles
FOLLOW_STREAM_FILE = ASSETS / "follow-stream.html"  # keeps a streaming box's newest text in view (see the file)


def launch(**kwargs):
    start_sweeper(lambda: getattr(demo, "state_holder", None), SETTINGS.session_ttl)
    return demo.launch(show_error=True, enable_monitoring=False, css_paths=CSS_FILE,
                       head_paths=FOLLOW_STREAM_FILE,
                       max_file_size=SETTINGS.max_upload_bytes, **kwargs)


if __name__ == "__main__":
    shutdown.install()           # SIGTERM: streams in flight end with a message, then the server closes
    launch()
