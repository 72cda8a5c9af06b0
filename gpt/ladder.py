"""The lecture's ladder: from the bigram table to the full GPT, one idea per rung.

Every rung trains with the same budget (steps, batch, block size, schedule), so the
differences in val loss come from the architecture alone. Rung 1 is the `Bigram`; rungs
2-8 are one `LadderModel` (gpt.ladder_model) with more of the transformer switched on at
each step:

    2 average    every position averages the embeddings of itself and its past (tril / T)
    3 attention  one learned self-attention head instead of the uniform average
    4 heads      four heads of a quarter the size, side by side
    5 ffwd       a feed-forward layer after attention: each position thinks about what it gathered
    6 residual   three blocks, each added onto a residual stream instead of replacing it
    7 layernorm  LayerNorm before attention, feed-forward and the head
    8 full       four blocks with dropout: the GPT of the lecture, at this budget's size

    python -m gpt.ladder --out checkpoints/ladder        # trains and ships all rungs
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import torch

from .data import Corpus
from .publish import publish
from .records import TrainConfig
from .registry import build_model
from .trainer import Trainer


@dataclass(frozen=True)
class RungSpec:
    number: int
    name: str
    title: str
    model_type: str
    arch: dict
    lecture_val: float | None       # the value the lecture reports for this step
    note: str                       # why ours may differ, in one line


BASE = dict(block_size=64, n_embd=64)
RUNGS = [
    RungSpec(1, "bigram", "bigram table", "bigram", {}, 2.50,
             "the same model; the lecture quotes about 2.5 after a short run"),
    RungSpec(2, "average", "+ causal averaging (tril / T)", "ladder", dict(BASE, mixing="average"), None,
             "the lecture shows the trick but trains no model with it: an average with no residual path loses which "
             "character is the current one, so it does worse than the bigram"),
    RungSpec(3, "attention", "+ one self-attention head", "ladder", dict(BASE, mixing="attention", n_head=1), 2.40,
             "the lecture's head has no output projection and block 8; ours has a projection and block 64"),
    RungSpec(4, "heads", "+ multi-head (4 heads)", "ladder", dict(BASE, mixing="attention", n_head=4), 2.28,
             "as the lecture, with a longer context and more steps"),
    RungSpec(5, "ffwd", "+ feed-forward", "ladder", dict(BASE, mixing="attention", n_head=4, feed_forward=True),
             2.24, "our feed-forward is GPT's (4x wide, GELU), the lecture's at this step is 1x wide with ReLU"),
    RungSpec(6, "residual", "+ residual connections (3 blocks)", "ladder",
             dict(BASE, mixing="attention", n_head=4, feed_forward=True, residual=True, n_layer=3), 2.08,
             "three blocks as in the lecture, which adds the projection here"),
    RungSpec(7, "layernorm", "+ LayerNorm (pre-norm)", "ladder",
             dict(BASE, mixing="attention", n_head=4, feed_forward=True, residual=True, n_layer=3,
                  layer_norm=True), 2.06, "as the lecture"),
    RungSpec(8, "full", "+ dropout and depth (4 blocks)", "ladder",
             dict(BASE, mixing="attention", n_head=4, feed_forward=True, residual=True, n_layer=4,
                  layer_norm=True, dropout=0.1), 1.48,
             "the lecture's 1.48 is a 10.7M-parameter model, 5000 steps on a GPU; at our fixed 3,000 small steps "
             "dropout slows learning more than the extra block helps"),
]
BUDGET = TrainConfig(max_steps=3000, batch_size=32, lr=3e-3, warmup_steps=100, eval_interval=500, eval_batches=10,
                     weight_decay=0.0, sample_chars=0)
"""The same for every rung; no weight decay so the bigram table is not shrunk."""
COMMAND = "python -m gpt.ladder --out checkpoints/ladder"


def train_ladder(out_dir: str, threads: int = 1) -> None:
    """Train every rung on Tiny Shakespeare with the same budget and ship each as a checkpoint."""
    torch.set_num_threads(threads)
    corpus = Corpus.load("shakespeare")
    dataset = corpus.dataset(BASE["block_size"])
    for rung in RUNGS:
        torch.manual_seed(1337)
        model = build_model(rung.model_type, vocab_size=dataset.tokenizer.vocab_size, **rung.arch)
        trainer = Trainer(model, dataset, BUDGET)
        for _ in trainer.run():
            pass
        shipped = publish(model.eval(), Path(out_dir) / f"{rung.number}-{rung.name}", command=COMMAND,
                          title=f"Ladder rung {rung.number}: {rung.title}", prompt="ROMEO:\n", sample_chars=200,
                          ladder_rung=rung.number)
        print(f"rung {rung.number} {rung.name:10s} val {shipped.run.evaluation.val_loss:.4f} "
              f"({model.num_params():,} parameters, {trainer.elapsed:.0f} s)", flush=True)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m gpt.ladder", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="checkpoints/ladder")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    train_ladder(args.out, args.threads)
    return 0


if __name__ == "__main__":
    sys.exit(main())
