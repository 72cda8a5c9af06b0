import pytest

from gpt import CharTokenizer, UnknownCharactersError


def test_shakespeare_vocabulary_is_the_lectures(shakespeare):
    tok = CharTokenizer.from_text(shakespeare.text)
    assert tok.vocab_size == 65
    assert tok.chars[0] == "\n" and tok.chars[1] == " "
    assert tok.decode(tok.encode(shakespeare.text[:5000])) == shakespeare.text[:5000]


def test_encode_decode_round_trip():
    tok = CharTokenizer.from_text("hello world\n")
    ids = tok.encode("hello\nworld")
    assert ids == [tok.stoi[c] for c in "hello\nworld"]
    assert tok.decode(ids) == "hello\nworld"


def test_unknown_characters_are_named_not_a_key_error():
    tok = CharTokenizer.from_text("abc ")
    with pytest.raises(UnknownCharactersError) as err:
        tok.encode("abé 🙂 é")
    message = str(err.value)
    assert "'é', '🙂'" in message and "4-character vocabulary" in message
    assert err.value.unknown == ["é", "🙂"]
    assert not isinstance(err.value, KeyError)


def test_unknown_characters_can_be_dropped_or_replaced():
    tok = CharTokenizer.from_text("abc ")
    assert tok.decode(tok.encode("aéb", unknown="drop")) == "ab"
    assert tok.decode(tok.encode("aéb", unknown="replace")) == "a b"
    with pytest.raises(ValueError):
        tok.encode("aéb", unknown="ignore")


def test_json_round_trip():
    tok = CharTokenizer.from_text("zyx\n ")
    assert CharTokenizer.from_json(tok.to_json()).chars == tok.chars
