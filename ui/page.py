"""The whole page: the model row, one tab per module of `ui`, the links and the launch options."""
from __future__ import annotations

import json
import logging
import warnings
from dataclasses import dataclass
from pathlib import Path

import gradio as gr

from studio.code_views import VIEWS as CODE_VIEWS, CodeView
from studio.links import Param
from studio.resources import Resources
from studio.settings import Settings

from . import attention, board, generate, lab, learn, losses, timeline, train
from .checked_blocks import CheckedBlocks
from .refusals import plain_path_refusals
from .shared import Shared
from .tab import Desk, TabDrawing, TabSpec
from .theme import accessible_theme

LOG = logging.getLogger("tinyshakespeare-gpt")

ASSETS = Path(__file__).resolve().parents[1] / "assets"
CSS_FILE = ASSETS / "app.css"                      # coloured text, wide tables, the header on small screens
FOLLOW_STREAM_FILE = ASSETS / "follow-stream.html"  # keeps a streaming box's newest text in view (see the file)
FIT_FIGURES_FILE = ASSETS / "fit-figures.html"      # square figures and long titles fitted to the screen
VIEW_LINK_FILE = ASSETS / "view-link.html"          # the address bar follows the view (ui/links.py)
TIMELINE_MARKER_FILE = ASSETS / "timeline-marker.html"  # the loss marker moved in the page (see the file)
ACCESSIBLE_NAMES_FILE = ASSETS / "accessible-names.html"   # names and keyboard reach Gradio's markup lacks
FAVICON_FILE = ASSETS / "favicon.png"   # without an icon the browser fetched the whole page again as one


TABS: tuple[TabSpec, ...] = (generate.TAB, attention.TAB, losses.TAB, train.TAB, timeline.TAB, lab.TAB, learn.TAB,
                              board.TAB)
"""The page's tabs, in their order (the first opens with the page): the one list of them. The tab
bar, the link parameters, the page script's names and the code views are derived from it."""


def tab_keys() -> tuple[str, ...]:
    return tuple(spec.key for spec in TABS)


def link_params(settings: Settings) -> list[Param]:
    """What the tabs' components carry in links, in the tabs' order (`studio.links.params` adds the tab and model)."""
    return [param for spec in TABS for param in spec.params(settings)]


@dataclass(frozen=True)
class Page:
    demo: gr.Blocks
    shared: Shared
    lab: lab.LabWiring                    # the Lab's part of a model switch (tests drive it)


def build(resources: Resources) -> Page:
    # the tools' State inputs (a session's own model) are None for an assistant: they use shipped models
    warnings.filterwarnings("ignore", message="This MCP server includes a tool that has a gr.State input")
    plain_path_refusals()
    # Files Gradio keeps (downloads, plots) are deleted every hour once an hour old.
    with CheckedBlocks(title="tinyshakespeare-gpt", delete_cache=(3600, 3600)) as demo:
        shared = Shared(resources, tab_keys(), link_params(resources.settings))
        gr.Markdown("# tinyshakespeare-gpt\nA character-level GPT trained on Tiny Shakespeare on two CPU "
                    "cores. Generate text, look at what each attention head reads, and train your own model live. "
                    f"Running on **{resources.device.type.upper()}**.", elem_id="app-header")
        shared.model_row()
        laid_out: dict[str, TabDrawing] = {}
        with gr.Tabs(overflow_behavior="wrap") as tabs:       # every tab visible, on a phone too
            for spec in TABS:
                drawing = laid_out[spec.key] = spec.layout(Desk(shared, spec, demo, dict(laid_out)))
                shared.draws(spec.key, drawing)
        shared.wire(demo, tabs)
    demo.queue(max_size=resources.settings.queue_size, default_concurrency_limit=4)
    return Page(demo, shared, laid_out["lab"].parts)


def plotly_preload() -> str:
    """A script that loads Gradio's plotly chunk once the page is idle, so that the page's first
    figure does not wait ~1 s for 4.6 MB of plotly (docs/benchmarks.md, "Measurements behind the
    code"). The chunk's name carries a hash of the installed Gradio, so it is looked up."""
    chunks = sorted((Path(gr.__file__).parent / "templates" / "frontend" / "assets").glob("PlotlyPlot-*.js"))
    if not chunks:
        LOG.warning("Gradio's plotly chunk was not found: the page's first figure will load it")
        return ""
    # Gradio adds this to the page after it has loaded, so `load` may have fired already
    return ("<script>(() => { const go = () => (window.requestIdleCallback || setTimeout)(() => "
            f"import('./assets/{chunks[0].name}')); document.readyState === 'complete' ? go() : "
            "window.addEventListener('load', go); })();</script>")


def view_names() -> str:
    """The names of the tabs, Lab instruments and Timeline views as the address bar spells them,
    for assets/view-link.html: written from studio/links.py and the Lab's instruments, never retyped in the page."""
    names = {"tabs": list(tab_keys())} | {spec.key: list(spec.views) for spec in TABS if spec.views}
    return f"<script>window.APP_VIEWS = {json.dumps(names)};</script>"


def code_views() -> dict[str, CodeView]:
    """Every "The code" part the page shows, by name: the tabs' (a view of studio.code_views.VIEWS
    each) and the Lab instruments'."""
    return {spec.code: CODE_VIEWS[spec.code] for spec in TABS if spec.code} | lab.code_views()


def launch_options(resources: Resources) -> dict:
    """What `demo.launch` needs beyond the page: styles, scripts, limits."""
    # mcp_server: the named endpoints (generation, the Lab's instruments, the features, the Timeline) are
    # tools an assistant can call, described by their handlers' docstrings (/gradio_api/mcp/)
    return dict(show_error=True, enable_monitoring=False, css_paths=CSS_FILE, head=view_names() + plotly_preload(),
                mcp_server=True, theme=accessible_theme(),
                head_paths=[FOLLOW_STREAM_FILE, FIT_FIGURES_FILE, VIEW_LINK_FILE, TIMELINE_MARKER_FILE,
                            ACCESSIBLE_NAMES_FILE],
                max_file_size=resources.settings.max_upload_bytes, favicon_path=FAVICON_FILE)
