"""The model lab: measured, causal answers to "what does this head / layer / model do?".

    surprisal(model, text)            nats per predicted character, for every model
    next_char_probs(model, text)      the distribution after each character, for every model
    head_knockout(model, text)        change in loss when each head is removed, (n_layer, n_head)
    ablated(model, heads)             a context in which those heads are removed (generate inside it)
    logit_lens(model, text)           the next-character distribution read after each layer
    induction_scores(model)           does a head attend to "what followed this character last time"?
    VerbatimIndex(train_text)         which spans of a text occur verbatim in the training text

Everything works on the model's own device and returns NumPy arrays. Nothing here changes
the model object: heads are removed or read through `editing_heads`, which only the calling
thread's own forward passes see, so many people can measure one shared model at once. The instruments that
read attention heads need a transformer (the GPT, or a ladder rung with learned attention);
they say so clearly for the bigram and the MLP.
"""
from __future__ import annotations

import bisect
import contextlib
import math
import re
from dataclasses import dataclass
from typing import Callable, Iterator, NamedTuple, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from .errors import UsageError
from .language_model import LanguageModel
from .model import editing_heads

Head = tuple[int, int]          # (layer, head), both 0-based
LAB_FILE = "lab.json"
"""What `precompute` measured for a shipped GPT, kept in its checkpoint folder."""
KNOCKOUT_CHARS = 4096


def _ids(model: LanguageModel, text: str) -> torch.Tensor:
    if len(text) < 2:
        raise UsageError("the text needs at least two characters: one to read and one to predict")
    return torch.tensor(model.tokenizer.encode(text), dtype=torch.long)   # unknown characters raise, naming them


class Windows(NamedTuple):
    idx: torch.Tensor       # (W, L) inputs
    targets: torch.Tensor   # (W, L) next characters, -1 where a position is not counted
    first: list[int]        # per window: the text position its first input sits at


