"""The app's computations, without a browser."""
import asyncio
from pathlib import Path
import json
import time

import numpy as np
import pytest
import torch

import gpt
from gpt import plots
from gpt.introspect import attention_maps
from gpt.metrics import counted_bigram_loss
from studio import generation, training, views
from studio.errors import InputError
from studio.training import TrainRequest
from studio.zoo import ModelZoo


@pytest.fixture(scope="module")
def zoo():
    return ModelZoo("checkpoints")


def test_zoo_lists_the_shipped_checkpoints_gpt_first(zoo):
    names = zoo.names()
    assert names[0] == "shakespeare-gpt"
    assert {"shakespeare-bigram", "shakespeare-mlp", "names-mlp"} <= set(names)
    assert zoo.get("shakespeare-gpt") is zoo.get("shakespeare-gpt")
    with pytest.raises(InputError, match="no model called"):
        zoo.get("nope")


def test_a_corrupt_checkpoint_is_a_message_not_a_crash(tmp_path):
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "config.json").write_text("{oops")
    with pytest.raises(InputError, match="could not be loaded"):
        ModelZoo(tmp_path).get("broken")


def test_prompt_checks(zoo):
    model = zoo.get("shakespeare-gpt")
    assert generation.prepare_prompt(model, "ROMEO:", "error") == ("ROMEO:", "")
    cleaned, note = generation.prepare_prompt(model, "Roméo 🙂", "replace")
    assert cleaned == "Rom o  " and "'é', '🙂'" in note and "replaced" in note
    cleaned, note = generation.prepare_prompt(model, "Roméo", "drop")
    assert cleaned == "Romo" and "dropped" in note
    with pytest.raises(InputError, match="'é' is not in this model's 65-character vocabulary"):
        generation.prepare_prompt(model, "Roméo", "error")
    with pytest.raises(InputError, match="empty"):
        generation.prepare_prompt(model, "", "replace")
    with pytest.raises(InputError, match="limit"):
        generation.prepare_prompt(model, "a" * 10_001, "replace")
    with pytest.raises(InputError, match="outside"):
        generation.prepare_prompt(model, "ééé", "drop")


@pytest.mark.parametrize("args, message", [
    ((0, 0.8, 0, 1, 0), "between 1 and 2,000"), ((2001, 0.8, 0, 1, 0), "between 1 and 2,000"),
    ((10, 2.5, 0, 1, 0), "temperature"), ((10, -0.1, 0, 1, 0), "temperature"),
    ((10, 0.8, -3, 1, 0), "Top-k"), ((10, 0.8, 0, 0, 0), "Top-p"), ((10, 0.8, 0, 1, -5), "seed"),
])
def test_out_of_range_settings(args, message):
    with pytest.raises(InputError, match=message):
        generation.check_settings(*args)


def generate(*args, **kwargs) -> tuple[generation.GenerationRecord, str]:
    """The last update of studio.generation.agenerate_stream, driven by an event loop of its own."""
    async def last():
        update = None
        async for update in generation.agenerate_stream(*args, **kwargs):
            pass
        return update
    return asyncio.run(last())


def test_generation_records_each_step(zoo):
    model = zoo.get("shakespeare-gpt")
    record, note = generate(model, "ROMEO:\n", 60, temperature=0.8, top_k=10, seed=3)
    assert record.text.startswith("ROMEO:\n") and len(record.generated) == 60 and note == ""
    assert len(record.sampled_from) == len(record.model_probs) == 60
    for i, char in enumerate(record.generated):
        sampled = record.sampled_from[i]
        assert sampled.dtype == np.float16 and np.isclose(sampled.sum(), 1, atol=2e-3) and (sampled > 0).sum() <= 10
        assert sampled[model.tokenizer.stoi[char]] > 0
        assert np.isclose(record.model_probs[i].sum(), 1, atol=2e-3)
    again = generate(model, "ROMEO:\n", 60, temperature=0.8, top_k=10, seed=3)[0]
    assert again.text == record.text


