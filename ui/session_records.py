"""What Gradio keeps for each browser session, made to cost what the session uses.

Gradio 6.31 builds a `SessionState` on a session's first request, and its constructor writes out
the config of every block on the page (372 of them here) so that a deep link could restore the
whole page later: ~575 kB per session id, paid even by a request the app refuses, and a script
that sends each request under a new id made the server grow by gigabytes (issue 41). Here the
same per-block configs are computed when first read: a session that sends one request holds the
configs of that request's inputs and outputs, ~25 kB in all; a deep link, which reads every one,
gets exactly what the eager constructor would have made.

Neither `SessionState`'s constructor nor `StateHolder`'s records are public API, so `adopt`
checks at start-up that they are where this module expects them and stops the app otherwise
(tests/test_app_api.py breaks too); the sweeper in studio/sessions.py reads the same records.
"""
from __future__ import annotations

import copy
import functools
import inspect
import re
from collections.abc import Iterator
from typing import Any

import gradio as gr
import gradio.state_holder as state_holder

#: The attributes Gradio 6.31's SessionState.__init__ sets. LeanSessionState sets the same ones;
#: if an upgrade adds or drops one, `adopt` refuses to start rather than build half a session.
SESSION_ATTRIBUTES = ("blocks_config", "config_values", "state_data", "_state_ttl", "is_closed",
                      "STATE_TTL_WHEN_CLOSED")


class ConfigsOnDemand(dict):
    """`SessionState.config_values` ({block id: its config}) computed block by block when read.

    Reading one key computes that block's config from the session's own copy of the page; listing
    them all (what a deep link does) computes the rest, in the page's order."""

    def __init__(self, blocks_config: Any, ids: frozenset[int], order: tuple[int, ...]):
        super().__init__()
        self._blocks_config = blocks_config
        self._ids = ids                     # the page's blocks: shared by every session, never copied
        self._order = order

    def __missing__(self, key: int) -> dict:
        if key not in self._ids:
            raise KeyError(key)
        config = self._blocks_config.config_for_block(key, [], self._blocks_config.blocks[key])
        super().__setitem__(key, config)
        return config

    def __contains__(self, key: object) -> bool:
        return super().__contains__(key) or key in self._ids

    def _all(self) -> list[int]:
        order = list(self._order) + [key for key in super().keys() if key not in self._ids]
        for key in order:
            self[key]                                       # computes those not read yet
        return order

    def keys(self):          # type: ignore[override]
        return self._all()

    def __iter__(self) -> Iterator[int]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())

    def items(self):         # type: ignore[override]
        return [(key, self[key]) for key in self._all()]

    def values(self):        # type: ignore[override]
        return [self[key] for key in self._all()]

    def get(self, key: int, default: Any = None) -> Any:
        return self[key] if key in self else default


class _EmptyPage:
    """Just enough of a Blocks for Gradio's own constructor to run over a page of no blocks."""

    class _Config:
        blocks: dict = {}

        def __copy__(self):
            return self

    default_config = _Config()
    blocks: dict = {}


ORIGINAL_SESSION_STATE = state_holder.SessionState
#: what Gradio's constructor sets that does not depend on the page (is_closed, the closed-session TTL, ...)
_EMPTY_SESSION = vars(ORIGINAL_SESSION_STATE(_EmptyPage()))


class LeanSessionState(ORIGINAL_SESSION_STATE):
    """Gradio's SessionState with its per-block configs computed on demand (see the module's docstring)."""

    def __init__(self, blocks: gr.Blocks):          # super().__init__ would compute every config
        for name, value in _EMPTY_SESSION.items():
            setattr(self, name, copy.copy(value))   # Gradio's own defaults; dicts of this session's own
        self.blocks_config = copy.copy(blocks.default_config)
        self.config_values = ConfigsOnDemand(self.blocks_config, *_page_ids(blocks))


@functools.cache
def _page_ids(blocks: gr.Blocks) -> tuple[frozenset[int], tuple[int, ...]]:
    """The ids of the page's blocks whose configs a session keeps, as a set and in the page's order
    (what Gradio's constructor iterates), worked out once per page."""
    order = tuple(key for key in blocks.default_config.blocks if key in blocks.blocks)
    return frozenset(order), order


def moved() -> list[str]:
    """What of Gradio's session records is not where this app reads or replaces it (empty: all there)."""
    holder = state_holder.StateHolder()
    missing = [name for name in ("session_data", "time_last_used", "lock") if not hasattr(holder, name)]
    if "blocks.state_holder = self" not in inspect.getsource(state_holder.StateHolder.set_blocks):
        missing.append("Blocks.state_holder")
    if "SessionState(self.blocks)" not in inspect.getsource(state_holder.StateHolder.__getitem__):
        missing.append("StateHolder.__getitem__")
    constructor = inspect.getsource(ORIGINAL_SESSION_STATE.__init__)
    if set(re.findall(r"self\.(\w+)\s*(?::[^=\n]+)?=", constructor)) != set(SESSION_ATTRIBUTES):
        missing.append("SessionState.__init__")
    if "copy(blocks.default_config)" not in constructor:
        missing.append("SessionState.blocks_config")
    return missing


def adopt() -> None:
    """Check Gradio's session records are where the sweeper reads them and sessions are built
    lean; stop the app at start-up, saying so, if an upgrade moved them (never a sweeper that
    silently never sweeps, nor a session missing a field Gradio now expects)."""
    missing = moved()
    if missing:
        raise SystemExit(f"gradio {gr.__version__} keeps its sessions elsewhere ({', '.join(missing)} moved): "
                         "ui/session_records.py and studio/sessions.py cannot manage them; "
                         "pin the gradio of requirements.txt")
    state_holder.SessionState = LeanSessionState
