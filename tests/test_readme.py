"""The README's library cells are a notebook: run in order, in one namespace, from the
repository's root, they work as written (names defined before they are used)."""
import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def library_cells() -> list[str]:
    text = (ROOT / "README.md").read_text()
    library = text[text.index("## The library"):text.index("### More than one machine")]
    return [cell for cell in re.findall(r"```python\n(.*?)```", library, re.S) if "gradio_client" not in cell]


def test_the_readmes_library_cells_run_in_order(monkeypatch):
    cells = library_cells()
    assert len(cells) >= 4
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("HF_HUB_OFFLINE", os.environ.get("HF_HUB_OFFLINE", "1"))
    namespace: dict = {}
    for k, cell in enumerate(cells):
        exec(compile(cell, f"README cell {k + 1}", "exec"), namespace)      # noqa: S102 - our own README
    assert namespace["logits"].shape == (1, len(namespace["text"]), 65)
    assert namespace["grid"].shape == (6, 6) and namespace["probs"].shape[0] == 7
    assert 50 in namespace["trainer"].snapshots.steps and namespace["trainer"].diagnostics.records
