"""MCP servers for the tests, built with the SDK's own server class, and a loopback
streamable-HTTP host for them (uvicorn in the test's event loop).

No ``from __future__ import annotations`` here: the SDK reads the tools' type hints
(``Context``, a local model) at registration, in the function's own scope."""

import base64
import json
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio

from tests.helpers import png

STDIO_SERVER = Path(__file__).parent / "fakes" / "mcp_stdio_server.py"
#: The image the ``media`` tool returns: a real PNG, 30 by 30.
PNG_B64 = base64.b64encode(png(30, 30)).decode("ascii")


def demo_server() -> Any:
    """Tools (with progress, errors, media, a list change), a resource, a prompt, and
    tools that ask the client for sampling, elicitation and roots."""
    import mcp.types as types
    from mcp.server import MCPServer
    from mcp.server.mcpserver import Context
    from mcp.server.mcpserver.exceptions import ToolError
    from pydantic import BaseModel, Field

    server = MCPServer("demo")
    server.gate = anyio.Event()  # type: ignore[attr-defined]

    @server.tool(description="Counts to `steps`, reporting progress at each step.")
    async def count(steps: int, ctx: Context) -> str:
        for i in range(steps):
            await ctx.report_progress(i + 1, steps, f"step {i + 1}")
        return f"counted to {steps}"

    @server.tool(description="Waits until the test opens the gate (or for `seconds`).")
    async def wait(seconds: float = 60) -> str:
        with anyio.move_on_after(seconds):
            await server.gate.wait()  # type: ignore[attr-defined]
        return "waited"

    @server.tool(description="Always fails.")
    async def broken() -> str:
        raise ToolError("the widget is jammed")

    @server.tool(
        description="Returns an image, a link and an embedded resource.", structured_output=False
    )
    async def media() -> list[Any]:
        return [
            types.TextContent(type="text", text="three things:"),
            types.ImageContent(type="image", data=PNG_B64, mime_type="image/png"),
            types.ResourceLink(type="resource_link", uri="memo://readme", name="readme"),
            types.EmbeddedResource(
                type="resource",
                resource=types.TextResourceContents(uri="memo://inline", text="inline text"),
            ),
        ]

    @server.tool(description="Adds the tool `extra` and tells the client.")
    async def grow(ctx: Context) -> str:
        server.add_tool(lambda: "extra!", name="extra", description="An added tool.")
        await ctx.session.send_tool_list_changed()
        return "grown"

    class Person(BaseModel):
        name: str = Field(default="Ada", description="Your name")
        age: int = Field(default=36, description="Your age")
        admin: bool = False

    @server.tool(description="Asks the user who they are.")
    async def who(ctx: Context) -> str:
        answer = await ctx.elicit("Who are you?", Person)
        if answer.action == "accept":
            return f"hello {answer.data.name}, {answer.data.age}"
        return f"no answer ({answer.action})"

    @server.tool(description="Asks the client's model to write a haiku.")
    async def haiku(topic: str, ctx: Context) -> str:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = await ctx.session.create_message(
                [
                    types.SamplingMessage(
                        role="user", content=types.TextContent(type="text", text=f"haiku: {topic}")
                    )
                ],
                max_tokens=64,
                system_prompt="You are a poet.",
            )
        return f"{result.model} wrote: {result.content.text}"

    @server.tool(description="Lists the client's roots.")
    async def roots(ctx: Context) -> str:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = await ctx.session.list_roots()
        return json.dumps([str(r.uri) for r in result.roots])

    @server.tool(description="Sends the client a log message.")
    async def chatty(ctx: Context) -> str:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            await ctx.session.send_log_message(
                level="warning", data="disk almost full", logger="disk"
            )
            await ctx.session.send_log_message(level="info", data={"free_gb": 2}, logger="disk")
        return "logged"

    @server.tool(description="Echoes the Authorization header of the request.")
    async def whoami(ctx: Context) -> str:
        return (ctx.headers or {}).get("authorization", "")

    server.roots_changed = anyio.Event()  # type: ignore[attr-defined]

    async def roots_list_changed(ctx: Any, params: Any) -> None:
        server.roots_changed.set()  # type: ignore[attr-defined]

    server._lowlevel_server.add_notification_handler(
        "notifications/roots/list_changed", types.NotificationParams, roots_list_changed
    )

    @server.resource("memo://readme", description="The read-me.")
    def readme() -> str:
        return "hello from the readme"

    @server.prompt(description="Review some code.")
    def review(code: str, style: str = "terse") -> str:
        return f"Please review ({style}): {code}"

    return server


