"""Speed of the Lab's instruments on the shipped GPT, one torch thread, medians of --repeats.

    python bench/lab.py [--repeats 5]

Surprisal of 2,000 characters (fp32, and under bf16 autocast where the CPU has native bf16);
the full 36-head knockout grid on 1,024 characters, against the naive way (one full forward
pass per head, with the head removed by a hook) in the same run; the verbatim index over
the 1M-character training split, built and then queried with 2,000 generated characters.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402

import gpt  # noqa: E402
from bench.common import machine, median_time, table  # noqa: E402
from gpt import lab  # noqa: E402
from gpt.hardware import bf16_is_fast  # noqa: E402


def naive_knockout(model, text: str) -> np.ndarray:
    """One full forward pass per head: what head_knockout does without reusing the stream."""
    base = lab.surprisal(model, text).mean()
    n_layer, n_head = len(model.blocks), model.blocks[0].attn.n_head
    grid = np.zeros((n_layer, n_head))
    for layer in range(n_layer):
        for head in range(n_head):
            with lab.ablated(model, [(layer, head)]):
                grid[layer, head] = lab.surprisal(model, text).mean() - base
    return grid


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", default="checkpoints/shakespeare-gpt")
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    model = gpt.load(args.checkpoint)
    corpus = gpt.Corpus.load("shakespeare")
    dataset = model.dataset_for(corpus)
    val = dataset.split_text("val")
    print(f"# Lab benchmark: {args.checkpoint}\nmachine: {machine()}\n")

    text = val[:2000]
    lab.surprisal(model, text)                                  # warm-up
    seconds = median_time(lambda: lab.surprisal(model, text), args.repeats)
    rows = [["surprisal, 2,000 characters, fp32", f"{seconds:.2f} s"]]
    if bf16_is_fast():
        with torch.autocast("cpu", dtype=torch.bfloat16):
            seconds = median_time(lambda: lab.surprisal(model, text), args.repeats)
        rows.append(["surprisal, 2,000 characters, bf16 autocast", f"{seconds:.2f} s"])

    passage = val[:1024]
    ours = median_time(lambda: lab.head_knockout(model, passage), max(1, args.repeats // 2))
    naive = median_time(lambda: naive_knockout(model, passage), 1)
    assert np.allclose(lab.head_knockout(model, passage), naive_knockout(model, passage), atol=1e-4)
    rows.append(["knockout grid, 36 heads, 1,024 characters (stream reused, heads batched)", f"{ours:.2f} s"])
    rows.append(["the same, naive: a full forward pass per head", f"{naive:.2f} s ({naive / ours:.1f}× slower)"])

    train = dataset.split_text("train")
    start = time.perf_counter()
    index = lab.VerbatimIndex(train)
    rows.append([f"verbatim index over the training split ({len(train):,} characters), built",
                 f"{time.perf_counter() - start:.2f} s"])
    sample = "".join(gpt.generate(model, "ROMEO:\n", 2000, temperature=0.8, seed=0))
    seconds = median_time(lambda: index.matches(sample, 20), args.repeats)
    rows.append(["2,000 generated characters queried (spans of 20 or more)", f"{1000 * seconds:.0f} ms"])
    print(table(["instrument", "median time"], rows))


if __name__ == "__main__":
    main()
