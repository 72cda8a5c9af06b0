"""What every session of the app shares, built once from the settings: the device, the
checkpoints offered, the shipped training run and the line for live training. All of it is
read-only for a request, except the line, which is made to be shared."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from gpt.hardware import pick_device

from .board_store import SQLiteBoards
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

    @classmethod
    def from_settings(cls, checkpoints: str | Path, settings: Settings = SETTINGS) -> "Resources":
        """Raises SystemExit naming the variable when the settings ask for a device this machine lacks."""
        try:
            device = pick_device(settings.device)
        except ValueError as e:
            raise SystemExit(f"GPT_APP_DEVICE={settings.device!r}: {e}") from None
        checkpoints = Path(checkpoints)
        return cls(settings, device, ModelZoo(checkpoints, settings.extra_models, device=device),
                   ShippedTimeline(checkpoints / TIMELINE_FOLDER),
                   TrainingSlots(settings.training_slots, settings.training_line),
                   SQLiteBoards(Path(settings.data_dir) / BOARDS_FILE, ttl=settings.board_hours * 3600,
                                max_seats=settings.board_seats))

    @property
    def default_model(self) -> str | None:
        names = self.zoo.names()
        return names[0] if names else None

    @property
    def model_choices(self) -> list[tuple[str, str]]:
        """(label, value) for the model lists: every checkpoint, then the session's own model,
        listed from the start (picking it before training says to train first)."""
        return [(name, name) for name in self.zoo.names()] + [(SESSION_LABEL, SESSION_MODEL)]
