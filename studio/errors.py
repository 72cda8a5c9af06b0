"""The exception the app shows to people as it is, and how other errors are made fit to show."""
from __future__ import annotations

import re

from gpt.checkpoint import CheckpointError
from gpt.data import CorpusUnavailableError
from gpt.errors import UsageError


class InputError(UsageError):
    """A request the app refuses, with a message meant for the person who made it."""


REFUSALS = (UsageError, CheckpointError, CorpusUnavailableError)
"""What the app shows as a one-line message: the library's and the app's refusals of what was
asked, a checkpoint that cannot be read, a corpus that cannot be found. Any other exception is
a bug: it is logged with its traceback."""


_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://\S+")
_PATH = re.compile(r"(?:/[^/\s:'\"]+)+/([^/\s:'\"]+)")
_HUB_TOKEN = re.compile(r"\bhf_[A-Za-z0-9]{4,}")
SECRET_PIECE = 6
"""Characters of a secret that may not appear together in a message: services echo a token's
tail in request ids and hints, so masking only the whole token is not enough."""


def without_paths(message: str) -> str:
    """A message for people: folders on the server shortened to their last part (addresses
    such as https://host/path are left whole)."""
    parts = _URL.split(message)
    urls = _URL.findall(message)
    out = [_PATH.sub(r"\1", parts[0])]
    for url, rest in zip(urls, parts[1:]):
        out += [url, _PATH.sub(r"\1", rest)]
    return "".join(out)


def without_secret(message: str, secret: str | None) -> str:
    """`message` with every run of SECRET_PIECE or more characters of `secret` (anywhere in
    it; all of a shorter secret), and anything shaped like a Hub token, replaced by ***."""
    hidden = [False] * len(message)
    if secret:
        width = min(SECRET_PIECE, len(secret))
        pieces = {secret[i:i + width] for i in range(len(secret) - width + 1)}
        for i in range(len(message) - width + 1):
            if message[i:i + width] in pieces:
                hidden[i:i + width] = [True] * width
    for m in _HUB_TOKEN.finditer(message):
        hidden[m.start():m.end()] = [True] * (m.end() - m.start())
    out = []
    for i, hide in enumerate(hidden):
        if not hide:
            out.append(message[i])
        elif i == 0 or not hidden[i - 1]:            # a run of hidden characters becomes one ***
            out.append("***")
    return "".join(out)


def first_line(error: BaseException) -> str:
    """What an unexpected error says, in one line without server paths (its name if it says nothing)."""
    text = str(error).strip()
    return without_paths(text.splitlines()[0]) if text else type(error).__name__
