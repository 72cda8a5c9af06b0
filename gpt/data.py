"""Corpora, the train/val split, and batches of (context, next character) pairs.

Named corpora (`shakespeare`, `names`) are looked up in `$GPT_DATA_DIR`, then in the
local cache (`$GPT_CACHE_DIR`, default `~/.cache/tinyshakespeare-gpt`), and only then
downloaded from their canonical public URL and checked against their known MD5.

The split is the lecture's and nanoGPT's: the first 90% of the text trains, the last
10% validates, so our val losses compare with theirs. Line-oriented corpora (one name a
line) can instead be *framed* per line as makemore does: each example is the previous
`block_size` characters of one name, padded on the left with newlines (makemore's '.'),
and the target is the next character, the newline after the last letter meaning "end".
makemore shuffles the names with `random.seed(42)` before splitting; so do we, so that
validation names are a fair sample rather than the least popular ones.
"""
from __future__ import annotations

import hashlib
import os
import random
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import torch

from .tokenizer import CharTokenizer

IGNORE_INDEX = -1
"""Target value meaning "no prediction here"; the loss skips it (framed examples use it)."""


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


def cache_dir() -> Path:
    return Path(os.environ.get("GPT_CACHE_DIR", Path.home() / ".cache" / "tinyshakespeare-gpt"))


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def _download(spec: NamedCorpus, dest: Path, timeout: float = 20.0) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_suffix(dest.suffix + ".part")
    try:
        with urllib.request.urlopen(spec.url, timeout=timeout) as response:
            tmp.write_bytes(response.read())
    except (urllib.error.URLError, OSError, TimeoutError) as e:
        tmp.unlink(missing_ok=True)
        raise CorpusUnavailableError(
            f"{spec.title} is not on this machine and could not be downloaded from {spec.url} "
            f"({getattr(e, 'reason', e)}). If you are offline, put {spec.filename} in a folder "
            "and set GPT_DATA_DIR to it, pass the file's path, or upload the text."
        ) from e
    if _md5(tmp) != spec.md5:
        tmp.unlink(missing_ok=True)
        raise CorpusUnavailableError(f"the download of {spec.title} from {spec.url} is not the canonical file")
    os.replace(tmp, dest)


def corpus_path(name: str) -> Path:
    """Local path of a named corpus, downloading it into the cache on first use."""
    spec = NAMED_CORPORA[name]
    candidates = []
    if os.environ.get("GPT_DATA_DIR"):
        candidates.append(Path(os.environ["GPT_DATA_DIR"]) / spec.filename)
    cached = cache_dir() / spec.filename
    candidates.append(cached)
    for path in candidates:
        if path.is_file():
            return path
    _download(spec, cached)
    return cached


@dataclass(frozen=True)
class Corpus:
    """A training text and how to read it."""

    name: str
    text: str
    line_framed: bool = False

    @classmethod
    def load(cls, source: str, line_framed: bool | None = None) -> "Corpus":
        """`shakespeare`, `names`, or the path of a UTF-8 text file."""
        if source in NAMED_CORPORA:
            spec = NAMED_CORPORA[source]
            text = corpus_path(source).read_text(encoding="utf-8")
            return cls(source, text, spec.line_framed if line_framed is None else line_framed)
        path = Path(source).expanduser()
        if not path.is_file():
            known = ", ".join(NAMED_CORPORA)
            raise FileNotFoundError(f"{source!r} is neither a named corpus ({known}) nor a file")
        return cls.from_text(read_text_file(path), name=path.stem, line_framed=bool(line_framed))

    @classmethod
    def from_text(cls, text: str, name: str = "text", line_framed: bool = False) -> "Corpus":
        if not text:
            raise ValueError("the corpus is empty")
        return cls(name, text, line_framed)


