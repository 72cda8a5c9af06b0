"""The Lab's Features view through the app's API: opening it, a feature's page, the
features at a character, search and steering, each against the library's own answer."""
import html
import re

import pytest
import torch
from gradio_client import Client

import gpt
from appserver import launch_app
from gpt import sae as S
from gpt.plots import VISIBLE
from studio.errors import InputError
from studio.features import SHOWN_CONTEXTS, FeatureAtlas

pytestmark = pytest.mark.skipif(not FeatureAtlas.available("checkpoints"), reason="no SAE shipped")


@pytest.fixture(scope="module")
def url():
    app, url = launch_app()
    yield url
    app.demo.close()


@pytest.fixture(scope="module")
def atlas():
    from studio.features import atlas_for
    from studio.zoo import ModelZoo

    return atlas_for(ModelZoo("checkpoints"), "checkpoints")


def test_the_view_opens_on_the_most_frequent_feature_with_its_contexts(url, atlas):
    client = Client(url, verbose=False)
    headline, summary, found, number, header, contexts, control = client.predict(None, api_name="/features_open")
    first = atlas.search("")[0][1]
    assert "loss recovered" in headline and "The control" in summary and "bits" in summary
    assert float(atlas.trained.tables.density[first]) <= 0.05
    assert number == first and f"**Feature {first}**" in header and "promotes" in header
    shaded = [float(a) for a in re.findall(r'data-a="([0-9.e-]+)"', contexts)]
    assert shaded and max(shaded) == pytest.approx(1.0) and all(0 < a <= 1 for a in shaded)
    # the characters drawn are the val text at the strongest context, escaped as HTML
    lines = re.findall(r'<div class="context-line">(.*?)</div>', contexts)
    assert len(lines) == min(SHOWN_CONTEXTS, int((atlas.trained.tables.top_values[first] > 0).sum()))
    drawn = html.unescape(re.sub(r"<[^>]+>", "", lines[0]))
    assert drawn == "".join(VISIBLE.get(c, c) for c in atlas._context(first, 0))
    assert "context-line" in control and "untrained" in control


def test_contexts_are_escaped_html():
    from studio.features import _shaded

    assert _shaded("<", 0.5) == ('<span class="token" data-a="0.5" title="0.50 of the strongest" '
                                 'style="background-color: rgba(239, 68, 60, 0.5); --level: 0.5">&lt;</span>')
    assert _shaded("&", 0) == '<span class="token">&amp;</span>'


def test_a_characters_features_are_the_sae_of_that_prefix(url, atlas):
    client = Client(url, verbose=False)
    text = "ROMEO:\nWhat say you to this?"
    table, note = client.predict(text, 12, api_name="/features_at")
    codes = S.feature_activations(atlas.sae, atlas.model, torch.tensor(atlas.model.tokenizer.encode(text[:12])))[-1]
    values, order = codes.topk(len(table["data"]))
    assert [row[0] for row in table["data"]] == order.tolist()
    assert [row[1] for row in table["data"]] == pytest.approx(values.tolist(), abs=1e-3)
    assert "After character 12" in note
    with pytest.raises(Exception, match="position must be between"):
        client.predict(text, 999, api_name="/features_at")
    with pytest.raises(Exception, match="does not know"):
        client.predict("ROMEO ☃", 3, api_name="/features_at")


def test_search_page_and_steering(url, atlas):
    client = Client(url, verbose=False)
    found = client.predict("promotes: e", api_name="/features_search")
    first = found["choices"][0][1] if isinstance(found, dict) else found
    assert first == atlas.search("promotes: e")[0][1]
    number, header, *_ = client.predict(first, api_name="/feature_page")
    assert number == first and f"Feature {first}" in header
    with pytest.raises(Exception, match="Pick a feature"):
        client.predict(10**6, api_name="/feature_page")
    plain, steered = client.predict("ROMEO:\n", first, 0, 80, 3, api_name="/feature_steer")
    assert plain == steered                                   # strength 0 changes nothing
    plain, steered = client.predict("ROMEO:\n", first, 40, 80, 3, api_name="/feature_steer")
    assert plain.startswith("ROMEO:\n") and plain != steered
    alone = client.predict("ROMEO:\n", "shakespeare-gpt", 80, 0.8, 0, 1.0, "3", "replace", api_name="/generate")[0]
    assert alone == plain                                     # steering left the shared model as it was
    # held at a value: the library's clamping, the plain text unchanged
    plain_again, held = client.predict("ROMEO:\n", first, 30, 80, 3, "hold", api_name="/feature_steer")
    with S.clamping(atlas.model, atlas.sae, first, 30.0):
        by_library = "".join(gpt.generate(atlas.model, "ROMEO:\n", 80, temperature=0.8, seed=3, unknown="replace"))
    assert plain_again == plain and held == "ROMEO:\n" + by_library != plain
    with pytest.raises(Exception, match="not in the list of choices"):     # Gradio's Radio refuses it first
        client.predict("ROMEO:\n", first, 30, 80, 3, "sideways", api_name="/feature_steer")
    with pytest.raises(InputError, match="Steer by one of"):
        atlas.steer("ROMEO:\n", first, 30, 80, 3, "sideways")
