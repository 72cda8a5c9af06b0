"""Start (and run) a Gradio server process faster by skipping work `import gradio` does for IDEs
and notebooks, which a server does not need, and work it repeats for every visitor.

1. Every component class Gradio defines re-generates its `.pyi` type stub when it is
   created: Gradio parses its own source with `ast`, renders a Jinja template and rewrites
   the stub in site-packages, at every import. On this project's 2-core CPU with Python 3.11
   that is ~1.5 s of a ~3 s `import gradio`; the stubs already ship in Gradio's wheel.
2. Gradio tries `import matplotlib` around every event it processes, `import bokeh` for
   every Plot's config and `import IPython` (is this a notebook?) for every session's config.
   Where they are not installed, a failed import is not cached: each try walks sys.path again
   (6% of the server's CPU under 32 streaming clients, measured with py-spy, and a quarter of
   setting up each new session). None in sys.modules makes the import fail at once, as it
   would anyway; an installed library is left alone (no longer IPython blocked for the whole
   process where it is installed: Gradio then imports it once, 0.2-0.9 s).
3. Every new session (each visitor's first event) builds the config of every block, and each
   block asks `inspect.signature` of its class's `__init__` anew: half of the ~13 ms a session
   costs this app's 230 blocks. A class's signature does not change, so `gradio.blocks` gets
   an `inspect` whose `signature` remembers its answers.

Call `skip_gradio_dev_work()` before the first `import gradio`; once Gradio is imported it
changes nothing.
"""
from __future__ import annotations

import functools
import importlib.abc
import importlib.machinery
import importlib.util
import inspect
import sys
import types

STUB_MODULE = "gradio.component_meta"
STUB_WRITER = "create_or_modify_pyi"
BLOCKS_MODULE = "gradio.blocks"
OPTIONAL_PROBES = ("matplotlib", "bokeh", "IPython")


def _no_stub(*args, **kwargs) -> None:
    """Stands in for Gradio's stub writer: the stubs in the installed wheel are kept as they are."""


def _remembered_signatures() -> types.SimpleNamespace:
    """The `inspect` module as `gradio.blocks` uses it, with `signature` cached."""
    namespace = types.SimpleNamespace(**{name: getattr(inspect, name) for name in dir(inspect)
                                         if not name.startswith("__")})
    namespace.signature = functools.lru_cache(maxsize=1024)(inspect.signature)
    return namespace


MISSING: list[str] = []
"""The Gradio internals a change looked for and did not find (see `require_applied`)."""


def _skip_stubs(module) -> None:
    if hasattr(module, STUB_WRITER):
        setattr(module, STUB_WRITER, _no_stub)
    else:
        MISSING.append(f"{STUB_MODULE}.{STUB_WRITER}")


def _cache_signatures(module) -> None:
    if getattr(module, "inspect", None) is inspect:
        module.inspect = _remembered_signatures()
    else:
        MISSING.append(f"{BLOCKS_MODULE}.inspect")


AFTER_IMPORT = {STUB_MODULE: _skip_stubs, BLOCKS_MODULE: _cache_signatures}


class _AfterImport(importlib.abc.MetaPathFinder):
    """Finds each module of AFTER_IMPORT as usual and, once it has run, applies its change:
    the stub writer goes before any component class is defined, the signature cache before
    any block is built."""

    def find_spec(self, name, path=None, target=None) -> importlib.machinery.ModuleSpec | None:
        change = AFTER_IMPORT.get(name)
        if change is None or name in self.done:
            return None
        self.done.add(name)             # also keeps find_spec below from finding us again
        if self.done >= AFTER_IMPORT.keys():
            sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            return spec
        run_module = spec.loader.exec_module

        def exec_module(module) -> None:
            run_module(module)
            change(module)

        spec.loader.exec_module = exec_module
        return spec

    def __init__(self):
        self.done: set[str] = set()


def skip_gradio_dev_work() -> None:
    """Make the next `import gradio` skip stub generation, the searches for absent optional
    libraries and re-reading block signatures."""
    if STUB_MODULE in sys.modules:
        return
    for name in OPTIONAL_PROBES:
        if name not in sys.modules and importlib.util.find_spec(name) is None:
            sys.modules[name] = None            # not installed: fail fast instead of searching every time
    if not any(isinstance(finder, _AfterImport) for finder in sys.meta_path):
        sys.meta_path.insert(0, _AfterImport())


def require_applied() -> None:
    """After `import gradio`: raise if a change found nothing to change (a Gradio upgrade moved
    what it patches), rather than starting slow without a word. GPT_APP_FAST_START=0 starts the
    app without these changes meanwhile."""
    if STUB_MODULE not in sys.modules:
        raise RuntimeError("require_applied() runs after `import gradio`")
    if MISSING:
        raise RuntimeError(f"ui.fast_start found no {', '.join(MISSING)} in this Gradio: update "
                           "ui/fast_start.py, or start with GPT_APP_FAST_START=0")
