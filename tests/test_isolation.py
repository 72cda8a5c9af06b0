"""Many people share one model object: no one's request may change or break another's.

The app-level version (concurrent clients against a running app) is in test_app_isolation.py;
these check the same promises where they are kept: the lab's head edits, the sampler's
arithmetic and the batch decoder's rows.
"""
import concurrent.futures
import threading

import numpy as np
import pytest
import torch

import gpt
from gpt import lab
from gpt.generation import SamplingSettings, next_token_probs, sample_ids, scaled
from studio import decoding
from studio.zoo import ModelZoo


@pytest.fixture(scope="module")
def zoo():
    return ModelZoo("checkpoints")


@pytest.fixture(scope="module")
def model(zoo):
    return zoo.get("shakespeare-gpt")


PASSAGE = "First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak."


def greedy(model, prompt="ROMEO:\n", n=80):
    return "".join(gpt.generate(model, prompt, n, temperature=0))


def test_lab_instruments_running_together_on_one_model_each_give_what_they_give_alone(model):
    """Knockout, ablated regeneration, mean ablation, the logit lens, surprisal and plain
    generation from 12 threads at once, on the same model object: each equals its lone run."""
    jobs = {
        "knockout": lambda: lab.head_knockout(model, PASSAGE, heads=[(0, 1), (3, 2), (5, 0)]),
        "mean knockout": lambda: lab.head_knockout(model, PASSAGE[:60], heads=[(1, 1)], mode="mean"),
        "ablated": lambda: _ablated_text(model, [(0, 0), (0, 1), (0, 2), (0, 3), (0, 4), (0, 5)]),
        "lens": lambda: lab.logit_lens(model, PASSAGE),
        "surprisal": lambda: lab.surprisal(model, PASSAGE),
        "greedy": lambda: greedy(model),
    }
    alone = {name: job() for name, job in jobs.items()}
    assert alone["ablated"] != greedy(model, n=200)        # the ablation does change the text
    with concurrent.futures.ThreadPoolExecutor(12) as pool:
        futures = [(name, pool.submit(job)) for _ in range(2) for name, job in jobs.items()]
        for name, future in futures:
            got = future.result(timeout=300)
            if isinstance(got, str):
                assert got == alone[name], name
            else:
                np.testing.assert_array_equal(got, alone[name], err_msg=name)


def _ablated_text(model, heads):
    with lab.ablated(model, heads):
        return "".join(gpt.generate(model, "ROMEO:\n", 200, temperature=0.8, seed=0))


def test_an_ablation_is_not_seen_by_a_generation_running_beside_it(model):
    """The worst case of the old hooks: a generation started before an ablation and still
    running while it is in force (the KV cache of one, the edit of the other)."""
    expected = greedy(model, n=300)
    inside = threading.Event()
    release = threading.Event()

    def hold_an_ablation():
        with lab.ablated(model, [(layer, head) for layer in range(6) for head in range(6)]):
            inside.set()
            release.wait(60)

    holder = threading.Thread(target=hold_an_ablation)
    holder.start()
    inside.wait(10)
    try:
        assert greedy(model, n=300) == expected
    finally:
        release.set()
        holder.join()


@pytest.mark.parametrize("temperature", [1e-38, 1e-300, 5e-324, 1e-12])
def test_a_tiny_temperature_is_greedy_not_nan(model, temperature):
    logits = torch.tensor([[3.0, 1.0, 3.0 - 1e-3, -2.0], [0.0, 250.0, -1e30, 1e30]])
    probs = next_token_probs(logits, SamplingSettings(temperature))
    assert torch.isfinite(probs).all()
    torch.testing.assert_close(probs, torch.tensor([[1.0, 0, 0, 0], [0, 0, 0, 1.0]]))
    text = "".join(gpt.generate(model, "ROMEO:\n", 60, temperature=temperature, seed=3))
    assert text == greedy(model, n=60)


def test_ties_share_the_limit_of_a_tiny_temperature():
    probs = next_token_probs(torch.tensor([[2.0, 2.0, 1.0]]), SamplingSettings(1e-40))
    torch.testing.assert_close(probs, torch.tensor([[0.5, 0.5, 0.0]]))


def test_the_usual_temperatures_are_the_plain_quotient():
    logits = torch.randn(4, 65, generator=torch.Generator().manual_seed(0)) * 5
    for t in (0.05, 0.8, 1.0, 2.0):
        torch.testing.assert_close(scaled(logits, t), logits / t, rtol=0, atol=0)


def test_a_model_that_outputs_infinity_is_refused_in_words():
    with pytest.raises(ValueError, match="not a number"):
        next_token_probs(torch.tensor([[0.0, float("inf")]]), SamplingSettings(0.8))


def test_one_streams_failure_ends_that_stream_alone(model, monkeypatch):
    """A decoder row whose draw fails (here: made to fail for top-k 7) ends with that error;
    the rows decoding beside it, with the same and other settings, finish as they would alone."""
    real = decoding.next_token_probs

    def failing_for_top_k_7(logits, settings):
        if settings.top_k == 7:
            raise ValueError("this stream's settings cannot be sampled")
        return real(logits, settings)

    monkeypatch.setattr(decoding, "next_token_probs", failing_for_top_k_7)
    decoder = decoding.BatchDecoder(model, capacity=8)
    ids = model.tokenizer.encode("ROMEO:\n")
    good = [SamplingSettings(0.8), SamplingSettings(0.8, top_k=20), SamplingSettings(0.0)]
    bad = SamplingSettings(0.8, top_k=7)
    out, errors = {}, {}

    def run(k, settings):
        try:
            out[k] = [s.token for s in decoder.stream(ids, 300, settings, seed=k)]
        except ValueError as e:
            errors[k] = str(e)

    plan = [(k, good[k % 3]) for k in range(6)] + [(6, bad), (7, bad)]
    threads = [threading.Thread(target=run, args=job) for job in plan]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert set(errors) == {6, 7} and "cannot be sampled" in errors[6]
    for k, settings in plan[:6]:
        alone = [s.token for s in sample_ids(model, ids, 300, settings, seed=k)]
        assert out[k] == alone, k
    assert decoder.cache.active == 0


def test_a_prompt_that_cannot_be_prefilled_ends_its_own_stream(model):
    """Token ids past the vocabulary fail in the embedding: that request alone is refused."""
    decoder = decoding.BatchDecoder(model, capacity=4)
    ids = model.tokenizer.encode("ROMEO:\n")
    results = {}

    def run(name, prompt):
        try:
            results[name] = len(list(decoder.stream(prompt, 200, SamplingSettings(0.8), seed=1)))
        except Exception as e:
            results[name] = type(e).__name__

    threads = [threading.Thread(target=run, args=("good", ids)), threading.Thread(target=run, args=("bad", [10_000])),
               threading.Thread(target=run, args=("good2", ids))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert results["good"] == results["good2"] == 200
    assert results["bad"] == "IndexError"
