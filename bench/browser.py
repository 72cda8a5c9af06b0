"""What a person waits for in the browser: click (or key) to result visible, the app serving
on this machine and Debian's chromium drawing it.

    python bench/browser.py [--repeats 5] [--inline] [--compare-with ../other-checkout]

The app runs as `python app.py` in a process of its own, as it is deployed (`--inline` serves it
from this process, beside the browser driver, as before 2026-12-02: the figures came out the
same within this VM's noise). Each visit goes through every tab in turn, so by the Timeline the
page holds a dozen figures, as a student's would. Each repeat opens a new page (a new session)
on one running app, so the first repeat also
pays what the server does once (loading a model, a remembered Lab part) and the later ones
show what a class after the first student waits. Prints median and p95 per step.
Each timed act starts on a settled page (no long task on its main thread for 300 ms), so a row
times its own wait and not the tail of the step before; the "page idle again" column says when
the page had finished drawing everything the act started (a figure can be on screen while the
rest of a tab still draws). `--compare-with` serves a second checkout (say `git worktree add
../before HEAD~1`) beside this one and alternates visits between the two, so both columns come
from the same minutes of this VM.
"""
from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from bench.common import machine, table  # noqa: E402
from bench.waiting import serving, start_app  # noqa: E402
from pages import choose_model, train_tiny_bigram  # noqa: E402  (tests/pages.py)

CHROMIUM = "/usr/bin/chromium"
WARM_UP_SECONDS = 10
"""After the server answers: its background warm-up (studio/warmup.py) finishes, as it would
have long before a class arrives."""
GOALS = {"Lab opening": 1.5, "model switch inside the Lab": 1.5, "Timeline arrow key": 0.3,
         "Timeline arrow key, every figure": 0.4, "Timeline drag: last frame after release": 0.5, "Learn tab": 1.0,
         "next-character plot after a 500-char text": 0.5, "download zip ready": 1.0,
         "Lab Features opening": 1.0, "Features: a character's features": 0.3,
         "a link to an attention view: opened to map drawn": 2.5, "a link to a Lab lens: opened to figure": 2.5,
         "a link to a generated text: opened to text and its plot": 3.0}
LINKS = {   # what a student opens from a teacher's link: the query, and what shows the view is there
    "a link to an attention view: opened to map drawn": (
        "?tab=attention&layer=2&head=head+1&prompt=To+be%2C+or+not+to+be",
        "() => (document.querySelector('#attention-plot .gtitle') || {}).textContent === 'Layer 2, head 1'"),
    "a link to a Lab lens: opened to figure": (
        "?tab=lab&lab=lens&lens=What+light+through+yonder+window+breaks",
        "() => document.querySelector('#lens-plot .js-plotly-plot .main-svg')"),
    "a link to a generated text: opened to text and its plot": (
        "?prompt=ROMEO%3A%0A&len=200&gen=7",
        "() => document.querySelector('#output-text textarea')?.value.length >= 207 && "
        "document.querySelector('#probs-plot .js-plotly-plot .barlayer')"),
}


QUIET_MS = 300
"""The page counts as settled once its main thread has run no long task (50 ms or more) for this long."""
SETTLED = f"""() => new Promise(resolve => {{
    let last = performance.now();
    const seen = new PerformanceObserver(list => {{
        for (const task of list.getEntries()) last = Math.max(last, task.startTime + task.duration); }});
    seen.observe({{type: 'longtask', buffered: true}});
    const check = () => {{
        if (performance.now() - last >= {QUIET_MS}) {{ seen.disconnect(); resolve(last); }}
        else setTimeout(check, 25);
    }};
    setTimeout(check, 25);
}})"""
"""Resolves, once settled, with the page time the last long task ended (or when it was asked)."""
IDLE = " | page idle"
"""A row's second reading: seconds from the act until the page's last long task of it ended."""


def settle(page) -> float:
    """Wait for the page to finish drawing what the last step started: each row times its own
    wait, not the tail of the one before (a person reads a result before the next click).
    Returns the page time (ms) the last long task ended."""
    return page.evaluate(SETTLED)


def timed(waits: dict[str, float], what: str, page, act, done: str, arg=None, timeout: float = 120,
          idle: bool = True) -> None:
    """`waits[what]`: seconds from `act()`, on a settled page, to the JavaScript condition `done`
    holding in it; with `idle`, `waits[what + IDLE]`: until the page was idle again after it
    (not across a page load, which restarts the page's clock)."""
    settle(page)
    began = page.evaluate("() => performance.now()")
    start = time.perf_counter()
    act()
    page.wait_for_function(done, arg=arg, timeout=timeout * 1000, polling="raf")
    waits[what] = seconds = time.perf_counter() - start
    if idle:
        waits[what + IDLE] = max(seconds, (settle(page) - began) / 1000)


