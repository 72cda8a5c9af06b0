"""Faults a tester found, each with the test that it stays fixed: checkpoints killed mid-save or
on a full disk, hostile configs, settings, the training line, uploads, downloads, Hub errors."""
import json
import math
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

import gpt
from gpt import checkpoint
from studio.errors import InputError, without_paths, without_secret

REPO = Path(__file__).resolve().parents[1]
SHIPPED = REPO / "checkpoints" / "shakespeare-gpt"


def small(**overrides):
    torch.manual_seed(0)
    model = gpt.build_model("gpt", **{**dict(vocab_size=65, block_size=16, n_layer=2, n_head=2, n_embd=16,
                                               dropout=0.0), **overrides})
    model.tokenizer = gpt.Corpus.load("shakespeare").dataset(16).tokenizer
    return model


def with_config(tmp_path, **changes) -> Path:
    folder = tmp_path / "edited"
    shutil.copytree(SHIPPED, folder, dirs_exist_ok=True)
    config = json.loads((folder / "config.json").read_text())
    config["model"].update(changes)
    (folder / "config.json").write_text(json.dumps(config))
    return folder


# --- configs are measured before anything is built ------------------------------------------

def test_a_config_claiming_100000_layers_is_refused_from_the_file_header_at_once(tmp_path):
    folder = with_config(tmp_path, n_layer=100_000)
    start = time.perf_counter()
    with pytest.raises(gpt.CheckpointError, match="n_layer=100000, but model.safetensors holds 6 layers"):
        gpt.load(folder)
    assert time.perf_counter() - start < 5          # was over 120 s and 3.6 GB


@pytest.mark.parametrize("change, message", [
    (dict(n_head=0), "n_head must be a whole number of at least 1, not 0"),
    (dict(n_embd=-192), "n_embd must be a whole number of at least 1"),
    (dict(block_size=2.5), "block_size must be a whole number"),
    (dict(dropout=7), "dropout must be in"),
])
def test_sizes_that_are_not_positive_whole_numbers_are_named(tmp_path, change, message):
    with pytest.raises(gpt.CheckpointError, match=message):
        gpt.load(with_config(tmp_path, **change))


def test_the_clis_refuse_a_zero_head_config_without_a_traceback(tmp_path):
    folder = with_config(tmp_path, n_head=0)
    for command in (["gpt.sample", "--checkpoint", str(folder), "--max-new-tokens", "5"],
                    ["gpt.eval", "--checkpoint", str(folder), "--splits", "val"]):
        result = subprocess.run([sys.executable, "-m", *command], capture_output=True, text=True, cwd=REPO,
                                timeout=120)
        assert result.returncode == 2 and "n_head must be" in result.stderr
        assert "Traceback" not in result.stderr


def test_gpt_eval_refuses_a_numeric_corpus_and_nan_weights_in_words(tmp_path):
    numeric = tmp_path / "numeric"
    shutil.copytree(SHIPPED, numeric)
    config = json.loads((numeric / "config.json").read_text())
    config["run"]["corpus"] = 5
    (numeric / "config.json").write_text(json.dumps(config))
    nan = tmp_path / "nan"
    model = small()
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(float("nan"))
    gpt.save(model, nan)
    for folder, message in ((numeric, "corpus must be str"), (nan, "NaN or infinite values")):
        result = subprocess.run([sys.executable, "-m", "gpt.eval", "--checkpoint", str(folder), "--splits", "val"],
                                capture_output=True, text=True, cwd=REPO, timeout=120)
        assert result.returncode == 2 and message in result.stderr, result.stderr
        assert "Traceback" not in result.stderr and "loss nan" not in result.stdout


