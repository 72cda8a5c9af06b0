import threading

import pytest
import torch

import gpt
from gpt.generation import SamplingSettings, sample_ids
from gpt.model import editing_heads

V = 65


def small_gpt(block_size=16, **overrides):
    torch.manual_seed(0)
    config = dict(vocab_size=V, block_size=block_size, n_layer=2, n_head=4, n_embd=32, dropout=0.0)
    config.update(overrides)
    return gpt.build_model("gpt", **config).eval()


ALL_MODELS = {
    "bigram": lambda: gpt.build_model("bigram", vocab_size=V),
    "mlp": lambda: gpt.build_model("mlp", vocab_size=V, block_size=4),
    "gpt": lambda: small_gpt(),
    "gpt-bias-untied": lambda: small_gpt(bias=True, tie_weights=False),
}


@pytest.mark.parametrize("name", ALL_MODELS)
def test_same_interface_and_causality(name, device):
    torch.manual_seed(1)
    model = ALL_MODELS[name]()
    with torch.no_grad():   # give the zero-initialised bigram something to say
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    model.to(device)
    x = torch.randint(V, (2, 16), device=device)
    y = torch.randint(V, (2, 16), device=device)
    logits, loss = model(x, y)
    assert logits.shape == (2, 16, V) and loss.ndim == 0
    assert model(x)[1] is None
    changed = x.clone()
    changed[:, 9] = (changed[:, 9] + 1) % V
    new_logits, _ = model(changed)
    assert torch.equal(new_logits[:, :9], logits[:, :9]), "a future token changed an earlier prediction"
    assert not torch.allclose(new_logits[:, 9:], logits[:, 9:]), "the changed token changed nothing"


def test_initial_losses_are_near_uniform():
    x, y = torch.randint(V, (4, 16)), torch.randint(V, (4, 16))
    for name in ("bigram", "mlp", "gpt"):
        _, loss = ALL_MODELS[name]()(x, y)
        assert abs(loss.item() - torch.log(torch.tensor(V)).item()) < 0.15, name


def test_kv_cache_equals_full_recomputation(device):
    model = small_gpt(block_size=32).to(device)
    x = torch.randint(V, (3, 32), device=device)
    full, _ = model(x)
    cache = model.new_cache(batch_size=3)
    pieces = [model(x[:, :7], cache=cache)[0]]            # prefill a prompt
    pieces += [model(x[:, t:t + 1], cache=cache)[0] for t in range(7, 32)]   # then one at a time
    assert cache.length == 32
    assert cache.keys.device.type == device.type
    torch.testing.assert_close(torch.cat(pieces, dim=1), full, atol=1e-4 if device.type == "cuda" else 1e-5, rtol=0)
    with pytest.raises(ValueError, match="block size"):
        model(x[:, :1], cache=cache)


def test_attention_weights_match_the_fast_path(device):
    model = small_gpt().to(device)
    x = torch.randint(V, (2, 16), device=device)
    fast, _ = model(x)
    logits, maps = model.attention_maps(x)
    torch.testing.assert_close(logits, fast, atol=1e-4 if device.type == "cuda" else 1e-5, rtol=0)
    assert len(maps) == 2
    for weights in maps:
        assert weights.shape == (2, 4, 16, 16)
        torch.testing.assert_close(weights.sum(-1), torch.ones(2, 4, 16, device=device))
        assert torch.all(weights.triu(diagonal=1) == 0)
        assert torch.all(weights.diagonal(dim1=-2, dim2=-1) > 0)


def test_dropout_is_active_only_in_training():
    model = small_gpt(dropout=0.5)
    x = torch.randint(V, (1, 16))
    assert torch.equal(model(x)[0], model(x)[0])
    model.train()
    assert not torch.equal(model(x)[0], model(x)[0])


def test_cached_generation_matches_recomputation_and_runs_past_the_block(device):
    model = small_gpt(block_size=16).to(device)
    model.tokenizer = gpt.CharTokenizer([chr(32 + i) for i in range(V)])
    greedy = SamplingSettings(temperature=0)
    prompt = [1, 2, 3]
    cached = [s.token for s in sample_ids(model, prompt, 13, greedy)]
    recomputed = [s.token for s in sample_ids(model, prompt, 13, greedy, use_cache=False)]
    assert cached == recomputed, "within one block the cache must not change the text"
    long = [s.token for s in sample_ids(model, prompt, 100, SamplingSettings(), seed=0)]
    assert len(long) == 100
    long_prompt = list(range(V)) * 2        # longer than the block: cropped to its end
    assert len([s for s in sample_ids(model, long_prompt, 20, greedy)]) == 20


def test_parameter_counts():
    assert gpt.build_model("bigram", vocab_size=V).num_params() == V * V
    mlp = gpt.build_model("mlp", vocab_size=27, block_size=3, n_embd=10, n_hidden=200)
    assert mlp.num_params() == 27 * 10 + 30 * 200 + 200 + 200 * 27 + 27   # makemore's 11,897
    tied, untied = small_gpt(), small_gpt(tie_weights=False)
    assert untied.num_params() - tied.num_params() == V * 32


