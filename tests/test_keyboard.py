"""A student with no mouse (issue 39): a lesson's steps by keyboard alone, with the place of the
keyboard visible at every stop: choose a model, type a prompt, generate, open the tabs, draw
attention for another layer, open the Lab and an instrument, step through the Timeline; then stop
a text, step through its next-character choices, train and stop a model, and run each Lab
instrument with a setting changed, then open every tab not opened yet. Passing a list on the way
changes nothing."""
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


def tab_to(page, role: str, name: str, back: bool = False, then: str | None = None, limit: int = 150) -> None:
    """Tab (or Shift+Tab, `back`) until the element with this role and name has the focus, then press
    the key `then` on it (Enter, Space, an arrow); every element the focus passes on the way shows
    where it is."""
    passed = []
    for _ in range(limit):
        page.keyboard.press("Shift+Tab" if back else "Tab")
        here = page.evaluate(FOCUS)
        if here is None:
            continue
        assert here["ring"], f"no visible focus on {here}"
        if here["role"] == role and here["name"] == name:
            if then:
                page.keyboard.press(then)
            return
        passed.append((here["role"], here["name"]))
    pytest.fail(f"{role} {name!r} was not reached by Tab; passed {passed}")


def type_into(page, role: str, name: str, text: str, back: bool = False) -> None:
    """Tab to a box and type `text` over what it holds."""
    tab_to(page, role, name, back=back, then="Control+a")
    page.keyboard.type(text)


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
    type_into(page, "combobox", "Model", "shakespeare-gpt")
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.body.innerText.includes('GPT · 2,718,336 parameters')", timeout=WAIT)

    type_into(page, "textarea", "Prompt", "JULIET:\n")
    tab_to(page, "button", "Generate", then="Enter")
    page.wait_for_function("() => (document.querySelector('#output-text textarea')?.value || '').length > 60 "
                           "&& document.querySelector('#output-text textarea').value.startsWith('JULIET:')",
                           timeout=WAIT)

    # the text's note is read aloud when it changes, the streaming text itself is not
    page.wait_for_function("() => document.querySelector('#generate-note')?.getAttribute('aria-live') === 'polite'",
                           timeout=WAIT)
    assert page.evaluate("() => document.querySelector('#output-text textarea').closest('[aria-live]')") is None

    tab_to(page, "tab", "Attention", back=True, then="Enter")   # back up to the tab bar
    page.locator("#attention-plot .gtitle").wait_for(timeout=WAIT)
    assert "layer 0" in text_of(page, "#attention-plot .gtitle").lower()
    tab_to(page, "slider", "range slider for Layer", then="ArrowRight")
    page.wait_for_function("() => (document.querySelector('#attention-plot .gtitle')?.textContent || '')"
                           ".toLowerCase().includes('layer 1')", timeout=WAIT)
    # passing the Model box on the way keeps the model, and so the layer drawn for it (Gradio's
    # Dropdown sends `input` at every blur: it used to rebind the maps to layer 0)
    tab_to(page, "combobox", "Model", back=True, then="Tab")
    page.wait_for_timeout(1200)
    assert "layer 1" in text_of(page, "#attention-plot .gtitle").lower()
    assert page.locator("#attention-layer input[type=range]").input_value() == "1"

    tab_to(page, "tab", "Lab", back=True, then="Enter")
    page.wait_for_function("() => document.querySelectorAll('#surprisal-text .token').length > 100", timeout=WAIT)
    tab_to(page, "tab", "Logit lens", then="Enter")
    page.locator("#lens-plot .js-plotly-plot").wait_for(timeout=WAIT)

    tab_to(page, "tab", "Timeline", back=True, then="Enter")
    page.wait_for_function("() => (document.querySelector('#timeline-note')?.innerText || '').includes('Snapshot 1 of')",
                           timeout=WAIT)
    page.wait_for_function("() => document.querySelector('#timeline-note')?.getAttribute('aria-live') === 'polite'",
                           timeout=WAIT)
    tab_to(page, "slider", "range slider for Snapshot (drag, or use the arrow keys)", then="ArrowRight")
    page.wait_for_function("() => (document.querySelector('#timeline-note')?.innerText || '').includes('Snapshot 2 of')",
                           timeout=WAIT)


def label_of(page, selector: str) -> str:
    """A plot's name for a screen reader: its figure in words."""
    return page.evaluate(f"() => document.querySelector({selector!r})?.getAttribute('aria-label') || ''")


