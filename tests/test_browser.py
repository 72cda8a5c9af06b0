"""The app in a real browser: Debian's chromium driven by playwright (never `playwright install`).

With GPT_SCREENSHOTS=DIR it saves screenshots there (GPT_SCREENSHOTS=assets refreshes the
README's); by default it writes nothing.
"""
import os
import re
import time
from pathlib import Path

import pytest

from appserver import launch_app
from pages import choose_model, train_tiny_bigram

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = os.environ.get("GPT_SCREENSHOTS")

if not Path(CHROMIUM).exists():
    if os.environ.get("REQUIRE_BROWSER"):
        raise RuntimeError(f"{CHROMIUM} is missing: `apt-get install chromium` (CI installs it in .ci/run)")
    pytest.skip(f"{CHROMIUM} is not installed", allow_module_level=True)

sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def page():
    app, url = launch_app()
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url)
        page.get_by_role("heading", name="tinyshakespeare-gpt").wait_for(timeout=30_000)
        yield page
        browser.close()
    app.demo.close()


def screenshot(page, name: str) -> None:
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}.png"), full_page=True)


def plot_trace_lengths(page, elem_id):
    return page.evaluate(f"""() => {{
        const el = document.querySelector('#{elem_id} .js-plotly-plot');
        return el && el.data ? el.data.map(t => (t.x || []).length) : null;
    }}""")


def test_attention_heatmap_is_labelled_with_the_prompts_characters(page):
    prompt = "To be, or not to be"
    page.get_by_label("Prompt", exact=True).fill(prompt)
    page.get_by_role("tab", name="Attention").click()
    page.get_by_role("button", name="Draw attention").click()
    page.locator("#attention-plot .js-plotly-plot .xtick").first.wait_for(timeout=30_000)
    ticks = page.evaluate("""() => Array.from(document.querySelector('#attention-plot .xaxislayer-above')
        .querySelectorAll('.xtick text')).map(t => t.textContent.replaceAll('\u200b', ''))""")
    assert ticks == [{" ": "␣"}.get(c, c) for c in prompt]
    assert_labels_legible(page, "#attention-plot", min_size=12)
    grid = page.evaluate("() => document.querySelector('#attention-grid .js-plotly-plot').data.length")
    assert grid == 7     # 6 heads and their average
    screenshot(page, "attention")


def assert_labels_legible(page, selector, min_size):
    """Every tick label of a plot is at least `min_size` px and overlaps no other on its axis."""
    boxes = page.evaluate(f"""() => ['.xtick text', '.ytick text'].map(q =>
        Array.from(document.querySelectorAll('{selector} ' + q)).map(t => {{
            const r = t.getBoundingClientRect();
            return [r.left, r.right, r.top, r.bottom, parseFloat(getComputedStyle(t).fontSize)]; }}))""")
    for axis, labels in zip("xy", boxes):
        assert labels and all(size >= min_size for *_, size in labels), f"{axis} labels smaller than {min_size}px"
        for a, b in zip(labels, labels[1:]):
            overlap = min(a[1], b[1]) - max(a[0], b[0]) if axis == "x" else min(a[3], b[3]) - max(a[2], b[2])
            assert overlap <= 0.5, f"{axis} tick labels overlap: {a} {b}"


def test_generate_streams_text(page):
    page.get_by_role("tab", name="Generate").click()
    page.get_by_label("Prompt", exact=True).fill("ROMEO:\n")
    # 2,000 characters: 500 now decode within one 0.2-s flush of the stream, and arrive in one chunk
    page.get_by_label("New characters").last.fill("2000")
    page.get_by_label("New characters").last.press("Enter")
    page.get_by_role("button", name="Generate", exact=True).click()
    text_box = page.locator("#output-text textarea")
    lengths = []
    deadline = time.time() + 60
    while time.time() < deadline:
        lengths.append(len(text_box.input_value()))
        if lengths[-1] >= len("ROMEO:\n") + 2000:
            break
        time.sleep(0.02)
    page.get_by_label("New characters").last.fill("500")
    page.get_by_label("New characters").last.press("Enter")
    assert lengths[-1] == len("ROMEO:\n") + 2000
    partial = {n for n in lengths if len("ROMEO:\n") < n < lengths[-1]}
    assert len(partial) >= 2, f"the text arrived all at once: {sorted(set(lengths))}"
    assert text_box.input_value().startswith("ROMEO:\n")
    page.locator("#probs-plot .js-plotly-plot").wait_for(timeout=30_000)
    screenshot(page, "generate")