def test_bad_settings_are_rejected():
    with pytest.raises(ValueError, match="multiple of n_head"):
        gpt.build_model("gpt", vocab_size=V, n_embd=30, n_head=4)
    with pytest.raises(ValueError, match="no setting"):
        gpt.build_model("mlp", vocab_size=V, n_layer=3)
    with pytest.raises(ValueError, match="unknown model type"):
        gpt.build_model("rnn", vocab_size=V)


def test_embed_blocks_unembed_is_the_forward_pass():
    model = small_gpt()
    x = torch.randint(V, (2, 16))
    stream = model.embed(x)
    for block in model.blocks:
        stream, _ = block(stream)
    torch.testing.assert_close(model.unembed(stream), model(x)[0], atol=0, rtol=0)


def test_a_head_edit_knocks_out_a_head_like_zeroing_its_projection_columns():
    """Zeroing head h's output before the projection == removing the projection's columns
    that read head h: an independent way to compute the same knockout."""
    model = small_gpt()
    x = torch.randint(V, (2, 16))
    layer, head, hs = 1, 2, 32 // 4
    attn = model.blocks[layer].attn

    def knock_out(output):                        # output: (B, n_head, T, head_size)
        output = output.clone()
        output[:, head] = 0
        return output

    untouched = model(x)[0]
    with editing_heads({attn.heads: lambda o: o}):
        torch.testing.assert_close(model(x)[0], untouched, atol=0, rtol=0)
    with editing_heads({attn.heads: knock_out}):
        edited = model(x)[0]
    reference = small_gpt()
    with torch.no_grad():
        reference.blocks[layer].attn.proj.weight[:, head * hs:(head + 1) * hs] = 0
    torch.testing.assert_close(edited, reference(x)[0], atol=1e-6, rtol=0)
    assert not torch.allclose(edited, untouched)
    torch.testing.assert_close(model(x)[0], untouched, atol=0, rtol=0)   # the edit is gone


def test_a_head_edit_is_seen_only_by_the_thread_that_made_it():
    """Another thread's passes through the same model object, during the edit, are intact."""
    model = small_gpt()
    x = torch.randint(V, (2, 16))
    untouched = model(x)[0]
    inside, other_done = threading.Event(), threading.Event()
    seen = {}

    def other_thread():
        inside.wait(10)
        seen["other"] = model(x)[0]
        other_done.set()

    worker = threading.Thread(target=other_thread)
    worker.start()
    with editing_heads({block.attn.heads: torch.zeros_like for block in model.blocks}):
        inside.set()
        other_done.wait(10)
        seen["mine"] = model(x)[0]
    worker.join()
    torch.testing.assert_close(seen["other"], untouched, atol=0, rtol=0)
    assert not torch.allclose(seen["mine"], untouched)


def test_models_declare_what_they_can_do():
    bigram, mlp, model = ALL_MODELS["bigram"](), ALL_MODELS["mlp"](), small_gpt()
    assert bigram.new_cache() is None and mlp.new_cache() is None and model.new_cache() is not None
    assert not bigram.has_attention and "previous character" in bigram.no_attention_reason
    assert "last 4 characters" in mlp.no_attention_reason and model.has_attention
    with pytest.raises(ValueError, match="no attention"):
        mlp.attention_maps(torch.zeros(1, 4, dtype=torch.long))
    assert model.training_window(line_framed=False) == 16
    assert mlp.training_window(line_framed=False) == 64 and mlp.training_window(line_framed=True) == 4


def test_parameters_are_counted_without_allocating():
    assert gpt.count_params("gpt", vocab_size=V, n_layer=2, n_head=4, n_embd=32, block_size=16) == \
        small_gpt().num_params()
    assert gpt.count_params("gpt", vocab_size=V, n_layer=48, n_embd=8192, n_head=64) > 3e10   # instant, no memory


def test_rows_of_different_lengths_decode_together_as_each_would_alone(device):
    """A RowCache holds texts of different lengths; one decode_rows step for all of them
    gives each the logits it would get alone, and dropping a row keeps the others intact."""
    from gpt.model import RowCache

    model = small_gpt(block_size=32).to(device)
    texts = [torch.randint(V, (n,), device=device) for n in (5, 12, 1, 20)]
    rows = RowCache(model.config, capacity=8, device=device)
    for i, ids in enumerate(texts):
        single = model.new_cache()
        model(ids[None], cache=single)
        rows.load_row(i, single)
        rows.active += 1
    nxt = torch.randint(V, (4,), device=device)
    batched = model.decode_rows(nxt, rows)
    for i, ids in enumerate(texts):
        alone = model(torch.cat([ids, nxt[i:i + 1]])[None])[0][0, -1]
        torch.testing.assert_close(batched[i], alone, atol=1e-4, rtol=0)
    rows.drop_row(1)                                        # the last row moves into slot 1
    again = model.decode_rows(nxt[[0, 3, 2]], rows)
    alone = model(torch.cat([texts[3], nxt[3:4], nxt[3:4]])[None])[0][0, -1]
    torch.testing.assert_close(again[1], alone, atol=1e-4, rtol=0)
    assert rows.lengths[:3].tolist() == [7, 22, 3]
