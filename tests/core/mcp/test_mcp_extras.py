"""MCP completions, resource templates, resource subscriptions, server log levels and
restarts, against servers built with the SDK's own server class (``notes_server``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness_tui.core.config.settings import load_settings
from harness_tui.core.mcp.features.completions import (
    CompletionQuery,
    fill_template,
    mention_options,
    template_variables,
)
from harness_tui.core.mcp.features.log_levels import log_levels
from harness_tui.core.messages import UserMessage
from harness_tui.core.providers.offline.scripted import Text, ToolCall, reply
from tests.core.mcp.test_mcp_http import demo_session
from tests.core.mcp.test_mcp_stdio import statuses
from tests.helpers import run_to_end, wait_for
from tests.mcp_servers import demo_server, notes_server, serve_http, server_state

# --- reading what is typed ---------------------------------------------------------------


def test_a_template_is_filled_variable_by_variable() -> None:
    template = "notes://{day}/{topic}"
    assert template_variables(template) == ["day", "topic"]
    assert fill_template(template, "not").current is None  # inside the literal
    start = fill_template(template, "notes://")
    assert (start.current, start.value, start.before, start.after) == ("day", "", "notes://", "/")
    day = fill_template(template, "notes://mon")
    assert (day.current, day.value) == ("day", "mon")
    topic = fill_template(template, "notes://monday/st")
    assert (topic.current, topic.value, topic.filled) == ("topic", "st", (("day", "monday"),))
    assert topic.before == "notes://monday/"
    assert fill_template(template, "memo://x") is None
    assert fill_template("repo://{+path}", "repo://a/b").value == "a/b"


def test_mention_options_offer_resources_templates_and_the_argument_typed() -> None:
    class Listing:
        def __init__(self, resources, templates) -> None:
            self.resources, self.templates = resources, templates

    class Item:
        def __init__(self, **fields) -> None:
            self.__dict__.update({"name": "", "description": "", **fields})

    listing = Listing(
        [Item(uri="notes://today", description="Today")],
        [Item(uri_template="notes://{day}/{topic}", description="By day")],
    )
    servers = [("notes", listing), ("other", Listing([], []))]
    options, query = mention_options(servers, "@no", 12)
    assert options == [
        ("@notes:notes://today", "@notes:notes://today  Today"),
        ("@notes:notes://", "@notes:notes://{day}/{topic}  By day"),
    ]
    assert query is None
    options, query = mention_options(servers, "@notes:notes://mo", 12)
    assert options == []
    assert query == CompletionQuery(
        "notes", "template", "notes://{day}/{topic}", "day", "mo", (), "@notes:notes://", "/"
    )
    assert query.insertion("monday") == "@notes:notes://monday/"


# --- against the server --------------------------------------------------------------


async def test_completions_of_prompt_and_template_arguments(tmp_path: Path) -> None:
    server = notes_server()
    async with serve_http(server) as url:
        async with demo_session(tmp_path, url) as (session, _):
            mcp = session.mcp.completions
            query = mcp.prompt_query("/mcp__demo__plan ")
            assert (query.argument, query.value, query.suffix) == ("day", "", " ")
            assert await mcp.complete(query) == ["monday", "tuesday", "march"]
            query = mcp.prompt_query("/mcp__demo__plan monday c")
            assert (query.argument, query.context) == ("mood", (("day", "monday"),))
            assert await mcp.complete(query) == ["calm", "cheerful", "cross"]
            assert mcp.prompt_query("/mcp__demo__plan monday calm extra") is None
            spaced = mcp.prompt_query("/mcp__demo__plan  monday   ch")
            assert (spaced.argument, spaced.value) == ("mood", "ch")
            _, query = mcp.mention_options("@demo:notes://monday/")
            assert await mcp.complete(query) == ["standup", "review"]
            assert server.state["completions"][-1] == (
                "ref/resource",
                "topic",
                "",
                {"day": "monday"},
            )


async def test_no_completions_from_a_server_without_the_capability(tmp_path: Path) -> None:
    async with serve_http(demo_server()) as url:
        async with demo_session(tmp_path, url) as (session, _):
            query = session.mcp.completions.prompt_query("/mcp__demo__review x")
            assert query is not None and query.argument == "code"
            assert await session.mcp.completions.complete(query) == []
            unknown = CompletionQuery("ghost", "prompt", "p", "a", "")
            assert await session.mcp.completions.complete(unknown) == []


async def test_a_completion_that_fails_is_quiet(tmp_path: Path) -> None:
    server = notes_server()

    @server.completion()
    async def broken(ref, argument, context):
        raise RuntimeError("boom")

    async with serve_http(server) as url:
        async with demo_session(tmp_path, url) as (session, _):
            assert (
                await session.mcp.completions.complete(
                    session.mcp.completions.prompt_query("/mcp__demo__plan m")
                )
                == []
            )


async def test_templates_are_listed_and_a_filled_template_is_attached(tmp_path: Path) -> None:
    async with serve_http(notes_server()) as url:
        async with demo_session(tmp_path, url, reply(Text("ok"))) as (session, provider):
            [view] = session.mcp.snapshot()
            assert view.templates == (("notes://{day}/{topic}", "A note by day and topic."),)
            assert view.resources == (("notes://today", "Today's note."),)
            await run_to_end(session, "read @demo:notes://monday/standup")
    [message] = provider.requests[0].messages
    assert isinstance(message, UserMessage)
    assert message.content[1].text == (
        "[contents of @demo:notes://monday/standup]\nnotes of monday about standup"
    )


def attach_then_edit() -> list:
    """The model's answers to a prompt attaching notes://today, then to "edit it"."""
    return [
        reply(Text("noted")),
        reply(ToolCall("mcp__demo__edit", {"text": "buy bread"})),
        reply(Text("edited")),
    ]


