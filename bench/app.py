"""The app as a visitor meets it: cold start, and /generate latency for a classroom.

    python bench/app.py [--repeats 5] [--length 200] [--clients 1,8,32] [--skip-cold-start]

Cold start is the wall time from `python app.py` to the first successful /generate reply.
Latency is measured through gradio_client: time to the first streamed chunk and to the
whole reply (medians and 95th percentiles); N clients all start at once and every request
must succeed. The server runs twice in the same run: decoding every stream in one batch
(as shipped) and each request alone (GPT_APP_BATCHED_DECODING=0, the baseline). With
--trainings N, that many live trainings run beside the generations.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import os
import socket
import statistics
import subprocess
import sys
import threading
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


def request(url_or_client, length: int, seed: int) -> tuple[float, float, bool]:
    """(seconds to the first chunk, seconds to the whole reply, succeeded). Given a URL it
    opens a new session first, outside the timing, as a page loaded a moment before."""
    client = Client(url_or_client, verbose=False) if isinstance(url_or_client, str) else url_or_client
    start = time.perf_counter()
    first = None
    try:
        job = client.submit("ROMEO:\n", "shakespeare-gpt", length, 0.8, 0, 1.0, str(seed), "replace",
                            api_name="/generate")
        for _ in job:
            first = first or time.perf_counter() - start
        text = job.outputs()[-1][0]
        ok = len(text) == len("ROMEO:\n") + length
    except Exception:
        ok = False
    return first or float("nan"), time.perf_counter() - start, ok


def cold_start(port: int, fast_start: bool = True, batched: bool = True) -> tuple[float, subprocess.Popen]:
    env = {**os.environ, "GRADIO_SERVER_PORT": str(port), "GRADIO_SERVER_NAME": "127.0.0.1",
           "GPT_APP_FAST_START": "1" if fast_start else "0", "GPT_APP_BATCHED_DECODING": "1" if batched else "0",
           "GPT_APP_TRAINING_SLOTS": "4", "GRADIO_DEFAULT_CONCURRENCY_LIMIT": "64"}
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


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def train_in_background(url: str, stop: threading.Event) -> None:
    """A live training of the app's default GPT, restarted until `stop` (a student training)."""
    while not stop.is_set():
        try:
            job = Client(url, verbose=False).submit("Tiny Shakespeare", None, "GPT", 2, 4, 128, 64, 1.0, 5000, 6e-3,
                                                    32, 200, api_name="/train")
            while not job.done() and not stop.is_set():
                time.sleep(0.2)
            job.cancel()
        except Exception:
            time.sleep(1)


def latency_rows(url: str, clients_list: list[int], repeats: int, length: int, label: str,
                 reuse: bool = False) -> tuple[list, dict]:
    rows, wholes_by = [], {}
    for clients in clients_list:
        results, elapsed = [], 0.0
        for r in range(repeats if clients < 32 else max(1, repeats // 2)):
            with concurrent.futures.ThreadPoolExecutor(clients) as pool:
                # with reuse, each student's page is open before anyone presses Generate
                pages = (list(pool.map(lambda _: Client(url, verbose=False), range(clients))) if reuse
                         else [url] * clients)
                seeds = range(r * clients, (r + 1) * clients)
                started = time.perf_counter()
                results += list(pool.map(lambda a: request(a[0], length, a[1]), zip(pages, seeds)))
                elapsed += time.perf_counter() - started
        firsts = [f for f, _, ok in results if ok]
        wholes = [w for _, w, ok in results if ok]
        failed = sum(not ok for *_, ok in results)
        wholes_by[clients] = wholes
        rows.append([label, clients, f"{1000 * statistics.median(firsts):.0f} ms", f"{percentile(firsts, 0.95):.2f} s",
                     f"{statistics.median(wholes):.2f} s", f"{percentile(wholes, 0.95):.2f} s",
                     f"{len(wholes) * length / elapsed:,.0f}", f"{failed} of {len(results)}"])
    return rows, wholes_by


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--length", type=int, default=200)
    p.add_argument("--clients", default="1,8,32")
    p.add_argument("--trainings", type=int, default=0, help="live trainings running beside the generations")
    p.add_argument("--skip-cold-start", action="store_true")
    p.add_argument("--modes", default="alone,batched", help="which servers to measure: alone, batched or both")
    p.add_argument("--open-pages", action="store_true",
                   help="open every client's session before the timing (a class with the page already loaded); "
                        "by default each request opens its own, as the first press after a page load does")
    args = p.parse_args(argv)
    print(f"# App benchmark\nmachine: {machine()}\n")
    if not args.skip_cold_start:
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
    clients_list = [int(c) for c in args.clients.split(",")]
    modes = [m for m in ((False, "each request alone"), (True, "one batch for all (as shipped)"))
             if ("batched" if m[0] else "alone") in args.modes.split(",")]
    for batched, label in modes:
        port = free_port()
        _, proc = cold_start(port, batched=batched)
        url = f"http://127.0.0.1:{port}/"
        stop = threading.Event()
        trainers = [threading.Thread(target=train_in_background, args=(url, stop), daemon=True)
                    for _ in range(args.trainings)]
        for t in trainers:
            t.start()
        if trainers:
            time.sleep(5)                        # the trainings are under way before anyone generates
        try:
            found, _ = latency_rows(url, clients_list, args.repeats, args.length, label, reuse=args.open_pages)
            rows += found
        finally:
            stop.set()
            proc.terminate()
            proc.wait()
    trainings = f", {args.trainings} live training(s) beside" if args.trainings else ""
    print(table([f"/generate, {args.length} chars{trainings}", "clients", "first chunk (median)", "first chunk p95",
                 "whole reply (median)", "whole reply p95", "chars/s, all clients", "failures"], rows))


if __name__ == "__main__":
    main()
