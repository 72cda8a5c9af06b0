"""The lecture's ladder: from the bigram table to the full GPT, one idea per rung.

Every rung trains with the same budget (steps, batch, block size, schedule), so the
differences in val loss come from the architecture alone. Rung 1 is the `Bigram`; rungs
2-8 are one `LadderModel` with more of the transformer switched on at each step:

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
from dataclasses import asdict, dataclass

import torch
from torch import nn

from .base import LanguageModel
from .model import CausalSelfAttention, FeedForward, GPTConfig


@dataclass
class LadderConfig:
    vocab_size: int
    block_size: int = 64
    n_embd: int = 64
    mixing: str = "average"      # "average" (uniform over the past) or "attention" (learned)
    n_head: int = 1
    n_layer: int = 1
    feed_forward: bool = False
    residual: bool = False
    layer_norm: bool = False
    dropout: float = 0.0

    def __post_init__(self):
        if self.mixing not in ("average", "attention"):
            raise ValueError(f"mixing must be 'average' or 'attention', not {self.mixing!r}")


class CausalAverage(nn.Module):
    """The "mathematical trick": each position becomes the mean of itself and its past."""

    def forward(self, x, return_weights=False):
        T = x.size(1)
        weights = torch.tril(torch.ones(T, T, device=x.device))
        weights = weights / weights.sum(1, keepdim=True)
        return weights @ x, weights.expand(x.size(0), 1, T, T) if return_weights else None


class Rung(nn.Module):
    def __init__(self, config: LadderConfig):
        super().__init__()
        self.config = config
        attention_config = GPTConfig(config.vocab_size, config.block_size, config.n_layer, config.n_head,
                                     config.n_embd, config.dropout)
        self.mix = CausalSelfAttention(attention_config) if config.mixing == "attention" else CausalAverage()
        self.ffwd = FeedForward(attention_config) if config.feed_forward else None
        norm = nn.LayerNorm if config.layer_norm else lambda n: nn.Identity()
        self.ln_1, self.ln_2 = norm(config.n_embd), norm(config.n_embd)

    def forward(self, x, return_weights=False):
        mixed, weights = self.mix(self.ln_1(x), return_weights=return_weights)
        x = x + mixed if self.config.residual else mixed
        if self.ffwd is not None:
            thought = self.ffwd(self.ln_2(x))
            x = x + thought if self.config.residual else thought
        return x, weights


class LadderModel(LanguageModel):
    model_type = "ladder"

    def __init__(self, config: LadderConfig):
        super().__init__()
        self.config = config
        self.token_embedding = nn.Embedding(config.vocab_size, config.n_embd)
        self.position_embedding = nn.Embedding(config.block_size, config.n_embd)
        self.layers = nn.ModuleList(Rung(config) for _ in range(config.n_layer))
        self.ln_f = nn.LayerNorm(config.n_embd) if config.layer_norm else nn.Identity()
        self.head = nn.Linear(config.n_embd, config.vocab_size)
        self.drop = nn.Dropout(config.dropout)

    def _run(self, idx, return_weights):
        T = idx.size(1)
        if T > self.config.block_size:
            raise ValueError(f"{T} positions exceed the block size {self.config.block_size}")
        x = self.drop(self.token_embedding(idx) + self.position_embedding.weight[:T])
        maps = []
        for layer in self.layers:
            x, weights = layer(x, return_weights)
            maps.append(weights)
        return self.head(self.ln_f(x)), maps

    def forward(self, idx, targets=None):
        logits, _ = self._run(idx, return_weights=False)
        return logits, self.loss(logits, targets)

    def attention_maps(self, idx):
        """Each layer's mixing weights (B, n_head, T, T): learned, or the uniform average."""
        return self._run(idx, return_weights=True)


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
BUDGET = dict(max_steps=3000, batch_size=32, lr=3e-3, warmup_steps=100, eval_interval=500, eval_batches=10,
              weight_decay=0.0, sample_chars=0)
"""The same for every rung; no weight decay so the bigram table is not shrunk."""


def train_ladder(out_dir: str, threads: int = 1) -> None:
    """Train every rung on Tiny Shakespeare with the same budget and ship each as a checkpoint."""
    from pathlib import Path

    from . import checkpoint
    from .data import Corpus, Dataset
    from .models import build_model
    from .publish import measure, model_card
    from .sampling import generate
    from .trainer import TrainConfig, Trainer

    torch.set_num_threads(threads)
    corpus = Corpus.load("shakespeare")
    dataset = Dataset(corpus, BASE["block_size"])
    for rung in RUNGS:
        torch.manual_seed(1337)
        model = build_model(rung.model_type, vocab_size=dataset.tokenizer.vocab_size, **rung.arch)
        trainer = Trainer(model, dataset, TrainConfig(**BUDGET), info={"corpus": "shakespeare", "line_framed": False})
        for progress in trainer.run():
            pass
        model.history = trainer.history
        info = {**model.info, "train_config": BUDGET, "step": trainer.step, "tokens_seen": trainer.tokens_seen,
                "elapsed": trainer.elapsed, "rung": asdict(rung)}
        model.eval()
        info["eval"] = measure(model, corpus)
        info["sample"] = "".join(generate(model, "ROMEO:\n", 200, temperature=0.8, seed=0))
        model.info = info
        folder = Path(out_dir) / f"{rung.number}-{rung.name}"
        card = model_card(model, info["eval"], info, f"Ladder rung {rung.number}: {rung.title}",
                          "python -m gpt.ladder --out checkpoints/ladder", "ROMEO:\n", info["sample"])
        checkpoint.save(model, folder, history=model.history, info=info, card=card)
        print(f"rung {rung.number} {rung.name:10s} val {info['eval']['val_loss']:.4f} "
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
