"""Start the app in-process on a free port, once per test module that needs it."""
import socket


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch_app():
    import app

    _, url, _ = app.launch(prevent_thread_lock=True, quiet=True, server_name="127.0.0.1", server_port=free_port())
    return app, url
