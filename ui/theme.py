"""The page's colours: Gradio's default theme with every text at least 4.5:1 against what it is
drawn on (WCAG 2.2 AA). axe-core found white on the orange primary buttons (2.8:1, 3.55:1 when
hovered), white on the red Stop buttons (3.8:1) and the grey of slider ends, hints and the footer
(#bbbbc2 on white, 1.9:1); `tests/test_accessibility.py` measures the colours the page draws."""
from __future__ import annotations

import gradio as gr
from gradio.themes.utils import colors


def accessible_theme() -> gr.themes.Base:
    """Gradio's default theme, its buttons one or two shades darker and its subdued text darker grey."""
    return gr.themes.Default().set(
        button_primary_background_fill="*primary_700",           # #c2410c: white on it 5.2:1
        button_primary_background_fill_hover="*primary_800",
        button_primary_background_fill_dark="*primary_700",
        button_primary_background_fill_hover_dark="*primary_800",
        button_cancel_background_fill=colors.red.c700,           # #b91c1c: white on it 6.5:1
        button_cancel_background_fill_hover=colors.red.c800,
        button_cancel_background_fill_dark=colors.red.c700,
        button_cancel_background_fill_hover_dark=colors.red.c800,
        body_text_color_subdued="*neutral_600",                  # #52525b on white: 7.7:1
    )
