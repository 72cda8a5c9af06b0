"""The lab's instruments, each checked against an independent computation."""
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import gpt
from gpt import lab

CHECKPOINTS = Path(__file__).resolve().parents[1] / "checkpoints"
V = 65


@pytest.fixture(scope="module")
def shipped():
    return gpt.load(CHECKPOINTS / "shakespeare-gpt")


@pytest.fixture(scope="module")
def val_text(shakespeare):
    return shakespeare.text[1_003_854:]


def small(block_size=32, **overrides):
    torch.manual_seed(0)
    model = gpt.build_model("gpt", vocab_size=V, block_size=block_size, n_layer=2, n_head=4, n_embd=32,
                            dropout=0.0, **overrides).eval()
    model.tokenizer = gpt.CharTokenizer([chr(32 + i) for i in range(V)])
    return model


@pytest.mark.parametrize("name", ["shakespeare-gpt", "shakespeare-mlp", "shakespeare-bigram"])
def test_mean_surprisal_over_a_window_is_the_models_own_loss(name, val_text):
    model = gpt.load(CHECKPOINTS / name)
    text = val_text[:200]
    nats = lab.surprisal(model, text)
    assert nats.shape == (199,)
    ids = torch.tensor([model.tokenizer.encode(text)])
    _, loss = model(ids[:, :-1], ids[:, 1:])
    assert nats.mean() == pytest.approx(loss.item(), abs=1e-5)


def test_past_the_block_each_character_is_predicted_once_with_half_to_a_full_block_of_context():
    model = small(block_size=16)
    text = "".join(chr(32 + (i * 7) % V) for i in range(100))
    nats = lab.surprisal(model, text)
    assert nats.shape == (99,)
    ids = torch.tensor(model.tokenizer.encode(text))
    starts = list(range(0, 99 - 16, 8)) + [99 - 16]
    for j in range(1, 100):          # independently: predict ids[j] from the first window that reaches it
        start = min(s for s in starts if s + 16 >= j)
        context = ids[start:j]
        assert j <= 16 or 8 <= len(context) <= 16
        with torch.no_grad():
            expected = F.cross_entropy(model(context[None])[0][0, -1], ids[j]).item()
        assert nats[j - 1] == pytest.approx(expected, abs=1e-5), j


def test_unknown_characters_and_short_texts_are_clear_errors(shipped):
    with pytest.raises(gpt.UnknownCharactersError, match="'é'"):
        lab.surprisal(shipped, "Roméo and Juliet")
    with pytest.raises(ValueError, match="at least two characters"):
        lab.surprisal(shipped, "R")


def test_instruments_that_read_heads_say_they_need_a_gpt():
    bigram = gpt.load(CHECKPOINTS / "shakespeare-bigram")
    for instrument in (lambda m: lab.head_knockout(m, "ROMEO: hello"), lambda m: lab.logit_lens(m, "ROMEO:"),
                       lambda m: lab.induction_scores(m)):
        with pytest.raises(ValueError, match="needs a GPT.*previous character"):
            instrument(bigram)


@pytest.mark.parametrize("mode", ["zero", "mean"])
def test_each_knockout_equals_an_independent_ablation(mode):
    model = small(block_size=16)
    text = "".join(chr(32 + (i * i) % V) for i in range(40))      # past the block: sliding windows
    grid = lab.head_knockout(model, text, mode=mode)
    assert grid.shape == (2, 4) and np.isfinite(grid).all()
    base = lab.surprisal(model, text).mean()
    means = lab.head_means(model, text)
    for layer in range(2):
        for head in range(4):
            with lab.ablated(model, [(layer, head)], mode=mode, means=means):
                ablated = lab.surprisal(model, text).mean()
            assert grid[layer, head] == pytest.approx(ablated - base, abs=1e-5), (layer, head)
    with lab.ablated(model, []):
        assert lab.surprisal(model, text).mean() == pytest.approx(base, abs=0)
    assert lab.surprisal(model, text).mean() == base           # every hook removed on exit
    partial = lab.head_knockout(model, text, heads=[(1, 2)], mode=mode)
    assert np.isnan(partial).sum() == 7 and partial[1, 2] == pytest.approx(grid[1, 2], abs=1e-6)


def test_regenerating_without_heads_changes_the_text_and_bad_heads_are_named(shipped):
    prompt = "ROMEO:\n"
    intact = "".join(gpt.generate(shipped, prompt, 80, temperature=0.8, seed=0))
    with lab.ablated(shipped, [(0, h) for h in range(6)]):
        knocked = "".join(gpt.generate(shipped, prompt, 80, temperature=0.8, seed=0))
    assert knocked != intact
    assert "".join(gpt.generate(shipped, prompt, 80, temperature=0.8, seed=0)) == intact
    with pytest.raises(ValueError, match="no head 6 in layer 0"):
        with lab.ablated(shipped, [(0, 6)]):
            pass


