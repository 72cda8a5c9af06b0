"""The static edition computes what the PyTorch model computes.

The site is exported from the shipped GPT into a temporary folder, served on 127.0.0.1 by a
plain static server, and opened in Chromium with every request to another host refused: the
page's greedy text, logits and attention maps are checked against `gpt` itself."""
import functools
import http.server
import json
import re
import shutil
import threading
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import pytest
import torch

import gpt
from gpt import plots, web
from gpt.generation import SamplingSettings, sample_ids
from gpt.introspect import attention_maps
from pages import axe_violations, chromium, playwright_or_skip

SHIPPED = "checkpoints/shakespeare-gpt"
WAIT = 120_000


@pytest.fixture(scope="module")
def shipped():
    return gpt.load(SHIPPED)


@pytest.fixture(scope="module")
def site(tmp_path_factory, shipped):
    return web.export(shipped, tmp_path_factory.mktemp("web") / "site", name="shakespeare-gpt")


# ---------------------------------------------------------------- the exporter, without a browser

def test_the_site_holds_the_page_the_runtime_and_the_models_facts(site, shipped):
    names = set(site.files)
    assert {"index.html", "app.js", "gpt.js", "style.css", "model.onnx", "model.json", "README.md",
            "vendor/plotly.min.js", "vendor/LICENSE-onnxruntime-web"} <= names
    assert {f"vendor/onnxruntime-web/{f}" for f in web.RUNTIME_FILES} <= names
    about = json.loads((site.folder / "model.json").read_text(encoding="utf-8"))
    assert about["vocab"] == shipped.tokenizer.chars
    assert about["config"] == {"vocab_size": 65, "block_size": 256, "n_layer": 6, "n_head": 6, "n_embd": 192}
    assert about["params"] == shipped.num_params() and about["corpus"] == "Tiny Shakespeare"
    assert about["val_loss"] == pytest.approx(shipped.run.evaluation.val_loss)
    card = (site.folder / "README.md").read_text(encoding="utf-8")
    assert "\nsdk: static\n" in card and "\napp_file: index.html\n" in card
    # the shipped weights are bf16: stored as bf16 in the graph, about half of float32's bytes
    assert site.files["model.onnx"] < 0.55 * 4 * shipped.num_params()


def run_window(session, config, ids, past=None):
    """The page's graph on `ids` after `past` (per layer: keys, values (1, P, C)); returns the
    logits, the cache extended by the new rows, and the attention maps."""
    L, C = config.n_layer, config.n_embd
    past = past or [(np.zeros((1, 0, C), np.float32),) * 2 for _ in range(L)]
    feeds = {"tokens": np.array([ids])}
    for layer, (keys, values) in enumerate(past):
        feeds[f"past_keys{layer}"], feeds[f"past_values{layer}"] = keys, values
    out = dict(zip([o.name for o in session.get_outputs()], session.run(None, feeds)))
    extended = [(np.concatenate([keys, out[f"keys{layer}"]], 1), np.concatenate([values, out[f"values{layer}"]], 1))
                for layer, (keys, values) in enumerate(past)]
    return out["logits"], extended, out["attention"]


def test_the_graph_computes_the_models_logits_and_attention(shipped):
    """ONNX Runtime (Python) on the page's graph: a prefill, then a continuation over its cache."""
    ort = pytest.importorskip("onnxruntime")
    from gpt.web.graph import window_graph

    c = shipped.config
    ids = shipped.tokenizer.encode("JULIET:\nO Romeo, Romeo! wherefore art thou Romeo?\nDeny thy father")
    with torch.inference_mode():
        logits, maps = shipped.attention_maps(torch.tensor([ids]))
        cache = shipped.new_cache()
        shipped(torch.tensor([ids]), cache=cache)
    outputs = {}
    for compact in (True, False):      # bf16-stored weights give exactly the float32 graph's numbers
        session = ort.InferenceSession(window_graph(shipped, compact).SerializeToString(),
                                       providers=["CPUExecutionProvider"])
        out, whole, attention = run_window(session, c, ids)
        np.testing.assert_allclose(out, logits.numpy(), atol=1e-4)
        for layer in range(c.n_layer):
            np.testing.assert_allclose(attention[layer], maps[layer][0].numpy(), atol=1e-5)
            # the cache rows are the model's own KV cache, heads side by side
            keys = cache.keys[layer, 0, :, :len(ids)].transpose(0, 1).reshape(len(ids), -1).numpy()
            np.testing.assert_allclose(whole[layer][0][0], keys, atol=1e-5)
        _, first, _ = run_window(session, c, ids[:20])
        rest, extended, _ = run_window(session, c, ids[20:], first)
        np.testing.assert_allclose(rest, logits.numpy()[:, 20:], atol=1e-4)
        for (k1, v1), (k2, v2) in zip(extended, whole):
            np.testing.assert_allclose(k1, k2, atol=1e-5)
            np.testing.assert_allclose(v1, v2, atol=1e-5)
        outputs[compact] = out
    np.testing.assert_array_equal(outputs[True], outputs[False])


