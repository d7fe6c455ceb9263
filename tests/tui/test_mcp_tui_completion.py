"""MCP in the input box and ``/mcp``, driven with Pilot against a real session and a
real MCP server (``notes_server``): argument completions from the server, resource
templates filled in ``@`` mentions, a watched resource's change, ``/mcp restart``."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Static

from harness_tui.core.providers.offline.scripted import Text, reply
from harness_tui.widgets.conversation import Conversation, NoticeEntry
from harness_tui.widgets.mcp_completions import McpCompletions
from harness_tui.widgets.prompt_input import CompletionMenu, PromptBox, PromptInput
from harness_tui.widgets.screens.mcp import McpScreen
from tests.core.mcp.test_mcp_extras import attach_then_edit
from tests.helpers import wait_for
from tests.mcp_servers import demo_server, notes_server, serve_http, server_state
from tests.tui.test_mcp_tui import demo_tui
from tests.tui.test_tui import type_text, until


@pytest.fixture(autouse=True)
def quick_completions(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(McpCompletions, "delay_s", 0.01)


def offered(app) -> list[str]:
    menu = app.query_one(CompletionMenu)
    return list(menu._values) if menu.is_open else []


def notices(app) -> list[str]:
    return [n.text for n in app.query_one(Conversation).query(NoticeEntry)]


async def test_prompt_arguments_are_completed_by_the_server(tmp_path: Path) -> None:
    async with serve_http(notes_server()) as url:
        async with demo_tui(tmp_path, url) as (_, _, app, pilot):
            prompt = app.query_one(PromptInput)
            await type_text(pilot, "/mcp__demo__plan ")
            await until(pilot, lambda: offered(app) == ["monday ", "tuesday ", "march "])
            await type_text(pilot, "t")
            await until(pilot, lambda: offered(app) == ["tuesday "])
            await pilot.press("tab")
            assert prompt.text == "/mcp__demo__plan tuesday "
            await until(pilot, lambda: offered(app) == ["calm", "cheerful", "cross"])
            await type_text(pilot, "ch")
            await until(pilot, lambda: offered(app) == ["cheerful"])
            await pilot.press("enter")  # the only completion: taken
            assert prompt.text == "/mcp__demo__plan tuesday cheerful"


async def test_a_server_without_completions_is_not_asked(tmp_path: Path) -> None:
    async with serve_http(demo_server()) as url:
        async with demo_tui(tmp_path, url, reply(Text("Looks fine."))) as (
            session,
            provider,
            app,
            pilot,
        ):
            await type_text(pilot, "/mcp__demo__review x=1")
            completions = app.query_one(PromptBox).mcp
            assert completions._timer is None and not completions.answers
            assert offered(app) == []
            await pilot.press("enter")
            await wait_for(session.store, lambda e: e.type == "RUN_COMPLETED")
    assert provider.requests[0].messages[0].text == "Please review (terse): x=1"


async def test_a_resource_template_is_filled_from_completions_and_attached(
    tmp_path: Path,
) -> None:
    async with serve_http(notes_server()) as url:
        async with demo_tui(tmp_path, url, reply(Text("ok"))) as (session, provider, app, pilot):
            prompt = app.query_one(PromptInput)
            await type_text(pilot, "read @de")
            await until(pilot, lambda: offered(app) == ["@demo:notes://today", "@demo:notes://"])
            await pilot.press("down", "tab")
            assert prompt.text == "read @demo:notes://"
            days = [
                "@demo:notes://monday/",
                "@demo:notes://tuesday/",
                "@demo:notes://march/",
                "@demo:notes://today",  # the resource fits what is typed too
            ]
            await until(pilot, lambda: offered(app) == days)
            await pilot.press("tab")
            await until(
                pilot,
                lambda: (
                    offered(app) == ["@demo:notes://monday/standup", "@demo:notes://monday/review"]
                ),
            )
            await pilot.press("tab")
            assert prompt.text == "read @demo:notes://monday/standup"
            await pilot.press("enter")
            await wait_for(session.store, lambda e: e.type == "RUN_COMPLETED")
    [message] = provider.requests[0].messages
    assert message.content[1].text == (
        "[contents of @demo:notes://monday/standup]\nnotes of monday about standup"
    )


async def test_a_watched_resource_that_changes_is_a_notice(tmp_path: Path) -> None:
    server = notes_server()
    async with serve_http(server) as url:
        async with demo_tui(
            tmp_path,
            url,
            *attach_then_edit(),
            prompt="remember @demo:notes://today",
        ) as (session, _, app, pilot):
            await server_state(server, lambda s: s["subscribed"] == ["notes://today"])
            await wait_for(session.store, lambda e: e.type == "RUN_COMPLETED")
            await type_text(pilot, "edit it")
            await pilot.press("enter")
            expected = (
                "resource notes://today on server demo changed; the next message carries "
                "its new contents"
            )
            await until(pilot, lambda: expected in notices(app))
            await type_text(pilot, "/mcp")
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, McpScreen))
            report = str(app.screen.query_one("#mcp-report", Static).render())
            assert "notes://today  (attached, watched for changes)" in report
            assert "resource templates (1)" in report and "notes://{day}/{topic}" in report


async def test_slash_mcp_restart(tmp_path: Path) -> None:
    server = notes_server()
    async with serve_http(server) as url:
        async with demo_tui(tmp_path, url) as (session, _, app, pilot):
            prompt = app.query_one(PromptInput)
            await type_text(pilot, "/mcp re")
            assert offered(app) == ["restart "]
            await pilot.press("tab")
            await type_text(pilot, "d")
            assert offered(app) == ["demo"]
            await pilot.press("tab")
            assert prompt.text == "/mcp restart demo"
            server.add_tool(lambda: "new", name="fresh", description="Added while running.")
            await pilot.press("enter")
            await until(pilot, lambda: "mcp__demo__fresh" in session.executor.tools)
            await until(
                pilot, lambda: any(n.startswith("MCP server demo restarted") for n in notices(app))
            )
            assert "Restarting MCP server demo…" in notices(app)
            await type_text(pilot, "/mcp restart ghost")
            await pilot.press("enter")
            await until(pilot, lambda: "No MCP server named ghost (servers: demo)." in notices(app))
