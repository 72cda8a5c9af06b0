"""The names a figure gives the app's page in `layout.meta` (gpt.plots.PAGE_HINTS) are the ones
its scripts read: renaming one on either side fails here, not silently on a phone."""
import re
from pathlib import Path

import numpy as np
import pytest

from gpt import plots

ROOT = Path(__file__).resolve().parents[1]


def names_the_page_reads() -> dict[str, set[str]]:
    """Each `meta.NAME` in the page's scripts (assets/*.html and the JS inside ui/), with where."""
    read: dict[str, set[str]] = {}
    for path in [*ROOT.glob("assets/*.html"), *ROOT.glob("ui/**/*.py")]:
        for match in re.finditer(r"\bmeta\??\.([A-Za-z_]+)", path.read_text()):
            read.setdefault(match.group(1), set()).add(str(path.relative_to(ROOT)))
    return read


def test_the_page_reads_every_hint_and_no_other():
    read = names_the_page_reads()
    assert set(read) - set(plots.PAGE_HINTS) == set(), f"read but never written: {read}"
    assert set(plots.PAGE_HINTS) - set(read) == set(), "written but never read"


def test_a_hint_not_in_the_list_is_refused():
    with pytest.raises(ValueError, match="not a page hint: \\['squared'\\]"):
        plots.hinted(plots.figure(), squared=True)


def test_hints_add_up_rather_than_replace_each_other():
    weights = np.tril(np.ones((4, 4))) / np.arange(1, 5)[:, None]
    meta = plots.attention_figure(list("abcd"), weights, "Layer 0").layout.meta
    assert meta["square"] is True and meta["colorbar"] is True and meta["side"] == 320
    assert meta["in_words"].startswith("Layer 0")

    history = [{"step": s, "train_loss": 4 - s / 100, "val_loss": 4.1 - s / 100, "tokens": 64 * s}
               for s in (0, 50, 100)]
    loss = plots.hinted(plots.loss_figure(history, 65, marker_step=50, marker_steps=[0, 50, 100]),
                        frames=[["note", "sample"]] * 3)
    meta = loss.layout.meta
    assert meta["marker"]["points"][1][:2] == [50, pytest.approx(3.6)] and meta["frames"][0] == ["note", "sample"]
    assert "val" in meta["in_words"]
