"""Links in a real browser: the address bar follows the view, and opening it shows the same view.

Each test opens its own page (a fresh browser session), as a student opening a teacher's link would.
"""
from urllib.parse import parse_qs, urlparse

import pytest

from pages import WAIT, open_page, playwright_or_skip, served_site

sync_api = playwright_or_skip()


@pytest.fixture(scope="module")
def site():
    yield from served_site()


def query_of(page) -> dict:
    return {k: v[0] for k, v in parse_qs(urlparse(page.url).query).items()}


def selected_tabs(page) -> list[str]:
    return page.evaluate("() => Array.from(document.querySelectorAll('button[role=tab][aria-selected=true]'))"
                         ".map(b => b.dataset.tabId)")


def text_when_generated(page) -> str:
    """The text on screen once it has ended (its next-character view follows its end)."""
    page.locator("#probs-plot .js-plotly-plot").wait_for(timeout=WAIT)
    page.wait_for_function("() => new URLSearchParams(location.search).has('gen')", timeout=WAIT)
    return page.input_value("#output-text textarea")


def test_a_generated_text_comes_back_from_its_link_on_a_phone(site):
    page = open_page(site)
    page.get_by_label("Prompt", exact=True).fill("KING RICHARD:\n")
    temperature = page.locator("input[aria-label='number input for Temperature']")
    temperature.fill("0.6")
    temperature.press("Enter")
    page.get_by_role("button", name="Generate", exact=True).click()
    text = text_when_generated(page)
    query = query_of(page)
    assert query["prompt"] == "KING RICHARD:\n" and query["temp"] == "0.6" and query["gen"].isdigit()
    assert "seed" not in query                  # the box was empty: the link names the text's seed as gen
    phone = open_page(site, "?" + urlparse(page.url).query, 390, 844)
    again = text_when_generated(phone)
    assert again == text and again.startswith("KING RICHARD:\n") and len(again) > 400
    assert phone.input_value("input[aria-label='number input for Temperature']") == "0.6"
    page.close()
    phone.close()


def test_each_tab_clicked_is_in_the_address_and_its_link_reopens_it(site):
    page = open_page(site)
    for label, tab in [("Attention", "attention"), ("Loss curves", "loss"), ("Train live", "train"),
                       ("Timeline", "timeline"), ("Lab", "lab"), ("Learn", "learn"), ("Generate", None)]:
        page.get_by_role("tab", name=label, exact=True).click()
        page.wait_for_function(f"() => new URLSearchParams(location.search).get('tab') === {tab!r}".replace(
            "None", "null"), timeout=WAIT)
    page.close()
    # the tabs no other test here opens from a link (a page load is ~4 s of this machine's CPU)
    for tab in ("loss", "train", "learn"):
        reopened = open_page(site, f"?tab={tab}")
        reopened.wait_for_function(f"() => document.querySelector('button[data-tab-id={tab}]')?"
                                   f".getAttribute('aria-selected') === 'true'", timeout=WAIT)
        reopened.close()


def test_attention_opens_on_the_linked_layer_and_head(site):
    page = open_page(site, "?tab=attention&layer=2&head=head%201&prompt=To%20be%2C%20or%20not%20to%20be")
    title = page.locator("#attention-plot .gtitle")
    title.wait_for(timeout=WAIT)
    assert title.text_content() == "Layer 2, head 1"
    assert page.input_value("input[aria-label='number input for Layer']") == "2"
    ticks = page.evaluate("() => Array.from(document.querySelectorAll('#attention-plot .xtick text'))"
                          ".map(t => t.textContent.replaceAll('\u200b', '')).join('')")
    assert ticks == "To␣be,␣or␣not␣to␣be"
    page.close()


def test_a_timeline_snapshot_and_its_view_reopen(site):
    page = open_page(site, "?tab=timeline&step=10&tview=next")
    page.wait_for_function("() => document.querySelector('#timeline-note')?.innerText.includes('Snapshot 10 of 16')",
                           timeout=WAIT)
    page.locator("#timeline-next .js-plotly-plot").wait_for(timeout=WAIT)
    assert "timeline-next-tab" in selected_tabs(page)
    page.locator("#timeline-step input[type=range]").press("ArrowRight")
    page.wait_for_function("() => new URLSearchParams(location.search).get('step') === '11'", timeout=WAIT)
    page.close()


def test_lab_instruments_reopen_on_their_texts(site):
    page = open_page(site, "?tab=lab&lab=lens&lens=What%20light%20through%20yonder")
    page.locator("#lens-plot .js-plotly-plot").wait_for(timeout=WAIT)
    assert "lab-lens" in selected_tabs(page)
    assert page.get_by_label("Text", exact=True).first.input_value() == "What light through yonder"
    page.close()
    page = open_page(site, "?tab=lab&text=Now%20is%20the%20winter%20of%20our%20discontent&pos=7")
    page.wait_for_function("() => [...document.querySelectorAll('#predict-plot .gtitle')]"
                           ".some(t => t.textContent.startsWith('Position 7,'))", timeout=WAIT)
    assert page.get_by_label("Inspect position").input_value() == "7"
    assert page.get_by_label("Text (a val passage: never trained on)").input_value() == \
        "Now is the winter of our discontent"
    page.close()
    page = open_page(site, "?tab=lab&lab=features&feature=12")
    page.wait_for_function("() => document.body.innerText.includes('Feature 12 fires')", timeout=WAIT)
    # its contexts drawn as shaded characters, the strongest at full shade, beside the control's
    shades = page.evaluate("() => [...document.querySelectorAll('#feature-contexts .token[data-a]')]"
                           ".map(t => [Number(t.dataset.a), getComputedStyle(t).backgroundColor])")
    assert shades and max(a for a, _ in shades) == 1 and all(c.startswith("rgba(239, 68, 60") or
                                                          c == "rgb(239, 68, 60)" for _, c in shades)
    assert page.locator("#feature-control .context-line").count() > 0
    page.close()


