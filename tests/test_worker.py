"""Live training in a worker process, and the line for training slots."""
import io
import os
import signal

import pytest
import torch

from gpt.snapshots import MemorySnapshots
from studio.errors import InputError
from studio.slots import STARTUP_SECONDS, TrainingSlots
from studio.training import TrainRequest, build_training
from studio.worker import RemoteTraining, read_message, write_message


def remote_run(max_steps=60, minutes=1.0):
    torch.manual_seed(0)
    trainer = build_training(TrainRequest(model_type="gpt", n_layer=1, n_head=2, n_embd=32, block_size=32,
                                          max_steps=max_steps, minutes=minutes))
    return trainer, RemoteTraining(trainer, MemorySnapshots(max_count=16))


def test_the_wire_carries_a_header_and_a_blob():
    stream = io.BytesIO()
    write_message(stream, {"kind": "snapshot", "step": 3}, b"\x00weights")
    write_message(stream, {"kind": "finished"})
    stream.seek(0)
    assert read_message(stream) == ({"kind": "snapshot", "step": 3}, b"\x00weights")
    assert read_message(stream) == ({"kind": "finished"}, b"")
    with pytest.raises(EOFError):
        read_message(stream)


def test_a_run_in_a_worker_leaves_this_process_with_the_trained_model():
    trainer, remote = remote_run()
    progress = list(remote.run())
    assert progress[-1].done and progress[-1].step == 60
    model = trainer.model
    assert model.run.step == 60 and model.history[0]["step"] == 0 and model.history[-1]["step"] == 60
    # the weights mirrored here are the worker's: they score exactly the loss it recorded
    assert trainer.evaluate(model)["val"] == pytest.approx(model.history[-1]["val_loss"], abs=1e-4)
    assert model.history[-1]["val_loss"] < model.history[0]["val_loss"] - 0.5
    assert remote.snapshots.steps[0] == 0 and remote.snapshots.steps[-1] == 60
    assert [r.step for r in remote.diagnostics.records][:2] == [1, 10]
    assert remote.process.returncode == 0


def test_stop_keeps_what_the_worker_trained_up_to_the_stop():
    trainer, remote = remote_run(max_steps=5000)
    run = remote.run()
    for p in run:
        if p.step >= 25 and p.val_loss is None:
            break
    run.close()                                   # what Gradio does on Stop
    model = trainer.model
    assert model.run.step >= 25, "the weights at the stop were sent back, not only those of the last evaluation"
    assert remote.process.returncode is not None
    assert remote.snapshots.steps[-1] == model.run.step


def test_a_killed_worker_ends_the_run_with_a_message_and_keeps_the_last_evaluation():
    trainer, remote = remote_run(max_steps=5000)
    run = remote.run()
    with pytest.raises(InputError, match="ended unexpectedly"):
        for p in run:
            if p.val_loss is not None and p.step >= 10:
                os.kill(remote.process.pid, signal.SIGKILL)
    assert trainer.model.run.step >= 10


def test_the_line_says_how_many_are_ahead_and_how_long(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr("studio.slots.time.monotonic", lambda: now[0])
    slots = TrainingSlots(1)
    a = slots.join(45)
    assert slots.try_start(a)
    b, c = slots.join(60), slots.join(30)
    assert not slots.try_start(c), "no jumping the line"
    assert not slots.try_start(b), "the slot is taken"
    assert slots.ahead_of(b) == (1, 45 + STARTUP_SECONDS)
    assert slots.ahead_of(c) == (2, 45 + 60 + 2 * STARTUP_SECONDS)
    assert "1 training ahead of you, about 50 s" in slots.message(b)
    now[0] += 20
    assert slots.ahead_of(b) == (1, 25 + STARTUP_SECONDS)
    slots.leave(a)
    assert slots.try_start(b) and not slots.try_start(c)
    slots.leave(c)                                 # left the line before its turn
    assert slots.ahead_of(c) == (1, 60 + STARTUP_SECONDS)
    two = TrainingSlots(2)
    first, second = two.join(10), two.join(10)
    assert two.try_start(first) and two.try_start(second)


def test_the_worker_says_how_many_threads_it_trained_on_and_never_more_than_lent():
    """Threads between least and most (how many depends on the machine's load: not asserted)."""
    _, alone = remote_run(max_steps=30)
    list(alone.run())
    assert set(alone.threads_seen) == {1}
    trainer, lent = remote_run(max_steps=30)
    lent.most_threads = 2
    list(lent.run())
    assert set(lent.threads_seen) <= {1, 2} and sum(lent.threads_seen.values()) >= 4
    assert lent.model.history[-1]["val_loss"] < lent.model.history[0]["val_loss"]


def test_the_training_threads_setting(monkeypatch):
    from studio.settings import Settings
    from studio.spare_cores import available_cores

    assert Settings.from_env().training_threads == available_cores()
    monkeypatch.setenv("GPT_APP_TRAINING_THREADS", "1")
    assert Settings.from_env().training_threads == 1
    monkeypatch.setenv("GPT_APP_TRAINING_THREADS", "0")
    with pytest.raises(SystemExit, match="GPT_APP_TRAINING_THREADS"):
        Settings.from_env()
