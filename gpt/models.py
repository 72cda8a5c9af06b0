"""The three model families by name, so configs and checkpoints can say which one they hold."""
from __future__ import annotations

from dataclasses import asdict, fields

from .base import LanguageModel
from .baselines import MLP, Bigram, BigramConfig, MLPConfig
from .model import GPT, GPTConfig

MODEL_TYPES: dict[str, tuple[type, type[LanguageModel]]] = {
    "bigram": (BigramConfig, Bigram),
    "mlp": (MLPConfig, MLP),
    "gpt": (GPTConfig, GPT),
}


def build_model(model_type: str, **config) -> LanguageModel:
    """A freshly initialised model, e.g. `build_model("gpt", vocab_size=65, n_layer=4)`."""
    if model_type not in MODEL_TYPES:
        raise ValueError(f"unknown model type {model_type!r}; choose one of {', '.join(MODEL_TYPES)}")
    config_cls, model_cls = MODEL_TYPES[model_type]
    known = {f.name for f in fields(config_cls)}
    unknown = sorted(set(config) - known)
    if unknown:
        raise ValueError(f"{model_type} has no setting {', '.join(unknown)}; it takes {', '.join(sorted(known))}")
    return model_cls(config_cls(**config))


def model_config_dict(model: LanguageModel) -> dict:
    return asdict(model.config)
