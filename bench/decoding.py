"""The app's batch decoder without HTTP: its speed for 1 to 32 streams, and how often decoding
in a batch changes a seeded text.

    python bench/decoding.py [--streams 1,8,32] [--length 200] [--texts 64]

Speed: N threads each read one stream of --length characters from the shipped GPT's
`BatchDecoder` (one torch thread, as the app), against the same N streams sampled one
after another alone; medians of --repeats runs.

Faithfulness: a batch's matrix products add in a different order than one row's, so a
stream's logits can differ in the last bits from the same stream decoded alone, and a draw
that lands exactly on a boundary between two characters could flip. --texts streams (mixed
prompts, temperatures, top-k and top-p, each its own seed, 32 decoding together) are compared
with `gpt.generation.sample_ids` alone: how many texts differ, and the largest difference
between the distributions they were drawn from.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from bench.common import machine, table  # noqa: E402
from gpt.generation import SamplingSettings, sample_ids  # noqa: E402
from studio.zoo import ModelZoo  # noqa: E402

PROMPTS = ["ROMEO:\n", "JULIET:\nO Romeo, Romeo", "First Citizen:\n", "KING RICHARD III:\nNow is the winter"]
SETTINGS = [SamplingSettings(0.8), SamplingSettings(0.8, top_k=20), SamplingSettings(1.0, top_p=0.9),
            SamplingSettings(1.2), SamplingSettings(0.5, top_k=5)]


def together(decoder, jobs: list[tuple[list[int], SamplingSettings, int]], length: int) -> tuple[list, float]:
    """Decode every job at once, a thread reading each; (the steps of each, seconds)."""
    out = [None] * len(jobs)

    def read(k):
        ids, settings, seed = jobs[k]
        out[k] = [s for chunk in decoder.chunks(ids, length, settings, seed, every=lambda: 0.2) for s in chunk]

    threads = [threading.Thread(target=read, args=(k,)) for k in range(len(jobs))]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out, time.perf_counter() - start


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--streams", default="1,8,32")
    p.add_argument("--length", type=int, default=200)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--texts", type=int, default=64)
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    zoo = ModelZoo(ROOT / "checkpoints")
    model, decoder = zoo.get("shakespeare-gpt"), zoo.decoder("shakespeare-gpt")
    ids = model.tokenizer.encode(PROMPTS[0])
    print(f"# The batch decoder\nmachine: {machine()}\n")

    rows = []
    for n in [int(s) for s in args.streams.split(",")]:
        jobs = [(ids, SETTINGS[0], k) for k in range(n)]
        batched = statistics.median(together(decoder, jobs, args.length)[1] for _ in range(args.repeats))
        alone = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            for job in jobs:
                for _ in sample_ids(model, job[0], args.length, job[1], job[2]):
                    pass
            alone.append(time.perf_counter() - start)
        alone = statistics.median(alone)
        rows.append([n, f"{batched:.2f} s", f"{n * args.length / batched:,.0f}", f"{alone:.2f} s",
                     f"{n * args.length / alone:,.0f}", f"{alone / batched:.1f}×"])
    print(table([f"{args.length} chars a stream", "decoded together", "chars/s", "one after another alone",
                 "chars/s", "speed-up"], rows))

    differ, largest, positions = 0, 0.0, []
    for first in range(0, args.texts, 32):
        jobs = [(model.tokenizer.encode(PROMPTS[k % len(PROMPTS)]), SETTINGS[k % len(SETTINGS)], 1000 + k)
                for k in range(first, min(first + 32, args.texts))]
        outs, _ = together(decoder, jobs, args.length)
        for (job_ids, settings, seed), steps in zip(jobs, outs):
            alone = list(sample_ids(model, job_ids, args.length, settings, seed))
            tokens, alone_tokens = [s.token for s in steps], [s.token for s in alone]
            if tokens != alone_tokens:
                differ += 1
                positions.append(next(i for i, (a, b) in enumerate(zip(tokens, alone_tokens)) if a != b))
            same = next((i for i, (a, b) in enumerate(zip(tokens, alone_tokens)) if a != b), len(tokens))
            for a, b in zip(steps[:same], alone[:same]):        # compare only while the contexts agree
                largest = max(largest, float((a.probs - b.probs).abs().max()))
    print()
    print(table(["seeded texts decoded in batches of 32", "differ from the text decoded alone",
                 "first differing character", "largest difference in a sampled probability"],
                [[f"{args.texts} × {args.length} chars", f"{differ} of {args.texts}",
                  ", ".join(map(str, positions)) or "none", f"{largest:.1e}"]]))


if __name__ == "__main__":
    main()