def test_attention_figure_keeps_repeated_characters_apart(zoo):
    model = zoo.get("shakespeare-gpt")
    text = "To be or not to be"
    maps = attention_maps(model, text)
    assert maps.chars == list(text) and len(maps.maps) == model.config.n_layer
    assert maps.maps[0].shape == (model.config.n_head, len(text), len(text))
    fig = plots.attention_figure(maps.chars, maps.maps[1][2], "layer 1, head 2", maps.start)
    heatmap = fig.data[0]
    assert len(set(heatmap.x)) == len(text), "repeated characters merged into one column"
    assert [label.replace("\u200b", "") for label in heatmap.x] == [plots.show_char(c) for c in text]
    assert fig.layout.yaxis.scaleanchor == "x", "cells are square"
    grid = plots.attention_grid_figure(maps.maps[1], 1)
    assert len(grid.data) == model.config.n_head + 1
    assert np.allclose(np.asarray(grid.data[-1].z), maps.maps[1].mean(0), atol=1e-6)


@pytest.mark.parametrize("n_head", [4, 6, 7])
def test_the_heads_grid_keeps_square_panels_with_room_for_each_title_on_a_phone(n_head):
    """The page sets the grid's height to its width times meta.aspect (assets/fit-figures.html):
    every panel is then square, and between rows there is room for a title (at 320 px, a phone)."""
    grid = plots.attention_grid_figure(np.full((n_head, 5, 5), 0.2), 0)
    width = 320
    height = width * grid.layout.meta["aspect"]
    xs = [grid.layout[name].domain for name in grid.layout if name.startswith("xaxis")]
    ys = sorted({tuple(grid.layout[name].domain) for name in grid.layout if name.startswith("yaxis")}, reverse=True)
    for x, y in zip(xs, [grid.layout[n].domain for n in grid.layout if n.startswith("yaxis")]):
        assert (x[1] - x[0]) * width == pytest.approx((y[1] - y[0]) * height, rel=1e-6)
    for upper, lower in zip(ys, ys[1:]):
        assert (upper[0] - lower[1]) * height >= 20             # a 16-px title and its padding


def test_attention_is_computed_with_the_context_the_model_had(zoo):
    """The last characters of a long text are read with the block of text before them,
    exactly as when the model produced them, not as a fresh start."""
    model = zoo.get("shakespeare-gpt")
    text = gpt.Corpus.load("shakespeare").text[:600]
    shown = attention_maps(model, text, max_chars=32)
    ids = torch.tensor([model.tokenizer.encode(text[-model.block_size:])])
    with torch.no_grad():
        _, full = model.attention_maps(ids)
    np.testing.assert_allclose(shown.maps[3], full[3][0, :, -32:, -32:].numpy(), atol=1e-6)
    assert shown.start == 600 - 32 and shown.maps[3].sum(-1).min() < 0.5   # weight went to earlier text
    fresh = attention_maps(model, text[-32:], max_chars=32)
    assert not np.allclose(fresh.maps[3], shown.maps[3], atol=1e-3)


def test_the_attention_view_names_layers_and_heads_plainly(zoo):
    figure, grid, note, _ = views.attention_view(zoo.get("ladder/3-attention"), "ROMEO: hello", 0, 32, "the prompt")
    assert "1 head:" in note and "1 heads" not in note and "layers 0 to 0" in note
    figure, grid, note, _ = views.attention_view(zoo.get("shakespeare-gpt"), "ROMEO: hello", 9, 32, "the prompt",
                                                "head 4")
    assert "Layer 5 (layers 0 to 5), 6 heads" in note and figure.layout.title.text.startswith("Layer 5, head 4")
    assert views.attention_shape(zoo.get("shakespeare-gpt")) == (6, 6)
    assert views.attention_shape(zoo.get("shakespeare-bigram")) is None


def test_models_without_attention_say_so(zoo):
    assert not zoo.get("shakespeare-bigram").has_attention and zoo.get("shakespeare-gpt").has_attention
    figure, grid, note, _ = views.attention_view(zoo.get("shakespeare-mlp"), "ROMEO:", 0, 32, "the prompt")
    assert figure is None and grid is None and "no attention" in note and "last 8 characters" in note
    with pytest.raises(ValueError, match="no attention"):
        attention_maps(zoo.get("shakespeare-mlp"), "ROMEO:")


