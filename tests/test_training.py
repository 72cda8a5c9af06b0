import math
import time

import pytest
import torch

import gpt
from gpt import checkpoint
from gpt.trainer import lr_at


def run(model, dataset, **config):
    trainer = gpt.Trainer(model, dataset, gpt.TrainConfig(**config))
    return trainer, list(trainer.run())


def test_gpt_loss_falls_well_below_the_bigram_on_shakespeare(shakespeare):
    common = dict(max_steps=400, batch_size=32, warmup_steps=20, eval_interval=100, eval_batches=4)
    ds = shakespeare.dataset(32)
    bigram = gpt.build_model("bigram", vocab_size=65)
    run(bigram, ds, lr=0.1, **common)
    model = gpt.build_model("gpt", vocab_size=65, block_size=32, n_layer=2, n_head=4, n_embd=64, dropout=0.0)
    _, progress = run(model, ds, lr=6e-3, **common)
    bigram_val = gpt.split_loss(bigram, ds, "val")
    gpt_val = gpt.split_loss(model, ds, "val")
    print(f"whole val split: bigram {bigram_val:.3f}, gpt {gpt_val:.3f}")
    assert 2.4 < bigram_val < 2.65          # the lecture's bigram: about 2.5
    assert gpt_val < bigram_val - 0.2
    evals = [p.val_loss for p in progress if p.val_loss is not None]
    assert evals[0] > 4.0 and evals[-1] < 2.35
    assert progress[-1].done and progress[-1].step == 400


def test_mlp_learns_names(names):
    ds = names.dataset(3)
    mlp = gpt.build_model("mlp", vocab_size=27, block_size=3)
    _, progress = run(mlp, ds, max_steps=600, batch_size=64, lr=1e-2, warmup_steps=20,
                      eval_interval=600, eval_batches=10, weight_decay=0.0)
    assert gpt.split_loss(mlp, ds, "val") < 2.5    # uniform is ln 27 = 3.30; the lecture's bigram 2.45


def test_progress_reports_everything_a_ui_needs(shakespeare):
    ds = shakespeare.dataset(16)
    model = gpt.build_model("gpt", vocab_size=65, block_size=16, n_layer=1, n_head=2, n_embd=16)
    trainer, progress = run(model, ds, max_steps=30, batch_size=8, eval_interval=10, eval_batches=2,
                            sample_chars=20)
    assert [p.step for p in progress] == list(range(1, 31))
    evals = [p for p in progress if p.val_loss is not None]
    assert [p.step for p in evals] == [1, 10, 20, 30]
    assert all(len(p.sample) == 20 for p in evals)
    assert all(p.tokens_per_sec > 0 and p.elapsed > 0 for p in progress)
    assert progress[-1].tokens_seen == 30 * 8 * 16 and progress[-1].time_left == 0
    assert [h["step"] for h in trainer.history] == [1, 10, 20, 30]
    assert set(trainer.history[0]) == {"step", "train_loss", "val_loss", "lr", "tokens", "elapsed"}


def test_stop_between_steps_and_time_budget(shakespeare):
    ds = shakespeare.dataset(16)
    model = gpt.build_model("bigram", vocab_size=65)
    trainer = gpt.Trainer(model, ds, gpt.TrainConfig(max_steps=1000, eval_interval=1000, eval_batches=1))
    steps = [p.step for p in trainer.run(should_stop=lambda: trainer.step >= 7)]
    assert steps[-1] == 7
    timed = gpt.Trainer(model, ds, gpt.TrainConfig(max_steps=10**6, time_budget=0.5, eval_interval=10**6,
                                                   eval_batches=1))
    last = list(timed.run())[-1]
    assert last.done and 0.5 <= last.elapsed < 5 and last.val_loss is not None


def test_schedule_warms_up_then_decays_by_cosine():
    config = gpt.TrainConfig(lr=1e-3, warmup_steps=10, min_lr_ratio=0.1)
    assert lr_at(config, 0, 0.0) == pytest.approx(1e-4)
    assert lr_at(config, 9, 0.0) == pytest.approx(1e-3)
    assert lr_at(config, 50, 0.5) == pytest.approx(1e-3 * (0.1 + 0.9 * 0.5))
    assert lr_at(config, 100, 1.0) == pytest.approx(1e-4)
    assert lr_at(config, 200, 2.0) == pytest.approx(1e-4)