def test_a_link_to_the_generate_tab_generates_without_an_error_and_the_maps_follow_the_text(page):
    # a link whose tab draws nothing from it (?tab=generate) once set every linked output to None,
    # the Attention tab's sliders among them: the maps that follow each finished text were then
    # refused ("Could not preprocess input component at index 3", two error toasts)
    url = re.sub(r"\?.*$", "", page.url)
    fresh = page.context.browser.new_page(viewport={"width": 1280, "height": 800})
    try:
        fresh.goto(url + "?tab=generate")
        fresh.get_by_role("heading", name="tinyshakespeare-gpt").wait_for(timeout=60_000)
        fresh.get_by_label("New characters").last.fill("120")
        fresh.get_by_label("New characters").last.press("Enter")
        fresh.get_by_role("button", name="Generate", exact=True).click()
        fresh.locator("#probs-plot .js-plotly-plot").wait_for(timeout=60_000)     # the text ended
        fresh.wait_for_timeout(1500)
        assert fresh.locator(".toast-body").count() == 0, fresh.locator(".toast-body").all_inner_texts()
        text = fresh.locator("#output-text textarea").input_value()
        fresh.get_by_role("tab", name="Attention").click()
        fresh.locator("#attention-plot .js-plotly-plot .xtick").first.wait_for(timeout=30_000)
        fresh.get_by_text("the text on screen").first.wait_for(timeout=30_000)   # the maps of that text
        last = fresh.evaluate("""() => Array.from(document.querySelector('#attention-plot .xaxislayer-above')
            .querySelectorAll('.xtick text')).map(t => t.textContent.replaceAll('\u200b', '')).pop()""")
        assert last == {" ": "␣", "\n": "↵"}.get(text[-1], text[-1])
        assert fresh.locator(".toast-body").count() == 0
    finally:
        fresh.close()


def test_training_curve_gains_points(page):
    page.get_by_role("tab", name="Train live").click()
    page.get_by_role("radio", name="Bigram").check()
    page.get_by_role("button", name="Train", exact=True).click()
    page.locator("#train-plot .js-plotly-plot").wait_for(timeout=60_000)
    first = plot_trace_lengths(page, "train-plot")[0]
    deadline = time.time() + 60
    while time.time() < deadline and plot_trace_lengths(page, "train-plot")[0] <= first:
        time.sleep(0.2)
    assert plot_trace_lengths(page, "train-plot")[0] > first
    page.locator("#train-ratios .js-plotly-plot").wait_for(timeout=30_000)     # the update-to-data ratios, live
    screenshot(page, "train")
    page.get_by_role("button", name="Stop").last.click()


