"""Start (and run) a Gradio server process faster by skipping work `import gradio` does for IDEs
and notebooks, which a server does not need.

1. Every component class Gradio defines re-generates its `.pyi` type stub when it is
   created: Gradio parses its own source with `ast`, renders a Jinja template and rewrites
   the stub in site-packages, at every import. On this project's 2-core CPU with Python 3.11
   that is ~1.5 s of a ~3 s `import gradio`; the stubs already ship in Gradio's wheel.
2. Gradio probes for IPython to detect a notebook; where IPython is installed, importing it
   costs 0.2-0.9 s. A process that has not imported IPython is not a notebook.
3. Gradio tries `import matplotlib` around every event it processes and for every Plot's
   config. Where matplotlib is not installed, a failed import is not cached: each try walks
   sys.path again (6% of the server's CPU under 32 streaming clients, measured with py-spy).
   None in sys.modules makes the import fail at once, as it would anyway.

Call `skip_gradio_dev_work()` before the first `import gradio`. Inside a notebook (IPython
already imported) the probe is left alone; once Gradio is imported it changes nothing.
"""
from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys

STUB_MODULE = "gradio.component_meta"
STUB_WRITER = "create_or_modify_pyi"


def _no_stub(*args, **kwargs) -> None:
    """Stands in for Gradio's stub writer: the stubs in the installed wheel are kept as they are."""


class _SkipStubWriter(importlib.abc.MetaPathFinder):
    """Finds Gradio's component metaclass module as usual and, once it has run, swaps its stub
    writer for `_no_stub`, before any component class is defined."""

    def find_spec(self, name, path=None, target=None) -> importlib.machinery.ModuleSpec | None:
        if name != STUB_MODULE:
            return None
        sys.meta_path.remove(self)      # one use; also keeps find_spec below from finding us again
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            return spec
        run_module = spec.loader.exec_module

        def exec_module(module) -> None:
            run_module(module)
            if hasattr(module, STUB_WRITER):
                setattr(module, STUB_WRITER, _no_stub)

        spec.loader.exec_module = exec_module
        return spec


def skip_gradio_dev_work() -> None:
    """Make the next `import gradio` skip stub generation, the IPython probe and the matplotlib search."""
    if STUB_MODULE in sys.modules:
        return
    sys.modules.setdefault("IPython", None)     # None in sys.modules makes `import IPython` fail fast
    if "matplotlib" not in sys.modules and importlib.util.find_spec("matplotlib") is None:
        sys.modules["matplotlib"] = None        # not installed: fail fast instead of searching at every event
    if not any(isinstance(finder, _SkipStubWriter) for finder in sys.meta_path):
        sys.meta_path.insert(0, _SkipStubWriter())
