"""Tool search: with 300 MCP tools the first request carries only the core tools and
``ToolSearch``; a search loads what it finds, and the found tools are callable."""

from __future__ import annotations

from pathlib import Path

from harness_tui.core.mcp.features.tool_search import ToolSearch, ToolSearchTool, spec_tokens
from harness_tui.core.messages import ToolResultMessage
from harness_tui.core.providers.offline.scripted import Text, ToolCall, reply
from harness_tui.core.tools import builtin_tools
from tests.core.mcp.test_mcp_stdio import mcp_session, server_status
from tests.helpers import run_to_end, tool_context
from tests.mcp_servers import many_tools_server, serve_http

# Every tool that is not an MCP tool goes out whole: the built-ins and Task (sub-agents).
CORE = {t.name for t in builtin_tools()} | {"Task", "TaskStop", "Memory"}


async def test_300_tools_are_searched_for_then_callable(tmp_path: Path) -> None:
    async with serve_http(many_tools_server(300)) as url:
        session, provider = mcp_session(
            tmp_path,
            {"many": {"type": "http", "url": url}},
            reply(ToolCall("ToolSearch", {"query": "weather forecast", "max_results": 3})),
            reply(ToolCall("mcp__many__forecast_lookup", {"city": "Oslo"})),
            reply(Text("Sunny.")),
        )
        async with session:
            ready = await server_status(session, "many", "ready")
            assert ready.tools == 301
            events = await run_to_end(session, "What is the weather in Oslo?")
    first, second, third = (set(t.name for t in r.tools) for r in provider.requests)
    assert first == CORE | {"ToolSearch"}
    searched = next(e for e in events if e.type == "TOOL_CALL_COMPLETED")
    assert searched.tool_name == "ToolSearch"
    loaded = searched.details["loaded"]
    assert loaded[0] == "mcp__many__forecast_lookup" and len(loaded) == 3
    assert second == CORE | {"ToolSearch", *loaded}
    assert third == second  # loaded for the rest of the session
    result = provider.requests[2].messages[-1]
    assert isinstance(result, ToolResultMessage) and result.content == "sunny in Oslo"
    # The tool search tool says how many tools wait to be found.
    search_spec = next(t for t in provider.requests[0].tools if t.name == "ToolSearch")
    assert search_spec.description.startswith("Search the 301 tools from MCP servers many")


async def test_most_used_tools_are_sent_in_later_sessions(tmp_path: Path) -> None:
    async with serve_http(many_tools_server(300)) as url:
        for replies in (
            [reply(ToolCall("mcp__many__tool_007", {"value": "x"})), reply(Text("ok"))],
            [reply(Text("hello"))],
        ):
            session, provider = mcp_session(
                tmp_path, {"many": {"type": "http", "url": url}}, *replies
            )
            async with session:
                await server_status(session, "many", "ready")
                await run_to_end(session, "go")
    later = {t.name for t in provider.requests[0].tools}
    assert later == CORE | {"ToolSearch", "mcp__many__tool_007"}


async def test_small_tool_sets_are_sent_whole(tmp_path: Path) -> None:
    async with serve_http(many_tools_server(5)) as url:
        session, provider = mcp_session(
            tmp_path, {"many": {"type": "http", "url": url}}, reply(Text("hi"))
        )
        async with session:
            await server_status(session, "many", "ready")
            await run_to_end(session, "go")
    sent = {t.name for t in provider.requests[0].tools}
    assert "ToolSearch" not in sent and len(sent - CORE) == 6


# --- the selection and the search, without servers ------------------------------------


class Fake:
    deferrable = True

    def __init__(self, name: str, description: str) -> None:
        self.name, self.description = name, description
        self.input_schema = {"type": "object", "properties": {"x": {"type": "string"}}}


def specs_of(tools):
    from harness_tui.core.providers.base import ToolSpec

    return tuple(ToolSpec(t.name, str(t.description), t.input_schema) for t in tools)


def test_selection_depends_on_the_context_window(tmp_path: Path) -> None:
    tools = {f"mcp__s__t{i}": Fake(f"mcp__s__t{i}", f"does thing {i} " * 10) for i in range(50)}
    state = ToolSearch(tmp_path / "usage.json")
    tools["ToolSearch"] = ToolSearchTool(state, tools)
    specs = specs_of(tools.values())
    total = sum(spec_tokens(s) for s in specs if s.name != "ToolSearch")
    whole = state.select(specs, tools, context_window=total * 10 + 100)
    assert len(whole) == 50 and not state.active
    cut = state.select(specs, tools, context_window=total * 10 - 100)
    assert [s.name for s in cut] == ["ToolSearch"] and state.active


async def test_search_matches_names_and_descriptions(tmp_path: Path) -> None:
    tools = {
        "mcp__gh__create_issue": Fake("mcp__gh__create_issue", "Open a new issue in a repo."),
        "mcp__gh__list_pulls": Fake("mcp__gh__list_pulls", "List pull requests."),
        "mcp__cal__getEvents": Fake("mcp__cal__getEvents", "Calendar events of a day."),
    }
    state = ToolSearch(tmp_path / "usage.json")
    search = ToolSearchTool(state, tools)
    result = await search.run({"query": "issue"}, tool_context())
    assert result.details["loaded"] == ["mcp__gh__create_issue"]
    result = await search.run({"query": "calendar events"}, tool_context())
    assert result.details["loaded"] == ["mcp__cal__getEvents"]
    result = await search.run({"query": "select:mcp__gh__list_pulls,nope"}, tool_context())
    assert result.details["loaded"] == ["mcp__gh__list_pulls"]
    result = await search.run({"query": "zebra"}, tool_context())
    assert "No tool matches" in result.content
    assert state.loaded == {"mcp__gh__create_issue", "mcp__cal__getEvents", "mcp__gh__list_pulls"}