def test_the_timeline_slider_moves_the_sample_and_the_loss_marker(page):
    page.get_by_role("tab", name="Timeline").click()
    sample = page.locator("#timeline-sample textarea")
    page.locator("#timeline-loss .js-plotly-plot").wait_for(timeout=60_000)
    page.wait_for_function("() => document.querySelector('#timeline-sample textarea').value.length > 0",
                           timeout=30_000)

    def marker():
        return page.evaluate("""() => document.querySelector('#timeline-loss .js-plotly-plot').layout.shapes
            .filter(s => s.line && s.line.color === '#ff7f0e').map(s => s.x0)""")
    first_sample, first_marker = sample.input_value(), marker()
    assert first_marker == [0] and "step 0" in page.locator("#timeline-note").inner_text()
    slider = page.locator("#timeline-step input[type=range]")
    slider.focus()
    for _ in range(9):
        slider.press("ArrowRight")
    page.wait_for_function("() => document.querySelector('#timeline-note').innerText.includes('Snapshot 10 of')",
                           timeout=30_000)
    # the slider shows the note's numbers: 10 of 1-16, not 9 of 0-15
    assert slider.input_value() == "10" and slider.get_attribute("min") == "1"
    assert re.search(r"Snapshot 10 of (\d+)", page.locator("#timeline-note").inner_text()).group(1) == \
        slider.get_attribute("max")
    deadline = time.time() + 30
    while time.time() < deadline and (sample.input_value() == first_sample or marker() == first_marker):
        time.sleep(0.1)
    assert sample.input_value() != first_sample
    assert marker() and marker()[0] > first_marker[0]
    # the page moved the line and the point itself (the server sent no new curve): both at the step
    # the note names, the point at that snapshot's val loss
    step = int(re.search(r"step ([\d,]+)", page.locator("#timeline-note").inner_text()).group(1).replace(",", ""))
    line, point = page.evaluate("""() => { const gd = document.querySelector('#timeline-loss .js-plotly-plot');
        const m = gd.layout.meta.marker; return [gd.layout.shapes[m.shape].x0, gd.data[m.trace]]; }""")
    assert line == step and point["x"] == [step] and point["name"].startswith(f"step {step:,}: val ")
    val = re.search(r"val loss \*?\*?([\d.]+)", page.locator("#timeline-note").inner_text()).group(1)
    assert f"{point['y'][0]:.3f}" == val
    page.locator("#timeline-attention .js-plotly-plot").wait_for(timeout=30_000)
    screenshot(page, "timeline")
    page.get_by_role("tab", name="Activations and gradients").click()
    page.locator("#timeline-ratios .js-plotly-plot").wait_for(timeout=30_000)
    page.get_by_role("tab", name="Surprisal", exact=True).click()
    page.wait_for_function("() => document.querySelectorAll('#timeline-surprisal .token').length > 100",
                           timeout=30_000)
    assert "at step" in page.locator("#timeline-surprisal-note").inner_text()


def test_the_shipped_timeline_shows_a_snapshots_note_and_sample_before_the_server_answers(page):
    # the loss curve carries every snapshot's note and sample (layout.meta.frames): the page shows
    # them the moment the slider moves, while the requests that follow are held back here
    page.get_by_role("tab", name="Timeline").click()
    page.get_by_role("tab", name="Attention", exact=True).last.click()
    page.locator("#timeline-loss .js-plotly-plot").wait_for(timeout=60_000)
    page.locator("#timeline-attention .js-plotly-plot .gtitle").wait_for(timeout=30_000)
    page.wait_for_function("() => document.querySelector('#timeline-note').innerText.includes('Snapshot')",
                           timeout=30_000)
    slider = page.locator("#timeline-step input[type=range]")
    number = int(slider.input_value())                       # the slider counts snapshots from 1, as the note
    key, shown = ("ArrowLeft", number - 1) if number > 1 else ("ArrowRight", number + 1)
    held, holding = [], [True]
    page.route(re.compile(r"/run/predict"), lambda route: held.append(route) if holding[0] else route.continue_())
    try:
        slider.focus()
        slider.press(key)
        page.wait_for_function(f"() => document.querySelector('#timeline-note').innerText"
                               f".includes('Snapshot {shown} of')", timeout=10_000)
        note, sample, frame = page.evaluate(f"""() => [document.querySelector('#timeline-note').innerText,
            document.querySelector('#timeline-sample textarea').value,
            document.querySelector('#timeline-loss .js-plotly-plot').layout.meta.frames[{shown - 1}]]""")
        assert held, "the page asked the server nothing"            # it did ask; nothing was answered yet
        assert sample == frame[1] and note.startswith(frame[0].split("**")[0])
        assert "**" not in note and "step" in note                     # its markdown rendered, as the server's
    finally:
        holding[0] = False
        for route in held:
            route.continue_()
        page.unroute(re.compile(r"/run/predict"))
    step = re.search(r"step ([\d,]+)", page.locator("#timeline-note").inner_text()).group(1)
    page.wait_for_function(f"() => (document.querySelector('#timeline-attention .gtitle') || {{}}).textContent"
                           f"?.startsWith('Step {step}:')", timeout=30_000)      # the held answer, drawn
    assert f"Snapshot {shown} of" in page.locator("#timeline-note").inner_text()   # and it agrees


