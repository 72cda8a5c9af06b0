"""What trainings waiting for a slot cost everyone else: the server's memory, and the waits of
students generating and drawing attention while a burst of trainings queues up.

    python bench/waiting.py [--waiting 30] [--students 8] [--compare-with CHECKOUT]

One live training runs (the slot is taken), then `--waiting` more are submitted at once and
wait in line. Before and during the burst: the server's resident memory, `--students` clients looping
/generate (200 characters; whole-reply p50/p95) and one asking for /attention every second
(p50/max). `--compare-with` runs another checkout's app.py the same way in the same run (the
app before the line was made cheap: trainings loaded and encoded their corpus, and held one of
Gradio's threads, while they waited).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.app import free_port, http_request, percentile  # noqa: E402
from bench.common import machine, table  # noqa: E402

TRAIN = ["shakespeare", None, "gpt", 2, 4, 128, 64, 1.0, 5000, 6e-3, 32, 200]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def start_app(app_dir: Path, port: int, **variables: str) -> subprocess.Popen:
    """`python app.py` of `app_dir` on 127.0.0.1:`port`, with these environment variables added."""
    env = {**os.environ, "GRADIO_SERVER_PORT": str(port), "GRADIO_SERVER_NAME": "127.0.0.1", **variables}
    return subprocess.Popen([sys.executable, "app.py"], cwd=app_dir, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def serving(url: str) -> str:
    """`url`, once the app there serves its config (waited for from a script without an event loop)."""
    async def up() -> None:
        async with httpx.AsyncClient() as http:
            await wait_until_up(http, url)
    asyncio.run(up())
    return url


async def wait_until_up(http: httpx.AsyncClient, url: str) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if (await http.get(f"{url}config")).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        await asyncio.sleep(0.5)
    raise RuntimeError("the app did not start")


async def submit(http: httpx.AsyncClient, url: str, api: str, data: list) -> str:
    posted = await http.post(f"{url}gradio_api/call/{api}", json={"data": data, "session_hash": uuid.uuid4().hex})
    return posted.raise_for_status().json()["event_id"]


async def follow(http: httpx.AsyncClient, url: str, api: str, event_id: str, seen: list) -> None:
    """Read an event's stream, keeping its last data line (a training's status is its second output)."""
    try:
        async with http.stream("GET", f"{url}gradio_api/call/{api}/{event_id}") as reply:
            event = None
            async for line in reply.aiter_lines():
                if line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:"):
                    seen.append((event, line[5:]))
    except (httpx.HTTPError, asyncio.CancelledError):
        pass


async def attention_once(http: httpx.AsyncClient, url: str) -> float:
    start = time.perf_counter()
    event_id = await submit(http, url, "attention", ["shakespeare-gpt", "To be, or not to be", 0, 32, "head 1"])
    await follow(http, url, "attention", event_id, [])
    return time.perf_counter() - start


async def load(http: httpx.AsyncClient, url: str, seconds: float, students: int = 8) -> dict:
    """`students` clients looping /generate, and one drawing /attention once a second, for `seconds`."""
    end = time.monotonic() + seconds
    generations, attentions = [], []

    async def generator(k: int) -> None:
        while time.monotonic() < end:
            generations.append(await http_request(http, url, 200, k, uuid.uuid4().hex))

    async def drawer() -> None:
        while time.monotonic() < end:
            attentions.append(await attention_once(http, url))
            await asyncio.sleep(1.0)          # a student looking at the map before drawing the next

    await asyncio.gather(*(generator(k) for k in range(students)), drawer())
    wholes = [w for _, w, ok in generations if ok]
    return {"replies": len(wholes), "generate p50": statistics.median(wholes), "generate p95": percentile(wholes, 0.95),
            "failed": sum(not ok for *_, ok in generations), "attention p50": statistics.median(attentions),
            "attention max": max(attentions)}


async def measure(app_dir: Path, waiting: int, seconds: float, students: int) -> dict:
    port = free_port()
    server = start_app(app_dir, port)
    url = f"http://127.0.0.1:{port}/"
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=100)
    try:
        async with httpx.AsyncClient(timeout=300, limits=limits) as http:
            await wait_until_up(http, url)
            await load(http, url, 5)                                   # warm: models loaded, decoder started
            before = {"rss": rss_mb(server.pid), **await load(http, url, seconds, students)}
            first: list = []
            running = asyncio.ensure_future(follow(http, url, "train", await submit(http, url, "train", TRAIN), first))
            while not any("Training a" in data for _, data in first):
                await asyncio.sleep(0.2)
            statuses = [[] for _ in range(waiting)]
            ids = await asyncio.gather(*(submit(http, url, "train", TRAIN) for _ in range(waiting)))
            followers = [asyncio.ensure_future(follow(http, url, "train", i, s)) for i, s in zip(ids, statuses)]
            await asyncio.sleep(10)                                    # every one has answered by now
            in_line = sum(any("Waiting for a training slot" in d for _, d in s) for s in statuses)
            refused = sum(any(e == "error" for e, _ in s) for s in statuses)
            during = {"rss": rss_mb(server.pid), **await load(http, url, seconds, students),
                      "waiting": in_line, "refused": refused}
            for task in [running, *followers]:
                task.cancel()
            return {"before": before, "during": during}
    finally:
        server.kill()
        server.wait()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--waiting", type=int, default=30)
    p.add_argument("--students", type=int, default=8, help="clients looping /generate")
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--compare-with", type=Path, help="another checkout whose app.py to measure the same way")
    args = p.parse_args()
    print(f"machine: {machine()}; one training running, {args.waiting} more submitted at once, "
          f"{args.students} students generating\n")
    runs = [("as shipped", ROOT)] + ([(f"{args.compare_with.name}", args.compare_with)] if args.compare_with else [])
    rows = []
    for name, folder in runs:
        result = asyncio.run(measure(folder, args.waiting, args.seconds, args.students))
        for phase in ("before", "during"):
            r = result[phase]
            rows.append([name, phase, f"{r['rss']:,.0f}", f"{r['generate p50']:.2f} / {r['generate p95']:.2f}",
                         r["replies"], r["failed"], f"{r['attention p50']:.2f} / {r['attention max']:.2f}",
                         r.get("waiting", "—"), r.get("refused", "—")])
        print(json.dumps(result), file=sys.stderr)
    print(table(["app", "trainings waiting", "server RSS (MB)",
                 f"{args.students} x /generate whole reply p50 / p95 (s)", "replies", "failed",
                 "/attention p50 / max (s)", "in line", "refused"], rows))


if __name__ == "__main__":
    main()
