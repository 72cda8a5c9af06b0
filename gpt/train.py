"""Command line training: `python -m gpt.train --corpus shakespeare --model gpt --out runs/x`.

Writes `OUT/last` (resumable: rerun the same command with --resume) and `OUT/best` (the
lowest val loss so far). Under torchrun, every process trains and the first one saves.
"""
from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

import torch

from . import checkpoint
from .data import Corpus, CorpusUnavailableError, Dataset
from .distributed import init_from_env, shutdown
from .models import build_model, dataset_for, window_size
from .trainer import TrainConfig, Trainer

MODEL_DEFAULTS = {
    "bigram": {"block_size": 1},
    "mlp": {"block_size": 3, "n_embd": 10, "n_hidden": 200},
    "gpt": {"block_size": 256, "n_layer": 6, "n_head": 6, "n_embd": 192, "dropout": 0.1},
}
ARCH_FLAGS = ["block_size", "n_layer", "n_head", "n_embd", "n_hidden", "dropout"]


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m gpt.train", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--corpus", default="shakespeare", help="shakespeare, names, or a text file's path")
    p.add_argument("--model", default="gpt", choices=list(MODEL_DEFAULTS))
    p.add_argument("--out", required=True, help="run folder: OUT/last and OUT/best are written")
    p.add_argument("--resume", action="store_true", help="continue from OUT/last if it exists")
    arch = p.add_argument_group("architecture (defaults depend on --model)")
    arch.add_argument("--block-size", type=int)
    arch.add_argument("--n-layer", type=int)
    arch.add_argument("--n-head", type=int)
    arch.add_argument("--n-embd", type=int)
    arch.add_argument("--n-hidden", type=int, help="MLP hidden units")
    arch.add_argument("--dropout", type=float)
    arch.add_argument("--bias", action="store_true", help="GPT: biases in Linear and LayerNorm")
    arch.add_argument("--no-tie", action="store_true", help="GPT: separate output head and token embedding")
    d = TrainConfig()
    opt = p.add_argument_group("training")
    opt.add_argument("--steps", type=int, default=d.max_steps)
    opt.add_argument("--minutes", type=float, help="wall-clock budget; the lr schedule decays over it")
    opt.add_argument("--batch-size", type=int, default=d.batch_size)
    opt.add_argument("--lr", type=float, default=d.lr)
    opt.add_argument("--min-lr-ratio", type=float, default=d.min_lr_ratio)
    opt.add_argument("--warmup", type=int, default=d.warmup_steps)
    opt.add_argument("--weight-decay", type=float, default=d.weight_decay)
    opt.add_argument("--grad-clip", type=float, default=d.grad_clip)
    opt.add_argument("--eval-interval", type=int, default=d.eval_interval)
    opt.add_argument("--eval-batches", type=int, default=d.eval_batches)
    opt.add_argument("--bf16", action="store_true", help="bf16 autocast (fast on CPUs with AVX-512 BF16 / AMX)")
    opt.add_argument("--sample-chars", type=int, default=200, help="print a sample this long at each evaluation")
    opt.add_argument("--seed", type=int, default=d.seed)
    opt.add_argument("--threads", type=int, help="torch threads per process (default: torch's choice)")
    return p.parse_args(argv)


def train_config(args) -> TrainConfig:
    return TrainConfig(
        max_steps=args.steps, time_budget=args.minutes * 60 if args.minutes else None,
        batch_size=args.batch_size, lr=args.lr, min_lr_ratio=args.min_lr_ratio, warmup_steps=args.warmup,
        weight_decay=args.weight_decay, grad_clip=args.grad_clip, eval_interval=args.eval_interval,
        eval_batches=args.eval_batches, bf16=args.bf16, sample_chars=args.sample_chars, seed=args.seed)


def build_trainer(args, device) -> Trainer:
    config = train_config(args)
    last = Path(args.out) / "last"
    if args.resume and last.is_dir():
        model = checkpoint.load(last, device=device)
        dataset = dataset_for(model, Corpus.load(args.corpus, line_framed=model.info.get("line_framed")))
        trainer = Trainer(model, dataset, config, info=model.info)
        state = checkpoint.load_training_state(last)
        if state is None:
            raise checkpoint.CheckpointError(f"{last} holds no training state to resume from")
        trainer.load_training_state(*state)
        print(f"resuming {last} at step {trainer.step} ({trainer.elapsed / 60:.1f} min trained)", flush=True)
        return trainer
    arch = dict(MODEL_DEFAULTS[args.model])
    arch.update({k: getattr(args, k) for k in ARCH_FLAGS if getattr(args, k) is not None})
    if args.model == "gpt":
        arch.update(bias=args.bias, tie_weights=not args.no_tie)
    corpus = Corpus.load(args.corpus)
    dataset = Dataset(corpus, window_size(args.model, arch["block_size"], corpus.line_framed))
    model = build_model(args.model, vocab_size=dataset.tokenizer.vocab_size, **arch).to(device)
    info = {"corpus": corpus.name, "line_framed": corpus.line_framed,
            "train_tokens": dataset.num_tokens("train"), "val_tokens": dataset.num_tokens("val")}
    return Trainer(model, dataset, config, info=info)


def report(p, is_main: bool) -> None:
    if not is_main or p.val_loss is None:
        return
    print(f"step {p.step:6d} | train {p.train_loss:.4f} | val {p.val_loss:.4f} | lr {p.lr:.2e} | "
          f"{p.tokens_per_sec:8.0f} tok/s | {p.elapsed / 60:6.1f} min", flush=True)
    if p.sample:
        print("  " + p.sample.replace("\n", "\n  "), flush=True)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = init_from_env()
    stop_requested = []   # set by Ctrl-C / SIGTERM; the trainer stops between two steps
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop_requested.append(True))
    try:
        trainer = build_trainer(args, device)
        if trainer.is_main:
            print(f"{trainer.model.model_type}: {trainer.model.num_params():,} parameters, "
                  f"{trainer.dataset.num_tokens('train'):,} training tokens", flush=True)
        for progress in trainer.run(should_stop=lambda: bool(stop_requested)):
            report(progress, trainer.is_main)
            if progress.val_loss is not None:
                trainer.save(args.out)
        if stop_requested:
            trainer.save(args.out, keep_best=False)
            if trainer.is_main:
                print(f"stopped at step {trainer.step}; rerun with --resume to continue", flush=True)
            return 130
    except (CorpusUnavailableError, checkpoint.CheckpointError, FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    finally:
        shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
