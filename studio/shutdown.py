"""A server told to stop (SIGTERM: a Space restarting or being updated) tells everyone whose
text or training is in flight, then closes.

Without this, SIGTERM ends the process at once: a student's text just stops, with no word of
why. With it, every stream sees `STOPPING` at its next update and ends with `MESSAGE`; after
`grace` seconds a KeyboardInterrupt is raised in the main thread, which Gradio's launch loop
takes as the usual Ctrl-C and closes the server. It is raised by this module's own SIGTERM
handler, not through SIGINT: a server started in the background (`nohup python app.py &`)
inherits SIGINT ignored, and then a simulated Ctrl-C does nothing and the server never closed.
"""
from __future__ import annotations

import _thread
import signal
import threading
import time

STOPPING = threading.Event()
GRACE = 3.0
MESSAGE = ("**The server is restarting** (a new version, or the Space being moved): this stopped here. "
           "Reload the page in a minute and press the button again.")


def install(grace: float = GRACE) -> bool:
    """Take SIGTERM over in this process (only the main thread can); True if it was."""
    if threading.current_thread() is not threading.main_thread():
        return False

    def on_terminate(signum, frame) -> None:
        if STOPPING.is_set():                 # a second SIGTERM, or the grace is over (_close_after)
            raise KeyboardInterrupt
        STOPPING.set()
        threading.Thread(target=_close_after, args=(grace,), daemon=True, name="shutdown").start()

    signal.signal(signal.SIGTERM, on_terminate)
    return True


def _close_after(grace: float) -> None:
    time.sleep(grace)
    _thread.interrupt_main(signal.SIGTERM)    # on_terminate, in the main thread: KeyboardInterrupt -> close
