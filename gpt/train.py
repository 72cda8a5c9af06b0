"""Command line training: `python -m gpt.train --corpus shakespeare --model gpt --out runs/x`.

Writes `OUT/last` (resumable: rerun the same command with --resume) and `OUT/best` (the
lowest val loss so far). Under torchrun, every process trains and the first one saves.
Architecture flags left out take the model family's defaults (its config dataclass).
"""
from __future__ import annotations

import argparse
import math
import signal
import sys
from dataclasses import fields
from pathlib import Path

import torch

from . import checkpoint, hardware
from .data import Corpus, CorpusUnavailableError
from .distributed import init_from_env, shutdown
from .optimizers import OPTIMIZERS
from .records import TrainConfig
from .registry import build_model, config_class
from .snapshots import DiskSnapshots
from .tokenizer import CharTokenizer
from .trainer import Trainer

TRAINABLE = ["bigram", "mlp", "gpt"]


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m gpt.train", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--corpus", default="shakespeare", help="shakespeare, names, or a text file's path")
    p.add_argument("--model", default="gpt", choices=TRAINABLE)
    p.add_argument("--out", required=True, help="run folder: OUT/last and OUT/best are written")
    p.add_argument("--resume", action="store_true", help="continue from OUT/last if it exists")
    p.add_argument("--snapshots", action="store_true",
                   help="keep the weights at every evaluation as OUT/snapshots/step-NNNNNN checkpoints")
    p.add_argument("--device", default="auto", choices=hardware.DEVICE_CHOICES,
                   help="auto: CUDA, then MPS, then CPU (under torchrun: this process's GPU)")
    arch = p.add_argument_group("architecture (defaults: the chosen model's config)")
    arch.add_argument("--block-size", type=int)
    arch.add_argument("--n-layer", type=int)
    arch.add_argument("--n-head", type=int)
    arch.add_argument("--n-embd", type=int)
    arch.add_argument("--n-hidden", type=int, help="MLP hidden units")
    arch.add_argument("--dropout", type=float)
    arch.add_argument("--bias", action="store_true", default=None, help="GPT: biases in Linear and LayerNorm")
    arch.add_argument("--no-tie", dest="tie_weights", action="store_false", default=None,
                      help="GPT: separate output head and token embedding")
    d = TrainConfig()
    opt = p.add_argument_group("training")
    opt.add_argument("--steps", type=int, default=d.max_steps)
    opt.add_argument("--minutes", type=float, help="wall-clock budget; the lr schedule decays over it")
    opt.add_argument("--batch-size", type=int, default=d.batch_size)
    opt.add_argument("--lr", type=float, default=d.lr)
    opt.add_argument("--optimizer", default=d.optimizer, choices=OPTIMIZERS,
                     help="muon: Muon on the hidden matrices, AdamW on the rest (as Train live offers)")
    opt.add_argument("--min-lr-ratio", type=float, default=d.min_lr_ratio)
    opt.add_argument("--warmup", type=int, help=f"linear warm-up steps (default: {d.warmup_steps}, or a tenth "
                     "of --steps when that is fewer: a 60-step run was all warm-up)")
    opt.add_argument("--weight-decay", type=float, default=d.weight_decay)
    opt.add_argument("--grad-clip", type=float, default=d.grad_clip)
    opt.add_argument("--eval-interval", type=int, default=d.eval_interval)
    opt.add_argument("--eval-batches", type=int, default=d.eval_batches)
    opt.add_argument("--bf16", action="store_true", help="bf16 autocast (GPUs; CPUs with AVX-512 BF16 / AMX)")
    opt.add_argument("--compile", action="store_true", help="torch.compile the model (worth it on a GPU)")
    opt.add_argument("--sample-chars", type=int, default=200, help="print a sample this long at each evaluation")
    opt.add_argument("--seed", type=int, default=d.seed)
    opt.add_argument("--threads", type=int, help="torch threads per process (default: torch's choice)")
    return p.parse_args(argv)


