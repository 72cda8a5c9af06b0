import pytest
import torch

import gpt
from gpt.ladder import RUNGS
from gpt.lecture import averaging_trick, scaling_demo
from gpt.metrics import bigram_counts


def test_the_three_averaging_versions_agree_and_attention_is_causal():
    trick = averaging_trick()
    assert all(trick.checks.values())
    torch.testing.assert_close(trick.weights_tril, trick.weights_softmax)
    w = trick.weights_attention
    torch.testing.assert_close(w.sum(-1), torch.ones(8))
    assert torch.all(w.triu(1) == 0)
    assert not torch.allclose(w, trick.weights_tril), "attention weights should depend on the data"
    assert trick.out_attention.shape == (8, 16)


def test_scaling_keeps_scores_at_unit_variance():
    demo = scaling_demo(head_size=64)
    assert 48 < demo.var_unscaled < 80 and 0.75 < demo.var_scaled < 1.25
    assert demo.mean_max_unscaled > 0.75 > 0.5 > demo.mean_max_scaled


def test_bigram_counts_like_makemore():
    dataset = gpt.Corpus.from_text("emma\nava\n", line_framed=True).dataset(3)
    counts = bigram_counts(dataset, ("train", "val"))
    chars = [{"\n": "."}.get(c, c) for c in dataset.tokenizer.chars]
    assert chars == [".", "a", "e", "m", "v"]
    i = {c: k for k, c in enumerate(chars)}
    assert counts[i["."], i["e"]] == 1 and counts[i["m"], i["m"]] == 1 and counts[i["a"], i["."]] == 2
    assert counts.sum() == 5 + 4


@pytest.mark.parametrize("rung", RUNGS[1:], ids=lambda r: r.name)
def test_every_rung_is_causal_and_shows_its_mixing(rung):
    torch.manual_seed(0)
    model = gpt.build_model(rung.model_type, vocab_size=65, **rung.arch).eval()
    x = torch.randint(65, (1, 20))
    logits, maps = model.attention_maps(x)
    torch.testing.assert_close(logits, model(x)[0], atol=1e-5, rtol=0)
    changed = x.clone()
    changed[0, 12] = (changed[0, 12] + 1) % 65
    assert torch.equal(model(changed)[0][:, :12], model(x)[0][:, :12])
    for weights in maps:
        torch.testing.assert_close(weights.sum(-1), torch.ones_like(weights.sum(-1)))
        assert torch.all(weights.triu(1) == 0)
    if rung.name == "average":
        assert torch.allclose(maps[0][0, 0, 3, :4], torch.full((4,), 0.25))


def test_the_counting_bigram_matches_a_dense_table(shakespeare):
    """counted_bigram_loss counts only the pairs that occur; a plain V x V table must agree."""
    from gpt.metrics import counted_bigram_loss

    dataset = shakespeare.dataset(8)
    counts = bigram_counts(dataset).double() + 1
    prev, nxt = dataset.bigram_pairs("val")
    dense = float(-(counts / counts.sum(1, keepdim=True)).log()[prev, nxt].mean())
    assert counted_bigram_loss(dataset) == pytest.approx(dense, rel=1e-12)
    assert 2.4 < dense < 2.55
