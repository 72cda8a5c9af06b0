"""Train live: a corpus, a model and a budget; the curve, samples and diagnostics update as it
learns in a worker process, and the session keeps the model (download it, or push it to the Hub)."""
from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from studio import inputs
from studio.class_board import BoardPosting, posted_training
from studio.hub import (DEFAULT_REPO_NAME, LOCAL_INSTRUCTIONS, push_session_model, push_session_site,
                        pushed_message, pushed_site_message)
from studio.live import LOG_COLUMNS, LiveUpdate, live_training, stopped_message
from studio.training import (CORPUS_CHOICES, MODEL_CHOICES, OPTIMIZER_CHOICES, SIZES, TrainRequest, defaults_for,
                             export_site_zip, export_zip, sizes_for_budget)
from studio.training import optimizer_choice as optimizer_value

from .refusals import user_errors
from .shared import Shared, described, not_a_tool, shown
from .tab import Desk, TabDrawing, TabSpec


LABELS = {"corpus": "Corpus", "model_type": "Model", "minutes": "Minutes"}
LOCKED = " · 🔒 set by the class board"
"""Added to the label of a setting a board fixes: a locked control said nothing, and looked like one
the student could change (the server refuses it)."""


@dataclass(frozen=True)
class TrainForm:
    """The settings a class board may fix (ui/board sets and locks them), and where it says so."""
    corpus: gr.Radio
    model_type: gr.Radio
    minutes: gr.Slider
    board_note: gr.Markdown

    def locked(self, corpus: str | None, model_type: str | None, minutes: float | None, note: str) -> dict:
        """The race's settings set and shown locked; those it leaves open (None) unlocked."""
        fixed = {"corpus": corpus, "model_type": model_type, "minutes": minutes}
        kinds = {"corpus": gr.Radio, "model_type": gr.Radio, "minutes": gr.Slider}
        page = {}
        for name, value in fixed.items():
            kind, component = kinds[name], getattr(self, name)
            page[component] = (kind(value=value, interactive=False, label=LABELS[name] + LOCKED)
                               if value is not None else kind(interactive=True, label=LABELS[name]))
        return page | {self.board_note: gr.Markdown(note, visible=True)}

    def unlocked(self, note: str) -> dict:
        """Every setting free again, and why."""
        return self.locked(None, None, None, note)


@dataclass(frozen=True)
class TrainPage:
    """Train live's components, by name."""
    corpus: gr.Radio
    upload: gr.File
    model_type: gr.Radio
    train_btn: gr.Button
    stop_btn: gr.Button
    board_note: gr.Markdown
    n_layer: gr.Slider
    n_head: gr.Slider
    n_embd: gr.Slider
    block_size: gr.Slider
    n_hidden: gr.Slider
    minutes: gr.Slider
    max_steps: gr.Slider
    lr: gr.Number
    batch_size: gr.Slider
    optimizer: gr.Radio
    download_btn: gr.Button
    site_btn: gr.Button
    download_file: gr.File
    site_file: gr.File
    push_controls: tuple | None
    status: gr.Markdown
    curve: gr.Plot
    samples: gr.Textbox
    log: gr.Dataframe
    diagnostics: list[gr.Plot]
    # push_controls: the Hub's (button, site button, name, private, note), where sign-in is offered

    @property
    def sizes(self) -> list:
        """The model's sizes and training settings, in studio.training's order (SIZES), which budget_sizes reads."""
        return [getattr(self, k) for k in SIZES]


def layout(desk: Desk) -> TabDrawing:
    """Lays out the tab, then wires the run, the settings that follow each other, and the downloads.
    Nothing draws it but its buttons; the settings a class board fixes are its drawing's parts."""
    page = _layout(desk)
    form = TrainForm(page.corpus, page.model_type, page.minutes, page.board_note)
    _wire_run(desk.shared, page, form)
    _wire_settings(page)
    _wire_downloads(desk.shared, page)
    return TabDrawing(reads={}, views={}, parts=form)


