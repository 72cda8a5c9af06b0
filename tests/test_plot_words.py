"""Every figure says itself in words (gpt/plot_words.py), and the words are the figure's numbers."""
import inspect

import numpy as np
import pytest

import gpt
from gpt import plots
from gpt.plot_words import in_words, number, plain


@pytest.fixture(scope="module")
def shipped():
    return gpt.load("checkpoints/shakespeare-gpt")


def test_every_figure_function_carries_its_words():
    made = [name for name, fn in inspect.getmembers(plots, inspect.isfunction)
            if name.endswith("_figure") and not name.startswith("_") and fn.__module__ == plots.__name__]
    assert len(made) >= 17
    assert [name for name in made if not getattr(getattr(plots, name), "worded", False)] == []


def test_plotlys_text_is_read_as_plain_words():
    assert plain("Step 1,000, after “O<br>Romeo”") == "Step 1,000, after “O, Romeo”"
    assert plain("&lt;img src=x&gt; <b>bold</b>") == "<img src=x> bold"
    assert plain("e\u200b\u200b") == "e"                 # a repeated character's invisible spaces
    assert (number(6500.0), number(0.00123), number(4.1523), number(3.0)) == ("6,500", "0.00123", "4.15", "3")


def test_a_loss_curve_says_where_each_line_starts_ends_and_turns(shipped):
    history = shipped.history
    words = plots.loss_figure(history, 65, title="Loss").layout.meta["in_words"]
    val = np.array([h["val_loss"] for h in history])
    steps = [h["step"] for h in history]
    assert words.startswith("Loss (across: step; up: loss")
    assert (f"val: {len(history)} points from {steps[0]:,} to {steps[-1]:,}; starts at {val[0]:.3g}, ends at "
            f"{val[-1]:.3g}, lowest {val.min():.3g} at {steps[int(val.argmin())]:,}") in words


def test_bars_name_the_tallest_with_their_values(shipped):
    probs = np.zeros(65)
    probs[[5, 9, 30, 40]] = [0.1, 0.5, 0.3, 0.1]
    chars = shipped.tokenizer.chars
    words = plots.next_char_figure(chars, probs, picked=chars[30], title="After “ROMEO”").layout.meta["in_words"]
    assert f"model: tallest {plain(plots.show_char(chars[9]))} 0.5, {chars[30]} 0.3, " in words
    assert words.startswith("After “ROMEO”, picked ") and f"picked: tallest {chars[30]} 0.3" in words


def test_a_map_names_its_largest_cells_by_their_characters(shipped):
    from gpt.introspect import attention_maps

    text = "ROMEO:\nO, she doth teach the torches to burn bright!"
    weights = attention_maps(shipped, text, len(text)).maps[2][3]
    words = plots.attention_figure(list(text), weights, "Layer 2, head 3").layout.meta["in_words"]
    order = np.argsort(-weights.ravel(), kind="stable")[:3]
    cells = [f"row {plots.show_char(text[i // len(text)])}, column {plots.show_char(text[i % len(text)])}: "
             f"{number(weights.ravel()[i])}" for i in order]
    assert f"{len(text)} rows by {len(text)} columns; largest " + ", ".join(cells) in words


def test_many_traces_are_counted_not_all_read():
    from gpt.plot_words import MAX_TRACES

    fig = plots.figure()
    for i in range(MAX_TRACES + 4):
        fig.add_trace(plots.go.Scatter(x=[0, 1], y=[i, i + 1], name=f"run {i}"))
    words = in_words(fig)
    assert "run 11:" in words and "run 12:" not in words and words.endswith("; and 4 more.")


def test_the_boards_curves_say_each_nickname_as_typed():
    from studio.board_store import RunRecord
    from studio.class_board import curves_figure

    run = RunRecord(id=1, nickname="<b>Ada</b> & co", settings={}, started=0.0,
                    points=[(0, 0.0, 4.2), (1, 5.0, 2.5)])
    words = curves_figure("GPT-ABC-DEF", [run]).layout.meta["in_words"]
    assert "\u2068<b>Ada</b> & co\u2069: 2 points from 0 to 5; starts at 4.2, ends at 2.5" in words   # isolated


def test_the_largest_values_are_a_stable_sorts_first_without_the_sort():
    from gpt.plot_words import largest

    rng = np.random.default_rng(0)
    for _ in range(2000):                            # small integers: many ties at the n-th value
        values = rng.integers(0, 5, size=rng.integers(1, 40)).astype(float)
        assert list(largest(values)) == list(np.argsort(-values, kind="stable")[:3]), values
    with_gaps = np.array([2.0, np.nan, 5.0, 2.0, np.nan])
    assert list(largest(with_gaps)) == [2, 0, 3]                # a gap (NaN) is never among the largest
