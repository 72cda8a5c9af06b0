"""The copying GPT: a small GPT trained where copying pays, for the Lab's induction lesson.

The shipped Tiny Shakespeare GPT never learned to copy from its context: the corpus rarely
repeats itself within a block. This one trains on the same text, but in half of its
training windows the second half repeats the first (gpt.data.RepeatedSpans), so the
"find where this came before, copy what followed" circuit pays. At every evaluation the
run records the induction scores of its heads and the loss on a random string's two
copies, so the Lab can show the circuit forming.

    python recipes/copying_gpt.py [--minutes 15] [--out checkpoints/copying-gpt]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gpt import Corpus, TrainConfig, Trainer, build_model  # noqa: E402
from gpt.data import RepeatedSpans  # noqa: E402
from gpt.hardware import bf16_is_fast  # noqa: E402
from gpt.lab import induction_scores  # noqa: E402
from gpt.publish import publish  # noqa: E402

ARCH = dict(block_size=128, n_layer=2, n_head=4, n_embd=128, dropout=0.0)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--minutes", type=float, default=15)
    p.add_argument("--out", default="checkpoints/copying-gpt")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(1337)
    corpus = Corpus.load("shakespeare")
    dataset = RepeatedSpans(corpus.dataset(ARCH["block_size"]), fraction=0.5)
    model = build_model("gpt", vocab_size=dataset.tokenizer.vocab_size, **ARCH)
    config = TrainConfig(max_steps=100_000, time_budget=args.minutes * 60, batch_size=32, lr=3e-3, warmup_steps=100,
                         eval_interval=100, eval_batches=10, weight_decay=0.1, bf16=bf16_is_fast())
    trainer = Trainer(model, dataset, config)
    for progress in trainer.run():
        if progress.val_loss is None:
            continue
        probe = induction_scores(model, length=60, seed=0)
        model.history[-1].update(induction_max=round(float(probe.scores.max()), 4),
                                 first_copy_loss=round(float(probe.first_copy.mean()), 4),
                                 second_copy_loss=round(float(probe.second_copy.mean()), 4))
        model.train()
        h = model.history[-1]
        print(f"step {progress.step:5d} val {progress.val_loss:.3f} | induction {h['induction_max']:.2f} | "
              f"random string: first copy {h['first_copy_loss']:.2f}, second {h['second_copy_loss']:.2f} nats | "
              f"{progress.elapsed / 60:.1f} min", flush=True)
    publish(model.eval(), args.out, title="Copying GPT (induction heads, for the Lab)",
            command="python recipes/copying_gpt.py", prompt="ROMEO:\n")
    print(f"published {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
