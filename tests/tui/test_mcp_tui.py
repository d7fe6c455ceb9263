"""MCP in the TUI, driven with Pilot against a real session and a real MCP server:
the elicitation form, the sampling approval, ``/mcp``, prompt commands and status
notices."""

from __future__ import annotations

from contextlib import asynccontextmanager
from pathlib import Path

from textual.widgets import Checkbox, Input, Static

from harness_tui.core.mcp.transports import log_path
from harness_tui.core.providers.offline.scripted import Text, ToolCall, reply
from harness_tui.widgets.conversation import Conversation, NoticeEntry, UserEntry
from harness_tui.widgets.screens.elicitation import ElicitationDialog
from harness_tui.widgets.screens.mcp import McpScreen
from harness_tui.widgets.screens.sampling import SamplingDialog
from tests.core.mcp.test_mcp_stdio import mcp_session, server_status
from tests.helpers import wait_for
from tests.mcp_servers import demo_server, serve_http
from tests.tui.test_tui import tui, type_text, until


def completed(session) -> list[str]:
    return [e.content for e in session.store.replay(0) if e.type == "TOOL_CALL_COMPLETED"]


@asynccontextmanager
async def demo_tui(tmp_path: Path, url: str, *replies, prompt: str | None = None, sampling=None):
    """The TUI on a session whose server ``demo`` is ready; ``prompt`` is typed and sent."""
    session, provider = mcp_session(
        tmp_path, {"demo": {"type": "http", "url": url}}, *replies, sampling=sampling
    )
    async with tui(session) as (app, pilot):
        await server_status(session, "demo", "ready")
        if prompt is not None:
            await type_text(pilot, prompt)
            await pilot.press("enter")
        yield session, provider, app, pilot


async def test_elicitation_form_with_defaults_accept(tmp_path: Path) -> None:
    async with serve_http(demo_server()) as url:
        async with demo_tui(
            tmp_path,
            url,
            reply(ToolCall("mcp__demo__who", {})),
            reply(Text("Nice to meet you.")),
            prompt="who am I",
        ) as (session, _, app, pilot):
            await until(pilot, lambda: isinstance(app.screen, ElicitationDialog))
            dialog = app.screen
            name, age = dialog.query_one("#f-name", Input), dialog.query_one("#f-age", Input)
            assert (name.value, age.value) == ("Ada", "36")  # defaults filled in
            assert dialog.query_one("#f-admin", Checkbox).value is False
            name.value = "Grace"
            age.value = "not a number"
            await pilot.press("ctrl+s")
            error = dialog.query_one("#error", Static)
            assert str(error.render()) == "Age: 'not a number' is not a whole number"
            assert app.screen is dialog  # still open: the answer did not fit
            age.value = "85"
            await pilot.press("ctrl+s")
            await wait_for(session.store, lambda e: e.type == "RUN_COMPLETED")
            assert completed(session) == ["hello Grace, 85"]
            assert not isinstance(app.screen, ElicitationDialog)


async def test_elicitation_decline_and_escape(tmp_path: Path) -> None:
    async with serve_http(demo_server()) as url:
        async with demo_tui(
            tmp_path,
            url,
            reply(ToolCall("mcp__demo__who", {}), ToolCall("mcp__demo__who", {})),
            reply(Text("ok")),
            prompt="twice",
        ) as (session, _, app, pilot):
            await until(pilot, lambda: isinstance(app.screen, ElicitationDialog))
            await pilot.click("#decline")
            await until(pilot, lambda: len(completed(session)) == 1)
            await until(pilot, lambda: isinstance(app.screen, ElicitationDialog))
            await pilot.press("escape")
            await wait_for(session.store, lambda e: e.type == "RUN_COMPLETED")
    assert completed(session) == ["no answer (decline)", "no answer (cancel)"]


async def test_sampling_approval_dialog(tmp_path: Path) -> None:
    async with serve_http(demo_server()) as url:
        async with demo_tui(
            tmp_path,
            url,
            reply(ToolCall("mcp__demo__haiku", {"topic": "snow"})),
            reply(Text("There you go.")),
            sampling=[reply(Text("White silence falls"))],
            prompt="haiku",
        ) as (session, _, app, pilot):
            await until(pilot, lambda: isinstance(app.screen, SamplingDialog))
            shown = " ".join(str(s.render()) for s in app.screen.query(Static))
            assert "haiku: snow" in shown and "You are a poet." in shown
            await pilot.press("y")
            await wait_for(session.store, lambda e: e.type == "RUN_COMPLETED")
    assert completed(session) == ["scripted wrote: White silence falls"]


async def test_slash_mcp_lists_servers_tools_resources_and_prompts(tmp_path: Path) -> None:
    async with serve_http(demo_server()) as url:
        session, _ = mcp_session(
            tmp_path,
            {"demo": {"type": "http", "url": url}, "ghost": {"command": "/no/such/binary"}},
        )
        async with tui(session) as (app, pilot):
            await server_status(session, "demo", "ready")
            await server_status(session, "ghost", "failed")
            await type_text(pilot, "/mcp")
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, McpScreen))
            report = str(app.screen.query_one("#mcp-report", Static).render())
            for expected in (
                "demo  ready",
                "mcp__demo__count",
                "memo://readme",
                "review",
                "ghost  failed",
                "command not found: /no/such/binary",
            ):
                assert expected in report, expected
            await pilot.press("escape")
            await until(pilot, lambda: not isinstance(app.screen, McpScreen))
            notices = [n.text for n in app.query_one(Conversation).query(NoticeEntry)]
            assert "MCP server demo ready: 10 tools, 1 resource, 1 prompt" in notices
            expected = (
                "MCP server ghost did not start: command not found: /no/such/binary "
                f"(its stderr is in {log_path('ghost')})"
            )
            assert expected in notices


async def test_prompt_commands_send_the_prompt(tmp_path: Path) -> None:
    async with serve_http(demo_server()) as url:
        async with demo_tui(tmp_path, url, reply(Text("Looks fine."))) as (
            session,
            provider,
            app,
            pilot,
        ):
            assert ("mcp__demo__review", "Review some code. <code> [style]") in (
                app.slash_commands()
            )
            await type_text(pilot, "/mcp__demo__review x=1")
            await pilot.press("enter")
            await wait_for(session.store, lambda e: e.type == "RUN_COMPLETED")
            conversation = app.query_one(Conversation)
            await until(pilot, lambda: bool(conversation.query(UserEntry)))
            assert conversation.query_one(UserEntry).text == "Please review (terse): x=1"
    assert provider.requests[0].messages[0].text == "Please review (terse): x=1"
