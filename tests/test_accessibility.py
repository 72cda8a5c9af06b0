"""Every learner (issue 39): axe-core finds no serious or critical WCAG 2.2 AA violation on any tab
or Lab instrument in its drawn state, on a laptop and on a phone; the colours the page draws are
readable (4.5:1 for text); the colour maps of the figures read without colour vision."""
import contextlib
import re
import sys
from pathlib import Path

import numpy as np
import pytest

from pages import playwright_or_skip

ROOT = Path(__file__).resolve().parents[1]
SIZES = [(1280, 800), (390, 844)]


@pytest.fixture(scope="module")
def app_url():
    """The app as a process of its own with a board store of its own (the board tab opens boards,
    which count against the other tests' address)."""
    playwright_or_skip()
    sys.path[:0] = [str(ROOT / "docs")]
    from screenshots import served_app

    with served_app() as url:
        yield url


@pytest.fixture(scope="module")
def audited(app_url):
    """axe's violations on every tab and instrument (docs/screenshots.py draws them) at both sizes,
    the phone a touch screen."""
    pytest.importorskip("axe_playwright_python")
    from bench.accessibility import audit
    from screenshots import TABS

    return audit(app_url, SIZES, list(TABS)), list(TABS)


def test_no_serious_or_critical_violation_on_any_tab_or_instrument(audited):
    found, tabs = audited
    from ui import lab

    assert {*lab.keys()} - {"surprisal"} <= set(tabs)             # every instrument is audited, drawn
    assert len(found) == len(tabs) * len(SIZES)
    grave = [f"{tab} {size}: {v['id']} ({v['impact']}, {len(v['nodes'])} nodes, e.g. {v['nodes'][0]['target']})"
             for tab, size, violations, _ in found for v in violations if v["impact"] in ("serious", "critical")]
    assert grave == []


def test_every_plot_is_a_figure_named_by_its_words(audited):
    """A screen reader meets each plot as a figure named by what it shows (gpt/plot_words.py): on
    every tab and instrument, drawn, on a laptop and a phone."""
    found, _ = audited
    plots = [(tab, size, plot) for tab, size, _, shown in found for plot in shown]
    assert len({plot["id"] for _, _, plot in plots}) >= 15          # the Lab's, the Timeline's, Learn's, ...
    unnamed = [(tab, size, plot["id"]) for tab, size, plot in plots
               if not (plot["role"] == "figure" and plot["words"] and plot["name"] == plot["words"])]
    assert unnamed == []


NAMED = {"white": "#ffffff", "black": "#000000"}
LUMINANCE = np.array([0.2126, 0.7152, 0.0722])
"""Linear RGB's weights in luminance (Y), as WCAG 2.2 and CIE L* both use them."""


def linear(srgb: np.ndarray) -> np.ndarray:
    """sRGB values in [0, 1] as linear light."""
    return np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)


def luminance(colour: str) -> float:
    """WCAG 2.2's relative luminance of an sRGB colour (#rrggbb, or white or black)."""
    hex_colour = NAMED.get(colour, colour).lstrip("#")
    return float(linear(np.array([int(hex_colour[i:i + 2], 16) for i in (0, 2, 4)]) / 255) @ LUMINANCE)


def contrast(a: str, b: str) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_contrast_is_measured_as_wcag_does():
    assert contrast("#ffffff", "#000000") == pytest.approx(21)
    assert contrast("#ffffff", "#f97316") == pytest.approx(2.80, abs=0.01)      # axe's figure for Gradio's orange
    assert contrast("#bbbbc2", "#ffffff") == pytest.approx(1.90, abs=0.01)      # and for its subdued grey


def test_the_themes_text_colours_are_readable_on_what_they_are_drawn_on():
    """The colours the page's theme resolves to (`ui.theme`), light and dark: 4.5:1 at least."""
    from ui.theme import accessible_theme

    theme = accessible_theme()

    def resolved(name: str) -> str:
        """As Gradio writes the theme's CSS: a reference ("*x") in a dark value reads x's dark value."""
        dark, value = name.endswith("_dark"), getattr(theme, name)
        while isinstance(value, str) and value.startswith("*"):
            ref = value[1:]
            value = getattr(theme, ref + "_dark") if dark and hasattr(theme, ref + "_dark") else getattr(theme, ref)
        return value

    pairs = [("button_primary_text_color", "button_primary_background_fill"),
             ("button_primary_text_color", "button_primary_background_fill_hover"),
             ("button_primary_text_color_dark", "button_primary_background_fill_dark"),
             ("button_cancel_text_color", "button_cancel_background_fill"),
             ("button_cancel_text_color", "button_cancel_background_fill_hover"),
             ("button_cancel_text_color_dark", "button_cancel_background_fill_dark"),
             ("body_text_color_subdued", "body_background_fill"),
             ("body_text_color", "body_background_fill"),
             ("block_label_text_color", "block_background_fill"),
             ("body_text_color_dark", "body_background_fill_dark"),
             ("body_text_color_subdued_dark", "body_background_fill_dark")]
    for text, background in pairs:
        ratio = contrast(resolved(text), resolved(background))
        assert ratio >= 4.5, f"{text} {resolved(text)} on {background} {resolved(background)}: {ratio:.2f}"


