"""What every session of the app shares, built once from the settings: the device, the
checkpoints offered, the shipped training run and the line for live training. All of it is
read-only for a request, except the line, which is made to be shared."""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

import torch

from gpt import checkpoint
from gpt.hardware import pick_device

from .board_store import SQLiteBoards
from .limits import RateLimiter
from .settings import SETTINGS, Settings
from .slots import TrainingSlots
from .timeline import ShippedTimeline
from .zoo import SESSION_LABEL, SESSION_MODEL, ModelZoo

TIMELINE_FOLDER = "shakespeare-timeline"
BOARDS_FILE = "boards.sqlite3"


@dataclass(frozen=True)
class Resources:
    settings: Settings
    device: torch.device
    zoo: ModelZoo
    shipped_timeline: ShippedTimeline
    training_slots: TrainingSlots
    boards: SQLiteBoards                    # class boards: shared by design, each write its own transaction
    limiter: RateLimiter = field(default_factory=RateLimiter)    # per address: codes guessed, seats, boards

    @classmethod
    def from_settings(cls, checkpoints: str | Path, settings: Settings = SETTINGS) -> "Resources":
        """Raises SystemExit naming the variable when the settings ask for a device this machine lacks."""
        try:
            device = pick_device(settings.device)
        except ValueError as e:
            raise SystemExit(f"GPT_APP_DEVICE={settings.device!r}: {e}") from None
        checkpoints = Path(checkpoints)
        for source in settings.extra_models:      # a typo found now, not when a student picks the model
            try:
                checkpoint.source_kind(source)
            except checkpoint.CheckpointError as e:
                raise SystemExit(f"GPT_APP_MODELS={source!r}: {e}") from None
        return cls(settings, device, ModelZoo(checkpoints, settings.extra_models, device=device),
                   ShippedTimeline(checkpoints / TIMELINE_FOLDER),
                   TrainingSlots(settings.training_slots, settings.training_line), open_boards(settings))

    @property
    def default_model(self) -> str | None:
        names = self.zoo.names()
        return names[0] if names else None

    @property
    def model_choices(self) -> list[tuple[str, str]]:
        """(label, value) for the model lists: every checkpoint, then the session's own model,
        listed from the start (picking it before training says to train first)."""
        return [(name, name) for name in self.zoo.names()] + [(SESSION_LABEL, SESSION_MODEL)]


def open_boards(settings: Settings) -> SQLiteBoards:
    """The class boards' file under GPT_APP_DATA; SystemExit with one line naming the variable when
    the folder cannot hold it (a file, read-only, not ours)."""
    path = Path(settings.data_dir) / BOARDS_FILE
    try:
        return SQLiteBoards(path, ttl=settings.board_hours * 3600, max_seats=settings.board_seats)
    except (OSError, sqlite3.Error) as e:
        raise SystemExit(f"GPT_APP_DATA={settings.data_dir!r}: class boards cannot be kept there "
                         f"({type(e).__name__}: {e}); point it at a folder this user may write") from None