def test_stop_steps_training_and_every_instrument_by_keyboard(site):
    page = open_page(site)
    page.wait_for_timeout(1000)

    # a long text, stopped; then its next-character choices, one step back at a time. The 2,000
    # characters take about a second, so a Stop that lands after the last one makes the text again
    # (at most five times, as tests/test_browser.py does by mouse)
    type_into(page, "textarea", "Prompt", "ROMEO:\n")
    tab_to(page, "slider", "range slider for New characters", then="End")
    for _ in range(5):
        tab_to(page, "button", "Generate", then="Enter")
        page.wait_for_function("() => (document.querySelector('#output-text textarea')?.value || '').length > 40",
                               timeout=WAIT)
        tab_to(page, "button", "Stop", then="Enter")
        page.wait_for_function("() => /Stopped/.test(document.querySelector('#generate-note')?.innerText || '')"
                               " || document.querySelector('#output-text textarea').value.length >= 2007",
                               timeout=WAIT)
        page.wait_for_timeout(1000)
        shown = page.locator("#output-text textarea").input_value()
        if "Stopped" in text_of(page, "#generate-note") and len(shown) < 2007:
            break
    else:
        pytest.fail(f"no text stopped part-way in five: {text_of(page, '#generate-note')!r}")
    tab_to(page, "slider", "range slider for Inspect the choice at step")
    page.locator("#probs-plot .js-plotly-plot[aria-label]").wait_for(timeout=WAIT)
    last = label_of(page, "#probs-plot .js-plotly-plot")
    step = int(last.split("Step ")[1].split(",")[0].replace(",", ""))
    page.keyboard.press("ArrowLeft")
    page.wait_for_function("(s) => (document.querySelector('#probs-plot .js-plotly-plot')?.getAttribute('aria-label')"
                           " || '').startsWith('Step ' + s + ',')", arg=f"{step - 1:,}", timeout=WAIT)

    # train a bigram and stop it
    tab_to(page, "tab", "Train live", back=True, then="Enter")
    # Gradio 6.31 names each option of a gr.Radio apart, so the browser does not group them: each is
    # a Tab stop of its own, chosen with Space (arrow keys do not move the choice)
    tab_to(page, "input", "Bigram", then="Space")
    page.wait_for_function("() => !document.querySelector('input[aria-label*=\"Layers\"]')?.offsetParent",
                           timeout=WAIT)                  # a bigram has no layers to set
    tab_to(page, "input", "GPT", back=True, then="Space")   # and back: a GPT trains long enough to be stopped
    assert page.get_by_role("radio", name="GPT", exact=True).is_checked()
    tab_to(page, "button", "Train", then="Enter")
    page.wait_for_function("() => /step [0-9]/i.test(document.querySelector('#train-status')?.innerText || '')",
                           timeout=WAIT)
    tab_to(page, "button", "Stop", then="Enter")
    page.wait_for_function("() => /Stopped/.test(document.querySelector('#train-status')?.innerText || '')",
                           timeout=WAIT)

    # every Lab instrument, each with a setting changed by keyboard and its button pressed
    tab_to(page, "tab", "Lab", back=True, then="Enter")
    page.wait_for_function("() => document.querySelectorAll('#surprisal-text .token').length > 100", timeout=WAIT)
    page.locator("#predict-plot .js-plotly-plot").wait_for(timeout=WAIT)   # the Lab's opening, all drawn
    type_into(page, "input", "Inspect position", "5")
    tab_to(page, "button", "Inspect", then="Enter")
    page.wait_for_function("() => (document.querySelector('#predict-plot .js-plotly-plot')?.getAttribute('aria-label')"
                           " || '').startsWith('Position 5,')", timeout=WAIT)

    def instrument(name: str) -> None:
        tab_to(page, "tab", name, back=True, then="Enter")

    instrument("Head knockout")
    tab_to(page, "input", "mean", then="Space")   # the ablation
    tab_to(page, "button", "Knock out each head", then="Enter")
    page.wait_for_function("() => document.body.innerText.includes('replaced by its mean output')", timeout=WAIT)

    instrument("Logit lens")
    type_into(page, "input", "Position", "12")
    tab_to(page, "button", "Top five per layer", then="Enter")
    page.wait_for_function("() => document.body.innerText.includes('at position 12;')", timeout=WAIT)

    instrument("Induction")
    tab_to(page, "input", "a val passage", then="Space")   # written twice
    tab_to(page, "button", "Compare", then="Enter")
    page.wait_for_function("() => (document.querySelector('#copies-plot .js-plotly-plot')?.getAttribute('aria-label')"
                           " || '').includes('val passage, written twice')", timeout=WAIT)

    instrument("Memorisation")
    tab_to(page, "slider", "range slider for Shortest span (characters)", then="ArrowRight")
    tab_to(page, "button", "Find verbatim spans", then="Enter")
    page.wait_for_function("() => /of (at least )?21 (or more )?characters/.test(document.body.innerText)",
                           timeout=WAIT)

    # a feature by its number, once the sub-tab shows its first (as a person sees it opening), the
    # list of features passed on the way
    instrument("Features")
    page.wait_for_function("() => /Feature [0-9]+/.test(document.body.innerText) && "
                           "!(document.querySelector('#features-summary')?.innerText || '').includes('Opening')",
                           timeout=WAIT)
    type_into(page, "input", "Feature", "42")
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.body.innerText.includes('Feature 42 fires at')", timeout=WAIT)
    tab_to(page, "combobox", "Most frequent features", back=True, then="Tab")   # past the list again
    page.wait_for_timeout(1000)
    assert "Feature 42 fires at" in page.evaluate("() => document.body.innerText")

    # the tabs not yet opened on the way, each drawn when the keyboard opens it
    for tab, drawn in (("Class board", "#board-headline h2"), ("Learn", "#ladder-plot .js-plotly-plot[aria-label]"),
                       ("Loss curves", "#losses-plot .js-plotly-plot[aria-label]")):
        tab_to(page, "tab", tab, back=True, then="Enter")
        page.locator(drawn).first.wait_for(timeout=WAIT)
