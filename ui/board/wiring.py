"""The Class board's listeners: a student's join, a teacher's controls, and the board redrawn as it changes."""
from __future__ import annotations

import time

import gradio as gr

from studio import limits
from studio.board_store import BoardSnapshot, Rules, Seat, board_code
from studio.class_board import FAMILIES, RACE_MINUTES, BoardViews, isolated, rules_text
from studio.errors import InputError
from studio.links import ViewLink
from studio.training import CORPUS_CHOICES

from ..refusals import user_errors
from ..shared import Shared
from ..tab import TabDrawing, Values, by_field, named
from .page import FREE, NO_TEACHER, WELCOME, BoardPage, link_address, plain, projector_address


class Boards:
    """What the tab's listeners share: the store and its limits, and the board drawn on this page."""

    def __init__(self, shared: Shared, page: BoardPage, form):
        self.shared, self.page = shared, page
        self.boards, self.limiter = shared.resources.boards, shared.resources.limiter
        self.views = BoardViews(self.boards)         # one build per change of a board, for every page showing it
        self.behind_proxy = shared.resources.settings.behind_proxy
        self.form = form                             # Train live's settings a board fixes (ui/train.TrainForm)

    def drawn(self, code_: str, snapshot: BoardSnapshot | None = None) -> dict:
        """The board as it stands (InputError for a board that is not there), from `snapshot` when read already."""
        p = self.page
        version, view = self.views.get(code_, snapshot)
        return {p.shown_board: {"code": code_, "version": version}, p.headline: view.headline,
                p.curves: gr.Plot(view.figure, visible=view.figure is not None),
                p.table: gr.Dataframe(value=view.rows or [["", "no runs yet", "", ""]], headers=view.headers,
                                      visible=True),
                p.samples: gr.Textbox(view.samples, visible=True), p.timer: gr.Timer(active=True)}

    def seat_list(self, held) -> dict:
        """The teacher's view of the seats of the board this page opened."""
        code_, secret = held
        seated = self.boards.seats(code_, secret)
        rows = [[isolated(s.nickname), time.strftime("%H:%M:%S", time.localtime(s.joined)), str(s.runs)]
                for s in seated]
        return {self.page.seat_table: rows or [["nobody yet", "", ""]],
                self.page.remove_name: gr.Dropdown(choices=[s.nickname for s in seated], value=None)}

    def address_of(self, request: gr.Request | None) -> str:
        """Who is asking, for the limits: a digest of their address."""
        if request is None:
            return "local"
        return limits.client_key(dict(request.headers), request.client.host if request.client else None,
                                 self.behind_proxy)

    def looked_up(self, code_text, request) -> str:
        """A board code typed or linked, checked against the limit on codes not found from one address."""
        key = self.address_of(request)
        self.limiter.check(limits.BOARD_MISSES, key)
        code_ = board_code(code_text)
        if self.boards.version(code_) is None:
            self.limiter.record(limits.BOARD_MISSES, key)
            self.boards.snapshot(code_)                # raises the store's own "There is no board …"
        return code_

    def race_lock(self, code_: str, rules: Rules) -> dict:
        """The Train live settings a board fixes, set and locked (the server checks them too)."""
        if self.form is None:
            return {}
        return self.form.locked(rules.corpus, rules.model_type or None, rules.minutes,
                                f"Your runs post to board **{code_}** ({rules_text(rules)}).")

    def seated(self, seat: Seat, welcome: str) -> dict:
        """The page of a student on `seat`: the note, Train live's race lock, the board drawn."""
        p, rules = self.page, self.boards.rules(seat.board)
        note = (f"{welcome} **{seat.board}**'s *{plain(seat.nickname)}*. Train in *Train live* ({rules_text(rules)}): "
                "every run you make there posts here.")
        page = {self.shared.seat: seat, self.shared.kept_seat: {"board": seat.board, "token": seat.token},
                p.seat_note: note, p.code: seat.board, p.join_box: gr.Accordion(open=False)}
        return page | self.race_lock(seat.board, rules) | self.drawn(seat.board)

    @property
    def seated_parts(self) -> list:
        p, form = self.page, self.form
        return [self.shared.seat, self.shared.kept_seat, p.seat_note, p.code, p.join_box, *p.board_parts,
                *([] if form is None else [form.corpus, form.minutes, form.model_type, form.board_note])]