DRAWS = """() => { window.drawsSeen = [];
    const react = Plotly.react, relayout = Plotly.relayout;
    Plotly.react = function (gd, data, layout, config) {
        const title = layout && layout.title && layout.title.text;
        return Promise.resolve(react.apply(this, arguments)).then((result) => {
            window.drawsSeen.push({kind: 'react', id: (gd.closest('[id]') || {}).id || null, title,
                                   drawn: (gd.layout && gd.layout.title && gd.layout.title.text) === title,
                                   connected: gd.isConnected});
            return result; }); };
    Plotly.relayout = function (gd, update) {
        window.drawsSeen.push({kind: 'relayout', id: (gd.closest('[id]') || {}).id || null, update});
        return relayout.apply(this, arguments); };
    const restyle = Plotly.restyle;
    Plotly.restyle = function (gd, update) {
        window.drawsSeen.push({kind: 'restyle', id: (gd.closest('[id]') || {}).id || null, update});
        return restyle.apply(this, arguments); }; }"""
"""Records what reaches plotly from here on: each new figure (and whether it was drawn into an element
that stays on the page), each relayout or restyle after a draw."""


def test_a_new_figure_is_drawn_once_into_the_element_that_stays_at_the_height_it_fits(page):
    # Gradio remounts a plot for each new figure; the element it removes must not draw it first, and
    # a square map must be drawn at the height the page fits it to, not drawn again at that height
    page.get_by_role("tab", name="Timeline").click()
    page.get_by_role("tab", name="Attention", exact=True).last.click()
    page.locator("#timeline-attention .js-plotly-plot .gtitle").wait_for(timeout=30_000)
    page.evaluate(DRAWS)
    slider = page.locator("#timeline-step input[type=range]")
    slider.focus()
    slider.press("ArrowLeft" if int(slider.input_value()) > 1 else "ArrowRight")
    page.wait_for_function("() => window.drawsSeen.some(d => d.id === 'timeline-attention' && d.drawn)",
                           timeout=30_000)
    page.wait_for_timeout(1000)          # a refit would follow the draw (fit-figures.html checks every 300 ms)
    seen = [d for d in page.evaluate("() => window.drawsSeen") if d["id"] in ("timeline-attention", None)]
    reacts = [d for d in seen if d["kind"] == "react"]
    assert [d["connected"] for d in reacts if d["drawn"]] == [True], seen
    assert not [d for d in seen if d["kind"] == "relayout" and "height" in d["update"]], seen
    assert not [d for d in seen if d["kind"] == "restyle"], seen      # nor its cells' text or colour bar moved
    bar, plot = page.evaluate("""() => { const gd = document.querySelector('#timeline-attention .js-plotly-plot');
        const box = (q) => { const r = gd.querySelector(q).getBoundingClientRect(); return [r.left, r.right]; };
        return [box('.colorbar'), box('.nsewdrag')]; }""")
    assert 0 <= bar[0] - plot[1] <= 40, (bar, plot)                  # the colour bar beside the map
    area = page.locator("#timeline-attention .js-plotly-plot .nsewdrag").first.bounding_box()
    viewport = page.viewport_size
    assert abs(area["width"] - area["height"]) <= 0.02 * area["width"], area       # a square map
    assert 300 <= area["height"] <= viewport["height"] - 100, area                 # on one screen


def test_the_model_trained_so_far_is_kept_after_stop(page):
    page.get_by_role("tab", name="Generate").click()
    page.get_by_label("Model", exact=True).click()
    page.get_by_role("option", name="your model (trained here)").click()
    text_box = page.locator("#output-text textarea")
    before = text_box.input_value()
    page.get_by_role("button", name="Generate", exact=True).click()
    deadline = time.time() + 60
    while time.time() < deadline and (text_box.input_value() == before or
                                      len(text_box.input_value()) < len("ROMEO:\n") + 500):
        time.sleep(0.1)
    assert len(text_box.input_value()) == len("ROMEO:\n") + 500
    assert "BIGRAM" in page.locator("body").inner_text()   # the model line describes the session's bigram


def test_learn_tab_shows_the_ladder_and_the_averaging_trick(page):
    page.get_by_role("tab", name="Learn").click()
    page.locator("#ladder-plot .js-plotly-plot").wait_for(timeout=60_000)
    bars = page.evaluate("() => document.querySelector('#ladder-plot .js-plotly-plot').data[0].x.length")
    assert bars == 8
    for elem_id in ("trick-v2", "trick-v3", "trick-v4"):
        page.locator(f"#{elem_id} .js-plotly-plot").wait_for(timeout=30_000)
    assert "v1 == v2 (loop vs tril matmul): True" in page.locator("body").inner_text()
    screenshot(page, "learn")


