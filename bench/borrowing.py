"""What a live training's borrowed core costs the students decoding beside it.

    python bench/borrowing.py [--pauses 0.5,2] [--seconds 45]

One stream of 300-character texts of the shipped GPT, with a pause between them (a student
reading), beside a Train live run of the defaults through the app's worker process: lent one
thread (the app before it borrowed idle cores), then up to GPT_APP_TRAINING_THREADS. Prints the
stream's chars/s, and the training's steps, threads and whole-val loss, for each pause.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

import gpt  # noqa: E402
from bench.common import machine, table  # noqa: E402
from bench.train import threads_used  # noqa: E402
from gpt.snapshots import MemorySnapshots  # noqa: E402
from studio.settings import SETTINGS  # noqa: E402
from studio.training import TrainRequest, build_training  # noqa: E402
from studio.worker import RemoteTraining  # noqa: E402
from studio.zoo import ModelZoo  # noqa: E402

TEXT_CHARS = 300


def beside_training(model, seconds: float, pause: float, most_threads: int) -> list[str]:
    """One row: the stream's median and p10 chars/s while a training runs, and the training's figures."""
    torch.manual_seed(0)
    trainer = build_training(TrainRequest(minutes=seconds / 60, max_steps=SETTINGS.max_steps))
    remote = RemoteTraining(trainer, MemorySnapshots(max_count=16), threads=SETTINGS.threads,
                            most_threads=most_threads)
    done = threading.Event()

    def train() -> None:
        for _ in remote.run():
            pass
        done.set()

    threading.Thread(target=train, daemon=True).start()
    time.sleep(5)                                   # the worker is up and training
    rates = []
    while not done.is_set():
        start = time.perf_counter()
        text = "".join(gpt.generate(model, "ROMEO:", TEXT_CHARS, seed=len(rates)))
        rates.append(len(text) / (time.perf_counter() - start))
        time.sleep(pause)
    rates.sort()
    lent = "1 thread" if most_threads == 1 else f"up to {most_threads} threads"
    return [f"a text, then {pause:g} s", lent, f"{statistics.median(rates):,.0f} ({rates[len(rates) // 10]:,.0f})",
            f"{remote.model.run.step:,}", threads_used(remote.threads_seen),
            f"{gpt.split_loss(remote.model, trainer.dataset, 'val'):.3f}"]


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--pauses", default="0.5,2", help="seconds between two texts, comma-separated")
    p.add_argument("--seconds", type=float, default=45, help="the training's budget")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    model = ModelZoo(ROOT / "checkpoints").get("shakespeare-gpt")
    "".join(gpt.generate(model, "ROMEO:", 200, seed=1))            # the decoding step built before timing
    rows = [beside_training(model, args.seconds, float(pause), most)
            for pause in args.pauses.split(",") for most in (1, SETTINGS.training_threads)]
    print(f"# Decoding beside a live training\nmachine: {machine(torch.device('cpu'))}\n")
    print(table(["stream", "training lent", "decoding chars/s, median (p10)", "training steps",
                 "progress lines by threads", "val (whole split)"], rows))


if __name__ == "__main__":
    main()
