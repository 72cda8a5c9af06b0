"""What a training run is told (`TrainConfig`) and what it knows afterwards (`RunRecord`).

A `RunRecord` travels with the model (`model.run`) and is saved in the checkpoint's
config.json. Each field has one writer:

    corpus, line_framed, train_config, step,     the Trainer, as it trains
    tokens_seen, elapsed, bigram_val_loss
    weights_dtype                                 checkpoint.save, from the dtype it wrote
    evaluation, sample, title, ladder_rung        gpt.publish, on the weights that ship

The training log (one entry per evaluation) is `model.history`, kept by the Trainer and
saved as history.json.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from .errors import UsageError


@dataclass
class TrainConfig:
    max_steps: int = 5000
    time_budget: float | None = None   # seconds of wall time (evaluation included); None: no limit
    batch_size: int = 16
    lr: float = 3e-3
    optimizer: str = "adamw"           # or "muon": Muon on the hidden matrices, AdamW on the rest (gpt.optimizers)
    muon_lr_scale: float = 1.0         # Muon's learning rate over AdamW's, both following one schedule
    min_lr_ratio: float = 0.1          # the cosine decays to lr * min_lr_ratio
    warmup_steps: int = 100
    weight_decay: float = 0.1
    beta2: float = 0.99                # small-batch, char-level: nanoGPT's shakespeare_char setting
    grad_clip: float = 1.0
    eval_interval: int = 250
    eval_batches: int = 20             # the fixed evaluation set: this many batches per split
    bf16: bool = False                 # bf16 autocast for matmuls; weights and optimizer stay fp32
    compile: bool = False              # torch.compile the model (pays off on GPUs, not on this CPU)
    sample_chars: int = 0              # a sample of this length with each evaluation
    seed: int = 1337


@dataclass
class Evaluation:
    """Losses measured once, on the weights as shipped (nats per character)."""

    train_loss: float          # the whole train split
    val_loss: float            # the whole val split: the number to compare models by
    val_slice_loss: float      # a fixed leading slice of val, quick to re-check (tests do)
    val_slice: str             # what that slice is, in words


@dataclass
class RunRecord:
    corpus: str | None = None              # a named corpus ("shakespeare", "names") or a file's stem
    line_framed: bool = False              # trained on framed lines (makemore's names) or running text
    train_config: TrainConfig | None = None
    step: int = 0
    tokens_seen: int = 0                   # characters predicted during training, all processes together
    elapsed: float = 0.0                   # seconds of training, evaluation included
    bigram_val_loss: float | None = None   # the counting bigram on the same val split: the line to beat
    weights_dtype: str = "fp32"            # how the weights are stored on disk; loaded back as fp32
    evaluation: Evaluation | None = None
    sample: str | None = None              # the model card's sample
    title: str | None = None
    ladder_rung: int | None = None         # the Learn tab's ladder: which rung this is

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, values: Any) -> "RunRecord":
        """Read a record back, refusing anything that is not the shape we write."""
        if not isinstance(values, dict):
            raise UsageError(f"the run record must be a JSON object, not {type(values).__name__}")
        values = _known(cls, values)
        for name, kinds in _RECORD_TYPES.items():
            if name in values and not _is(values[name], kinds):
                raise UsageError(f"the run record's {name} must be {' or '.join(k.__name__ for k in kinds)}, "
                                 f"not {values[name]!r}")
        if values.get("train_config") is not None:
            values["train_config"] = TrainConfig(**_known(TrainConfig, _object(values["train_config"], "train_config")))
        if values.get("evaluation") is not None:
            values["evaluation"] = Evaluation(**_known(Evaluation, _object(values["evaluation"], "evaluation")))
        return cls(**values)

    @classmethod
    def from_v1_info(cls, info: Any) -> "RunRecord":
        """Format 1 kept a free-form `info` dict; read what it said into the typed record."""
        info = _object(info or {}, "info")
        measured = dict(_object(info.get("eval") or {}, "info.eval"))
        bigram = measured.pop("bigram_val_loss", None)
        rung = info.get("rung")
        return cls.from_json({
            "corpus": info.get("corpus"), "line_framed": bool(info.get("line_framed", False)),
            "train_config": info.get("train_config"), "step": info.get("step", 0),
            "tokens_seen": info.get("tokens_seen", 0), "elapsed": info.get("elapsed", 0.0),
            "bigram_val_loss": bigram, "weights_dtype": info.get("weights_dtype", "fp32"),
            "evaluation": measured or None, "sample": info.get("sample"),
            "ladder_rung": rung.get("number") if isinstance(rung, dict) else None,
        })


def _object(value: Any, name: str) -> dict:
    if not isinstance(value, dict):
        raise UsageError(f"{name} must be a JSON object, not {type(value).__name__}")
    return value


def _known(cls: type, values: dict) -> dict:
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in values.items() if k in names}


_RECORD_TYPES: dict[str, tuple[type, ...]] = {
    "corpus": (str, type(None)), "line_framed": (bool,), "step": (int,), "tokens_seen": (int,),
    "elapsed": (float, int), "bigram_val_loss": (float, int, type(None)), "weights_dtype": (str,),
    "sample": (str, type(None)), "title": (str, type(None)), "ladder_rung": (int, type(None)),
}
"""The JSON types each plain field of a run record may hold (a corpus of 5 is refused on loading,
not found later by a command that looks the corpus up)."""


def _is(value: Any, kinds: tuple[type, ...]) -> bool:
    if isinstance(value, bool):
        return bool in kinds
    return isinstance(value, kinds)
