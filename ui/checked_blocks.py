"""The page's Blocks, which read a request's values as the app's own settings before Gradio does.

Gradio's components turn a value of the wrong kind into Python's words: a list sent as a slider's
value came back as "Could not preprocess input component at index 2 … Original error: TypeError:
'<' not supported between instances of 'list' and 'int'" with a 30-line traceback in the log;
too few values listed the components' memory addresses; a 2 MB string sent as a choice was echoed
back whole (issue 41: 152 such replies over the 18 endpoints). Here each value is checked against
what its component takes, and refused in one line that names the setting (its label on the page
and its name in the API), quotes at most 60 characters of what was sent, and says what it takes.
Gradio's own checks (a range, a choice not offered) still run after, and are logged in one line
each, not with the ~27-line traceback Gradio prints for an error it did not expect to be a refusal.

`validate_inputs` and `preprocess_data` are Gradio's Blocks methods, not documented API: the
module stops at import if their signatures move (tests/test_app_api.py sends every kind of
wrong value to every endpoint).
"""
from __future__ import annotations

import inspect
import logging
import math
from typing import Any

import gradio as gr

LOG = logging.getLogger("tinyshakespeare-gpt")

_EXPECTED = {"validate_inputs": ["self", "block_fn", "inputs"],
             "preprocess_data": ["self", "block_fn", "inputs", "state", "explicit_call"]}
for _name, _params in _EXPECTED.items():
    if list(inspect.signature(getattr(gr.Blocks, _name)).parameters) != _params:
        raise RuntimeError(f"gradio {gr.__version__} changed Blocks.{_name}: update ui/checked_blocks.py")

MAX_CHOICE_CHARS = 200          # longer than any choice the app offers (model names, head names, modes)


def quoted(value: Any, limit: int = 60) -> str:
    """What was sent, short enough to read: a repr cut to `limit` characters, with its kind."""
    text = repr(value)
    kind = {list: "a list", dict: "an object", str: "text", bool: "true/false", type(None): "null"}.get(
        type(value), "a number" if isinstance(value, (int, float)) else type(value).__name__)
    if len(text) > limit:
        return f"{text[:limit]}… ({kind}, {len(text):,} characters)"
    return f"{text} ({kind})"


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _is_choice(value: Any) -> bool:
    return (isinstance(value, str) and len(value) <= MAX_CHOICE_CHARS) or _is_number(value)


# what each kind of input takes: (accepts the value, the words for it)
_TAKES: dict[type, tuple[Any, str]] = {
    gr.Slider: (_is_number, "a number"),
    gr.Number: (lambda v: v is None or _is_number(v), "a number"),
    gr.Textbox: (lambda v: v is None or isinstance(v, str), "text"),
    gr.Dropdown: (lambda v: v is None or _is_choice(v), "one of its choices"),
    gr.Radio: (lambda v: v is None or _is_choice(v), "one of its choices"),
    gr.CheckboxGroup: (lambda v: isinstance(v, list) and all(map(_is_choice, v)), "a list of its choices"),
    gr.Checkbox: (lambda v: isinstance(v, bool), "true or false"),
    gr.File: (lambda v: v is None or (isinstance(v, dict) and isinstance(v.get("meta"), dict)
                                      and v["meta"].get("_type") == "gradio.FileData"),
              "a file (from gradio_client, `handle_file(path)`)"),
}
_MANY_CHOICES = _TAKES[gr.CheckboxGroup]           # a dropdown that takes several


def setting_name(block_fn: Any, index: int, block: gr.components.Component) -> str:
    """The setting as a person knows it: its label on the page and its name in the API."""
    try:
        parameters = list(inspect.signature(block_fn.fn).parameters)
    except (TypeError, ValueError):
        parameters = []
    api_name = parameters[index] if index < len(parameters) else f"value {index + 1}"
    label = getattr(block, "label", None)
    return f"“{label}” ({api_name})" if label and label != api_name else api_name


class CheckedBlocks(gr.Blocks):
    """gr.Blocks whose requests are checked value by value, refused in the app's words."""

    def validate_inputs(self, block_fn, inputs):
        """Gradio's first look at a request's values (its preprocess_data starts here): a value
        missing, then each value of the wrong kind, refused before any component reads it."""
        if len(inputs) < len(block_fn.inputs):
            names = ", ".join(setting_name(block_fn, i, b) for i, b in enumerate(block_fn.inputs))
            LOG.info("%s refused: %d values for %d inputs", block_fn.name, len(inputs), len(block_fn.inputs))
            raise gr.Error(f"/{block_fn.api_name or block_fn.name} takes {len(block_fn.inputs)} values ({names}); "
                           f"this request sent {len(inputs)}.", print_exception=False)
        for index, (block, value) in enumerate(zip(block_fn.inputs, inputs)):
            takes = _MANY_CHOICES if getattr(block, "multiselect", False) else next(
                (rule for kind, rule in _TAKES.items() if isinstance(block, kind)), None)
            if takes is not None and not takes[0](value):
                name = setting_name(block_fn, index, block)
                LOG.info("%s refused: %s got %s", block_fn.name, name, quoted(value))
                raise gr.Error(f"The setting {name} takes {takes[1]}, not {quoted(value)}.", print_exception=False)
        return super().validate_inputs(block_fn, inputs)

    async def preprocess_data(self, block_fn, inputs, state, explicit_call=False):
        try:
            return await super().preprocess_data(block_fn, inputs, state, explicit_call)
        except gr.Error as refusal:     # Gradio's own checks (a range, a choice not offered): one log line
            if refusal.print_exception:
                refusal.print_exception = False
                LOG.info("%s refused by Gradio's input check: %s", block_fn.name, str(refusal.message)[:300])
            raise
