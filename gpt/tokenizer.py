"""Character-level tokenizer: every distinct character of the corpus is one token.

This is the tokenizer of the "build GPT from scratch" lecture: the vocabulary is the
sorted set of characters in the training text (65 for Tiny Shakespeare), a token id is
the character's index in that sorted list. It is tiny, lossless and needs no training,
at the price of long sequences: one token per character.
"""
from __future__ import annotations

from typing import Iterable, Literal

from .errors import UsageError

UnknownPolicy = Literal["error", "drop", "replace"]


class UnknownCharactersError(UsageError):
    """Raised when text holds characters that are not in the model's vocabulary."""

    def __init__(self, unknown: list[str], vocab_size: int):
        self.unknown = unknown
        shown = ", ".join(repr(c) for c in unknown[:10]) + (", ..." if len(unknown) > 10 else "")
        verb = "is" if len(unknown) == 1 else "are"
        super().__init__(
            f"{shown} {verb} not in this model's {vocab_size}-character vocabulary "
            "(drop or replace them: unknown='drop' or unknown='replace')"
        )


class CharTokenizer:
    """Maps characters to integer ids and back, over a fixed vocabulary."""

    def __init__(self, chars: Iterable[str]):
        self.chars: list[str] = sorted(set(chars))
        if not self.chars or any(len(c) != 1 for c in self.chars):
            raise UsageError("a character vocabulary needs at least one single-character entry")
        self.stoi: dict[str, int] = {c: i for i, c in enumerate(self.chars)}

    @classmethod
    def from_text(cls, text: str) -> "CharTokenizer":
        """Build the vocabulary of a corpus: the sorted set of its characters."""
        return cls(text)

    @property
    def vocab_size(self) -> int:
        return len(self.chars)

    @property
    def replacement(self) -> str:
        """The character that stands in for unknown ones with unknown='replace'."""
        for candidate in (" ", "?", "\n"):
            if candidate in self.stoi:
                return candidate
        return self.chars[0]

    def unknown_chars(self, text: str) -> list[str]:
        """The distinct characters of `text` outside the vocabulary, in order of appearance."""
        return list(dict.fromkeys(c for c in text if c not in self.stoi))

    def clean(self, text: str, unknown: UnknownPolicy = "error") -> str:
        """Return `text` with unknown characters dropped or replaced, or raise for them."""
        missing = self.unknown_chars(text)
        if not missing:
            return text
        if unknown == "error":
            raise UnknownCharactersError(missing, self.vocab_size)
        if unknown == "drop":
            return "".join(c for c in text if c in self.stoi)
        if unknown == "replace":
            return "".join(c if c in self.stoi else self.replacement for c in text)
        raise UsageError(f"unknown must be 'error', 'drop' or 'replace', not {unknown!r}")

    def encode(self, text: str, unknown: UnknownPolicy = "error") -> list[int]:
        """Text to token ids. Unknown characters raise, or are dropped or replaced on request."""
        return [self.stoi[c] for c in self.clean(text, unknown)]

    def decode(self, ids: Iterable[int]) -> str:
        """Token ids back to text."""
        return "".join(self.chars[i] for i in ids)

    def to_json(self) -> list[str]:
        return list(self.chars)

    @classmethod
    def from_json(cls, chars: list[str]) -> "CharTokenizer":
        return cls(chars)

    def __repr__(self) -> str:
        return f"CharTokenizer(vocab_size={self.vocab_size})"