def test_the_zoo_remembers_a_model_that_failed_to_load(tmp_path, monkeypatch):
    from studio import zoo as zoo_module

    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "config.json").write_text("{oops")
    zoo = zoo_module.ModelZoo(tmp_path)
    tries = []
    real = checkpoint.load
    monkeypatch.setattr(checkpoint, "load", lambda *a, **k: tries.append(1) or real(*a, **k))
    for _ in range(5):
        with pytest.raises(InputError, match="could not be loaded"):
            zoo.get("broken")
    assert len(tries) == 1                         # one attempt, then the same answer for a minute
    monkeypatch.setattr(zoo_module, "RETRY_AFTER", 0.0)
    with pytest.raises(InputError):
        zoo.get("broken")
    assert len(tries) == 2


# --- checkpoints ------------------------------------------------------------------------------

def test_best_is_written_before_last(tmp_path, monkeypatch):
    """A kill between the two saves then leaves a last whose state never claims a best that
    was not written."""
    from gpt.train import build_trainer, parse_args

    trainer = build_trainer(parse_args(["--out", str(tmp_path), "--n-layer", "1", "--n-embd", "16", "--n-head", "2",
                                        "--block-size", "16"]), torch.device("cpu"))
    trainer.model.history.append({"step": 5, "train_loss": 2.0, "val_loss": 2.5, "lr": 0, "tokens": 0, "elapsed": 0})
    written = []
    real = checkpoint.save
    monkeypatch.setattr(checkpoint, "save", lambda model, out, **k: written.append(Path(out).name) or
                        real(model, out, **k))
    assert trainer.save(tmp_path)
    assert written == ["best", "last"]


def test_resume_repairs_a_best_left_stale_by_a_kill_between_last_and_best(tmp_path):
    """The old order (last, then best) killed at the final evaluation: last holds the lowest
    loss, best an older step. Resuming brings best up to last."""
    from gpt.train import build_trainer, parse_args

    flags = ["--out", str(tmp_path), "--n-layer", "1", "--n-embd", "16", "--n-head", "2", "--block-size", "16"]
    trainer = build_trainer(parse_args(flags), torch.device("cpu"))
    record = {"train_loss": 3.0, "lr": 0, "tokens": 0, "elapsed": 0}
    trainer.model.history.append({"step": 50, "val_loss": 3.0671, **record})
    trainer.save(tmp_path)
    trainer.model.history.append({"step": 60, "val_loss": 2.9155, **record})
    trainer.best_val = 2.9155
    checkpoint.save(trainer.model, tmp_path / "last", training_state=trainer.training_state())   # killed here
    assert checkpoint.best_val_loss(tmp_path / "best") == 3.0671
    build_trainer(parse_args(flags + ["--resume"]), torch.device("cpu"))
    assert checkpoint.best_val_loss(tmp_path / "best") == 2.9155


def test_a_full_disk_during_the_weights_is_an_oserror_and_leaves_the_old_save(tmp_path, monkeypatch):
    from safetensors import SafetensorError

    model = small()
    gpt.save(model, tmp_path / "last")
    before = (tmp_path / "last" / "model.safetensors").read_bytes()

    def full_disk(*args, **kwargs):
        raise SafetensorError("Error while serializing: IoError(Os { code: 28, kind: StorageFull })")

    monkeypatch.setattr(checkpoint, "save_model", full_disk)
    with pytest.raises(OSError, match="could not write the weights to .*StorageFull"):
        gpt.save(model, tmp_path / "last")
    assert (tmp_path / "last" / "model.safetensors").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last"]     # no temporary folder left


