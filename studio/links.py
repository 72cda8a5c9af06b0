"""Links that reopen a view: the state on screen as a URL's query string, and back.

A link carries what a person chose (tab, model, prompt, sampling settings and seed, layer and
head, a Timeline snapshot, a Lab instrument with its text and position), never a result and
never a reference to anything the server keeps: the view is computed again when the link is
opened, and the same seed gives the same text. That is why these links cannot show another
visitor's result, which a server-side snapshot can (gradio-app/gradio#11201).

Every value is checked as a request's would be. A value that fails is dropped, with one line
saying which and why; the rest of the link still opens. Nothing from a link is ever shown as
HTML: `problems` name the parameter and quote values in code spans.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping, Sequence
from urllib.parse import urlencode

from .errors import InputError
from .inputs import number
from .zoo import SESSION_MODEL

MAX_QUERY_CHARS = 6_000
"""A longer query string is not read at all (the longest text a link carries is MAX_TEXT_CHARS)."""
MAX_TEXT_CHARS = 2_000
"""The longest prompt or Lab text a link carries: a link is for handing out, not for corpora."""
MAX_LAYERS = 1_000
MAX_HEADS = 64
"""The most layers and heads a link may name: the linked tab then checks them against its model and
says its range ("This model has 6 layers"), rather than a bound no model here comes near."""
MAX_SHOWN = 40
"""Characters of a refused value quoted back in its problem."""


@dataclass(frozen=True)
class Param:
    """One query parameter: its key, what it must be, and its default (left out of a link)."""

    key: str
    kind: str                        # "choice", "int", "float" or "text"
    default: object
    lo: float = -math.inf
    hi: float = math.inf
    choices: tuple = ()
    label: str = ""                  # the setting's name in messages
    private: bool = False            # read when a page opens, never written into a link or the address bar
    per_model: bool = False          # valid or not for the model on screen: its tab checks it, then sets it
    model_text: bool = False         # a text the model reads: dropped when it has characters the model does not know

    @property
    def name(self) -> str:
        return self.label or self.key


@dataclass
class ViewLink:
    """What a link asked for, checked: `values` holds only the parameters it set and that passed."""

    values: dict[str, object] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def get(self, key: str, default=None):
        return self.values.get(key, default)

    def __contains__(self, key: str) -> bool:
        return key in self.values

    @property
    def note(self) -> str:
        """What the page says about the link it opened (empty when all of it was used)."""
        if not self.problems:
            return ""
        return "**This link was opened in part.** " + " ".join(self.problems)


def params(models: Iterable[str], tabs: Sequence[str], declared: Iterable[Param] = ()) -> dict[str, Param]:
    """Every parameter a link may carry: which tab (the first is the default) and which model, then
    those the tabs declare for what their components carry (ui/tab.TabSpec, ui/lab/instrument.py),
    bound to this app's limits and models, in the order links write them."""
    listed = [Param("tab", "choice", tabs[0], choices=tuple(tabs)),
              Param("model", "choice", None, choices=tuple(models) + (SESSION_MODEL,)), *declared]
    known = {p.key: p for p in listed}
    if len(known) != len(listed):
        raise ValueError(f"two link parameters share a key: {sorted(p.key for p in listed)}")
    return known


def text_chars(max_prompt_chars: int) -> int:
    """The longest prompt a link carries on an app that takes `max_prompt_chars`."""
    return min(max_prompt_chars, MAX_TEXT_CHARS)


def quoted(value: str) -> str:
    """A value from a link, shortened, in a code span for a message (shown as text, never as markup)."""
    shown = value if len(value) <= MAX_SHOWN else value[:MAX_SHOWN] + "…"
    return "`" + shown.replace("`", "'").replace("\n", "↵").replace("\r", "") + "`"


def check(param: Param, raw: str) -> object:
    """A raw query value as the type its parameter holds, or InputError."""
    if param.kind == "choice":
        if raw not in param.choices:
            raise InputError(f"The {param.name} {quoted(raw)} is not one of this app's.")
        return raw
    if param.kind == "text":
        if len(raw) > param.hi:
            raise InputError(f"The {param.name} is {len(raw):,} characters long; a link carries at most "
                             f"{int(param.hi):,}.")
        return raw
    value = raw.strip()
    if param.kind == "int":
        if not value.isdigit():          # whole numbers only: "1e3", "-1" and "NaN" are refused
            raise InputError(f"The {param.name} must be a whole number, not {quoted(raw)}.")
        number_ = int(value)                 # exact: a float would round a seed past 2^53
        if not param.lo <= number_ <= param.hi:
            raise InputError(f"The {param.name} must be between {param.lo:,} and {param.hi:,}, not {number_:,}.")
        return number_
    try:
        x = float(value)
    except ValueError:
        raise InputError(f"The {param.name} must be a number, not {quoted(raw)}.") from None
    return number(x, param.name, param.lo, param.hi)         # its refusals quote only the number


def parse(query: Mapping[str, str], known: Mapping[str, Param],
          chars_known: Callable[[str | None], set[str] | None] = lambda model: None) -> ViewLink:
    """A URL's query parameters as a checked ViewLink.

    `chars_known(model)` gives the characters the linked (or default) model knows, for the
    texts a link carries: a text with others is dropped, as the model could not read it."""
    link = ViewLink()
    size = sum(len(k) + len(v) + 2 for k, v in query.items())
    if size > MAX_QUERY_CHARS:
        link.problems.append(f"The link is {size:,} characters long; a view's link is at most "
                             f"{MAX_QUERY_CHARS:,}, so the default view is shown.")
        return link
    unknown = sorted(k for k in query if k not in known)
    if unknown:
        link.problems.append("Parameters this app does not know were ignored: "
                             + ", ".join(quoted(k) for k in unknown[:5]) + ("…" if len(unknown) > 5 else "") + ".")
    for key, param in known.items():
        if key not in query:
            continue
        try:
            link.values[key] = check(param, query[key])
        except InputError as e:
            link.problems.append(str(e) + " It was left at its default.")
    if link.get("model") == SESSION_MODEL:
        del link.values["model"]
        link.problems.append("A model trained in someone's browser session cannot travel in a link (it lives "
                             "only in that session): the shipped model is shown instead.")
    vocab = chars_known(link.get("model"))
    if vocab is not None:
        for key in (key for key, param in known.items() if param.model_text):
            text = link.get(key)
            if text is None:
                continue
            strange = sorted(set(text) - vocab)
            if strange:
                del link.values[key]
                link.problems.append(f"The link's {known[key].name} has characters the model does not know "
                                     f"({', '.join(quoted(c) for c in strange[:5])}): the default is shown.")
    return link


def encode(values: Mapping[str, object], known: Mapping[str, Param]) -> str:
    """The query string (without '?') for these values: defaults and empty values left out,
    in the order of `known`, so one view has one link."""
    kept = []
    for key, param in known.items():
        value = values.get(key)
        if param.private or value is None or value == "" or _same(value, param.default):
            continue
        if param.kind == "int":
            value = int(value) if str(value).strip().isdigit() else int(float(value))   # exact past 2^53
        elif param.kind == "float":
            value = f"{float(value):g}"
        kept.append((key, str(value)))
    return urlencode(kept)


def _same(value, default) -> bool:
    if default is None:
        return False
    try:
        return float(value) == float(default)
    except (TypeError, ValueError):
        return value == default