@pytest.mark.parametrize("optimizer", ["adamw", "muon"])
def test_resume_continues_exactly(shakespeare, tmp_path, optimizer):
    """20 steps straight == 10 steps, save, load, 10 more: bit for bit, dropout and the
    optimizer's state (AdamW's moments, Muon's momentum) included."""
    ds = shakespeare.dataset(16)
    config = dict(max_steps=20, batch_size=8, warmup_steps=5, eval_interval=10, eval_batches=2, seed=3,
                  optimizer=optimizer, muon_lr_scale=2.0)

    def fresh():
        torch.manual_seed(0)
        return gpt.build_model("gpt", vocab_size=65, block_size=16, n_layer=1, n_head=2, n_embd=16, dropout=0.2)

    straight = fresh()
    run(straight, ds, **config)

    first = fresh()
    trainer = gpt.Trainer(first, ds, gpt.TrainConfig(**config))
    for p in trainer.run(should_stop=lambda: trainer.step >= 10):
        if p.val_loss is not None:
            trainer.save(tmp_path)
    assert trainer.step == 10
    resumed = checkpoint.load(tmp_path / "last")
    again = gpt.Trainer(resumed, ds, gpt.TrainConfig(**config))
    again.load_training_state(*checkpoint.load_training_state(tmp_path / "last"))
    list(again.run())
    for (name, a), b in zip(straight.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(a, b), name
    assert [h["step"] for h in again.history] == [1, 10, 20]
    assert (tmp_path / "best" / "model.safetensors").is_file()
    assert checkpoint.load_training_state(tmp_path / "best") is None


def test_muon_takes_the_hidden_matrices_and_adamw_the_rest():
    """Every parameter is trained by exactly one optimizer: Muon the blocks' (out, in)
    matrices, AdamW the embeddings (the tied head with them), gains and biases."""
    from gpt.optimizers import MuonWithAdamW

    model = gpt.build_model("gpt", vocab_size=65, block_size=16, n_layer=2, n_head=2, n_embd=16, bias=True)
    optimizer = MuonWithAdamW(model, gpt.TrainConfig(optimizer="muon", lr=1e-3, muon_lr_scale=3.0))
    names = {id(p): n for n, p in model.named_parameters()}
    muon = {names[id(p)] for g in optimizer.muon.param_groups for p in g["params"]}
    adamw = {names[id(p)] for g in optimizer.adamw.param_groups for p in g["params"]}
    expected = {f"blocks.{i}.{m}.weight" for i in range(2) for m in ("attn.qkv", "attn.proj", "mlp.up", "mlp.down")}
    assert muon == expected
    assert adamw == set(names.values()) - expected and "token_embedding.weight" in adamw
    assert optimizer.muon.param_groups[0]["lr"] == pytest.approx(3e-3)
    mlp = gpt.build_model("mlp", vocab_size=27, block_size=3, n_embd=10, n_hidden=50)
    mlp_optimizer = MuonWithAdamW(mlp, gpt.TrainConfig(optimizer="muon"))
    assert [p is mlp.hidden.weight for g in mlp_optimizer.muon.param_groups for p in g["params"]] == [True]
    with pytest.raises(gpt.UsageError, match="has none"):
        MuonWithAdamW(gpt.build_model("bigram", vocab_size=27), gpt.TrainConfig(optimizer="muon"))
    bigram_trainer = gpt.Trainer(gpt.build_model("bigram", vocab_size=65), gpt.Corpus.load("shakespeare").dataset(1),
                                 gpt.TrainConfig(optimizer="muon"))
    assert type(bigram_trainer.optimizer) is torch.optim.AdamW            # nothing for Muon: AdamW for the table
    with pytest.raises(gpt.UsageError, match="optimizer must be one of"):
        gpt.Trainer(model, gpt.Corpus.load("shakespeare").dataset(16), gpt.TrainConfig(optimizer="sgd"))


def test_muon_trains_a_gpt(shakespeare):
    ds = shakespeare.dataset(32)
    torch.manual_seed(0)
    model = gpt.build_model("gpt", vocab_size=65, block_size=32, n_layer=2, n_head=4, n_embd=32, dropout=0.0)
    trainer, progress = run(model, ds, max_steps=150, batch_size=16, lr=1e-2, warmup_steps=10,
                            eval_interval=1000, eval_batches=2, optimizer="muon")
    assert progress[-1].val_loss < model.run.bigram_val_loss


def test_bf16_autocast_trains(shakespeare):
    ds = shakespeare.dataset(16)
    model = gpt.build_model("gpt", vocab_size=65, block_size=16, n_layer=1, n_head=2, n_embd=32, dropout=0.0)
    _, progress = run(model, ds, max_steps=60, batch_size=16, lr=1e-2, warmup_steps=5, eval_interval=60,
                      eval_batches=2, bf16=True)
    assert model.token_embedding.weight.dtype == torch.float32
    assert math.isfinite(progress[-1].val_loss) and progress[-1].val_loss < 3.2


def test_the_trainer_keeps_the_models_history_and_run_record(shakespeare):
    ds = shakespeare.dataset(16)
    model = gpt.build_model("bigram", vocab_size=65)
    trainer, _ = run(model, ds, max_steps=20, batch_size=4, eval_interval=10, eval_batches=1)
    assert trainer.history is model.history and [h["step"] for h in model.history] == [1, 10, 20]
    assert (model.run.corpus, model.run.step, model.run.tokens_seen) == ("shakespeare", 20, 20 * 4 * 16)
    assert model.run.train_config == trainer.config and 2.4 < model.run.bigram_val_loss < 2.55


def test_done_is_reported_when_the_budget_runs_out_during_an_evaluation(shakespeare):
    """An evaluation long enough to spend the whole budget: the step it ends on is the last."""
    ds = shakespeare.dataset(16)
    model = gpt.build_model("gpt", vocab_size=65, block_size=16, n_layer=1, n_head=2, n_embd=16)
    trainer = gpt.Trainer(model, ds, gpt.TrainConfig(max_steps=10**6, time_budget=0.3, eval_interval=10**6,
                                                     eval_batches=1))
    slow_evaluate = trainer.evaluate

    def evaluate():
        time.sleep(0.35)
        return slow_evaluate()

    trainer.evaluate = evaluate
    progress = list(trainer.run())
    assert progress[-1].done and progress[-1].step == 1 and len(progress) == 1


def test_the_same_seed_gives_the_same_run_from_the_cli_builder(tmp_path):
    from gpt.train import build_trainer, parse_args

    args = parse_args(["--out", str(tmp_path), "--n-layer", "1", "--n-embd", "16", "--n-head", "2",
                       "--block-size", "16", "--seed", "5"])
    a, b = (build_trainer(args, torch.device("cpu")).model for _ in range(2))
    assert all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))
    assert a.config.n_layer == 1 and a.config.dropout == gpt.GPTConfig(vocab_size=65).dropout


