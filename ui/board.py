"""Class board: a teacher opens a board, students join it with a nickname, and every live
training they run posts to it; the board (curves, leaderboard, best samples) updates live, sized
for a projector. The store and the views are `studio.board_store` and `studio.class_board`."""
from __future__ import annotations

import gradio as gr

import time

from studio import limits
from studio.board_store import MAX_NICKNAME, BoardSnapshot, Rules, Seat, board_code
from studio.class_board import FAMILIES, RACE_MINUTES, BoardViews, isolated, rules_text
from studio.errors import InputError
from studio.training import CORPUS_CHOICES

from .refusals import user_errors
from .shared import Shared

REFRESH_SECONDS = 3.0
"""How often a page showing a board asks whether it changed (one integer read when it has not)."""
FREE = "free"
NO_TEACHER = ("", "")
"""(code, secret) of a page that opened no board: the store refuses it as it refuses a wrong secret."""
WELCOME = ("## Class board\nJoin your class's board with the code your teacher shows, then train in *Train live*: "
           "your runs post here, beside everyone's. Teachers: open a board below.")


def build(shared: Shared, demo: gr.Blocks) -> None:
    boards, limiter = shared.resources.boards, shared.resources.limiter
    kept_seat = shared.kept_seat
    views = BoardViews(boards)              # one build per change of a board, for every page showing it
    behind_proxy = shared.resources.settings.behind_proxy
    form = shared.train_form
    with shared.tab("Class board", "board"):
        shown_board = gr.State(None)           # {"code", "version"}: the board on this page, as last drawn
        teacher = gr.State(None)               # (code, secret) of the board this page opened
        seat_note = gr.Markdown(elem_id="board-seat-note")      # this page's seat, or why it has none
        headline = gr.Markdown(WELCOME, elem_id="board-headline")
        with gr.Row(equal_height=False):
            # half and half: at 1024 px the table had 2/5 of the row and its setting columns wrapped letter by
            # letter; its cells now keep whole words and numbers (wide-table) and it scrolls sideways if it must
            curves = gr.Plot(show_label=False, elem_id="board-plot", visible=False, scale=1, min_width=320)
            table = gr.Dataframe(label="Leaderboard (whole val split)", interactive=False, wrap=False, visible=False,
                                 elem_id="board-table", elem_classes="wide-table", scale=1, min_width=300,
                                 max_height=420)
        samples = gr.Textbox(label="The best runs' samples (the same start and seed for every run)", lines=6,
                             max_lines=12, visible=False, elem_id="board-samples", interactive=False)
        with gr.Column(visible=False, elem_id="board-teacher-panel") as teacher_panel:   # this page's own board
            teacher_note = gr.Markdown(elem_id="board-teacher-note")
            with gr.Row(equal_height=True):
                teacher_link = gr.Textbox(label="Your teacher link: keep it to yourself (it can close the board)",
                                          buttons=["copy"], interactive=False, elem_id="board-teacher-link", scale=3)
                close_btn = gr.Button("Close the board (no more runs)", variant="stop", elem_id="board-close-btn",
                                      scale=1, min_width=160)
            with gr.Accordion("Seats: who joined, remove a seat, lock the board", open=False,
                              elem_id="board-seats-box"):
                seat_table = gr.Dataframe(headers=["nickname", "joined", "runs"], interactive=False, wrap=True,
                                          elem_id="board-seats", max_height=300)
                with gr.Row(equal_height=True):
                    remove_name = gr.Dropdown([], label="Seat to remove (its runs leave the board)", scale=2,
                                              elem_id="board-remove-name")
                    remove_btn = gr.Button("Remove the seat", scale=1, min_width=140, elem_id="board-remove-btn")
                    locked = gr.Checkbox(False, label="Locked: no new students (the seated keep posting)", scale=2,
                                         elem_id="board-locked")
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
        version, view = views.get(code_, snapshot)
        return {shown_board: {"code": code_, "version": version}, headline: view.headline,
                curves: gr.Plot(view.figure, visible=view.figure is not None),
                table: gr.Dataframe(value=view.rows or [["", "no runs yet", "", ""]], headers=view.headers,
                                    visible=True),
                samples: gr.Textbox(view.samples, visible=True), timer: gr.Timer(active=True)}

    def seat_list(held) -> dict:
        """The teacher's view of the seats of the board this page opened."""
        code_, secret = held
        seated = boards.seats(code_, secret)
        rows = [[isolated(s.nickname), time.strftime("%H:%M:%S", time.localtime(s.joined)), str(s.runs)]
                for s in seated]
        return {seat_table: rows or [["nobody yet", "", ""]],
                remove_name: gr.Dropdown(choices=[s.nickname for s in seated], value=None)}

    def address_of(request: gr.Request | None) -> str:
        """Who is asking, for the limits: a digest of their address."""
        if request is None:
            return "local"
        return limits.client_key(dict(request.headers), request.client.host if request.client else None,
                                 behind_proxy)

    def looked_up(code_text, request) -> str:
        """A board code typed or linked, checked against the limit on codes not found from one address."""
        key = address_of(request)
        limiter.check(limits.BOARD_MISSES, key)
        code_ = board_code(code_text)
        if boards.version(code_) is None:
            limiter.record(limits.BOARD_MISSES, key)
            boards.snapshot(code_)                # raises the store's own "There is no board …"
        return code_

    def race_lock(code_: str, rules: Rules) -> dict:
        """The Train live settings a board fixes, set and locked (the server checks them too)."""
        if form is None:
            return {}
        return form.locked(rules.corpus, rules.model_type or None, rules.minutes,
                           f"Your runs post to board **{code_}** ({rules_text(rules)}).")

    def seated(seat: Seat, welcome: str) -> dict:
        """The page of a student on `seat`: the note, Train live's race lock, the board drawn."""
        rules = boards.rules(seat.board)
        note = (f"{welcome} **{seat.board}**'s *{_plain(seat.nickname)}*. Train in *Train live* ({rules_text(rules)}): "
                "every run you make there posts here.")
        page = {shared.seat: seat, kept_seat: {"board": seat.board, "token": seat.token}, seat_note: note,
                code: seat.board, join_box: gr.Accordion(open=False)}
        return page | race_lock(seat.board, rules) | drawn(seat.board)

    seated_parts = [shared.seat, kept_seat, seat_note, code, join_box, *board_parts, *_form_parts(form)]

    @user_errors
    def join(code_text, nick, seat: Seat | None, kept, request: gr.Request):
        code_ = looked_up(code_text, request)
        if seat is not None and seat.board == code_:
            raise InputError(f"You are on board {code_} already, as {seat.nickname}.")
        token = kept.get("token") if isinstance(kept, dict) and kept.get("board") == code_ else None
        key = address_of(request)
        limiter.check(limits.JOINS_PER_ADDRESS, key)
        limiter.check(limits.JOINS_PER_BOARD, code_)
        new_seat = boards.join(code_, nick, token=token)      # the store checks and cleans the nickname
        if new_seat.token != token:                           # a new seat, not this browser's own reclaimed
            limiter.record(limits.JOINS_PER_ADDRESS, key)
            limiter.record(limits.JOINS_PER_BOARD, code_)
        return seated(new_seat, "You are")

    join_btn.click(join, [code, name, shared.seat, kept_seat], seated_parts,
                   api_visibility="private", show_progress="minimal", show_progress_on=headline)

    def restore(kept, seat: Seat | None):
        """A reloaded page (or a restarted server) finds its seat again from the token the browser kept."""
        if seat is not None or not isinstance(kept, dict) or not kept.get("token"):
            return {seat_note: gr.skip()}
        found = boards.seat(str(kept.get("board")), kept["token"])
        if found is None:
            return {kept_seat: None, seat_note: f"Your seat on board {_plain(str(kept.get('board')))[:20]} is gone "
                    "(the board expired, or the teacher removed it): join again."}
        return seated(found, "Welcome back: you are")

    demo.load(restore, [kept_seat, shared.seat], seated_parts, api_visibility="private", show_progress="hidden")

    @user_errors
    def watch(code_text, request: gr.Request):
        code_ = looked_up(code_text, request)
        return {code: code_} | drawn(code_)

    watch_btn.click(watch, code, [code, *board_parts], api_visibility="private", show_progress="minimal",
                    show_progress_on=headline)

    @user_errors
    def open_board(corpus_choice, race_minutes, family_choice, address: str, request: gr.Request):
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
        key = address_of(request)
        limiter.take(limits.OPENS_PER_ADDRESS, key)
        code_, secret = boards.open_board(rules, opener=key, per_opener=limits.OPEN_BOARDS_PER_ADDRESS)
        link = (address or "") + link_address(code_, secret)
        projector = (address or "") + projector_address(code_)
        note = (f"Board **{code_}** is open ({rules_text(rules)}). **Project [the board's projector view]({projector})**"
                " (a window of its own), not this page: it shows the code, the curves and the ranking without your "
                f"controls. Students type **{code_}** in *Class board* (or scan *Share this view*'s QR code), "
                "choose a nickname and join. The link below reopens this board as its teacher: keep it to yourself.")
        return {teacher: (code_, secret), teacher_note: note, code: code_, teacher_link: link,
                teacher_panel: gr.Column(visible=True), close_btn: gr.Button(visible=True), locked: False,
                teacher_box: gr.Accordion(open=False), join_box: gr.Accordion(open=False)} | drawn(code_) | \
            seat_list((code_, secret))

    teacher_parts = [seat_table, remove_name]
    open_btn.click(open_board, [corpus, minutes, family, address],
                   [teacher, teacher_note, code, teacher_link, teacher_panel, close_btn, locked, teacher_box, join_box,
                    *board_parts, *teacher_parts],
                   js="(c, m, f, a) => [c, m, f, location.origin + location.pathname]",
                   api_visibility="private", show_progress="minimal", show_progress_on=headline)

    @user_errors
    def close(held):
        code_, secret = held or NO_TEACHER          # the store refuses anyone but the board's teacher
        boards.close(code_, secret)
        return {close_btn: gr.Button(visible=False), teacher_note: f"Board **{code_}** is closed: it takes no more "
                "runs, and stays readable until it expires."} | drawn(code_)

    # a teacher link reopened from the address bar is written by the server as a query: the page adds its address
    teacher_link.change(None, teacher_link, teacher_link,
                        js="(v) => v && v.startsWith('?') ? location.origin + location.pathname + v : v")

    close_btn.click(close, teacher, [close_btn, teacher_note, *board_parts], api_visibility="private",
                    show_progress="minimal", show_progress_on=headline)

    @user_errors
    def remove(held, nick):
        code_, secret = held or NO_TEACHER
        if not nick:
            raise InputError("Pick the seat to remove from the list.")
        boards.remove_seat(code_, secret, nick)
        return {teacher_note: f"Removed *{_plain(nick)}*: the nickname is free again, and their runs left the board."} \
            | drawn(code_) | seat_list(held)

    remove_btn.click(remove, [teacher, remove_name], [teacher_note, *board_parts, *teacher_parts],
                     api_visibility="private", show_progress="minimal", show_progress_on=headline)

    @user_errors
    def lock(held, now_locked):
        code_, secret = held or NO_TEACHER
        boards.lock(code_, secret, bool(now_locked))
        said = ("Locked: nobody new can join; the students seated keep training and posting." if now_locked else
                "Unlocked: students can join again.")
        return {teacher_note: said} | drawn(code_)

    locked.input(lock, [teacher, locked], [teacher_note, *board_parts], api_visibility="private",
                 show_progress="minimal", show_progress_on=headline)

    def refreshed(shown, open_tab, held):
        """Redrawn when the board changed since this page drew it and is on screen; otherwise
        nothing is sent (a student training in another tab gets the board when coming back).
        The teacher's page gets the seats with it."""
        if not shown:
            return {timer: gr.Timer(active=False)}
        if open_tab != "board":
            return {shown_board: gr.skip()}
        version = boards.version(shown["code"])
        if version is None:
            return {timer: gr.Timer(active=False), headline: f"Board {shown['code']} has expired."}
        if version == shown["version"]:
            return {shown_board: gr.skip()}
        return drawn(shown["code"]) | (seat_list(held) if held and held[0] == shown["code"] else {})

    timer.tick(refreshed, [shown_board, shared.open_tab, teacher], [*board_parts, *teacher_parts],
               api_visibility="private", show_progress="hidden", show_progress_on=headline, trigger_mode="always_last")

    def tab_opened(shown):
        if not shown or boards.version(shown["code"]) in (None, shown["version"]):
            return None
        return drawn(shown["code"])

    shared.when_tab_opens("board", tab_opened, [shown_board], board_parts)

    def opened_from_link(link, seat: Seat | None):
        """A link to a board shows it; a teacher's link (with its key) gives this page the board's controls.
        (A link is opened at page load, where no address is at hand: its look-up counts toward no limit,
        and a page load is no faster a way to guess than the Join button.)"""
        if "board" not in link:
            return None
        try:
            code_ = board_code(link.get("board"))
            snapshot = boards.snapshot(code_)
            page = drawn(code_, snapshot)
        except InputError as e:
            return {headline: WELCOME, seat_note: str(e)}
        secret = link.get("teacher")
        if link.get("projector"):        # the projected page: nothing a student should not see, nothing to fill in
            return page | {code: code_, join_box: gr.Accordion(visible=False), teacher_box: gr.Accordion(visible=False),
                           seat_note: f"Join in *Class board* with the code **{code_}**, or scan the QR code of "
                                      "*Share this view* (press it on this page)."}
        if secret and boards.is_teacher(code_, secret):
            page |= {teacher: (code_, secret), close_btn: gr.Button(visible=not snapshot.closed),
                     teacher_note: f"You are the teacher of board **{code_}**: this page can close it.",
                     teacher_panel: gr.Column(visible=True), teacher_link: link_address(code_, secret),
                     join_box: gr.Accordion(open=False), locked: snapshot.locked} | seat_list((code_, secret))
        elif secret:
            page |= {seat_note: "That teacher link is not this board's: the board is shown, without its controls."}
        return page | {code: code_}

    shared.links.on_open("board", opened_from_link, [shared.seat],
                         [*board_parts, seat_note, teacher, close_btn, teacher_note, teacher_panel, teacher_link,
                          join_box, teacher_box, code, locked, *teacher_parts])


def projector_address(code: str) -> str:
    """The projected board's link (its query): no key in it, so it can be shown to the room."""
    return f"?tab=board&board={code}&projector=1"


def link_address(code: str, secret: str) -> str:
    """The teacher's link (its query; the page puts its own address before it)."""
    return f"?tab=board&board={code}&teacher={secret}"


def _plain(text: str) -> str:
    """A student's text inside markdown, shown as the characters typed (never as markup)."""
    return "".join("\\" + c if c in "\\`*_{}[]()<>#+-.!|~&" else c for c in text)


def _form_parts(form) -> list:
    return [] if form is None else [form.corpus, form.minutes, form.model_type, form.board_note]
