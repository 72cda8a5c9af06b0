"""The Class board tab's components, by name, and the addresses and text it shows."""
from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from studio.board_store import MAX_NICKNAME
from studio.class_board import FAMILIES, RACE_MINUTES
from studio.training import CORPUS_CHOICES

from ..tab import Desk

REFRESH_SECONDS = 3.0
"""How often a page showing a board asks whether it changed (one integer read when it has not)."""
FREE = "free"
NO_TEACHER = ("", "")
"""(code, secret) of a page that opened no board: the store refuses it as it refuses a wrong secret."""
WELCOME = ("## Class board\nJoin your class's board with the code your teacher shows, then train in *Train live*: "
           "your runs post here, beside everyone's. Teachers: open a board below.")


@dataclass(frozen=True)
class BoardPage:
    """The Class board tab's components, by name."""
    shown_board: gr.State   # {"code", "version"}: the board on this page, as last drawn
    teacher: gr.State   # (code, secret) of the board this page opened
    seat_note: gr.Markdown
    headline: gr.Markdown
    curves: gr.Plot
    table: gr.Dataframe
    samples: gr.Textbox
    teacher_panel: gr.Column
    teacher_note: gr.Markdown
    teacher_link: gr.Textbox
    close_btn: gr.Button
    seat_table: gr.Dataframe
    remove_name: gr.Dropdown
    remove_btn: gr.Button
    locked: gr.Checkbox
    join_box: gr.Accordion
    code: gr.Textbox
    name: gr.Textbox   # the nickname
    join_btn: gr.Button
    watch_btn: gr.Button
    teacher_box: gr.Accordion
    corpus: gr.Radio
    minutes: gr.Radio
    family: gr.Radio
    open_btn: gr.Button
    timer: gr.Timer
    address: gr.Textbox   # the page's own address, from the browser

    @property
    def board_parts(self) -> list:
        """What drawing a board sets."""
        return [self.shown_board, self.headline, self.curves, self.table, self.samples, self.timer]

    @property
    def teacher_parts(self) -> list:
        return [self.seat_table, self.remove_name]


def layout(desk: Desk) -> BoardPage:
    """The tab's components: the board, the teacher's panel, the join form, the teachers' form."""
    shared = desk.shared
    with desk.tab():
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

    return BoardPage(shown_board=shown_board, teacher=teacher, seat_note=seat_note, headline=headline, curves=curves, table=table, samples=samples, teacher_panel=teacher_panel, teacher_note=teacher_note, teacher_link=teacher_link, close_btn=close_btn, seat_table=seat_table, remove_name=remove_name, remove_btn=remove_btn, locked=locked, join_box=join_box, code=code, name=name, join_btn=join_btn, watch_btn=watch_btn, teacher_box=teacher_box, corpus=corpus, minutes=minutes, family=family, open_btn=open_btn, timer=timer, address=address)


def projector_address(code: str) -> str:
    """The projected board's link (its query): no key in it, so it can be shown to the room."""
    return f"?tab=board&board={code}&projector=1"


def link_address(code: str, secret: str) -> str:
    """The teacher's link (its query; the page puts its own address before it)."""
    return f"?tab=board&board={code}&teacher={secret}"


def plain(text: str) -> str:
    """A student's text inside markdown, shown as the characters typed (never as markup)."""
    return "".join("\\" + c if c in "\\`*_{}[]()<>#+-.!|~&" else c for c in text)
