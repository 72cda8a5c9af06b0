"""tinyshakespeare-gpt: a character-level GPT, and the models that lead up to it.

    import gpt
    model = gpt.load("checkpoints/shakespeare-gpt")      # or a Hugging Face Hub repo id
    for piece in gpt.generate(model, "ROMEO:", max_new_tokens=200, temperature=0.8, seed=1):
        print(piece, end="")
"""
from .base import LanguageModel
from .baselines import MLP, Bigram, BigramConfig, MLPConfig
from .checkpoint import CheckpointError, load, push_to_hub, save
from .data import Corpus, CorpusUnavailableError, Dataset
from .evaluate import split_loss
from .model import GPT, GPTConfig, KVCache
from .models import build_model
from .sampling import SamplingSettings, generate, next_token_probs, sample_ids
from .tokenizer import CharTokenizer, UnknownCharactersError
from .trainer import Progress, TrainConfig, Trainer

__all__ = [
    "LanguageModel", "Bigram", "BigramConfig", "MLP", "MLPConfig", "GPT", "GPTConfig", "KVCache",
    "build_model", "load", "save", "push_to_hub", "CheckpointError", "Corpus", "CorpusUnavailableError",
    "Dataset", "split_loss", "SamplingSettings", "generate", "next_token_probs", "sample_ids",
    "CharTokenizer", "UnknownCharactersError", "Progress", "TrainConfig", "Trainer",
]
