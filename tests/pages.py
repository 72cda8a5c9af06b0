"""What the browser tests and bench/browser.py do on the page more than once."""
import os
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
WAIT = 60_000


def playwright_or_skip():
    """Playwright's sync API, for a browser test module: the module is skipped where Debian's
    chromium is missing, except in CI (REQUIRE_BROWSER), where that is an error."""
    import pytest

    if not Path(CHROMIUM).exists():
        if os.environ.get("REQUIRE_BROWSER"):
            raise RuntimeError(f"{CHROMIUM} is missing: `apt-get install chromium` (CI installs it in .ci/run)")
        pytest.skip(f"{CHROMIUM} is not installed", allow_module_level=True)
    return pytest.importorskip("playwright.sync_api")


AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
"""The WCAG 2.0, 2.1 and 2.2 rules at levels A and AA that axe-core checks (issue 39)."""


def axe_violations(page) -> list[dict]:
    """axe-core's WCAG A/AA violations on the page as it is drawn now (axe-playwright-python
    injects its bundled axe-core: nothing is fetched)."""
    from axe_playwright_python.sync_playwright import Axe

    options = {"runOnly": {"type": "tag", "values": AXE_TAGS}, "resultTypes": ["violations"]}
    return Axe().run(page, options=options).response["violations"]


def chromium(playwright):
    """Debian's chromium, headless, as every browser test and benchmark here drives it."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"])


def served_site():
    """The app on a free port and a headless chromium: (browser, url), for a module fixture to yield from."""
    from playwright.sync_api import sync_playwright

    from appserver import launch_app

    app, url = launch_app()
    with sync_playwright() as p:
        browser = chromium(p)
        yield browser, url.rstrip("/") + "/"
        browser.close()
    app.demo.close()


def open_page(site, query: str = "", width: int = 1280, height: int = 800):
    """A new page (a new session) of the site at `query`, once the app is on it."""
    browser, url = site
    page = browser.new_page(viewport={"width": width, "height": height})
    page.goto(url + query)
    page.get_by_role("heading", name="tinyshakespeare-gpt").wait_for(timeout=WAIT)
    return page


def choose_model(page, name: str) -> None:
    page.get_by_label("Model", exact=True).first.click()
    page.get_by_role("option", name=name, exact=True).click()


def train_tiny_bigram(page, steps: int = 10) -> None:
    """Train live: a bigram of `steps` steps, waited for until it says Done."""
    page.get_by_role("tab", name="Train live").click()
    page.get_by_role("radio", name="Bigram").check()
    box = page.locator("input[aria-label='number input for Max steps']")
    box.fill(str(steps))
    box.press("Enter")
    page.get_by_role("button", name="Train", exact=True).click()
    page.wait_for_function("() => document.body.innerText.includes('Done.')", timeout=120_000)
