"""A run as a timeline: snapshots, frames computed from them, saved and loaded, followed live."""
import json

import numpy as np
import pytest
import torch

import gpt
from gpt.checkpoint import CheckpointError
from gpt.diagnostics import Diagnostics
from gpt.introspect import attention_maps
from gpt.snapshots import DiskSnapshots, MemorySnapshots
from gpt.timeline import TIMELINE_FILE, Probe, Timeline, compute_frame, disk_timeline


def small_run(dataset, snapshots, steps=60, diagnostics_every=10):
    torch.manual_seed(0)
    model = gpt.build_model("gpt", vocab_size=dataset.tokenizer.vocab_size, block_size=32, n_layer=2, n_head=2,
                            n_embd=32, dropout=0.0)
    model.tokenizer = dataset.tokenizer
    diagnostics = Diagnostics(model, every=diagnostics_every)
    trainer = gpt.Trainer(model, dataset, gpt.TrainConfig(max_steps=steps, batch_size=8, eval_interval=10,
                                                          eval_batches=2, sample_chars=0),
                          snapshots=snapshots, diagnostics=diagnostics)
    return model, trainer, diagnostics


def test_a_frame_is_what_the_snapshot_itself_says(shakespeare):
    dataset = shakespeare.dataset(32)
    snapshots = MemorySnapshots(max_count=8)
    model, trainer, diagnostics = small_run(dataset, snapshots)
    probe = Probe.for_run(model, dataset)
    timeline = Timeline.live(model, snapshots, probe, diagnostics)
    list(trainer.run())
    assert len(probe.text) == 32 and probe.text in dataset.split_text("val")      # unseen text, one block
    step = timeline.steps[2]
    frame = timeline.frame(step)
    at = snapshots.model_at(model, step)
    # each view, recomputed independently from the snapshot
    assert frame.sample == "".join(gpt.generate(at, probe.prompt, probe.sample_chars, temperature=probe.temperature,
                                                seed=probe.seed))
    np.testing.assert_allclose(frame.attention, np.stack(attention_maps(at, probe.text, 32).maps), atol=1e-6)
    ids = torch.tensor([at.tokenizer.encode(probe.text)])
    logits, _ = at(ids)
    np.testing.assert_allclose(frame.next_char, torch.softmax(logits[0], -1).detach().numpy(), atol=1e-5)
    passage = torch.tensor(at.tokenizer.encode(probe.passage))
    with torch.no_grad():                       # each character with up to a block of context before it
        by_hand = [float(torch.nn.functional.cross_entropy(at(passage[max(0, i - 32):i][None])[0][0, -1:],
                                                           passage[i:i + 1])) for i in range(1, 32)]
    assert frame.surprisal.shape == (len(probe.passage) - 1,)
    assert frame.surprisal[:31] == pytest.approx(by_hand, abs=1e-4)   # full context: exactly the model's loss
    assert frame.val_loss == next(h["val_loss"] for h in model.history if h["step"] == step)
    assert timeline.diagnostics_at(step).step <= step


def test_a_live_timeline_follows_the_run_and_forgets_thinned_frames(shakespeare):
    dataset = shakespeare.dataset(32)
    snapshots = MemorySnapshots(max_count=4)
    model, trainer, diagnostics = small_run(dataset, snapshots, steps=80)
    timeline = Timeline.live(model, snapshots, Probe.for_run(model, dataset), diagnostics)
    run = trainer.run()
    for progress in run:
        if progress.step == 20:
            break
    first_steps = timeline.steps
    timeline.frame(first_steps[1])
    list(run)
    assert timeline.steps[0] == 0 and timeline.steps[-1] == 80 and len(timeline.steps) <= 4
    timeline.frame(80)
    assert set(timeline._frames) <= set(timeline.steps)
    with pytest.raises(ValueError, match="no snapshot at step 7"):
        timeline.model_at(7)


def test_a_saved_timeline_loads_with_the_same_frames(shakespeare, tmp_path):
    dataset = shakespeare.dataset(32)
    store = DiskSnapshots(tmp_path, steps=[0, 10, 30, 60], weights_dtype=torch.bfloat16)
    model, trainer, diagnostics = small_run(dataset, store)
    list(trainer.run())
    probe = Probe.for_run(model, dataset)
    saved = disk_timeline(tmp_path, probe, diagnostics, "a test run")
    saved.save(tmp_path)
    loaded = Timeline.load(tmp_path)
    assert loaded.steps == [0, 10, 30, 60] and loaded.probe == probe and loaded.description == "a test run"
    assert loaded.vocab == list(model.tokenizer.chars)
    for step in loaded.steps:
        a, b = saved.frame(step), loaded.frame(step)
        assert a.sample == b.sample and a.val_loss == b.val_loss
        np.testing.assert_allclose(a.attention, b.attention, atol=1e-3)            # fp16 on disk
        np.testing.assert_allclose(a.next_char, b.next_char, atol=1e-3)
        np.testing.assert_allclose(a.surprisal, b.surprisal, rtol=1e-6)
    # the snapshot a frame came from is an ordinary checkpoint; sampling it gives the frame's sample
    again = "".join(gpt.generate(gpt.load(tmp_path / "step-000030"), probe.prompt, probe.sample_chars,
                                 temperature=probe.temperature, seed=probe.seed))
    assert again == loaded.frame(30).sample
    assert [r.step for r in loaded.diagnostics] == [r.step for r in diagnostics.records]
    kept = [r.step for r in loaded.diagnostics if r.activations[0].histogram]
    assert set(kept) == {1, 10, 30, 60}                # histograms only at snapshot steps (and step 1)
    meta = json.loads((tmp_path / TIMELINE_FILE).read_text())
    meta["frames"] = "nonsense"
    (tmp_path / TIMELINE_FILE).write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="no readable timeline"):
        Timeline.load(tmp_path)


