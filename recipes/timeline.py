"""The shipped timeline: one small GPT's run on Tiny Shakespeare, kept at 16 steps from init to the end.

The model is the live-training GPT's shape (2 layers, 4 heads, block 64) at 96 wide instead of 128:
16 snapshots of 234k parameters in bf16 take 7.5 MB, where 16 of the 128-wide 410k would not fit
in the 10 MB the repository gives a timeline. The snapshots are spaced roughly logarithmically,
because a model learns most in its first few hundred steps: spelling, then words, then names.
The loss is evaluated every 10 steps and the activation/gradient diagnostics taken every 10 steps
(kept every 10 for the first 300, every 50 after), so the curves are dense; every frame (a seeded
sample, the attention maps and next-character distributions over a val text, the surprisal of a
val passage) is precomputed for the app.

    python recipes/timeline.py [--steps 6000] [--out checkpoints/shakespeare-timeline]
"""
from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gpt import Corpus, TrainConfig, Trainer, build_model  # noqa: E402
from gpt.diagnostics import Diagnostics  # noqa: E402
from gpt.snapshots import DiskSnapshots  # noqa: E402
from gpt.timeline import Probe, disk_timeline  # noqa: E402

ARCH = dict(block_size=64, n_layer=2, n_head=4, n_embd=96, dropout=0.0)
SNAPSHOT_STEPS = (0, 10, 30, 60, 100, 150, 250, 400, 600, 900, 1300, 1800, 2500, 3500, 4500, 6000)


def snapshot_steps(max_steps: int) -> list[int]:
    """SNAPSHOT_STEPS scaled to a run of `max_steps` (multiples of 10, the evaluation interval)."""
    scale = max_steps / SNAPSHOT_STEPS[-1]
    return sorted({0, max_steps} | {max(10, round(s * scale / 10) * 10) for s in SNAPSHOT_STEPS[1:-1]})


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=SNAPSHOT_STEPS[-1])
    p.add_argument("--out", default="checkpoints/shakespeare-timeline")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    shutil.rmtree(out, ignore_errors=True)
    torch.manual_seed(1337)
    corpus = Corpus.load("shakespeare")
    dataset = corpus.dataset(ARCH["block_size"])
    model = build_model("gpt", vocab_size=dataset.tokenizer.vocab_size, **ARCH)
    model.tokenizer = dataset.tokenizer
    steps = snapshot_steps(args.steps)
    config = TrainConfig(max_steps=args.steps, batch_size=32, lr=6e-3, warmup_steps=50, eval_interval=10,
                         eval_batches=4, weight_decay=0.1, sample_chars=0, seed=1337)
    diagnostics = Diagnostics(model, every=10)
    trainer = Trainer(model, dataset, config, snapshots=DiskSnapshots(out, steps=steps, weights_dtype=torch.bfloat16),
                      diagnostics=diagnostics)
    started = time.perf_counter()
    for progress in trainer.run():
        if progress.step in steps:
            print(f"step {progress.step:5d} val {progress.val_loss:.3f} | {progress.elapsed / 60:.1f} min", flush=True)
    # dense early, where the curves bend; every 50 steps after, so the file stays small
    diagnostics.records = [r for r in diagnostics.records if r.step <= 300 or r.step % 50 == 0 or r.step in steps]
    description = (f"A {model.num_params():,}-parameter GPT (2 layers, 4 heads, 96 wide, block 64) trained for "
                   f"{args.steps:,} steps of 32×64 characters on Tiny Shakespeare (AdamW, lr 6e-3, cosine), "
                   f"kept at {len(steps)} steps; weights in bf16.")
    timeline = disk_timeline(out, Probe.for_run(model, dataset), diagnostics, description)
    timeline.save(out)
    size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    print(f"timeline of {len(steps)} snapshots in {out}: {size / 1e6:.2f} MB, "
          f"{(time.perf_counter() - started) / 60:.1f} min in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
