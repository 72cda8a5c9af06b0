"""Live training in a worker process, so that it never holds the interpreter lock that decoding needs.

The app process checks a request, builds the session's model (what Stop keeps and Generate
uses) and starts `python -m studio.worker`, a fresh interpreter that imports only the library.
It sends the worker the model's initial weights, the corpus and the settings; the worker trains
and reports back: a progress line every few steps, and at the start and at every evaluation
the weights, the run's history and the diagnostics so far. The app process mirrors each of
those into the session's model and its timeline, so everything that reads the model stays in
one process. The worker runs at a lower CPU priority (nice 10), so that on a busy machine the
scheduler serves the decoding every student waits on first. Stop is SIGTERM, which the worker
notices between two steps; it then sends the weights it has. A worker that dies (killed, out
of memory) ends that run with a message; the server and every other run go on.

On the pipe, each message is a JSON header and an optional blob (weights as safetensors, or
the corpus as UTF-8), each preceded by its length: nothing is ever unpickled.
"""
from __future__ import annotations

import json
import os
import select
import signal
import struct
import subprocess
import sys
import time
from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import BinaryIO, Iterator

import torch
from safetensors.torch import load as load_tensors
from safetensors.torch import save as save_tensors

from gpt.data import Corpus
from gpt.diagnostics import Diagnostics, StepDiagnostics
from gpt.records import TrainConfig
from gpt.registry import build_model, model_config_dict
from gpt.snapshots import MemorySnapshots
from gpt.tokenizer import CharTokenizer
from gpt.trainer import Progress, Trainer

from .errors import InputError, first_line
from .spare_cores import SpareCores

PROGRESS_EVERY = 10          # steps between progress lines
STOP_GRACE = 5.0             # seconds a stopped worker has to send its last weights
NICENESS = 10                # training yields the CPU to the app process, whose threads decode for everyone
ROOT = Path(__file__).resolve().parents[1]


# --- the wire ------------------------------------------------------------------------------

def write_message(stream: BinaryIO, header: dict, blob: bytes = b"") -> None:
    head = json.dumps(header).encode()
    stream.write(struct.pack("<II", len(head), len(blob)) + head + blob)
    stream.flush()


def _read_exact(stream: BinaryIO, n: int) -> bytes:
    chunks, left = [], n
    while left:
        chunk = stream.read(left)
        if not chunk:
            raise EOFError("the other end closed the pipe")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def read_message(stream: BinaryIO) -> tuple[dict, bytes]:
    head_len, blob_len = struct.unpack("<II", _read_exact(stream, 8))
    return json.loads(_read_exact(stream, head_len)), _read_exact(stream, blob_len)


def weights_bytes(model) -> bytes:
    """A model's weights as safetensors bytes (tied weights copied apart, as safetensors needs)."""
    return save_tensors({k: v.detach().cpu().clone() for k, v in model.state_dict().items()})


# --- the worker process --------------------------------------------------------------------

class _Reporter:
    """The worker's snapshot store: instead of keeping the weights, it sends them home."""

    def __init__(self, channel: BinaryIO, diagnostics: Diagnostics):
        self.channel, self.diagnostics, self.sent = channel, diagnostics, 0

    def add(self, model, step: int) -> None:
        records = self.diagnostics.records[self.sent:]
        self.sent = len(self.diagnostics.records)
        run = model.run
        write_message(self.channel, {"kind": "snapshot", "step": step, "history": model.history,
                                     "diagnostics": [r.to_json() for r in records],
                                     "run": [run.step, run.tokens_seen, run.elapsed]}, weights_bytes(model))


def main() -> None:
    """`python -m studio.worker`: read one job on stdin, train, report on stdout."""
    channel = os.fdopen(os.dup(1), "wb")       # the protocol's own stdout; stray prints go to stderr
    os.dup2(2, 1)
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    try:
        job, blob = read_message(sys.stdin.buffer)
        weights_len = job["weights_bytes"]
        cores = SpareCores(least=job["threads"], most=job["most_threads"])
        torch.set_num_threads(cores.threads())
        model = build_model(job["model_type"], **job["arch"])
        model.load_state_dict(load_tensors(blob[:weights_len]))
        model.to(job["device"])
        model.tokenizer = CharTokenizer.from_json(job["vocab"])
        model.run.bigram_val_loss = job["bigram_val_loss"]
        corpus = Corpus(job["corpus"], blob[weights_len:].decode("utf-8"), job["line_framed"])
        diagnostics = Diagnostics(model, every=job["diagnostics_every"])
        trainer = Trainer(model, model.dataset_for(corpus), TrainConfig(**job["config"]),
                          snapshots=_Reporter(channel, diagnostics), diagnostics=diagnostics)
        for p in trainer.run(should_stop=lambda: bool(stopping)):
            if (threads := cores.threads()) != torch.get_num_threads():
                torch.set_num_threads(threads)
            if p.val_loss is not None or p.done or p.step % PROGRESS_EVERY == 0:
                write_message(channel, {"kind": "progress", "progress": asdict(p), "threads": threads})
        if stopping:                  # stopped between evaluations: send the weights it has now
            trainer.snapshots.add(model, trainer.step)
        write_message(channel, {"kind": "finished"})
    except BrokenPipeError:
        pass                          # the app went away: nothing to report to
    except Exception as e:            # noqa: BLE001 - reported as a message, never a traceback to users
        said = f": {first_line(e)}" if str(e).strip() else ""
        write_message(channel, {"kind": "error", "message": type(e).__name__ + said})