def test_loss_figure_has_references(zoo):
    model = zoo.get("shakespeare-gpt")
    fig = plots.loss_figure(model.history, 65, 2.48)
    assert [t.name for t in fig.data] == ["train", "val"]
    assert len(fig.data[0].x) == len(model.history) > 1
    annotations = " ".join(a.text for a in fig.layout.annotations)
    assert "ln(65) = 4.17" in annotations and "counting bigram, val 2.48" in annotations


def test_next_char_figure_shows_both_distributions():
    probs = np.array([0.1, 0.6, 0.3], dtype=np.float32)
    fig = plots.next_char_figure(["\n", "a", "b"], np.array([0, 1, 0.0]), probs, picked="a")
    assert [t.name for t in fig.data] == ["model (temperature 1)", "sampled from (after temperature, top-k, top-p)",
                                          "picked"]
    assert list(fig.data[0].x) == ["a", "b", "↵"]


def test_next_char_legend_has_one_colour_per_entry_and_the_picked_bar_its_own():
    """The legend's swatch once took whichever bar came first (orange on a phone, blue on a
    desktop) and the orange bar had no entry: each entry is now one colour, and the picked (or
    next) character is an entry of its own, drawn over its bar."""
    probs = np.array([0.5, 0.3, 0.2], dtype=np.float32)
    for picked in ("a", "b", "c"):
        fig = plots.next_char_figure(["a", "b", "c"], probs, picked=picked, picked_name="next in the text")
        assert all(isinstance(t.marker.color, str) for t in fig.data)
        assert [t.name for t in fig.data] == ["model", "next in the text"] and fig.layout.showlegend
        assert list(fig.data[1].x) == [picked] and fig.data[1].offsetgroup == fig.data[0].offsetgroup
        assert fig.data[1].y[0] == pytest.approx(float(probs["abc".index(picked)]))
        assert "next in the text" in fig.layout.title.text


def test_every_figure_is_drawn_in_plotlys_white_template_and_stays_its_own():
    """plots.white sets the registered template without validating it again: what a browser
    receives is plotly_white exactly, and changing one figure's layout touches no other."""
    import plotly.graph_objects as go
    stock = go.Figure().update_layout(template="plotly_white").to_plotly_json()["layout"]["template"]
    one = plots.next_char_figure(["a", "b"], np.array([0.3, 0.7]))
    grid = plots.attention_grid_figure(np.full((2, 3, 3), 1 / 3), 0)
    assert one.to_plotly_json()["layout"]["template"] == stock == grid.to_plotly_json()["layout"]["template"]
    one.update_layout(title="changed", height=100)
    assert plots.next_char_figure(["a", "b"], np.array([0.3, 0.7])).layout.height == 360
    assert one.layout._validate and grid.layout._validate        # later updates are validated as usual
    with pytest.raises(ValueError):
        one.update_layout(height="tall")


def test_counted_bigram_matches_the_lecture(shakespeare, names):
    assert 2.4 < counted_bigram_loss(shakespeare.dataset(8)) < 2.55
    assert 2.4 < counted_bigram_loss(names.dataset(3)) < 2.5


def test_corpus_choices_and_uploads(tmp_path, monkeypatch):
    assert training.load_corpus_choice("Tiny Shakespeare", None).name == "shakespeare"
    with pytest.raises(InputError, match="Choose a .txt"):
        training.load_corpus_choice("upload a .txt", None)
    short = tmp_path / "short.txt"
    short.write_text("hello")
    with pytest.raises(InputError, match="at least 2,000"):
        training.load_corpus_choice("upload a .txt", str(short))
    png = tmp_path / "cat.txt"
    png.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00")
    with pytest.raises(InputError, match="not a text file"):
        training.load_corpus_choice("upload a .txt", str(png))
    big = tmp_path / "big.txt"
    big.write_text("x" * 2_100_000)
    with pytest.raises(InputError, match="limit"):
        training.load_corpus_choice("upload a .txt", str(big))
    good = tmp_path / "sonnets.txt"
    good.write_text("Shall I compare thee to a summer's day?\n" * 100)
    assert training.load_corpus_choice("upload a .txt", str(good)).name == "sonnets"

    monkeypatch.delenv("GPT_DATA_DIR", raising=False)
    monkeypatch.setattr(gpt.data, "SHIPPED_CORPORA", tmp_path / "nothing-here")
    with pytest.raises(InputError, match="upload the text"):
        training.load_corpus_choice("names", None)


