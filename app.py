"""tinyshakespeare-gpt: watch a small character-level GPT write, attend and learn.

Builds the page (`ui/`, one module per tab) on what the app computes (`studio/`) and the `gpt`
library, and launches it. Spaces and `gradio app.py` find `demo` here.
"""
from __future__ import annotations

from pathlib import Path

from studio.settings import SETTINGS
from ui.fast_start import require_applied, skip_gradio_dev_work   # imports no Gradio

if SETTINGS.fast_start:          # GPT_APP_FAST_START=0 imports gradio as it comes (bench/app.py's baseline)
    skip_gradio_dev_work()       # must precede `import gradio`: see ui/fast_start.py

import torch  # noqa: E402

import ui  # noqa: E402  (imports gradio)
from ui import session_records  # noqa: E402
from studio import shutdown  # noqa: E402
from studio.resources import Resources  # noqa: E402
from studio.sessions import start_sweeper  # noqa: E402
from studio.warmup import warm_in_background  # noqa: E402

if SETTINGS.fast_start:
    require_applied()            # a Gradio that moved what the shim patches: say so, rather than start slow

# Generation and live training share two cores; one thread per request keeps them from
# fighting (measured: 2 threads per process degrade badly when another process runs).
torch.set_num_threads(SETTINGS.threads)

RESOURCES = Resources.from_settings(Path(__file__).resolve().parent / "checkpoints")
PAGE = ui.build(RESOURCES)
demo = PAGE.demo


session_records.adopt()      # sessions cost what they use; the sweeper reads their records: stop here if they moved
RESOURCES.boards.stop_orphaned_runs()   # runs a dead server was training stop counting as live


def launch(**kwargs):
    # demo.state_holder exists once the server does (launch makes it): the sweeper looks it up each time
    start_sweeper(lambda: getattr(demo, "state_holder", None), SETTINGS.session_ttl, SETTINGS.max_sessions,
                  PAGE.shared.worth_keeping)
    warm_in_background(RESOURCES, PAGE.lab.warm)    # what the first visitors would wait for
    return demo.launch(**ui.launch_options(RESOURCES) | kwargs)


if __name__ == "__main__":
    shutdown.install()           # SIGTERM: streams in flight end with a message, then the server closes
    launch()