def _layout(desk: Desk) -> TrainPage:
    """The settings and buttons on the left, the run's status, curve, samples and log on the right."""
    shared = desk.shared
    settings, d = shared.resources.settings, TrainRequest()
    with desk.tab():
        with gr.Row():
            with gr.Column(scale=2):
                corpus = gr.Radio(CORPUS_CHOICES, value=d.corpus, label=LABELS["corpus"])
                upload = gr.File(label=f"Your .txt (UTF-8, at most {settings.max_upload_mb:g} MB)",
                                 file_types=[".txt"], type="filepath", visible=False)   # shown for an upload
                model_type = gr.Radio(MODEL_CHOICES, value=d.model_type, label=LABELS["model_type"])
                with gr.Row():
                    train_btn = gr.Button("Train", variant="primary")
                    stop_btn = gr.Button("Stop", variant="stop")
                # the class board this session posts to; hidden while there is none (it left a gap)
                board_note = gr.Markdown(elem_id="train-board-note", visible=False)
                with gr.Row():
                    n_layer = gr.Slider(1, 8, value=d.n_layer, step=1, label="Layers")
                    n_head = gr.Slider(1, 8, value=d.n_head, step=1, label="Heads")
                with gr.Row():
                    n_embd = gr.Slider(2, 256, value=d.n_embd, step=2, label="Embedding width")
                    block_size = gr.Slider(1, 256, value=d.block_size, step=1, label="Block size (context)")
                n_hidden = gr.Slider(16, 1024, value=d.n_hidden, step=8, label="Hidden units", visible=False)
                with gr.Row():
                    minutes = gr.Slider(0.25, settings.max_minutes, value=min(d.minutes, settings.max_minutes),
                                        step=0.25, label=LABELS["minutes"])
                    max_steps = gr.Slider(10, settings.max_steps, value=min(d.max_steps, settings.max_steps),
                                          step=10, label="Max steps")
                with gr.Row():
                    lr = gr.Number(d.lr, label="Learning rate", minimum=1e-5, maximum=1)
                    batch_size = gr.Slider(4, 256, value=d.batch_size, step=4, label="Batch size")
                # train once with each: the second run's curve has the first beside it
                optimizer = gr.Radio(OPTIMIZER_CHOICES, value=d.optimizer,
                                     label="Optimizer (train with each, then compare the curves)")
                with gr.Row():
                    download_btn = gr.Button("Download my model (.zip)")
                    site_btn = gr.Button("Download it as a web page (.zip)")
                download_file = gr.File(label="Your model: unzip, then gpt.load(folder)", visible=False,
                                        elem_id="model-zip")
                site_file = gr.File(label="Your model as a web page that runs it in any browser: unzip, then serve "
                                    "the folder (python -m http.server) or put it on any static host",
                                    visible=False, elem_id="site-zip")
                push_controls = _push_form(shared)
            with gr.Column(scale=3):
                status = gr.Markdown("Pick a corpus and a model, then **Train**: the loss curve and samples appear "
                                     "here as it learns.", elem_id="train-status")
                curve = gr.Plot(label="Live loss", elem_id="train-plot", visible=False)
                samples = gr.Textbox(label="Samples (newest first)", lines=10, max_lines=20)
                with gr.Accordion("Training log", open=False):
                    log = gr.Dataframe(headers=list(LOG_COLUMNS), label="Evaluations", interactive=False)
        with gr.Row():
            diagnostics = [gr.Plot(show_label=False, elem_id=f"train-{name}", visible=False, min_width=300)
                           for name in ("activations", "ratios", "gradients")]
        desk.code_part()

    return TrainPage(corpus=corpus, upload=upload, model_type=model_type, train_btn=train_btn, stop_btn=stop_btn, board_note=board_note, n_layer=n_layer, n_head=n_head, n_embd=n_embd, block_size=block_size, n_hidden=n_hidden, minutes=minutes, max_steps=max_steps, lr=lr, batch_size=batch_size, optimizer=optimizer, download_btn=download_btn, site_btn=site_btn, download_file=download_file, site_file=site_file, push_controls=push_controls, status=status, curve=curve, samples=samples, log=log, diagnostics=diagnostics)