def test_training_requests_are_bounded():
    with pytest.raises(InputError, match="parameters; the limit"):
        training.build_training(TrainRequest(n_layer=8, n_embd=256, n_head=8, block_size=256))
    with pytest.raises(InputError, match="multiple of the number of heads"):
        training.build_training(TrainRequest(n_embd=48, n_head=5))
    with pytest.raises(InputError, match="minutes"):
        training.build_training(TrainRequest(minutes=600))
    with pytest.raises(InputError, match="steps"):
        training.build_training(TrainRequest(max_steps=10**7))
    trainer = training.build_training(TrainRequest(model_type="mlp", corpus="names", max_steps=20))
    assert trainer.dataset.corpus.line_framed and trainer.model.run.bigram_val_loss > 2.3
    json.dumps(trainer.model.run.to_json())


def test_the_optimizer_is_the_requests_muon_for_the_default_gpt():
    trainer = training.build_training(TrainRequest(max_steps=20))
    assert trainer.config.optimizer == "muon" and trainer.config.muon_lr_scale == training.MUON_LR_SCALE
    assert type(trainer.optimizer).__name__ == "MuonWithAdamW"
    assert type(training.build_training(TrainRequest(max_steps=20, optimizer="adamw")).optimizer) is torch.optim.AdamW
    assert training.defaults_for("mlp", "names").optimizer == "adamw"
    assert training.optimizer_choice("Muon + AdamW") == "muon" and training.optimizer_choice("adamw") == "adamw"
    # a bigram is one table, no hidden matrix: "Muon + AdamW" is AdamW for all of it
    assert type(training.build_training(TrainRequest(model_type="bigram", max_steps=5)).optimizer) is torch.optim.AdamW
    with pytest.raises(InputError, match="Unknown optimizer"):
        training.build_training(TrainRequest(optimizer="lion"))


def test_the_live_curve_shows_the_previous_run_on_the_same_corpus_against_seconds():
    """Train with AdamW, then with Muon: the second curve has the first beside it."""
    from studio import live

    first = training.build_training(TrainRequest(max_steps=30, optimizer="adamw"))
    for _ in first.run():
        pass
    request = TrainRequest(max_steps=30, optimizer="muon")
    [(label, model)] = live.previous_run(first.model, request)
    assert model is first.model and label == "your previous run (GPT, AdamW)"
    assert live.previous_run(first.model, TrainRequest(corpus="names")) == []
    assert live.previous_run(None, request) == []
    figure, _ = views.loss_view(first.model, live.run_label(request), [(label, model)], x="elapsed")
    names = [trace.name for trace in figure.data]
    assert "your previous run (GPT, AdamW): val" in names
    assert figure.layout.xaxis.title.text == "seconds of training"
    assert list(figure.data[0].x) == [h["elapsed"] for h in first.model.history]


def test_live_val_loss_on_names_is_close_to_the_whole_split():
    """A framed corpus predicts one character a row: the live evaluation must still read
    thousands of them, or a bigram seems to overfit (issue: 128 characters gave 2.64 vs 2.46)."""
    trainer = training.build_training(training.defaults_for("bigram", "names"))
    trainer.config.max_steps = 200
    for _ in trainer.run():
        pass
    live = trainer.model.history[-1]["val_loss"]
    whole = gpt.split_loss(trainer.model, trainer.dataset, "val")
    assert trainer.eval_targets >= 4096 and abs(live - whole) < 0.05, (live, whole)


def test_each_model_and_corpus_gets_its_own_defaults():
    mlp_names = training.defaults_for("mlp", "names")
    assert (mlp_names.block_size, mlp_names.n_embd, mlp_names.n_hidden) == (3, 10, 200)     # makemore's
    trainer = training.build_training(mlp_names)
    assert trainer.model.num_params() == 11_897 and trainer.model.block_size == 3
    assert training.defaults_for("gpt", "Tiny Shakespeare") == TrainRequest()


