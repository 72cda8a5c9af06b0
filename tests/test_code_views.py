"""The code behind each view: the lines shown are the files' own, the shapes are measured."""
from __future__ import annotations

import sys
import textwrap
import threading
from pathlib import Path

import pytest

import gpt
from gpt.introspect import attention_maps
from gpt.model import CausalSelfAttention
from studio.code_views import LECTURE, ROOT, code_markdown, excerpt, resolve, source_link, traced_shapes
from ui import code_views

VIEWS = code_views()          # the tabs' and the Lab instruments'
SHIPPED = Path(__file__).resolve().parents[1] / "checkpoints" / "shakespeare-gpt"


@pytest.fixture(scope="module")
def shipped():
    return gpt.load(SHIPPED)


@pytest.mark.parametrize("view", sorted(VIEWS))
def test_every_excerpt_is_the_file_as_it_is(view):
    for name in VIEWS[view].functions:
        e = excerpt(name)
        lines = (ROOT / e.path).read_text().splitlines()
        assert e.path.startswith("gpt/") and 1 <= e.first <= e.last <= len(lines)
        assert e.source == textwrap.dedent("\n".join(lines[e.first - 1:e.last]) + "\n").rstrip()
        head = lines[e.first - 1].strip()
        assert head.startswith(("def ", "@")) and e.name.split(".")[-1] in "\n".join(lines[e.first - 1:e.last])


def test_decorated_functions_show_their_own_body():
    ablated = excerpt("gpt.lab.ablated")                       # a @contextmanager
    assert "def ablated(" in ablated.source and ablated.code is resolve("gpt.lab.ablated").__code__
    assert "def attention_maps(" in excerpt("gpt.introspect.attention_maps").source    # under inference_mode


def test_shapes_are_measured_on_the_model(shipped):
    text = "ROMEO:\nBut soft, what light"
    shapes = traced_shapes(lambda: attention_maps(shipped, text), {CausalSelfAttention.forward.__code__})
    config = shipped.config
    T, hs = len(text), config.n_embd // config.n_head
    got = shapes[CausalSelfAttention.forward.__code__]
    assert got["x"] == (1, T, config.n_embd)
    assert got["q"] == got["k"] == got["v"] == (1, config.n_head, T, hs)
    assert sys.gettrace() is None                              # the tracer is gone after the run


def test_a_trace_sees_its_own_thread_only(shipped):
    """Two requests at once: the shapes traced in one are not the other's."""
    code = CausalSelfAttention.forward.__code__
    stop = threading.Event()

    def other_request():
        while not stop.is_set():
            attention_maps(shipped, "x" * 50)

    neighbour = threading.Thread(target=other_request)
    neighbour.start()
    try:
        for _ in range(5):
            shapes = traced_shapes(lambda: attention_maps(shipped, "ROMEO: hi"), {code})
            assert shapes[code]["x"][1] == len("ROMEO: hi")
    finally:
        stop.set()
        neighbour.join()


def test_the_markdown_links_files_and_the_lecture(shipped):
    md = code_markdown(VIEWS["attention"], shipped, "First Citizen:\nBefore we proceed", base_url="https://example.org/x/")
    e = excerpt("gpt.model.CausalSelfAttention.forward")
    assert source_link(e, "https://example.org/x/") == f"https://example.org/x/gpt/model.py#L{e.first}-L{e.last}"
    assert f"(https://example.org/x/gpt/model.py#L{e.first}-L{e.last})" in md
    assert e.source in md and f"{LECTURE}&t=3720s" in md
    nh = shipped.config.n_head
    assert f"`q` (1, {nh}, 24, {shipped.config.n_embd // nh})" in md        # the text's last 24 characters
    plain = code_markdown(VIEWS["attention"], shipped, "ROMEO:", base_url=None)
    assert "#L" not in plain and f"`gpt/model.py` lines {e.first}–{e.last}" in plain   # no file links without a base
    assert "Tensor shapes measured" in plain


def test_a_model_without_attention_shows_the_code_without_shapes():
    bigram = gpt.load(SHIPPED.parent / "shakespeare-bigram")
    md = code_markdown(VIEWS["attention"], bigram, "ROMEO:")
    assert "def attention_maps(" in md and "Shapes when it returned" not in md
    for view in VIEWS:                                          # every view draws for every model, or none
        assert code_markdown(VIEWS[view], None).startswith("**")


def test_the_diagnostics_view_traces_a_copy_and_leaves_the_shared_model_as_it_was(shipped):
    before = {name: value.clone() for name, value in shipped.state_dict().items()}
    md = code_markdown(VIEWS["diagnostics"], shipped, "ROMEO: what light through yonder")
    assert "Shapes when it returned: `values` (1," in md                # a GELU's input, measured
    assert all(value.equal(before[name]) for name, value in shipped.state_dict().items())
    assert not shipped.training and all(not m._forward_hooks for m in shipped.modules())
    assert all(p.grad is None for p in shipped.parameters())


def test_the_training_view_trains_a_copy_and_leaves_the_model_and_the_seed_as_they_were(shipped):
    """Loss curves and Train live had no "The code"; Train live's runs the real loop on a copy."""
    import torch

    before = {name: value.clone() for name, value in shipped.state_dict().items()}
    run_before = (shipped.run.corpus, shipped.run.train_config)
    generator = torch.get_rng_state()
    md = code_markdown(VIEWS["train"], shipped, "ROMEO: what light through yonder")
    assert "`Trainer.run`" in md and "`lr_at`" in md and "not measured" not in md
    assert "measured on two training steps of a copy" in md
    assert all(value.equal(before[name]) for name, value in shipped.state_dict().items())
    assert (shipped.run.corpus, shipped.run.train_config) == run_before and not shipped.training
    assert torch.get_rng_state().equal(generator)              # the trainer's torch.manual_seed undone
    loss = code_markdown(VIEWS["loss"], shipped, "ROMEO: what light through yonder")
    assert "`LanguageModel.loss`" in loss and "not measured" not in loss
