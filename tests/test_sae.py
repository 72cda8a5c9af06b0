"""The sparse autoencoder: each figure against an independent computation."""
import threading

import pytest
import torch
import torch.nn.functional as F

import gpt
from gpt import sae as S
from gpt.model import model_edited


@pytest.fixture(scope="module")
def trained(tiny_gpt, shakespeare):
    ids = tiny_gpt.dataset_for(shakespeare).splits
    sae = S.train_sae(tiny_gpt, ids["train"], S.SAEConfig(layer=0, n_features=128, k=8),
                      S.SAETraining(positions=20_000, epochs=2, batch_size=512, lr=3e-3))
    return sae, ids["val"]


def by_hand_stream(model, idx, layer):
    x = model.token_embedding(idx) + model.position_embedding.weight[:idx.size(1)]
    for block in model.blocks[:layer + 1]:
        x = block(x)[0]
    return x


def test_codes_are_the_top_k_of_the_relu_pre_activations(trained):
    sae, _ = trained
    x = torch.randn(50, sae.config.d_model)
    codes = sae.encode(x)
    assert ((codes > 0).sum(-1) <= sae.config.k).all() and (codes >= 0).all()
    pre = (x - sae.b_dec) @ sae.W_enc + sae.b_enc
    for row, p in zip(codes, pre):
        kept = p.topk(sae.config.k).indices
        expected = torch.zeros_like(p)
        expected[kept] = p[kept].clamp(min=0)
        torch.testing.assert_close(row, expected)
    torch.testing.assert_close(sae.W_dec.norm(dim=-1), torch.ones(sae.config.n_features))


@torch.no_grad()
def test_quality_matches_a_splice_done_by_hand(trained, tiny_gpt):
    sae, val = trained
    q = S.quality(sae, tiny_gpt, val, windows=16, seed=4)
    idx = S.stream_windows(tiny_gpt, val, 16, torch.Generator().manual_seed(4))
    inputs, targets = idx[:, :-1], idx[:, 1:]
    x = by_hand_stream(tiny_gpt, inputs, 0)
    x_hat = sae.decode(sae.encode(x))
    assert q.fvu == pytest.approx(float(((x_hat - x) ** 2).sum() / ((x - x.mean((0, 1))) ** 2).sum()), rel=1e-4)

    def loss_from(stream):
        for block in tiny_gpt.blocks[1:]:
            stream = block(stream)[0]
        logits = tiny_gpt.unembed(stream)
        return float(F.cross_entropy(logits.reshape(-1, logits.size(-1)), targets.reshape(-1)))

    clean, spliced, ablated = loss_from(x), loss_from(x_hat), loss_from(x.mean((0, 1)).expand_as(x))
    assert (q.clean_loss, q.spliced_loss, q.ablated_loss) == pytest.approx((clean, spliced, ablated), rel=1e-4)
    assert q.recovered == pytest.approx((ablated - spliced) / (ablated - clean), rel=1e-4)
    assert q.l0 <= sae.config.k and 0 <= q.dead_fraction <= 1
    assert q.fvu < 0.5 and q.recovered > 0.5                   # it learned something


@torch.no_grad()
def test_top_contexts_equal_a_fresh_scan(trained, tiny_gpt):
    """A text shorter than the block is one window: the tables' top positions are the top-k
    of every feature's activations over it."""
    sae, val = trained
    text = val[:tiny_gpt.block_size]
    tables = S.feature_tables(sae, tiny_gpt, text, top=5)
    codes = sae.encode(by_hand_stream(tiny_gpt, text[None], 0))[0]          # (T, n_features)
    for f in (0, 7, 31, 100):
        values, positions = codes[:, f].topk(5)
        torch.testing.assert_close(tables.top_values[f], values)
        fired = values > 0
        assert tables.top_positions[f][fired].tolist() == positions[fired].tolist()
        assert tables.density[f] == pytest.approx(float((codes[:, f] > 0).float().mean()))
        at = int(positions[0])
        assert float(tables.shading[f, 0, S.CONTEXT_BEFORE]) == pytest.approx(float(values[0]), rel=1e-2)
        if at >= 1:
            assert float(tables.shading[f, 0, S.CONTEXT_BEFORE - 1]) == pytest.approx(float(codes[at - 1, f]),
                                                                                         rel=1e-2, abs=1e-3)