def test_the_lab_opens_with_real_figures_and_a_click_inspects_a_character(page):
    page.get_by_role("tab", name="Generate").click()
    page.get_by_label("Model", exact=True).first.click()
    page.get_by_role("option", name="shakespeare-gpt", exact=True).click()
    page.get_by_role("tab", name="Lab", exact=True).click()
    tokens = page.locator("#surprisal-text .token .text")
    tokens.first.wait_for(timeout=60_000)
    assert tokens.count() > 500
    assert "bits per character" in page.locator("body").inner_text()
    colours = page.evaluate("""() => Array.from(document.querySelectorAll('#surprisal-text .token'))
        .slice(1, 200).map(t => getComputedStyle(t.querySelector('.text')).backgroundColor)""")
    assert len(set(colours)) > 20, "surprisal should colour the characters differently"
    tokens.nth(40).click()
    page.wait_for_function("() => document.querySelector('#predict-plot .gtitle') && "
                           "document.querySelector('#predict-plot .gtitle').textContent.startsWith('Position 40,')",
                           timeout=30_000)
    heatmaps = page.evaluate("() => document.querySelector('#rows-plot .js-plotly-plot').data[0].y.length")
    assert heatmaps == 36        # every head of every layer: what it read for that prediction
    tokens.first.click()         # it is not predicted: said so (a click there did nothing)
    page.get_by_text("The first character is not predicted", exact=True).wait_for(timeout=30_000)   # the note's bold
    screenshot(page, "lab")
    page.get_by_role("tab", name="Head knockout").click()
    page.locator("#knockout-plot .js-plotly-plot").wait_for(timeout=30_000)
    cells = page.evaluate("() => document.querySelector('#knockout-plot .js-plotly-plot').data[0].y.length")
    assert cells == 6
    assert page.locator("#regen-knocked textarea").input_value().startswith("ROMEO:")


def test_a_quick_second_click_on_a_tab_opens_that_tab(page):
    """Gradio 6.31's page ran a tab click that came while the last one was still being answered
    with the first click's event data: the Lab drew the logit lens twice and never the induction.
    A slow network (every request 0.6 s late, on this page alone) makes the second click early."""
    slow = page.context.browser.new_page(viewport={"width": 1280, "height": 800})
    try:
        slow.goto(page.url.split("?")[0])
        slow.get_by_role("heading", name="tinyshakespeare-gpt").wait_for(timeout=30_000)
        slow.get_by_role("tab", name="Lab", exact=True).click()
        slow.wait_for_function("() => document.querySelectorAll('#surprisal-text .token').length > 100",
                               timeout=60_000)
        cdp = slow.context.new_cdp_session(slow)
        cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 600,
                                                      "downloadThroughput": -1, "uploadThroughput": -1})
        slow.get_by_role("tab", name="Logit lens").click()
        slow.wait_for_timeout(150)
        slow.get_by_role("tab", name="Induction").click()          # while the lens is on its way
        slow.locator("#induction-plot .js-plotly-plot").wait_for(timeout=60_000)
        assert slow.evaluate("() => document.querySelector('#induction-plot .js-plotly-plot').data.length") > 0
    finally:
        slow.close()


