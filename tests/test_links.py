"""Links that reopen a view: every parameter survives the round trip, hostile ones are refused in words."""
from urllib.parse import parse_qsl

import pytest

from gpt.generation import MAX_SEED
from studio import links
from studio.zoo import SESSION_MODEL
from studio.settings import Settings
from ui import page

PARAMS = links.params(["shakespeare-gpt", "names-gpt"], page.tab_keys(),
                      page.link_params(Settings(max_prompt_chars=10_000, max_new_tokens=2000)))
VOCAB = set("\n !$&',-.3:;?ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")


def read(query: str, vocab=VOCAB) -> links.ViewLink:
    return links.parse(dict(parse_qsl(query, keep_blank_values=True)), PARAMS, lambda model: vocab)


def test_every_parameter_survives_a_round_trip():
    view = {"tab": "lab", "model": "names-gpt", "prompt": "ROMEO:\nO, she doth teach", "temp": 0.35, "len": 1234,
            "topk": 7, "topp": 0.9, "seed": MAX_SEED, "gen": 987654, "layer": 3, "head": "head 2", "chars": 96,
            "step": 9, "tview": "surprisal", "lab": "lens", "text": "To be, or not to be", "pos": 5,
            "lens": "What light", "lpos": 4, "memo": "First Citizen:", "feature": 1200, "board": "GPT-7Q2"}
    assert set(view) == {key for key, param in PARAMS.items() if not param.private}    # a link writes no private one
    query = links.encode(view, PARAMS)
    link = read(query)
    assert link.problems == [] and link.values == view
    assert links.encode(link.values, PARAMS) == query           # one view, one link


def test_a_teachers_key_is_read_but_never_written_into_a_link():
    link = read("tab=board&board=GPT-7Q2&teacher=s3cret-key")
    assert link.problems == [] and link.get("teacher") == "s3cret-key"
    assert links.encode(link.values, PARAMS) == "tab=board&board=GPT-7Q2"
    assert "teacher" in read("teacher=" + "k" * 65).problems[0]       # too long to be a key: refused in words


def test_defaults_are_left_out_and_a_huge_seed_stays_exact():
    assert links.encode({"tab": "generate", "temp": 0.8, "len": 500, "topk": 0, "topp": 1, "layer": 0}, PARAMS) == ""
    assert links.encode({"seed": str(2**62 + 1)}, PARAMS) == f"seed={2**62 + 1}"
    assert read(f"seed={2**62 + 1}").get("seed") == 2**62 + 1


@pytest.mark.parametrize("query, words", [
    ("temp=NaN", "temperature must be a finite number"),
    ("temp=1e9", "temperature must be between"),
    ("len=-5", "length must be a whole number"),
    ("len=0", "length must be between"),
    ("seed=1.5", "seed must be a whole number"),
    ("layer=1e3", "layer must be a whole number"),
    ("tab=admin", "tab `admin` is not one of this app's"),
    ("model=../../etc/passwd", "model `../../etc/passwd` is not one of this app's"),
    ("lab=exec", "Lab instrument `exec` is not one of this app's"),
])
def test_a_bad_value_is_named_and_the_rest_of_the_link_still_opens(query, words):
    link = read(query + "&prompt=KING:&tab=attention" if not query.startswith("tab") else query + "&prompt=KING:")
    assert len(link.problems) == 1 and words in link.problems[0], link.problems
    assert "left at its default" in link.problems[0]
    assert link.get("prompt") == "KING:"


def test_a_layer_past_any_model_is_left_to_the_tab_that_knows_the_model():
    """layer=64 used to be refused with "between 0 and 63", a range no model here has: the Attention
    tab checks it against the model on screen and says "This model has 6 layers" instead."""
    link = read("tab=attention&layer=64")
    assert link.get("layer") == 64 and not link.problems


def test_hostile_links_open_the_default_view_with_a_message_and_reflect_no_markup():
    huge = read("prompt=" + "a" * 20_000)
    assert huge.values == {} and "characters long" in huge.note and "default view" in huge.note
    script = read("text=<script>alert(1)</script>&prompt=<img src=x onerror=alert(1)>")
    assert "text" not in script and "prompt" not in script
    assert "characters the model does not know" in script.note
    for problem in script.problems:         # every quoted value sits in a code span: shown as text
        assert problem.count("`") % 2 == 0
    tricky = read("tab=`<b>x</b>`")
    assert "<b>x</b>" in tricky.note and "``" not in tricky.note and tricky.note.count("`") == 2
    unknown = read("x=1&y=2&__proto__=3")
    assert unknown.values == {} and "`__proto__`" in unknown.note
    long_text = read("text=" + "a" * 2001)
    assert "text" not in long_text and "at most 2,000" in long_text.note


def test_a_session_model_cannot_travel_and_says_so():
    link = read(f"model={SESSION_MODEL}&tab=lab")
    assert "model" not in link and link.get("tab") == "lab"
    assert "cannot travel in a link" in link.note


def test_texts_are_checked_against_the_linked_models_characters():
    asked = []

    def vocab(model):
        asked.append(model)
        return set("abc") if model == "names-gpt" else VOCAB

    link = links.parse({"model": "names-gpt", "prompt": "abd", "text": "cab"}, PARAMS, vocab)
    assert asked == ["names-gpt"] and link.get("text") == "cab" and "prompt" not in link
    assert "`d`" in link.note
    assert links.parse({"prompt": "ok"}, PARAMS, lambda model: None).get("prompt") == "ok"   # vocabulary unknown


@pytest.mark.parametrize("page, server, lan, address, said", [
    ("http://127.0.0.1:7860/", "0.0.0.0", "192.168.1.20", "http://192.168.1.20:7860/", "192.168.1.20"),
    ("http://localhost:7860/", "0.0.0.0", "10.0.0.5", "http://10.0.0.5:7860/", "same network"),
    ("http://127.0.0.1:7860/", "127.0.0.1", "192.168.1.20", "http://127.0.0.1:7860/", "GRADIO_SERVER_NAME=0.0.0.0"),
    ("http://[::1]:7860/", None, None, "http://[::1]:7860/", "only this computer can reach"),
    ("http://127.0.0.1:7860/", "0.0.0.0", None, "http://127.0.0.1:7860/", "cannot open this link"),
    ("https://someone-app.hf.space/", None, None, "https://someone-app.hf.space/", ""),
    ("http://192.168.1.20:7860/", "0.0.0.0", "192.168.1.20", "http://192.168.1.20:7860/", ""),
])
def test_a_link_made_on_the_teachers_machine_is_one_a_phone_can_open(page, server, lan, address, said):
    """Links and QR codes used the address the page was opened at: 127.0.0.1 works on the
    teacher's machine alone, and the class's phones got "site cannot be reached"."""
    from studio.addresses import shareable

    shared, note = shareable(page, server, lan)
    assert shared == address and (said in note if said else note == "")


def test_this_machines_network_address_is_not_loopback():
    from studio.addresses import is_loopback, lan_address

    found = lan_address()
    assert found is None or (not is_loopback(found) and found.count(".") == 3)