def text_of(selector: str) -> str:
    return f"(document.querySelector('{selector}') || {{innerText: ''}}).innerText"


def one_visit(page, url: str, first: bool) -> dict[str, float]:
    page.goto(url)
    page.get_by_role("heading", name="tinyshakespeare-gpt").wait_for(timeout=60_000)
    waits = {}
    if first:        # a session's model to download (a 10-step bigram), trained once per visit
        train_tiny_bigram(page)
        timed(waits, "download zip ready", page,
              lambda: page.get_by_role("button", name="Download my model (.zip)").click(),
              f"() => {text_of('#model-zip')}.includes('my-model')")
    page.get_by_role("tab", name="Generate").click()
    page.locator("input[aria-label='number input for New characters']").fill("500")
    page.locator("input[aria-label='number input for New characters']").press("Enter")
    page.get_by_role("button", name="Generate", exact=True).click()
    page.wait_for_function("() => document.querySelector('#output-text textarea').value.length >= 507",
                           timeout=120_000, polling="raf")
    text_end = time.perf_counter()
    page.wait_for_function("() => document.querySelector('#probs-plot .js-plotly-plot .bars, "
                           "#probs-plot .js-plotly-plot .barlayer')", timeout=60_000, polling="raf")
    waits["next-character plot after a 500-char text"] = time.perf_counter() - text_end
    timed(waits, "Learn tab", page, lambda: page.get_by_role("tab", name="Learn").click(),
          "() => document.querySelector('#ladder-plot .js-plotly-plot .scatterlayer')")
    timed(waits, "Lab opening", page, lambda: page.get_by_role("tab", name="Lab", exact=True).click(),
          "() => document.querySelectorAll('#surprisal-text .token').length > 100")
    before = page.evaluate(f"() => {text_of('#surprisal-note')}")
    timed(waits, "model switch inside the Lab", page, lambda: choose_model(page, "copying-gpt"),
          f"(before) => {text_of('#surprisal-note')} !== before && "
          "document.querySelectorAll('#surprisal-text .token').length > 100", arg=before)
    choose_model(page, "shakespeare-gpt")
    # the switch back drawn before the next click, as a person sees it
    page.wait_for_function(f"(before) => {text_of('#surprisal-note')} === before && "
                           "document.querySelectorAll('#surprisal-text .token').length > 100", arg=before,
                           timeout=60_000, polling="raf")
    timed(waits, "Lab Features opening", page, lambda: page.get_by_role("tab", name="Features").click(),
          f"() => {text_of('#features-summary')}.includes('recovered') && "
          "document.querySelectorAll('#feature-contexts .token').length > 20")
    # a letter, visible
    character = page.locator("#feature-chars .token .text", has_text=re.compile(r"^[a-z]\s*$")).nth(20)
    character.scroll_into_view_if_needed()
    timed(waits, "Features: a character's features", page, character.click,
          f"() => {text_of('#feature-at-note')}.includes('After character')")
    page.get_by_role("tab", name="Timeline").click()
    page.wait_for_function(f"() => {text_of('#timeline-note')}.includes('Snapshot 1 of')", timeout=60_000)
    slider = page.locator("#timeline-step input[type=range]")
    slider.focus()
    timed(waits, "Timeline arrow key", page, lambda: slider.press("ArrowRight"), frame_shown(2))
    page.wait_for_function(every_figure_shown(2), timeout=60_000)
    timed(waits, "Timeline arrow key, every figure", page, lambda: slider.press("ArrowRight"), every_figure_shown(3))
    waits["Timeline drag: last frame after release"] = drag(page, slider)
    for what, (query, shown) in LINKS.items():      # the page itself loads too: that is part of the wait
        timed(waits, what, page, lambda: page.goto(url.rstrip("/") + "/" + query), shown, idle=False)
    return waits


def frame_shown(snapshot: int) -> str:
    """The note at this snapshot, the loss curve's marker at its step (moved in the page) and the sample."""
    note = f"/Snapshot {snapshot} of \\d+: \\*?\\*?step ([\\d,]+)/"
    return (f"() => {{ const m = {text_of('#timeline-note')}.match({note});"
            " const gd = document.querySelector('#timeline-loss .js-plotly-plot');"
            " const marker = gd && gd.layout && gd.layout.meta && gd.layout.meta.marker;"
            " const line = marker && gd.layout.shapes[marker.shape];"
            " return m && line && line.x0 === Number(m[1].replace(/,/g, '')) &&"
            " !document.querySelector('#timeline-loss .pending'); }")