def test_stop_then_inspect_and_attention_reads_the_text_on_screen(page):
    page.get_by_role("tab", name="Generate").click()
    page.get_by_label("Model", exact=True).first.click()
    page.get_by_role("option", name="shakespeare-gpt", exact=True).click()
    page.get_by_label("Prompt", exact=True).fill("ROMEO:\n")
    length = page.locator("input[aria-label='number input for New characters']")
    length.fill("2000")
    length.press("Enter")
    text_box = page.locator("#output-text textarea")
    # Stop is pressed from inside the page the moment 80 characters are on screen. The whole 2,000 now
    # take a fraction of a second, so the Stop can still land after the last character: then the text
    # is made again (at most five times) until one stops part-way.
    for _ in range(5):
        before = text_box.input_value()
        page.get_by_role("button", name="Generate", exact=True).click()
        page.evaluate("""(before) => new Promise((resolve, reject) => {
            const box = document.querySelector('#output-text textarea'), start = Date.now();
            const tick = () => {
                if (box.value !== before && box.value.length >= 80) {
                    [...document.querySelectorAll('button')].find(b => b.textContent.trim() === 'Stop').click();
                    resolve();
                } else if (Date.now() - start > 60000) reject(new Error('no text within 60 s'));
                else setTimeout(tick, 5);
            };
            tick(); })""", before)
        time.sleep(1.0)
        shown = text_box.input_value()
        if len(shown) < 2007:
            break
    assert 80 <= len(shown) < 2007, "the generation should have stopped early"
    # the note says where it stopped, counting the characters that were on their way at the click
    page.wait_for_function("() => /Stopped.* after [0-9,]+ characters/.test(document.body.innerText)", timeout=15_000)
    slider = page.locator("input[aria-label='range slider for Inspect the choice at step']")
    page.wait_for_function("(el) => !el.disabled", arg=slider.element_handle(), timeout=15_000)
    page.locator("#probs-plot .js-plotly-plot").wait_for(timeout=15_000)
    title = page.locator("#probs-plot .gtitle").text_content()
    slider.focus()
    slider.press("ArrowLeft")
    page.wait_for_function(f"() => document.querySelector('#probs-plot .gtitle').textContent !== {title!r}",
                           timeout=15_000)              # the arrow key redraws the view
    page.get_by_role("tab", name="Attention").click()
    page.wait_for_function("() => document.body.innerText.includes('of the text on screen')", timeout=30_000)


def test_the_layer_control_follows_the_model(page):
    page.get_by_label("Model", exact=True).first.click()
    page.get_by_role("option", name="ladder/4-heads", exact=True).click()
    page.get_by_role("tab", name="Attention").click()
    page.wait_for_function("() => { const g = document.querySelector('#attention-grid .js-plotly-plot');"
                           " return g && g.data && g.data.length === 5; }", timeout=30_000)   # 4 heads, their mean
    number = page.locator("#attention-layer input[aria-label='number input for Layer']")
    assert number.get_attribute("max") == "1" and number.is_disabled()    # one layer: nothing to choose
    page.get_by_label("Model", exact=True).first.click()
    page.get_by_role("option", name="shakespeare-gpt", exact=True).click()
    page.wait_for_function("() => document.querySelector(\"#attention-layer input[aria-label='number input for "
                           "Layer']\").getAttribute('max') === '5'", timeout=15_000)
    # moving the layer redraws the maps for it (the title kept the last layer drawn)
    number.fill("4")
    number.press("Enter")
    page.wait_for_function("() => document.querySelector('#attention-plot .gtitle')"
                           "?.textContent.startsWith('Layer 4')", timeout=30_000)


@pytest.fixture(scope="module")
def phone(page):
    """The same server, seen on a 390-px-wide phone."""
    context = page.context.browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    phone = context.new_page()
    phone.goto(page.url.split("?")[0])      # the page itself, not the view the other page is on
    phone.get_by_role("heading", name="tinyshakespeare-gpt").wait_for(timeout=30_000)
    yield phone
    context.close()


def test_a_phone_can_generate_and_read_attention(phone):
    width = phone.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 392, f"the page is {width} px wide on a 390-px screen"
    button = phone.get_by_role("button", name="Generate", exact=True)
    assert button.bounding_box()["y"] < 844, "Generate should be on the first screen"
    text_box = phone.locator("#output-text textarea")
    before = text_box.input_value()
    button.click()
    phone.wait_for_function("(b) => { const v = document.querySelector('#output-text textarea').value;"
                            " return v !== b && v.length >= 200; }", arg=before, timeout=60_000)
    phone.get_by_role("tab", name="Attention").click()
    phone.locator("#attention-plot .js-plotly-plot .xtick").first.wait_for(timeout=60_000)
    assert_labels_legible(phone, "#attention-plot", min_size=12)
    screenshot(phone, "phone-attention")


def test_a_phone_shows_the_knockout_grid_without_numbers_running_together(phone):
    """The grid's six cells a row held "+0.012"-style numbers that ran into each other on a phone;
    they are dropped where a cell is under 52 px wide (the hover keeps every value)."""
    phone.get_by_role("tab", name="Lab", exact=True).click()
    phone.get_by_role("tab", name="Head knockout").click()
    phone.locator("#knockout-plot .js-plotly-plot .heatmaplayer").wait_for(timeout=60_000)
    phone.wait_for_function("() => document.querySelector('#knockout-plot .js-plotly-plot').data[0].texttemplate "
                            "=== ''", timeout=10_000)
    assert phone.evaluate("() => document.querySelector('#knockout-plot .js-plotly-plot').data[0].text.length") == 6
    screenshot(phone, "phone-knockout")


