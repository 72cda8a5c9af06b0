"""One training loop for every model: AdamW (or Muon), warmup + cosine decay, clipping, evaluation.

`Trainer.run()` is a generator: it yields a `Progress` after every optimisation step, so
a notebook, the CLI or a web UI can draw the loss as it falls, and stopping is simply
not asking for the next step (or returning True from `should_stop`). The schedule can run
over a number of steps or over a wall-clock budget; in the latter case "how far along"
is the fraction of the budget spent, so a run of 3 minutes decays its learning rate over
those 3 minutes whatever the machine's speed.

Under `torchrun` each process trains a replica wrapped in DistributedDataParallel: it
draws its own batches (seeded by rank), gradients are averaged across processes in
backward(), and so every replica takes the same step and stays identical.
"""
from __future__ import annotations

import contextlib
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterator

import torch
import torch.distributed as dist

from . import checkpoint
from .data import Dataset
from .generation import SamplingSettings, sample_ids
from .language_model import LanguageModel
from .metrics import counted_bigram_loss
from .optimizers import make_optimizer
from .records import TrainConfig

MIN_EVAL_TARGETS = 4096
"""Every evaluation predicts at least this many characters per split: the mean loss of a
sample that size is within about 0.02 nats of the whole split's."""


@dataclass
class Progress:
    """The state of a run after one step; `val_loss` and `sample` only on evaluation steps."""

    step: int
    max_steps: int
    loss: float                  # this step's training batch loss
    lr: float
    tokens_seen: int
    tokens_per_sec: float
    elapsed: float
    time_left: float
    train_loss: float | None = None
    val_loss: float | None = None
    sample: str | None = None
    done: bool = False


def lr_at(config: TrainConfig, step: int, progress: float) -> float:
    """Linear warmup over warmup_steps, then cosine decay to lr * min_lr_ratio at progress 1."""
    if step < config.warmup_steps:
        return config.lr * (step + 1) / config.warmup_steps
    cosine = 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))
    return config.lr * (config.min_lr_ratio + (1 - config.min_lr_ratio) * cosine)