def wire_students(shared: Shared, demo: gr.Blocks, p: BoardPage, board: Boards) -> None:
    """Join a board, find one's seat again after a reload, or only watch."""
    boards, limiter, kept_seat = board.boards, board.limiter, shared.kept_seat

    @user_errors
    def join(code_text, nick, seat: Seat | None, kept, request: gr.Request):
        code_ = board.looked_up(code_text, request)
        if seat is not None and seat.board == code_:
            raise InputError(f"You are on board {code_} already, as {seat.nickname}.")
        token = kept.get("token") if isinstance(kept, dict) and kept.get("board") == code_ else None
        key = board.address_of(request)
        limiter.check(limits.JOINS_PER_ADDRESS, key)
        limiter.check(limits.JOINS_PER_BOARD, code_)
        new_seat = boards.join(code_, nick, token=token)      # the store checks and cleans the nickname
        if new_seat.token != token:                           # a new seat, not this browser's own reclaimed
            limiter.record(limits.JOINS_PER_ADDRESS, key)
            limiter.record(limits.JOINS_PER_BOARD, code_)
        return board.seated(new_seat, "You are")

    p.join_btn.click(join, [p.code, p.name, shared.seat, kept_seat], board.seated_parts,
                     api_visibility="private", show_progress="minimal", show_progress_on=p.headline)

    def restore(kept, seat: Seat | None):
        """A reloaded page (or a restarted server) finds its seat again from the token the browser kept."""
        if seat is not None or not isinstance(kept, dict) or not kept.get("token"):
            return {p.seat_note: gr.skip()}
        found = boards.seat(str(kept.get("board")), kept["token"])
        if found is None:
            return {kept_seat: None, p.seat_note: f"Your seat on board {plain(str(kept.get('board')))[:20]} is gone "
                    "(the board expired, or the teacher removed it): join again."}
        return board.seated(found, "Welcome back: you are")

    demo.load(restore, [kept_seat, shared.seat], board.seated_parts, api_visibility="private", show_progress="hidden")

    @user_errors
    def watch(code_text, request: gr.Request):
        code_ = board.looked_up(code_text, request)
        return {p.code: code_} | board.drawn(code_)

    p.watch_btn.click(watch, p.code, [p.code, *p.board_parts], api_visibility="private", show_progress="minimal",
                      show_progress_on=p.headline)


def wire_teacher(p: BoardPage, board: Boards) -> None:
    """Open a board, and the teacher's controls: close it, remove a seat, lock it."""
    boards, drawn, seat_list = board.boards, board.drawn, board.seat_list
    progress = dict(api_visibility="private", show_progress="minimal", show_progress_on=p.headline)

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
        key = board.address_of(request)
        board.limiter.take(limits.OPENS_PER_ADDRESS, key)
        code_, secret = boards.open_board(rules, opener=key, per_opener=limits.OPEN_BOARDS_PER_ADDRESS)
        link = (address or "") + link_address(code_, secret)
        projector = (address or "") + projector_address(code_)
        note = (f"Board **{code_}** is open ({rules_text(rules)}). **Project [the board's projector view]({projector})**"
                " (a window of its own), not this page: it shows the code, the curves and the ranking without your "
                f"controls. Students type **{code_}** in *Class board* (or scan *Share this view*'s QR code), "
                "choose a nickname and join. The link below reopens this board as its teacher: keep it to yourself.")
        return {p.teacher: (code_, secret), p.teacher_note: note, p.code: code_, p.teacher_link: link,
                p.teacher_panel: gr.Column(visible=True), p.close_btn: gr.Button(visible=True), p.locked: False,
                p.teacher_box: gr.Accordion(open=False), p.join_box: gr.Accordion(open=False)} | drawn(code_) | \
            seat_list((code_, secret))

    p.open_btn.click(open_board, [p.corpus, p.minutes, p.family, p.address],
                     [p.teacher, p.teacher_note, p.code, p.teacher_link, p.teacher_panel, p.close_btn, p.locked,
                      p.teacher_box, p.join_box, *p.board_parts, *p.teacher_parts],
                     js="(c, m, f, a) => [c, m, f, location.origin + location.pathname]", **progress)

    @user_errors
    def close(held):
        code_, secret = held or NO_TEACHER          # the store refuses anyone but the board's teacher
        boards.close(code_, secret)
        return {p.close_btn: gr.Button(visible=False), p.teacher_note: f"Board **{code_}** is closed: it takes no "
                "more runs, and stays readable until it expires."} | drawn(code_)

    # a teacher link reopened from the address bar is written by the server as a query: the page adds its address
    p.teacher_link.change(None, p.teacher_link, p.teacher_link,
                          js="(v) => v && v.startsWith('?') ? location.origin + location.pathname + v : v")
    p.close_btn.click(close, p.teacher, [p.close_btn, p.teacher_note, *p.board_parts], **progress)

    @user_errors
    def remove(held, nick):
        code_, secret = held or NO_TEACHER
        if not nick:
            raise InputError("Pick the seat to remove from the list.")
        boards.remove_seat(code_, secret, nick)
        return {p.teacher_note: f"Removed *{plain(nick)}*: the nickname is free again, and their runs left the "
                "board."} | drawn(code_) | seat_list(held)

    p.remove_btn.click(remove, [p.teacher, p.remove_name], [p.teacher_note, *p.board_parts, *p.teacher_parts],
                       **progress)

    @user_errors
    def lock(held, now_locked):
        code_, secret = held or NO_TEACHER
        boards.lock(code_, secret, bool(now_locked))
        said = ("Locked: nobody new can join; the students seated keep training and posting." if now_locked else
                "Unlocked: students can join again.")
        return {p.teacher_note: said} | drawn(code_)

    p.locked.input(lock, [p.teacher, p.locked], [p.teacher_note, *p.board_parts], **progress)


