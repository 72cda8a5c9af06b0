"""ui.fast_start: `import gradio` without stub generation, searches for absent libraries or re-read signatures,
and nothing else changed.

Each case runs in a fresh interpreter, because the shim only acts before Gradio's first import.
"""
import importlib.machinery
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# A custom component in its own file: Gradio writes a .pyi stub next to the file that defines it.
GADGET = '''
from gradio.components.base import Component

class Gadget(Component):
    EVENTS = ["change"]
    def preprocess(self, payload): return payload
    def postprocess(self, value): return value
    def example_payload(self): return "x"
    def example_value(self): return "x"
    def api_info(self): return {"type": "string"}
'''


def run_python(code: str, cwd: Path) -> dict:
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": f"{ROOT}:{cwd}"}, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def import_gadget_and_build(skip: bool, cwd: Path) -> dict:
    (cwd / "gadget.py").write_text(GADGET)
    return run_python(f"""
        import json, sys
        from ui.fast_start import skip_gradio_dev_work
        if {skip}:
            skip_gradio_dev_work()
        import gradio as gr
        import gadget
        with gr.Blocks() as demo:
            box = gr.Textbox("hello")
            out = gr.Textbox()
            box.submit(lambda s: s.upper(), box, out)
        import inspect
        from gradio.state_holder import SessionState
        SessionState(demo)                     # a visitor's session: every block's config
        import importlib.machinery
        installed = importlib.machinery.PathFinder.find_spec("IPython") is not None
        print(json.dumps({{"ipython": "absent" if not installed else sys.modules.get("IPython", "not imported") is not None,
                          "events": len(demo.fns), "gadget_events": [e.event_name for e in gadget.Gadget.EVENTS],
                          "signatures_cached": gr.blocks.inspect is not inspect,
                          "session_config": json.dumps(SessionState(demo).config_values, sort_keys=True,
                                                       default=str)}}))
    """, cwd)


@pytest.fixture(scope="module")
def builds(tmp_path_factory) -> dict:
    """The same app built in a fresh interpreter without and with the shim: {shim: (folder, result)}."""
    folders = {shim: tmp_path_factory.mktemp(f"shim-{shim}") for shim in (False, True)}
    return {shim: (folder, import_gadget_and_build(shim, folder)) for shim, folder in folders.items()}


def test_gradio_writes_a_stub_without_the_shim(builds):
    """The control: plain `import gradio` writes a .pyi stub for a newly defined component."""
    folder, result = builds[False]
    assert (folder / "gadget.pyi").exists()
    assert result["events"] == 1
    assert result["signatures_cached"] is False
    assert '"value": "hello"' in result["session_config"]


def test_the_shim_skips_stub_writing_and_the_ipython_probe_only(builds):
    folder, result = builds[True]
    assert not (folder / "gadget.pyi").exists()
    assert result["ipython"] in (True, "absent")    # installed: left importable (blocked only where absent)
    assert result["events"] == 1                   # Blocks, components and events work as before
    assert result["gadget_events"] == ["change"]   # component classes still get their event listeners
    assert result["signatures_cached"] is True
    assert result["session_config"] == builds[False][1]["session_config"]   # a session's block configs as before


def test_the_shim_leaves_a_notebook_and_an_imported_gradio_alone(tmp_path):
    if importlib.machinery.PathFinder.find_spec("IPython") is None:     # on disk, whatever sys.modules says
        pytest.skip("IPython is not installed")
    result = run_python("""
        import json, sys
        import IPython                                            # as in a notebook kernel
        from ui.fast_start import skip_gradio_dev_work
        skip_gradio_dev_work()
        kept_ipython = sys.modules["IPython"] is not None
        import gradio
        finders_before = list(sys.meta_path)
        skip_gradio_dev_work()                                    # gradio already imported: a no-op
        ours = [f for f in sys.meta_path if type(f).__module__ == "ui.fast_start"]
        print(json.dumps({"kept_ipython": kept_ipython, "finders_unchanged": sys.meta_path == finders_before,
                          "finder_used_once": not ours}))
    """, tmp_path)
    assert result == {"kept_ipython": True, "finders_unchanged": True, "finder_used_once": True}


@pytest.mark.parametrize("gone", ["stub writer", "blocks' inspect"])
def test_the_shim_says_when_what_it_patches_is_gone(tmp_path, gone):
    """A Gradio that moved an internal the shim changes: start-up fails naming it, rather than
    running slow without a word; with everything in place, require_applied passes."""
    rename = ("fast_start.STUB_WRITER = 'a_writer_gradio_no_longer_has'" if gone == "stub writer" else
              "fast_start.AFTER_IMPORT[fast_start.BLOCKS_MODULE] = lambda m: fast_start._cache_signatures("
              "type('blocks', (), {'inspect': None})())")
    result = run_python(f"""
        import json
        from ui import fast_start
        fast_start.require_applied.__doc__                # imported before gradio
        {rename}
        fast_start.skip_gradio_dev_work()
        import gradio
        try:
            fast_start.require_applied()
            print(json.dumps({{"raised": None}}))
        except RuntimeError as e:
            print(json.dumps({{"raised": str(e)}}))
    """, tmp_path)
    expected = "component_meta.a_writer_gradio_no_longer_has" if gone == "stub writer" else "gradio.blocks.inspect"
    assert result["raised"] and expected in result["raised"] and "GPT_APP_FAST_START=0" in result["raised"]


def test_the_shim_applied_everything_to_this_gradio(tmp_path):
    result = run_python("""
        import json
        from ui import fast_start
        fast_start.skip_gradio_dev_work()
        import gradio
        fast_start.require_applied()
        print(json.dumps({"missing": fast_start.MISSING}))
    """, tmp_path)
    assert result == {"missing": []}


def test_the_shim_lives_in_ui_and_importing_it_imports_no_gradio(tmp_path):
    """Nothing outside ui/ changes Gradio: the shim is ui.fast_start, and `ui` itself imports no Gradio
    until the page is asked for (app.py imports the shim first)."""
    result = run_python("""
        import json, sys
        import ui.fast_start
        before = "gradio" in sys.modules
        import ui
        ui.view_names()
        print(json.dumps({"before": before, "after": "gradio" in sys.modules}))
    """, tmp_path)
    assert result == {"before": False, "after": True}
