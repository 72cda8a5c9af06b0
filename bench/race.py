"""A class race on one machine: how long until every student's run is on the board.

    python bench/race.py [--students 30] [--minutes 0.25] [--slots 1] [--spread 10]

A teacher opens a race board; `--students` join it and press Train within `--spread` seconds
of each other, each with the race's budget and a setting of their own (a learning rate and
a width from a small grid, as a class would try). Every run takes the app's own path: the
training line (`--slots` at once), a worker process at its lower priority, the evaluations
and diagnostics, the whole-val loss and the sample posted to the board (an SQLite file).
The table says when the first and the last run reached the board, how long students waited
in line, and each run's cost (seconds from its start to its post).
"""
from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from bench.common import machine, table  # noqa: E402
from studio.board_store import Rules, SQLiteBoards  # noqa: E402
from studio.class_board import BoardPosting, posted_training  # noqa: E402
from studio.live import live_training  # noqa: E402
from studio.slots import TrainingSlots  # noqa: E402
from studio.training import TrainRequest  # noqa: E402

RATES = (3e-3, 6e-3, 1e-2)
WIDTHS = (64, 128)


async def student(i: int, store: SQLiteBoards, code: str, slots: TrainingSlots, minutes: float, delay: float,
                  t0: float) -> dict:
    await asyncio.sleep(delay)
    seat = store.join(code, f"student {i:02d}")
    request = TrainRequest(minutes=minutes, lr=RATES[i % len(RATES)], n_embd=WIDTHS[i // len(RATES) % len(WIDTHS)])
    pressed = time.monotonic()
    started = posted = None
    async for update in posted_training(live_training(request, slots, torch.device("cpu")),
                                        BoardPosting(store, seat, request)):
        if update.phase == "starting":
            started = time.monotonic()
        if update.phase == "posted":
            posted = time.monotonic()
    return dict(pressed=pressed - t0, started=started - t0, posted=posted - t0, wait=started - pressed,
                cost=posted - started)


async def race(students: int, minutes: float, slots: int, spread: float) -> tuple[list[dict], list]:
    store = SQLiteBoards(Path(tempfile.mkdtemp()) / "boards.sqlite3", max_seats=max(students, 40))
    code, _ = store.open_board(Rules(minutes=minutes, model_type="gpt"))
    line = TrainingSlots(slots, line=students)
    t0 = time.monotonic()
    runs = await asyncio.gather(*(student(i, store, code, line, minutes, spread * i / max(students - 1, 1), t0)
                                  for i in range(students)))
    return runs, store.snapshot(code).runs


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--students", type=int, default=30)
    p.add_argument("--minutes", type=float, default=0.25)
    p.add_argument("--slots", type=int, default=1)
    p.add_argument("--spread", type=float, default=10.0, help="seconds over which the students press Train")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    print(f"# A class race: {args.students} students, {args.minutes:g} min each, {args.slots} training slot(s)\n")
    print(f"{machine()}; the app's own path (worker processes, whole-val loss and sample posted to SQLite)\n")
    runs, records = asyncio.run(race(args.students, args.minutes, args.slots, args.spread))
    last = max(r["posted"] for r in runs)
    costs = [r["cost"] for r in runs]
    waits = sorted(r["wait"] for r in runs)
    finals = sorted(r.final_val for r in records if r.final_val is not None)
    print(table(["what", "value"], [
        ["first run on the board", f"{min(r['posted'] for r in runs):.0f} s"],
        ["last run on the board (the race's length)", f"{last:.0f} s ({last / 60:.1f} min)"],
        ["a run, start to post: median / max", f"{statistics.median(costs):.1f} / {max(costs):.1f} s"],
        ["budget spent training per run", f"{args.minutes * 60:.0f} s"],
        ["overhead per run (start-up, final eval, sample, posts)",
         f"{statistics.median(costs) - args.minutes * 60:.1f} s"],
        ["wait in line: median / max", f"{statistics.median(waits):.0f} / {waits[-1]:.0f} s"],
        ["runs ranked (whole val)", f"{len(finals)} of {args.students}"],
        ["whole-val loss: best / median / worst",
         f"{finals[0]:.3f} / {statistics.median(finals):.3f} / {finals[-1]:.3f}" if finals else "-"],
    ]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
