"""The lecture's "activations and gradients" plots, measured while a model trains.

Every `every` steps the trainer lets a `Diagnostics` watch its own training step (no extra
pass): forward hooks on the nonlinearities record each layer's activation mean, standard
deviation, a histogram, the fraction of saturated units and the number of dead ones; after
backward it records each parameter's gradient standard deviation, and after the update the
update-to-data ratio, log10(std(lr * update) / std(weight)), whose healthy value the lecture
puts near -3.

"Saturated" means a unit's gradient has all but vanished: a tanh output beyond ±0.97 (the
lecture's threshold), a GELU input below -3 (GELU is flat there: slope under 0.012). A unit
is dead when it is saturated for every example of the batch.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from torch import nn

TANH_SATURATED = 0.97
GELU_FLAT = -3.0


@dataclass
class ActivationStats:
    layer: str
    kind: str                  # "tanh" or "gelu"
    mean: float
    std: float
    saturated: float           # fraction of unit-examples whose gradient all but vanished
    dead: int                  # units saturated on every example of the batch
    units: int
    histogram: tuple[list[int], list[float]] | None   # counts, bin edges (None where a record keeps none)


@dataclass
class ParameterStats:
    name: str
    grad_std: float
    update_ratio: float | None = None          # log10(std(update) / std(weight)); None before the update


@dataclass
class StepDiagnostics:
    step: int
    activations: list[ActivationStats] = field(default_factory=list)
    parameters: list[ParameterStats] = field(default_factory=list)

    def to_json(self, histograms: bool = True) -> dict:
        record = asdict(self)
        for a in record["activations"]:
            a["mean"], a["std"], a["saturated"] = (round(a[k], 5) for k in ("mean", "std", "saturated"))
            a["histogram"] = ([a["histogram"][0], [round(e, 4) for e in a["histogram"][1]]]
                              if histograms and a["histogram"] else None)
        for p in record["parameters"]:
            p["grad_std"] = float(f"{p['grad_std']:.4g}")
            p["update_ratio"] = None if p["update_ratio"] is None else round(p["update_ratio"], 4)
        return record

    @classmethod
    def from_json(cls, record: dict) -> "StepDiagnostics":
        return cls(record["step"], [ActivationStats(**a) for a in record["activations"]],
                   [ParameterStats(**p) for p in record["parameters"]])


def activation_stats(layer: str, kind: str, values: torch.Tensor, bins: int = 40) -> ActivationStats:
    """Statistics of one layer's activations (..., units): outputs for tanh, inputs for GELU."""
    v = values.detach().float().reshape(-1, values.size(-1))          # (examples, units)
    flat = v.abs() > TANH_SATURATED if kind == "tanh" else v < GELU_FLAT
    low, high = float(v.min()), float(v.max())
    high = high if high > low else low + 1e-6
    counts = torch.histc(v, bins=bins, min=low, max=high)
    edges = np.linspace(low, high, bins + 1)
    std, mean = torch.std_mean(v)
    return ActivationStats(layer, kind, float(mean), float(std), float(flat.float().mean()),
                           int(flat.all(0).sum()), v.size(1), ([int(c) for c in counts.tolist()], edges.tolist()))


class Diagnostics:
    """Watches a model's nonlinearities and parameters on every `every`-th training step."""

    def __init__(self, model: nn.Module, every: int = 50, bins: int = 40):
        self.model, self.every, self.bins = model, every, bins
        self.records: list[StepDiagnostics] = []
        self._current: StepDiagnostics | None = None
        self._before: dict[str, torch.Tensor] = {}
        self._handles: list = []

    def _hook(self, name: str, kind: str, use_input: bool):
        def watch(module, inputs, output):
            values = inputs[0] if use_input else output
            self._current.activations.append(activation_stats(name, kind, values, self.bins))
        return watch

    def begin(self, step: int) -> bool:
        """Before the forward pass of `step` (1-based): watch it if it is due. The hooks exist
        only for that one forward pass, so other steps (and generation) pay nothing."""
        if step % self.every and step != 1:
            self._current = None
            return False
        self._current = StepDiagnostics(step)
        for name, module in self.model.named_modules():
            if isinstance(module, (nn.Tanh, nn.GELU)):
                kind = "tanh" if isinstance(module, nn.Tanh) else "gelu"
                self._handles.append(module.register_forward_hook(self._hook(name, kind, use_input=kind == "gelu")))
        return True

    def after_backward(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []
        if self._current is None:
            return
        for name, p in self.model.named_parameters():
            if p.grad is not None:
                self._current.parameters.append(ParameterStats(name, float(p.grad.float().std())))
        self._before = {name: p.detach().clone() for name, p in self.model.named_parameters()}

    def after_update(self) -> StepDiagnostics | None:
        """After the optimizer step: the update-to-data ratios; returns the finished record."""
        record, self._current = self._current, None
        if record is None:
            return None
        params = dict(self.model.named_parameters())
        for stats in record.parameters:
            after = params[stats.name].detach()
            update = (after - self._before[stats.name]).float().std()
            scale = after.float().std()
            if update > 0 and scale > 0:
                stats.update_ratio = math.log10(float(update) / float(scale))
        self._before = {}
        self.records.append(record)
        return record
