"""How fast the Timeline tab answers a slider move, for the shipped timeline and a live run.

    python bench/timeline.py [--moves 40]

Three measurements, each a table of latency percentiles over `--moves` moves to random snapshots:
1. the handler alone (what the server computes: every view's figure, serialised to JSON as
   Gradio sends it), on the shipped timeline with its precomputed frames;
2. the same moves through the running app's API (/timeline), as a browser's request travels:
   queue, handler, serialisation, HTTP;
3. a live run's first visit to a snapshot (a frame computed from the weights: sample, attention,
   distributions, surprisal) against a revisit (cached), for the live-training default GPT.
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import torch  # noqa: E402

from bench.common import machine, table  # noqa: E402


def percentiles(times: list[float]) -> list[str]:
    ms = sorted(1000 * t for t in times)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    return [f"{statistics.median(ms):.0f}", f"{p95:.0f}", f"{ms[-1]:.0f}"]


def endpoint(demo, api_name: str):
    """The handler behind one of the app's API endpoints, called as the server calls it."""
    return next(block_fn.fn for block_fn in demo.fns.values() if block_fn.api_name == api_name)


def handler_times(app, moves: int) -> list[float]:
    import plotly.io

    timeline = app.RESOURCES.shipped_timeline.get()
    show = endpoint(app.demo, "timeline")
    rng = random.Random(0)
    times = []
    for _ in range(moves):
        number = rng.randrange(len(timeline.steps)) + 1      # the slider counts snapshots from 1
        start = time.perf_counter()
        out = show("shipped", number, rng.randrange(2), "average of heads", rng.randrange(1, 64))
        for value in out.values():
            figure = getattr(value, "value", None)
            if figure is not None and hasattr(figure, "to_plotly_json"):
                plotly.io.to_json(figure)
        times.append(time.perf_counter() - start)
    return times


def api_times(app, url: str, moves: int) -> list[float]:
    from gradio_client import Client

    client = Client(url, verbose=False)
    n = len(app.RESOURCES.shipped_timeline.get().steps)
    rng = random.Random(1)
    times = []
    for _ in range(moves):
        start = time.perf_counter()
        client.predict("shipped", rng.randrange(n) + 1, 0, "average of heads", 10, api_name="/timeline")
        times.append(time.perf_counter() - start)
    return times


def live_times() -> tuple[list[float], list[float]]:
    from gpt.snapshots import MemorySnapshots
    from studio.timeline import LIVE_SNAPSHOTS, frame_view, live_timeline
    from studio.training import TrainRequest, build_training
    from studio.worker import RemoteTraining

    trainer = build_training(TrainRequest(max_steps=200))
    snapshots = MemorySnapshots(LIVE_SNAPSHOTS)
    remote = RemoteTraining(trainer, snapshots)              # as the app trains: in a worker process
    timeline = live_timeline(trainer, snapshots, remote.diagnostics)
    list(remote.run())
    first, again = [], []
    for index in range(len(timeline.steps)):
        start = time.perf_counter()
        frame_view(timeline, index)
        first.append(time.perf_counter() - start)
        start = time.perf_counter()
        frame_view(timeline, index)
        again.append(time.perf_counter() - start)
    return first, again


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--moves", type=int, default=40)
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    from appserver import launch_app

    app, url = launch_app()
    try:
        app.RESOURCES.shipped_timeline.get()                  # read once, as the first visitor does
        endpoint(app.demo, "timeline")("shipped", 1, 0, "average of heads", 10)     # plotly's first-use cost
        rows = [["shipped: handler + JSON", *percentiles(handler_times(app, args.moves))],
                ["shipped: through the API (/timeline)", *percentiles(api_times(app, url, args.moves))]]
        first, again = live_times()
        rows += [["live default GPT: first visit (frame computed)", *percentiles(first)],
                 ["live default GPT: revisit (cached)", *percentiles(again)]]
    finally:
        app.demo.close()
    print(f"Timeline slider, {args.moves} moves to random snapshots; {machine()}\n")
    print(table(["what answers", "p50 ms", "p95 ms", "max ms"], rows))


if __name__ == "__main__":
    main()
