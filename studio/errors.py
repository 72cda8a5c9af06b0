"""The one exception the app shows to people as it is, and how other errors are made fit to show."""
from __future__ import annotations

import re


class InputError(ValueError):
    """A request the app refuses, with a message meant for the person who made it."""


def without_paths(message: str) -> str:
    """A message for people: folders on the server shortened to their last part."""
    return re.sub(r"(?:/[^/\s:'\"]+)+/([^/\s:'\"]+)", r"\1", message)


def first_line(error: BaseException) -> str:
    """What an unexpected error says, in one line without server paths (its name if it says nothing)."""
    text = str(error).strip()
    return without_paths(text.splitlines()[0]) if text else type(error).__name__
