"""What a request's raw values become before anything uses them: numbers that are numbers,
text that is text, each refused in words that name the setting.

Gradio checks a slider's range for the browser, but the API accepts anything JSON can hold:
null, NaN, 1e30, a list where a string belongs. Without these checks such values reach
`int()` and come back as Python's own messages ("cannot convert float NaN to integer").
"""
from __future__ import annotations

import math

from .errors import InputError

LARGEST_WHOLE = 2**63 - 1


def number(value, name: str, minimum: float = -math.inf, maximum: float = math.inf) -> float:
    """A finite number within [minimum, maximum]."""
    if isinstance(value, bool) or value is None:
        raise InputError(f"The {name} needs a number.")
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise InputError(f"The {name} must be a number, not {str(value)[:40]!r}.") from None
    if not math.isfinite(x):
        raise InputError(f"The {name} must be a finite number, not {x}.")
    if not minimum <= x <= maximum:
        raise InputError(f"The {name} must be between {minimum:g} and {maximum:g}, not {x:g}.")
    return x


def whole(value, name: str, minimum: int = -LARGEST_WHOLE, maximum: int = LARGEST_WHOLE) -> int:
    """A whole number within [minimum, maximum] (a float that is whole counts, as sliders send 3.0)."""
    x = number(value, name)
    if x != int(x):
        raise InputError(f"The {name} must be a whole number, not {x:g}.")
    if not minimum <= x <= maximum:
        raise InputError(f"The {name} must be between {minimum:,} and {maximum:,}, not {x:g}.")
    return int(x)


def text(value, name: str, max_chars: int | None = None) -> str:
    """A string (null counts as empty), at most `max_chars` long."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InputError(f"The {name} must be text.")
    if max_chars is not None and len(value) > max_chars:
        raise InputError(f"The {name} is {len(value):,} characters long; at most {max_chars:,} are taken here.")
    return value


def text_choice(value, name: str) -> str:
    """A choice sent as text (a radio button's or a dropdown's value)."""
    if not isinstance(value, str) or not value:
        raise InputError(f"Choose the {name}.")
    return value
