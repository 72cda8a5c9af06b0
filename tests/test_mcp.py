"""The app as tools for assistants: Gradio's MCP server, spoken to with the MCP client library."""
import ast
import asyncio

import pytest

from appserver import launch_app
from studio.tools import DOCS

mcp = pytest.importorskip("mcp")
from mcp.client.streamable_http import streamablehttp_client  # noqa: E402, I001

TOOLS = {"generate", "attention", "lab_surprisal", "lab_predict", "lab_knockout", "lab_regenerate", "lab_lens",
         "lab_lens_position", "lab_induction", "lab_memorised", "timeline", "features_open", "features_search",
         "feature_page", "features_at", "feature_steer"}


@pytest.fixture(scope="module")
def url():
    app, url = launch_app()
    yield url.rstrip("/")
    app.demo.close()


async def _session(url, work):
    async with streamablehttp_client(url + "/gradio_api/mcp/") as (read, write, _):
        async with mcp.ClientSession(read, write) as session:
            await session.initialize()
            return await work(session)


def ask(url, work):
    return asyncio.run(_session(url, work))


def test_the_tools_are_listed_with_descriptions_a_model_can_read(url):
    tools = {t.name: t for t in ask(url, lambda s: s.list_tools()).tools}
    assert set(tools) == TOOLS       # training and the download are not: their results live in a browser session
    assert set(tools) <= set(DOCS)
    for tool in tools.values():
        assert len(tool.description) > 40, tool.name
        properties = tool.inputSchema["properties"]
        assert properties and all(p.get("description") for p in properties.values()), tool.name
    generate = tools["generate"].inputSchema["properties"]
    assert list(generate)[:3] == ["prompt_text", "model_name", "max_new_tokens"]
    assert "greedy" in generate["temp"]["description"]


def test_a_greedy_generation_through_mcp_equals_the_app_api(url):
    from gradio_client import Client
    args = {"prompt_text": "ROMEO:\n", "model_name": "shakespeare-gpt", "max_new_tokens": 60, "temp": 0, "k": 0,
            "p": 1, "seed_text": "", "unknown_policy": "replace"}
    result = ask(url, lambda s: s.call_tool("generate", args))
    assert not result.isError
    text, note = ast.literal_eval(result.content[0].text)      # the text and the note, as Gradio lists outputs
    expected, _ = Client(url, verbose=False).predict(*args.values(), api_name="/generate")
    assert text == expected and text.startswith("ROMEO:\n") and len(text) == len("ROMEO:\n") + 60


def test_a_bad_tool_call_is_refused_in_words(url):
    result = ask(url, lambda s: s.call_tool("lab_surprisal", {"model_name": "shakespeare-gpt",
                                                              "passage": "€€€ not known", "compare_name": "none"}))
    words = " ".join(getattr(c, "text", "") for c in result.content)
    assert result.isError and "€" in words and "Traceback" not in words