def test_compute_frame_works_for_a_model_without_attention(names):
    model = gpt.load("checkpoints/names-mlp")
    dataset = model.dataset_for(names)
    probe = Probe.for_run(model, dataset)
    frame = compute_frame(model, probe, model.run.step, model.history)
    assert frame.attention is None and frame.next_char.shape == (len(probe.text), model.tokenizer.vocab_size)
    assert frame.sample and set(frame.sample) <= set(model.tokenizer.chars)


def test_the_page_moves_the_loss_marker_to_where_the_server_would_draw_it():
    """Each snapshot's marker in layout.meta (moved by the page, assets/timeline-marker.html) is the
    line and the point the server draws for that snapshot."""
    from pathlib import Path

    from studio.resources import TIMELINE_FOLDER
    from studio.timeline import ShippedTimeline, frame_view

    timeline = ShippedTimeline(Path(__file__).resolve().parents[1] / "checkpoints" / TIMELINE_FOLDER).get()
    steps = timeline.steps
    assert len(steps) >= 3
    points = frame_view(timeline, 0).loss.layout.meta["marker"]["points"]
    assert [p[0] for p in points] == steps
    for index in (0, 1, len(steps) // 2, len(steps) - 1):
        figure = frame_view(timeline, index).loss
        marker = figure.layout.meta["marker"]
        assert marker["points"] == points                       # the same list whichever snapshot is drawn
        line, point = figure.layout.shapes[marker["shape"]], figure.data[marker["trace"]]
        x, y, name = points[index]
        assert line.x0 == line.x1 == x == steps[index] and line.line.color == "#ff7f0e"
        val = next(e["val_loss"] for e in timeline.history if e["step"] == x)
        assert list(point.x) == [x] and list(point.y) == [y] == [val] and point.name == name


def test_a_finished_runs_curve_carries_every_snapshots_note_and_sample_as_the_server_writes_them():
    """layout.meta.frames, which the page shows when the slider moves (ui/timeline.py: SHOW_FRAME),
    is frame_text for each snapshot; a live run's curve carries none (its frames are computed)."""
    from pathlib import Path

    from studio.resources import TIMELINE_FOLDER
    from studio.timeline import ShippedTimeline, frame_text, frame_view

    timeline = ShippedTimeline(Path(__file__).resolve().parents[1] / "checkpoints" / TIMELINE_FOLDER).get()
    frames = frame_view(timeline, 2, with_texts=True).loss.layout.meta["frames"]
    assert len(frames) == len(timeline.steps)
    for index, (note, sample) in enumerate(frames):
        assert (note, sample) == frame_text(timeline, index)
        assert note.startswith(f"Snapshot {index + 1} of {len(timeline.steps)}: **step {timeline.steps[index]:,}")
    assert len({sample for _, sample in frames}) > len(frames) // 2      # the samples change as it learns
    assert "frames" not in frame_view(timeline, 2).loss.layout.meta


def test_train_live_diagnostics_end_at_the_last_record_with_no_snapshot_marker(shakespeare):
    """Train live showed the Timeline's "snapshot shown" line on its diagnostics, stretching the step
    axis past the last record; the Timeline keeps its marker."""
    from studio import timeline as timeline_views

    dataset = shakespeare.dataset(32)
    snapshots = MemorySnapshots(max_count=8)
    model, trainer, diagnostics = small_run(dataset, snapshots)
    for _ in trainer.run():
        pass
    timeline = Timeline.live(model, snapshots, Probe.for_run(model, dataset), diagnostics)
    last = len(timeline.steps) - 1
    _, ratios, gradients, _ = timeline_views.diagnostics_view(timeline, last, marked=False)
    for figure in (ratios, gradients):
        assert not [a for a in figure.layout.annotations if a.text == "snapshot shown"]
        assert max(max(trace.x) for trace in figure.data) == diagnostics.records[-1].step
    _, marked, _, _ = timeline_views.diagnostics_view(timeline, last)
    assert [a for a in marked.layout.annotations if a.text == "snapshot shown"]
