"""Completions, resource templates, subscriptions and log levels against the reference
"everything" server (npm ``@modelcontextprotocol/server-everything``, over stdio):
what another SDK's server sends, not only ours."""

from __future__ import annotations

from pathlib import Path

from harness_tui.core.providers.offline.scripted import Text, ToolCall, reply
from tests.core.mcp.test_mcp_stdio import mcp_session, server_status
from tests.helpers import run_to_end, wait_for
from tests.node_parts import node_env, node_program

FEATURES = "demo://resource/static/document/features.md"


def everything(tmp_path: Path, *replies):
    program = node_program("mcp-server-everything")
    (tmp_path / ".harness").mkdir()
    (tmp_path / ".harness" / "settings.yaml").write_text("mcp:\n  logLevel: info\n")
    entry = {"command": str(program), "args": ["stdio"], "env": {"PATH": node_env()["PATH"]}}
    return mcp_session(tmp_path, {"every": entry}, *replies)


async def test_completions_and_templates_of_the_everything_server(tmp_path: Path) -> None:
    session, _ = everything(tmp_path)
    async with session:
        ready = await server_status(session, "every", "ready", "failed")
        assert ready.status == "ready", ready.error
        completions = session.mcp.completions
        department = completions.prompt_query("/mcp__every__completable-prompt ")
        assert await completions.complete(department) == [
            "Engineering",
            "Sales",
            "Marketing",
            "Support",
        ]
        name = completions.prompt_query("/mcp__every__completable-prompt Sales ")
        assert name.context == (("department", "Sales"),)
        assert await completions.complete(name) == ["David", "Eve", "Frank"]
        options, query = completions.mention_options("@every:demo://resource/d")
        assert "@every:demo://resource/dynamic/text/" in [value for value, _ in options]
        _, query = completions.mention_options("@every:demo://resource/dynamic/text/")
        assert query is not None and query.argument == "resourceId"
        [view] = session.mcp.snapshot()
        assert ("demo://resource/dynamic/text/{resourceId}", "") not in view.resources
        assert "demo://resource/dynamic/text/{resourceId}" in dict(view.templates)
        assert view.log_level == "info"


async def test_a_subscribed_resource_of_the_everything_server_changes(tmp_path: Path) -> None:
    session, provider = everything(
        tmp_path,
        reply(Text("read it")),
        reply(ToolCall("mcp__every__toggle-subscriber-updates", {})),
        reply(Text("updates on")),
        reply(Text("again")),
    )
    async with session:
        await server_status(session, "every", "ready")
        await run_to_end(session, f"summarise @every:{FEATURES}")
        # The server acknowledges the subscription with a log message (level info).
        await wait_for(
            session.store,
            lambda e: e.type == "MCP_SERVER_LOG" and "Received Subscribe Resource" in e.message,
        )
        await run_to_end(session, "turn on updates")
        notice = await wait_for(
            session.store,
            lambda e: e.type == "NOTICE" and e.message.startswith(f"resource {FEATURES}"),
            timeout=20,  # the server sends its simulated updates every 5 s
        )
        assert "on server every changed" in notice.message
        await run_to_end(session, "and now?")
    latest = provider.requests[-1].messages[-1]
    assert latest.content[1].text.startswith(
        f"[contents of @every:{FEATURES} (changed since it was attached)]"
    )
