"""Class board: a teacher opens a board, students join it with a nickname, and every live
training they run posts to it; the board (curves, leaderboard, best samples) updates live, sized
for a projector. The store and the views are `studio.board_store` and `studio.class_board`."""
from __future__ import annotations

from studio.links import Param
from studio.settings import Settings

from ..tab import Desk, TabDrawing, TabSpec
from .page import layout as _layout, link_address, projector_address
from .wiring import Boards, wire_refreshing, wire_students, wire_teacher

__all__ = ["TAB", "link_address", "projector_address"]


def link_params(settings: Settings) -> tuple[Param, ...]:
    """The board's code for everyone; the teacher's secret only in the teacher's own link; the
    board as projected (the code, curves and ranking, without the join form or a teacher's controls)."""
    return (Param("board", "text", None, hi=20, label="board code"),
            Param("teacher", "text", None, hi=64, label="teacher key", private=True),
            Param("projector", "choice", None, choices=("1",), label="projector view", private=True))


def layout(desk: Desk) -> TabDrawing:
    """Lays out the tab, then wires its students' part, its teacher's part and its refreshing."""
    page = _layout(desk)
    board = Boards(desk.shared, page, desk.laid_out["train"].parts)
    wire_students(desk.shared, desk.demo, page, board)
    wire_teacher(page, board)
    return wire_refreshing(desk.shared, page, board)


TAB = TabSpec("board", "Class board", layout, link_params)
