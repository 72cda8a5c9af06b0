"""The app's settings: every GPT_APP_* environment variable is read here, once, and nowhere else
(and those a Hugging Face Space sets, to know whether it runs on one with sign-in).

A value that is set but not a number in range stops the app at start-up with a message
naming the variable, rather than being silently replaced by the default.
"""
from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field

from .spare_cores import available_cores

DEVICES = re.compile(r"^(auto|cpu|cuda|cuda:\d+|mps)$")
MIB = 2**20
"""Upload sizes are in MiB, as Gradio counts them: "2 MB" means 2 x 1,048,576 bytes throughout."""


def _number(name: str, default: float, kind: type = float, minimum: float = 0,
            maximum: float = math.inf) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise SystemExit(f"{name}={raw!r}: expected a {'whole ' if kind is int else ''}number") from None
    if not math.isfinite(value):          # nan would pass every comparison; inf would mean no limit
        raise SystemExit(f"{name}={raw!r}: expected a finite number")
    if value < minimum or value > maximum:
        bounds = f"at least {minimum:g}" if maximum == math.inf else f"between {minimum:g} and {maximum:g}"
        raise SystemExit(f"{name}={raw!r}: must be {bounds}")
    return value


def _device(name: str, default: str) -> str:
    raw = (os.environ.get(name) or default).strip()
    if not DEVICES.match(raw):
        raise SystemExit(f"{name}={raw!r}: choose auto, cpu, cuda, cuda:N or mps")
    return raw


SPACE_STORAGE = "/data"
"""A Hugging Face Space's persistent storage, when the Space has it (it survives restarts; the rest does not)."""


def data_folder() -> str:
    """Where the app keeps what must outlive a restart: the Space's persistent storage when it has
    one, else `data/` beside the app."""
    if os.path.isdir(SPACE_STORAGE) and os.access(SPACE_STORAGE, os.W_OK):
        return os.path.join(SPACE_STORAGE, "tinyshakespeare-gpt")
    return os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data")


def _http_url(name: str) -> str:
    """An http(s) address from the variable `name`, or "" when it is unset."""
    raw = os.environ.get(name, "").strip()
    if raw and not re.match(r"^https?://[^\s\"'<>]+$", raw):
        raise SystemExit(f"{name}={raw!r}: expected an http(s) address")
    return raw


def _source_url() -> str:
    """The base of the links to the source files: GPT_APP_SOURCE_URL (http or https), else the
    Space's own files when running on one, else none (the path and lines are shown as text)."""
    raw = _http_url("GPT_APP_SOURCE_URL")
    if raw:
        return raw
    space = os.environ.get("SPACE_ID", "").strip()
    if os.environ.get("SYSTEM") == "spaces" and re.match(r"^[\w.-]+/[\w.-]+$", space):
        return f"https://huggingface.co/spaces/{space}/blob/main"
    return ""


