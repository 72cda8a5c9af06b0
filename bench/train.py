"""Training speed on this machine, and how low the val loss gets in a fixed wall-clock time.

    python bench/train.py [--repeats 5] [--budgets 60,180] [--threads 1] [--live]

1. Throughput: ms per step and tokens per second (median of --repeats timed steps after
   warm-up) for nanoGPT's documented CPU recipe (4 layers, 4 heads, 128 wide, block 64,
   batch 12, no dropout) and for the shipped GPT's configuration, in fp32 and bf16 autocast.
2. Time to loss: train from scratch for each budget with the app's live-training defaults,
   evaluation included, then measure the loss over the *whole* val split; nanoGPT's recipe
   (AdamW 1e-3, warmup 100, cosine to step 2000) stopped after the same wall time is the
   baseline in the same run.
3. Live training as the app runs it (--live): the Train live defaults with each optimizer
   (AdamW, then Muon + AdamW), trained through the app's own path (a worker process at its
   lower priority, evaluations, samples and diagnostics included) for each budget, then the
   loss over the whole val split.
4. Optimizer and compilation (--variants): ms per step with AdamW's foreach implementation
   (what the trainer uses), its fused kernel, and the model under `torch.compile`, for the
   live-training defaults and the shipped GPT, with the time the first step takes (the
   compilation, for the compiled model; a fresh inductor cache, so nothing is reused).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

import gpt  # noqa: E402
from bench.common import machine, synchronize, table  # noqa: E402
from gpt.hardware import bf16_is_fast  # noqa: E402
from gpt.trainer import make_optimizer  # noqa: E402
from studio.settings import SETTINGS  # noqa: E402
from studio.training import OPTIMIZER_NAMES, TrainRequest, architecture, build_training, defaults_for  # noqa: E402

NANOGPT_CPU = dict(n_layer=4, n_head=4, n_embd=128, block_size=64, dropout=0.0)
NANOGPT_TRAIN = dict(batch_size=12, lr=1e-3, warmup_steps=100, max_steps=2000, min_lr_ratio=0.1,
                     weight_decay=0.1, beta2=0.99)
SHIPPED = dict(n_layer=6, n_head=6, n_embd=192, block_size=256, dropout=0.1)
NANOGPT_GPU = dict(n_layer=6, n_head=6, n_embd=384, block_size=256, dropout=0.2)   # shakespeare_char, batch 64
LIVE = {k: v for k, v in architecture(TrainRequest(), 65).items() if k != "vocab_size"}


def step_time(arch: dict, batch_size: int, bf16: bool, repeats: int, fused: bool = False,
              compiled: bool = False, device: str = "cpu") -> tuple[float, float]:
    """(median seconds per training step after 3 warm-up steps, seconds taken by the first step)."""
    torch.manual_seed(0)
    model = gpt.build_model("gpt", vocab_size=65, **arch).to(device)
    groups = make_optimizer(model, gpt.TrainConfig()).param_groups
    optimizer = torch.optim.AdamW(groups, fused=True) if fused else torch.optim.AdamW(groups, foreach=True)
    forward = torch.compile(model) if compiled else model
    x = torch.randint(65, (batch_size, arch["block_size"]), device=device)
    times = []
    for i in range(repeats + 3):
        start = time.perf_counter()
        with torch.autocast(torch.device(device).type, dtype=torch.bfloat16, enabled=bf16):
            _, loss = forward(x, x)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        synchronize(device)
        times.append(time.perf_counter() - start)
    return sorted(times[3:])[repeats // 2], times[0]


def throughput(repeats: int, device: str = "cpu") -> str:
    rows = []
    configs = [("nanoGPT CPU recipe", NANOGPT_CPU, 12), ("shipped GPT", SHIPPED, 16)]
    if torch.device(device).type == "cuda":
        configs += [("shipped GPT, batch 64", SHIPPED, 64), ("nanoGPT shakespeare_char (6 × 384)", NANOGPT_GPU, 64)]
    for name, arch, batch in configs:
        fp32 = step_time(arch, batch, False, repeats, device=device)[0]
        bf16 = step_time(arch, batch, True, repeats, device=device)[0]
        tokens = batch * arch["block_size"]
        for label, t in (("fp32", fp32), ("bf16 autocast", bf16)):
            rows.append([name, label, f"{1000 * t:.0f}", f"{tokens / t:,.0f}", f"{fp32 / t:.2f}×"])
    return table(["configuration", "precision", "ms/step", "tokens/s", "speed vs fp32"], rows)


def variants(repeats: int, device: str = "cpu") -> str:
    rows = []
    live_bf16 = bf16_is_fast(device)       # as the app decides
    for name, arch, batch, bf16 in (
            (f"live-training defaults ({'bf16 autocast' if live_bf16 else 'fp32'})", LIVE,
             TrainRequest().batch_size, live_bf16),
            ("shipped GPT (bf16 autocast)", SHIPPED, 16, True)):
        base = None
        for label, fused, compiled in (("AdamW foreach, eager", False, False), ("AdamW fused, eager", True, False),
                                       ("AdamW foreach, torch.compile", False, True)):
            seconds, first = step_time(arch, batch, bf16, repeats, fused, compiled, device)
            ms = 1000 * seconds
            base = base or ms
            rows.append([name, label, f"{ms:.0f}", f"{base / ms:.2f}×", f"{first:.1f} s"])
    return table(["configuration", "variant", "ms/step", "speed vs foreach", "first step"], rows)


def diagnostics_overhead(steps: int = 300, every: int = 50, rounds: int = 3) -> str:
    """ms per step of the live-training defaults with and without diagnostics every `every`
    steps (rounds interleaved, so both see the same machine)."""
    from gpt.diagnostics import Diagnostics

    times = {False: [], True: []}
    for _ in range(rounds):
        for watched in (False, True):
            trainer = build_training(TrainRequest(max_steps=steps, minutes=5))
            if watched:
                trainer.diagnostics = Diagnostics(trainer.model, every=every)
            trainer.config.eval_interval = steps + 1               # time the training steps alone
            start = time.perf_counter()
            for _ in trainer.run():
                pass
            times[watched].append((time.perf_counter() - start) / steps)
    plain, watched = (1000 * sorted(times[k])[rounds // 2] for k in (False, True))
    return table(["live-training defaults", "ms/step", "overhead"],
                 [["without diagnostics", f"{plain:.1f}", ""],
                  [f"diagnostics every {every} steps", f"{watched:.1f}", f"{100 * (watched / plain - 1):+.1f}%"]])


def train_for(seconds: float, corpus, app_defaults: bool) -> tuple[float, int]:
    """Val loss over the whole split after `seconds` of training; and the steps taken."""
    torch.manual_seed(0)
    if app_defaults:
        trainer = build_training(TrainRequest(minutes=seconds / 60, max_steps=SETTINGS.max_steps))
    else:
        dataset = corpus.dataset(NANOGPT_CPU["block_size"])
        model = gpt.build_model("gpt", vocab_size=dataset.tokenizer.vocab_size, **NANOGPT_CPU)
        trainer = gpt.Trainer(model, dataset, gpt.TrainConfig(eval_interval=250, eval_batches=20, **NANOGPT_TRAIN))
    start = time.perf_counter()
    for _ in trainer.run(should_stop=lambda: time.perf_counter() - start >= seconds):
        pass
    return gpt.split_loss(trainer.model, trainer.dataset, "val"), trainer.step


def time_to_loss(budgets: list[float]) -> str:
    corpus = gpt.Corpus.load("shakespeare")
    request = TrainRequest()
    rows = []
    for seconds in budgets:
        ours, our_steps = train_for(seconds, corpus, app_defaults=True)
        base, base_steps = train_for(seconds, corpus, app_defaults=False)
        rows.append([f"{seconds:g} s", f"{ours:.3f} ({our_steps:,} steps)", f"{base:.3f} ({base_steps:,} steps)",
                     f"{base - ours:+.3f}"])
    defaults = (f"app defaults: {request.n_layer} layers × {request.n_embd} wide, {request.n_head} heads, "
                f"block {request.block_size}, batch {request.batch_size}, lr {request.lr:g}, cosine over the budget")
    return defaults + "\n\n" + table(["wall time", "app defaults: val loss", "nanoGPT recipe: val loss",
                                      "gain"], rows)


def live_training(seconds: float, optimizer: str, most_threads: int | None = None) -> tuple[float, int, str]:
    """Val loss over the whole split after a Train live run of `seconds` with `optimizer`,
    through the worker process the app starts; the steps it took; and the threads it used."""
    from gpt.snapshots import MemorySnapshots
    from studio.worker import RemoteTraining

    torch.manual_seed(0)
    request = defaults_for("gpt", "shakespeare", seconds / 60)        # what Train live suggests for this budget
    request.max_steps, request.optimizer = SETTINGS.max_steps, optimizer
    trainer = build_training(request)
    remote = RemoteTraining(trainer, MemorySnapshots(max_count=16), threads=SETTINGS.threads,
                            most_threads=most_threads)
    for _ in remote.run():
        pass
    loss = gpt.split_loss(remote.model, trainer.dataset, "val")
    return loss, remote.model.run.step, threads_used(remote.threads_seen)


def threads_used(seen: Counter[int]) -> str:
    """A worker's progress lines by the threads it trained on, as shares: "1: 2%, 2: 98%"."""
    return ", ".join(f"{n}: {100 * c / sum(seen.values()):.0f}%" for n, c in sorted(seen.items()))


