"""Decoding beside a live training that may borrow the second core: chars/s of one stream
(300-character texts with a pause between them, as a student reads), and the training's steps,
with the training lent 1 or 2 threads.

    python bench/borrowing.py MOST_THREADS PAUSE_SECONDS
"""
import statistics
import sys
import threading
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import gpt
from gpt.snapshots import MemorySnapshots
from studio.training import TrainRequest, build_training
from studio.worker import RemoteTraining
from studio.zoo import ModelZoo
torch.set_num_threads(1)
most = int(sys.argv[1]); pause = float(sys.argv[2])
model = ModelZoo(Path(__file__).resolve().parents[1] / "checkpoints").get("shakespeare-gpt")
"".join(gpt.generate(model, "ROMEO:", 200, seed=1))
trainer = build_training(TrainRequest(minutes=0.75, max_steps=5000))
remote = RemoteTraining(trainer, MemorySnapshots(max_count=16), threads=1, most_threads=most)
done = threading.Event()
def train():
    for _ in remote.run(): pass
    done.set()
threading.Thread(target=train, daemon=True).start()
time.sleep(5)
rates = []
while not done.is_set():
    t = time.perf_counter(); n = len("".join(gpt.generate(model, "ROMEO:", 300, seed=len(rates))))
    rates.append(n / (time.perf_counter() - t)); time.sleep(pause)
print(f"most_threads {most}, pause {pause}s: decoding median {statistics.median(rates):.0f} chars/s, "
      f"p10 {sorted(rates)[len(rates)//10]:.0f} ({len(rates)} texts); training {remote.model.run.step} steps, "
      f"threads {dict(remote.threads_seen)}, val {gpt.split_loss(remote.model, trainer.dataset, 'val'):.3f}")
