"""The lecture's activation and gradient statistics, checked against values computed by hand."""
import math

import pytest
import torch

import gpt
from gpt.diagnostics import Diagnostics


def test_a_saturated_tanh_layer_is_reported_as_the_lecture_would(names):
    """An MLP whose hidden weights are far too large saturates tanh (the lecture's white
    plot); the fractions, the dead units, the gradient spread and the update ratio match a
    computation done here by hand on the same batch."""
    dataset = names.dataset(3)
    torch.manual_seed(0)
    model = gpt.build_model("mlp", vocab_size=27, block_size=3, n_embd=10, n_hidden=64)
    with torch.no_grad():
        model.hidden.weight.mul_(20)                                   # pre-activations far beyond ±2
    diagnostics = Diagnostics(model, every=1)
    config = gpt.TrainConfig(max_steps=1, batch_size=256, lr=0.1, warmup_steps=1, weight_decay=0.0, grad_clip=0.0,
                             eval_interval=100, eval_batches=1)
    trainer = gpt.Trainer(model, dataset, config, diagnostics=diagnostics)
    rng = torch.Generator()
    rng.set_state(trainer.batch_rng.get_state())
    x, _ = dataset.batch("train", 256, rng)                           # the batch the step will see
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    with torch.no_grad():
        emb = model.embedding(torch.nn.functional.pad(x, (2, 0)).unfold(1, 3, 1)).flatten(2)
        h = torch.tanh(model.hidden(emb)).reshape(-1, 64)
    list(trainer.run())
    record = diagnostics.records[0]
    tanh = record.activations[0]
    assert (tanh.layer, tanh.kind, tanh.units) == ("act", "tanh", 64)
    assert tanh.saturated == pytest.approx(float((h.abs() > 0.97).float().mean()), abs=1e-6)
    assert tanh.saturated > 0.6
    assert tanh.dead == int((h.abs() > 0.97).all(0).sum())
    assert tanh.std == pytest.approx(float(h.std()), rel=1e-5) and sum(tanh.histogram[0]) == h.numel()
    grads = {s.name: s for s in record.parameters}
    w = dict(model.named_parameters())["hidden.weight"]
    expected = math.log10(float((w.detach() - before["hidden.weight"]).std()) / float(w.detach().std()))
    assert grads["hidden.weight"].update_ratio == pytest.approx(expected, abs=1e-6)
    assert set(grads) == {n for n, _ in model.named_parameters()} and all(s.grad_std > 0 for s in grads.values())


def test_the_gpt_reports_its_gelu_layers_only_on_watched_steps(shakespeare):
    dataset = shakespeare.dataset(16)
    model = gpt.build_model("gpt", vocab_size=65, block_size=16, n_layer=2, n_head=2, n_embd=16)
    diagnostics = Diagnostics(model, every=5)
    list(gpt.Trainer(model, dataset, gpt.TrainConfig(max_steps=12, batch_size=4, eval_interval=100, eval_batches=1),
                     diagnostics=diagnostics).run())
    assert [r.step for r in diagnostics.records] == [1, 5, 10]
    assert [a.layer for a in diagnostics.records[0].activations] == ["blocks.0.mlp.act", "blocks.1.mlp.act"]
    assert all(0 <= a.saturated <= 1 and a.units == 64 for a in diagnostics.records[-1].activations)
    assert not model.blocks[0].mlp.act._forward_hooks, "no hook stays behind after a watched step"
