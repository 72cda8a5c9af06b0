import os
import tempfile

import pytest
import torch

# Tests run offline: the corpora ship with the library (gpt/corpora), the Hub is never asked.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
# Class boards are kept in a folder of their own, never in the checkout's data/
os.environ.setdefault("GPT_APP_DATA", tempfile.mkdtemp(prefix="tinyshakespeare-gpt-data-"))
torch.set_num_threads(1)


@pytest.fixture(scope="session")
def shakespeare():
    import gpt

    return gpt.Corpus.load("shakespeare")


@pytest.fixture(scope="session")
def names():
    import gpt

    return gpt.Corpus.load("names")


@pytest.fixture(scope="session")
def tiny_gpt(shakespeare):
    """A small GPT trained for a few seconds on Shakespeare: it has learned something."""
    import gpt

    dataset = shakespeare.dataset(32)
    model = gpt.build_model("gpt", vocab_size=dataset.tokenizer.vocab_size, block_size=32,
                            n_layer=2, n_head=4, n_embd=32, dropout=0.0)
    trainer = gpt.Trainer(model, dataset, gpt.TrainConfig(max_steps=150, batch_size=16, lr=1e-2,
                                                          warmup_steps=10, eval_interval=1000, eval_batches=2))
    for _ in trainer.run():
        pass
    model.history = trainer.history
    return model.eval()


def _device_param(name: str, available: bool):
    return pytest.param(name, marks=pytest.mark.skipif(not available, reason=f"no {name.upper()} device here"))


DEVICES = [
    _device_param("cpu", True),
    _device_param("cuda", torch.cuda.is_available()),
    _device_param("mps", torch.backends.mps.is_available()),
]


@pytest.fixture(params=DEVICES)
def device(request) -> torch.device:
    """Each test that takes `device` runs on the CPU and on every GPU present (skipped where absent)."""
    return torch.device(request.param)