def notes_server() -> Any:
    """Completions (prompt and template arguments), resource templates, a resource
    that changes (``edit``), subscriptions and ``logging/setLevel``. What the client
    asked is kept on the server: ``subscribed``, ``unsubscribed``, ``log_levels``,
    ``completions`` (ref, argument, value, context)."""
    import warnings

    import mcp.types as types
    from mcp.server import MCPServer
    from mcp.server.mcpserver import Context

    server = MCPServer("notes")
    state: dict[str, Any] = {
        "today": "buy milk",
        "subscribed": [],
        "unsubscribed": [],
        "log_levels": [],
        "completions": [],
        "changed": anyio.Event(),  # set (and replaced) at each change above
    }
    server.state = state  # type: ignore[attr-defined]

    def changed() -> None:
        state["changed"].set()
        state["changed"] = anyio.Event()

    days = {"monday": ["standup", "review"], "tuesday": ["retro"], "march": ["plan"]}

    @server.resource("notes://today", description="Today's note.")
    def today() -> str:
        return state["today"]

    @server.resource("notes://{day}/{topic}", description="A note by day and topic.")
    def note(day: str, topic: str) -> str:
        return f"notes of {day} about {topic}"

    @server.prompt(description="Plan a day.")
    def plan(day: str, mood: str = "calm") -> str:
        return f"Plan {day} ({mood})"

    @server.completion()
    async def complete(ref: Any, argument: Any, context: Any) -> Any:
        given = dict(context.arguments or {}) if context is not None else {}
        state["completions"].append((ref.type, argument.name, argument.value, given))
        if argument.name == "day":
            values = [d for d in days if d.startswith(argument.value)]
        elif argument.name == "topic":
            values = [t for t in days.get(given.get("day", ""), []) if t.startswith(argument.value)]
        elif argument.name == "mood":
            values = [m for m in ("calm", "cheerful", "cross") if m.startswith(argument.value)]
        else:
            values = []
        return types.Completion(values=values, total=len(values), has_more=False)

    @server.tool(description="Changes today's note and tells subscribers.")
    async def edit(text: str, ctx: Context) -> str:
        state["today"] = text
        if "notes://today" in state["subscribed"]:
            await ctx.session.send_resource_updated("notes://today")
        return "edited"

    @server.tool(description="Logs at debug and at error.")
    async def chatty(ctx: Context) -> str:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            await ctx.session.send_log_message(level="debug", data="details", logger="n")
            await ctx.session.send_log_message(level="error", data="trouble", logger="n")
        return "logged"

    async def subscribe(ctx: Any, params: Any) -> Any:
        state["subscribed"].append(str(params.uri))
        changed()
        return types.EmptyResult()

    async def unsubscribe(ctx: Any, params: Any) -> Any:
        state["unsubscribed"].append(str(params.uri))
        changed()
        return types.EmptyResult()

    async def set_level(ctx: Any, params: Any) -> Any:
        state["log_levels"].append(params.level)
        changed()
        return types.EmptyResult()

    low = server._lowlevel_server
    low.add_request_handler("resources/subscribe", types.SubscribeRequestParams, subscribe)
    low.add_request_handler("resources/unsubscribe", types.UnsubscribeRequestParams, unsubscribe)
    low.add_request_handler("logging/setLevel", types.SetLevelRequestParams, set_level)
    return server


async def server_state(server: Any, check: Any, timeout: float = 10) -> None:
    """Wait until ``check(server.state)`` holds (a ``notes_server``)."""
    with anyio.fail_after(timeout):
        while not check(server.state):
            await server.state["changed"].wait()


def many_tools_server(count: int) -> Any:
    """``count`` generated tools (``tool_000`` ...), each with a few words of its own."""
    from mcp.server import MCPServer

    server = MCPServer("many")
    topics = ["weather", "invoice", "calendar", "ticket", "deploy", "metrics", "backup"]
    for i in range(count):
        topic = topics[i % len(topics)]

        def run(value: str = "", i: int = i) -> str:
            return f"tool {i} got {value}"

        server.add_tool(
            run,
            name=f"tool_{i:03d}",
            description=f"Handles {topic} record number {i}: looks it up, checks it and "
            f"reports on the {topic} with the value given.",
        )
    server.add_tool(
        lambda city="": f"sunny in {city}",
        name="forecast_lookup",
        description="Weather forecast for a city.",
    )
    return server


@asynccontextmanager
async def serve_http(server: Any) -> AsyncIterator[str]:
    """Run ``server`` over streamable HTTP on a loopback port; yields its URL."""
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    app = server.streamable_http_app()
    config = uvicorn.Config(app, log_level="error", lifespan="on", timeout_graceful_shutdown=1)
    host = uvicorn.Server(config)
    async with anyio.create_task_group() as group:
        group.start_soon(lambda: host.serve(sockets=[sock]))
        with anyio.fail_after(10):
            while not host.started:  # noqa: ASYNC110 (uvicorn offers no event)
                await anyio.sleep(0.01)
        try:
            yield f"http://127.0.0.1:{port}/mcp"
        finally:
            # Forced: a handler still waiting on the client must not hold the test.
            host.should_exit = True


def stdio_entry(*args: str) -> dict[str, Any]:
    """An ``.mcp.json`` entry running the test stdio server with this Python."""
    return {"command": sys.executable, "args": [str(STDIO_SERVER), *args]}


def time_entry() -> dict[str, Any]:
    """``mcp-server-time`` (PyPI) with a fixed local zone."""
    return {"command": sys.executable, "args": ["-m", "mcp_server_time", "--local-timezone", "UTC"]}


def write_mcp_json(folder: Path, servers: dict[str, Any]) -> None:
    (folder / ".mcp.json").write_text(json.dumps({"mcpServers": servers}))