def test_the_cli_reports_a_full_disk_in_one_line(tmp_path):
    """gpt.train whose weights write fails as safetensors reports a full disk (made to fail in
    a child process: filling a real disk here is neither portable nor kind to the machine)."""
    script = (
        "import sys, safetensors.torch as st\n"
        "from safetensors import SafetensorError\n"
        "import gpt.checkpoint as c\n"
        "def full(*a, **k): raise SafetensorError('IoError(Os { code: 28, kind: StorageFull })')\n"
        "c.save_model = full\n"
        "from gpt.train import main\n"
        f"sys.exit(main(['--out', {str(tmp_path)!r}, '--n-layer', '1', '--n-embd', '16', '--n-head', '2',"
        " '--block-size', '16', '--steps', '10', '--eval-interval', '10', '--eval-batches', '1']))\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert result.returncode != 0 and "StorageFull" in result.stderr
    assert "Traceback" not in result.stderr


def test_load_finds_the_previous_save_when_killed_between_the_renames(tmp_path):
    model = small()
    gpt.save(model, tmp_path / "last")
    (tmp_path / "last").rename(tmp_path / ".last.old")
    loaded = gpt.load(tmp_path / "last")
    assert torch.equal(loaded.token_embedding.weight, model.token_embedding.weight)
    result = subprocess.run([sys.executable, "-m", "gpt.sample", "--checkpoint", str(tmp_path / "last"),
                             "--max-new-tokens", "5", "--prompt", "A"], capture_output=True, text=True, cwd=REPO,
                            timeout=120)
    assert result.returncode == 0, result.stderr


# --- settings ---------------------------------------------------------------------------------

@pytest.mark.parametrize("variable, value, message", [
    ("GPT_APP_MAX_MINUTES", "nan", "expected a finite number"),
    ("GPT_APP_MAX_MINUTES", "inf", "expected a finite number"),
    ("GPT_APP_SESSION_TTL", "nan", "expected a finite number"),
    ("GPT_APP_DEVICE", "tpu", "choose auto, cpu, cuda, cuda:N or mps"),
    ("GPT_APP_THREADS", "0", "must be between 1 and"),
    ("GPT_APP_TRAINING_SLOTS", "two", "expected a whole number"),
])
def test_every_setting_is_checked_at_start_up(monkeypatch, variable, value, message):
    from studio.settings import Settings

    monkeypatch.setenv(variable, value)
    with pytest.raises(SystemExit, match=message):
        Settings.from_env()


@pytest.mark.parametrize("models, message", [
    ("/nonexistent", "no checkpoint folder at '/nonexistent', and it is not a Hub repo id"),
    ("/etc/passwd", "is a file; a checkpoint is a folder"),
    ("{tmp}", "holds no config.json"),
    ("checkpoints/names-mlp, not a repo", "not a Hub repo id"),
])
def test_a_model_that_cannot_be_found_stops_start_up_in_one_line(monkeypatch, tmp_path, models, message):
    """GPT_APP_MODELS=/nonexistent used to start, and listed a model that failed when picked."""
    from studio.resources import Resources
    from studio.settings import Settings

    monkeypatch.setenv("GPT_APP_MODELS", models.format(tmp=tmp_path))
    monkeypatch.setenv("GPT_APP_DATA", str(tmp_path / "data"))
    with pytest.raises(SystemExit, match="GPT_APP_MODELS=.*" + message):
        Resources.from_settings(REPO / "checkpoints", Settings.from_env())


def test_a_hub_repo_id_among_the_models_is_listed_without_downloading(monkeypatch, tmp_path):
    from studio.resources import Resources
    from studio.settings import Settings

    monkeypatch.setenv("GPT_APP_MODELS", "checkpoints/names-mlp, someone/their-gpt")
    monkeypatch.setenv("GPT_APP_DATA", str(tmp_path / "data"))
    names = Resources.from_settings(REPO / "checkpoints", Settings.from_env()).zoo.names()
    assert "their-gpt" in names and names.count("names-mlp") == 1


@pytest.mark.parametrize("megabytes", ["0.5", "1.5", "2"])
def test_fractional_upload_limits_start_and_count_bytes_as_gradio_does(monkeypatch, megabytes):
    from studio.settings import Settings

    monkeypatch.setenv("GPT_APP_MAX_UPLOAD_MB", megabytes)
    assert Settings.from_env().max_upload_bytes == int(float(megabytes) * 2**20)


def test_the_upload_limit_message_tells_the_sizes_apart(tmp_path):
    from gpt.data import read_text_file

    big = tmp_path / "big.txt"
    big.write_text("a" * (2**20 + 10))
    with pytest.raises(ValueError) as err:
        read_text_file(big, max_bytes=2**20)
    assert "1,048,586 bytes" in str(err.value) and "1,048,576 bytes" in str(err.value)


def test_a_training_line_is_bounded_and_says_so():
    from studio.slots import TrainingSlots

    slots = TrainingSlots(1, line=2)
    running = slots.join(60)
    assert slots.try_start(running)
    waiting = [slots.join(60), slots.join(60)]
    with pytest.raises(InputError, match="full: 1 running and 2 waiting, at most 2 may wait"):
        slots.join(60)
    slots.leave(waiting[0])
    slots.join(60)                                  # a place came free
    slots.leave(running)


def test_an_upload_is_read_and_kept_for_whoever_else_holds_it(tmp_path):
    from studio import training

    upload = tmp_path / "shared.txt"
    upload.write_text("Shall I compare thee to a summer's day?\n" * 100)
    for _ in range(2):                              # two students, one Gradio file
        assert training.load_corpus_choice("upload a .txt", str(upload)).name == "shared"
    assert upload.exists()


def test_downloads_do_not_pile_up(tmp_path):
    import os

    from studio import training

    model = small()
    first = training.export_zip(model, exports=tmp_path)
    old = time.time() - 2 * training.EXPORT_MAX_AGE
    os.utime(first.parent, (old, old))
    second = training.export_zip(model, exports=tmp_path)
    assert second.is_file() and not first.exists()
    assert len(list(tmp_path.iterdir())) == 1


# --- messages for people ---------------------------------------------------------------------

def test_paths_are_shortened_but_addresses_are_left_whole():
    message = "POST http://127.0.0.1:7908/api/repos/create failed; see /srv/app/logs/hub.log"
    assert without_paths(message) == "POST http://127.0.0.1:7908/api/repos/create failed; see hub.log"


def test_a_token_is_masked_also_where_the_hub_echoes_part_of_it():
    token = "hf_AbCdEfGhIjKlMnOpQrStUvWxYz012345"
    message = f"401: invalid token ...{token[-12:]} (request id req-1); header Bearer {token}; other hf_zzzzzz99"
    masked = without_secret(message, token)
    for piece in (token, token[-12:], token[-6:], "hf_zzzzzz99"):
        assert piece not in masked
    assert "request id req-1" in masked


def test_a_hub_push_that_fails_never_shows_the_token(monkeypatch):
    from studio import hub

    token = "hf_SecretSecretSecret123456"

    def refuse(*args, **kwargs):
        raise RuntimeError(f"403 Forbidden for token ending {token[-12:]}")

    monkeypatch.setattr(checkpoint, "push_to_hub", refuse)
    with pytest.raises(InputError) as err:
        hub.push_session_model(small(), "student", "my-model", True, token)
    assert token[-12:] not in str(err.value) and token[-6:] not in str(err.value)


def test_a_repo_that_hangs_is_downloaded_once_not_once_per_request(monkeypatch):
    import threading

    import huggingface_hub

    calls, release = [], threading.Event()
    monkeypatch.setattr(huggingface_hub, "snapshot_download",
                        lambda *a, **k: calls.append(1) or release.wait(30))
    try:
        for _ in range(3):
            with pytest.raises(gpt.CheckpointError, match="did not deliver"):
                gpt.load("someone/hanging", timeout=0.2)
        assert len(calls) == 1
    finally:
        release.set()


def test_nothing_is_infinite_in_the_default_settings():
    from studio.settings import SETTINGS

    assert all(math.isfinite(v) for v in (SETTINGS.max_minutes, SETTINGS.session_ttl, SETTINGS.max_upload_mb))
