"""A student with no mouse (issue 39): a lesson's steps by keyboard alone, with the place of the
keyboard visible at every stop: choose a model, type a prompt, generate, open the tabs, draw
attention for another layer, open the Lab and an instrument, step through the Timeline."""
import pytest

from pages import WAIT, open_page, playwright_or_skip, served_site

playwright_or_skip()

FOCUS = r"""() => { const e = document.activeElement;
  if (!e || e === document.body) return null;
  const s = getComputedStyle(e);
  return {role: e.getAttribute('role') || (e.type === 'range' ? 'slider' : e.tagName.toLowerCase()),
          name: (e.getAttribute('aria-label') || (e.labels && e.labels[0] ? e.labels[0].innerText : '')
                 || e.innerText || '').trim().split('\n')[0].slice(0, 60),
          ring: e.matches(':focus-visible') && s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2
                && s.outlineColor !== 'rgb(255, 255, 255)'}; }"""


@pytest.fixture(scope="module")
def site():
    yield from served_site()


def tab_to(page, role: str, name: str, back: bool = False, limit: int = 150) -> None:
    """Tab (or Shift+Tab, `back`) until the element with this role and name has the focus; every
    element the focus passes on the way shows where it is."""
    for _ in range(limit):
        page.keyboard.press("Shift+Tab" if back else "Tab")
        here = page.evaluate(FOCUS)
        if here is None:
            continue
        assert here["ring"], f"no visible focus on {here}"
        if here["role"] == role and here["name"] == name:
            return
    pytest.fail(f"{role} {name!r} was not reached by Tab")


def text_of(page, selector: str) -> str:
    return page.evaluate(f"() => document.querySelector({selector!r})?.textContent || ''")


def test_a_lesson_by_keyboard_alone(site):
    page = open_page(site)
    page.wait_for_timeout(1000)

    tab_to(page, "combobox", "Model")                                   # choose a model by typing its name
    page.keyboard.type("shakespeare-mlp")
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.body.innerText.includes('MLP ·')", timeout=WAIT)
    tab_to(page, "combobox", "Model", back=True)                         # and back to the GPT
    tab_to(page, "combobox", "Model")
    page.keyboard.press("Control+a")
    page.keyboard.type("shakespeare-gpt")
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.body.innerText.includes('GPT · 2,718,336 parameters')", timeout=WAIT)

    tab_to(page, "textarea", "Prompt")
    page.keyboard.press("Control+a")
    page.keyboard.type("JULIET:\n")
    tab_to(page, "button", "Generate")
    page.keyboard.press("Enter")
    page.wait_for_function("() => (document.querySelector('#output-text textarea')?.value || '').length > 60 "
                           "&& document.querySelector('#output-text textarea').value.startsWith('JULIET:')",
                           timeout=WAIT)

    # the text's note is read aloud when it changes, the streaming text itself is not
    page.wait_for_function("() => document.querySelector('#generate-note')?.getAttribute('aria-live') === 'polite'",
                           timeout=WAIT)
    assert page.evaluate("() => document.querySelector('#output-text textarea').closest('[aria-live]')") is None

    tab_to(page, "tab", "Attention", back=True)                          # back up to the tab bar
    page.keyboard.press("Enter")
    page.locator("#attention-plot .gtitle").wait_for(timeout=WAIT)
    assert "layer 0" in text_of(page, "#attention-plot .gtitle").lower()
    tab_to(page, "slider", "range slider for Layer")
    page.keyboard.press("ArrowRight")
    page.wait_for_function("() => (document.querySelector('#attention-plot .gtitle')?.textContent || '')"
                           ".toLowerCase().includes('layer 1')", timeout=WAIT)

    tab_to(page, "tab", "Lab", back=True)
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.querySelectorAll('#surprisal-text .token').length > 100", timeout=WAIT)
    tab_to(page, "tab", "Logit lens")
    page.keyboard.press("Enter")
    page.locator("#lens-plot .js-plotly-plot").wait_for(timeout=WAIT)

    tab_to(page, "tab", "Timeline", back=True)
    page.keyboard.press("Enter")
    page.wait_for_function("() => (document.querySelector('#timeline-note')?.innerText || '').includes('Snapshot 1 of')",
                           timeout=WAIT)
    page.wait_for_function("() => document.querySelector('#timeline-note')?.getAttribute('aria-live') === 'polite'",
                           timeout=WAIT)
    tab_to(page, "slider", "range slider for Snapshot (drag, or use the arrow keys)")
    page.keyboard.press("ArrowRight")
    page.wait_for_function("() => (document.querySelector('#timeline-note')?.innerText || '').includes('Snapshot 2 of')",
                           timeout=WAIT)