def every_figure_shown(snapshot: int) -> str:
    """The note at this snapshot, and the attention map on screen (drawn with the other figures) at its step."""
    title = "(document.querySelector('#timeline-attention .gtitle') || {textContent: ''}).textContent"
    note = f"/Snapshot {snapshot} of \\d+: \\*?\\*?step ([\\d,]+)/"
    return (f"() => {{ const m = {text_of('#timeline-note')}.match({note});"
            f" return m && {title}.startsWith('Step ' + m[1] + ':'); }}")


def drag(page, slider) -> float:
    """Drag the snapshot slider across seven snapshots in about a second, then release: seconds
    from the release until the last snapshot's note and figures are on screen."""
    settle(page)
    box = slider.bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + 4, y)
    page.mouse.down()
    for k in range(1, 8):
        page.mouse.move(box["x"] + 4 + (box["width"] - 8) * k / 15, y)
        page.wait_for_timeout(140)
    page.mouse.up()
    released = time.perf_counter()
    # the note's snapshot number: the slider counts from its minimum (1 now, 0 before 2026-12-04)
    final = page.evaluate("() => { const s = document.querySelector('#timeline-step input[type=range]');"
                          " return Number(s.value) - Number(s.min) + 1; }")
    page.wait_for_function(every_figure_shown(final), timeout=60_000, polling="raf")
    return time.perf_counter() - released


def served(url: str) -> str:
    """The app's address once it serves its config (bench/waiting.py's wait) and its warm-up is done."""
    serving(url)
    time.sleep(WARM_UP_SECONDS)
    return url


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--inline", action="store_true", help="serve the app from this process (the old way)")
    p.add_argument("--compare-with", type=Path, help="another checkout, served beside this one as the baseline")
    args = p.parse_args()
    from playwright.sync_api import sync_playwright

    from appserver import free_port, launch_app

    servers, closes = {}, []
    if args.inline:
        app, url = launch_app()
        servers["this"] = url
        closes.append(app.demo.close)
    for name, root in [("baseline", args.compare_with), ("this", None if args.inline else ROOT)]:
        if root is not None:
            port = free_port()
            server = start_app(root.resolve(), port)
            closes.append(server.terminate)
            servers[name] = served(f"http://127.0.0.1:{port}/")
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in servers}
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox"])
            for k in range(args.repeats):
                for name, url in servers.items():          # alternated: both see the same minutes of the VM
                    page = browser.new_page(viewport={"width": 1280, "height": 800})
                    runs[name].append(one_visit(page, url, first=k == 0 or k == args.repeats - 1))
                    page.close()
            browser.close()
    finally:
        for close in closes:
            close()
    for name, visits in runs.items():
        for k, run in enumerate(visits):
            print(f"{name} visit {k + 1}: " + ", ".join(f"{what} {seconds:.2f}" for what, seconds in run.items()),
                  file=sys.stderr)
    served_by = "in this process" if args.inline else "python app.py in its own process"
    print(f"Click to result visible in chromium at 1280x800, {args.repeats} visits (new sessions) to one app "
          f"({served_by}){f', alternating with {args.compare_with}' if args.compare_with else ''}; {machine()}\n")
    rows = []
    for what, goal in GOALS.items():
        seconds = sorted(run[what] for run in runs["this"] if what in run)
        p95 = seconds[min(len(seconds) - 1, round(0.95 * (len(seconds) - 1)))]
        idle = [run[what + IDLE] for run in runs["this"] if what + IDLE in run]
        row = [what, f"{runs['this'][0][what]:.2f}", f"{statistics.median(seconds):.2f}", f"{p95:.2f}",
               f"{statistics.median(idle):.2f}" if idle else "–"]
        if "baseline" in runs:
            before = statistics.median(run[what] for run in runs["baseline"] if what in run)
            row += [f"{before:.2f}", f"{statistics.median(seconds) / before:.2f}"]
        rows.append(row + [f"≤ {goal:g}", len(seconds)])
    headers = ["what", "first visit (s)", "median (s)", "p95 (s)", "page idle again, median (s)"]
    headers += ["baseline median (s)", "ratio"] if "baseline" in runs else []
    print(table(headers + ["goal (s)", "visits"], rows))


if __name__ == "__main__":
    main()
