"""The app as a visitor meets it: cold start, and /generate latency for a classroom.

    python bench/app.py [--repeats 5] [--length 200] [--clients 1,8,32] [--skip-cold-start]

Cold start is the wall time from `python app.py` to the first successful /generate reply.
Latency is the time to the first streamed chunk and to the whole reply (medians and 95th
percentiles); N clients all start at once and every request must succeed. The clients speak
either Gradio's HTTP API as a browser or curl would, all from one event loop (`--client http`,
the default: on this shared machine the clients' own CPU should stay small beside the
server's, as it is when students run them on their own laptops), or through gradio_client,
a thread and a Python client each (`--client gradio`: about as much CPU as the server).
The server runs twice in the same run: decoding every stream in one batch (as shipped) and
each request alone (GPT_APP_BATCHED_DECODING=0, the baseline). With
--trainings N, that many live trainings run beside the generations.
"""
from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import machine, table  # noqa: E402
from gradio_client import Client  # noqa: E402  (imported before any timing starts)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


PROMPT = "ROMEO:\n"


def arguments(length: int, seed: int) -> list:
    """/generate's inputs: prompt, model, length, temperature, top-k, top-p, seed, unknown characters."""
    return [PROMPT, "shakespeare-gpt", length, 0.8, 0, 1.0, str(seed), "replace"]


async def http_request(http: httpx.AsyncClient, url: str, length: int, seed: int,
                       session: str | None) -> tuple[float, float, bool]:
    """One /generate through Gradio's HTTP API (POST the inputs, then read the event stream):
    (seconds to the first chunk, seconds to the whole reply, succeeded). `session` is an open
    page's session; None starts a new one, as the first press after a page load does."""
    start = time.perf_counter()
    first, text = None, None
    try:
        posted = await http.post(f"{url}gradio_api/call/generate",
                                 json={"data": arguments(length, seed), "session_hash": session})
        event_id = posted.raise_for_status().json()["event_id"]
        async with http.stream("GET", f"{url}gradio_api/call/generate/{event_id}") as reply:
            event = None
            async for line in reply.aiter_lines():
                if line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:") and event in ("generating", "complete", "error"):
                    if event == "error":
                        break
                    first = first or time.perf_counter() - start
                    if event == "complete":
                        text = json.loads(line[5:])[0]
                        break
    except httpx.HTTPError:
        pass
    ok = text is not None and len(text) == len(PROMPT) + length
    return first or float("nan"), time.perf_counter() - start, ok


async def http_round(url: str, clients: int, length: int, seeds: range,
                     open_pages: bool) -> tuple[list[tuple[float, float, bool]], float]:
    """`clients` requests at once; (their results, seconds from the first start to the last end).
    Every client loads the page's config first, outside the timing."""
    limits = httpx.Limits(max_connections=4 * clients, max_keepalive_connections=2 * clients)
    async with httpx.AsyncClient(timeout=300, limits=limits) as http:
        await asyncio.gather(*(http.get(f"{url}config") for _ in range(clients)))
        sessions = [uuid.uuid4().hex if open_pages else None for _ in range(clients)]
        if open_pages:
            # a loaded page has its session on the server already (its load events made it): a
            # 1-character text per session makes it, outside the timing; a session's first request
            # builds Gradio's per-session record of every component (~8 ms each here)
            await asyncio.gather(*(http_request(http, url, 1, seed, session) for seed, session in zip(seeds, sessions)))
        started = time.perf_counter()
        results = await asyncio.gather(*(http_request(http, url, length, seed, session)
                                         for seed, session in zip(seeds, sessions)))
        return list(results), time.perf_counter() - started


def request(url_or_client, length: int, seed: int) -> tuple[float, float, bool]:
    """(seconds to the first chunk, seconds to the whole reply, succeeded). Given a URL it
    opens a new session first, outside the timing, as a page loaded a moment before."""
    client = Client(url_or_client, verbose=False) if isinstance(url_or_client, str) else url_or_client
    start = time.perf_counter()
    first = None
    try:
        job = client.submit(*arguments(length, seed), api_name="/generate")
        for _ in job:
            first = first or time.perf_counter() - start
        text = job.outputs()[-1][0]
        ok = len(text) == len(PROMPT) + length
    except Exception:
        ok = False
    return first or float("nan"), time.perf_counter() - start, ok