def windows(model: LanguageModel, ids: torch.Tensor) -> Windows:
    """Cut a text into model inputs so that every character after the first is predicted
    exactly once. A model that reads any length gets one window. A model with a block
    size gets windows of `block_size` characters, each starting half a block after the
    last; each window predicts only the characters the previous one did not, so every
    character is predicted with between half a block and a full block of context (all of
    the text before it, if shorter)."""
    n = len(ids) - 1                                # predictions: ids[1:] from ids[:-1]
    block = model.block_size
    if model.reads_any_length or n <= block:
        x, y = ids[:-1][None], ids[1:][None]
        return Windows(x, y.clone(), [0])
    stride = max(1, block // 2)
    starts = list(range(0, n - block, stride)) + [n - block]
    xs, ys, counted_to = [], [], 0
    for s in starts:
        x, y = ids[s:s + block], ids[s + 1:s + block + 1].clone()
        y[: max(0, counted_to - s)] = -1            # already predicted by an earlier window
        counted_to = s + block
        xs.append(x)
        ys.append(y)
    return Windows(torch.stack(xs), torch.stack(ys), starts)


def _per_position(model: LanguageModel, win: Windows, logits: torch.Tensor) -> np.ndarray:
    """Losses (nats) for each predicted character of the text, in text order."""
    losses = F.cross_entropy(logits.float().flatten(0, 1), win.targets.to(logits.device).flatten(),
                             ignore_index=-1, reduction="none").view(win.targets.shape)
    out = []
    for w in range(len(win.first)):
        keep = win.targets[w] != -1
        out.append(losses[w][keep.to(losses.device)].cpu())
    return torch.cat(out).numpy()


@torch.inference_mode()
def surprisal(model: LanguageModel, text: str) -> np.ndarray:
    """Nats of surprise at each character of `text` after the first (length len(text) - 1).

    Divide by ln 2 for bits. Past `block_size` the window slides by half a block, so each
    character gets between half a block and a full block of context (see `windows`); the
    mean over a text of at most one block is exactly the model's own loss on it."""
    model.eval()
    win = windows(model, _ids(model, text))
    logits, _ = model(win.idx.to(model.device))
    return _per_position(model, win, logits)


@torch.inference_mode()
def next_char_probs(model: LanguageModel, text: str) -> np.ndarray:
    """The model's next-character distribution after each character of `text`, (len(text), V),
    each with the same context `surprisal` gives it."""
    model.eval()
    ids = _ids(model, text)
    win = windows(model, ids)
    logits, _ = model(win.idx.to(model.device))
    probs = torch.softmax(logits.float(), -1).cpu()
    rows = [probs[w][win.targets[w] != -1] for w in range(len(win.first))]
    tail = ids if model.reads_any_length else ids[-model.block_size:]      # after the last character
    last, _ = model(tail[None].to(model.device))
    return torch.cat(rows + [torch.softmax(last[0, -1:].float(), -1).cpu()]).numpy()


# --- heads ------------------------------------------------------------------------------

def require_heads(model: LanguageModel) -> None:
    """Refuse a model whose attention heads the instruments cannot reach, saying why."""
    if not model.has_heads:
        why = (f"it {model.no_attention_reason}" if model.no_attention_reason else
               "the ladder's rungs keep their heads in a simplified block")
        raise UsageError(f"this instrument reads attention heads, so it needs a GPT; {model.kind} model "
                         f"has none to read: {why}. Surprisal works for every model.")


def _grid(model: LanguageModel) -> tuple[int, int]:
    return len(model.blocks), model.blocks[0].attn.n_head


@torch.inference_mode()
def head_means(model: LanguageModel, text: str) -> torch.Tensor:
    """Each head's mean output over a text, (n_layer, n_head, head_size): what mean-ablation
    puts in place of a head."""
    require_heads(model)
    win = windows(model, _ids(model, text))
    means = []

    def record(out: torch.Tensor) -> torch.Tensor:          # out: (W, n_head, L, head_size)
        means.append(out.mean(dim=(0, 2)))
        return out

    model.eval()
    with editing_heads({block.attn.heads: record for block in model.blocks}):
        model(win.idx.to(model.device))
    return torch.stack(means)


@contextlib.contextmanager
def ablated(model: LanguageModel, heads: Sequence[Head], mode: str = "zero",
            means: torch.Tensor | None = None) -> Iterator[LanguageModel]:
    """Within the context, the listed heads' outputs are replaced before the output
    projection: by zeros, or by their mean output (`mode="mean"`, `means` from `head_means`).
    Everything else (generation with the KV cache included) runs as usual. Only the calling
    thread's (or task's) passes see the change: another user of the same model object at the
    same moment gets the intact model (see `gpt.model.editing_heads`).

        with ablated(model, [(2, 0), (4, 5)]):
            text = "".join(gpt.generate(model, "ROMEO:", 200, seed=0))
    """
    require_heads(model)
    n_layer, n_head = _grid(model)
    if mode not in ("zero", "mean"):
        raise UsageError(f"mode must be 'zero' or 'mean', not {mode!r}")
    if mode == "mean" and means is None:
        raise UsageError("mean-ablation needs the heads' mean outputs: means=head_means(model, text)")
    by_layer: dict[int, list[int]] = {}
    for layer, head in heads:
        if not (0 <= layer < n_layer and 0 <= head < n_head):
            raise UsageError(f"there is no head {head} in layer {layer}: the model has {n_layer} layers "
                             f"of {n_head} heads (both counted from 0)")
        by_layer.setdefault(layer, []).append(head)

    def edit_for(layer: int):
        listed = by_layer[layer]

        def replace(out: torch.Tensor) -> torch.Tensor:     # out: (B, n_head, T, head_size)
            out = out.clone()
            out[:, listed] = 0 if mode == "zero" else means[layer, listed][None, :, None, :].to(out.dtype)
            return out
        return replace

    with editing_heads({model.blocks[layer].attn.heads: edit_for(layer) for layer in by_layer}):
        yield model


@torch.inference_mode()
def head_knockout(model: LanguageModel, text: str, heads: Sequence[Head] | None = None, mode: str = "zero",
                  progress: Callable[[float], None] | None = None) -> np.ndarray:
    """(n_layer, n_head): how much the mean loss over `text` rises (nats per character) when
    each head alone is removed; NaN for heads not in `heads` when a list is given.

    The residual stream before layer l does not depend on heads of layer l or later, so it
    is computed once and reused: each layer's heads are knocked out together as one batch
    (one copy of the text per head) and only the layers from l on are run again.
    `progress`, if given, is called with the fraction done after each layer."""
    require_heads(model)
    model.eval()
    n_layer, n_head = _grid(model)
    wanted = {(l, h) for l in range(n_layer) for h in range(n_head)} if heads is None else set(heads)
    win = windows(model, _ids(model, text))
    idx, targets = win.idx.to(model.device), win.targets.to(model.device)
    means = head_means(model, text) if mode == "mean" else None
    base_loss = F.cross_entropy(model(idx)[0].flatten(0, 1).float(), targets.flatten(), ignore_index=-1)
    grid = np.full((n_layer, n_head), np.nan)
    x = model.embed(idx)                                          # (W, L, C): the stream before layer 0
    for layer, block in enumerate(model.blocks):
        listed = sorted(h for (l, h) in wanted if l == layer)
        if listed:
            W = x.size(0)
            stream = x.repeat(len(listed), 1, 1)                  # (len(listed) * W, L, C): one copy per head
            keep = torch.ones(len(listed) * W, n_head, 1, 1, device=x.device)
            for k, h in enumerate(listed):
                keep[k * W:(k + 1) * W, h] = 0                    # copy k loses head h

            def knock(out, keep=keep, layer=layer):             # out: (rows, n_head, L, head_size)
                if means is None:
                    return out * keep
                return out * keep + means[layer][None, :, None, :] * (1 - keep)

            with editing_heads({block.attn.heads: knock}):
                for later in model.blocks[layer:]:
                    stream, _ = later(stream)
            logits = model.unembed(stream)                          # (len(listed) * W, L, V)
            losses = F.cross_entropy(logits.flatten(0, 1).float(), targets.repeat(len(listed), 1).flatten(),
                                     ignore_index=-1, reduction="none").view(len(listed), -1)
            counted = (targets != -1).sum()
            for k, h in enumerate(listed):
                grid[layer, h] = float(losses[k].sum() / counted - base_loss)
        x, _ = block(x)
        if progress is not None:
            progress((layer + 1) / n_layer)
    return grid


# --- layers -----------------------------------------------------------------------------

@torch.inference_mode()
def logit_lens(model: LanguageModel, text: str) -> np.ndarray:
    """(n_layer + 1, T, V) probabilities of the next character read straight from the
    residual stream: after the embeddings, then after each block, each through the final
    LayerNorm and the output head. The last row is the model's own output. Reads the last
    `block_size` characters of the text."""
    require_heads(model)
    model.eval()
    ids = torch.tensor([model.tokenizer.encode(text)[-model.block_size:]], device=model.device)
    if ids.size(1) == 0:
        raise UsageError("there is no text to read")
    x = model.embed(ids)
    rows = [model.unembed(x)]
    for block in model.blocks:
        x, _ = block(x)
        rows.append(model.unembed(x))
    return torch.cat(rows).float().softmax(-1).cpu().numpy()


# --- copying ----------------------------------------------------------------------------

class Induction(NamedTuple):
    scores: np.ndarray          # (n_layer, n_head) in [0, 1]
    first_copy: np.ndarray      # (length - 1,) nats at each predicted character of the first copy
    second_copy: np.ndarray     # (length,) nats at each character of the second copy


def repeated_random_text(model: LanguageModel, length: int, seed: int) -> str:
    """`length` characters drawn uniformly from the vocabulary (newline left out), twice."""
    chars = [c for c in model.tokenizer.chars if c != "\n"]
    g = torch.Generator().manual_seed(seed)
    once = "".join(chars[i] for i in torch.randint(len(chars), (length,), generator=g).tolist())
    return once + once


@torch.inference_mode()
def induction_scores(model: LanguageModel, length: int = 60, seed: int = 0, text: str | None = None) -> Induction:
    """How much each head acts as an induction head, and whether the model copies.

    A random string of `length` characters is written twice (or pass `text` made of one
    string written twice). In the second copy, the character at position t last occurred at
    t - length, and what followed it then is at t - length + 1: an induction head attends
    there, to predict that the same character follows again. A head's score is its mean
    attention weight on that position over the second copy (1: it always looks there)."""
    require_heads(model)
    model.eval()
    text = text if text is not None else repeated_random_text(model, length, seed)
    length = len(text) // 2
    if len(text) != 2 * length or text[:length] != text[length:]:
        raise UsageError("the text must be one string written twice")
    if 2 * length > model.block_size:
        raise UsageError(f"two copies of {length} characters do not fit in the model's block of {model.block_size}")
    ids = torch.tensor([model.tokenizer.encode(text)], device=model.device)
    logits, maps = model.attention_maps(ids)
    targets = torch.cat([ids[0, 1:], ids[0, -1:] * 0 - 1])   # the last character predicts nothing
    losses = F.cross_entropy(logits[0].float(), targets, ignore_index=-1, reduction="none").cpu().numpy()
    rows = torch.arange(length, 2 * length, device=ids.device)        # queries in the second copy
    scores = torch.stack([m[0][:, rows, rows - length + 1].mean(-1) for m in maps])   # (n_layer, n_head)
    return Induction(scores.clamp(0, 1).cpu().numpy(), losses[: length - 1], losses[length - 1: 2 * length - 1])


# --- memorisation -----------------------------------------------------------------------

SPEAKER = re.compile(r"^([A-Z][A-Za-z' ]{0,40}):$")


@dataclass(frozen=True)
class Match:
    start: int            # in the queried text
    end: int
    train_offset: int     # where the same characters start in the training text


class VerbatimIndex:
    """A suffix array over a training text: which spans of any other text occur in it verbatim.

    Built once (prefix doubling with NumPy, about a second for the 1M-character Tiny
    Shakespeare split); each query character then costs a binary search."""

    def __init__(self, text: str):
        self.text = text
        codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
        self.suffixes = _suffix_array(codes)
        self._newlines = np.flatnonzero(codes == ord("\n")).tolist()

    def longest_at(self, query: str, i: int) -> tuple[int, int]:
        """(length, train offset) of the longest prefix of query[i:] found in the training text."""
        q = query[i:]
        text, sa = self.text, self.suffixes
        lo, hi = 0, len(sa)
        while lo < hi:                                   # first suffix >= q
            mid = (lo + hi) // 2
            if text[sa[mid]: sa[mid] + len(q)] < q:
                lo = mid + 1
            else:
                hi = mid
        best, where = 0, -1
        for j in (lo - 1, lo):
            if 0 <= j < len(sa):
                n = _common_prefix(text, int(sa[j]), q)
                if n > best:
                    best, where = n, int(sa[j])
        return best, where

    def matches(self, generated: str, min_len: int = 20) -> list[Match]:
        """The maximal spans of `generated`, at least `min_len` characters long, that occur
        verbatim in the training text, in order (a span starting inside an earlier one is
        reported only if it reaches further)."""
        if min_len < 1:
            raise UsageError("min_len must be at least 1")
        spans: list[Match] = []
        reach = 0
        for i in range(len(generated)):
            length, where = self.longest_at(generated, i)
            if length >= min_len and i + length > reach:
                spans.append(Match(i, i + length, where))
                reach = i + length
        return spans

    def locate(self, offset: int) -> tuple[int, str | None]:
        """(1-based line number, the speaker whose speech holds it) for a training-text offset.
        Newlines at the offset are skipped: a span "\n\nFRIAR LAURENCE:\nThe..." is the friar's,
        not the speech it follows."""
        while offset < len(self.text) - 1 and self.text[offset] == "\n":
            offset += 1
        line = bisect.bisect_left(self._newlines, offset)       # the line holding the offset, 0-based
        speaker = None
        for k in range(line, max(-1, line - 200), -1):          # this line, then back, for "NAME:" alone
            start = self._newlines[k - 1] + 1 if k > 0 else 0
            end = self._newlines[k] if k < len(self._newlines) else len(self.text)
            found = SPEAKER.match(self.text[start:end])
            if found:
                speaker = found.group(1)
                break
        return line + 1, speaker


def _common_prefix(text: str, start: int, q: str) -> int:
    n = min(len(q), len(text) - start)
    lo, hi = 0, n                                        # the longest k with text[start:start+k] == q[:k]
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if text[start:start + mid] == q[:mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _suffix_array(codes: np.ndarray) -> np.ndarray:
    """Suffix array of a text given as its code points, by prefix doubling: sort by the first
    2^k characters, doubling k until every suffix has its own rank."""
    n = len(codes)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    rank = codes.astype(np.int64)
    k = 1
    while True:
        second = np.full(n, -1, dtype=np.int64)     # rank of the suffix k further on; -1 past the end
        second[:-k] = rank[k:]
        order = np.lexsort((second, rank))
        r, s = rank[order], second[order]
        new = np.empty(n, dtype=np.int64)
        new[order] = np.concatenate([[0], np.cumsum((r[1:] != r[:-1]) | (s[1:] != s[:-1]))])
        rank = new
        if rank.max() == n - 1:
            return order
        k *= 2


def bits(nats: np.ndarray | float) -> np.ndarray | float:
    """Nats to bits."""
    return nats / math.log(2)


def precompute(model: LanguageModel, val_text: str) -> dict:
    """The Lab's figures for a shipped GPT, measured once at publish time so the Lab opens
    instantly: the knockout grid (zero and mean) on the first KNOCKOUT_CHARS characters of
    the val split, and the induction scores on a random 60-character string written twice."""
    require_heads(model)
    text = val_text[:KNOCKOUT_CHARS]
    induction = induction_scores(model, length=60, seed=0)
    return {
        "knockout": {"text": f"the first {len(text):,} characters of the val split",
                     "zero": np.round(head_knockout(model, text, mode="zero"), 5).tolist(),
                     "mean": np.round(head_knockout(model, text, mode="mean"), 5).tolist()},
        "induction": {"length": 60, "seed": 0, "scores": np.round(induction.scores, 5).tolist(),
                      "first_copy": np.round(induction.first_copy, 4).tolist(),
                      "second_copy": np.round(induction.second_copy, 4).tolist()},
    }
