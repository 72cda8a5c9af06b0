"""Screenshots of every tab in its drawn state, from the running app, so the README's pictures and a
reviewer's look at a change stay true.

    python docs/screenshots.py                      # the README's pictures (assets/*.png, 1280 wide)
    python docs/screenshots.py --out /tmp/shots --sizes 1280x800,1024x768,390x844 [--full-page]

Starts `python app.py` on a free port, opens one page per size in Debian's chromium, and for each
tab does what a student's first minute there does (generate a text, train a 30-step bigram, open a
board, pick the Lab's Features), then saves the first screen (or, with --full-page, the whole page).
"""
from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path


ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from bench.app import free_port  # noqa: E402
from bench.waiting import serving, start_app  # noqa: E402
from pages import CHROMIUM, train_tiny_bigram  # noqa: E402  (tests/pages.py)

WAIT = 120_000
README_SHOTS = {"generate": "generate.png", "attention": "attention.png", "lab": "lab.png", "train": "train.png",
                "timeline": "timeline.png", "learn": "learn.png", "board": "board.png", "features": "features.png"}


def text_has(selector: str, words: str) -> str:
    return f"() => (document.querySelector({selector!r})?.innerText || '').includes({words!r})"


def generate(page) -> None:
    page.get_by_role("tab", name="Generate").click()
    length = page.locator("input[aria-label='number input for New characters']")
    length.fill("400")
    length.press("Enter")
    page.get_by_role("button", name="Generate", exact=True).click()
    page.wait_for_function("() => document.querySelector('#output-text textarea')?.value.length >= 407 && "
                           "document.querySelector('#probs-plot .js-plotly-plot .barlayer')", timeout=WAIT)


def attention(page) -> None:
    page.get_by_role("tab", name="Attention").click()
    page.locator("#attention-plot .gtitle").wait_for(timeout=WAIT)


def loss(page) -> None:
    page.get_by_role("tab", name="Loss curves").click()
    page.locator(".js-plotly-plot .scatterlayer").first.wait_for(timeout=WAIT)


def train(page) -> None:
    train_tiny_bigram(page, steps=30)


def timeline(page) -> None:
    page.get_by_role("tab", name="Timeline").click()
    page.wait_for_function(text_has("#timeline-note", "Snapshot 1 of"), timeout=WAIT)


def lab(page) -> None:
    page.get_by_role("tab", name="Lab", exact=True).click()
    page.wait_for_function("() => document.querySelectorAll('#surprisal-text .token').length > 100", timeout=WAIT)


def lab_instrument(label: str, drawn: str):
    """A Lab instrument's sub-tab, opened (it measures itself on opening) until `drawn` holds."""
    def draw(page) -> None:
        lab(page)
        page.get_by_role("tab", name=label, exact=True).click()
        page.wait_for_function(f"() => !!document.querySelector({drawn!r})", timeout=WAIT)
    return draw


def features(page) -> None:
    lab(page)
    page.get_by_role("tab", name="Features").click()
    page.wait_for_function(text_has("#features-summary", "recovered"), timeout=WAIT)


def learn(page) -> None:
    page.get_by_role("tab", name="Learn").click()
    page.locator("#ladder-plot .js-plotly-plot .scatterlayer").wait_for(timeout=WAIT)


def board(page) -> None:
    page.get_by_role("tab", name="Class board").click()
    page.get_by_text("Open a board (teachers)").click()
    page.get_by_role("button", name="Open a board", exact=True).click()
    page.wait_for_function("() => /GPT-[A-Z2-9]{3}-[A-Z2-9]{3}/.test(document.body.innerText)", timeout=WAIT)


TABS = {"generate": generate, "attention": attention, "loss": loss, "train": train, "timeline": timeline,
        "lab": lab, "knockout": lab_instrument("Head knockout", "#knockout-plot .js-plotly-plot"),
        "lens": lab_instrument("Logit lens", "#lens-plot .js-plotly-plot"),
        "induction": lab_instrument("Induction", "#copies-plot .js-plotly-plot"),
        "memorised": lab_instrument("Memorisation", "#memo-text .token"),
        "features": features, "learn": learn, "board": board}


def shoot(url: str, out: Path, sizes: list[tuple[int, int]], tabs: list[str], full_page: bool,
          names: dict[str, str]) -> list[Path]:
    from playwright.sync_api import sync_playwright

    saved = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"])
        for width, height in sizes:
            phone = width < 600
            context = browser.new_context(viewport={"width": width, "height": height}, is_mobile=phone,
                                          has_touch=phone, device_scale_factor=1)
            page = context.new_page()
            page.goto(url)
            page.get_by_role("heading", name="tinyshakespeare-gpt").wait_for(timeout=WAIT)
            for tab in tabs:
                TABS[tab](page)
                page.wait_for_timeout(800)              # the figures' own transitions
                page.evaluate("() => window.scrollTo(0, 0)")
                path = out / names.get(tab, f"{tab}-{width}x{height}.png")
                page.screenshot(path=str(path), full_page=full_page)
                saved.append(path)
            context.close()
        browser.close()
    return saved


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, help="a folder for every tab at every size (default: the README's pictures)")
    p.add_argument("--sizes", default="1280x800,1024x768,390x844")
    p.add_argument("--tabs", default=",".join(TABS), help=f"some of: {', '.join(TABS)}")
    p.add_argument("--full-page", action="store_true")
    args = p.parse_args(argv)
    tabs = [t.strip() for t in args.tabs.split(",") if t.strip()]
    unknown = [t for t in tabs if t not in TABS]
    if unknown:
        p.error(f"no tab called {', '.join(unknown)}; choose from {', '.join(TABS)}")
    if args.out is None:            # the README's pictures: the first screen at 1280 × 800
        out, sizes, names = ROOT / "assets", [(1280, 800)], README_SHOTS
        tabs = [t for t in tabs if t in README_SHOTS]
    else:
        out, names = args.out, {}
        sizes = [tuple(int(n) for n in size.split("x")) for size in args.sizes.split(",")]
    out.mkdir(parents=True, exist_ok=True)
    with served_app() as url:
        for path in shoot(url, out, sizes, tabs, args.full_page, names):
            print(path)


@contextlib.contextmanager
def served_app() -> Iterator[str]:
    """`python app.py` on a free port, with a board store of its own (the boards opened here count
    toward no one's limit of 3 open boards): its address once it serves, the server ended after."""
    port = free_port()
    server = start_app(ROOT, port, GPT_APP_DATA=tempfile.mkdtemp(prefix="app-data-"))
    try:
        yield serving(f"http://127.0.0.1:{port}/")
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
