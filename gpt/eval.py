"""Loss over the whole train and val splits: `python -m gpt.eval --checkpoint DIR --data shakespeare`."""
from __future__ import annotations

import argparse
import sys
import time

import torch

from . import hardware
from .checkpoint import CheckpointError, load
from .data import Corpus, CorpusUnavailableError
from .errors import UsageError
from .metrics import split_loss


class Reporter:
    """A line on stderr every few seconds: a whole split takes a minute or more on a CPU."""

    def __init__(self, split: str, total: int, every: float = 3.0):
        self.split, self.total, self.every = split, max(total, 1), every
        self.start = self.last = time.monotonic()

    def __call__(self, done: int) -> None:
        now = time.monotonic()
        if now - self.last >= self.every:
            self.last = now
            rate = done / (now - self.start)
            left = (self.total - done) / rate if rate else float("nan")
            print(f"{self.split}: {done / self.total:.0%} of {self.total:,} characters, about {left:.0f} s left",
                  file=sys.stderr, flush=True)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m gpt.eval", description=__doc__)
    p.add_argument("--checkpoint", required=True, help="checkpoint folder or Hugging Face Hub repo id")
    p.add_argument("--data", default=None, help="shakespeare, names or a file (default: the corpus it was trained on)")
    p.add_argument("--splits", default="train,val")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--threads", type=int)
    p.add_argument("--device", default="auto", choices=hardware.DEVICE_CHOICES)
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        model = load(args.checkpoint, device=hardware.pick_device(args.device))
        broken = [name for name, p in model.named_parameters() if not torch.isfinite(p).all()]
        if broken:
            raise UsageError(f"the weights hold NaN or infinite values ({', '.join(broken[:3])}"
                             f"{', …' if len(broken) > 3 else ''}): every loss would be nan; retrain, or load an "
                             "earlier checkpoint")
        corpus = Corpus.load(args.data or model.run.corpus or "shakespeare", line_framed=model.run.line_framed)
        dataset = model.dataset_for(corpus)
        for split in args.splits.split(","):
            reporter = Reporter(split, dataset.num_tokens(split))
            loss = split_loss(model, dataset, split, args.batch_size, progress=reporter)
            print(f"{split:5s} loss {loss:.4f}  ({dataset.num_tokens(split):,} characters)", flush=True)
    except (CheckpointError, CorpusUnavailableError, FileNotFoundError, ValueError, KeyError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