def test_resume_refuses_without_a_complete_save_and_best_is_never_made_worse(shakespeare, tmp_path):
    from gpt.train import build_trainer, parse_args

    flags = ["--out", str(tmp_path), "--n-layer", "1", "--n-embd", "16", "--n-head", "2", "--block-size", "16"]
    # an empty folder: a new run
    assert build_trainer(parse_args(flags + ["--resume"]), torch.device("cpu")).step == 0
    good = build_trainer(parse_args(flags), torch.device("cpu"))
    good.model.history.append({"step": 9, "train_loss": 1.0, "val_loss": 1.2, "lr": 0, "tokens": 0, "elapsed": 0})
    good.save(tmp_path)
    import shutil

    shutil.rmtree(tmp_path / "last")                                  # best survives, last is gone
    with pytest.raises(checkpoint.CheckpointError, match="cannot resume"):
        build_trainer(parse_args(flags + ["--resume"]), torch.device("cpu"))
    fresh = build_trainer(parse_args(flags), torch.device("cpu"))       # a new run into the same folder
    fresh.model.history.append({"step": 1, "train_loss": 4.0, "val_loss": 4.1, "lr": 0, "tokens": 0, "elapsed": 0})
    assert not fresh.save(tmp_path)
    assert checkpoint.best_val_loss(tmp_path / "best") == 1.2