def read_text_file(path: str | Path, max_bytes: int | None = None) -> str:
    """Read a UTF-8 text file, with a clear error for binary, non-UTF-8 or oversized files."""
    path = Path(path)
    size = path.stat().st_size
    if max_bytes is not None and size > max_bytes:
        raise ValueError(f"{path.name} is {size / 1e6:.1f} MB; the limit is {max_bytes / 1e6:.1f} MB")
    raw = path.read_bytes()
    if b"\x00" in raw:
        raise ValueError(f"{path.name} is not a text file (it contains NUL bytes)")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ValueError(f"{path.name} is not UTF-8 text (bad byte at offset {e.start})") from None
    return text.replace("\r\n", "\n")


class Dataset:
    """A corpus encoded to token ids, split 90/10, serving random batches and whole splits.

    Every batch is a pair of (B, T) long tensors `(idx, targets)`: `targets[b, t]` is the
    character that follows `idx[b, :t+1]`, or IGNORE_INDEX where there is nothing to learn.
    """

    def __init__(self, corpus: Corpus, block_size: int, tokenizer: CharTokenizer | None = None,
                 train_fraction: float = 0.9):
        self.corpus = corpus
        self.block_size = block_size
        self.tokenizer = tokenizer or CharTokenizer.from_text(corpus.text)
        if corpus.line_framed:
            lines = [line for line in corpus.text.split("\n") if line]
            random.Random(42).shuffle(lines)
            cut = int(train_fraction * len(lines))
            self.splits = {"train": self._frame(lines[:cut]), "val": self._frame(lines[cut:])}
        else:
            ids = torch.tensor(self.tokenizer.encode(corpus.text, unknown="drop"), dtype=torch.long)
            cut = int(train_fraction * len(ids))
            self.splits = {"train": ids[:cut], "val": ids[cut:]}
            for split, data in self.splits.items():
                if len(data) <= block_size:
                    raise ValueError(
                        f"the {split} split has {len(data)} characters, fewer than block size "
                        f"{block_size} + 1; use a longer text or a smaller block size"
                    )

    def _frame(self, lines: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """makemore's dataset: (contexts (N, T), next characters (N,)), one row per character."""
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
            raise ValueError("a split has no lines; the corpus needs more lines")
        return torch.tensor(contexts, dtype=torch.long), torch.tensor(targets, dtype=torch.long)

    @property
    def targets_per_row(self) -> int:
        """Characters predicted per batch row: every position, or only the last when framed."""
        return 1 if self.corpus.line_framed else self.block_size

    def num_tokens(self, split: str) -> int:
        data = self.splits[split]
        return len(data[1]) if self.corpus.line_framed else len(data)

    def batch(self, split: str, batch_size: int, generator: torch.Generator | None = None
              ) -> tuple[torch.Tensor, torch.Tensor]:
        """A random batch of `batch_size` windows (or framed examples) from a split."""
        data = self.splits[split]
        if self.corpus.line_framed:
            contexts, nexts = data
            ix = torch.randint(len(nexts), (batch_size,), generator=generator)
            return contexts[ix], _last_only(nexts[ix], self.block_size)
        ix = torch.randint(len(data) - self.block_size, (batch_size,), generator=generator)
        offsets = ix[:, None] + torch.arange(self.block_size)
        return data[offsets], data[offsets + 1]

    def iter_split(self, split: str, batch_size: int):
        """Every example of a split once: non-overlapping windows of block_size, or all framed rows."""
        data = self.splits[split]
        if self.corpus.line_framed:
            contexts, nexts = data
            for i in range(0, len(nexts), batch_size):
                yield contexts[i:i + batch_size], _last_only(nexts[i:i + batch_size], self.block_size)
            return
        n_windows = (len(data) - 1) // self.block_size
        x = data[: n_windows * self.block_size].view(n_windows, self.block_size)
        y = data[1: n_windows * self.block_size + 1].view(n_windows, self.block_size)
        for i in range(0, n_windows, batch_size):
            yield x[i:i + batch_size], y[i:i + batch_size]


def _last_only(next_tokens: torch.Tensor, block_size: int) -> torch.Tensor:
    """Targets for framed examples: only the last position predicts; the rest are ignored."""
    targets = torch.full((len(next_tokens), block_size), IGNORE_INDEX, dtype=torch.long)
    targets[:, -1] = next_tokens
    return targets
