"""Corpora, the train/val split, and batches of (context, next character) pairs.

The two named corpora ship with the library, xz-compressed (Tiny Shakespeare and
makemore's names, both public domain), so everything works offline. A named corpus is
read from `$GPT_DATA_DIR` if that holds it, else from the shipped copy, checked against
its known MD5 either way; `download_corpus()` fetches the canonical file for a copy that
was removed. Any other UTF-8 text file can be loaded by its path.

The split is the lecture's and nanoGPT's: the first 90% of the text trains, the last
10% validates, so our val losses compare with theirs. Line-oriented corpora (one name a
line) are instead *framed* per line as makemore does (`LineDataset`): each example is the
previous `block_size` characters of one name, padded on the left with newlines
(makemore's '.'), and the target is the next character, the newline after the last letter
meaning "end". makemore shuffles the names with `random.seed(42)` before splitting; so do
we, so that validation names are a fair sample rather than the least popular ones.
"""
from __future__ import annotations

import hashlib
import lzma
import os
import random
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import torch

from .errors import UsageError
from .tokenizer import CharTokenizer

IGNORE_INDEX = -1
"""Target value meaning "no prediction here"; the loss skips it (framed examples use it)."""

SHIPPED_CORPORA = Path(__file__).resolve().parent / "corpora"


@dataclass(frozen=True)
class NamedCorpus:
    filename: str
    url: str
    md5: str
    title: str
    line_framed: bool


NAMED_CORPORA: dict[str, NamedCorpus] = {
    "shakespeare": NamedCorpus(
        "tinyshakespeare.txt",
        "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt",
        "6fb458f1232090904fb40fe944165e91",
        "Tiny Shakespeare",
        line_framed=False,
    ),
    "names": NamedCorpus(
        "names.txt",
        "https://raw.githubusercontent.com/karpathy/makemore/master/names.txt",
        "401b3c4cac9e28a586ed15e81256680d",
        "names (makemore)",
        line_framed=True,
    ),
}


class CorpusUnavailableError(RuntimeError):
    """A named corpus is neither on disk nor downloadable (typically: offline)."""


def _checked(spec: NamedCorpus, raw: bytes, where: str) -> str:
    if hashlib.md5(raw).hexdigest() != spec.md5:
        raise CorpusUnavailableError(f"{where} is not the canonical {spec.title} (its MD5 differs)")
    return raw.decode("utf-8")


def read_named_corpus(name: str) -> str:
    """The text of a named corpus: `$GPT_DATA_DIR/<file>` if present, else the shipped copy."""
    spec = NAMED_CORPORA[name]
    if os.environ.get("GPT_DATA_DIR"):
        path = Path(os.environ["GPT_DATA_DIR"]) / spec.filename
        if path.is_file():
            return _checked(spec, path.read_bytes(), str(path))
    shipped = SHIPPED_CORPORA / f"{spec.filename}.xz"
    if shipped.is_file():
        return _checked(spec, lzma.decompress(shipped.read_bytes()), str(shipped))
    raise CorpusUnavailableError(
        f"{spec.title} is not on this machine: {shipped} is missing and $GPT_DATA_DIR has no {spec.filename}. "
        f"Restore the file from the repository, run gpt.data.download_corpus({name!r}), or pass a text file's path.")


def download_corpus(name: str, timeout: float = 20.0) -> Path:
    """Fetch a named corpus from its canonical URL into the shipped location (MD5-checked)."""
    spec = NAMED_CORPORA[name]
    try:
        with urllib.request.urlopen(spec.url, timeout=timeout) as response:
            raw = response.read()
    except (urllib.error.URLError, OSError, TimeoutError) as e:
        raise CorpusUnavailableError(
            f"could not download {spec.title} from {spec.url} ({getattr(e, 'reason', e)}); "
            f"offline? put {spec.filename} in a folder and set GPT_DATA_DIR to it") from None
    _checked(spec, raw, spec.url)
    dest = SHIPPED_CORPORA / f"{spec.filename}.xz"
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(lzma.compress(raw, preset=9 | lzma.PRESET_EXTREME))
    return dest


