"""Stream a sample to stdout: `python -m gpt.sample --checkpoint DIR_OR_REPO --prompt "ROMEO:"`."""
from __future__ import annotations

import argparse
import sys

import torch

from . import hardware
from .checkpoint import CheckpointError, load
from .generation import generate
from .tokenizer import UnknownCharactersError


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m gpt.sample", description=__doc__)
    p.add_argument("--checkpoint", required=True, help="checkpoint folder or Hugging Face Hub repo id")
    p.add_argument("--prompt", default="")
    p.add_argument("--max-new-tokens", type=int, default=500)
    p.add_argument("--temperature", type=float, default=0.8, help="0 = greedy")
    p.add_argument("--top-k", type=int, help="sample among the k most likely characters")
    p.add_argument("--top-p", type=float, help="sample among the most likely characters totalling p")
    p.add_argument("--seed", type=int)
    p.add_argument("--unknown", choices=["error", "drop", "replace"], default="error",
                   help="what to do with prompt characters outside the vocabulary")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--device", default="auto", choices=hardware.DEVICE_CHOICES)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    try:
        model = load(args.checkpoint, device=hardware.pick_device(args.device))
        prompt = model.tokenizer.clean(args.prompt, args.unknown)       # refused before anything is written
        pieces = generate(model, prompt, args.max_new_tokens, temperature=args.temperature,
                          top_k=args.top_k, top_p=args.top_p, seed=args.seed)
        first = next(pieces, "")                 # the settings are checked here, before the prompt is written
        sys.stdout.write(prompt + first)
        for piece in pieces:
            sys.stdout.write(piece)
            sys.stdout.flush()
        sys.stdout.write("\n")
    except UnknownCharactersError as e:
        shown = ", ".join(repr(c) for c in e.unknown[:10]) + (", ..." if len(e.unknown) > 10 else "")
        print(f"error: {shown} {'is' if len(e.unknown) == 1 else 'are'} not in this model's vocabulary "
              "(add --unknown drop or --unknown replace)", file=sys.stderr)
        return 2
    except (CheckpointError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