def test_a_longer_budget_suggests_a_bigger_gpt_unless_the_sizes_were_set_by_hand():
    def sizes(r):
        return {k: getattr(r, k) for k in training.SIZES}

    short = training.defaults_for("gpt", "shakespeare")
    long = training.defaults_for("gpt", "shakespeare", training.LONG_BUDGET_MINUTES)
    assert (long.n_layer, long.n_head, long.n_embd, long.minutes) == (3, 6, 192, training.LONG_BUDGET_MINUTES)
    training.check_request(long)                                   # within the app's parameter limit
    # the form's sliders send floats: 3.0 layers is the default 3 layers
    from_form = {k: float(v) if isinstance(v, int) else v for k, v in sizes(short).items()}
    assert training.sizes_for_budget("gpt", "shakespeare", 3.0, from_form) == sizes(long)
    assert training.sizes_for_budget("gpt", "shakespeare", 1.0, sizes(long)) == sizes(short)
    assert training.sizes_for_budget("gpt", "shakespeare", 2.0, sizes(short)) is None       # nothing changes
    assert training.sizes_for_budget("gpt", "shakespeare", 3.0, sizes(short) | {"n_layer": 4}) is None
    assert training.sizes_for_budget("gpt", "shakespeare", 3.0, sizes(short) | {"lr": 1e-3}) is None
    mlp = training.defaults_for("mlp", "shakespeare")
    assert training.sizes_for_budget("mlp", "shakespeare", 5.0, sizes(mlp)) is None       # measured for the GPT only
    assert training.defaults_for("gpt", "names", 5.0).n_embd == 64


def test_the_session_model_downloads_as_a_zip_that_loads(tmp_path, shakespeare):
    import zipfile

    trainer = training.build_training(TrainRequest(model_type="bigram", max_steps=20))
    for _ in trainer.run():
        pass
    archive = training.export_zip(trainer.model)
    with zipfile.ZipFile(archive) as z:
        assert sorted(z.namelist()) == ["my-model/", "my-model/config.json", "my-model/history.json",
                                        "my-model/model.safetensors"]
        z.extractall(tmp_path)
    loaded = gpt.load(tmp_path / "my-model")
    assert loaded.run.step == 20 and loaded.history == trainer.model.history
    with pytest.raises(InputError, match="Train a model first"):
        training.export_zip(None)


def test_loss_curves_overlay_other_models_on_log_axes(zoo):
    rungs = [(name, zoo.get(name)) for name in ("ladder/1-bigram", "ladder/4-heads")]
    figure, note = views.loss_view(zoo.get("ladder/8-full"), "ladder/8-full", rungs, x="tokens", log_x=True,
                                   log_y=True)
    assert [t.name for t in figure.data] == ["train", "val", "ladder/1-bigram: val", "ladder/4-heads: val"]
    assert figure.layout.xaxis.type == "log" and figure.layout.yaxis.type == "log"
    assert list(figure.data[2].x) == [h["tokens"] for h in zoo.get("ladder/1-bigram").history]
    assert "fixed random sample" in note and "whole val split" in note


def test_uploads_are_bounded_before_anything_is_built(tmp_path):
    many = tmp_path / "unicode.txt"
    many.write_text("".join(chr(0x4E00 + i) for i in range(16_000)) * 2)      # 16,000 distinct characters
    with pytest.raises(InputError, match="16,000 distinct characters; a character-level model here takes at "
                                         "most 1,000"):
        training.load_corpus_choice("upload a .txt", str(many))
    good = tmp_path / "sonnets.txt"
    good.write_text("Shall I compare thee to a summer's day?\n" * 100)
    assert training.load_corpus_choice("upload a .txt", str(good)).name == "sonnets"
    assert good.exists(), "another student may hold the same Gradio file: it is never deleted under them"


def test_messages_for_people_carry_no_server_paths(tmp_path):
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "config.json").write_text("{oops")
    with pytest.raises(InputError) as err:
        ModelZoo(tmp_path).get("broken")
    assert str(tmp_path) not in str(err.value) and "could not be loaded" in str(err.value)