@dataclass(frozen=True)
class Corpus:
    """A training text and how to read it: running text, or one example per line."""

    name: str
    text: str
    line_framed: bool = False

    @classmethod
    def load(cls, source: str, line_framed: bool | None = None) -> "Corpus":
        """`shakespeare`, `names`, or the path of a UTF-8 text file."""
        if source in NAMED_CORPORA:
            spec = NAMED_CORPORA[source]
            return cls(source, read_named_corpus(source), spec.line_framed if line_framed is None else line_framed)
        path = Path(source).expanduser()
        if not path.is_file():
            known = ", ".join(NAMED_CORPORA)
            raise FileNotFoundError(f"{source!r} is neither a named corpus ({known}) nor a file")
        return cls.from_text(read_text_file(path), name=path.stem, line_framed=bool(line_framed))

    @classmethod
    def from_text(cls, text: str, name: str = "text", line_framed: bool = False) -> "Corpus":
        if not text:
            raise UsageError("the corpus is empty")
        return cls(name, text, line_framed)

    def dataset(self, block_size: int, tokenizer: CharTokenizer | None = None) -> "Dataset":
        """The corpus encoded and split: framed per line, or cut into windows of running text."""
        kind = LineDataset if self.line_framed else TextDataset
        return kind(self, block_size, tokenizer)


def _size(n: int) -> str:
    """Bytes for people, in MiB (1 MB = 1,048,576 bytes, as web upload limits count them), with the exact count."""
    return f"{n / 2**20:.2f} MB ({n:,} bytes)"


def read_text_file(path: str | Path, max_bytes: int | None = None) -> str:
    """Read a UTF-8 text file, with a clear error for binary, non-UTF-8 or oversized files."""
    path = Path(path)
    size = path.stat().st_size
    if max_bytes is not None and size > max_bytes:
        raise UsageError(f"{path.name} is {_size(size)}; the limit is {_size(max_bytes)}")
    raw = path.read_bytes()
    if b"\x00" in raw:
        raise UsageError(f"{path.name} is not a text file (it contains NUL bytes)")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise UsageError(f"{path.name} is not UTF-8 text (bad byte at offset {e.start})") from None
    return text.replace("\r\n", "\n")


Batch = tuple[torch.Tensor, torch.Tensor]


class Dataset:
    """A corpus encoded to token ids and split 90/10, serving random batches and whole splits.

    Every batch is a pair of (B, T) long tensors `(idx, targets)`: `targets[b, t]` is the
    character that follows `idx[b, :t+1]`, or IGNORE_INDEX where there is nothing to learn.
    Build one with `corpus.dataset(block_size)`.
    """

    targets_per_row: int     # characters predicted per batch row

    def __init__(self, corpus: Corpus, block_size: int, tokenizer: CharTokenizer | None = None):
        self.corpus = corpus
        self.block_size = block_size
        self.tokenizer = tokenizer or CharTokenizer.from_text(corpus.text)

    def num_tokens(self, split: str) -> int:
        """Characters predicted in a split."""
        raise NotImplementedError

    def batch(self, split: str, batch_size: int, generator: torch.Generator | None = None) -> Batch:
        """A random batch of `batch_size` rows from a split."""
        raise NotImplementedError

    def iter_split(self, split: str, batch_size: int):
        """Every example of a split once, in order, as batches."""
        raise NotImplementedError

    def bigram_pairs(self, split: str) -> tuple[torch.Tensor, torch.Tensor]:
        """Every (current character, next character) pair of a split."""
        raise NotImplementedError

    def split_text(self, split: str) -> str:
        """The text of a split, as the model saw it (one line a name for framed corpora)."""
        raise NotImplementedError


class TextDataset(Dataset):
    """Running text: rows are windows of `block_size` characters, every position predicts."""

    def __init__(self, corpus: Corpus, block_size: int, tokenizer: CharTokenizer | None = None,
                 train_fraction: float = 0.9):
        super().__init__(corpus, block_size, tokenizer)
        self.targets_per_row = block_size
        ids = torch.tensor(self.tokenizer.encode(corpus.text, unknown="drop"), dtype=torch.long)
        cut = int(train_fraction * len(ids))
        self.splits = {"train": ids[:cut], "val": ids[cut:]}
        for split, data in self.splits.items():
            if len(data) <= block_size:
                raise UsageError(f"the {split} split has {len(data)} characters, fewer than block size "
                                 f"{block_size} + 1; use a longer text or a smaller block size")

    def num_tokens(self, split: str) -> int:
        return len(self.splits[split])

    def batch(self, split, batch_size, generator=None) -> Batch:
        data = self.splits[split]
        ix = torch.randint(len(data) - self.block_size, (batch_size,), generator=generator)
        offsets = ix[:, None] + torch.arange(self.block_size)     # (B, T) positions in the split
        return data[offsets], data[offsets + 1]

    def iter_split(self, split, batch_size):
        """Non-overlapping windows of block_size; the few characters after the last are left out."""
        data = self.splits[split]
        n_windows = (len(data) - 1) // self.block_size
        x = data[: n_windows * self.block_size].view(n_windows, self.block_size)
        y = data[1: n_windows * self.block_size + 1].view(n_windows, self.block_size)
        for i in range(0, n_windows, batch_size):
            yield x[i:i + batch_size], y[i:i + batch_size]

    def bigram_pairs(self, split):
        data = self.splits[split]
        return data[:-1], data[1:]

    def split_text(self, split):
        return self.tokenizer.decode(self.splits[split].tolist())