def test_a_projector_shows_generate_above_the_fold_and_the_stream_stays_in_view(page):
    context = page.context.browser.new_context(viewport={"width": 1024, "height": 768})
    projector = context.new_page()
    try:
        projector.goto(page.url.split("?")[0])
        projector.get_by_role("heading", name="tinyshakespeare-gpt").wait_for(timeout=30_000)
        button = projector.get_by_role("button", name="Generate", exact=True)
        box = button.bounding_box()
        assert box["y"] + box["height"] <= 768, f"Generate ends at {box['y'] + box['height']:.0f} px on a 768-px screen"
        projector.get_by_label("New characters").last.fill("2000")
        projector.get_by_label("New characters").last.press("Enter")
        # every frame, note the text's length and how far its end is below the visible part of the box
        projector.evaluate("""() => { window.followed = [];
            const look = () => { const t = document.querySelector('#output-text textarea');
                if (t) window.followed.push([t.value.length, t.scrollHeight - t.scrollTop - t.clientHeight,
                                             t.scrollHeight > t.clientHeight + 100]);
                requestAnimationFrame(look); };
            requestAnimationFrame(look); }""")
        # while it streams (a chunk every 0.2 s; the page follows every 150 ms), the newest
        # characters come into view: part-way, the box was at its end at least once. That can be
        # seen only if the page drew a few frames while the box overflowed mid-stream; on a busy
        # machine the whole stream has arrived in two chunks (CI: one frame, at 1,699 of 2,007),
        # and then the text is written again (at most three times) until there is something to see.
        for _ in range(3):
            projector.evaluate("() => { window.followed.length = 0; }")
            button.click()
            projector.wait_for_function("() => window.followed.some(([length]) => length < 2007) && document"
                                        ".querySelector('#output-text textarea').value.length >= 2007", timeout=60_000)
            closest = {}
            for length, gap, overflowing in projector.evaluate("() => window.followed"):
                if 8 < length < 2007 and overflowing:
                    closest[length] = min(gap, closest.get(length, gap))
            if len(closest) >= 3:
                break
        assert len(closest) >= 3, f"the stream came in too few pieces to follow, three times: {closest}"
        assert min(closest.values()) < 40, closest
        time.sleep(0.5)
        gap = projector.evaluate("""() => { const t = document.querySelector('#output-text textarea');
            return t.scrollHeight - t.scrollTop - t.clientHeight; }""")
        assert gap < 10, f"the last text is {gap:.0f} px below the visible part of the box"
        screenshot(projector, "projector-generate")
        # a reader who scrolls up during the next text stays where they scrolled to
        button.click()
        # while it streams, once there is text above to go back to (the box grows with its text up
        # to 30 lines: a wheel over a box that does not overflow yet scrolls nothing, and the box
        # rightly goes on following; a test that wheeled then failed about one run in two)
        projector.wait_for_function("""() => { const t = document.querySelector('#output-text textarea');
            return t.value.length < 2007 && t.scrollHeight - t.clientHeight > 320; }""", timeout=60_000,
                                    polling="raf")
        # hover: the pointer on the box as it is now (scrolled into view), so the wheel reaches it
        projector.locator("#output-text textarea").hover()
        projector.mouse.wheel(0, -300)
        projector.wait_for_function("""() => { const t = document.querySelector('#output-text textarea');
            return t.scrollHeight - t.scrollTop - t.clientHeight > 200; }""", timeout=10_000)   # it moved up
        projector.wait_for_function("() => document.querySelector('#output-text textarea').value.length >= 2007",
                                    timeout=60_000)
        time.sleep(0.5)
        gap = projector.evaluate("""() => { const t = document.querySelector('#output-text textarea');
            return t.scrollHeight - t.scrollTop - t.clientHeight; }""")
        # followed, the end would be within a few px; left where the reader scrolled, it is ~300 px or more below
        assert gap > 200, f"the box followed the stream after the reader scrolled up (end {gap:.0f} px below)"
    finally:
        context.close()


