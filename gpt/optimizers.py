"""The trainer's optimizers: AdamW for everything, or Muon for the hidden matrices beside AdamW.

AdamW scales each weight's step by that weight's own gradient history. Muon (momentum,
orthogonalized) treats a weight *matrix* as one thing: it takes the momentum of its gradient
and replaces it by the nearest orthogonal matrix (a few Newton-Schulz iterations), so every
direction of the matrix moves by the same amount and no single direction dominates the
update. It is what the speedrun recipes (modded-nanoGPT) train transformers with; it suits
only the 2-D matrices that map one hidden space to another. Embeddings (a lookup, one row at
a time), the output head, gains and biases stay with AdamW.

`make_optimizer(model, config)` returns `torch.optim.AdamW`, or for `config.optimizer ==
"muon"` a `MuonWithAdamW`: both with `param_groups`, `zero_grad`, `step`, `state_dict` and
`load_state_dict`, so the trainer and its checkpoints treat them alike. Every group carries
an `lr_scale`: the trainer's schedule sets `lr = schedule * lr_scale`.
"""
from __future__ import annotations

import torch
from torch import nn

from .errors import UsageError
from .records import TrainConfig

OPTIMIZERS = ("adamw", "muon")


def hidden_matrices(model: nn.Module) -> list[nn.Parameter]:
    """The weights Muon trains: every Linear layer's matrix except one that writes the
    vocabulary's logits (the output head) or that is also an embedding (tied weights)."""
    embeddings = {id(m.weight) for m in model.modules() if isinstance(m, nn.Embedding)}
    vocab_size = getattr(getattr(model, "config", None), "vocab_size", None)
    chosen: dict[int, nn.Parameter] = {}
    for module in model.modules():
        if isinstance(module, nn.Linear) and module.weight.requires_grad:
            if id(module.weight) in embeddings or module.out_features == vocab_size:
                continue
            chosen[id(module.weight)] = module.weight
    return list(chosen.values())


def adamw(params, config: TrainConfig, lr_scale: float = 1.0) -> torch.optim.AdamW:
    """AdamW with weight decay on matrices and embeddings only, not on gains and biases."""
    params = list({id(p): p for p in params if p.requires_grad}.values())
    decay = [p for p in params if p.dim() >= 2]
    no_decay = [p for p in params if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": config.weight_decay, "lr_scale": lr_scale},
              {"params": no_decay, "weight_decay": 0.0, "lr_scale": lr_scale}]
    # One fused kernel for every parameter on a GPU; on the CPU fused and foreach measured even.
    fused = {"fused": True} if params[0].device.type == "cuda" else {"foreach": True}
    return torch.optim.AdamW(groups, lr=config.lr * lr_scale, betas=(0.9, config.beta2), **fused)


class MuonWithAdamW:
    """Muon on `hidden_matrices(model)`, AdamW on every other parameter, stepped together.

    Muon's step for an (out, in) matrix is orthogonal, so its size does not follow the
    gradient's: `adjust_lr_fn="match_rms_adamw"` scales it to the root-mean-square of an AdamW
    step, and `config.muon_lr_scale` says how much larger than AdamW's learning rate its own is."""

    def __init__(self, model: nn.Module, config: TrainConfig):
        matrices = hidden_matrices(model)
        if not matrices:
            raise UsageError(f"Muon trains hidden weight matrices, and {type(model).__name__} has none: use AdamW")
        taken = {id(p) for p in matrices}
        self.muon = torch.optim.Muon([{"params": matrices, "lr_scale": config.muon_lr_scale}],
                                     lr=config.lr * config.muon_lr_scale, weight_decay=config.weight_decay,
                                     adjust_lr_fn="match_rms_adamw")
        self.adamw = adamw([p for p in model.parameters() if id(p) not in taken], config)
        self.parts = (self.muon, self.adamw)

    @property
    def param_groups(self) -> list[dict]:
        return self.muon.param_groups + self.adamw.param_groups

    def zero_grad(self, set_to_none: bool = True) -> None:
        for part in self.parts:
            part.zero_grad(set_to_none=set_to_none)

    def step(self) -> None:
        for part in self.parts:
            part.step()

    def state_dict(self) -> dict:
        """One state dict as torch's optimizers write it: AdamW's parameter indices follow Muon's."""
        muon, adam = self.muon.state_dict(), self.adamw.state_dict()
        offset = sum(len(g["params"]) for g in muon["param_groups"])
        groups = muon["param_groups"] + [{**g, "params": [i + offset for i in g["params"]]}
                                         for g in adam["param_groups"]]
        state = {**muon["state"], **{i + offset: s for i, s in adam["state"].items()}}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        n_muon = len(self.muon.param_groups)
        offset = sum(len(g["params"]) for g in self.muon.param_groups)
        groups = state_dict["param_groups"]
        state = {int(i): s for i, s in state_dict["state"].items()}
        self.muon.load_state_dict({"state": {i: s for i, s in state.items() if i < offset},
                                   "param_groups": groups[:n_muon]})
        self.adamw.load_state_dict({"state": {i - offset: s for i, s in state.items() if i >= offset},
                                    "param_groups": [{**g, "params": [i - offset for i in g["params"]]}
                                                     for g in groups[n_muon:]]})


def make_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.AdamW | MuonWithAdamW:
    """The optimizer `config.optimizer` names, over every trainable parameter of `model`.
    "muon" for a model with no hidden matrices (a bigram: one table) is AdamW for all of it."""
    if config.optimizer == "adamw" or (config.optimizer == "muon" and not hidden_matrices(model)):
        return adamw(model.parameters(), config)
    if config.optimizer == "muon":
        return MuonWithAdamW(model, config)
    raise UsageError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, not {config.optimizer!r}")
