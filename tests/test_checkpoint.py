import json

import pytest
import torch

import gpt


def make(model_type):
    torch.manual_seed(0)
    tok = gpt.CharTokenizer("abcdefgh \n")
    arch = {"bigram": {}, "mlp": {"block_size": 3}, "gpt": dict(block_size=8, n_layer=1, n_head=2, n_embd=16)}
    model = gpt.build_model(model_type, vocab_size=tok.vocab_size, **arch[model_type])
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    model.tokenizer = tok
    return model.eval()


@pytest.mark.parametrize("model_type", ["bigram", "mlp", "gpt"])
def test_round_trip_gives_identical_logits(tmp_path, model_type):
    model = make(model_type)
    history = [{"step": 10, "train_loss": 2.0, "val_loss": 2.1, "lr": 1e-3, "tokens": 100, "elapsed": 1.0}]
    model.history = history
    model.run.corpus, model.run.step = "test", 10
    gpt.save(model, tmp_path / "ck")
    assert sorted(p.name for p in (tmp_path / "ck").iterdir()) == ["config.json", "history.json", "model.safetensors"]
    loaded = gpt.load(tmp_path / "ck")
    x = torch.randint(10, (2, 8))
    assert torch.equal(loaded(x)[0], model(x)[0])
    assert loaded.tokenizer.chars == model.tokenizer.chars
    assert loaded.history == history and loaded.run == model.run
    assert not loaded.training


def test_no_pickle_anywhere(tmp_path):
    gpt.save(make("gpt"), tmp_path / "ck")
    raw = (tmp_path / "ck" / "model.safetensors").read_bytes()
    header_len = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + header_len])   # safetensors: a JSON header, then raw tensors
    stored = {"head.weight", "token_embedding.weight"} & set(header)
    assert len(stored) == 1, "the tied head and token embedding are stored once"


def test_bf16_weights_load_back_to_fp32(tmp_path):
    model = make("gpt")
    gpt.save(model, tmp_path / "half", weights_dtype=torch.bfloat16)
    gpt.save(model, tmp_path / "full")
    half_size = (tmp_path / "half" / "model.safetensors").stat().st_size
    assert half_size < 0.6 * (tmp_path / "full" / "model.safetensors").stat().st_size
    loaded = gpt.load(tmp_path / "half")
    assert loaded.token_embedding.weight.dtype == torch.float32
    x = torch.randint(10, (1, 8))
    torch.testing.assert_close(loaded(x)[0], model(x)[0], atol=0.05, rtol=0.05)
    assert model.token_embedding.weight.dtype == torch.float32


def test_save_replaces_an_existing_checkpoint(tmp_path):
    gpt.save(make("mlp"), tmp_path / "ck")
    gpt.save(make("gpt"), tmp_path / "ck")
    assert gpt.load(tmp_path / "ck").model_type == "gpt"
    assert [p.name for p in tmp_path.iterdir()] == ["ck"], "no temporary folders left behind"


def test_corrupt_and_mismatched_checkpoints_get_clear_errors(tmp_path):
    ck = tmp_path / "ck"
    gpt.save(make("gpt"), ck)
    weights = (ck / "model.safetensors").read_bytes()

    (ck / "model.safetensors").write_bytes(weights[:100])
    with pytest.raises(gpt.CheckpointError, match="corrupt"):
        gpt.load(ck)

    (ck / "model.safetensors").write_bytes(weights)
    config = json.loads((ck / "config.json").read_text())
    config["model"]["n_embd"] = 32
    (ck / "config.json").write_text(json.dumps(config))
    with pytest.raises(gpt.CheckpointError, match="does not match"):
        gpt.load(ck)

    (ck / "config.json").write_text("{not json")
    with pytest.raises(gpt.CheckpointError, match="corrupt"):
        gpt.load(ck)

    (ck / "config.json").unlink()
    with pytest.raises(gpt.CheckpointError, match="not a checkpoint folder"):
        gpt.load(ck)


def test_missing_paths_and_offline_hub(tmp_path):
    with pytest.raises(gpt.CheckpointError, match="not a Hub repo id"):
        gpt.load(tmp_path / "nothing" / "here")
    with pytest.raises(gpt.CheckpointError, match="offline|Hub"):
        gpt.load("someone/not-cached-model")


