"""Hooks on what an MCP server asks the user (``Elicitation``, ``ElicitationResult``) and
on the instruction files a session loads (``InstructionsLoaded``), with a command hook
and an http hook each."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from harness_tui.core.providers.offline.scripted import Text, ToolCall, reply
from harness_tui.core.session.session import Session
from tests.core.hooks.hook_support import HookServer, both_hooks, check_both
from tests.core.mcp.test_mcp_stdio import mcp_session, server_status
from tests.fakes.loopback import JSONResponse
from tests.helpers import run_to_end, types, wait_for
from tests.mcp_servers import demo_server, serve_http


@asynccontextmanager
async def who_session(project: Path) -> AsyncIterator[Session]:
    """An open session whose server ``demo`` is ready and whose model calls its ``who``
    tool (which asks the user who they are)."""
    async with serve_http(demo_server()) as url:
        session, _ = mcp_session(
            project,
            {"demo": {"type": "http", "url": url}},
            reply(ToolCall("mcp__demo__who", {})),
            reply(Text("ok")),
        )
        async with session:
            assert (await server_status(session, "demo", "ready", "failed")).status == "ready"
            yield session


def answer(event: str, action: str, content: dict | None = None) -> JSONResponse:
    specific = {"hookEventName": event, "action": action, "content": content}
    return JSONResponse(200, {"hookSpecificOutput": specific})


async def test_an_elicitation_hook_answers_for_the_user(tmp_path: Path) -> None:
    grace = {"name": "Grace", "age": 85, "admin": True}
    with HookServer({"/Elicitation": answer("Elicitation", "accept", grace)}) as server:
        both_hooks(tmp_path, server.url, ["Elicitation"])
        async with who_session(tmp_path) as session:
            run = await run_to_end(session, "who am I")
        [asked] = check_both(tmp_path, server, "Elicitation")
    assert asked["mcp_server_name"] == "demo" and asked["message"] == "Who are you?"
    assert asked["requested_schema"]["properties"]["age"]["type"] == "integer"
    assert "ELICITATION_REQUESTED" not in types(run)
    [done] = [e for e in run if e.type == "TOOL_CALL_COMPLETED"]
    assert done.content == "hello Grace, 85"


async def test_an_elicitation_result_hook_changes_the_users_answer(tmp_path: Path) -> None:
    with HookServer({"/ElicitationResult": answer("ElicitationResult", "decline")}) as server:
        both_hooks(tmp_path, server.url, ["Elicitation", "ElicitationResult"])
        async with who_session(tmp_path) as session:
            run_id = await session.submit("who am I")
            asked = await wait_for(session.store, lambda e: e.type == "ELICITATION_REQUESTED")
            content = {"name": "Ada", "age": 36, "admin": False}
            await session.resolve_elicitation(asked.request_id, "accept", content)
            await wait_for(
                session.store, lambda e: e.type == "RUN_COMPLETED" and e.run_id == run_id
            )
        [result] = check_both(tmp_path, server, "ElicitationResult")
    assert result["action"] == "accept" and result["content"] == content
    assert result["elicitation_id"] == asked.request_id
    done = next(e for e in session.store.replay(0) if e.type == "TOOL_CALL_COMPLETED")
    assert done.content == "no answer (decline)"


async def test_instructions_loaded_reports_each_instruction_file(tmp_path: Path) -> None:
    (tmp_path / "AGENTS.md").write_text("Run the tests with make test.\n")
    with HookServer() as server:
        both_hooks(tmp_path, server.url, ["InstructionsLoaded"])
        session, _ = mcp_session(tmp_path, {}, reply(Text("ok")))
        async with session:
            await run_to_end(session, "hi")
        loaded = check_both(tmp_path, server, "InstructionsLoaded")
    ours = [d for d in loaded if d["file_path"] == str(tmp_path / "AGENTS.md")]
    assert [(d["memory_type"], d["load_reason"]) for d in ours] == [("Project", "session_start")]
