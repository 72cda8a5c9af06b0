"""The Gradio behaviours the page's event layer (ui/shared.py) exists for, shown on a page of a
few components (issue 38). Each test states one; when an upgrade of Gradio stops it holding,
the test fails and says which part of the layer can then give way to Gradio's own events."""
import threading
import time

import pytest

from appserver import free_port
from pages import chromium, playwright_or_skip

playwright_or_skip()
gr = pytest.importorskip("gradio")

SLOW_ANSWER = 0.6       # seconds: a second click comes while the first is still being answered


@pytest.fixture(scope="module")
def events():
    """The page, the browser on it, and the server's log of what each listener was called with."""
    from playwright.sync_api import sync_playwright

    log, lock = [], threading.Lock()

    def logged(*entry):
        with lock:
            log.append(entry)

    with gr.Blocks() as demo:
        choice = gr.Dropdown(["one", "two"], value="one", label="Choice")
        select_c = gr.Button("Select C")
        opened = gr.Textbox(label="Opened")
        with gr.Tabs() as tabs:
            for key in "ABC":
                with gr.Tab(f"Tab {key}", id=key.lower()) as tab:
                    gr.Markdown(f"Tab {key}")
                tab.select(lambda key=key: logged("tab.select", key), None, None)

        def clicked(event: gr.SelectData):
            logged("tabs.select", event.value)
            time.sleep(SLOW_ANSWER)
            return event.value

        tabs.select(clicked, None, opened, trigger_mode="always_last")
        choice.input(lambda value: logged("input", value), choice, None)
        select_c.click(lambda: gr.Tabs(selected="c"), None, tabs)

    demo.launch(prevent_thread_lock=True, quiet=True, server_name="127.0.0.1", server_port=free_port())
    with sync_playwright() as p:
        browser = chromium(p)
        page = browser.new_page()
        page.goto(demo.local_url)
        page.get_by_role("tab", name="Tab A").wait_for()
        yield page, log
        browser.close()
    demo.close()


def settled(page, log, until) -> list:
    """What the listeners were called with since the last time, once `until(calls)` holds of
    them (or after 10 s, for the assertion to say what came instead)."""
    for _ in range(100):
        if until(list(log)):
            break
        page.wait_for_timeout(100)
    found = list(log)
    log.clear()
    return found


def test_a_tabs_own_select_fires_at_page_load_and_when_an_update_selects_it(events):
    """Why ui/shared.on_tab_opened listens to the tab bar and not to each gr.Tab: a tab's own
    select fires for the first tab on page load and for a tab a link selects, so a link's view
    was drawn again at its defaults (tests/test_links_browser.py, the Timeline snapshot link)."""
    page, log = events
    assert ("tab.select", "A") in settled(page, log, lambda calls: ("tab.select", "A") in calls), \
        "no select at page load: a gr.Tab's own select may do"
    page.get_by_role("button", name="Select C").click()
    assert ("tab.select", "C") in settled(page, log, lambda calls: ("tab.select", "C") in calls), \
        "no select on an update: a gr.Tab's own select may do"


def test_a_quick_second_click_on_the_tab_bar_sends_the_first_clicks_data(events):
    """Why ui/shared.on_tab_opened sets trigger_mode "multiple": with "always_last", a click that
    comes while the last is answered is sent with the first click's event data, so the first tab
    opened again (tests/test_browser.py::test_a_quick_second_click_on_a_tab_opens_that_tab)."""
    page, log = events
    page.get_by_role("tab", name="Tab A").click()
    page.wait_for_timeout(100)
    page.get_by_role("tab", name="Tab B").click()
    clicks = [entry[1] for entry in settled(page, log, lambda calls: [c[0] for c in calls].count("tabs.select") == 2)
              if entry[0] == "tabs.select"]
    assert clicks == ["Tab A", "Tab A"], f"{clicks}: always_last now sends each click's own data"


def test_a_dropdown_sends_input_each_time_the_focus_leaves_it(events):
    """Why ui/shared.chosen exists: a Dropdown's `input` comes at every blur, chosen or not, and
    twice for a click on an option, so passing the Model box redrew the open tab
    (tests/test_keyboard.py, the layer kept after passing the Model box)."""
    page, log = events
    box = page.get_by_label("Choice", exact=True)
    box.focus()
    page.keyboard.press("Tab")
    assert ("input", "one") in settled(page, log, lambda calls: ("input", "one") in calls), \
        "no input on a blur: ui/shared.chosen may go"
    box.click()
    page.get_by_role("option", name="two", exact=True).click()
    twice = settled(page, log, lambda calls: calls.count(("input", "two")) == 2)
    assert twice.count(("input", "two")) == 2, f"{twice}: one input per option clicked, ui/shared.chosen may go"
