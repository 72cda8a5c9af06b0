"""Turn a trained model into a shipped checkpoint: small weights, losses measured on the
weights that ship, a sample, and a model card for the Hugging Face Hub.

    python -m gpt.publish --run runs/shakespeare-gpt/best --out checkpoints/shakespeare-gpt \\
        --dtype bf16 --title "Tiny Shakespeare GPT" --command "python -m gpt.train ..."

The losses are measured *after* the conversion, over the whole train and val splits and
over a fixed slice of val that the tests re-check quickly. `publish()` is the one path
every shipped checkpoint takes (this CLI and the ladder's).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

import torch

from . import checkpoint, hardware, lab
from .data import NAMED_CORPORA, Corpus, CorpusUnavailableError
from .generation import generate
from .language_model import LanguageModel
from .metrics import split_loss
from .records import Evaluation

DTYPES = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}
SLICE_BATCHES, SLICE_BATCH_SIZE = 4, 16
"""The fixed val slice re-checked by the tests: the first 4 batches of 16 examples."""


def measure(model: LanguageModel, corpus: Corpus) -> Evaluation:
    dataset = model.dataset_for(corpus)
    return Evaluation(
        train_loss=round(split_loss(model, dataset, "train"), 4),
        val_loss=round(split_loss(model, dataset, "val"), 4),
        val_slice_loss=round(split_loss(model, dataset, "val", SLICE_BATCH_SIZE, SLICE_BATCHES), 4),
        val_slice=f"first {SLICE_BATCHES * SLICE_BATCH_SIZE} examples of the val split",
    )


def publish(model: LanguageModel, out: str | Path, *, title: str, command: str, dtype: str = "fp32",
            prompt: str = "", sample_chars: int = 300, ladder_rung: int | None = None) -> LanguageModel:
    """Save `model` as it will ship, measure those weights, and write them with their card.

    Returns the shipped model (loaded back from disk, so what was measured is what ships)."""
    out = Path(out)
    model.run.title, model.run.ladder_rung = title, ladder_rung
    corpus = Corpus.load(model.run.corpus or "shakespeare", line_framed=model.run.line_framed)
    unmeasured = out.with_name(out.name + ".unmeasured")
    try:
        checkpoint.save(model, unmeasured, weights_dtype=DTYPES[dtype])
        shipped = checkpoint.load(unmeasured)
    finally:
        shutil.rmtree(unmeasured, ignore_errors=True)
    shipped.run.evaluation = measure(shipped, corpus)
    shipped.run.sample = "".join(generate(shipped, prompt, sample_chars, temperature=0.8, seed=0))
    card = model_card(shipped, command, prompt)
    checkpoint.save(shipped, out, weights_dtype=DTYPES[dtype], card=card)
    if shipped.has_heads:          # the Lab's knockout grid and induction scores, measured once
        measured = lab.precompute(shipped, shipped.dataset_for(corpus).split_text("val"))
        (out / lab.LAB_FILE).write_text(json.dumps(measured) + "\n", encoding="utf-8")
    return shipped


def model_card(model: LanguageModel, command: str, sample_prompt: str) -> str:
    run, evaluation = model.run, model.run.evaluation
    spec = NAMED_CORPORA.get(run.corpus or "")
    corpus_title = spec.title if spec else run.corpus
    arch = ", ".join(f"{k}={v}" for k, v in vars(model.config).items())
    train_config = vars(run.train_config) if run.train_config else {}
    lines = [
        "---",
        "license: mit",
        "library_name: pytorch",
        "pipeline_tag: text-generation",
        "tags: [character-level, gpt, tinyshakespeare-gpt, makemore, nanogpt]",
        "model-index:",
        f"- name: {run.title}",
        "  results:",
        "  - task: {type: text-generation}",
        f"    dataset: {{name: {corpus_title}, type: {run.corpus}}}",
        "    metrics:",
        f"    - {{type: loss, name: val loss (nats/char, whole split), value: {evaluation.val_loss}}}",
        "---",
        "",
        f"# {run.title}",
        "",
        f"A character-level **{model.model_type}** from tinyshakespeare-gpt, trained with the project's own trainer.",
        "",
        "| | |",
        "|---|---|",
        f"| data | {corpus_title}" + (f" ([source]({spec.url}))" if spec else "") + " |",
        "| split | " + ("names shuffled with seed 42 (makemore), first 90% train, last 10% val, each name framed "
                        "as makemore does" if run.line_framed else "first 90% of characters train, last 10% val "
                        "(nanoGPT's split)") + " |",
        f"| vocabulary | {model.tokenizer.vocab_size} characters |",
        f"| architecture | {arch} |",
        f"| parameters | {model.num_params():,} |",
        f"| weights on disk | {run.weights_dtype} safetensors, loaded back to fp32 |",
        f"| steps | {run.step:,} (batch {train_config.get('batch_size', '?')}) |",
        f"| tokens seen | {run.tokens_seen:,} |",
        f"| wall time | {run.elapsed / 60:.1f} min |",
        f"| hardware | {hardware.describe()} |",
        f"| train loss (whole split) | **{evaluation.train_loss:.4f}** |",
        f"| val loss (whole split) | **{evaluation.val_loss:.4f}** |",
        f"| val loss ({evaluation.val_slice}) | {evaluation.val_slice_loss:.4f} |",
        f"| reference: counting bigram, val | {run.bigram_val_loss:.4f} |",
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
        sample_prompt + (run.sample or ""),
        "```",
        "",
        f"## Loss history ({len(model.history)} evaluations on fixed batches)",
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
    try:
        shipped = publish(checkpoint.load(args.run), args.out, title=args.title, command=args.command,
                          dtype=args.dtype, prompt=args.prompt)
    except (checkpoint.CheckpointError, CorpusUnavailableError, FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    evaluation = shipped.run.evaluation
    print(f"{args.out}: val {evaluation.val_loss:.4f}, train {evaluation.train_loss:.4f}, "
          f"{os.path.getsize(os.path.join(args.out, checkpoint.WEIGHTS)) / 1e6:.2f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
