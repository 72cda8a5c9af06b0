"""The shipped checkpoints are what their model cards say they are."""
from pathlib import Path

import pytest
import torch

import gpt
from gpt.publish import SLICE_BATCH_SIZE, SLICE_BATCHES

CHECKPOINTS = Path(__file__).resolve().parents[1] / "checkpoints"
TIMELINE = CHECKPOINTS / "shakespeare-timeline"
SHIPPED = sorted(p.parent.relative_to(CHECKPOINTS).as_posix()
                 for p in [*CHECKPOINTS.glob("*/config.json"), *CHECKPOINTS.glob("*/*/config.json")]
                 if p.parent.parent != TIMELINE)       # its snapshots have a test of their own


def test_the_lectures_models_are_shipped():
    assert {"shakespeare-gpt", "shakespeare-bigram", "shakespeare-mlp", "names-bigram", "names-mlp",
            "names-mlp-2d"} <= set(SHIPPED)
    assert len([name for name in SHIPPED if name.startswith("ladder/")]) == 8


@pytest.mark.parametrize("name", SHIPPED)
def test_val_loss_matches_the_model_card(name):
    folder = CHECKPOINTS / name
    model = gpt.load(folder)
    card = (folder / "README.md").read_text()
    measured = model.run.evaluation
    assert f"**{measured.val_loss:.4f}**" in card
    corpus = gpt.Corpus.load(model.run.corpus, line_framed=model.run.line_framed)
    loss = gpt.split_loss(model, model.dataset_for(corpus), "val", SLICE_BATCH_SIZE, SLICE_BATCHES)
    assert loss == pytest.approx(measured.val_slice_loss, abs=0.01)
    size = sum(f.stat().st_size for f in folder.iterdir())
    assert size < 10e6, f"{name} is {size / 1e6:.1f} MB; a Space needs no large-file storage under 10 MB"
    assert model.history and {"step", "train_loss", "val_loss", "tokens", "elapsed"} <= set(model.history[-1])


def test_the_gpt_beats_the_bigram_and_the_mlp_by_far():
    losses = {name: gpt.load(CHECKPOINTS / name).run.evaluation.val_loss
              for name in ("shakespeare-gpt", "shakespeare-mlp", "shakespeare-bigram")}
    assert losses["shakespeare-gpt"] < losses["shakespeare-mlp"] < losses["shakespeare-bigram"]
    assert 2.4 < losses["shakespeare-bigram"] < 2.55
    assert losses["shakespeare-gpt"] <= 1.47, "the shipped GPT must beat nanoGPT's 1.47"


def test_the_ladder_fits_in_10_mb_and_its_top_is_far_below_its_bottom():
    from gpt.ladder import RUNGS

    folders = sorted((CHECKPOINTS / "ladder").iterdir())
    assert sum(f.stat().st_size for folder in folders for f in folder.iterdir()) < 10e6
    runs = [gpt.load(folder).run for folder in folders]
    losses = {run.ladder_rung: run.evaluation.val_loss for run in runs}
    assert sorted(losses) == [r.number for r in RUNGS]
    assert losses[8] < losses[1] - 0.5
    order = sorted(losses, key=losses.get, reverse=True)
    print("rungs from highest to lowest val loss:", order, {k: round(v, 3) for k, v in losses.items()})


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU here")
def test_greedy_text_on_cuda_equals_the_cpus():
    prompt = "ROMEO:\n"
    cpu = "".join(gpt.generate(gpt.load(CHECKPOINTS / "shakespeare-gpt"), prompt, 200, temperature=0))
    cuda = "".join(gpt.generate(gpt.load(CHECKPOINTS / "shakespeare-gpt", device="cuda"), prompt, 200,
                                temperature=0))
    same = next((i for i, (a, b) in enumerate(zip(cpu, cuda)) if a != b), len(cpu))
    print(f"greedy CPU and CUDA agree on the first {same} of 200 characters")
    assert cuda == cpu


def test_the_shipped_timeline_runs_from_init_to_the_end_in_10_mb():
    from gpt.timeline import Timeline

    timeline = Timeline.load(TIMELINE)
    steps = timeline.steps
    assert len(steps) >= 12 and steps[0] == 0
    size = sum(f.stat().st_size for f in TIMELINE.rglob("*") if f.is_file())
    assert size < 10e6, f"the timeline is {size / 1e6:.2f} MB"
    corpus = gpt.Corpus.load("shakespeare")
    first = gpt.load(TIMELINE / f"step-{steps[0]:06d}")
    trainer = gpt.Trainer(first, first.dataset_for(corpus), first.run.train_config)   # the run's own eval batches
    recorded = []
    for step in steps:
        model = gpt.load(TIMELINE / f"step-{step:06d}")
        assert model.run.step == step and model.run.weights_dtype == "bf16"
        val = next(h["val_loss"] for h in model.history if h["step"] == step)
        assert trainer.evaluate(model)["val"] == pytest.approx(val, abs=0.01)     # bf16 weights: within 0.01
        recorded.append(val)
    assert recorded[0] > 4.0 and recorded[-1] < 1.75
    assert all(b < a + 0.02 for a, b in zip(recorded, recorded[1:])), f"val should fall along the timeline: {recorded}"
    last = gpt.load(TIMELINE / f"step-{steps[-1]:06d}")
    probe = timeline.probe
    sample = "".join(gpt.generate(last, probe.prompt, probe.sample_chars, temperature=probe.temperature,
                                  seed=probe.seed))
    assert sample == timeline.frame(steps[-1]).sample