# Machado, Oliveira and Fernandes (2009): full-severity protanopia and deuteranopia on linear RGB
CVD = {"protanopia": np.array([[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216],
                               [-0.003882, -0.048116, 1.051998]]),
       "deuteranopia": np.array([[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413],
                                 [-0.011820, 0.042940, 0.968881]])}


def lightness(rgb: np.ndarray) -> np.ndarray:
    """CIE L* of linear-RGB colours (n, 3)."""
    y = np.clip(rgb, 0, 1) @ LUMINANCE
    return np.where(y > 216 / 24389, 116 * np.cbrt(y) - 16, y * 24389 / 27)


def scale_colours(name: str, n: int = 33) -> np.ndarray:
    """A plotly colour scale sampled at n points, as linear RGB (n, 3)."""
    from plotly.colors import get_colorscale, sample_colorscale, unlabel_rgb

    return linear(np.array([unlabel_rgb(c) for c in sample_colorscale(get_colorscale(name), list(np.linspace(0, 1, n)),
                                                                      colortype="rgb")]) / 255)


def test_every_colour_map_reads_without_colour_vision():
    """Each map the figures use (read from gpt/plots.py) orders its values by lightness, as seen with
    full colour vision and with protanopia or deuteranopia: a sequential map's lightness rises (or falls)
    all the way; a diverging map's falls from each end to its middle, its two ends told apart."""
    names = set(re.findall(r'colorscale="(\w+)"', (ROOT / "gpt" / "plots.py").read_text()))
    assert names and names <= {"Viridis", "Cividis", "Blues", "RdBu_r"}, names
    for name in names:
        colours = scale_colours(name)
        for vision, matrix in [("full", np.eye(3)), *CVD.items()]:
            seen = lightness(colours @ matrix.T)
            steps = np.diff(seen)
            if name == "RdBu_r":                                            # diverging: light in the middle
                middle = len(seen) // 2
                assert (steps[:middle] > 0).all() and (steps[middle:] < 0).all(), (name, vision)
                ends = np.clip(colours[[0, -1]] @ matrix.T, 0, 1) ** (1 / 2.2)      # as shown (sRGB, roughly)
                assert np.abs(ends[0] - ends[1]).max() > 0.2, (name, vision)   # blue and red stay two colours
            else:
                assert (steps > 0).all() or (steps < 0).all(), (name, vision, seen.round(1))


# ---------------------------------------------------------------- colour is never the only cue

UNDERLINED_FROM = 0.25
"""The shade (a character's score in [0, 1]) from which its underline is drawn (assets/app.css)."""
THICKEST_PX = 6


@contextlib.contextmanager
def laptop_page(url: str):
    """The app at 1280×800 in a headless Chromium, once it is on the page."""
    from playwright.sync_api import sync_playwright

    from pages import chromium

    with sync_playwright() as p:
        browser = chromium(p)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(url)
        page.get_by_role("heading", name="tinyshakespeare-gpt").wait_for(timeout=120_000)
        yield page
        browser.close()


LINE_DRAWN = r"""drawn => ({line: drawn.textDecorationLine, thickness: parseFloat(drawn.textDecorationThickness),
    seen: !/(, 0\)|\/ 0\))$/.test(drawn.textDecorationColor) && drawn.textDecorationLine !== 'none'})"""
"""The line drawn beside a character's colour, from its computed style: kind, thickness, and whether
it shows (a transparent line, as under a pale shade, does not)."""


def shaded_characters(page, box: str) -> list[dict]:
    """Each character of a coloured text box as drawn: its text, the shade Gradio gave it (the
    background's alpha), and the cue beside the colour (line, thickness, whether it is visible)."""
    page.wait_for_function(f"() => [...document.querySelectorAll('{box} .score-token')].some(t => t.dataset.sign)",
                           timeout=60_000)
    return page.evaluate("""box => [...document.querySelectorAll(box + ' .score-token')].map(token => {
        const text = token.querySelector('.text');
        const shade = /rgba?\\((\\d+), *\\d+, *\\d+(?:, *([\\d.]+))?\\)/.exec(token.style.backgroundColor);
        return {char: text.textContent, shade: shade ? Number(shade[2] ?? 1) * (shade[1] > 200 ? 1 : -1) : null,
                ...(""" + LINE_DRAWN + """)(getComputedStyle(text))};
    })""", box)