def _wire_run(shared: Shared, p: TrainPage, form: TrainForm) -> None:
    """Train and Stop: a run's updates on the page, posted to the student's board when they sit at one."""
    resources, settings = shared.resources, shared.resources.settings

    def shown_update(update: LiveUpdate) -> dict:
        """What one update changes on the page; the session's model and run follow the training."""
        page = {p.status: update.status}
        if update.clears:
            page |= {p.curve: shown(None), p.samples: "", p.log: []} | {plot: shown(None) for plot in p.diagnostics}
        if update.model is not None:
            page |= {shared.trained: update.model, shared.live_timeline: update.timeline}
        if update.curve is not None:
            page |= {p.curve: shown(update.curve), p.samples: update.samples, p.log: update.log}
            page |= {plot: shown(figure) for plot, figure in zip(p.diagnostics, update.diagnostics)}
        return page

    @not_a_tool          # its outputs hold the session's model: an assistant's call could not return them
    @user_errors
    @described
    async def train(corpus_choice, upload_path, model_choice, layers, heads, width, context, budget, steps, rate,
                    batch, hidden=TrainRequest.n_hidden, trained=None, optimizer_choice=TrainRequest.optimizer,
                    seat=None):
        """Train a small model live for a time budget (one training at a time; others wait in line).

        Args:
            corpus_choice: "shakespeare" (Tiny Shakespeare), "names" (makemore's names) or "upload".
            upload_path: a .txt file when corpus_choice is "upload", else none.
            model_choice: "bigram", "mlp" or "gpt".
            layers: GPT layers.
            heads: GPT attention heads per layer.
            width: embedding width (GPT) or per-character embedding (MLP).
            context: characters of context (block size).
            budget: minutes of training.
            steps: the most optimizer steps.
            rate: the learning rate.
            batch: sequences per step.
            hidden: the MLP's hidden units.
            optimizer_choice: "adamw", or "muon" (Muon on the hidden matrices beside AdamW).
        Returns:
            The loss curve, samples and diagnostics as it trains, and the final note.
        """
        w = inputs.whole
        request = TrainRequest(corpus=inputs.text_choice(corpus_choice, "corpus"), upload=upload_path,
                               model_type=inputs.text_choice(model_choice, "model").lower(),
                               n_layer=w(layers, "number of layers"), n_head=w(heads, "number of heads"),
                               n_embd=w(width, "embedding width"), block_size=w(context, "block size"),
                               n_hidden=w(hidden, "number of hidden units"),
                               minutes=inputs.number(budget, "time budget"),
                               max_steps=w(steps, "number of steps"), lr=inputs.number(rate, "learning rate"),
                               batch_size=w(batch, "batch size"),
                               optimizer=optimizer_value(inputs.text_choice(optimizer_choice, "optimizer")))
        updates = live_training(request, resources.training_slots, resources.device, settings.threads,
                                previous=trained, most_threads=settings.training_threads)
        if seat is not None:            # joined a class board: refused here if the board's rules forbid this run
            updates = posted_training(updates, BoardPosting(resources.boards, seat, request))
        async for update in updates:
            yield shown_update(update)

    def board_still_takes(seat):
        """Before a run: a seat whose board closed or expired, or that the teacher removed, is let
        go (the settings a race locked are unlocked) and the student told that this run will not post."""
        reason = resources.boards.cannot_post(seat) if seat is not None else None
        if reason is None:
            return {shared.seat: gr.skip()}
        return {shared.seat: None} | form.unlocked(
            f"**This run does not post to a board**: {reason} Train as you like; join a board again in "
            "*Class board* to post.")

    cleared = [p.curve, p.status, p.samples, p.log, *p.diagnostics, p.download_file, p.site_file]
    shown_parts = [p.curve, p.status, p.samples, p.log, shared.trained, shared.live_timeline, *p.diagnostics]
    training = p.train_btn.click(
        # a new run: no stale curve, status, samples, diagnostics or download from the last one
        lambda: shown_update(LiveUpdate("waiting", "Preparing…")) | {
            p.download_file: gr.File(value=None, visible=False), p.site_file: gr.File(value=None, visible=False)},
        None, cleared, api_visibility="private", js=SHOW_STATUS).then(
        board_still_takes, shared.seat, [shared.seat, p.board_note, p.corpus, p.minutes, p.model_type],
        api_visibility="private", show_progress="hidden").then(
        train, [p.corpus, p.upload, p.model_type, p.n_layer, p.n_head, p.n_embd, p.block_size, p.minutes, p.max_steps,
                p.lr, p.batch_size, p.n_hidden, shared.trained, p.optimizer, shared.seat], shown_parts, api_name="train",
        # the line is the training slots' (it tells each student their place), not Gradio's raw counter
        concurrency_id="training", concurrency_limit=settings.queue_size, show_progress="minimal")
    p.stop_btn.click(stopped_message, shared.trained, p.status, cancels=[training], api_visibility="private")