def test_batched_decoding_gives_each_seed_its_own_text(zoo):
    """Streams decoded together, joining and leaving at different times, past the block, with
    different sampling settings: each seeded stream writes exactly what it writes alone, from
    the same distributions, whether its reader takes every step or chunks of them."""
    import threading

    from gpt.generation import SamplingSettings, sample_ids

    model = zoo.get("shakespeare-gpt")
    decoder = zoo.decoder("shakespeare-gpt")
    assert zoo.decoder("names-mlp") is None                     # no cache: it samples alone
    settings = SamplingSettings(0.8, top_k=20)
    mixed = [settings, SamplingSettings(0.8, top_k=20), SamplingSettings(1.0, top_p=0.9), SamplingSettings(0.0)]
    prompts = ["ROMEO:\n", "JULIET:\nO Romeo", "First Citizen:\n"]
    out = {}

    def run(k):
        ids = model.tokenizer.encode(prompts[k % 3])
        if k % 2:
            out[k] = [s for chunk in decoder.chunks(ids, 150 + 40 * k, mixed[k % 4], seed=k, every=lambda: 0.05)
                      for s in chunk]
        else:
            out[k] = list(decoder.stream(ids, 150 + 40 * k, mixed[k % 4], seed=k))

    threads = [threading.Thread(target=run, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for k in range(8):
        alone = list(sample_ids(model, model.tokenizer.encode(prompts[k % 3]), 150 + 40 * k, mixed[k % 4], seed=k,
                                engine="torch"))            # the reference step, against the ONNX one
        assert [s.token for s in out[k]] == [s.token for s in alone], k
        for together, by_itself in zip(out[k], alone):
            torch.testing.assert_close(together.probs, by_itself.probs, rtol=0, atol=1e-5)
    stopped = decoder.stream(model.tokenizer.encode("ROMEO:\n"), 1000, settings, seed=1)
    first = [next(stopped).token for _ in range(5)]
    stopped.close()                                             # Stop: the row is freed at the next step
    assert len(first) == 5 and len(list(decoder.stream([1, 2], 3, settings, seed=0))) == 3
    assert decoder.cache.active == 0


def test_a_chunked_reader_is_woken_for_its_first_step_and_its_last_not_in_between(zoo):
    """`chunks(every=...)`: the first step at once, nothing until `every` has passed, and the
    end at once (never held back for the timer)."""
    import time

    from gpt.generation import SamplingSettings

    decoder = zoo.decoder("shakespeare-gpt")
    ids = zoo.get("shakespeare-gpt").tokenizer.encode("ROMEO:\n")
    start = time.monotonic()
    chunks = list(decoder.chunks(ids, 40, SamplingSettings(0.8), seed=3, every=lambda: 60.0))
    assert time.monotonic() - start < 30                        # the end did not wait for the 60 s timer
    assert 1 <= len(chunks) <= 2 and sum(map(len, chunks)) == 40
    assert decoder.cache.active == 0


def test_a_generation_writes_the_same_through_the_decoder_and_alone_and_stop_frees_its_row(zoo):
    """agenerate_stream (the app's): the same text and distributions for a seed through the
    batch decoder (waiting on the event loop) and alone (a session's own model, in a worker
    thread); cancelling it mid-stream, as Stop does, frees the decoder's row."""
    model = zoo.get("shakespeare-gpt")
    decoder = zoo.decoder("shakespeare-gpt")
    batched, _ = generate(model, "ROMEO:\n", 120, 0.8, 0, 0.9, 4, decoder=decoder)
    alone, _ = generate(model, "ROMEO:\n", 120, 0.8, 0, 0.9, 4)
    assert batched.text == alone.text and batched.steps == alone.steps == 120
    np.testing.assert_array_equal(np.stack(batched.sampled_from), np.stack(alone.sampled_from))

    async def stop_early():
        stream = generation.agenerate_stream(model, "ROMEO:\n", 2000, decoder=decoder, seed=1)
        task = asyncio.ensure_future(stream.__anext__())
        await task
        await stream.aclose()                                  # what cancelling the event does
        for _ in range(100):
            if decoder.cache.active == 0:
                return True
            await asyncio.sleep(0.05)
        return False

    assert asyncio.run(stop_early())


def test_a_log_axis_leaves_out_step_zero_on_either_axis():
    """With characters seen on a log axis, step 0 (0 characters) once ran in as a line from
    the left edge: no point of any curve sits at or below zero on a log axis."""
    history = [dict(step=s, tokens=s * 2048, train_loss=4.2 - s / 100, val_loss=4.2 - s / 110) for s in (0, 50, 100)]
    for x in ("step", "tokens"):
        fig = plots.loss_figure(history, 65, x=x, log_x=True, others=[("other", history)])
        assert all(min(t.x) > 0 for t in fig.data) and fig.layout.xaxis.type == "log"
        linear = plots.loss_figure(history, 65, x=x)
        assert min(linear.data[0].x) == 0
    assert plots.loss_figure(history, x="tokens").layout.xaxis.title.text == "characters seen"


def test_split_loss_reports_the_characters_scored_as_it_goes():
    model = gpt.load("checkpoints/shakespeare-bigram")
    dataset = model.dataset_for(gpt.Corpus.load("shakespeare"))
    seen: list[int] = []
    loss = gpt.split_loss(model, dataset, "val", 64, progress=seen.append)
    assert seen == sorted(seen) and len(seen) > 3 and 0.99 < seen[-1] / dataset.num_tokens("val") <= 1
    assert loss == gpt.split_loss(model, dataset, "val", 64)


def test_the_session_model_downloads_as_a_web_page_that_runs_it(tmp_path):
    """Train live's web page: a zip of the static site whose graph computes the trained model's logits."""
    import json
    import zipfile

    import numpy as np
    ort = pytest.importorskip("onnxruntime")

    trainer = training.build_training(TrainRequest(model_type="gpt", max_steps=5, n_layer=1, n_head=2, n_embd=16,
                                                   block_size=16))
    for _ in trainer.run():
        pass
    model = trainer.model.eval()
    with zipfile.ZipFile(training.export_site_zip(model, exports=tmp_path / "exports")) as z:
        names = set(z.namelist())
        assert {"my-model-web/index.html", "my-model-web/model.onnx", "my-model-web/model.json",
                "my-model-web/vendor/onnxruntime-web/ort-wasm-simd-threaded.wasm"} <= names
        about = json.loads(z.read("my-model-web/model.json"))
        graph = z.read("my-model-web/model.onnx")
    assert about["vocab"] == model.tokenizer.chars and about["title"] == "Your model (trained live)"
    ids = model.tokenizer.encode("ROMEO:\nWhat")
    session = ort.InferenceSession(graph, providers=["CPUExecutionProvider"])
    nothing = np.zeros((1, 0, 16), np.float32)
    logits = session.run(["logits"], {"tokens": np.array([ids]), "past_keys0": nothing, "past_values0": nothing})[0]
    with torch.inference_mode():
        np.testing.assert_allclose(logits, model(torch.tensor([ids]))[0].numpy(), atol=1e-5)
    bigram = training.build_training(TrainRequest(model_type="bigram", max_steps=2))
    for _ in bigram.run():
        pass
    with pytest.raises(InputError, match="No web page for this model: the static edition runs a GPT; "
                                         "this checkpoint is a bigram"):
        training.export_site_zip(bigram.model, exports=tmp_path / "exports")
    with pytest.raises(InputError, match="Train a model first"):
        training.export_site_zip(None, exports=tmp_path / "exports")


def test_the_train_header_says_what_the_curve_measures_on_a_small_upload():
    """A 1,840-character val split was said to be sampled for "8,192 characters": the curve's
    predictions there come from the whole split, each several times."""
    from studio.live import header

    small = gpt.Corpus.from_text(("To be, or not to be, that is the question.\n" * 430), name="upload")
    dataset = small.dataset(16)
    trainer = gpt.Trainer(gpt.build_model("bigram", vocab_size=dataset.tokenizer.vocab_size), dataset,
                          gpt.TrainConfig(max_steps=1, eval_batches=1))
    val_chars = trainer.dataset.num_tokens("val")
    assert val_chars < trainer.eval_targets
    said = header(trainer)
    assert f"drawn from the whole val split ({val_chars:,} characters" in said and "fixed sample" not in said


def test_makemore_shows_counted_and_learned_probabilities_on_one_scale():
    """Raw pair counts sat beside the neural bigram's probabilities with no scale and looked
    different (q→u), the opposite of the lecture's point. Both are P(next | current) now, on one
    colour scale, and the note gives the measured agreement."""
    from studio import learn
    from studio.zoo import ModelZoo

    zoo = ModelZoo(Path(__file__).resolve().parents[1] / "checkpoints")
    mm = learn.makemore_views(zoo)
    counted = (mm.counts + 1) / (mm.counts + 1).sum(1, keepdims=True)        # makemore part 1, independently
    np.testing.assert_allclose(learn.bigram_probabilities(mm.counts), counted)
    views = learn.learn_views(zoo)
    gap = np.abs(counted - mm.neural_probs)
    assert gap.mean() < 0.01
    note = learn.table_agreement(counted, mm.neural_probs, mm.chars, mm.counts.sum(1))
    assert f"{gap.mean():.4f}" in note and f"{gap.max():.3f}" in note
    a, b = views.counts_plot.data[0], views.neural_plot.data[0]
    assert a.zmax == b.zmax == pytest.approx(max(counted.max(), mm.neural_probs.max()), rel=1e-6)
    assert a.zmin == b.zmin == 0 and a.showscale and b.showscale
    np.testing.assert_allclose(np.asarray(a.z), counted, atol=1e-6)
    assert "The two tables agree" in views.makemore_note


def test_the_session_sweeper_never_stops_in_silence(monkeypatch, caplog):
    """A sweeper that finds no holder says so (it used to look for one forever without a word), and
    a sweep that fails is logged and followed by the next one rather than ending the thread."""
    import logging
    import threading

    from studio import sessions

    monkeypatch.setattr(sessions, "HOLDER_PATIENCE", 3)
    swept = threading.Event()
    calls = {"sweeps": 0}

    def failing_then_fine(holder, ttl, **kwargs):
        calls["sweeps"] += 1
        if calls["sweeps"] == 1:
            raise KeyError("a Gradio change")
        swept.set()
        return 0

    monkeypatch.setattr(sessions, "forget_idle_sessions", failing_then_fine)
    found, stop = {"holder": None}, threading.Event()
    with caplog.at_level(logging.INFO, logger="tinyshakespeare-gpt"):
        thread = sessions.start_sweeper(lambda: found["holder"], ttl=60, interval=0.01, stop=stop)
        deadline = time.monotonic() + 10
        while "found no session holder" not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.01)
        found["holder"] = object()
        assert swept.wait(10)
        stop.set()
        thread.join(5)
    assert "found no session holder for 3 sweeps" in caplog.text
    assert "the session sweeper failed this sweep" in caplog.text and calls["sweeps"] >= 2


def test_the_loss_curves_are_said_in_words_as_the_figure_draws_them():
    """A reader who cannot see the curves reads their start, best, end and turn; checked against
    the shipped run's own history, and an overfitting run's turn named at its best step."""
    from studio import views

    model = gpt.load(Path(__file__).resolve().parents[1] / "checkpoints" / "shakespeare-gpt")
    history = model.history
    words = views.curves_in_words(history)
    val = [h["val_loss"] for h in history]
    best = min(range(len(val)), key=val.__getitem__)
    assert f"val loss {val[0]:.3f} at step {history[0]['step']:,}" in words
    assert f"best {val[best]:.3f} at step {history[best]['step']:,}" in words
    assert f"{val[-1]:.3f} at the end (step {history[-1]['step']:,})" in words
    first_90 = next(h["step"] for h, v in zip(history, val) if val[0] - v >= 0.9 * (val[0] - val[best]))
    assert f"90% of its fall was done by step {first_90:,}" in words
    assert words in views.loss_view(model, "shakespeare-gpt")[1]
    overfit = [{"step": s, "train_loss": t, "val_loss": v} for s, t, v in
               [(0, 4.0, 4.0), (100, 2.0, 2.1), (200, 1.5, 1.9), (300, 1.0, 2.0), (400, 0.8, 2.2)]]
    said = views.curves_in_words(overfit)
    assert "best 1.900 at step 200" in said and "turns up after step 200" in said and "overfit" in said
