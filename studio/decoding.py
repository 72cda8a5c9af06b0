"""Batched decoding across users: one forward pass per step for every stream of a model.

Each request used to decode on its own, one small forward pass per character under the
GIL, so thirty students shared one core's worth of tiny matrix-vector products. A
`BatchDecoder` owns one model's `RowCache` and a thread that, at every step, decodes one
character for every active stream together. Streams join (their prompt is prefilled alone,
then copied into a free row) and leave (a finished or stopped stream frees its row) between
steps. Each stream keeps its own random generator and sampling settings, and re-prefills
half a block when its row is full exactly as `gpt.generation.sample_ids` does, so a seeded
stream writes the text it would write alone (float differences between batch sizes could in
principle flip a draw; bench/decoding.py measures how often: 0 of 320 texts here). The
step of all rows runs as one ONNX Runtime call where it can (`gpt.onnx_decoding`).

The decoding thread does a class's per-step work once for all: the distributions of every
stream with the same sampling settings come from one call, and a stream's reader is woken
only when it asked to be (`chunks`, or `achunks` for a coroutine, with `every=...`), not at
every character: with thirty streams, thirty thread wake-ups per step cost the server more
than the step's forward pass.
"""
from __future__ import annotations

import asyncio
import queue
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import AsyncIterator, Callable, Iterator

import torch

from gpt import onnx_decoding
from gpt.generation import SamplingSettings, Step, check_seed, next_token_probs
from gpt.model import GPT, RowCache


@dataclass
class Stream:
    """One request: its text so far, how to sample, and the steps decoded for its reader.

    The decoding thread appends to `steps` and wakes the reader once the reader's `wake_at`
    has passed, or when the stream ends (`finished`, `error`): a thread through `ready`, a
    coroutine through `event` on its `loop`."""

    context: list[int]
    remaining: int
    settings: SamplingSettings
    generator: torch.Generator
    steps: list[Step] = field(default_factory=list)
    ready: threading.Condition = field(default_factory=threading.Condition)
    taken: int = 0                        # steps the reader has taken
    wake_at: float = 0.0                  # time.monotonic() after which a new step wakes the reader
    finished: bool = False
    error: BaseException | None = None
    cancelled: bool = False
    loop: asyncio.AbstractEventLoop | None = None
    event: asyncio.Event | None = None

    def wake(self) -> None:
        if self.loop is None:
            with self.ready:
                self.ready.notify()
            return
        try:
            self.loop.call_soon_threadsafe(self.event.set)
        except RuntimeError:              # the reader's event loop has closed: nobody to wake
            pass

    def due(self) -> bool:
        """Whether the reader should take what is there now."""
        return self.finished or (len(self.steps) > self.taken and time.monotonic() >= self.wake_at)

    def wait_for(self) -> float | None:
        """How long to wait before the next look: until `wake_at` if steps are pending, else
        until woken (None)."""
        return max(0.0, self.wake_at - time.monotonic()) if len(self.steps) > self.taken else None

    def take(self, every: float) -> list[Step] | None:
        """Once `due`: the steps not taken yet, or None when every step has been taken (raising
        the decoder's error if the stream ended with one). The reader is next woken in `every` s."""
        finished = self.finished          # read first: once set, every step is in
        chunk = self.steps[self.taken:]
        self.taken += len(chunk)
        self.wake_at = time.monotonic() + every
        if chunk or not finished:
            return chunk
        if self.error is not None:
            raise self.error
        return None


