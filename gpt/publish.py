"""Turn a training run's best checkpoint into a shipped one: small weights, measured losses,
and a model card for the Hugging Face Hub.

    python -m gpt.publish --run runs/shakespeare-gpt/best --out checkpoints/shakespeare-gpt \\
        --dtype bf16 --command "python -m gpt.train ..."

The losses are measured *after* the conversion, on the weights that ship, over the whole
train and val splits (and over a fixed slice of val that the tests re-check quickly).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys

import torch

from . import checkpoint
from .data import NAMED_CORPORA, Corpus
from .models import dataset_for
from .evaluate import split_loss
from .introspect import counted_bigram_loss
from .lecture import bigram_counts
from .sampling import generate

DTYPES = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}
SLICE_BATCHES, SLICE_BATCH_SIZE = 4, 16
"""The fixed val slice re-checked by the tests: the first 4 batches of 16 examples."""


def cpu_name() -> str:
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def measure(model, corpus: Corpus) -> dict:
    dataset = dataset_for(model, corpus)
    return {
        "train_loss": round(split_loss(model, dataset, "train"), 4),
        "val_loss": round(split_loss(model, dataset, "val"), 4),
        "val_slice_loss": round(split_loss(model, dataset, "val", SLICE_BATCH_SIZE, SLICE_BATCHES), 4),
        "val_slice": f"first {SLICE_BATCHES * SLICE_BATCH_SIZE} examples of the val split",
        "bigram_val_loss": round(counted_bigram_loss(dataset), 4),
    }


def model_card(model, evaluation: dict, info: dict, title: str, command: str, sample_prompt: str,
               sample: str) -> str:
    corpus = info.get("corpus", "?")
    spec = NAMED_CORPORA.get(corpus)
    history = model.history or []
    arch = ", ".join(f"{k}={v}" for k, v in vars(model.config).items())
    train_config = info.get("train_config", {})
    lines = [
        "---",
        "license: mit",
        "library_name: pytorch",
        "pipeline_tag: text-generation",
        "tags: [character-level, gpt, tinyshakespeare-gpt, makemore, nanogpt]",
        "model-index:",
        f"- name: {title}",
        "  results:",
        "  - task: {type: text-generation}",
        f"    dataset: {{name: {spec.title if spec else corpus}, type: {corpus}}}",
        "    metrics:",
        f"    - {{type: loss, name: val loss (nats/char, whole split), value: {evaluation['val_loss']}}}",
        "---",
        "",
        f"# {title}",
        "",
        f"A character-level **{model.model_type}** from tinyshakespeare-gpt, trained with the project's own trainer.",
        "",
        "| | |",
        "|---|---|",
        f"| data | {spec.title if spec else corpus}"
        + (f" ([source]({spec.url}))" if spec else "") + " |",
        "| split | " + ("names shuffled with seed 42 (makemore), first 90% train, last 10% val, each name framed "
                        "as makemore does" if info.get("line_framed") else "first 90% of characters train, last 10% val "
                        "(nanoGPT's split)") + " |",
        f"| vocabulary | {model.tokenizer.vocab_size} characters |",
        f"| architecture | {arch} |",
        f"| parameters | {model.num_params():,} |",
        f"| weights on disk | {info.get('weights_dtype', 'fp32')} safetensors, loaded back to fp32 |",
        f"| steps | {info.get('step', '?'):,} (batch {train_config.get('batch_size', '?')}) |",
        f"| tokens seen | {info.get('tokens_seen', 0):,} |",
        f"| wall time | {info.get('elapsed', 0) / 60:.1f} min |",
        f"| hardware | {os.cpu_count()} CPU cores ({cpu_name()}), no GPU, torch {torch.__version__} |",
        f"| train loss (whole split) | **{evaluation['train_loss']:.4f}** |",
        f"| val loss (whole split) | **{evaluation['val_loss']:.4f}** |",
        f"| val loss ({evaluation['val_slice']}) | {evaluation['val_slice_loss']:.4f} |",
        f"| reference: counting bigram, val | {evaluation['bigram_val_loss']:.4f} |",
        "",
        "Losses are mean cross-entropy in nats per character, measured on the shipped weights by "
        "`python -m gpt.eval` (non-overlapping windows of the block size over the whole split).",
        "",
        "## Training settings",
        "",
        "```json",
        json.dumps(train_config, indent=1),
        "```",
        "",
        "## Reproduce",
        "",
        "```bash",
        command,
        "```",
        "",
        f"## Sample (prompt {sample_prompt!r}, temperature 0.8, seed 0)",
        "",
        "```text",
        sample_prompt + sample,
        "```",
        "",
        f"## Loss history ({len(history)} evaluations on fixed batches)",
        "",
        "`history.json` holds every evaluation: step, train and val loss, learning rate, tokens seen, wall time.",
        "",
    ]
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m gpt.publish", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run", required=True, help="checkpoint folder to publish (usually RUN/best)")
    p.add_argument("--out", required=True)
    p.add_argument("--title", required=True)
    p.add_argument("--dtype", choices=list(DTYPES), default="fp32")
    p.add_argument("--command", default="", help="the command that reproduces the run, for the card")
    p.add_argument("--prompt", default="", help="prompt of the card's sample")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    model = checkpoint.load(args.run)
    info = dict(model.info)
    info["weights_dtype"] = args.dtype
    corpus = Corpus.load(info.get("corpus", "shakespeare"), line_framed=info.get("line_framed"))
    tmp_out = args.out.rstrip("/") + ".unmeasured"
    checkpoint.save(model, tmp_out, history=model.history, info=info, weights_dtype=DTYPES[args.dtype])
    shipped = checkpoint.load(tmp_out)        # measure exactly what ships
    evaluation = measure(shipped, corpus)
    info["eval"] = evaluation
    if shipped.model_type == "bigram" and corpus.line_framed:
        # makemore part 1's count matrix, to set beside what the neural bigram learned
        info["bigram_counts"] = bigram_counts([w for w in corpus.text.split("\n") if w])[1].tolist()
    sample = "".join(generate(shipped, args.prompt, 300, temperature=0.8, seed=0))
    card = model_card(shipped, evaluation, info, args.title, args.command, args.prompt, sample)
    checkpoint.save(shipped, args.out, history=model.history, info=info, weights_dtype=DTYPES[args.dtype], card=card)
    shutil.rmtree(tmp_out, ignore_errors=True)
    print(f"{args.out}: val {evaluation['val_loss']:.4f}, train {evaluation['train_loss']:.4f}, "
          f"{os.path.getsize(os.path.join(args.out, checkpoint.WEIGHTS)) / 1e6:.2f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