def test_the_exporter_refuses_what_it_cannot_export(tmp_path, capsys):
    with pytest.raises(gpt.UsageError, match="a bigram"):
        web.export("checkpoints/shakespeare-bigram", tmp_path / "bigram")
    assert not (tmp_path / "bigram").exists()
    damaged = tmp_path / "damaged"
    shutil.copytree(SHIPPED, damaged)
    with open(damaged / "model.safetensors", "r+b") as f:
        f.truncate(1000)
    with pytest.raises(gpt.CheckpointError):
        web.export(damaged, tmp_path / "from-damaged")
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "notes.txt").write_text("mine")
    with pytest.raises(gpt.UsageError, match="not an empty folder"):
        web.export(SHIPPED, taken)
    assert sorted(p.name for p in taken.iterdir()) == ["notes.txt"]       # nothing written beside it
    from gpt.web.__main__ import main

    assert main(["checkpoints/names-mlp", str(tmp_path / "mlp")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "an MLP" in err and "Traceback" not in err


# ---------------------------------------------------------------- the page, in Chromium

class QuietFiles(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def browser_page(site):
    """The page served on 127.0.0.1, in a Chromium that may reach nothing else."""
    sync_api = playwright_or_skip()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietFiles, directory=str(site.folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    refused, errors = [], []

    def only_local(route):
        if urlparse(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    with sync_api.sync_playwright() as p:
        browser = chromium(p)
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        context.route("**/*", only_local)
        page = context.new_page()
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(url)
        page.evaluate("window.gptWeb.ready")
        yield page, url, refused, errors
        browser.close()
    server.shutdown()
    assert not refused, f"the page asked for other hosts: {refused}"
    assert not errors, f"the page raised: {errors}"


def write(page, prompt: str, length: int, temperature: float = 0.0, seed: int = 0, top_k=None, top_p=None) -> dict:
    """The page's own decoding loop, called as its Generate button calls it."""
    return page.evaluate("""async ([prompt, length, temperature, seed, topK, topP]) => {
        const run = await window.gptWeb.write(prompt, {settings: {temperature, topK, topP}, length,
                                                       seed: BigInt(seed), unknown: "error"});
        return {text: run.text, logits: run.steps.map(s => Array.from(s.logits))};
    }""", [prompt, length, temperature, seed, top_k, top_p])


@pytest.mark.parametrize("prompt", ["ROMEO:\n", "First Citizen:\nBefore we proceed any further, hear me speak."])
def test_greedy_text_past_the_block_is_the_librarys_text(browser_page, shipped, prompt):
    page = browser_page[0]
    n = 1000                                   # the block is 256: the page re-prefills six times on the way
    expected = "".join(gpt.generate(shipped, prompt, n, temperature=0))
    assert write(page, prompt, n)["text"] == expected


def test_logits_at_chosen_steps_are_the_models(browser_page, shipped):
    page = browser_page[0]
    prompt = "KING RICHARD III:\n"
    n = 600
    got = write(page, prompt, n)["logits"]
    reference = list(sample_ids(shipped, shipped.tokenizer.encode(prompt), n, SamplingSettings(0.0), engine="torch"))
    block = shipped.block_size
    # the first step, around the first full cache, the re-prefill and the steps after it, and others
    chosen = sorted({0, 1, 2, block - len(prompt) - 1, block - len(prompt), block - len(prompt) + 1,
                     block - len(prompt) + 2, 300, 333, 350, 383, 384, 385, 400, 450, 500, 511, 512, 550, n - 1})
    assert len(chosen) == 20
    for i in chosen:
        np.testing.assert_allclose(np.array(got[i], np.float32), reference[i].logits.numpy(), atol=1e-4,
                                   err_msg=f"step {i}")


def test_attention_maps_are_the_models(browser_page, shipped):
    page = browser_page[0]
    text = "".join(gpt.generate(shipped, "MENENIUS:\n", 160, temperature=0))[-128:]
    assert len(text) == 128
    got = page.evaluate("async text => { const m = await window.gptWeb.model.attention(text, 128);"
                        " return {chars: m.chars, maps: m.maps.map(l => l.map(h => h.map(r => Array.from(r))))}; }", text)
    expected = attention_maps(shipped, text, 128)
    assert "".join(got["chars"]) == "".join(expected.chars) == text
    for layer, weights in enumerate(expected.maps):
        np.testing.assert_allclose(np.array(got["maps"][layer], np.float32), weights, atol=1e-5, err_msg=f"layer {layer}")


def test_a_seed_gives_the_same_text_twice_and_another_seed_another(browser_page):
    page = browser_page[0]
    first, again = (write(page, "ROMEO:\n", 200, temperature=1.0, seed=42, top_p=0.95)["text"] for _ in range(2))
    other = write(page, "ROMEO:\n", 200, temperature=1.0, seed=43, top_p=0.95)["text"]
    assert first == again and first != other
    assert len(set(first)) > 10                # a sample, not a repeated character


def generate_in_page(page, prompt=None, **fields) -> dict:
    """Fill the form as a reader would, press Generate, wait for the page to finish."""
    if prompt is not None:
        page.fill("#prompt", prompt)
    defaults = {"temperature": "0", "length": "50", "top-k": "", "top-p": "", "seed": "1"}
    for name, value in {**defaults, **fields}.items():
        page.fill(f"#{name}", value)
    page.click("#generate")
    page.wait_for_function("() => !document.querySelector('#generate').disabled", timeout=WAIT, polling=100)
    return page.evaluate("""() => ({message: document.querySelector('#message').hidden ? null
                                                : document.querySelector('#message').textContent,
                                    text: document.querySelector('#text').textContent,
                                    written: window.gptWeb.lastRun && window.gptWeb.lastRun.text})""")


def test_bad_input_gets_a_message_or_a_sensible_text(browser_page, shipped):
    page = browser_page[0]
    page.select_option("#unknown", "replace")
    shown = generate_in_page(page, "Café ☕ ROMEO:\n")
    assert '"é", "☕" are not in this model\'s 65-character vocabulary' in shown["message"]
    assert 'replaced by " "' in shown["message"] and shown["text"].startswith("Caf    ROMEO:\n")
    page.select_option("#unknown", "error")
    refused = generate_in_page(page, "Café")
    assert '"é" is not in this model' in refused["message"] and "replace" in refused["message"]
    page.select_option("#unknown", "replace")
    empty = generate_in_page(page, "")
    assert empty["message"] is None and len(empty["written"]) == 50
    assert empty["written"] == "".join(gpt.generate(shipped, "", 50, temperature=0))
    assert "from 1 to 2000" in generate_in_page(page, "ROMEO:\n", length="0")["message"]
    assert "from 1 to 2000" in generate_in_page(page, "ROMEO:\n", length="2001")["message"]
    assert len(generate_in_page(page, "ROMEO:\n", length="2000")["written"]) == 2000
    greedy = "".join(gpt.generate(shipped, "ROMEO:\n", 50, temperature=0))
    for settings in ({"temperature": "0"}, {"temperature": "1e-38"}, {"temperature": "1", "top-p": "1e-9"}):
        done = generate_in_page(page, "ROMEO:\n", **settings)
        assert done["message"] is None and done["written"] == greedy, settings
    assert "temperature must be a number from 0 to 2" in generate_in_page(page, "ROMEO:\n", temperature="3")["message"]
    assert "seed must be a whole number" in generate_in_page(page, "ROMEO:\n", seed="-1")["message"]


def test_stop_ends_the_text_where_it_is(browser_page):
    page = browser_page[0]
    for name, value in {"length": "2000", "temperature": "0.8", "seed": "", "top-k": "", "top-p": ""}.items():
        page.fill(f"#{name}", value)
    page.click("#generate")
    page.wait_for_function("() => document.querySelector('#speed').textContent.includes('characters…')",
                           timeout=WAIT, polling=50)
    page.click("#stop")
    page.wait_for_function("() => !document.querySelector('#generate').disabled", timeout=WAIT, polling=100)
    run = page.evaluate("() => ({n: window.gptWeb.lastRun.steps.length, speed: document.querySelector('#speed').textContent})")
    assert 0 < run["n"] < 2000 and "stopped" in run["speed"] and "chars/s" in run["speed"]


@pytest.mark.parametrize("width,height", [(1280, 800), (1024, 768), (390, 844)])
def test_the_page_fits_each_screen(browser_page, width, height, tmp_path):
    page, url = browser_page[0], browser_page[1]
    page.set_viewport_size({"width": width, "height": height})
    generate_in_page(page, "ROMEO:\n", length="300")
    page.wait_for_function("() => document.querySelector('#head-plot .main-svg') !== null", timeout=WAIT)
    layout = page.evaluate("""() => {
        const box = id => document.getElementById(id).getBoundingClientRect();
        return {scroll: document.documentElement.scrollWidth, generate: box('generate'), text: box('text'),
                heads: box('heads-plot'), head: box('head-plot')}; }""")
    assert layout["scroll"] <= width, "the page scrolls sideways"
    for name in ("generate", "text", "heads", "head"):
        assert 0 <= layout[name]["left"] and layout[name]["right"] <= width + 0.5, name
    for name in ("text", "heads", "head"):       # the text and the maps take a real share of the screen
        assert layout[name]["width"] > 0.5 * min(width, 600), name
    assert layout["generate"]["bottom"] <= height          # the button on the first screen
    if width >= 1024:
        assert layout["text"]["top"] < height / 2          # prompt and text side by side
    page.screenshot(path=str(tmp_path / f"web-{width}x{height}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 800})


def draw_attention_in_page(page) -> None:
    page.click("#draw-attention")
    page.wait_for_function("() => document.querySelector('#head-plot .main-svg') !== null"
                           " && document.querySelectorAll('#attention-words li').length > 0", timeout=WAIT)


def test_the_map_in_words_says_what_the_model_computed(browser_page, shipped):
    """The text a screen reader reads for the large map: each character, the keys it reads most with
    their weights, row by row, checked against PyTorch's attention on the same characters."""
    page = browser_page[0]
    run = generate_in_page(page, "MENENIUS:\n", length="150")
    page.select_option("#layer", "3")
    page.select_option("#head", "2")
    draw_attention_in_page(page)
    lines = page.eval_on_selector_all("#attention-words li", "items => items.map(i => i.textContent)")
    chars = [plots.show_char(c) for c in ("MENENIUS:\n" + run["written"])[-128:]]
    weights = attention_maps(shipped, "MENENIUS:\n" + run["written"], 128).maps[3][2].astype(np.float64)
    assert len(lines) == len(chars) == 128
    for q, line in enumerate(lines):
        reader, read = line.split(" reads ", 1)
        assert reader == f"“{chars[q]}”", line
        listed = re.findall(r"“(.)” (\d\.\d\d)", read)
        expected = np.sort(weights[q, :q + 1])[::-1][:3]
        assert len(listed) == np.sum(expected >= 0.005), line
        for rank, (char, weight) in enumerate(listed):
            assert abs(float(weight) - expected[rank]) <= 0.0051, line          # printed to 2 decimals
            near = np.flatnonzero(np.abs(weights[q, :q + 1] - expected[rank]) < 1e-4)   # a near tie may swap
            assert char in {chars[k] for k in near}, line


@pytest.mark.parametrize("width,height", [(1280, 800), (390, 844)])
def test_no_accessibility_violation_on_the_drawn_page(browser_page, width, height):
    """axe-core (WCAG 2.0 to 2.2, A and AA) on the page after a text, its next-character plot and its
    attention maps are drawn: no violation of any impact, on a laptop and on a phone."""
    pytest.importorskip("axe_playwright_python")
    page = browser_page[0]
    page.set_viewport_size({"width": width, "height": height})
    try:
        generate_in_page(page, "ROMEO:\n", length="120")
        draw_attention_in_page(page)
        page.click("#attention-words-box summary")
        found = axe_violations(page)
    finally:
        page.set_viewport_size({"width": 1280, "height": 800})
    assert [(v["id"], v["impact"], [n["target"] for n in v["nodes"][:3]]) for v in found] == []