async def test_an_attached_resource_is_subscribed_and_its_change_reaches_the_next_request(
    tmp_path: Path,
) -> None:
    server = notes_server()
    async with serve_http(server) as url:
        async with demo_session(
            tmp_path,
            url,
            *attach_then_edit(),
            reply(Text("bread it is")),
            reply(Text("plain")),
        ) as (session, provider):
            await run_to_end(session, "what is @demo:notes://today")
            await server_state(server, lambda s: s["subscribed"] == ["notes://today"])
            await run_to_end(session, "edit it")
            notice = await wait_for(
                session.store, lambda e: e.type == "NOTICE" and "changed" in e.message
            )
            assert notice.message.startswith("resource notes://today on server demo changed")
            assert notice.run_id is None
            [view] = session.mcp.snapshot()
            assert view.subscribed == ("notes://today",)
            await run_to_end(session, "and now?")
            await run_to_end(session, "anything else?")  # a change is carried once
        assert server.state["unsubscribed"] == ["notes://today"]
    first = provider.requests[0].messages[0]
    assert first.content[1].text == "[contents of @demo:notes://today]\nbuy milk"
    latest = provider.requests[3].messages[-1]
    assert latest.typed == "and now?"
    assert latest.content[1].text == (
        "[contents of @demo:notes://today (changed since it was attached)]\nbuy bread"
    )
    assert len(provider.requests[4].messages[-1].content) == 1


async def test_log_level_setting_is_sent_to_servers_with_logging(tmp_path: Path) -> None:
    (tmp_path / ".harness").mkdir()
    (tmp_path / ".harness" / "settings.yaml").write_text(
        "mcp:\n  logLevel: warning\n  servers:\n    demo: {logLevel: error}\n"
    )
    server = notes_server()
    async with serve_http(server) as url:
        async with demo_session(
            tmp_path, url, reply(ToolCall("mcp__demo__chatty", {})), reply(Text("ok"))
        ) as (session, _):
            await server_state(server, lambda s: s["log_levels"] == ["error"])
            await run_to_end(session, "log")
            [view] = session.mcp.snapshot()
            assert view.log_level == "error"
            assert "error: trouble" in view.log_lines


def test_log_level_settings_are_checked(tmp_path: Path) -> None:
    (tmp_path / ".harness").mkdir()
    (tmp_path / ".harness" / "settings.yaml").write_text(
        "mcp:\n  logLevel: loud\n  colour: red\n  servers:\n    a: {logLevel: DEBUG}\n    b: 3\n"
    )
    levels, problems = log_levels(load_settings(tmp_path))
    assert (levels.default, levels.of("a"), levels.of("b")) == (None, "debug", None)
    assert len(problems) == 3
    assert "'loud' is not a log level" in problems[1]
    assert not load_settings(tmp_path).problems  # "mcp" is a known key


async def test_restart_stops_and_starts_one_server_with_its_tools_refreshed(
    tmp_path: Path,
) -> None:
    server = notes_server()
    async with serve_http(server) as url:
        async with demo_session(tmp_path, url) as (session, _):
            tools = {n for n in session.executor.tools if n.startswith("mcp__demo__")}
            assert tools == {"mcp__demo__edit", "mcp__demo__chatty"}
            server.add_tool(lambda: "new", name="fresh", description="Added while running.")
            await session.mcp.restart("demo")
            after = {n for n in session.executor.tools if n.startswith("mcp__demo__")}
            assert after == tools | {"mcp__demo__fresh"}
            assert statuses(session, "demo")[-3:] == ["stopped", "connecting", "ready"]
            last = [e for e in session.store.replay(0) if e.type == "MCP_SERVER_STATUS"][-1]
            assert last.attempt == 1 and last.tools == 3
            with pytest.raises(Exception, match="no MCP server named 'ghost'"):
                await session.mcp.restart("ghost")
