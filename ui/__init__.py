"""The app's UI: one module per tab (a package for the Lab and the Class board), each laying out
its components and wiring their events beside them, on top of what `studio` computes;
`page.build` makes the whole page.

Importing `ui` itself imports no Gradio: app.py first lets `ui.fast_start` prepare Gradio's
import, the one place outside Gradio that changes it. The page's names (`build`,
`launch_options`, …) are read from `ui.page` on first use."""
from __future__ import annotations

import importlib
import importlib.util


def __getattr__(name: str):
    if name.startswith("__"):            # the import system's own questions: not the page's names
        raise AttributeError(name)
    if importlib.util.find_spec(f"{__name__}.{name}") is not None:     # a module of ui (`from ui import x`)
        return importlib.import_module(f"{__name__}.{name}")
    page = importlib.import_module(f"{__name__}.page")        # imports Gradio
    try:
        return getattr(page, name)
    except AttributeError:
        raise AttributeError(f"module 'ui' has no attribute {name!r}") from None
