import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def cli(*args, timeout=300):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", *args], env=env, capture_output=True, text=True,
                          timeout=timeout, cwd=REPO)


def clis(*commands, timeout=300) -> list[subprocess.CompletedProcess]:
    """Several CLI runs side by side: most of each is importing torch, which two cores do at once."""
    with ThreadPoolExecutor(len(commands)) as pool:
        return list(pool.map(lambda command: cli(*command, timeout=timeout), commands))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    result = cli("gpt.train", "--corpus", "shakespeare", "--model", "gpt", "--n-layer", "1", "--n-head", "2",
                 "--n-embd", "16", "--block-size", "16", "--steps", "40", "--eval-interval", "20",
                 "--eval-batches", "2", "--sample-chars", "30", "--threads", "1", "--out", str(out))
    assert result.returncode == 0, result.stderr
    return out, result.stdout


def test_train_writes_last_and_best_and_reports(trained):
    out, stdout = trained
    assert "parameters" in stdout and "step     40 | train" in stdout
    assert (out / "last" / "training_state.safetensors").is_file()
    assert (out / "best" / "model.safetensors").is_file()


def test_train_resumes_and_extends(trained):
    out, _ = trained
    result = cli("gpt.train", "--corpus", "shakespeare", "--out", str(out), "--resume", "--steps", "60",
                 "--eval-interval", "20", "--eval-batches", "2", "--sample-chars", "0", "--threads", "1")
    assert result.returncode == 0, result.stderr
    assert "resuming" in result.stdout and "at step 40" in result.stdout
    assert "step     60 |" in result.stdout and "step     20 |" not in result.stdout


def test_sample_streams_text(trained):
    out, _ = trained
    command = ("gpt.sample", "--checkpoint", str(out / "best"), "--prompt", "ROMEO:", "--max-new-tokens", "50",
               "--seed", "1")
    result, again = clis(command, command)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ROMEO:") and len(result.stdout) == len("ROMEO:") + 50 + 1
    assert again.stdout == result.stdout


def test_sample_reports_bad_input_without_a_traceback(trained, tmp_path):
    out, _ = trained
    unknown, missing, negative = clis(("gpt.sample", "--checkpoint", str(out / "best"), "--prompt", "Roméo 🙂"),
                                      ("gpt.sample", "--checkpoint", str(tmp_path / "missing")),
                                      ("gpt.sample", "--checkpoint", str(out / "best"), "--temperature", "-1"))
    assert unknown.returncode == 2 and "'é', '🙂'" in unknown.stderr and "Traceback" not in unknown.stderr
    assert "--unknown drop" in unknown.stderr and "unknown='drop'" not in unknown.stderr   # the CLI's own words
    assert missing.returncode == 2 and "no checkpoint folder" in missing.stderr
    assert negative.returncode == 2 and "temperature" in negative.stderr and "Traceback" not in negative.stderr
    # refused before a word is written: the prompt and the error no longer share a line
    assert unknown.stdout == "" and negative.stdout == ""


def test_eval_prints_whole_split_losses(trained):
    out, _ = trained
    result = cli("gpt.eval", "--checkpoint", str(out / "best"), "--threads", "1")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("train loss") and "1,003,854 characters" in lines[0]
    assert lines[1].startswith("val   loss") and "111,540 characters" in lines[1]


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="a CUDA GPU is present")
def test_asking_for_a_missing_gpu_is_a_clear_error():
    result = cli("gpt.sample", "--checkpoint", "checkpoints/shakespeare-bigram", "--device", "cuda")
    assert result.returncode == 2 and "no CUDA GPU" in result.stderr and "Traceback" not in result.stderr


def test_devices_are_picked_or_refused_clearly():
    import torch

    from gpt.hardware import pick_device

    assert pick_device("cpu") == torch.device("cpu")
    assert pick_device("auto").type in ("cuda", "mps", "cpu")
    with pytest.raises(ValueError, match="unknown device"):
        pick_device("tpu")


def test_train_takes_the_optimizer_and_scales_a_short_runs_warm_up(tmp_path):
    """Muon could be chosen in Train live but not here; a 60-step run spent all of it in the
    default 100-step warm-up."""
    import json

    from gpt.train import parse_args, train_config

    short = train_config(parse_args(["--out", "x", "--steps", "60"]))
    assert short.warmup_steps == 6 and short.optimizer == "adamw"
    assert train_config(parse_args(["--out", "x"])).warmup_steps == 100
    assert train_config(parse_args(["--out", "x", "--steps", "60", "--warmup", "30"])).warmup_steps == 30
    result = cli("gpt.train", "--corpus", "shakespeare", "--model", "gpt", "--n-layer", "1", "--n-head", "2",
                 "--n-embd", "16", "--block-size", "16", "--steps", "10", "--eval-interval", "10",
                 "--eval-batches", "1", "--threads", "1", "--optimizer", "muon", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert '"optimizer": "muon"' in json.dumps(json.loads((tmp_path / "best" / "config.json").read_text()))
    assert cli("gpt.train", "--out", str(tmp_path), "--optimizer", "sgd").returncode == 2