class BatchDecoder:
    """Decodes every stream of one GPT together, in a thread of its own."""

    def __init__(self, model: GPT, capacity: int = 64):
        self.model = model
        self.block = model.block_size
        p = model.token_embedding.weight
        self.cache = RowCache(model.config, capacity, dtype=p.dtype, device=p.device)
        # the step of every active row as one ONNX Runtime call where it can run this model;
        # the decoder's model is shared and never trained, so one build serves its lifetime
        step = onnx_decoding.decode_step(model)
        self._advance = step.bind(self.cache) if step is not None else None
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
        """Yield `max_new_tokens` steps continuing `prompt_ids`, decoded with everyone else's,
        each as soon as it is decoded. Closing the generator early (Stop) frees its row at the
        next step."""
        for chunk in self.chunks(prompt_ids, max_new_tokens, settings, seed):
            yield from chunk

    def chunks(self, prompt_ids: list[int], max_new_tokens: int, settings: SamplingSettings,
               seed: int | None = None, every: Callable[[], float] = lambda: 0.0) -> Iterator[list[Step]]:
        """Like `stream`, but the steps come in lists: the first as soon as it is decoded, then
        what was decoded in the next `every()` seconds, until the last step, which comes at once."""
        s = self._open(prompt_ids, max_new_tokens, settings, seed)
        if s is None:
            return
        self.waiting.put(s)
        try:
            while True:
                with s.ready:
                    while not s.due():
                        s.ready.wait(s.wait_for())
                if (chunk := s.take(every())) is None:
                    return
                yield chunk
        finally:
            s.cancelled = True

    async def achunks(self, prompt_ids: list[int], max_new_tokens: int, settings: SamplingSettings,
                      seed: int | None = None, every: Callable[[], float] = lambda: 0.0
                      ) -> AsyncIterator[list[Step]]:
        """`chunks` for a coroutine: waiting costs the event loop nothing, and no thread is
        woken to hand each chunk over. Cancelling it (Stop) frees the row at the next step."""
        s = self._open(prompt_ids, max_new_tokens, settings, seed)
        if s is None:
            return
        s.loop, s.event = asyncio.get_running_loop(), asyncio.Event()
        self.waiting.put(s)
        try:
            while True:
                s.event.clear()                   # before looking, so that a wake-up after the look is kept
                if not s.due():
                    try:
                        await asyncio.wait_for(s.event.wait(), s.wait_for())
                    except asyncio.TimeoutError:
                        pass
                elif (chunk := s.take(every())) is None:
                    return
                else:
                    yield chunk
        finally:
            s.cancelled = True

    def _open(self, prompt_ids: list[int], max_new_tokens: int, settings: SamplingSettings,
              seed: int | None) -> Stream | None:
        """A stream with its own random generator (seeded, or fresh); None when there is nothing to decode."""
        if max_new_tokens <= 0:
            return None
        generator = torch.Generator()
        if check_seed(seed) is None:
            generator.seed()
        else:
            generator.manual_seed(seed)
        boundary = self.model.tokenizer.stoi.get("\n", 0)
        return Stream(list(prompt_ids) or [boundary], max_new_tokens, settings, generator)

    # --- the decoding thread ----------------------------------------------------------

    def _run(self) -> None:
        while True:
            try:
                self._admit(block=not self.rows)
                self._step()
            except Exception as e:                      # the shared pass failed: never leave a client waiting
                for s in self.rows:
                    self._finish(s, e)
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
            try:
                first = self._prefill(row, s.context[-self.block:])
            except Exception as e:        # this prompt alone: the other rows never saw it
                self.rows.pop()
                self.cache.active -= 1
                self._finish(s, e)
                continue
            self._emit({row: first})

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
            logits.update(enumerate(self._decode_rows(tokens)))
            self.cache.active = everyone
        for i in range(end, len(self.rows)):
            try:
                logits[i] = self._prefill(i, self.rows[i].context[-(self.block // 2):])
            except Exception as e:        # ends this row alone (dropped below)
                self.rows[i].error, self.rows[i].remaining = e, 0
        self._emit(logits)
        self._drop_finished()

    def _decode_rows(self, tokens: torch.Tensor) -> torch.Tensor:
        """`GPT.decode_rows` for the cache's active rows, through the faster step if there is one."""
        if self._advance is None:
            return self.model.decode_rows(tokens, self.cache)
        at = self.cache.lengths[:self.cache.active]
        logits = self._advance(tokens, at)
        at += 1
        return logits

    def _drop_finished(self) -> None:
        """Free the rows of finished or stopped streams (last first, so indices hold)."""
        for i in reversed(range(len(self.rows))):
            s = self.rows[i]
            if s.remaining <= 0 or s.cancelled:
                self.cache.drop_row(i)
                self.rows[i] = self.rows[-1]
                self.rows.pop()
                self._finish(s, s.error)

    def _swap(self, a: int, b: int) -> None:
        if a == b:
            return
        c = self.cache
        for t in (c.keys, c.values):
            t[:, [a, b]] = t[:, [b, a]]
        c.lengths[[a, b]] = c.lengths[[b, a]]
        self.rows[a], self.rows[b] = self.rows[b], self.rows[a]

    def _emit(self, logits: dict[int, torch.Tensor]) -> None:
        """Draw each row's next character from its logits; rows with the same sampling
        settings get their distributions from one call (per row, the same numbers). A row
        whose draw fails ends with that error alone; the others go on."""
        by_settings: dict[SamplingSettings, list[int]] = defaultdict(list)
        for row in logits:
            by_settings[self.rows[row].settings].append(row)
        now = time.monotonic()
        for settings, rows in by_settings.items():
            group_logits = torch.stack([logits[row] for row in rows]).float().cpu()     # (rows, V)
            try:
                group_probs = list(next_token_probs(group_logits, settings))
            except Exception:             # find the row at fault: each alone
                group_probs = [self._probs_or_none(self.rows[row], row_logits)
                               for row, row_logits in zip(rows, group_logits)]
            for row, row_logits, probs in zip(rows, group_logits, group_probs):
                s = self.rows[row]
                if probs is None:
                    continue              # failed: _drop_finished ends it with its error
                if settings.temperature == 0:
                    token = int(probs.argmax())
                else:
                    token = int(torch.multinomial(probs, 1, generator=s.generator))
                s.context.append(token)
                s.remaining -= 1
                s.steps.append(Step(token, probs, row_logits))
                if now >= s.wake_at:
                    s.wake()

    @staticmethod
    def _probs_or_none(s: Stream, row_logits: torch.Tensor) -> torch.Tensor | None:
        try:
            return next_token_probs(row_logits, s.settings)
        except Exception as e:
            s.error, s.remaining = e, 0
            return None

    @staticmethod
    def _finish(s: Stream, error: BaseException | None = None) -> None:
        s.error = error
        s.finished = True
        s.wake()
