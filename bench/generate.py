"""Generation speed of the shipped GPT: KV cache against full recomputation.

    python bench/generate.py [--checkpoint checkpoints/shakespeare-gpt] [--repeats 5]

Recomputation re-runs the model on the last block_size characters at every step, which is
what nanoGPT's sample.py and the lecture's generate() do. Both run with one torch thread,
as the app does. Each figure is the median of --repeats runs. With --device cuda the same
rows run on the GPU, plus the aggregate rate of decoding many streams in one batch.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

import gpt  # noqa: E402
from bench.common import machine, median_time, peak_rss_mb, synchronize, table  # noqa: E402

PROMPT = "ROMEO:\n"


def chars_per_second(model, n: int, use_cache: bool, repeats: int) -> float:
    def run():
        for _ in gpt.generate(model, PROMPT, n, temperature=0.8, seed=0, use_cache=use_cache):
            pass
    return n / median_time(run, repeats)


@torch.inference_mode()
def batched_chars_per_second(model, batch: int, n: int = 200, repeats: int = 3) -> float:
    """Characters per second over `batch` streams decoded together with one KV cache
    (greedy, one forward pass per step for all of them)."""
    prompt = torch.tensor([model.tokenizer.encode(PROMPT)] * batch, device=model.device)

    def run():
        cache = model.new_cache(batch)
        logits = model(prompt, cache=cache)[0][:, -1]
        for _ in range(n - 1):
            logits = model(logits.argmax(-1, keepdim=True), cache=cache)[0][:, -1]
        synchronize(model.device)
    return batch * n / median_time(run, repeats)


def first_char_ms(model, repeats: int = 20) -> float:
    def run():
        next(iter(gpt.generate(model, PROMPT * 20, 1, temperature=0.8, seed=0)))
    return 1000 * median_time(run, repeats)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--checkpoint", default="checkpoints/shakespeare-gpt")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--lengths", default="200,1000,2000")
    p.add_argument("--device", default="cpu", help="cpu, cuda or mps")
    p.add_argument("--batches", default="1,8,64", help="with a GPU: streams decoded together")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    try:
        model = gpt.load(args.checkpoint, device=gpt.pick_device(args.device))
    except gpt.CheckpointError as e:
        sys.exit(f"bench/generate.py: {e}")
    rss_loaded = peak_rss_mb()
    chars_per_second(model, 50, True, 1)      # warm-up
    rows = []
    for n in map(int, args.lengths.split(",")):
        cached = chars_per_second(model, n, True, args.repeats)
        recomputed = chars_per_second(model, n, False, max(1, args.repeats // 2))
        rows.append([n, f"{cached:,.0f}", f"{recomputed:,.0f}", f"{cached / recomputed:.1f}×"])
    print(f"# Generation: {args.checkpoint} ({model.num_params():,} parameters, block {model.block_size})")
    print(f"machine: {machine(model.device)}\n")
    print(table(["new characters", "KV cache (chars/s)", "recompute (chars/s)", "speed-up"], rows))
    print()
    print(table(["time to first character (prompt of 140 chars)", "peak RSS after loading", "peak RSS after all runs"],
                [[f"{first_char_ms(model):.1f} ms", f"{rss_loaded:.0f} MB", f"{peak_rss_mb():.0f} MB"]]))
    if model.device.type != "cpu":
        print()
        rates = [(b, batched_chars_per_second(model, b)) for b in map(int, args.batches.split(","))]
        print(table(["streams decoded together (200 chars each, greedy)", "chars/s, all streams", "vs 1 stream"],
                    [[b, f"{r:,.0f}", f"{r / rates[0][1]:.1f}×"] for b, r in rates]))


if __name__ == "__main__":
    main()
