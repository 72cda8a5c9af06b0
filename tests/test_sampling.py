import pytest
import torch

import gpt
from gpt.generation import SamplingSettings, next_token_probs


def test_seeded_sampling_is_reproducible(tiny_gpt):
    a = "".join(gpt.generate(tiny_gpt, "ROMEO:", 80, temperature=1.0, seed=7))
    b = "".join(gpt.generate(tiny_gpt, "ROMEO:", 80, temperature=1.0, seed=7))
    c = "".join(gpt.generate(tiny_gpt, "ROMEO:", 80, temperature=1.0, seed=8))
    assert a == b and len(a) == 80
    assert a != c


def test_temperature_zero_is_greedy_and_deterministic(tiny_gpt):
    a = "".join(gpt.generate(tiny_gpt, "First Citizen:\n", 40, temperature=0, seed=1))
    b = "".join(gpt.generate(tiny_gpt, "First Citizen:\n", 40, temperature=0, seed=2))
    assert a == b
    ids = tiny_gpt.tokenizer.encode("First Citizen:\n")
    logits, _ = tiny_gpt(torch.tensor([ids]))
    assert a[0] == tiny_gpt.tokenizer.chars[int(logits[0, -1].argmax())]


def test_generate_streams_pieces(tiny_gpt):
    pieces = list(gpt.generate(tiny_gpt, "", 25, seed=0))
    assert len(pieces) == 25 and all(isinstance(p, str) and len(p) == 1 for p in pieces)
    assert list(gpt.generate(tiny_gpt, "A", 0)) == []


def test_unknown_prompt_characters(tiny_gpt):
    with pytest.raises(gpt.UnknownCharactersError, match="'é'"):
        list(gpt.generate(tiny_gpt, "Roméo", 5))
    assert len("".join(gpt.generate(tiny_gpt, "Roméo", 5, unknown="drop", seed=0))) == 5


def test_top_k_and_top_p_restrict_the_support():
    logits = torch.tensor([4.0, 3.0, 2.0, 1.0, 0.0])
    top2 = next_token_probs(logits, SamplingSettings(top_k=2))
    assert (top2[2:] == 0).all() and torch.isclose(top2.sum(), torch.tensor(1.0))
    probs = logits.softmax(-1)      # 0.636, 0.234, 0.086, ...
    nucleus = next_token_probs(logits, SamplingSettings(top_p=0.8))
    assert (nucleus > 0).tolist() == [True, True, False, False, False]
    torch.testing.assert_close(nucleus[:2], probs[:2] / probs[:2].sum())
    assert next_token_probs(logits, SamplingSettings(top_p=0.5)).tolist() == [1.0, 0, 0, 0, 0]
    hot = next_token_probs(logits, SamplingSettings(temperature=2.0))
    assert hot[0] < probs[0]


def test_sampling_follows_the_distribution():
    model = gpt.build_model("bigram", vocab_size=3)
    model.tokenizer = gpt.CharTokenizer("abc")
    with torch.no_grad():
        model.logits_table.weight.copy_(torch.log(torch.tensor([[0.7, 0.2, 0.1]] * 3)))
    text = "".join(gpt.generate(model, "a", 3000, seed=0))
    assert abs(text.count("a") / 3000 - 0.7) < 0.03
    assert "c" not in "".join(gpt.generate(model, "a", 500, top_k=2, seed=0))


@pytest.mark.parametrize("kwargs", [dict(temperature=-1), dict(temperature=11), dict(top_k=0),
                                    dict(top_p=0), dict(top_p=1.5)])
def test_bad_settings(tiny_gpt, kwargs):
    with pytest.raises(ValueError):
        list(gpt.generate(tiny_gpt, "A", 5, **kwargs))


def test_a_generation_can_be_resumed_on_other_threads(tiny_gpt):
    """Web servers advance a streaming generator from whichever worker thread is free."""
    import concurrent.futures

    stream = gpt.generate(tiny_gpt, "ROMEO:", 40, seed=4)
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        pieces = [pool.submit(next, stream).result() for _ in range(40)]
    assert "".join(pieces) == "".join(gpt.generate(tiny_gpt, "ROMEO:", 40, seed=4))


def test_unseeded_sampling_leaves_the_global_random_state_alone(tiny_gpt):
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    a = "".join(gpt.generate(tiny_gpt, "ROMEO:", 30))
    b = "".join(gpt.generate(tiny_gpt, "ROMEO:", 30))
    assert torch.equal(torch.rand(3), expected)
    assert a != b, "two unseeded generations should differ"


def test_sampling_runs_where_the_model_is(tiny_gpt, device):
    """Every tensor the sampler makes follows the model's device; greedy text is the same."""
    import copy

    moved = copy.deepcopy(tiny_gpt).to(device)
    greedy = "".join(gpt.generate(tiny_gpt, "ROMEO:", 60, temperature=0))
    assert "".join(gpt.generate(moved, "ROMEO:", 60, temperature=0)) == greedy
    assert len("".join(gpt.generate(moved, "ROMEO:", 300, temperature=0.8, seed=1))) == 300   # past the block


def test_the_sampler_builds_its_inputs_on_the_models_device(tiny_gpt):
    """On a machine without a GPU: a stand-in model that reports another device and refuses
    inputs from anywhere else, so a tensor built on the wrong device fails here too."""

    class Elsewhere(torch.nn.Module):
        def __init__(self, model):
            super().__init__()
            self.inner, self.tokenizer, self.run, self.block_size = model, model.tokenizer, model.run, model.block_size

        device = torch.device("meta")

        def new_cache(self):
            return None

        def forward(self, idx, **kwargs):
            assert idx.device.type == "meta", f"the sampler built an input on {idx.device}"
            real = torch.zeros(idx.shape, dtype=torch.long)
            return self.inner(real)

    steps = list(gpt.sample_ids(Elsewhere(tiny_gpt), [1, 2, 3], 5, SamplingSettings(), seed=0))
    assert len(steps) == 5


def test_a_model_with_broken_weights_is_a_clear_error_not_a_crash(tiny_gpt):
    import copy

    broken = copy.deepcopy(tiny_gpt)
    with torch.no_grad():
        broken.blocks[0].mlp.up.weight.fill_(float("nan"))
    with pytest.raises(ValueError, match="weights are broken"):
        list(gpt.generate(broken, "ROMEO:", 5, seed=0))
