"""The app as a visitor meets it: cold start, and /generate latency with 1 and 8 clients.

    python bench/app.py [--repeats 5] [--length 200]

Cold start is the wall time from `python app.py` to the first successful /generate reply.
Latency is measured through gradio_client: time to the first streamed chunk and to the
whole reply; with 8 clients, all 8 start at once and every request must succeed.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import machine, table  # noqa: E402
from gradio_client import Client  # noqa: E402  (imported before any timing starts)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(url: str, length: int, seed: int) -> tuple[float, float, bool]:
    """(seconds to the first chunk, seconds to the whole reply, succeeded)."""
    client = Client(url, verbose=False)
    start = time.perf_counter()
    first = None
    try:
        job = client.submit("ROMEO:\n", "shakespeare-gpt", length, 0.8, 0, 1.0, str(seed), "replace", api_name="/generate")
        for _ in job:
            first = first or time.perf_counter() - start
        text = job.outputs()[-1][0]
        ok = len(text) == len("ROMEO:\n") + length
    except Exception:
        ok = False
    return first or float("nan"), time.perf_counter() - start, ok


def cold_start(port: int, fast_start: bool = True) -> tuple[float, subprocess.Popen]:
    env = {**os.environ, "GRADIO_SERVER_PORT": str(port), "GRADIO_SERVER_NAME": "127.0.0.1",
           "GPT_APP_FAST_START": "1" if fast_start else "0"}
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    while time.perf_counter() - start < 120:
        try:
            if request(url, 1, 0)[2]:
                return time.perf_counter() - start, proc
        except Exception:
            pass
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError("the app did not answer within 120 s")


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--length", type=int, default=200)
    args = p.parse_args(argv)
    print(f"# App benchmark\nmachine: {machine()}\n")
    starts = {True: [], False: []}
    for _ in range(args.repeats):
        for fast_start in (False, True):      # interleaved, so both see the same machine
            seconds, proc = cold_start(free_port(), fast_start)
            starts[fast_start].append(seconds)
            proc.terminate()
            proc.wait()
    baseline = statistics.median(starts[False])
    print(table(["cold start: python app.py → first /generate reply", "median", "range", "speed-up"], [
        [label, f"{statistics.median(starts[f]):.1f} s", f"{min(starts[f]):.1f}–{max(starts[f]):.1f} s",
         f"{baseline / statistics.median(starts[f]):.2f}×"]
        for label, f in (("gradio imported as it comes (GPT_APP_FAST_START=0)", False),
                         ("as shipped: stub generation and IPython probe skipped", True))]))
    print()
    rows = []
    port = free_port()
    _, proc = cold_start(port)
    url = f"http://127.0.0.1:{port}/"
    try:
        for clients in (1, 8):
            results = []
            for r in range(args.repeats):
                with concurrent.futures.ThreadPoolExecutor(clients) as pool:
                    seeds = range(r * clients, (r + 1) * clients)
                    results += list(pool.map(lambda s: request(url, args.length, s), seeds))
            firsts = [f for f, _, ok in results if ok]
            wholes = [w for _, w, ok in results if ok]
            failed = sum(not ok for *_, ok in results)
            rows.append([f"{args.length} chars, {clients} concurrent client(s)",
                         f"{1000 * statistics.median(firsts):.0f} ms", f"{statistics.median(wholes):.2f} s",
                         f"{failed} of {len(results)} failed"])
    finally:
        proc.terminate()
        proc.wait()
    print(table(["/generate through gradio_client", "first chunk", "whole reply", "failures"], rows))


if __name__ == "__main__":
    main()