def _wire_settings(p: TrainPage) -> None:
    """The sliders follow the model, the corpus and the budget; a file attached chooses the upload."""
    named = dict(zip(SIZES, p.sizes))

    def fitting_defaults(model_choice, corpus_choice, budget):
        """The sliders set to what trains this model on this corpus well in this budget, showing
        only its own; the drop zone only for an upload."""
        f = defaults_for(model_choice.lower(), corpus_choice, budget or 1.0)
        gpt_like, mlp = f.model_type == "gpt", f.model_type == "mlp"
        return {p.upload: gr.File(visible=corpus_choice == "upload"),
                p.n_layer: gr.Slider(value=f.n_layer, visible=gpt_like),
                p.n_head: gr.Slider(value=f.n_head, visible=gpt_like),
                p.n_embd: gr.Slider(value=f.n_embd, visible=gpt_like or mlp),
                p.block_size: gr.Slider(value=f.block_size, visible=gpt_like or mlp),
                p.n_hidden: gr.Slider(value=f.n_hidden, visible=mlp), p.lr: f.lr,
                p.batch_size: gr.Slider(value=f.batch_size),
                p.optimizer: gr.Radio(value=f.optimizer, visible=f.model_type != "bigram")}   # a bigram has no matrices

    def budget_sizes(model_choice, corpus_choice, budget, *current):
        """A longer budget suits a bigger model: the sizes follow the budget unless set by hand."""
        fitted = sizes_for_budget(model_choice.lower(), corpus_choice, budget or 1.0, dict(zip(SIZES, current)))
        if fitted is None:
            return {slider: gr.skip() for slider in p.sizes}
        return {named[k]: value for k, value in fitted.items()}

    budget_inputs = dict(inputs=[p.model_type, p.corpus, p.minutes, *p.sizes], outputs=p.sizes,
                         api_visibility="private", show_progress="hidden")
    p.minutes.change(budget_sizes, **budget_inputs)
    # the budget read again once the defaults are on the page: a budget changed while they were on
    # their way (a quick second click) is otherwise answered with the sizes they then overwrite
    gr.on([p.model_type.change, p.corpus.change], fitting_defaults, [p.model_type, p.corpus, p.minutes],
          [p.upload, *p.sizes], api_visibility="private").then(budget_sizes, **budget_inputs)
    p.upload.upload(lambda: "upload", None, p.corpus, api_visibility="private")      # a file attached is a file used


def _wire_downloads(shared: Shared, p: TrainPage) -> None:
    """The session's model as a zip or a web page, and (on a Space with sign-in) pushed to the student's Hub account."""
    @p.download_btn.click(inputs=shared.trained, outputs=p.download_file, api_name="download_model")
    @not_a_tool          # the session's own model: an assistant has no session that trained one
    @user_errors
    def download_model(trained):
        return gr.File(value=str(export_zip(trained)), visible=True)

    @p.site_btn.click(inputs=shared.trained, outputs=p.site_file, api_visibility="private")
    @user_errors
    def download_site(trained):
        """The session's model as a static site (gpt.web): the page, the model as ONNX, the runtime."""
        return gr.File(value=str(export_site_zip(trained)), visible=True)

    if p.push_controls is None:
        return
    push_btn, site_push_btn, push_name, push_private, push_note = p.push_controls

    @site_push_btn.click(inputs=[shared.trained, push_name, push_private], outputs=push_note,
                         api_visibility="private")
    @user_errors
    def push_site(trained, repo_name, private, profile: gr.OAuthProfile | None, token: gr.OAuthToken | None):
        """Publish the session's model as a static Space of the signed-in student's own."""
        url = push_session_site(trained, profile.username if profile else None, repo_name, private,
                                token.token if token else None)
        return pushed_site_message(url, private)

    @push_btn.click(inputs=[shared.trained, push_name, push_private], outputs=push_note, api_visibility="private")
    @user_errors
    def push_model(trained, repo_name, private, profile: gr.OAuthProfile | None, token: gr.OAuthToken | None):
        """Push the session's model to the signed-in student's own account."""
        url = push_session_model(trained, profile.username if profile else None, repo_name, private,
                                 token.token if token else None)
        return pushed_message(url, private)


SHOW_STATUS = """() => { const status = document.querySelector('#train-status');
    if (status && status.getBoundingClientRect().top > window.innerHeight * 0.6)
        status.scrollIntoView({block: 'start', behavior: 'smooth'}); }"""
"""On a phone the status and the curve sit ~900 px below Train: bring them into view as the run starts."""


def _push_form(shared: Shared):
    """The Hub part: a sign-in and a push form on a Space with OAuth, instructions elsewhere."""
    with gr.Accordion("Keep it on the Hugging Face Hub", open=False, elem_id="hub-push"):
        if not shared.resources.settings.hub_sign_in:
            gr.Markdown(LOCAL_INSTRUCTIONS)
            return None
        gr.LoginButton()
        with gr.Row():
            name = gr.Textbox(DEFAULT_REPO_NAME, label="Repository name (under your account)", max_length=96, scale=2)
            private = gr.Checkbox(True, label="Private", scale=1)
        with gr.Row():
            button = gr.Button("Push my model")
            site_button = gr.Button("Publish it as a web page (free static Space)")
        note = gr.Markdown()
        return button, site_button, name, private, note


TAB = TabSpec("train", "Train live", layout, code="train")