def test_the_logit_lens_ends_at_the_models_own_output(shipped, val_text):
    text = val_text[:100]
    lens = lab.logit_lens(shipped, text)
    assert lens.shape == (7, 100, 65)
    ids = torch.tensor([shipped.tokenizer.encode(text)])
    with torch.no_grad():
        np.testing.assert_allclose(lens[-1], shipped(ids)[0][0].softmax(-1).numpy(), atol=1e-5)
    np.testing.assert_allclose(lens.sum(-1), 1, atol=1e-4)
    # the answer emerges with depth: the true next character is likelier at the top than after the embeddings
    truth = np.array(shipped.tokenizer.encode(text[1:]))
    p_true = lens[:, np.arange(99), truth].mean(1)
    assert p_true[-1] > p_true[0] + 0.2


def test_induction_scores_and_the_shipped_gpt_does_not_copy(shipped):
    result = lab.induction_scores(shipped, length=60, seed=0)
    assert result.scores.shape == (6, 6) and (0 <= result.scores).all() and (result.scores <= 1).all()
    assert result.first_copy.shape == (59,) and result.second_copy.shape == (60,)
    print(f"shipped GPT: random string first copy {result.first_copy.mean():.2f}, second "
          f"{result.second_copy.mean():.2f} nats; top induction score {result.scores.max():.3f}")
    assert result.second_copy.mean() > result.first_copy.mean() - 0.5      # no copying
    assert result.scores.max() < 0.3


def test_induction_scores_find_a_planted_induction_head():
    """A head whose attention is forced onto 'the position after the previous occurrence'
    scores 1; every other head scores what its own attention puts there."""
    model = small(block_size=64)
    text = lab.repeated_random_text(model, 20, seed=3)
    ids = torch.tensor([model.tokenizer.encode(text)])
    with torch.no_grad():
        _, maps = model.attention_maps(ids)
    rows = torch.arange(20, 40)
    independent = torch.stack([m[0][:, rows, rows - 19].mean(-1) for m in maps]).numpy()
    np.testing.assert_allclose(lab.induction_scores(model, text=text).scores, independent, atol=1e-6)


def test_the_copying_gpt_copies_and_its_induction_heads_score_high(shipped, val_text):
    model = gpt.load(CHECKPOINTS / "copying-gpt")
    random = lab.induction_scores(model, length=60, seed=0)
    passage = lab.induction_scores(model, text=val_text[5000:5060] * 2)
    never = lab.induction_scores(shipped, text=val_text[5000:5060] * 2)
    print(f"copying GPT: random string {random.first_copy.mean():.2f} -> {random.second_copy.mean():.2f} nats, "
          f"val passage {passage.first_copy.mean():.2f} -> {passage.second_copy.mean():.2f}, top induction score "
          f"{random.scores.max():.3f}; shipped GPT on the passage {never.first_copy.mean():.2f} -> "
          f"{never.second_copy.mean():.2f}")
    assert random.second_copy.mean() < random.first_copy.mean() - 3.0
    assert passage.second_copy.mean() < passage.first_copy.mean() / 3
    assert never.second_copy.mean() > never.first_copy.mean() * 0.8         # the shipped GPT gains little or nothing
    assert random.scores.max() > 0.3 > 0.1 > lab.induction_scores(shipped).scores.max()
    assert any("induction_max" in h for h in model.history), "the run records its induction scores as it trains"


def test_the_verbatim_index_finds_a_planted_copy_and_nothing_in_random_text(shakespeare):
    train = shakespeare.text[:1_003_854]
    index = lab.VerbatimIndex(train[:200_000])
    offset = 123_456
    planted = "zzqx" + train[offset:offset + 45] + "qxzz"
    found = index.matches(planted, min_len=20)
    assert [(m.start, m.end) for m in found] == [(4, 49)]
    assert train[found[0].train_offset:found[0].train_offset + 45] == train[offset:offset + 45]
    g = torch.Generator().manual_seed(0)
    noise = "".join(chr(97 + i) for i in torch.randint(26, (500,), generator=g).tolist())
    assert index.matches(noise, min_len=12) == []
    line, speaker = index.locate(offset)
    first = offset + len(train[offset:]) - len(train[offset:].lstrip("\n"))      # newlines at the offset are skipped
    assert line == train[:first].count("\n") + 1 and speaker and speaker.isupper() is not None


def test_the_suffix_array_sorts_every_suffix():
    text = "mississippi banana abracadabra\nto be or not to be"
    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    assert lab._suffix_array(codes).tolist() == sorted(range(len(text)), key=lambda i: text[i:])


def test_a_span_is_credited_to_the_speaker_whose_speech_it_is():
    """A span starting with the blank line before "FRIAR LAURENCE:" is the friar's, not the
    speech it follows; a speaker's own header line is theirs."""
    text = "ROMEO:\nHello there, my friend.\n\nFRIAR LAURENCE:\nThe grey-eyed morn smiles.\n"
    index = lab.VerbatimIndex(text)
    assert index.locate(text.index("\n\nFRIAR")) == (4, "FRIAR LAURENCE")
    assert index.locate(text.index("FRIAR")) == (4, "FRIAR LAURENCE")
    assert index.locate(text.index("grey")) == (5, "FRIAR LAURENCE")
    assert index.locate(text.index("Hello")) == (2, "ROMEO")
    assert index.locate(0) == (1, "ROMEO")


