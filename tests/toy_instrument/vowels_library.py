"""gpt/vowels.py in the worked example: the new instrument's library function."""
from __future__ import annotations

import torch

from gpt.language_model import LanguageModel

VOWELS = "aeiouAEIOU"


def vowel_probability(model: LanguageModel, text: str) -> list[float]:
    """After each character of `text` (its last block), the probability the model gives to a vowel next."""
    ids = torch.tensor([model.tokenizer.encode(text)[-model.block_size:]], device=model.device)   # (1, T)
    with torch.inference_mode():
        logits, _ = model(ids)                                                                      # (1, T, V)
    vowels = [model.tokenizer.stoi[c] for c in VOWELS if c in model.tokenizer.stoi]
    return logits.softmax(-1)[0][:, vowels].sum(-1).tolist()                                      # (T,)
