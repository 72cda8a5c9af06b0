import urllib.error

import pytest
import torch

import gpt
from gpt import data
from gpt.data import IGNORE_INDEX


def test_canonical_shakespeare_and_split(shakespeare):
    assert len(shakespeare.text) == 1_115_394
    ds = shakespeare.dataset(8)
    assert ds.num_tokens("train") == int(0.9 * 1_115_394)
    assert ds.num_tokens("train") + ds.num_tokens("val") == 1_115_394
    # the val split is the last 10% of the text, as in nanoGPT
    assert ds.tokenizer.decode(ds.splits["val"][:50].tolist()) == shakespeare.text[1_003_854:1_003_904]


def test_batches_are_next_character_pairs(shakespeare):
    ds = shakespeare.dataset(16)
    x, y = ds.batch("train", 4, torch.Generator().manual_seed(0))
    assert x.shape == y.shape == (4, 16)
    assert torch.equal(x[:, 1:], y[:, :-1])
    x2, _ = ds.batch("train", 4, torch.Generator().manual_seed(0))
    assert torch.equal(x, x2)


def test_whole_split_windows_cover_it_once(shakespeare):
    ds = shakespeare.dataset(100)
    windows = list(ds.iter_split("val", 64))
    total = sum(x.numel() for x, _ in windows)
    assert total == (ds.num_tokens("val") - 1) // 100 * 100
    x, y = windows[0]
    assert torch.equal(x.flatten()[1:], y.flatten()[:-1])


def test_names_framed_like_makemore(names):
    assert len(names.text.split()) == 32_033
    ds = names.dataset(3)
    assert ds.tokenizer.vocab_size == 27
    contexts, nexts = ds.splits["train"]
    dot = ds.tokenizer.stoi["\n"]
    # the first example of every name starts from an all-boundary context
    assert contexts[0].tolist() == [dot, dot, dot]
    word_ends = (nexts == dot).sum().item()
    n_train_names = int(0.9 * 32_033)
    assert word_ends == n_train_names
    x, y = ds.batch("train", 5)
    assert x.shape == (5, 3) and (y[:, :-1] == IGNORE_INDEX).all() and (y[:, -1] >= 0).all()


def test_the_corpora_ship_with_the_library_and_are_checked(tmp_path, monkeypatch):
    monkeypatch.delenv("GPT_DATA_DIR", raising=False)
    assert len(gpt.Corpus.load("shakespeare").text) == 1_115_394      # from gpt/corpora, offline
    assert len(gpt.Corpus.load("names").text.split()) == 32_033
    tampered = tmp_path / "tinyshakespeare.txt"
    tampered.write_text("To be or not to be\n" * 100)
    monkeypatch.setenv("GPT_DATA_DIR", str(tmp_path))
    with pytest.raises(gpt.CorpusUnavailableError, match="not the canonical Tiny Shakespeare"):
        gpt.Corpus.load("shakespeare")
    monkeypatch.delenv("GPT_DATA_DIR")
    monkeypatch.setattr(data, "SHIPPED_CORPORA", tmp_path / "removed")
    with pytest.raises(gpt.CorpusUnavailableError, match="download_corpus"):
        gpt.Corpus.load("names")


def test_offline_download_fails_with_a_clear_message(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "SHIPPED_CORPORA", tmp_path)

    def offline(*args, **kwargs):
        raise urllib.error.URLError("Temporary failure in name resolution")

    monkeypatch.setattr(data.urllib.request, "urlopen", offline)
    with pytest.raises(gpt.CorpusUnavailableError, match="GPT_DATA_DIR"):
        data.download_corpus("shakespeare")
    assert not list(tmp_path.iterdir())


def test_local_files_and_bad_files(tmp_path):
    good = tmp_path / "poem.txt"
    good.write_text("a rose by any other name\n" * 20)
    corpus = gpt.Corpus.load(str(good))
    assert corpus.name == "poem" and corpus.text.startswith("a rose")
    binary = tmp_path / "image.txt"
    binary.write_bytes(b"\x89PNG\x00\x00")
    with pytest.raises(ValueError, match="not a text file"):
        data.read_text_file(binary)
    latin = tmp_path / "latin1.txt"
    latin.write_bytes("café".encode("latin-1"))
    with pytest.raises(ValueError, match="not UTF-8"):
        data.read_text_file(latin)
    with pytest.raises(FileNotFoundError, match="neither a named corpus"):
        gpt.Corpus.load(str(tmp_path / "missing.txt"))
    with pytest.raises(ValueError, match="fewer than block size"):
        gpt.Corpus.from_text("too short").dataset(64)
