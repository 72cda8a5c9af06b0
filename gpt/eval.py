"""Loss over the whole train and val splits: `python -m gpt.eval --checkpoint DIR --data shakespeare`."""
from __future__ import annotations

import argparse
import sys

import torch

from . import hardware
from .checkpoint import CheckpointError, load
from .data import Corpus, CorpusUnavailableError
from .errors import UsageError
from .metrics import split_loss


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
            loss = split_loss(model, dataset, split, args.batch_size)
            print(f"{split:5s} loss {loss:.4f}  ({dataset.num_tokens(split):,} characters)", flush=True)
    except (CheckpointError, CorpusUnavailableError, FileNotFoundError, ValueError, KeyError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
