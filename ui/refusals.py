"""How a refusal reaches a person: one line on the page and one in the log, never a traceback.

The app's own refusals (`studio.errors.REFUSALS`) become `gr.Error` messages; anything else is
a bug and reaches Gradio as it is, which logs its traceback. Gradio's check of a file's path is
made to refuse the same way (its patch fails loudly if what it patches has moved); its checks of a
request's values are quieted by the page's Blocks (ui/checked_blocks.py).
"""
from __future__ import annotations

import functools
import inspect
import logging
from pathlib import Path

import gradio as gr

from studio.errors import REFUSALS

LOG = logging.getLogger("tinyshakespeare-gpt")


def refused(fn_name: str, error: Exception) -> gr.Error:
    """The message a person sees; the server log gets one line."""
    LOG.info("%s refused: %s", fn_name, error)
    return gr.Error(str(error), print_exception=False)


def user_errors(fn):
    """Show the app's own refusals (bad input, missing corpus) as messages, never tracebacks.
    Works on functions, generators and async generators alike."""
    if inspect.isasyncgenfunction(fn):
        @functools.wraps(fn)
        async def async_generator(*args, **kwargs):
            try:
                async for item in fn(*args, **kwargs):
                    yield item
            except REFUSALS as e:
                raise refused(fn.__name__, e) from None
        return async_generator
    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def generator(*args, **kwargs):
            try:
                yield from fn(*args, **kwargs)
            except REFUSALS as e:
                raise refused(fn.__name__, e) from None
        return generator

    @functools.wraps(fn)
    def function(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except REFUSALS as e:
            raise refused(fn.__name__, e) from None
    return function


def plain_path_refusals() -> None:
    """A request naming a file it did not upload ("app.py", "/etc/passwd") is refused by Gradio
    with the server's absolute path in the message and a traceback in the log; the refusal
    stays, the message names the file alone. Fails loudly if Gradio's check moves."""
    from gradio import processing_utils

    original = getattr(processing_utils, "_check_allowed", None)
    if original is None:
        raise RuntimeError("gradio.processing_utils._check_allowed is gone: update plain_path_refusals")
    if getattr(original, "plain", False):
        return

    @functools.wraps(original)
    def check_allowed(path, *args, **kwargs):
        try:
            return original(path, *args, **kwargs)
        except gr.exceptions.InvalidPathError:
            LOG.info("refused a file the client did not upload: %s", path)
            raise gr.Error(f"{Path(str(path)).name!r} was not uploaded through this page: attach the file again.",
                           print_exception=False) from None

    check_allowed.plain = True
    processing_utils._check_allowed = check_allowed
