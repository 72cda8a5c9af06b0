"""Memory of a classroom's sessions: does the server give it back once they are abandoned?

    python bench/sessions.py [--sessions 30] [--ttl 15]

Starts `python app.py` with GPT_APP_SESSION_TTL=--ttl, warms it up (the shipped GPT loaded,
one generation), then opens --sessions gradio_client sessions at once: each generates 2,000
characters (every step's two distributions kept for the step inspector) and draws attention,
and every tenth also trains a bigram live (its model and timeline kept in the session). The
clients then close, and the server's resident memory (VmRSS) is read again after the
time-to-live has passed.

    python bench/sessions.py --anonymous 3000 [--max-sessions 200] [--compare-with CHECKOUT]

instead sends 3,000 refused requests, each from a new session (as a script guessing board codes
does), and reads the server's memory against the sessions it created, with the session bound
(GPT_APP_MAX_SESSIONS) and with Gradio's own (10,000) in the same run; `--compare-with` measures
another checkout's app.py the same way in the same run.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.app import free_port  # noqa: E402
from bench.common import machine, table  # noqa: E402
from gradio_client import Client  # noqa: E402


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def session(url: str, index: int) -> bool:
    client = Client(url, verbose=False)
    try:
        text = client.predict("ROMEO:\n", "shakespeare-gpt", 2000, 0.8, 0, 1.0, str(index), "replace",
                              api_name="/generate")[0]
        client.predict("shakespeare-gpt", text, 0, 64, "average of heads", api_name="/attention")
        if index % 10 == 0:
            client.predict("names", None, "bigram", 2, 4, 64, 32, 0.25, 100, 0.1, 32, 200, api_name="/train")
        return len(text) == len("ROMEO:\n") + 2000
    finally:
        client.close()


def started_app(root: Path = ROOT, **variables: str) -> tuple[subprocess.Popen, str]:
    """`python app.py` of `root` with these GPT_APP_* variables, once it has answered one session:
    (process, url)."""
    port = free_port()
    env = {**os.environ, "GRADIO_SERVER_PORT": str(port), "GRADIO_SERVER_NAME": "127.0.0.1", **variables}
    proc = subprocess.Popen([sys.executable, "app.py"], cwd=root, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 120
    while True:
        try:
            session(url, 1)
            return proc, url
        except Exception:
            if time.time() > deadline:
                proc.kill()
                raise
            time.sleep(0.5)


def refused(url: str, index: int) -> None:
    """One request from a new session that the app refuses (an empty prompt), over raw HTTP."""
    import json
    import urllib.request

    body = json.dumps({"data": ["", "shakespeare-gpt", 10, 0.8, 0, 1.0, "0", "replace"],
                       "session_hash": f"anon{index:08d}"}).encode()
    request = urllib.request.Request(url + "gradio_api/call/generate", data=body,
                                     headers={"Content-Type": "application/json"})
    event = json.loads(urllib.request.urlopen(request, timeout=60).read())["event_id"]
    urllib.request.urlopen(url + f"gradio_api/call/generate/{event}", timeout=60).read()


def anonymous(count: int, bounds: list[int], checkouts: list[tuple[str, Path]]) -> None:
    rows = []
    for (name, root), bound in ((checkout, bound) for checkout in checkouts for bound in bounds):
        proc, url = started_app(root, GPT_APP_MAX_SESSIONS=str(bound))
        try:
            warm = rss_mb(proc.pid)
            start = time.perf_counter()
            with concurrent.futures.ThreadPoolExecutor(8) as pool:
                list(pool.map(lambda i: refused(url, i), range(count)))
            seconds = time.perf_counter() - start
            sent = rss_mb(proc.pid)
            time.sleep(12)                           # one sweep (every 10 s past a bound)
            swept = rss_mb(proc.pid)
            stopping = time.perf_counter()
            proc.terminate()                         # SIGTERM, as a Space's restart sends it
            proc.wait()
            down = time.perf_counter() - stopping
        finally:
            if proc.poll() is None:
                proc.kill()
        rows.append([name, f"{bound:,}", f"{count:,} in {seconds:.0f} s", f"{warm:,.0f}", f"{sent:,.0f} ({sent - warm:+,.0f})",
                     f"{swept:,.0f} ({swept - warm:+,.0f})", f"{(sent - warm) / count * 1000:.0f} kB",
                     f"{down:.1f} s"])
    print(f"refused requests, each from a new session; {machine()}\n")
    print(table(["app", "GPT_APP_MAX_SESSIONS", "requests", "warm MB", "after them MB", "after a sweep MB",
                 "per request", "SIGTERM to exit (3 s of it the streams' grace)"], rows))


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sessions", type=int, default=30)
    p.add_argument("--ttl", type=float, default=15)
    p.add_argument("--anonymous", type=int, help="refused requests from new sessions (see above)")
    p.add_argument("--max-sessions", type=int, default=200, help="with --anonymous: the bound set beside 9,000")
    p.add_argument("--compare-with", type=Path, help="with --anonymous: another checkout whose app.py to measure")
    args = p.parse_args(argv)
    if args.anonymous:
        checkouts = [("as shipped", ROOT)] + ([(args.compare_with.name, args.compare_with)] if args.compare_with else [])
        return anonymous(args.anonymous, [args.max_sessions, 9000], checkouts)
    proc, url = started_app(GPT_APP_SESSION_TTL=str(args.ttl))
    try:
        time.sleep(args.ttl + 3)
        warm = rss_mb(proc.pid)
        with concurrent.futures.ThreadPoolExecutor(args.sessions) as pool:
            ok = list(pool.map(lambda i: session(url, i), range(args.sessions)))
        loaded = rss_mb(proc.pid)
        time.sleep(args.ttl + 5)
        after = rss_mb(proc.pid)
    finally:
        proc.terminate()
        proc.wait()
    print(f"{args.sessions} sessions, time-to-live {args.ttl:g} s; {machine()}\n")
    print(table(["server memory (VmRSS)", "MB", "vs warmed up"], [
        ["warmed up (models loaded, one generation)", f"{warm:,.0f}", ""],
        [f"{sum(ok)} of {args.sessions} sessions done, clients closed", f"{loaded:,.0f}", f"{loaded - warm:+,.0f}"],
        [f"{args.ttl + 5:g} s later (past the time-to-live)", f"{after:,.0f}", f"{after - warm:+,.0f}"]]))


if __name__ == "__main__":
    main()
