"""tinyshakespeare-gpt: a character-level GPT, and the models that lead up to it.

    import gpt
    model = gpt.load("checkpoints/shakespeare-gpt")      # or a Hugging Face Hub repo id
    for piece in gpt.generate(model, "ROMEO:", max_new_tokens=200, temperature=0.8, seed=1):
        print(piece, end="")
"""
from . import onnx_decoding  # noqa: F401  (gpt.onnx_decoding: the fast decoding step)
from .baselines import MLP, Bigram, BigramConfig, MLPConfig
from .checkpoint import CheckpointError, load, push_to_hub, save
from .data import Corpus, CorpusUnavailableError, Dataset, LineDataset, TextDataset
from .errors import UsageError
from .generation import SamplingSettings, generate, next_token_probs, sample_ids
from .hardware import pick_device
from .language_model import LanguageModel
from .metrics import counted_bigram_loss, split_loss
from .model import GPT, GPTConfig, KVCache
from .records import Evaluation, RunRecord, TrainConfig
from .registry import build_model, count_params
from .tokenizer import CharTokenizer, UnknownCharactersError
from .trainer import Progress, Trainer

__all__ = [
    "LanguageModel", "Bigram", "BigramConfig", "MLP", "MLPConfig", "GPT", "GPTConfig", "KVCache",
    "build_model", "count_params", "load", "save", "push_to_hub", "CheckpointError", "Corpus",
    "CorpusUnavailableError", "Dataset", "TextDataset", "LineDataset", "split_loss", "counted_bigram_loss",
    "SamplingSettings", "generate", "next_token_probs", "sample_ids", "pick_device", "CharTokenizer",
    "UnknownCharactersError", "UsageError", "Progress", "TrainConfig", "Trainer", "RunRecord", "Evaluation",
]