def test_the_logit_effect_reads_the_direction_through_the_head(trained, tiny_gpt):
    sae, _ = trained
    effect = S.logit_effect(sae, tiny_gpt)
    f = 3
    expected = tiny_gpt.head.weight @ (tiny_gpt.ln_f.weight * sae.W_dec[f])
    torch.testing.assert_close(effect[f], expected.detach())


def test_steering_at_zero_changes_nothing_and_leaves_no_edit_behind(trained, tiny_gpt):
    sae, _ = trained
    plain = "".join(gpt.generate(tiny_gpt, "ROMEO:", 80, seed=2))
    with S.steering(tiny_gpt, sae, 5, 0.0):
        assert model_edited()
        same = "".join(gpt.generate(tiny_gpt, "ROMEO:", 80, seed=2))
    assert same == plain and not model_edited()
    with S.steering(tiny_gpt, sae, 5, 30.0):
        steered = "".join(gpt.generate(tiny_gpt, "ROMEO:", 80, seed=2))
        by_torch = "".join(gpt.generate(tiny_gpt, "ROMEO:", 80, seed=2, engine="torch"))
    assert steered != plain and steered == by_torch          # the fast step stepped aside
    with pytest.raises(gpt.UsageError, match="feature must be"):
        with S.steering(tiny_gpt, sae, 10_000, 1.0):
            pass


def test_steering_belongs_to_the_calling_thread(trained, tiny_gpt):
    sae, _ = trained
    plain = "".join(gpt.generate(tiny_gpt, "ROMEO:", 120, seed=3))
    other = []
    started = threading.Event()

    def elsewhere():
        started.wait()
        other.append("".join(gpt.generate(tiny_gpt, "ROMEO:", 120, seed=3)))

    thread = threading.Thread(target=elsewhere)
    thread.start()
    with S.steering(tiny_gpt, sae, 5, 30.0):
        started.set()
        "".join(gpt.generate(tiny_gpt, "ROMEO:", 120, seed=3))
        thread.join()
    assert other == [plain]


@torch.no_grad()
def test_clamping_holds_the_feature_at_its_value_and_keeps_the_sae_error(trained, tiny_gpt):
    sae, val = trained
    idx = val[None, :tiny_gpt.block_size]
    x = by_hand_stream(tiny_gpt, idx, 0)
    codes = sae.encode(x)
    feature = int(codes[0].gt(0).sum(0).argmax())              # one that fires somewhere in the text
    for value in (0.0, 3.0):
        with S.clamping(tiny_gpt, sae, feature, value):
            assert model_edited()
            logits, _ = tiny_gpt(idx)
        # by hand: the feature's code replaced by `value`, the SAE's error term kept
        clamped_codes = codes.clone()
        clamped_codes[..., feature] = value
        stream = sae.decode(clamped_codes) + (x - sae.decode(codes))
        for block in tiny_gpt.blocks[1:]:
            stream = block(stream)[0]
        torch.testing.assert_close(logits, tiny_gpt.unembed(stream), rtol=1e-4, atol=1e-4)
    assert not model_edited()
    plain = "".join(gpt.generate(tiny_gpt, "ROMEO:", 60, seed=2))
    with S.clamping(tiny_gpt, sae, feature, 20.0):
        held = "".join(gpt.generate(tiny_gpt, "ROMEO:", 60, seed=2))
    assert held != plain
    with pytest.raises(gpt.UsageError, match="value must be a finite"):
        with S.clamping(tiny_gpt, sae, feature, float("nan")):
            pass


def test_save_and_load_round_trip(trained, tmp_path):
    sae, _ = trained
    S.save_sae(sae, tmp_path / "sae", {"quality": {"fvu": 0.1}})
    again = S.load_sae(tmp_path / "sae")
    x = torch.randn(10, sae.config.d_model)
    torch.testing.assert_close(again.encode(x), sae.encode(x))
    torch.testing.assert_close(again.decode(again.encode(x)), sae.decode(sae.encode(x)))
    (tmp_path / "sae" / S.SAE_WEIGHTS).write_bytes(b"not safetensors")
    with pytest.raises(gpt.UsageError, match="not a readable SAE"):
        S.load_sae(tmp_path / "sae")


def test_an_sae_needs_a_gpt_and_a_layer_it_has(tiny_gpt):
    bigram = gpt.build_model("bigram", vocab_size=65)
    with pytest.raises(gpt.UsageError, match="residual stream"):
        S.train_sae(bigram, torch.arange(100), S.SAEConfig(layer=0))
    with pytest.raises(gpt.UsageError, match="layer must be"):
        S.train_sae(tiny_gpt, torch.arange(100), S.SAEConfig(layer=9))
