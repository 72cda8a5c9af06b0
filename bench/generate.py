"""Generation speed of the shipped GPT: the decoding steps side by side, and whether they agree.

    python bench/generate.py [--checkpoint checkpoints/shakespeare-gpt] [--repeats 5] [--texts 64]

Each row decodes the same text three ways, with one torch thread as the app does: the KV
cache with the model's own step (`engine="torch"`, the reference), the KV cache with the
step as one ONNX Runtime call (`engine="onnx"`, what `gpt.generate` uses by default), and
recomputation, which re-runs the model on the last block_size characters at every step as
nanoGPT's sample.py and the lecture's generate() do. Each figure is the median of --repeats
runs.

Agreement: the greedy text for 2,000 characters past the block (the context re-prefilled
along the way), and --texts seeded texts (mixed prompts and sampling settings), each from
the ONNX step against the reference: how many differ, and where the first difference is.

With --device cuda the rows run on the GPU (the model's own step: the ONNX step is for the
CPU), plus the aggregate rate of decoding many streams in one batch.
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


PROMPTS = ["ROMEO:\n", "JULIET:\nO Romeo, Romeo", "First Citizen:\n", "KING RICHARD III:\nNow is the winter"]
SETTINGS = [dict(temperature=0.8), dict(temperature=0.8, top_k=20), dict(temperature=1.0, top_p=0.9),
            dict(temperature=1.2), dict(temperature=0.5, top_k=5)]


def chars_per_second(model, n: int, repeats: int, use_cache: bool = True, engine: str = "torch") -> float:
    def run():
        for _ in gpt.generate(model, PROMPT, n, temperature=0.8, seed=0, use_cache=use_cache, engine=engine):
            pass
    return n / median_time(run, repeats)


def agreement(model, texts: int, length: int = 1000) -> list[list]:
    """Rows for the agreement table: the ONNX step's texts against the reference step's."""
    past_block = 2000
    n = model.block_size + past_block
    greedy = ["".join(gpt.generate(model, PROMPT, n, temperature=0, engine=e)) for e in ("torch", "onnx")]
    first = next((i for i, (a, b) in enumerate(zip(*greedy)) if a != b), None)
    rows = [[f"greedy, {n:,} chars ({past_block:,} past the block)", "identical" if first is None else "differs",
             "none" if first is None else first]]
    differ = []
    for k in range(texts):
        settings = SETTINGS[k % len(SETTINGS)]
        a, b = ("".join(gpt.generate(model, PROMPTS[k % len(PROMPTS)], length, seed=1000 + k, engine=e, **settings))
                for e in ("torch", "onnx"))
        if a != b:
            differ.append(next(i for i, (x, y) in enumerate(zip(a, b)) if x != y))
    rows.append([f"seeded, {texts} texts × {length:,} chars", f"{len(differ)} of {texts} differ",
                 ", ".join(map(str, differ)) or "none"])
    return rows


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
    p.add_argument("--texts", type=int, default=64, help="seeded texts compared between the steps")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    try:
        model = gpt.load(args.checkpoint, device=gpt.pick_device(args.device))
    except gpt.CheckpointError as e:
        sys.exit(f"bench/generate.py: {e}")
    rss_loaded = peak_rss_mb()
    onnx_reason = gpt.onnx_decoding.unavailable_reason(model)
    engines = ["torch"] + ([] if onnx_reason else ["onnx"])
    for engine in engines:
        chars_per_second(model, 50, 1, engine=engine)      # warm-up (the ONNX step is built here)
    rows = []
    for n in map(int, args.lengths.split(",")):
        rates = {e: chars_per_second(model, n, args.repeats, engine=e) for e in engines}
        recomputed = chars_per_second(model, n, max(1, args.repeats // 2), use_cache=False)
        onnx_cells = ([f"{rates['onnx']:,.0f}", f"{rates['onnx'] / rates['torch']:.1f}×"] if "onnx" in rates
                      else ["n/a", "n/a"])
        rows.append([n, f"{rates['torch']:,.0f}", *onnx_cells, f"{recomputed:,.0f}",
                     f"{rates['torch'] / recomputed:.1f}×"])
    print(f"# Generation: {args.checkpoint} ({model.num_params():,} parameters, block {model.block_size})")
    print(f"machine: {machine(model.device)}\n")
    print(table(["new characters", "KV cache, model's step (chars/s)", "KV cache, ONNX step (chars/s)",
                 "ONNX vs model's step", "recompute (chars/s)", "model's step vs recompute"], rows))
    if onnx_reason:
        print(f"\nThe ONNX step was not measured: {onnx_reason}.")
    else:
        print()
        print(table(["the ONNX step against the model's step", "texts", "first differing character"],
                    agreement(model, args.texts)))
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
