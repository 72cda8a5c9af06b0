"""Speak to the app's MCP server from a process of its own (tests/test_mcp.py runs it): an MCP client
session inside the pytest process that also serves the app left a thread that aborted the interpreter
at exit. Prints, as JSON, the tools listed and the result of each call asked for on the command line."""
import asyncio
import json
import sys

import mcp
from mcp.client.streamable_http import streamablehttp_client


async def main(url: str, calls: list) -> dict:
    async with streamablehttp_client(url + "/gradio_api/mcp/") as (read, write, _):
        async with mcp.ClientSession(read, write) as session:
            await session.initialize()
            tools = [{"name": t.name, "description": t.description, "inputSchema": t.inputSchema}
                     for t in (await session.list_tools()).tools]
            results = []
            for name, arguments in calls:
                result = await session.call_tool(name, arguments)
                results.append({"isError": bool(result.isError),
                                "text": " ".join(getattr(c, "text", "") for c in result.content)})
            return {"tools": tools, "results": results}


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(sys.argv[1], json.loads(sys.argv[2])))))
