"""Class board: a teacher opens a board, students join it with a nickname, and every live
training they run posts to it; the board (curves, leaderboard, best samples) updates live, sized
for a projector. The store and the views are `studio.board_store` and `studio.class_board`."""
from __future__ import annotations

import gradio as gr

from studio.board_store import MAX_NICKNAME, BoardSnapshot, Rules, Seat, board_code
from studio.class_board import FAMILIES, RACE_MINUTES, board_view, rules_text
from studio.errors import InputError
from studio.training import CORPUS_CHOICES

from .refusals import user_errors
from .shared import Shared

REFRESH_SECONDS = 3.0
"""How often a page showing a board asks whether it changed (one integer read when it has not)."""
FREE = "free"
WELCOME = ("## Class board\nJoin your class's board with the code your teacher shows, then train in *Train live*: "
           "your runs post here, beside everyone's. Teachers: open a board below.")


def build(shared: Shared) -> None:
    boards = shared.resources.boards
    form = shared.train_form
    with shared.tab("Class board", "board"):
        shown_board = gr.State(None)           # {"code", "version"}: the board on this page, as last drawn
        teacher = gr.State(None)               # (code, secret) of the board this page opened
        seat_note = gr.Markdown(elem_id="board-seat-note")      # this page's seat, or why it has none
        headline = gr.Markdown(WELCOME, elem_id="board-headline")
        with gr.Row(equal_height=False):
            curves = gr.Plot(show_label=False, elem_id="board-plot", visible=False, scale=3, min_width=320)
            table = gr.Dataframe(label="Leaderboard (whole val split)", interactive=False, wrap=True, visible=False,
                                 elem_id="board-table", scale=2, min_width=300, max_height=420)
        samples = gr.Textbox(label="The best runs' samples (the same start and seed for every run)", lines=6,
                             max_lines=12, visible=False, elem_id="board-samples", interactive=False)
        with gr.Column(visible=False, elem_id="board-teacher-panel") as teacher_panel:   # this page's own board
            teacher_note = gr.Markdown(elem_id="board-teacher-note")
            with gr.Row(equal_height=True):
                teacher_link = gr.Textbox(label="Your teacher link: keep it to yourself (it can close the board)",
                                          buttons=["copy"], interactive=False, elem_id="board-teacher-link", scale=3)
                close_btn = gr.Button("Close the board (no more runs)", variant="stop", elem_id="board-close-btn",
                                      scale=1, min_width=160)
        with gr.Accordion("Join a board", open=True, elem_id="board-join") as join_box:
            with gr.Row():
                code = shared.links.carry("board", gr.Textbox(label="Board code", placeholder="GPT-7Q2", max_length=20,
                                                              scale=1, min_width=140, elem_id="board-code"))
                name = gr.Textbox(label=f"Your nickname (the class sees it; at most {MAX_NICKNAME} characters)",
                                  max_length=MAX_NICKNAME + 8, scale=2, min_width=200, elem_id="board-nickname")
            with gr.Row():
                join_btn = gr.Button("Join", variant="primary", min_width=100, elem_id="board-join-btn")
                watch_btn = gr.Button("Show the board only", min_width=100, elem_id="board-watch-btn")
        with gr.Accordion("Open a board (teachers)", open=False, elem_id="board-teacher") as teacher_box:
            with gr.Row():
                corpus = gr.Radio([c for c in CORPUS_CHOICES if c[1] != "upload"], value="shakespeare",
                                  label="Corpus (every run learns it, so losses compare)")
                minutes = gr.Radio([("no race: students choose", 0.0)] + [(f"{m:g} min", m) for m in RACE_MINUTES],
                                   value=0.25, label="Race budget (everyone trains this long)")
                family = gr.Radio([("any", FREE)] + [(label, value) for value, label in FAMILIES.items()],
                                  value="gpt", label="Model family")
            open_btn = gr.Button("Open a board", variant="primary", elem_id="board-open-btn")
        timer = gr.Timer(REFRESH_SECONDS, active=False)
        address = gr.Textbox(visible=False)    # the page's own address, from the browser (behind a proxy on a Space)

    board_parts = [shown_board, headline, curves, table, samples, timer]

    def drawn(code_: str, snapshot: BoardSnapshot | None = None) -> dict:
        """The board as it stands (InputError for a board that is not there), from `snapshot` when read already."""
        snapshot = snapshot or boards.snapshot(code_)
        view = board_view(snapshot)
        return {shown_board: {"code": code_, "version": snapshot.version}, headline: view.headline,
                curves: gr.Plot(view.figure, visible=view.figure is not None),
                table: gr.Dataframe(value=view.rows or [["", "no runs yet", "", ""]], headers=view.headers,
                                    visible=True),
                samples: gr.Textbox(view.samples, visible=True), timer: gr.Timer(active=True)}

    def race_lock(code_: str, rules: Rules) -> dict:
        """The Train live settings a board fixes, set and locked (the server checks them too)."""
        if form is None:
            return {}
        return {form.corpus: gr.Radio(value=rules.corpus, interactive=False),
                form.minutes: (gr.Slider(value=rules.minutes, interactive=False) if rules.minutes is not None
                               else gr.Slider(interactive=True)),
                form.model_type: (gr.Radio(value=rules.model_type, interactive=False) if rules.model_type
                                  else gr.Radio(interactive=True)),
                form.board_note: f"Your runs post to board **{code_}** ({rules_text(rules)})."}

    @user_errors
    def join(code_text, nick, seat: Seat | None):
        code_ = board_code(code_text)
        if seat is not None and seat.board == code_:
            raise InputError(f"You are on board {code_} already, as {seat.nickname}.")
        new_seat = boards.join(code_, nick)            # the store checks and cleans the nickname
        rules = boards.rules(code_)
        note = (f"You are **{code_}**'s *{_plain(new_seat.nickname)}*. Train in *Train live* ({rules_text(rules)}): "
                "every run you make there posts here.")
        page = {shared.seat: new_seat, seat_note: note, code: code_, join_box: gr.Accordion(open=False)}
        return page | race_lock(code_, rules) | drawn(code_)

    join_btn.click(join, [code, name, shared.seat],
                   [shared.seat, seat_note, code, join_box, *board_parts, *_form_parts(form)],
                   api_visibility="private", show_progress="minimal", show_progress_on=headline)

    @user_errors
    def watch(code_text):
        code_ = board_code(code_text)
        return {code: code_} | drawn(code_)

    watch_btn.click(watch, code, [code, *board_parts], api_visibility="private", show_progress="minimal",
                    show_progress_on=headline)

    @user_errors
    def open_board(corpus_choice, race_minutes, family_choice, address: str):
        try:
            budget = float(race_minutes)
        except (TypeError, ValueError):
            raise InputError("Pick a race budget, or no race.") from None
        if corpus_choice not in {value for _, value in CORPUS_CHOICES} or (family_choice != FREE
                                                                            and family_choice not in FAMILIES):
            raise InputError("Pick a corpus and a model family from the lists.")
        if budget and budget not in RACE_MINUTES:
            raise InputError(f"A race lasts one of {', '.join(f'{m:g}' for m in RACE_MINUTES)} min.")
        rules = Rules(corpus=corpus_choice, minutes=budget or None,
                      model_type=None if family_choice == FREE else family_choice)
        code_, secret = boards.open_board(rules)
        link = (address or "") + link_address(code_, secret)
        note = (f"Board **{code_}** is open ({rules_text(rules)}). Show the board on the projector: students type "
                f"**{code_}** in *Class board* (or scan *Share this view*'s QR code), choose a nickname and join. "
                "The link below reopens this board as its teacher.")
        return {teacher: (code_, secret), teacher_note: note, code: code_, teacher_link: link,
                teacher_panel: gr.Column(visible=True), close_btn: gr.Button(visible=True),
                teacher_box: gr.Accordion(open=False), join_box: gr.Accordion(open=False)} | drawn(code_)

    open_btn.click(open_board, [corpus, minutes, family, address],
                   [teacher, teacher_note, code, teacher_link, teacher_panel, close_btn, teacher_box, join_box,
                    *board_parts],
                   js="(c, m, f, a) => [c, m, f, location.origin + location.pathname]",
                   api_visibility="private", show_progress="minimal", show_progress_on=headline)

    @user_errors
    def close(held):
        if not held:
            raise InputError("Only the teacher who opened this board can close it (with the board's teacher link).")
        code_, secret = held
        boards.close(code_, secret)
        return {close_btn: gr.Button(visible=False), teacher_note: f"Board **{code_}** is closed: it takes no more "
                "runs, and stays readable until it expires."} | drawn(code_)

    # a teacher link reopened from the address bar is written by the server as a query: the page adds its address
    teacher_link.change(None, teacher_link, teacher_link,
                        js="(v) => v && v.startsWith('?') ? location.origin + location.pathname + v : v")

    close_btn.click(close, teacher, [close_btn, teacher_note, *board_parts], api_visibility="private",
                    show_progress="minimal", show_progress_on=headline)

    def refreshed(shown, open_tab):
        """Redrawn when the board changed since this page drew it and is on screen; otherwise
        nothing is sent (a student training in another tab gets the board when coming back)."""
        if not shown:
            return {timer: gr.Timer(active=False)}
        if open_tab != "board":
            return {shown_board: gr.skip()}
        version = boards.version(shown["code"])
        if version is None:
            return {timer: gr.Timer(active=False), headline: f"Board {shown['code']} has expired."}
        if version == shown["version"]:
            return {shown_board: gr.skip()}
        return drawn(shown["code"])

    timer.tick(refreshed, [shown_board, shared.open_tab], board_parts, api_visibility="private", show_progress="hidden",
               show_progress_on=headline, trigger_mode="always_last")

    def tab_opened(shown):
        if not shown or boards.version(shown["code"]) in (None, shown["version"]):
            return None
        return drawn(shown["code"])

    shared.when_tab_opens("board", tab_opened, [shown_board], board_parts)

    def opened_from_link(link, seat: Seat | None):
        """A link to a board shows it; a teacher's link (with its key) gives this page the board's controls."""
        if "board" not in link:
            return None
        try:
            code_ = board_code(link.get("board"))
            snapshot = boards.snapshot(code_)
            page = drawn(code_, snapshot)
        except InputError as e:
            return {headline: WELCOME, seat_note: str(e)}
        secret = link.get("teacher")
        if secret and boards.is_teacher(code_, secret):
            page |= {teacher: (code_, secret), close_btn: gr.Button(visible=not snapshot.closed),
                     teacher_note: f"You are the teacher of board **{code_}**: this page can close it.",
                     teacher_panel: gr.Column(visible=True), teacher_link: link_address(code_, secret),
                     join_box: gr.Accordion(open=False)}
        elif secret:
            page |= {seat_note: "That teacher link is not this board's: the board is shown, without its controls."}
        return page | {code: code_}

    shared.links.on_open("board", opened_from_link, [shared.seat],
                         [*board_parts, seat_note, teacher, close_btn, teacher_note, teacher_panel, teacher_link,
                          join_box, code])


def link_address(code: str, secret: str) -> str:
    """The teacher's link (its query; the page puts its own address before it)."""
    return f"?tab=board&board={code}&teacher={secret}"


def _plain(text: str) -> str:
    """A student's text inside markdown, shown as the characters typed (never as markup)."""
    return "".join("\\" + c if c in "\\`*_{}[]()<>#+-.!|~&" else c for c in text)


def _form_parts(form) -> list:
    return [] if form is None else [form.corpus, form.minutes, form.model_type, form.board_note]
