"""What each public endpoint tells its callers: the API page and the assistants that call the app
through its MCP server. Gradio reads a handler's docstring (a summary, then `Args:` and
`Returns:`); each handler carries its own, and `tool_doc` writes it as Gradio should read it."""
from __future__ import annotations

import inspect

MODEL = ("model_name: a checkpoint's name, as listed in the app (e.g. shakespeare-gpt, names-mlp); \"yours\" is "
         "a model trained in a browser page and cannot be used from here.")
"""The argument most tools share, written once: `{MODEL}` in a docstring stands for it."""


def tool_doc(docstring: str) -> str:
    """A handler's docstring as a tool's description: dedented, `{MODEL}` written out, and the
    lines under `Returns:` joined into one. Gradio reads each of those lines as one output's
    description and joins them with ", " (a wrapped sentence came out as "relative to the,
    strongest, in data-a")."""
    doc = inspect.cleandoc(docstring).replace("{MODEL}", MODEL)
    if "Returns:\n" not in doc:
        raise ValueError(f"a tool's docstring says what it returns under 'Returns:': {doc[:80]!r}")
    head, returns = doc.split("Returns:\n", 1)
    return head + "Returns:\n    " + " ".join(line.strip() for line in returns.splitlines() if line.strip()) + "\n"
