"""The three model families by name, so configs and checkpoints can say which one they hold."""
from __future__ import annotations

from dataclasses import asdict, fields

from .base import LanguageModel
from .baselines import MLP, Bigram, BigramConfig, MLPConfig
from .ladder import LadderConfig, LadderModel
from .model import GPT, GPTConfig

MODEL_TYPES: dict[str, tuple[type, type[LanguageModel]]] = {
    "bigram": (BigramConfig, Bigram),
    "mlp": (MLPConfig, MLP),
    "gpt": (GPTConfig, GPT),
    "ladder": (LadderConfig, LadderModel),
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


POSITION_FREE_WINDOW = 64


def window_size(model_type: str, block_size: int, line_framed: bool) -> int:
    """How many characters one training row holds.

    A GPT (or a ladder rung) reads windows of its block size. The bigram and the MLP look at a fixed number of
    previous characters wherever they are, so on running text they train on longer windows
    (64: more targets per row, same meaning); on framed corpora a row is one framed example.
    """
    if model_type in ("gpt", "ladder") or line_framed:
        return block_size
    return max(block_size, POSITION_FREE_WINDOW)


def dataset_for(model: LanguageModel, corpus, tokenizer=None):
    from .data import Dataset

    window = window_size(model.model_type, model.block_size, corpus.line_framed)
    return Dataset(corpus, window, tokenizer=tokenizer or model.tokenizer)
