"""Class board: a teacher opens a board, students join it with a nickname, and every live
training they run posts to it; the board (curves, leaderboard, best samples) updates live, sized
for a projector. The store and the views are `studio.board_store` and `studio.class_board`."""
from __future__ import annotations

import gradio as gr

from ..shared import Shared
from .page import layout, link_address, projector_address
from .wiring import Boards, wire_refreshing, wire_students, wire_teacher

__all__ = ["build", "link_address", "projector_address"]


def build(shared: Shared, demo: gr.Blocks) -> None:
    """Lays out the tab, then wires its students' part, its teacher's part and its refreshing."""
    page = layout(shared)
    board = Boards(shared, page)
    wire_students(shared, demo, page, board)
    wire_teacher(page, board)
    wire_refreshing(shared, page, board)
