"""The ONNX Runtime decoding step computes what the model's own step computes: the same
logits to float rounding, the same keys and values written into the cache, the same texts."""
import pytest
import torch

import gpt
from gpt import onnx_decoding
from gpt.generation import SamplingSettings, sample_ids
from gpt.model import RowCache, editing_heads

pytestmark = pytest.mark.skipif(onnx_decoding.ort is None, reason=onnx_decoding.MISSING_RUNTIME)


@pytest.fixture(scope="module")
def shipped():
    return gpt.load("checkpoints/shakespeare-gpt").eval()


def texts(model, engine, n, **kwargs):
    return "".join(gpt.generate(model, "ROMEO:\n", n, engine=engine, **kwargs))


def test_greedy_text_is_the_reference_text_for_2000_characters_past_the_block(shipped):
    n = shipped.block_size + 2000                     # 15 re-prefills of half a block on the way
    assert texts(shipped, "onnx", n, temperature=0) == texts(shipped, "torch", n, temperature=0)


@pytest.mark.parametrize("seed,settings", [(1, dict(temperature=0.8)), (2, dict(temperature=1.0, top_p=0.9)),
                                           (3, dict(temperature=1.2, top_k=20)), (4, dict(temperature=0.5))])
def test_seeded_texts_are_the_reference_texts(shipped, seed, settings):
    assert texts(shipped, "onnx", 400, seed=seed, **settings) == texts(shipped, "torch", 400, seed=seed, **settings)


def test_each_step_matches_the_models_step(shipped):
    """Logits of every step, and the distribution drawn from, agree to float rounding."""
    ids = shipped.tokenizer.encode("JULIET:\nO Romeo, Romeo! wherefore art thou")
    settings = SamplingSettings(0.8)
    fast, ref = (list(sample_ids(shipped, ids, 300, settings, seed=5, engine=e)) for e in ("onnx", "torch"))
    assert [s.token for s in fast] == [s.token for s in ref]
    for a, b in zip(fast, ref):
        torch.testing.assert_close(a.logits, b.logits, rtol=0, atol=1e-4)


@torch.inference_mode()
def test_rows_of_different_lengths_step_together_as_decode_rows_does(shipped):
    """Four texts of different lengths in a RowCache: three steps give decode_rows' logits
    and write the same keys and values, each row at its own position."""
    prompts = ["ROMEO:\nWhat", "JULIET:\nO Romeo, Romeo! wherefore", "A", "KING HENRY:\nOnce more unto the breach"]
    ref, fast = RowCache(shipped.config, 6), RowCache(shipped.config, 6)
    for row, prompt in enumerate(prompts):
        single = shipped.new_cache()
        shipped(torch.tensor([shipped.tokenizer.encode(prompt)]), cache=single)
        for cache in (ref, fast):
            cache.active += 1
            cache.load_row(row, single)
    advance = onnx_decoding.decode_step(shipped).bind(fast)
    tokens = torch.tensor([5, 6, 7, 8])
    for _ in range(3):
        expected = shipped.decode_rows(tokens, ref)
        got = advance(tokens, fast.lengths[:4])
        fast.lengths[:4] += 1
        torch.testing.assert_close(got, expected, rtol=0, atol=1e-4)
        tokens = expected.argmax(-1)
    for a, b in ((fast.keys, ref.keys), (fast.values, ref.values)):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-5)
    assert (fast.keys[:, 4:] == 0).all()                  # rows not in use were never written


@pytest.mark.parametrize("bias,tie", [(True, False), (False, True)])
def test_any_gpt_config_exports(bias, tie):
    """Biases, untied heads, odd sizes: the step follows the config."""
    torch.manual_seed(0)
    model = gpt.GPT(gpt.GPTConfig(vocab_size=11, block_size=16, n_layer=3, n_head=3, n_embd=24, dropout=0.0,
                                  bias=bias, tie_weights=tie)).eval()
    for p in model.parameters():                          # biases are zero at init: make them count
        torch.nn.init.normal_(p, std=0.3)
    with torch.inference_mode():
        ref, fast = model.new_cache(), model.new_cache()
        ids = torch.tensor([[1, 4, 2, 7]])
        model(ids, cache=ref)
        model(ids, cache=fast)
        advance = onnx_decoding.decode_step(model).bind(fast)
        for token in (3, 9, 0):
            expected = model(torch.tensor([[token]]), cache=ref)[0][0, -1]
            got = advance(torch.tensor([token]), torch.tensor([fast.length]))[0]
            fast.length += 1
            torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-4)


def test_the_step_is_rebuilt_when_the_weights_change(tiny_gpt):
    """A notebook trains a model, generates, trains more, generates: the second text is the
    new weights' text, not the first build's."""
    model = gpt.GPT(tiny_gpt.config)
    model.load_state_dict(tiny_gpt.state_dict())
    model.tokenizer = tiny_gpt.tokenizer
    model.eval()
    first = onnx_decoding.decode_step(model)
    assert onnx_decoding.decode_step(model) is first
    with torch.no_grad():
        model.blocks[0].mlp.up.weight.mul_(1.5)           # in place, as an optimizer step is
    assert onnx_decoding.decode_step(model) is not first
    assert texts(model, "onnx", 150, temperature=0) == texts(model, "torch", 150, temperature=0)


def test_head_edits_decode_with_the_model_itself(shipped):
    """Under editing_heads the ONNX graph (which knows nothing of edits) steps aside."""
    head = shipped.blocks[2].attn.heads

    def without_head_0(y):
        y = y.clone()
        y[:, 0] = 0
        return y

    with editing_heads({head: without_head_0}):
        edited = texts(shipped, "auto", 200, temperature=0)
        edited_reference = texts(shipped, "torch", 200, temperature=0)
    assert edited == edited_reference
    assert edited != texts(shipped, "auto", 200, temperature=0)


def test_where_onnx_cannot_run_auto_falls_back_and_onnx_says_why(shipped, monkeypatch):
    bigram = gpt.load("checkpoints/shakespeare-bigram")
    assert texts(bigram, "auto", 50, seed=1) == texts(bigram, "torch", 50, seed=1)
    with pytest.raises(gpt.UsageError, match="only the GPT"):
        texts(bigram, "onnx", 5, seed=1)
    with pytest.raises(gpt.UsageError, match="engine must be one of"):
        texts(shipped, "tensorrt", 5)
    monkeypatch.setattr(onnx_decoding, "ort", None)      # as on a machine without onnxruntime
    assert onnx_decoding.decode_step(shipped) is None
    assert texts(shipped, "auto", 80, seed=2) == texts(shipped, "torch", 80, seed=2)
    with pytest.raises(gpt.UsageError, match="not installed"):
        texts(shipped, "onnx", 5)


def test_the_batch_decoder_steps_through_onnx():
    from studio.zoo import ModelZoo

    assert ModelZoo("checkpoints").decoder("shakespeare-gpt")._advance is not None