def test_hub_repo_id_loads_through_huggingface_hub(tmp_path, monkeypatch):
    """A repo id goes through snapshot_download; here it returns a folder we made."""
    gpt.save(make("mlp"), tmp_path / "snapshot")
    calls = []

    def fake_snapshot_download(repo_id, allow_patterns, etag_timeout):
        calls.append((repo_id, allow_patterns))
        assert 0 < etag_timeout <= 10                  # a Hub that never answers is not waited on for minutes
        return str(tmp_path / "snapshot")

    import huggingface_hub

    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake_snapshot_download)
    model = gpt.load("someone/names-mlp")
    assert model.model_type == "mlp" and calls[0][0] == "someone/names-mlp"
    assert "model.safetensors" in calls[0][1]


def test_format_1_checkpoints_still_load(tmp_path):
    """Format 1 kept a free-form `info` dict: its fields land in the typed run record."""
    model = make("gpt")
    gpt.save(model, tmp_path / "ck")
    config = json.loads((tmp_path / "ck" / "config.json").read_text())
    config["format_version"] = 1
    del config["run"]
    config["info"] = {"corpus": "shakespeare", "line_framed": False, "step": 6500, "tokens_seen": 100,
                      "elapsed": 12.5, "weights_dtype": "bf16", "train_config": {"batch_size": 16, "lr": 3e-3},
                      "eval": {"train_loss": 1.09, "val_loss": 1.44, "val_slice_loss": 1.32, "val_slice": "first 64",
                               "bigram_val_loss": 2.48}, "rung": {"number": 3, "name": "attention"}}
    (tmp_path / "ck" / "config.json").write_text(json.dumps(config))
    run = gpt.load(tmp_path / "ck").run
    assert (run.corpus, run.step, run.weights_dtype, run.bigram_val_loss, run.ladder_rung) == \
        ("shakespeare", 6500, "bf16", 2.48, 3)
    assert run.evaluation.val_loss == 1.44 and run.train_config.batch_size == 16 and run.train_config.max_steps == 5000


@pytest.mark.parametrize("config", ["5", "null", "[1, 2]", '"text"'])
def test_configs_that_are_not_objects_are_checkpoint_errors(tmp_path, config):
    gpt.save(make("mlp"), tmp_path / "ck")
    (tmp_path / "ck" / "config.json").write_text(config)
    with pytest.raises(gpt.CheckpointError, match="corrupt"):
        gpt.load(tmp_path / "ck")


@pytest.mark.parametrize("change, message", [
    (lambda c: c.update(format_version="2"), "format_version"),
    (lambda c: c["model"].update(n_embd=2**20, n_head=1), "does not match"),     # refused before allocating
    (lambda c: c["model"].update(n_embd=2**40, n_head=1), "describes no valid model"),
    (lambda c: c.update(model=[1]), "corrupt"),
    (lambda c: c.update(run=[1]), "describes no valid model"),
    (lambda c: c["run"].update(train_config="fast"), "describes no valid model"),
])
def test_odd_configs_are_checkpoint_errors(tmp_path, change, message):
    gpt.save(make("gpt"), tmp_path / "ck")
    config = json.loads((tmp_path / "ck" / "config.json").read_text())
    change(config)
    (tmp_path / "ck" / "config.json").write_text(json.dumps(config))
    with pytest.raises(gpt.CheckpointError, match=message):
        gpt.load(tmp_path / "ck")


def test_a_save_killed_between_its_renames_is_found(tmp_path):
    from gpt import checkpoint

    gpt.save(make("gpt"), tmp_path / "last")
    (tmp_path / "last").rename(tmp_path / ".last.old")        # as if killed after the first rename
    (tmp_path / ".last.abc123").mkdir()                       # a temporary folder of a killed save
    assert checkpoint.newest_complete(tmp_path / "last") == tmp_path / ".last.old"
    assert not (tmp_path / ".last.abc123").exists()
    assert checkpoint.newest_complete(tmp_path / "nothing") is None


def test_a_hub_that_never_answers_is_given_up_on(monkeypatch):
    import time

    import huggingface_hub

    monkeypatch.setattr(huggingface_hub, "snapshot_download", lambda *a, **k: time.sleep(30))
    start = time.perf_counter()
    with pytest.raises(gpt.CheckpointError, match="did not deliver 'someone/slow' within 0.3 s"):
        gpt.load("someone/slow", timeout=0.3)
    assert time.perf_counter() - start < 2
