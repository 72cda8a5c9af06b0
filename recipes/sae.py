"""The shipped SAE: a TopK sparse autoencoder on the shipped GPT's residual stream after
block 3, and the same recipe on an untrained GPT of the same shape (the control).

    python recipes/sae.py [--out checkpoints/shakespeare-gpt-sae] [--positions 600000] [--epochs 8]

Writes `trained/` (sae.safetensors, sae.json with the quality measured on val, and
features.safetensors: each feature's top 20 val contexts with their shading and density)
and `random/` (the control's sae.json and feature tables; its weights are not kept).
"""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

import gpt  # noqa: E402
from gpt import sae as S  # noqa: E402


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", default="checkpoints/shakespeare-gpt")
    p.add_argument("--out", default="checkpoints/shakespeare-gpt-sae")
    p.add_argument("--layer", type=int, default=3)
    p.add_argument("--features", type=int, default=1536)
    p.add_argument("--k", type=int, default=32)
    p.add_argument("--positions", type=int, default=600_000)
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--only", choices=("trained", "random"), help="make one of the two")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    trained = gpt.load(args.checkpoint).eval()
    dataset = trained.dataset_for(gpt.Corpus.load("shakespeare"))
    train, val = dataset.splits["train"], dataset.splits["val"]
    torch.manual_seed(0)
    control = gpt.GPT(trained.config).eval()              # the same shape, never trained
    control.tokenizer = trained.tokenizer
    config = S.SAEConfig(layer=args.layer, n_features=args.features, k=args.k)
    training = S.SAETraining(positions=args.positions, epochs=args.epochs, lr=args.lr)
    for name, model in (("trained", trained), ("random", control)):
        if args.only and name != args.only:
            continue
        start = time.perf_counter()
        sae = S.train_sae(model, train, config, training,
                          progress=lambda step, steps, fvu: print(f"{name}: step {step}/{steps}, batch FVU {fvu:.3f}",
                                                                  file=sys.stderr, flush=True))
        seconds = time.perf_counter() - start
        folder = Path(args.out) / name
        if name == "trained":
            S.save_sae(sae, folder)
            sae = S.load_sae(folder)                          # measured as shipped
        quality = S.quality(sae, model, val, windows=256)
        tables = S.feature_tables(sae, model, val)
        consistency = {"at": S.top_context_entropy(tables, val), "after": S.top_context_entropy(tables, val, after=1)}
        extra = {"model": args.checkpoint if name == "trained" else f"untrained GPT of {args.checkpoint}'s shape",
                 "quality": asdict(quality), "top_context_entropy_bits": consistency,
                 "training": asdict(training), "training_seconds": round(seconds, 1),
                 "reproduce": "python recipes/sae.py"}
        if name == "trained":
            S.save_sae(sae, folder, extra)
        else:
            folder.mkdir(parents=True, exist_ok=True)
            (folder / S.SAE_CONFIG).write_text(__import__("json").dumps({"config": asdict(sae.config), **extra},
                                                                        indent=2) + "\n")
        S.save_tables(tables, folder)
        print(f"{name}: {quality}; top-context entropy {consistency}; {seconds:.0f} s")


if __name__ == "__main__":
    main()