def test_memorised_spans_render_whole_with_every_newline():
    """Overlapping spans once rendered as fragments ('Th', 'e', '␣') and newlines went missing;
    the runs now cover the text exactly, alternate between found and not, and the table
    credits a span across a speaker change to the new speaker."""
    from studio import lab as lab_views
    from studio.zoo import ModelZoo

    model = ModelZoo("checkpoints").get("shakespeare-gpt")
    train, _ = lab_views.verbatim_index("shakespeare")
    start = train.text.index("\n\nFRIAR LAURENCE:\n")
    copied = train.text[start:start + 80]
    text = "xq zv " + copied + " qj xz " + copied[20:70] + " zq"
    runs, note = lab_views.memorised_view(model, text, 20)
    assert "".join(piece for piece, _ in runs) == text                   # every character, newlines too
    assert all(piece for piece, _ in runs)
    assert all(a[1] != b[1] for a, b in zip(runs, runs[1:]))            # no two neighbours alike: no fragments
    found = [piece for piece, label in runs if label]
    assert found[0].startswith("\n\nFRIAR LAURENCE:\n") and len(found) == 2
    rows = [line for line in note.splitlines() if line.startswith("| ") and "`" in line]
    assert "FRIAR LAURENCE" in rows[0]                                   # the longest: the copied speech


def test_covered_runs_merge_overlaps():
    import numpy as np

    from studio.lab import covered_runs

    covered = np.zeros(13, dtype=bool)
    covered[2:6] = covered[4:9] = True                                  # two overlapping spans
    assert covered_runs("The\nquick fox", covered, "x") == [("Th", None), ("e\nquick", "x"), (" fox", None)]


def test_the_lab_remembers_a_shipped_models_default_answers_only():
    """A class opening the Lab pays for each shipped model's default parts once; a text one
    student typed is measured for them and not kept for everyone."""
    import app
    from ui.lab.instrument import Context

    drawing, zoo = app.PAGE.lab.drawings["surprisal"], app.RESOURCES.zoo
    context = Context(zoo, "shakespeare-gpt", zoo.get("shakespeare-gpt"))
    as_the_page_sends = drawing.defaults()
    first = drawing.opened(context, as_the_page_sends)
    assert drawing.opened(context, dict(as_the_page_sends))["surprisal"] is first["surprisal"]
    typed = as_the_page_sends | {"text": "ROMEO:\nBut, soft! what light through yonder window breaks?"}
    a, b = (drawing.opened(context, typed) for _ in range(2))
    assert a["surprisal"] is not b["surprisal"] and a["surprisal"] == b["surprisal"] and a["position"] == b["position"]
    assert a["surprisal"] != first["surprisal"]


def test_the_compare_note_names_the_colours_the_page_draws(shipped, val_text):
    """The note said "blue" while Gradio shades a negative score purple (128, 90, 213), with no legend."""
    from studio import lab as lab_views

    bigram = gpt.load(CHECKPOINTS / "shakespeare-bigram")
    view = lab_views.surprisal_view(shipped, val_text[:300], bigram, "shakespeare-bigram")
    assert "Purple" in view.note and "Blue" not in view.note and "4 bits" in view.note
    scores = [s for _, s in view.highlighted[1:]]
    assert min(scores) < 0 < max(scores)       # both colours are on the page the note describes


def test_the_knockout_note_gives_the_grid_in_numbers():
    """An assistant gets a figure's JSON and a screen reader gets nothing from the colours: the note
    lists the largest rises (and the largest fall) with the grid's own values."""
    from studio.lab import grid_in_words

    grid = np.array([[0.010, -0.020, 0.300], [0.050, 0.002, -0.004]])
    assert grid_in_words(grid, shown=3) == "L0 H2 +0.300, L1 H0 +0.050, L0 H0 +0.010; lowest L0 H1 -0.020"
    assert grid_in_words(np.array([[0.1, float("nan")]])) == "L0 H0 +0.100"


def test_the_surprisal_note_says_in_words_what_the_colours_show(shipped):
    """A reader who cannot see the colours reads the most surprising characters, with their positions
    and bits, in the note; they are the largest of an independent computation, in order."""
    import re

    import torch

    from studio import lab as lab_views

    text = "ROMEO:\nWhat light through yonder window breaks?"
    note = lab_views.surprisal_view(shipped, text).note
    listed = re.findall(r"“(.)” at (\d+) \((\d+\.\d) bits\)", note)
    assert len(listed) == 5
    ids = torch.tensor([shipped.tokenizer.encode(text)])
    with torch.inference_mode():
        logits, _ = shipped(ids[:, :-1])
    bits = -torch.log2(logits.float().softmax(-1)[0, torch.arange(len(text) - 1), ids[0, 1:]])   # (T-1,)
    top = torch.argsort(bits, descending=True)[:5]
    assert [int(p) for _, p, _ in listed] == [int(i) + 1 for i in top]
    for (char, position, shown_bits), i in zip(listed, top):
        assert char == text[int(position)] and abs(float(shown_bits) - float(bits[i])) < 0.06
