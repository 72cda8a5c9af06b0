"""The model families by name, so configs and checkpoints can say which one they hold.

Each family's defaults live in its config dataclass (`GPTConfig`, `MLPConfig`, ...) and
nowhere else: the CLI, the trainer and the app start from them.
"""
from __future__ import annotations

from dataclasses import asdict, fields

import torch

from .baselines import MLP, Bigram, BigramConfig, MLPConfig
from .errors import UsageError
from .ladder_model import LadderConfig, LadderModel
from .language_model import LanguageModel
from .model import GPT, GPTConfig

MODEL_TYPES: dict[str, tuple[type, type[LanguageModel]]] = {
    "bigram": (BigramConfig, Bigram),
    "mlp": (MLPConfig, MLP),
    "gpt": (GPTConfig, GPT),
    "ladder": (LadderConfig, LadderModel),
}


def config_class(model_type: str) -> type:
    if model_type not in MODEL_TYPES:
        raise UsageError(f"unknown model type {model_type!r}; choose one of {', '.join(MODEL_TYPES)}")
    return MODEL_TYPES[model_type][0]


def make_config(model_type: str, **settings):
    """A family's config from its defaults and `settings`, refusing settings it does not have."""
    config_cls = config_class(model_type)
    known = {f.name for f in fields(config_cls)}
    unknown = sorted(set(settings) - known)
    if unknown:
        raise UsageError(f"{model_type} has no setting {', '.join(unknown)}; it takes {', '.join(sorted(known))}")
    return config_cls(**settings)


def build_model(model_type: str, **config) -> LanguageModel:
    """A freshly initialised model, e.g. `build_model("gpt", vocab_size=65, n_layer=4)`."""
    config = make_config(model_type, **config)
    return MODEL_TYPES[model_type][1](config)


def model_config_dict(model: LanguageModel) -> dict:
    return asdict(model.config)


def count_params(model_type: str, **config) -> int:
    """The parameters a model would have, counted on the meta device: nothing is allocated,
    so a request for an absurd size is refused before it costs any memory."""
    with torch.device("meta"):
        return build_model(model_type, **config).num_params()
