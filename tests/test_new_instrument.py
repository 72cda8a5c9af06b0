"""A new Lab instrument is one module (plus its library function): the worked example of issue 38.

A copy of the app gets two new files and no other change: `gpt/vowels.py` (a library function)
and `ui/lab/vowels.py` (the instrument, tests/toy_instrument/). The instrument then has its
sub-tab in the Lab, its link parameter, its place in the page's list of instruments, its
endpoint in the assistants' tools, and its code view; and what it shows is the library's number."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from appserver import free_port

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = Path(__file__).with_name("toy_instrument")


def copy_with(tmp: Path, added: dict[str, Path]) -> Path:
    """The app's files, linked (the packages that gain a file are copied, and studio/, whose code
    views name files by their place under the app), plus `added`."""
    root = tmp / "app"
    root.mkdir()
    for entry in ROOT.iterdir():
        if entry.name in ("ui", "studio", "gpt") or entry.name.startswith("."):
            continue
        (root / entry.name).symlink_to(entry)
    for package in ("ui", "studio"):
        shutil.copytree(ROOT / package, root / package, ignore=shutil.ignore_patterns("__pycache__"))
    (root / "gpt").mkdir()
    for entry in (ROOT / "gpt").iterdir():
        if entry.name != "__pycache__":
            (root / "gpt" / entry.name).symlink_to(entry)
    for path, source in added.items():
        assert not (root / path).exists(), f"{path} must be new"
        shutil.copy(source, root / path)
    return root


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    pytest.importorskip("mcp")
    root = copy_with(tmp_path_factory.mktemp("instrument"), {"gpt/vowels.py": EXAMPLE / "vowels_library.py",
                                                               "ui/lab/vowels.py": EXAMPLE / "vowels_instrument.py"})
    env = dict(os.environ, PYTHONPATH=str(root), GPT_APP_DATA=str(root.parent / "data"))
    done = subprocess.run([sys.executable, str(EXAMPLE / "check.py"), str(free_port()),
                           str(ROOT / "tests" / "mcp_client.py")], cwd=root, env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    line = next(line for line in done.stdout.splitlines() if line.startswith("RESULT "))
    return json.loads(line[len("RESULT "):])


def expected_note() -> str:
    import importlib.util

    import gpt

    spec = importlib.util.spec_from_file_location("vowels", EXAMPLE / "vowels_library.py")
    library = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(library)
    p = library.vowel_probability(gpt.load(ROOT / "checkpoints" / "shakespeare-gpt"), "ROMEO:\nO Juliet")
    return f"A vowel next: {sum(p) / len(p):.4f} on average over {len(p)} positions."


def test_the_new_instrument_has_its_sub_tab_and_opens_on_the_library_number(example):
    assert example["lab_tabs"] == ["lab-surprisal", "lab-knockout", "lab-lens", "lab-induction", "lab-memorised",
                                   "lab-vowels", "lab-features"]
    assert example["opened_note"] == [expected_note()]


def test_the_new_instrument_is_in_links_and_the_pages_list(example):
    assert example["link"]["problems"] == []
    assert example["link"]["values"] == {"tab": "lab", "lab": "vowels", "vtext": "ROMEO:\nO"}
    assert example["link"]["encoded"] == "tab=lab&lab=vowels&vtext=ROMEO%3A%0AO"
    assert "vowels" in example["page_script_lab"]


def test_the_new_instrument_is_an_assistants_tool_with_its_docstring(example):
    assert "How likely the model thinks a vowel comes next" in example["tools"]["lab_vowels"]
    assert "{MODEL}" not in example["tools"]["lab_vowels"]
    assert not example["called"]["isError"] and expected_note() in example["called"]["text"]


def test_the_new_instrument_shows_its_code(example):
    assert "def vowel_probability(" in example["code"] and "`gpt/vowels.py` lines" in example["code"]
    assert "Shapes when it returned" in example["code"]
