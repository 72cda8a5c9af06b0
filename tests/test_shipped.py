"""The shipped checkpoints are what their model cards say they are."""
from pathlib import Path

import pytest

import gpt
from gpt.models import dataset_for
from gpt.publish import SLICE_BATCH_SIZE, SLICE_BATCHES

CHECKPOINTS = Path(__file__).resolve().parents[1] / "checkpoints"
SHIPPED = sorted(p.name for p in CHECKPOINTS.iterdir() if (p / "config.json").is_file())


def test_the_lectures_models_are_shipped():
    assert {"shakespeare-gpt", "shakespeare-bigram", "shakespeare-mlp", "names-mlp"} <= set(SHIPPED)


@pytest.mark.parametrize("name", SHIPPED)
def test_val_loss_matches_the_model_card(name):
    folder = CHECKPOINTS / name
    model = gpt.load(folder)
    card = (folder / "README.md").read_text()
    measured = model.info["eval"]
    assert f"**{measured['val_loss']:.4f}**" in card
    corpus = gpt.Corpus.load(model.info["corpus"], line_framed=model.info["line_framed"])
    loss = gpt.split_loss(model, dataset_for(model, corpus), "val", SLICE_BATCH_SIZE, SLICE_BATCHES)
    assert loss == pytest.approx(measured["val_slice_loss"], abs=0.01)
    size = sum(f.stat().st_size for f in folder.iterdir())
    assert size < 10e6, f"{name} is {size / 1e6:.1f} MB; a Space needs no large-file storage under 10 MB"
    assert model.history and {"step", "train_loss", "val_loss", "tokens", "elapsed"} <= set(model.history[-1])


def test_the_gpt_beats_the_bigram_and_the_mlp_by_far():
    losses = {name: gpt.load(CHECKPOINTS / name).info["eval"]["val_loss"]
              for name in ("shakespeare-gpt", "shakespeare-mlp", "shakespeare-bigram")}
    assert losses["shakespeare-gpt"] < losses["shakespeare-mlp"] < losses["shakespeare-bigram"]
    assert 2.4 < losses["shakespeare-bigram"] < 2.55