def live_time_to_loss(budgets: list[float], optimizers: list[str]) -> str:
    """Each optimizer on one thread (the app before it borrowed idle cores) and with the app's
    GPT_APP_TRAINING_THREADS (default: every core, taken only while idle), in one run."""
    runs = [(o, most) for o in optimizers for most in (1, SETTINGS.training_threads)]
    rows = []
    for seconds in budgets:
        row = [f"{seconds:g} s"]
        for optimizer, most in runs:
            loss, steps, used = live_training(seconds, optimizer, most)
            row.append(f"{loss:.3f} ({steps:,} steps; threads {used})")
        rows.append(row)
    names = [f"{OPTIMIZER_NAMES[o]}, {'1 thread' if most == 1 else f'up to {most} threads'}" for o, most in runs]
    return ("Train live's defaults for each budget (3 x 192 from 3 minutes on), through the app's worker "
            "process, whole val split:\n\n"
            + table(["budget"] + names, rows))


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--budgets", default="60,180")
    p.add_argument("--threads", type=int, default=1, help="1 = the app's setting")
    p.add_argument("--skip-throughput", action="store_true")
    p.add_argument("--variants", action="store_true", help="also time fused AdamW and torch.compile")
    p.add_argument("--device", default="cpu", help="cpu, cuda or mps: where the throughput table runs")
    p.add_argument("--diagnostics", action="store_true", help="also time the activation/gradient diagnostics")
    p.add_argument("--live", action="store_true", help="Train live's path (worker process): each optimizer "
                   "on one thread and with the idle cores lent, instead of the in-process comparison with nanoGPT's "
                   "recipe")
    p.add_argument("--optimizers", default="muon,adamw", help="with --live: which optimizers, comma-separated")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    device = gpt.pick_device(args.device)
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True      # as python -m gpt.train does on a GPU
    print(f"# Training benchmark\nmachine: {machine(device)}\n")
    if not args.skip_throughput:
        print(throughput(args.repeats, device) + "\n", flush=True)
    if args.diagnostics:
        print(diagnostics_overhead() + "\n", flush=True)
    if args.variants:
        os.environ["TORCHINDUCTOR_CACHE_DIR"] = tempfile.mkdtemp(prefix="inductor-")
        print(variants(args.repeats, device) + "\n", flush=True)
    if args.budgets:
        try:
            budgets = [float(b) for b in args.budgets.split(",")]
            print(live_time_to_loss(budgets, args.optimizers.split(",")) if args.live else time_to_loss(budgets),
                  flush=True)
        except gpt.CorpusUnavailableError as e:
            sys.exit(f"bench/train.py: {e}")


if __name__ == "__main__":
    main()