def ticked_heads(page) -> list[str]:
    return page.evaluate("""() => Array.from(document.querySelectorAll('#knockout-heads input:checked'))
        .map(box => box.closest('label').innerText.trim())""")


def test_with_the_lab_open_a_model_switch_ticks_the_heads_it_removed(page):
    """Two listeners once raced on a model switch: no box ticked, yet the note said 'Heads
    removed: L0 H4' and the text was regenerated without it. One listener sets all three."""
    page.get_by_role("tab", name="Generate").click()
    choose_model(page, "copying-gpt")
    page.get_by_role("tab", name="Lab", exact=True).click()
    page.get_by_role("tab", name="Head knockout").click()
    note = page.locator("#regen-note")
    regenerated = ("() => document.querySelector('#regen-note') && "
                   "document.querySelector('#regen-note').innerText.includes('Heads removed:')")
    try:
        page.wait_for_function(regenerated, timeout=30_000)
    except Exception:
        # Seen twice in full-suite runs (never alone): the sub-tab's opening never arrived. A person
        # would click the sub-tab again; so does the test, and the note says what it found first.
        found = page.evaluate("() => [document.querySelector('#regen-note')?.innerText, "
                              "document.querySelector('#knockout-note')?.innerText].join(' || ')")
        print(f"no regeneration note after 30 s ({found!r}); opening the sub-tab again")
        page.get_by_role("tab", name="Surprisal").click()
        page.get_by_role("tab", name="Head knockout").click()
        page.wait_for_function(regenerated, timeout=60_000)
    for name in ("shakespeare-gpt", "copying-gpt", "shakespeare-gpt"):
        before = page.locator("#knockout-plot .gtitle").text_content()
        choose_model(page, name)
        page.wait_for_function("(before) => { const t = document.querySelector('#knockout-plot .gtitle'); "
                               "return t && t.textContent !== before; }", arg=before, timeout=60_000)
        page.wait_for_timeout(500)           # the boxes and note arrive with the figure, in one update
        ticked = ticked_heads(page)
        assert len(ticked) == 1, ticked
        assert f"Heads removed: {ticked[0]}." in note.inner_text()
    page.get_by_role("button", name="Regenerate without them").click()
    page.wait_for_timeout(300)
    page.wait_for_function("() => !document.querySelector('#regen-note .pending')", timeout=60_000)
    assert f"Heads removed: {ticked_heads(page)[0]}." in note.inner_text()


def test_a_new_training_takes_away_the_last_ones_download(page):
    """After a second training the download box once still offered the first model's zip."""
    train_tiny_bigram(page)
    page.get_by_role("button", name="Download my model (.zip)").click()
    zip_box = page.locator("#model-zip")
    page.wait_for_function("() => document.querySelector('#model-zip') && "
                           "document.querySelector('#model-zip').innerText.includes('my-model')", timeout=30_000)
    page.get_by_role("button", name="Train", exact=True).click()
    zip_box.wait_for(state="hidden", timeout=30_000)
    page.wait_for_function("() => document.body.innerText.includes('Done.')", timeout=120_000)
    assert not page.locator("#model-zip").is_visible()


def test_a_three_minute_budget_suggests_the_bigger_gpt_until_a_size_is_set_by_hand(page):
    page.get_by_role("tab", name="Train live").click()
    page.get_by_role("radio", name="GPT").check()

    def number(label):
        return page.locator(f"input[aria-label='number input for {label}']")

    def set_number(label, value):
        number(label).fill(str(value))
        number(label).press("Enter")

    def settles(label, value):
        page.wait_for_function("([label, value]) => document.querySelector("
                               "`input[aria-label='number input for ${label}']`).value === value",
                               arg=[label, str(value)], timeout=30_000)

    set_number("Minutes", 3)
    settles("Layers", 3)
    settles("Embedding width", 192)
    settles("Heads", 6)
    set_number("Minutes", 1)
    settles("Layers", 2)
    settles("Embedding width", 128)
    set_number("Layers", 4)                     # by hand: the budget no longer moves the sizes
    set_number("Minutes", 3)
    page.wait_for_timeout(1500)
    assert number("Layers").input_value() == "4" and number("Embedding width").input_value() == "128"
