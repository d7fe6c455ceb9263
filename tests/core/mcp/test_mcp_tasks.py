"""Task-augmented tool calls: a run cancelled while its task works cancels the task on
the server (the reference "everything" server's ``simulate-research-query``); tools
that require tasks on a server that does not take them are not offered (and ``/mcp``
says why); tools with optional task support are called normally."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import anyio
import pytest

from harness_tui.core.events import Event
from harness_tui.core.mcp.features.tasks import unsupported_reason
from harness_tui.core.providers.offline.scripted import ScriptedProvider, Text, ToolCall, reply
from harness_tui.widgets.screens.mcp import describe_servers
from tests import TESTS
from tests.core.mcp.test_mcp_everything import stdio_entry
from tests.core.mcp.test_mcp_http import demo_session
from tests.core.mcp.test_mcp_stdio import mcp_session, server_status
from tests.helpers import run_to_end, wait_for
from tests.mcp_servers import demo_server, serve_http
from tests.node_parts import node_env, node_program


def _with_task_support(server: Any, support: dict[str, str]) -> Any:
    """``server`` listing the named tools with ``execution.taskSupport`` set (the SDK's
    own server has no task support, and declares no ``tasks`` capability)."""
    from mcp import types

    listed = server.list_tools

    async def list_tools() -> list[Any]:
        return [
            tool.model_copy(
                update={"execution": types.ToolExecution(task_support=support[tool.name])}
            )
            if tool.name in support
            else tool
            for tool in await listed()
        ]

    server.list_tools = list_tools
    return server


async def test_a_tool_requiring_tasks_on_a_server_without_them_is_not_offered(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="harness_tui.core.mcp.connection")
    server = _with_task_support(demo_server(), {"count": "required", "broken": "optional"})
    async with serve_http(server) as url:
        async with demo_session(
            tmp_path, url, reply(ToolCall("mcp__demo__broken", {})), reply(Text("ok"))
        ) as (session, _):
            assert "mcp__demo__count" not in session.executor.tools
            ready = [e for e in session.store.replay(0) if e.type == "MCP_SERVER_STATUS"][-1]
            assert ready.tools == 9  # of the 10 the server lists
            [view] = session.mcp.snapshot()
            assert "mcp__demo__count" not in dict(view.tools)
            [(name, why)] = view.hidden_tools
            assert name == "count"
            assert "must be called as a task" in why and "MCP server demo" in why
            report = describe_servers([view]).plain
            assert "not offered to the model (1)\n    count  it must be called as a task" in report
            [line] = [r.getMessage() for r in caplog.records if "not offered" in r.getMessage()]
            assert line.startswith("MCP tool count of demo is not offered to the model: it must")
            # Optional task support: called as a plain tools/call (this server would
            # refuse a task), and its error comes back as the tool's.
            events = await run_to_end(session, "go")
    failed = next(e for e in events if e.type == "TOOL_CALL_FAILED")
    assert "the widget is jammed" in failed.error


def test_unsupported_reason_follows_the_server_capability() -> None:
    from mcp import types

    tool = types.Tool(
        name="slow",
        input_schema={"type": "object"},
        execution=types.ToolExecution(task_support="required"),
    )
    takes_tasks = types.ServerCapabilities(
        tasks=types.ServerTasksCapability(
            requests=types.ServerTasksRequestsCapability(
                tools=types.TasksToolsCapability(call=types.TasksCallCapability())
            )
        )
    )
    assert unsupported_reason(tool, takes_tasks, "s") is None
    assert unsupported_reason(tool, types.ServerCapabilities(), "s") is not None
    plain = tool.model_copy(update={"execution": None})
    assert unsupported_reason(plain, types.ServerCapabilities(), "s") is None


async def test_cancelling_the_run_cancels_the_task_on_the_server(tmp_path: Path) -> None:
    from mcp import types

    session, _ = mcp_session(
        tmp_path,
        {"everything": stdio_entry()},
        reply(ToolCall("mcp__everything__simulate-research-query", {"topic": "tides"})),
        reply(Text("never reached")),
    )
    async with session:
        ready = await server_status(session, "everything", "ready", "failed")
        assert ready.status == "ready", ready.error
        run_id = await session.submit("research")
        await wait_for(session.store, lambda e: e.type == "TOOL_CALL_PROGRESS")
        started = time.monotonic()
        with anyio.fail_after(5):
            await session.cancel()
        await wait_for(session.store, lambda e: e.run_id == run_id and e.type == "RUN_CANCELLED")
        took = time.monotonic() - started
        client = await session.mcp.connections["everything"].ready_client()
        listed = await client.session.send_request(types.ListTasksRequest(), types.ListTasksResult)
    [task] = listed.tasks
    assert task.status == "cancelled"
    assert took < 2, f"the cancel took {took:.2f} s"


TASK_SERVER = TESTS / "fakes" / "mcp_task_server.mjs"


def task_server_entry() -> dict[str, Any]:
    """The fake task server (TypeScript SDK, on Node 22)."""
    node = str(node_program("node"))
    return {"command": node, "args": [str(TASK_SERVER)], "env": {"PATH": node_env()["PATH"]}}


async def call_task_tool(folder: Path, tool: str) -> tuple[list[Event], ScriptedProvider]:
    """One run in which the model calls ``tool`` of the fake task server."""
    session, provider = mcp_session(
        folder,
        {"tasks": task_server_entry()},
        reply(ToolCall(f"mcp__tasks__{tool}", {})),
        reply(Text("ok")),
    )
    async with session:
        ready = await server_status(session, "tasks", "ready", "failed")
        assert ready.status == "ready", ready.error
        return await run_to_end(session, "go"), provider


async def test_a_task_reports_progress_and_status_then_its_result(tmp_path: Path) -> None:
    events, provider = await call_task_tool(tmp_path, "steps")
    done = next(e for e in events if e.type == "TOOL_CALL_COMPLETED")
    assert done.content == "3 steps done"
    reported = [(p.progress, p.total, p.status) for p in events if p.type == "TOOL_CALL_PROGRESS"]
    # The progress the server sent with the call's token, while the task worked.
    assert [r for r in reported if r[0] is not None] == [
        (1, 3, "step 1"),
        (2, 3, "step 2"),
        (3, 3, "step 3"),
    ]
    # The task's status messages, polled every 50 ms (its pollInterval).
    statuses = [s for p, _, s in reported if p is None]
    assert statuses[0] == "working" and statuses[-1] == "step 3 done"
    assert provider.requests[1].messages[-1].content == "3 steps done"


async def test_a_failed_task_is_a_tool_error(tmp_path: Path) -> None:
    events, _ = await call_task_tool(tmp_path, "doomed")
    failed = next(e for e in events if e.type == "TOOL_CALL_FAILED")
    assert failed.error == "the flux capacitor broke"


async def test_a_task_result_is_checked_against_the_output_schema(tmp_path: Path) -> None:
    events, _ = await call_task_tool(tmp_path, "misshapen")
    failed = next(e for e in events if e.type == "TOOL_CALL_FAILED")
    assert "Invalid structured content returned by tool misshapen" in failed.error