def test_surprisal_is_underlined_as_thick_as_it_is_shaded(app_url):
    """The surprisal of each character, as a line under it as thick as its red (over it where
    another model reads it better): what a student who cannot tell the shades apart reads
    instead. Checked against the scores the app computes for the same text, alone and compared
    with another model (tests/test_lab.py checks those against an independent forward pass)."""
    import gpt
    from gpt import lab
    from screenshots import TABS
    from studio.lab import surprisal_view

    with laptop_page(app_url) as page:
        TABS["lab"](page)
        text = page.locator("#lab-text textarea").input_value()
        alone = shaded_characters(page, "#surprisal-text")
        page.locator("#surprisal-note").get_by_text("Most surprising").wait_for()
        note = page.locator("#surprisal-note").inner_text()
        page.get_by_label("Compare with", exact=True).click()
        page.get_by_role("option", name="shakespeare-mlp", exact=True).click()
        page.get_by_role("button", name="Measure surprisal").click()
        page.locator("#surprisal-note").get_by_text("This model:").wait_for(timeout=60_000)
        page.wait_for_timeout(600)
        compared = shaded_characters(page, "#surprisal-text")

    shipped, mlp = gpt.load("checkpoints/shakespeare-gpt"), gpt.load("checkpoints/shakespeare-mlp")
    gpt_bits, mlp_bits = lab.bits(lab.surprisal(shipped, text)), lab.bits(lab.surprisal(mlp, text))
    for drawn, view in ((alone, surprisal_view(shipped, text)), (compared, surprisal_view(shipped, text, mlp, "mlp"))):
        expected = np.array([score for _, score in view.highlighted[1:]])
        assert "".join(c["char"] for c in drawn).replace("\n", "") == text.replace("\n", "")
        assert drawn[0]["shade"] is None and not drawn[0]["seen"]          # the first character is not predicted
        shades = np.array([c["shade"] for c in drawn[1:]], dtype=float)
        np.testing.assert_allclose(shades, expected, atol=0.006)          # the browser keeps an alpha in 8 bits
        for c, level in zip(drawn[1:], expected):
            if abs(abs(level) - UNDERLINED_FROM) > 0.006:
                assert c["seen"] == (abs(level) >= UNDERLINED_FROM), c
            if c["seen"]:
                assert c["line"] == ("underline" if c["shade"] > 0 else "overline"), c
                assert c["thickness"] == pytest.approx(abs(c["shade"]) * THICKEST_PX, abs=0.01), c
    # the note's five most surprising characters are drawn with the thickest lines
    named = [int(n) for n in re.findall(r"” at (\d+) \(", note.split("Most surprising: ")[1])]
    assert len(named) == 5
    others = max(c["thickness"] for i, c in enumerate(alone) if i not in named and c["shade"] is not None)
    assert all(alone[i]["thickness"] >= others - 0.01 and alone[i]["seen"] for i in named)
    assert (gpt_bits < mlp_bits).any() and sum(c["line"] == "overline" and c["seen"] for c in compared) > 10


def test_memorised_spans_and_feature_activations_are_underlined_too(app_url):
    """The spans found in the training text are underlined, the rest not; a feature's contexts
    underline each character as thick as its activation (the shade's alpha)."""
    from screenshots import TABS

    with laptop_page(app_url) as page:
        TABS["memorised"](page)
        spans = page.evaluate("""() => [...document.querySelectorAll('#memo-text .token')].map(token =>
            ({found: token.classList.contains('highlighted'),
              ...(""" + LINE_DRAWN + """)(getComputedStyle(token.querySelector('.text')))}))""")
        TABS["features"](page)
        contexts = page.evaluate("""() => [...document.querySelectorAll('#feature-contexts .token')].map(token =>
            ({activation: Number(token.dataset.a || 0), ...(""" + LINE_DRAWN + """)(getComputedStyle(token))}))""")
    assert any(s["found"] for s in spans) and any(not s["found"] for s in spans)
    for span in spans:
        assert (span["line"], span["thickness"]) == (("underline", 2) if span["found"] else ("none", span["thickness"]))
    shaded = [c for c in contexts if c["activation"] > 0]
    assert len(shaded) > 20 and any(c["activation"] >= UNDERLINED_FROM for c in shaded)
    for c in shaded:
        assert c["line"] == "underline" and c["thickness"] == pytest.approx(c["activation"] * THICKEST_PX, abs=0.01)
        assert c["seen"] == (c["activation"] >= UNDERLINED_FROM), c
    assert all(c["line"] == "none" for c in contexts if c["activation"] == 0)
