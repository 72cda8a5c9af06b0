"""The UI package without a server: which errors become one-line messages, and what the
library refuses in words rather than as a bug."""
import asyncio
import logging

import gradio as gr
import pytest

import gpt
from studio.errors import InputError
from ui.refusals import user_errors


def raising(error):
    def handler():
        raise error
    return handler


@pytest.mark.parametrize("error", [InputError("Choose the corpus."), gpt.UsageError("top-k must be at least 1"),
                                   gpt.CheckpointError("config.json is not valid JSON"),
                                   gpt.CorpusUnavailableError("no copy of names.txt")])
def test_the_projects_refusals_become_one_line_messages(error, caplog):
    with caplog.at_level(logging.INFO, logger="tinyshakespeare-gpt"):
        with pytest.raises(gr.Error) as refused:
            user_errors(raising(error))()
    assert refused.value.message == str(error) and refused.value.print_exception is False
    assert [r.getMessage() for r in caplog.records] == [f"handler refused: {error}"]


@pytest.mark.parametrize("bug", [ValueError("too many values to unpack"), KeyError("step"), TypeError("NoneType")])
def test_a_bug_is_not_dressed_as_a_refusal(bug):
    """A plain ValueError is a bug, not a user's fault: it reaches Gradio as it is (which logs
    its traceback), never as a polite one-line message."""
    with pytest.raises(type(bug)):
        user_errors(raising(bug))()


def test_generators_and_coroutine_streams_refuse_the_same_way():
    def stream():
        yield 1
        raise gpt.UsageError("the text needs at least two characters")

    async def astream():
        yield 1
        raise ValueError("a bug")

    with pytest.raises(gr.Error, match="two characters"):
        list(user_errors(stream)())

    async def drain():
        return [item async for item in user_errors(astream)()]

    with pytest.raises(ValueError, match="a bug"):
        asyncio.run(drain())


def test_what_the_library_refuses_is_a_usage_error():
    """Every check the library makes on what it was asked raises UsageError (still a ValueError
    for callers that catch that), so an app can tell it from a bug."""
    model = gpt.load("checkpoints/shakespeare-gpt")
    with pytest.raises(gpt.UsageError):
        gpt.SamplingSettings(temperature=-1)
    with pytest.raises(gpt.UsageError):
        model.tokenizer.encode("\u00e9", unknown="error")
    with pytest.raises(gpt.UsageError):
        gpt.GPTConfig(vocab_size=65, n_embd=30, n_head=4)
    assert issubclass(gpt.UsageError, ValueError) and issubclass(gpt.UnknownCharactersError, gpt.UsageError)


def test_a_tab_bar_holds_tabs_alone():
    """A component built after a tab's `with` block lands in the tab bar itself, between two tabs:
    Gradio 6.31 then named the next tab after the one before it ("Generate, Attention, Attention,
    Train live…") once a tab was opened. Every child of every gr.Tabs is a gr.Tab."""
    import app

    def stray(block) -> list[str]:
        found = []
        for child in getattr(block, "children", []):
            if isinstance(block, gr.Tabs) and not isinstance(child, gr.Tab):
                found.append(f"{type(child).__name__} {getattr(child, 'label', '') or child.elem_id or ''}")
            found += stray(child)
        return found

    assert stray(app.demo) == []


def test_the_pages_views_are_the_ones_links_name():
    """Tab, Lab-instrument and Timeline-view names were spelled in studio/links.py, the ui modules and
    the page's script, with nothing checking they agree. Each is now declared once, by its tab
    (ui/tab.TabSpec) or instrument, and the page's tab ids, the link parameters and the page's
    script are all derived from those declarations, the defaults first."""
    import json

    import app
    from studio.settings import Settings
    from ui import lab, page, timeline, view_names

    def tab_ids(tabs: gr.Tabs) -> list[str]:
        return [child.id for child in tabs.children if isinstance(child, gr.Tab)]

    def tab_labels(tabs: gr.Tabs) -> list[str]:
        return [child.label for child in tabs.children if isinstance(child, gr.Tab)]

    bars = [block for block in app.demo.blocks.values() if isinstance(block, gr.Tabs)]
    ids = [tab_ids(bar) for bar in bars]
    keys = [spec.key for spec in page.TABS]
    assert keys == ["generate", "attention", "loss", "train", "timeline", "lab", "learn", "board"]
    assert keys in ids
    assert [spec.label for spec in page.TABS] in [tab_labels(bar) for bar in bars]
    assert ["lab-" + part for part in lab.keys()] in ids
    assert [f"timeline-{view}-tab" for view in timeline.VIEWS] in ids
    params = app.PAGE.shared.links.params
    assert list(params) == ["tab", "model"] + [p.key for p in page.link_params(Settings())]
    assert (params["tab"].default, params["lab"].default, params["tview"].default) == (
        keys[0], lab.keys()[0], timeline.VIEWS[0])     # the script treats the first as default
    assert params["tab"].choices == tuple(keys) and params["tview"].choices == timeline.VIEWS
    script = view_names()
    assert json.loads(script[script.index("=") + 1:script.rindex(";")]) == {
        "tabs": keys, "lab": list(lab.keys()), "timeline": list(timeline.VIEWS)}


def test_the_plotly_chunk_the_page_preloads_is_in_the_pinned_gradio():
    """ui.plotly_preload looks Gradio's plotly chunk up by its file name (PlotlyPlot-*.js, hashed per
    release): if a Gradio upgrade renames it the page's first figure waits ~1 s again, so this breaks."""
    from ui import plotly_preload

    script = plotly_preload()
    assert "import('./assets/PlotlyPlot-" in script and script.endswith("</script>")