class LineDataset(Dataset):
    """makemore's framing: one row per character of a line, its previous `block_size`
    characters as context (newline-padded), and only the last position predicting."""

    targets_per_row = 1

    def __init__(self, corpus: Corpus, block_size: int, tokenizer: CharTokenizer | None = None,
                 train_fraction: float = 0.9):
        super().__init__(corpus, block_size, tokenizer)
        lines = [line for line in corpus.text.split("\n") if line]
        random.Random(42).shuffle(lines)
        cut = int(train_fraction * len(lines))
        self.lines = {"train": lines[:cut], "val": lines[cut:]}
        self.splits = {split: self._frame(chunk) for split, chunk in self.lines.items()}

    def _frame(self, lines: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """(contexts (N, block_size), next characters (N,)), one row per character."""
        boundary = self.tokenizer.stoi.get("\n", 0)
        contexts, targets = [], []
        for line in lines:
            ids = self.tokenizer.encode(line, unknown="drop") + [boundary]
            window = [boundary] * self.block_size
            for token in ids:
                contexts.append(window)
                targets.append(token)
                window = window[1:] + [token]
        if not contexts:
            raise UsageError("a split has no lines; the corpus needs more lines")
        return torch.tensor(contexts, dtype=torch.long), torch.tensor(targets, dtype=torch.long)

    def num_tokens(self, split: str) -> int:
        return len(self.splits[split][1])

    def batch(self, split, batch_size, generator=None) -> Batch:
        contexts, nexts = self.splits[split]
        ix = torch.randint(len(nexts), (batch_size,), generator=generator)
        return contexts[ix], self._last_only(nexts[ix])

    def iter_split(self, split, batch_size):
        contexts, nexts = self.splits[split]
        for i in range(0, len(nexts), batch_size):
            yield contexts[i:i + batch_size], self._last_only(nexts[i:i + batch_size])

    def bigram_pairs(self, split):
        contexts, nexts = self.splits[split]
        return contexts[:, -1], nexts

    def split_text(self, split):
        return "\n".join(self.lines[split]) + "\n"

    def _last_only(self, next_tokens: torch.Tensor) -> torch.Tensor:
        """Targets (N, block_size): only the last position predicts; the rest are ignored."""
        targets = torch.full((len(next_tokens), self.block_size), IGNORE_INDEX, dtype=torch.long)
        targets[:, -1] = next_tokens
        return targets


class RepeatedSpans(Dataset):
    """Running text in which copying pays: in a `fraction` of the training rows the second
    half of the window repeats the first half, so "find where this came before and copy
    what followed" predicts it. Evaluation and everything else read the plain text."""

    def __init__(self, inner: TextDataset, fraction: float = 0.5):
        super().__init__(inner.corpus, inner.block_size, inner.tokenizer)
        if not 0 <= fraction <= 1:
            raise UsageError(f"fraction must be between 0 and 1, not {fraction}")
        self.inner, self.fraction = inner, fraction
        self.targets_per_row = inner.targets_per_row
        self.splits = inner.splits

    def num_tokens(self, split):
        return self.inner.num_tokens(split)

    def batch(self, split, batch_size, generator=None) -> Batch:
        x, y = self.inner.batch(split, batch_size, generator)
        if split != "train":
            return x, y
        T = self.block_size
        half = (T + 1) // 2
        repeat = torch.rand(batch_size, generator=generator) < self.fraction
        copied = torch.cat([x[:, :half], x[:, :half], x[:, T - half: T - half + 1]], dim=1)   # span, span again, then
        x_new = torch.where(repeat[:, None], copied[:, :T], x)                   # what followed the span's copied part
        y_new = torch.where(repeat[:, None], copied[:, 1:T + 1], y)              # (B, T) next characters
        return x_new, y_new

    def iter_split(self, split, batch_size):
        return self.inner.iter_split(split, batch_size)

    def bigram_pairs(self, split):
        return self.inner.bigram_pairs(split)

    def split_text(self, split):
        return self.inner.split_text(split)