def test_training_runs_where_the_model_is(shakespeare, device, tmp_path):
    """Batches, evaluation, samples and the optimizer follow the model's device; a checkpoint
    saved from there loads on the CPU with the same weights."""
    ds = shakespeare.dataset(32)
    torch.manual_seed(0)
    model = gpt.build_model("gpt", vocab_size=65, block_size=32, n_layer=2, n_head=4, n_embd=64, dropout=0.0)
    model.to(device)
    trainer, progress = run(model, ds, max_steps=150, batch_size=32, lr=6e-3, warmup_steps=10, eval_interval=50,
                            eval_batches=2, sample_chars=20, bf16=device.type == "cuda")
    assert progress[-1].done and len(progress[-1].sample) == 20
    assert progress[-1].val_loss < progress[0].val_loss - 1.0
    trainer.save(tmp_path)
    on_cpu = checkpoint.load(tmp_path / "last", device="cpu")
    assert on_cpu.device.type == "cpu"
    for (name, a), b in zip(model.state_dict().items(), on_cpu.state_dict().values()):
        assert torch.equal(a.cpu(), b), name
    assert gpt.split_loss(on_cpu, ds, "val", max_batches=4) == pytest.approx(
        gpt.split_loss(model, ds, "val", max_batches=4), abs=1e-3)


def test_snapshots_follow_the_run_and_reproduce_their_val_loss(shakespeare, tmp_path):
    from gpt.snapshots import DiskSnapshots, MemorySnapshots

    ds = shakespeare.dataset(16)
    torch.manual_seed(0)
    model = gpt.build_model("gpt", vocab_size=65, block_size=16, n_layer=1, n_head=2, n_embd=16, dropout=0.0)
    memory = MemorySnapshots(max_count=4, dtype=torch.float32)
    trainer = gpt.Trainer(model, ds, gpt.TrainConfig(max_steps=60, batch_size=8, eval_interval=10, eval_batches=2),
                          snapshots=memory)
    list(trainer.run())
    assert memory.steps[0] == 0 and memory.steps[-1] == 60 and len(memory.steps) <= 4   # thinned, spread out
    assert model.history[0]["step"] == 0 and model.history[0]["val_loss"] > 4.0     # the untrained model, ~ln 65
    for step in memory.steps:
        at = memory.model_at(model, step)
        recorded = next(h["val_loss"] for h in at.history if h["step"] == step)
        assert trainer.evaluate(at)["val"] == pytest.approx(recorded, abs=1e-5)
    seeded = "".join(gpt.generate(memory.model_at(model, 60), "ROMEO:", 40, seed=3))
    assert seeded == "".join(gpt.generate(model, "ROMEO:", 40, seed=3))      # the last snapshot is the model
    disk = DiskSnapshots(tmp_path / "snapshots")
    torch.manual_seed(0)
    again = gpt.build_model("gpt", vocab_size=65, block_size=16, n_layer=1, n_head=2, n_embd=16, dropout=0.0)
    list(gpt.Trainer(again, ds, gpt.TrainConfig(max_steps=20, batch_size=8, eval_interval=10, eval_batches=2),
                     snapshots=disk).run())
    assert disk.steps == [0, 1, 10, 20]
    assert gpt.load(tmp_path / "snapshots" / "step-000010").run.step == 10
    chosen = DiskSnapshots(tmp_path / "chosen", steps=[0, 20], weights_dtype=torch.bfloat16)
    torch.manual_seed(0)
    third = gpt.build_model("gpt", vocab_size=65, block_size=16, n_layer=1, n_head=2, n_embd=16, dropout=0.0)
    list(gpt.Trainer(third, ds, gpt.TrainConfig(max_steps=20, batch_size=8, eval_interval=10, eval_batches=2),
                     snapshots=chosen).run())
    assert chosen.steps == [0, 20]
    assert gpt.load(tmp_path / "chosen" / "step-000020").run.weights_dtype == "bf16"