def cold_start(port: int, fast_start: bool = True, batched: bool = True,
               app_dir: Path = ROOT) -> tuple[float, subprocess.Popen]:
    env = {**os.environ, "GRADIO_SERVER_PORT": str(port), "GRADIO_SERVER_NAME": "127.0.0.1",
           "GPT_APP_FAST_START": "1" if fast_start else "0", "GPT_APP_BATCHED_DECODING": "1" if batched else "0",
           "GPT_APP_TRAINING_SLOTS": "4", "GRADIO_DEFAULT_CONCURRENCY_LIMIT": "64"}
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "app.py"], cwd=app_dir, env=env, stdout=subprocess.DEVNULL,
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
            job = Client(url, verbose=False).submit("shakespeare", None, "gpt", 2, 4, 128, 64, 1.0, 5000, 6e-3,
                                                    32, 200, api_name="/train")
            while not job.done() and not stop.is_set():
                time.sleep(0.2)
            job.cancel()
        except Exception:
            time.sleep(1)


def latency_rows(url: str, clients_list: list[int], repeats: int, length: int, label: str,
                 reuse: bool = False, client: str = "http") -> tuple[list, dict]:
    rows, wholes_by = [], {}
    for clients in clients_list:
        results, elapsed = [], 0.0
        for r in range(repeats if clients < 32 else max(1, repeats // 2)):
            if client == "http":
                found, seconds = asyncio.run(http_round(url, clients, length, range(r * clients, (r + 1) * clients),
                                                        reuse))
                results += found
                elapsed += seconds
                continue
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


def checkout_label(checkout: Path) -> str:
    commit = subprocess.run(["git", "log", "-1", "--format=%h %ad", "--date=short"], cwd=checkout,
                            capture_output=True, text=True).stdout.strip()
    return f"app.py at {commit or checkout}"


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
    p.add_argument("--client", choices=("http", "gradio"), default="http",
                   help="http: Gradio's HTTP API from one event loop (light); gradio: a gradio_client each")
    p.add_argument("--compare-with", type=Path, action="append", default=[], metavar="CHECKOUT",
                   help="also measure the app.py of another checkout the same way (e.g. a git worktree of the "
                        "commit before batched decoding); may be given more than once")
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
    modes = [(checkout, True, checkout_label(checkout)) for checkout in args.compare_with]
    modes += [m for m in ((ROOT, False, "each request alone"), (ROOT, True, "one batch for all (as shipped)"))
              if ("batched" if m[1] else "alone") in args.modes.split(",")]
    for checkout, batched, label in modes:
        port = free_port()
        _, proc = cold_start(port, batched=batched, app_dir=checkout)
        url = f"http://127.0.0.1:{port}/"
        stop = threading.Event()
        trainers = [threading.Thread(target=train_in_background, args=(url, stop), daemon=True)
                    for _ in range(args.trainings)]
        for t in trainers:
            t.start()
        if trainers:
            time.sleep(5)                        # the trainings are under way before anyone generates
        try:
            found, _ = latency_rows(url, clients_list, args.repeats, args.length, label, reuse=args.open_pages,
                                    client=args.client)
            rows += found
        finally:
            stop.set()
            proc.terminate()
            proc.wait()
    trainings = f", {args.trainings} live training(s) beside" if args.trainings else ""
    trainings += f", clients: {args.client}" + (", pages open" if args.open_pages else "")
    print(table([f"/generate, {args.length} chars{trainings}", "clients", "first chunk (median)", "first chunk p95",
                 "whole reply (median)", "whole reply p95", "chars/s, all clients", "failures"], rows))


if __name__ == "__main__":
    main()
