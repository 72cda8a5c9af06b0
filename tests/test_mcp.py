"""The app as tools for assistants: Gradio's MCP server, spoken to with the MCP client library."""
import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from appserver import launch_app

pytest.importorskip("mcp")
CLIENT = Path(__file__).with_name("mcp_client.py")

TOOLS = {"generate", "attention", "lab_surprisal", "lab_predict", "lab_knockout", "lab_regenerate", "lab_lens",
         "lab_lens_position", "lab_induction", "lab_memorised", "timeline", "features_open", "features_search",
         "feature_page", "features_at", "feature_steer"}


@pytest.fixture(scope="module")
def url():
    app, url = launch_app()
    yield url.rstrip("/")
    app.demo.close()


def ask(url, *calls) -> dict:
    """The tools listed through the MCP endpoint, and each (tool, arguments) call's result."""
    done = subprocess.run([sys.executable, str(CLIENT), url, json.dumps(calls)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


def test_the_tools_are_listed_with_descriptions_a_model_can_read(url):
    tools = {t["name"]: t for t in ask(url)["tools"]}
    assert set(tools) == TOOLS       # training and the download are not: their results live in a browser session
    for tool in tools.values():
        assert len(tool["description"]) > 40, tool["name"]
        properties = tool["inputSchema"]["properties"]
        assert properties and all(p.get("description") for p in properties.values()), tool["name"]
        assert ",," not in tool["description"] and ", (" not in tool["description"], tool["description"]
    # Gradio joins the lines under Returns with ", ": a wrapped sentence came out garbled
    assert "relative to the strongest, in data-a" in tools["features_open"]["description"]
    generate = tools["generate"]["inputSchema"]["properties"]
    assert list(generate)[:3] == ["prompt_text", "model_name", "max_new_tokens"]
    assert "greedy" in generate["temp"]["description"]
    assert "yours" in generate["model_name"]["enum"] and "cannot be used from here" in generate["model_name"]["description"]


def test_a_greedy_generation_through_mcp_equals_the_app_api(url):
    from gradio_client import Client
    args = {"prompt_text": "ROMEO:\n", "model_name": "shakespeare-gpt", "max_new_tokens": 60, "temp": 0, "k": 0,
            "p": 1, "seed_text": "", "unknown_policy": "replace"}
    result = ask(url, ("generate", args))["results"][0]
    assert not result["isError"]
    text, note = ast.literal_eval(result["text"])      # the text and the note, as Gradio lists outputs
    expected, _ = Client(url, verbose=False).predict(*args.values(), api_name="/generate")
    assert text == expected and text.startswith("ROMEO:\n") and len(text) == len("ROMEO:\n") + 60


def test_a_bad_tool_call_is_refused_in_words(url):
    result = ask(url, ("lab_surprisal", {"model_name": "shakespeare-gpt", "passage": "€€€ not known",
                                         "compare_name": "none"}))["results"][0]
    assert result["isError"] and "€" in result["text"] and "Traceback" not in result["text"]


def test_a_long_argument_is_not_echoed_back(url):
    """What the app refuses comes back in a line, not with the argument whole (100 kB here: the
    client takes its calls on its command line). A value outside a tool's schema (a model name
    not among its choices) is refused by the MCP library before the app sees it, in its own words."""
    result = ask(url, ("lab_predict", {"model_name": "shakespeare-gpt", "passage": "x" * 100_000, "position": 3}))
    result = result["results"][0]
    assert result["isError"] and "100,000 characters long" in result["text"] and len(result["text"]) < 400, result["text"][:400]


def test_the_descriptions_are_text_for_people_and_name_real_models(url):
    """10 of 17 descriptions carried a stray line of Python (`DOCS = {name: doc.replace(...)}`) and one
    named a `names-gpt` checkpoint that does not exist: the API page and every MCP client showed them.
    Read here as an assistant reads them, through the MCP endpoint, arguments included."""
    import re

    checkpoints = Path(__file__).resolve().parents[1] / "checkpoints"
    for tool in ask(url)["tools"]:
        texts = [tool["description"]] + [p.get("description", "") for p in tool["inputSchema"]["properties"].values()]
        for text in texts:
            assert not re.search(r"[{}]|\bdef |\bimport |\blambda\b|\b[A-Za-z_]\w{2,} = |\w\(\w+\)\.\w", text), (tool["name"], text)
            for model in re.findall(r"\b(?:shakespeare|names|copying)-[a-z0-9-]*[a-z0-9]", text):
                assert (checkpoints / model).is_dir(), (tool["name"], model)