@dataclass(frozen=True)
class Settings:
    """Bounds for a public demo on a free 2-vCPU Space, and how the server runs."""

    max_new_tokens: int = 2000
    max_prompt_chars: int = 10_000
    max_params: int = 2_000_000          # GPT_APP_MAX_PARAMS: the largest model trained live (at most 100M)
    max_steps: int = 5_000               # GPT_APP_MAX_STEPS
    max_minutes: float = 5.0             # GPT_APP_MAX_MINUTES: time budget of one live training
    max_upload_mb: float = 2.0           # GPT_APP_MAX_UPLOAD_MB
    max_vocab: int = 1000                # GPT_APP_MAX_VOCAB: distinct characters an upload may hold
    session_ttl: float = 1800.0          # GPT_APP_SESSION_TTL: seconds a session is kept once idle (each request renews it)
    max_sessions: int = 2000             # GPT_APP_MAX_SESSIONS: sessions kept; past it, idle anonymous ones go first
    training_slots: int = 1              # GPT_APP_TRAINING_SLOTS: live trainings at once
    training_line: int = 30              # GPT_APP_TRAINING_LINE: trainings that may wait for a slot
    queue_size: int = 64                 # GPT_APP_QUEUE: requests waiting at most
    threads: int = 1                     # GPT_APP_THREADS: torch threads (generation and training share cores)
    training_threads: int = field(default_factory=available_cores)   # GPT_APP_TRAINING_THREADS: most a live
    #                                      training borrows while nothing else runs (it gives them back at once)
    device: str = "auto"                 # GPT_APP_DEVICE: auto, cpu, cuda or mps
    fast_start: bool = True              # GPT_APP_FAST_START=0 imports Gradio unchanged
    batched_decoding: bool = True        # GPT_APP_BATCHED_DECODING=0: every request decodes alone (bench baseline)
    extra_models: list[str] = field(default_factory=list)   # GPT_APP_MODELS: folders or Hub ids, comma-separated
    data_dir: str = field(default_factory=data_folder)   # GPT_APP_DATA: where class boards are kept
    board_hours: float = 24.0            # GPT_APP_BOARD_HOURS: a class board is deleted this long after it opens
    board_seats: int = 40                # GPT_APP_BOARD_SEATS: students one board takes
    source_url: str = ""                 # GPT_APP_SOURCE_URL: where "The code" links to (a Space: its own files)
    static_url: str = ""                 # GPT_APP_STATIC_URL: the shipped GPT's static edition, where published
    hub_sign_in: bool = False            # on a Space with `hf_oauth: true` (SYSTEM=spaces, SPACE_ID, OAUTH_CLIENT_ID)
    behind_proxy: bool = False           # a proxy sets X-Forwarded-For (a Space; GPT_APP_BEHIND_PROXY=1 elsewhere)

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * MIB)

    @classmethod
    def from_env(cls) -> "Settings":
        return cls(
            max_params=int(_number("GPT_APP_MAX_PARAMS", cls.max_params, int, 1, 100_000_000)),
            max_steps=int(_number("GPT_APP_MAX_STEPS", cls.max_steps, int, 1)),
            max_minutes=_number("GPT_APP_MAX_MINUTES", cls.max_minutes, float, 0.1, 24 * 60),
            max_upload_mb=_number("GPT_APP_MAX_UPLOAD_MB", cls.max_upload_mb, float, 0.01, 1024),
            max_vocab=int(_number("GPT_APP_MAX_VOCAB", cls.max_vocab, int, 2)),
            session_ttl=_number("GPT_APP_SESSION_TTL", cls.session_ttl, float, 10, 7 * 24 * 3600),
            max_sessions=int(_number("GPT_APP_MAX_SESSIONS", cls.max_sessions, int, 10, 9000)),
            training_slots=int(_number("GPT_APP_TRAINING_SLOTS", cls.training_slots, int, 1)),
            training_line=int(_number("GPT_APP_TRAINING_LINE", cls.training_line, int, 0)),
            queue_size=int(_number("GPT_APP_QUEUE", cls.queue_size, int, 1)),
            threads=int(_number("GPT_APP_THREADS", cls.threads, int, 1, os.cpu_count() or 1)),
            training_threads=int(_number("GPT_APP_TRAINING_THREADS", available_cores(), int, 1,
                                         os.cpu_count() or 1)),
            device=_device("GPT_APP_DEVICE", cls.device),
            fast_start=os.environ.get("GPT_APP_FAST_START", "1") != "0",
            batched_decoding=os.environ.get("GPT_APP_BATCHED_DECODING", "1") != "0",
            extra_models=[s.strip() for s in os.environ.get("GPT_APP_MODELS", "").split(",") if s.strip()],
            data_dir=os.environ.get("GPT_APP_DATA", "").strip() or data_folder(),
            board_hours=_number("GPT_APP_BOARD_HOURS", cls.board_hours, float, 0.01, 24 * 365),
            board_seats=int(_number("GPT_APP_BOARD_SEATS", cls.board_seats, int, 1, 10_000)),
            source_url=_source_url(),
            static_url=_http_url("GPT_APP_STATIC_URL"),
            hub_sign_in=bool(os.environ.get("SYSTEM") == "spaces" and os.environ.get("SPACE_ID")
                             and os.environ.get("OAUTH_CLIENT_ID")),
            behind_proxy=os.environ.get("SYSTEM") == "spaces" or os.environ.get("GPT_APP_BEHIND_PROXY") == "1",
        )


SETTINGS = Settings.from_env()