def warmup_steps(args) -> int:
    """The warm-up asked for, or the default scaled down for a short run (a tenth of its steps)."""
    if args.warmup is not None:
        return args.warmup
    return max(1, min(TrainConfig.warmup_steps, args.steps // 10))


def train_config(args) -> TrainConfig:
    return TrainConfig(
        max_steps=args.steps, time_budget=args.minutes * 60 if args.minutes else None,
        batch_size=args.batch_size, lr=args.lr, optimizer=args.optimizer, min_lr_ratio=args.min_lr_ratio,
        warmup_steps=warmup_steps(args),
        weight_decay=args.weight_decay, grad_clip=args.grad_clip, eval_interval=args.eval_interval,
        eval_batches=args.eval_batches, bf16=args.bf16, compile=args.compile, sample_chars=args.sample_chars,
        seed=args.seed)


def architecture(args) -> dict:
    """The flags given that the chosen model family has; the rest stay its defaults."""
    known = {f.name for f in fields(config_class(args.model))}
    return {name: getattr(args, name) for name in known if getattr(args, name, None) is not None}


def build_trainer(args, device: torch.device) -> Trainer:
    config = train_config(args)
    out = Path(args.out)
    last = checkpoint.newest_complete(out / "last") if args.resume else None
    if last is not None:
        model = checkpoint.load(last, device=device)
        state = checkpoint.load_training_state(last)
        if state is None:
            raise checkpoint.CheckpointError(f"{last} holds no training state to resume from")
        dataset = model.dataset_for(Corpus.load(args.corpus, line_framed=model.run.line_framed))
        trainer = Trainer(model, dataset, config, snapshots=snapshot_store(args))
        trainer.load_training_state(*state)
        latest = trainer.history[-1]["val_loss"] if trainer.history else math.inf
        if latest <= trainer.best_val < checkpoint.best_val_loss(out / "best"):
            # an older save order was killed between last and best: last is the best step, so best catches up
            checkpoint.save(model, out / "best")
        print(f"resuming {last} at step {trainer.step} ({trainer.elapsed / 60:.1f} min trained)", flush=True)
        return trainer
    if args.resume and checkpoint.newest_complete(out / "best") is not None:
        raise checkpoint.CheckpointError(f"cannot resume: {out} holds a best checkpoint but no complete last save "
                                         "to continue from; train into a new folder, or move best away to start over")
    if args.resume:
        print(f"nothing to resume in {out}: starting a new run", flush=True)
    corpus = Corpus.load(args.corpus)
    torch.manual_seed(args.seed)            # the initial weights too: the same seed, the same run
    tokenizer = CharTokenizer.from_text(corpus.text)
    model = build_model(args.model, vocab_size=tokenizer.vocab_size, **architecture(args)).to(device)
    model.tokenizer = tokenizer
    trainer = Trainer(model, model.dataset_for(corpus), config, snapshots=snapshot_store(args))
    trainer.best_val = checkpoint.best_val_loss(out / "best")    # never replace a better best
    return trainer


def snapshot_store(args) -> DiskSnapshots | None:
    return DiskSnapshots(Path(args.out) / "snapshots") if args.snapshots else None


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
    stop_requested = []   # set by Ctrl-C / SIGTERM; the trainer stops between two steps
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop_requested.append(True))
    try:
        device = init_from_env(hardware.pick_device(args.device))
        if device.type == "cuda":
            torch.backends.cuda.matmul.allow_tf32 = True    # TF32 tensor cores for the fp32 matmuls
            torch.backends.cudnn.allow_tf32 = True
        trainer = build_trainer(args, device)
        if trainer.is_main:
            print(f"{trainer.model.model_type}: {trainer.model.num_params():,} parameters, "
                  f"{trainer.dataset.num_tokens('train'):,} training tokens, on {device}", flush=True)
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
    except OSError as e:             # a full disk or a folder we may not write: say so, no traceback
        print(f"error: {e.strerror or e} ({e.filename or args.out})", file=sys.stderr)
        return 2
    finally:
        shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