# --- the app's side ------------------------------------------------------------------------

class RemoteTraining:
    """A trainer set up in this process whose steps run in a worker process.

    `run()` yields the worker's Progress; meanwhile `model` (this process's copy), its
    history, `snapshots` and `diagnostics` follow the worker at every evaluation."""

    def __init__(self, trainer: Trainer, snapshots: MemorySnapshots, threads: int = 1,
                 most_threads: int | None = None):
        self.trainer, self.model, self.snapshots = trainer, trainer.model, snapshots
        self.diagnostics = Diagnostics(self.model, every=trainer.config.eval_interval)   # its records, no hooks
        self.threads = threads                    # always this many; up to most_threads while the cores are idle
        self.most_threads = max(threads, most_threads or threads)
        self.threads_seen: Counter[int] = Counter()    # progress lines by the threads the worker was using
        self.process: subprocess.Popen | None = None

    def _job(self) -> tuple[dict, bytes]:
        model, corpus = self.model, self.trainer.dataset.corpus
        weights = weights_bytes(model)
        header = {"model_type": model.model_type, "arch": model_config_dict(model), "device": str(model.device),
                  "vocab": model.tokenizer.to_json(), "bigram_val_loss": model.run.bigram_val_loss,
                  "corpus": corpus.name, "line_framed": corpus.line_framed,
                  "config": asdict(self.trainer.config), "diagnostics_every": self.diagnostics.every,
                  "threads": self.threads, "most_threads": self.most_threads, "weights_bytes": len(weights)}
        return header, weights + corpus.text.encode("utf-8")

    def _mirror(self, header: dict, blob: bytes) -> None:
        self.model.load_state_dict(load_tensors(blob))
        self.model.history[:] = header["history"]
        self.model.run.step, self.model.run.tokens_seen, self.model.run.elapsed = header["run"]
        self.diagnostics.records.extend(StepDiagnostics.from_json(r) for r in header["diagnostics"])
        if header["step"] not in self.snapshots.steps:
            self.snapshots.add(self.model, header["step"])

    def run(self) -> Iterator[Progress]:
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
        self.process = subprocess.Popen([sys.executable, "-m", "studio.worker"], cwd=ROOT, env=env, bufsize=0,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        if hasattr(os, "setpriority"):         # from its first instruction (its imports included), decoding comes first
            os.setpriority(os.PRIO_PROCESS, self.process.pid, NICENESS)
        finished = False
        try:
            header, blob = self._job()
            write_message(self.process.stdin, header, blob)
            self.process.stdin.close()
            while True:
                try:
                    message, blob = read_message(self.process.stdout)
                except EOFError:
                    raise InputError("The training process ended unexpectedly (out of memory?). What it had "
                                     "learned by its last evaluation is kept.") from None
                kind = message["kind"]
                if kind == "snapshot":
                    self._mirror(message, blob)
                elif kind == "progress":
                    self.threads_seen[message["threads"]] += 1
                    yield Progress(**message["progress"])
                elif kind == "error":
                    raise InputError(f"Training stopped with an error: {message['message']}")
                elif kind == "finished":
                    finished = True
                    return
        finally:
            if not finished and self.process.poll() is None:      # Stop, or the page went away
                self.process.send_signal(signal.SIGTERM)
                if os.name == "posix":        # elsewhere SIGTERM ends it at once: the last evaluation's weights stay
                    self._collect_last_weights()
            self.process.stdout.close()
            try:
                self.process.wait(timeout=STOP_GRACE)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def _collect_last_weights(self) -> None:
        """After Stop: take the weights the worker sends as it stops, so nothing trained is lost."""
        deadline = time.monotonic() + STOP_GRACE
        stdout = self.process.stdout
        while time.monotonic() < deadline:
            ready, _, _ = select.select([stdout], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                return
            try:
                message, blob = read_message(stdout)
            except EOFError:
                return
            if message["kind"] == "snapshot":
                self._mirror(message, blob)
            elif message["kind"] in ("finished", "error"):
                return


if __name__ == "__main__":
    main()