def wire_refreshing(shared: Shared, p: BoardPage, board: Boards) -> TabDrawing:
    """The board redrawn when it changes, when its tab opens, and from a link (a teacher's with their controls)."""
    boards, drawn, seat_list = board.boards, board.drawn, board.seat_list

    def refreshed(shown, open_tab, held):
        """Redrawn when the board changed since this page drew it and is on screen; otherwise
        nothing is sent (a student training in another tab gets the board when coming back).
        The teacher's page gets the seats with it."""
        if not shown:
            return {p.timer: gr.Timer(active=False)}
        if open_tab != "board":
            return {p.shown_board: gr.skip()}
        version = boards.version(shown["code"])
        if version is None:
            return {p.timer: gr.Timer(active=False), p.headline: f"Board {shown['code']} has expired."}
        if version == shown["version"]:
            return {p.shown_board: gr.skip()}
        return drawn(shown["code"]) | (seat_list(held) if held and held[0] == shown["code"] else {})

    p.timer.tick(refreshed, [p.shown_board, shared.open_tab, p.teacher], [*p.board_parts, *p.teacher_parts],
                 api_visibility="private", show_progress="hidden", show_progress_on=p.headline,
                 trigger_mode="always_last")

    sets = [*p.board_parts, p.seat_note, p.teacher, p.close_btn, p.teacher_note, p.teacher_panel, p.teacher_link,
            p.join_box, p.teacher_box, p.code, p.locked, *p.teacher_parts]
    views_by_name = {name: c for name, c in by_field(p).items() if any(c is s for s in sets)}   # what it sets

    def tab_opened(v: Values) -> Values | None:
        """The board this page shows, drawn again if it changed while the tab was hidden."""
        shown = v["shown_board"]
        if not shown or boards.version(shown["code"]) in (None, shown["version"]):
            return None
        return named(drawn(shown["code"]), views_by_name)

    def opened_from_link(link: ViewLink) -> dict | None:
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
            return {p.headline: WELCOME, p.seat_note: str(e)}
        secret = link.get("teacher")
        if link.get("projector"):        # the projected page: nothing a student should not see, nothing to fill in
            return page | {p.code: code_, p.join_box: gr.Accordion(visible=False),
                           p.teacher_box: gr.Accordion(visible=False),
                           p.seat_note: f"Join in *Class board* with the code **{code_}**, or scan the QR code of "
                                        "*Share this view* (press it on this page)."}
        if secret and boards.is_teacher(code_, secret):
            page |= {p.teacher: (code_, secret), p.close_btn: gr.Button(visible=not snapshot.closed),
                     p.teacher_note: f"You are the teacher of board **{code_}**: this page can close it.",
                     p.teacher_panel: gr.Column(visible=True), p.teacher_link: link_address(code_, secret),
                     p.join_box: gr.Accordion(open=False), p.locked: snapshot.locked} | seat_list((code_, secret))
        elif secret:
            page |= {p.seat_note: "That teacher link is not this board's: the board is shown, without its controls."}
        return page | {p.code: code_}

    def linked(link: ViewLink, _v: Values) -> Values | None:
        page = opened_from_link(link)
        return None if page is None else named(page, views_by_name)

    return TabDrawing({"shown_board": p.shown_board}, views_by_name, opened=tab_opened, linked=linked)