def test_hostile_links_open_the_default_view_with_a_message(site):
    page = open_page(site, "?tab=lab&text=%3Cscript%3Ewindow.pwned%3D1%3C%2Fscript%3E&temp=NaN&model=yours&x=1")
    note = page.locator("#link-note")
    page.wait_for_function("() => document.querySelector('#link-note')?.innerText.includes('opened in part')",
                           timeout=WAIT)
    words = note.inner_text()
    assert "finite number" in words and "cannot travel" in words and "does not know" in words
    assert page.evaluate("() => window.pwned === undefined && !document.querySelector('#link-note script')")
    # the address bar keeps only what was used
    page.wait_for_function("() => !new URLSearchParams(location.search).has('text')", timeout=WAIT)
    assert query_of(page).get("tab") == "lab" and not {"temp", "model", "x"} & set(query_of(page))
    page.close()
    page = open_page(site, "?prompt=" + "a" * 20_000)
    page.wait_for_function("() => document.querySelector('#link-note')?.innerText.includes('default view')",
                           timeout=WAIT)
    assert page.get_by_label("Prompt", exact=True).input_value() != "a" * 20_000
    page.close()


def test_a_links_head_cannot_inject_markup_nor_break_the_tab(site):
    """The outside pass: `head` was free text put into the dropdown, and Gradio showed its refusal as
    HTML, twice: a clickable link, an image fetched from another host, a form; the tab stayed broken."""
    page = open_page(site)
    asked = []
    page.on("request", lambda r: asked.append(r.url) if "evil" in (urlparse(r.url).hostname or "") else None)
    toasts = []
    for head in ["%3Ca%20href%3D%22%2F%2Fevil.io%22%3ELOG%20IN%20HERE%3C%2Fa%3E",
                 "%3Cimg%20src%3D%22http%3A%2F%2Fevil.invalid%2Fx.png%22%3E", "%3Cform%3E%3Cinput%3E%3C%2Fform%3E",
                 "head%209"]:
        page.goto(page.url.split("?")[0] + "?tab=attention&layer=1&head=" + head)
        page.get_by_role("heading", name="tinyshakespeare-gpt").wait_for(timeout=WAIT)
        page.locator("#attention-plot .gtitle").wait_for(timeout=WAIT)      # the tab draws its map
        page.wait_for_timeout(500)
        toasts += page.evaluate("() => Array.from(document.querySelectorAll('.toast-body, [data-testid=toast-body]'))"
                                ".map(t => t.innerText)")
        assert page.evaluate("() => !document.querySelector('a[href*=\"evil\"], img[src*=\"evil\"], form input')")
        said = page.evaluate("() => document.body.innerText")
        assert ("not one of this app's" in said) or ("heads are numbered 0-5" in said)
        assert page.locator("#attention-plot .gtitle").text_content() == "Layer 1, average of heads"
    assert not asked and not [t for t in toasts if "choices" in t or "Error" in t], toasts
    page.goto(page.url.split("?")[0] + "?tab=attention&layer=64")    # was "between 0 and 63" for a 6-layer model
    page.get_by_text("This model has 6 layers: layer 0 is shown, not 64.").wait_for(timeout=WAIT)
    page.close()


def test_share_gives_the_link_and_a_qr_code(site):
    page = open_page(site, "?tab=attention&layer=1")
    page.locator("#attention-plot .gtitle").wait_for(timeout=WAIT)
    page.get_by_role("button", name="Share this view").click()
    box = page.locator("#share-link textarea")
    page.wait_for_function("() => document.querySelector('#share-link textarea') && "
                           "document.querySelector('#share-link textarea').value.includes('layer=1')", timeout=WAIT)
    assert box.input_value() == page.url
    page.locator("#share-qr img").wait_for(timeout=WAIT)
    # the tests' server listens on 127.0.0.1 alone: the page says a phone cannot open such a link
    page.get_by_text("only this computer can reach").wait_for(timeout=WAIT)
    # the code as shown on screen (what a phone's camera sees): it reads back as the link, nothing
    # is drawn over its finder squares (Gradio's label sat on the top-left one), and it has the
    # standard's quiet zone of 4 modules (it had 2; a lenient decoder reads it anyway, a camera may not)
    zxingcpp = pytest.importorskip("zxingcpp")
    from io import BytesIO

    from PIL import Image
    image = page.locator("#share-qr img")
    shown = Image.open(BytesIO(image.screenshot()))
    assert [code.text for code in zxingcpp.read_barcodes(shown)] == [page.url]
    at = image.bounding_box()                        # nothing over the image where its finder squares are
    corner = [[at["x"] + at["width"] * i / 10, at["y"] + at["height"] * j / 10]
              for i in range(1, 4) for j in range(1, 4)]
    on_top = page.evaluate("(points) => points.map(([x, y]) => document.elementFromPoint(x, y)?.tagName)", corner)
    assert set(on_top) == {"IMG"}, on_top
    from ui.links import qr_image
    import numpy as np
    raw = np.asarray(qr_image(page.url).convert("L"))   # the standard's quiet zone: 4 white modules, 6 px each
    assert (raw[:24] == 255).all() and (raw[:, :24] == 255).all() and (raw[24:30, 24:30] == 0).all()
    page.close()
