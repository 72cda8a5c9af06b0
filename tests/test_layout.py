"""The layout the code promises: `gpt` is a library (no Gradio, no app settings), and neither
package has an import circle. Checked from the source with `ast`, without importing it."""
import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("gpt", "studio", "ui")


def module_imports(package: str) -> dict[str, set[str]]:
    """For each module of `package`, the modules of either package it imports at any depth
    of its code (deferred imports inside functions count: they are circles all the same)."""
    graph = {}
    for path in sorted((REPO / package).rglob("*.py")):
        parts = path.relative_to(REPO).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        home = parts[:-1]                     # the package a relative import starts from
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                if node.level:       # relative: from .x import y, from . import x, from ..x import y
                    base = ".".join(home[:len(home) - node.level + 1])
                    targets = [f"{base}.{node.module}"] if node.module else [f"{base}.{a.name}" for a in node.names]
                else:
                    targets = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                continue
            found |= {t for t in targets if t and t.split(".")[0] in PACKAGES}
        graph[name] = found
    return graph


def test_no_import_circles():
    graph = {}
    for package in PACKAGES:
        graph.update(module_imports(package))
    graph = {m: {t for t in targets if t in graph and t != m and t not in PACKAGES} for m, targets in graph.items()}
    state: dict[str, str] = {}

    def visit(module, path):
        state[module] = "open"
        for target in sorted(graph[module]):
            if state.get(target) == "open":
                pytest.fail("import circle: " + " -> ".join(path[path.index(target):] + [target]))
            if target not in state:
                visit(target, path + [target])
        state[module] = "done"

    for module in graph:
        if module not in state:
            visit(module, [module])
    assert len(graph) > 20


def test_the_library_knows_nothing_of_the_app():
    for path in (REPO / "gpt").rglob("*.py"):
        text = path.read_text()
        assert "gradio" not in text.lower(), f"{path} mentions gradio"
        assert "GPT_APP_" not in text, f"{path} reads the app's settings"
        assert "studio" not in module_imports("gpt").get(f"gpt.{path.stem}", set()), path


def test_studio_computes_without_gradio():
    """studio/ is what the app computes, tested without a browser: it never imports Gradio
    (it may name Gradio's modules, as fast_start does, to patch them before they load)."""
    for path in sorted((REPO / "studio").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            assert not any(n.split(".")[0] in ("gradio", "gradio_client") for n in names), \
                f"{path.relative_to(REPO)} imports {names}"


def test_app_settings_are_read_in_one_place():
    sources = [REPO / "app.py", *(REPO / "studio").glob("*.py"), *(REPO / "ui").glob("*.py")]
    readers = [p.relative_to(REPO).as_posix() for p in sources
               if "GPT_APP_" in p.read_text() and "os.environ" in p.read_text()]
    assert readers == ["studio/settings.py"]


def test_studio_never_reaches_into_the_ui():
    for module, targets in module_imports("studio").items():
        assert not any(t.split(".")[0] == "ui" for t in targets), f"{module} imports {targets}"


def test_the_ui_is_one_small_module_per_tab_and_app_py_only_launches():
    """app.py builds and launches; each tab's layout and wiring is its own module, none large,
    and no component is built at import time (a module-level component is shared state)."""
    modules = {p.stem for p in (REPO / "ui").glob("*.py")} | {p.parent.name for p in (REPO / "ui").glob("*/__init__.py")}
    assert {"generate", "attention", "losses", "train", "timeline", "lab", "learn", "board", "shared"} <= modules
    assert len((REPO / "app.py").read_text().splitlines()) < 80
    for path in [REPO / "app.py", *sorted((REPO / "ui").rglob("*.py"))]:
        lines = path.read_text().splitlines()
        assert path.name == "app.py" or len(lines) <= 350, f"{path.name} has {len(lines)} lines"
        for statement in ast.parse(path.read_text()).body:
            if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                continue
            for node in ast.walk(statement):
                if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                        and isinstance(node.func.value, ast.Name) and node.func.value.id == "gr"
                        and node.func.attr[:1].isupper()):
                    pytest.fail(f"{path.name}:{node.lineno} builds gr.{node.func.attr} at module level")


def test_no_function_of_the_ui_is_long_and_no_component_is_found_by_id():
    """A tab is read in parts of at most 120 lines (the Lab's build was 293); a component is found
    by its name, never by `id()` (the Lab filled its inputs from values[0]…values[9])."""
    for path in sorted((REPO / "ui").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                assert length <= 120, f"{path.relative_to(REPO)}: {node.name} has {length} lines"
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "id":
                pytest.fail(f"{path.relative_to(REPO)}:{node.lineno} finds something by id()")


def test_the_tab_bars_hold_tabs_alone():
    """A component built inside gr.Tabs but outside any gr.Tab (a State, a hidden button) took a
    place in the tab bar: clicking Lab once relabelled Learn as a second 'Lab'."""
    import gradio as gr

    import app

    for block in app.demo.blocks.values():
        if isinstance(block, gr.Tabs):
            strays = [type(child).__name__ for child in block.children if not isinstance(child, gr.Tab)]
            assert not strays, f"{block.elem_id or block._id} holds {strays}"


def test_progress_is_shown_within_one_tab_and_never_on_a_layout_block():
    """Gradio 6.31's page copies the value of every component that was ever a progress target,
    and of all its children, at each status change of any listener, for the rest of the session
    (ui/shared.py, 'Progress targets'). The tab bar among them once made every Timeline frame
    copy the whole page; a listener that draws every tab does the same, tab by tab."""
    import gradio as gr
    from gradio.blocks import BlockContext

    import app

    tab_bar = app.PAGE.shared.tabs
    shown, quiet = set(), set()

    def tab_of(block) -> str:
        while block is not None and block.parent is not tab_bar:
            block = block.parent
        return "outside the tabs" if block is None else block.label

    for dep in app.demo.config["dependencies"]:
        targets = [app.demo.blocks[i] for i in (dep.get("show_progress_on") or dep["outputs"])]
        where = f"the listener {dep.get('api_name')} on {dep['targets']}"
        layout = [type(t).__name__ for t in targets if isinstance(t, BlockContext)]
        assert not layout, f"{where} shows progress on {layout}"
        tabs = {tab_of(t) for t in targets if not isinstance(t, gr.State)}
        assert len(tabs) <= 1, f"{where} shows progress in {sorted(tabs)}"
        if dep["backend_fn"]:
            (quiet if dep["show_progress"] == "hidden" else shown).update(t._id for t in targets)
    assert len(quiet - shown) == 1, "the listeners that show no progress share one target, not each its own"
