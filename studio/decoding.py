"""Batched decoding across users: one forward pass per step for every stream of a model.

Each request used to decode on its own, one small forward pass per character under the
GIL, so thirty students shared one core's worth of tiny matrix-vector products. A
`BatchDecoder` owns one model's `RowCache` and a thread that, at every step, decodes one
character for every active stream together. Streams join (their prompt is prefilled alone,
then copied into a free row) and leave (a finished or stopped stream frees its row) between
steps. Each stream keeps its own random generator and sampling settings, and re-prefills
half a block when its row is full exactly as `gpt.generation.sample_ids` does, so a seeded
stream writes the text it would write alone (float differences between batch sizes could in
principle flip a draw; bench/app.py measures how often).
"""
from __future__ import annotations

import queue
import threading
from dataclasses import dataclass, field
from typing import Iterator

import torch

from gpt.generation import SamplingSettings, Step, check_seed, next_token_probs
from gpt.model import GPT, RowCache

DONE = object()


@dataclass
class Stream:
    """One request: its text so far, how to sample, and where its steps go."""

    context: list[int]
    remaining: int
    settings: SamplingSettings
    generator: torch.Generator
    steps: queue.Queue = field(default_factory=queue.Queue)
    cancelled: bool = False


class BatchDecoder:
    """Decodes every stream of one GPT together, in a thread of its own."""

    def __init__(self, model: GPT, capacity: int = 64):
        self.model = model
        self.block = model.block_size
        p = model.token_embedding.weight
        self.cache = RowCache(model.config, capacity, dtype=p.dtype, device=p.device)
        self.rows: list[Stream] = []          # row i of the cache holds rows[i]
        self.waiting: queue.Queue[Stream] = queue.Queue()
        self.capacity = capacity
        self._thread = threading.Thread(target=self._run, daemon=True, name="batch-decoder")
        self._thread.start()

    @property
    def load(self) -> int:
        """Streams decoding now or waiting to join."""
        return len(self.rows) + self.waiting.qsize()

    def stream(self, prompt_ids: list[int], max_new_tokens: int, settings: SamplingSettings,
               seed: int | None = None) -> Iterator[Step]:
        """Yield `max_new_tokens` steps continuing `prompt_ids`, decoded with everyone else's.
        Closing the generator early (Stop) frees its row at the next step."""
        generator = torch.Generator()
        if check_seed(seed) is None:
            generator.seed()
        else:
            generator.manual_seed(seed)
        boundary = self.model.tokenizer.stoi.get("\n", 0)
        s = Stream(list(prompt_ids) or [boundary], max_new_tokens, settings, generator)
        if max_new_tokens <= 0:
            return
        self.waiting.put(s)
        try:
            while True:
                items = [s.steps.get()]                   # wait for one, then take all that are ready
                while not s.steps.empty():
                    items.append(s.steps.get_nowait())
                for item in items:
                    if item is DONE:
                        return
                    if isinstance(item, BaseException):
                        raise item
                    yield item
        finally:
            s.cancelled = True

    # --- the decoding thread ----------------------------------------------------------

    def _run(self) -> None:
        while True:
            try:
                self._admit(block=not self.rows)
                self._step()
            except Exception as e:                      # never leave a client waiting forever
                for s in self.rows:
                    s.steps.put(e)
                self.rows.clear()
                self.cache.active = 0

    def _admit(self, block: bool) -> None:
        """Move waiting streams into free rows; wait for one if nothing is decoding."""
        while len(self.rows) < self.capacity:
            try:
                s = self.waiting.get(block=block)
            except queue.Empty:
                return
            block = False
            if s.cancelled:
                continue
            row = len(self.rows)
            self.rows.append(s)
            self.cache.active += 1
            self._emit(row, self._prefill(row, s.context[-self.block:]))

    @torch.inference_mode()
    def _prefill(self, row: int, ids: list[int]) -> torch.Tensor:
        """Encode `ids` alone into row `row` of the shared cache; the logits after them."""
        single = self.model.new_cache()
        logits = self.model(torch.tensor([ids], device=self.cache.keys.device), cache=single)[0][0, -1]
        self.cache.load_row(row, single)
        return logits

    @torch.inference_mode()
    def _step(self) -> None:
        """One character for every active stream: rows that are full re-prefill half a
        block alone (as the single-stream sampler does); the others decode together."""
        self._drop_finished()                            # a stream of one character ends at its prefill
        if not self.rows:
            return
        end = len(self.rows)
        for i in reversed(range(len(self.rows))):          # full rows to the back: the rest stay one dense batch
            if int(self.cache.lengths[i]) >= self.block:
                end -= 1
                self._swap(i, end)
        logits: dict[int, torch.Tensor] = {}
        if end:
            everyone = self.cache.active
            self.cache.active = end
            tokens = torch.tensor([s.context[-1] for s in self.rows[:end]], device=self.cache.keys.device)
            logits.update(enumerate(self.model.decode_rows(tokens, self.cache)))
            self.cache.active = everyone
        for i in range(end, len(self.rows)):
            logits[i] = self._prefill(i, self.rows[i].context[-(self.block // 2):])
        for i, row_logits in logits.items():
            self._emit(i, row_logits)
        self._drop_finished()

    def _drop_finished(self) -> None:
        """Free the rows of finished or stopped streams (last first, so indices hold)."""
        for i in reversed(range(len(self.rows))):
            s = self.rows[i]
            if s.remaining <= 0 or s.cancelled:
                self.cache.drop_row(i)
                self.rows[i] = self.rows[-1]
                self.rows.pop()
                s.steps.put(DONE)

    def _swap(self, a: int, b: int) -> None:
        if a == b:
            return
        c = self.cache
        for t in (c.keys, c.values):
            t[:, [a, b]] = t[:, [b, a]]
        c.lengths[[a, b]] = c.lengths[[b, a]]
        self.rows[a], self.rows[b] = self.rows[b], self.rows[a]

    def _emit(self, row: int, logits: torch.Tensor) -> None:
        s = self.rows[row]
        logits = logits.float().cpu()
        probs = next_token_probs(logits, s.settings)
        if s.settings.temperature == 0:
            token = int(probs.argmax())
        else:
            token = int(torch.multinomial(probs, 1, generator=s.generator))
        s.context.append(token)
        s.remaining -= 1
        s.steps.put(Step(token, probs, logits))