class Trainer:
    """Trains `model` on `dataset`, keeping the model's run record and history up to date.

    The model may live on any device; batches are moved to it. Under torchrun each process
    holds one replica (see gpt.distributed)."""

    def __init__(self, model: LanguageModel, dataset: Dataset, config: TrainConfig, snapshots=None,
                 diagnostics=None):
        """`snapshots` (gpt.snapshots.MemorySnapshots or DiskSnapshots), if given, receives the
        model at the start and at every evaluation; `diagnostics` (gpt.diagnostics.Diagnostics)
        watches every N-th training step."""
        self.model = model
        self.snapshots = snapshots
        self.diagnostics = diagnostics
        self.dataset = dataset
        self.config = config
        if model.tokenizer is None:
            model.tokenizer = dataset.tokenizer
        run = model.run
        run.corpus, run.line_framed, run.train_config = dataset.corpus.name, dataset.corpus.line_framed, config
        if run.bigram_val_loss is None:
            run.bigram_val_loss = round(counted_bigram_loss(dataset), 4)
        self.rank = dist.get_rank() if dist.is_initialized() else 0
        self.world_size = dist.get_world_size() if dist.is_initialized() else 1
        self.device = model.device
        self.optimizer = make_optimizer(model, config)
        self.step = run.step
        self.elapsed = run.elapsed
        self.tokens_seen = run.tokens_seen
        self.best_val = math.inf
        torch.manual_seed(config.seed)   # dropout masks
        self.batch_rng = torch.Generator().manual_seed(config.seed + self.rank)
        fixed = torch.Generator().manual_seed(config.seed - 1)
        # The fixed evaluation set: eval_batches batches, and never fewer than MIN_EVAL_TARGETS
        # predicted characters, or a framed corpus (one target a row) would be judged on a handful.
        rows = max(config.eval_batches * config.batch_size, math.ceil(MIN_EVAL_TARGETS / dataset.targets_per_row))
        n_batches = math.ceil(rows / config.batch_size)
        self.eval_set = {split: [dataset.batch(split, config.batch_size, fixed) for _ in range(n_batches)]
                         for split in ("train", "val")}
        self.eval_targets = n_batches * config.batch_size * dataset.targets_per_row
        """Characters predicted by each evaluation of a split (a fixed random sample of it)."""
        self.replica: torch.nn.Module = model
        if self.world_size > 1:
            from torch.nn.parallel import DistributedDataParallel

            self.replica = DistributedDataParallel(model)
        if config.compile:
            self.replica = torch.compile(self.replica)

    @property
    def history(self) -> list[dict]:
        """The run's evaluations: the model's own log, which the trainer appends to."""
        return self.model.history

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def progress_fraction(self) -> float:
        fraction = self.step / self.config.max_steps
        if self.config.time_budget:
            fraction = max(fraction, self.elapsed / self.config.time_budget)
        return fraction

    def _autocast(self):
        if not self.config.bf16:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=torch.bfloat16)

    @torch.inference_mode()
    def evaluate(self, model: LanguageModel | None = None) -> dict[str, float]:
        """Mean loss over the fixed evaluation batches of each split, for the model being
        trained or another (a snapshot of it) on the same device."""
        model = model or self.model
        was_training = model.training
        model.eval()
        losses = {}
        with self._autocast():
            for split, batches in self.eval_set.items():
                total = sum(model(x.to(self.device), y.to(self.device))[1] for x, y in batches)
                losses[split] = float(total) / len(batches)
        model.train(was_training)
        return losses

    def sample(self) -> str:
        """A short sample from the model as it is now, always from the same seed."""
        newline = [self.dataset.tokenizer.stoi.get("\n", 0)]
        steps = sample_ids(self.model, newline, self.config.sample_chars, SamplingSettings(), seed=self.config.seed)
        return self.dataset.tokenizer.decode(s.token for s in steps)

    def run(self, should_stop: Callable[[], bool] | None = None) -> Iterator[Progress]:
        """Train until max_steps or the time budget, yielding a Progress after every step."""
        config, model = self.config, self.model
        model.train()
        tokens_per_step = config.batch_size * self.dataset.targets_per_row * self.world_size
        started = time.perf_counter() - self.elapsed
        step_times: list[float] = []
        if self.snapshots is not None and self.step == 0:
            self._evaluate_at_start()                 # the untrained model: where the timeline starts
        while not self._finished():
            if self._stop_requested(should_stop):
                break
            t0 = time.perf_counter()
            lr = lr_at(config, self.step, self.progress_fraction())
            for group in self.optimizer.param_groups:
                group["lr"] = lr * group.get("lr_scale", 1.0)
            x, y = self.dataset.batch("train", config.batch_size, self.batch_rng)
            watched = self.diagnostics is not None and self.diagnostics.begin(self.step + 1)
            with self._autocast():
                _, loss = self.replica(x.to(self.device), y.to(self.device))
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if config.grad_clip:
                torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            if watched:
                self.diagnostics.after_backward()
            self.optimizer.step()
            if watched:
                self.diagnostics.after_update()
            self.step += 1
            self.tokens_seen += tokens_per_step
            step_times = (step_times + [time.perf_counter() - t0])[-50:]
            self.elapsed = time.perf_counter() - started
            last = self._finished()
            progress = Progress(
                step=self.step, max_steps=config.max_steps, loss=loss.item(), lr=lr,
                tokens_seen=self.tokens_seen,
                tokens_per_sec=tokens_per_step / (sum(step_times) / len(step_times)),
                elapsed=self.elapsed, time_left=self._time_left(step_times))
            if self.step % config.eval_interval == 0 or last or self.step == 1:
                self._evaluate_into(progress)
                self.elapsed = time.perf_counter() - started
                progress.elapsed = self.elapsed
                last = self._finished()      # the budget may run out during the evaluation itself
            progress.done = last
            self._record()
            if progress.val_loss is not None and self.snapshots is not None and self.is_main:
                self.snapshots.add(model, self.step)
            yield progress

    def _finished(self) -> bool:
        budget_spent = bool(self.config.time_budget and self.elapsed >= self.config.time_budget)
        return self.step >= self.config.max_steps or budget_spent

    def _record(self) -> None:
        """Keep the model's run record in step with the trainer."""
        run = self.model.run
        run.step, run.tokens_seen, run.elapsed = self.step, self.tokens_seen, round(self.elapsed, 3)

    def _stop_requested(self, should_stop: Callable[[], bool] | None) -> bool:
        """Whether to stop now; under DDP, every replica stops at the same step or none does."""
        stop = bool(should_stop and should_stop())
        if self.world_size > 1:
            flag = torch.tensor([int(stop)], device=self.device)   # NCCL reduces GPU tensors only
            dist.all_reduce(flag, op=dist.ReduceOp.MAX)
            stop = bool(flag.item())
        return stop

    def _evaluate_and_log(self, lr: float) -> dict[str, float]:
        """Evaluate the model as it is now and append the result to the run's history."""
        losses = self.evaluate()
        self.history.append({"step": self.step, "train_loss": losses["train"], "val_loss": losses["val"],
                             "lr": lr, "tokens": self.tokens_seen, "elapsed": round(self.elapsed, 3)})
        return losses

    def _evaluate_into(self, progress: Progress) -> None:
        losses = self._evaluate_and_log(progress.lr)
        progress.train_loss, progress.val_loss = losses["train"], losses["val"]
        if self.config.sample_chars:
            progress.sample = self.sample()

    def _evaluate_at_start(self) -> None:
        """Step 0 in the history (and a snapshot of it): the loss of the untrained model."""
        self._evaluate_and_log(lr=0.0)
        if self.is_main:
            self.snapshots.add(self.model, 0)

    def _time_left(self, step_times: list[float]) -> float:
        by_steps = (self.config.max_steps - self.step) * sum(step_times) / len(step_times)
        if self.config.time_budget:
            return max(0.0, min(by_steps, self.config.time_budget - self.elapsed))
        return by_steps

    # --- checkpoints -------------------------------------------------------------------

    def training_state(self) -> tuple[dict[str, torch.Tensor], dict]:
        """Everything needed to continue exactly where we are, as tensors plus JSON."""
        opt = self.optimizer.state_dict()
        tensors = {"rng.batch": self.batch_rng.get_state(), "rng.torch": torch.get_rng_state()}
        if self.device.type == "cuda":       # dropout masks on a GPU come from its own generator
            tensors["rng.cuda"] = torch.cuda.get_rng_state(self.device)
        for index, state in opt["state"].items():
            for key, value in state.items():
                tensors[f"optimizer.{index}.{key}"] = torch.as_tensor(value).contiguous()
        groups = [{k: v for k, v in g.items()} for g in opt["param_groups"]]
        return tensors, {"step": self.step, "elapsed": self.elapsed, "tokens_seen": self.tokens_seen,
                         "best_val": self.best_val, "optimizer_groups": groups,
                         "train_config": asdict(self.config)}

    def load_training_state(self, tensors: dict[str, torch.Tensor], state: dict) -> None:
        optimizer_state: dict[int, dict] = {}
        for name, value in tensors.items():
            if name.startswith("optimizer."):
                _, index, key = name.split(".", 2)
                optimizer_state.setdefault(int(index), {})[key] = value
        self.optimizer.load_state_dict({"state": optimizer_state, "param_groups": state["optimizer_groups"]})
        self.batch_rng.set_state(tensors["rng.batch"])
        torch.set_rng_state(tensors["rng.torch"])
        if "rng.cuda" in tensors and self.device.type == "cuda":
            torch.cuda.set_rng_state(tensors["rng.cuda"], self.device)
        self.step, self.elapsed = state["step"], state["elapsed"]
        self.tokens_seen, self.best_val = state["tokens_seen"], state["best_val"]

    def save(self, out_dir, keep_best: bool = True) -> bool:
        """Save `out_dir/last` (resumable) and, if val improved, `out_dir/best`. Main rank only.

        Returns True if this evaluation was the best so far."""
        if not self.is_main:
            return False
        self._record()
        latest = self.history[-1] if self.history else {}
        improved = bool(latest) and latest["val_loss"] < self.best_val
        if improved:
            self.best_val = latest["val_loss"]
        # best before last: last's state records the new best loss, so a kill between the two
        # saves must leave that state behind (it re-measures and rewrites best on resume),
        # never a state that believes in a best that was never written
        if keep_best and improved:
            checkpoint.save(self.model, Path(out_dir) / "best")
        checkpoint.save(self.model, Path(out_dir) / "last", training_state=self.training_state())
        return improved
