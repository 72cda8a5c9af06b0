"""What the browser tests and bench/browser.py do on the page more than once."""


def choose_model(page, name: str) -> None:
    page.get_by_label("Model").first.click()
    page.get_by_role("option", name=name, exact=True).click()


def train_tiny_bigram(page) -> None:
    """Train live: a 10-step bigram, waited for until it says Done."""
    page.get_by_role("tab", name="Train live").click()
    page.get_by_role("radio", name="Bigram").check()
    steps = page.locator("input[aria-label='number input for Max steps']")
    steps.fill("10")
    steps.press("Enter")
    page.get_by_role("button", name="Train", exact=True).click()
    page.wait_for_function("() => document.body.innerText.includes('Done.')", timeout=120_000)
