"""MCP over stdio against real servers: PyPI's ``mcp-server-time`` and a test server
that writes to stderr, dies mid-call and sleeps. Sessions are driven by the scripted
model and judged by their events."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import anyio
import pytest

from harness_tui.core.events import Event
from harness_tui.core.messages import ToolResultMessage
from harness_tui.core.providers.base import ModelRequest
from harness_tui.core.providers.models import ModelChoice
from harness_tui.core.providers.offline.scripted import (
    Reply,
    ScriptedProvider,
    Text,
    ToolCall,
    reply,
)
from harness_tui.core.session.session import Session
from tests.helpers import ONE_TOOL_RUN, run_to_end, squeeze, types, wait_for
from tests.mcp_servers import stdio_entry, time_entry, write_mcp_json


def mcp_session(
    folder: Path,
    servers: dict,
    *replies: Reply,
    sampling: list[Reply] | None = None,
    script: Callable[[ModelRequest], Reply] | None = None,
    **options,
) -> tuple[Session, ScriptedProvider]:
    """A session on ``replies`` (or ``script``, a function of the request; and
    ``sampling`` replies for sampling requests) with ``servers`` in its folder's
    ``.mcp.json``."""
    write_mcp_json(folder, servers)
    provider = ScriptedProvider(list(replies) if script is None else script, sampling=sampling)
    options.setdefault("mode", "bypassPermissions")
    session = Session(
        model=ModelChoice("scripted", "scripted", lambda: provider, 200_000),
        cwd=folder,
        trusted=True,
        **options,
    )
    return session, provider


async def server_status(
    session: Session, server: str, *statuses: str, timeout: float = 30
) -> Event:
    return await wait_for(
        session.store,
        lambda e: e.type == "MCP_SERVER_STATUS" and e.server == server and e.status in statuses,
        timeout,
    )


def statuses(session: Session, server: str) -> list[str]:
    return [
        e.status
        for e in session.store.replay(0)
        if e.type == "MCP_SERVER_STATUS" and e.server == server
    ]


CONVERT = {"source_timezone": "Europe/Paris", "time": "12:00", "target_timezone": "Asia/Tokyo"}


async def test_time_server_tools_are_listed(tmp_path: Path) -> None:
    session, _ = mcp_session(tmp_path, {"time": time_entry()})
    async with session:
        ready = await server_status(session, "time", "ready", "failed")
        assert ready.status == "ready", ready.error
        assert ready.tools == 2 and ready.transport == "stdio"
        assert ready.target == f"{Path(os.sys.executable).name} (stdio)"
        tools = session.executor.tools
        convert = tools["mcp__time__convert_time"]
        assert "mcp__time__get_current_time" in tools
        assert set(convert.input_schema["required"]) == set(CONVERT)
        assert convert.read_only and convert.access_kind == "read"  # readOnlyHint
    assert statuses(session, "time") == ["connecting", "ready", "stopped"]


async def test_end_to_end_convert_time_reaches_the_next_request(tmp_path: Path) -> None:
    session, provider = mcp_session(
        tmp_path,
        {"time": time_entry()},
        reply(Text("Converting."), ToolCall("mcp__time__convert_time", CONVERT)),
        reply(Text("It is 20:00 in Tokyo.")),
        mode="default",  # read-only MCP tools run without asking
    )
    async with session:
        await server_status(session, "time", "ready")
        events = await run_to_end(session, "What time is noon in Paris in Tokyo?")
    assert squeeze(types(events)) == ONE_TOOL_RUN
    completed = next(e for e in events if e.type == "TOOL_CALL_COMPLETED")
    target = completed.details["structured_content"]["target"]
    assert target["datetime"].endswith("T20:00:00+09:00")
    # The first request offered the tool; the second carried its result.
    first, second = provider.requests
    assert "mcp__time__convert_time" in {t.name for t in first.tools}
    result = second.messages[-1]
    assert isinstance(result, ToolResultMessage) and not result.is_error
    assert json.loads(result.content)["target"]["timezone"] == "Asia/Tokyo"
    assert "T20:00:00+09:00" in result.content


async def test_an_invalid_timezone_is_a_tool_error_the_model_sees(tmp_path: Path) -> None:
    bad = {**CONVERT, "source_timezone": "Mars/Olympus_Mons"}
    session, provider = mcp_session(
        tmp_path,
        {"time": time_entry()},
        reply(ToolCall("mcp__time__convert_time", bad)),
        reply(Text("That zone does not exist.")),
    )
    async with session:
        await server_status(session, "time", "ready")
        events = await run_to_end(session, "convert")
    failed = next(e for e in events if e.type == "TOOL_CALL_FAILED")
    assert failed.kind == "tool_error" and "Invalid timezone" in failed.error
    result = provider.requests[1].messages[-1]
    assert isinstance(result, ToolResultMessage) and result.is_error
    assert "Mars/Olympus_Mons" in result.content


async def test_permission_rules_and_hooks_see_mcp_names(tmp_path: Path) -> None:
    (tmp_path / ".harness").mkdir()
    (tmp_path / ".harness" / "settings.yaml").write_text(
        "permissions:\n  deny: [mcp__time__convert_time]\n"
        "hooks:\n  PreToolUse:\n    - matcher: mcp__time__.*\n"
        "      hooks: [{type: command, command: 'echo seen >> hook.log'}]\n"
    )
    session, provider = mcp_session(
        tmp_path,
        {"time": time_entry()},
        reply(ToolCall("mcp__time__convert_time", CONVERT)),
        reply(Text("denied")),
        mode="default",
    )
    async with session:
        await server_status(session, "time", "ready")
        events = await run_to_end(session, "convert")
    failed = next(e for e in events if e.type == "TOOL_CALL_FAILED")
    assert failed.kind == "denied" and "mcp__time__convert_time" in failed.error
    assert "HOOK_EXECUTED" in types(events)
    assert (tmp_path / "hook.log").read_text().strip() == "seen"
    # A bare deny rule also takes the tool out of the model's view.
    assert "mcp__time__convert_time" not in {t.name for t in provider.requests[0].tools}


async def test_a_server_rule_hides_all_its_tools(tmp_path: Path) -> None:
    (tmp_path / ".harness").mkdir()
    (tmp_path / ".harness" / "settings.yaml").write_text("permissions:\n  deny: [mcp__time]\n")
    session, provider = mcp_session(tmp_path, {"time": time_entry()}, reply(Text("ok")))
    async with session:
        await server_status(session, "time", "ready")
        await run_to_end(session, "hi")
    assert not [t for t in provider.requests[0].tools if t.name.startswith("mcp__time")]


# --- failures ---------------------------------------------------------------------------


async def test_a_server_that_never_starts_leaves_the_session_usable(tmp_path: Path) -> None:
    session, _ = mcp_session(
        tmp_path,
        {
            "ghost": {"command": str(tmp_path / "no-such-program")},
            "quitter": {
                "command": os.sys.executable,
                "args": [
                    "-c",
                    "import sys; print('missing API key', file=sys.stderr); sys.exit(1)",
                ],
            },
        },
        reply(Text("still here")),
    )
    async with session:
        ghost = await server_status(session, "ghost", "failed", "ready")
        quitter = await server_status(session, "quitter", "failed", "ready")
        events = await run_to_end(session, "hello")
    assert ghost.status == "failed" and "command not found" in ghost.error
    assert quitter.status == "failed" and "missing API key" in quitter.error
    assert events[-1].type == "RUN_COMPLETED" and not events[-1].is_error
    assert not [n for n in session.executor.tools if n.startswith("mcp__")]


async def test_a_server_that_exits_mid_call_is_reported_and_restarted(tmp_path: Path) -> None:
    pid_file = tmp_path / "pids"
    session, provider = mcp_session(
        tmp_path,
        {"flaky": stdio_entry("--pid-file", str(pid_file))},
        reply(ToolCall("mcp__flaky__die", {})),
        reply(Text("it died")),
        reply(ToolCall("mcp__flaky__pid", {})),
        reply(Text("back")),
    )
    async with session:
        await server_status(session, "flaky", "ready")
        first = await run_to_end(session, "die")
        failed = next(e for e in first if e.type == "TOOL_CALL_FAILED")
        assert "went away during the call" in failed.error
        assert "dying on purpose" in failed.error  # its last stderr line
        crashed = await server_status(session, "flaky", "crashed")
        assert crashed.attempt == 0 and crashed.tools == 3
        # The next use starts it again.
        second = await run_to_end(session, "again")
        done = next(e for e in second if e.type == "TOOL_CALL_COMPLETED")
        pids = pid_file.read_text().split()
        assert len(pids) == 2 and done.content == pids[1]
    assert statuses(session, "flaky") == [
        "connecting",
        "ready",
        "crashed",
        "connecting",
        "ready",
        "stopped",
    ]
    restarted = [
        e for e in session.store.replay(0) if e.type == "MCP_SERVER_STATUS" and e.attempt == 1
    ]
    assert [e.status for e in restarted] == ["connecting", "ready", "stopped"]
    assert isinstance(provider.requests[1].messages[-1], ToolResultMessage)


async def test_restarts_back_off_after_repeated_failures(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from harness_tui.core.mcp import connection

    monkeypatch.setattr(connection, "BACKOFF_S", (0.0, 0.05, 10.0))
    broken = tmp_path / "broken"
    calls = [ToolCall("mcp__flaky__die", {})] + [ToolCall("mcp__flaky__pid", {})] * 3
    session, _ = mcp_session(
        tmp_path,
        {"flaky": stdio_entry("--fail-if-exists", str(broken))},
        *[r for call in calls for r in (reply(call), reply(Text("next")))],
    )
    async with session:
        await server_status(session, "flaky", "ready")
        broken.write_text("")  # from now on the server refuses to start
        errors = []
        for prompt in ("die", "restart 1", "restart 2", "too soon"):
            events = await run_to_end(session, prompt)
            errors.append(next(e.error for e in events if e.type == "TOOL_CALL_FAILED"))
    assert "went away during the call" in errors[0]
    # Restarted at once, then after 0.05 s; both fail with the server's own words.
    assert errors[1] == errors[2]
    assert errors[1].startswith("MCP server flaky could not start: the server process exited")
    assert "refusing to start: the test said so" in errors[1]
    # The third restart would come 10 s later: the call fails at once and says so.
    assert errors[3].startswith("MCP server flaky is down (") and "in 10 s or later" in errors[3]
    assert statuses(session, "flaky") == [
        "connecting",
        "ready",
        "crashed",
        "connecting",
        "failed",
        "connecting",
        "failed",
        "stopped",
    ]


async def test_cancel_during_a_slow_call_ends_the_run_promptly(tmp_path: Path) -> None:
    session, _ = mcp_session(
        tmp_path,
        {"slow": stdio_entry()},
        reply(ToolCall("mcp__slow__nap", {"seconds": 60})),
        reply(ToolCall("mcp__slow__nap", {"seconds": 0})),
        reply(Text("usable")),
    )
    async with session:
        await server_status(session, "slow", "ready")
        run_id = await session.submit("nap")
        await wait_for(session.store, lambda e: e.type == "TOOL_CALL_STARTED")
        with anyio.fail_after(2):
            await session.cancel()
        last = [e for e in session.store.replay(0) if e.run_id == run_id][-1]
        assert last.type == "RUN_CANCELLED"
        # The connection survived the cancelled call.
        events = await run_to_end(session, "again")
    assert next(e for e in events if e.type == "TOOL_CALL_COMPLETED").content == "rested 0.0"
    assert statuses(session, "slow") == ["connecting", "ready", "stopped"]


async def test_stdio_stderr_never_reaches_the_terminal(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    from harness_tui.core.mcp.transports import log_path

    session, _ = mcp_session(tmp_path, {"noisy": stdio_entry("--marker", "NOISY-STDERR-1234")})
    async with session:
        ready = await server_status(session, "noisy", "ready")
    captured = capfd.readouterr()
    assert "NOISY-STDERR-1234" not in captured.err + captured.out
    assert ready.log_path == str(log_path("noisy"))
    assert "NOISY-STDERR-1234" in await anyio.Path(ready.log_path).read_text()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"


async def test_no_server_process_remains_after_the_session_closes(tmp_path: Path) -> None:
    pid_file = tmp_path / "pids"
    session, _ = mcp_session(
        tmp_path,
        {f"s{i}": stdio_entry("--pid-file", str(pid_file)) for i in range(3)},
    )
    async with session:
        for i in range(3):
            await server_status(session, f"s{i}", "ready")
        pids = [int(p) for p in pid_file.read_text().split()]
        assert len(pids) == 3 and all(_alive(p) for p in pids)
    assert not [p for p in pids if _alive(p)]
    for i in range(3):
        assert statuses(session, f"s{i}")[-1] == "stopped"


async def test_servers_start_in_the_background(tmp_path: Path) -> None:
    session, _ = mcp_session(tmp_path, {"slow": stdio_entry()})
    async with session:
        # Entering returned before the server could answer: nothing waited for it.
        assert "ready" not in statuses(session, "slow")
        await server_status(session, "slow", "ready")
    assert statuses(session, "slow") == ["connecting", "ready", "stopped"]


async def test_project_servers_start_only_once_the_folder_is_trusted(tmp_path: Path) -> None:
    write_mcp_json(tmp_path, {"time": time_entry()})
    provider = ScriptedProvider([])
    session = Session(
        model=ModelChoice("scripted", "scripted", lambda: provider), cwd=tmp_path, trusted=False
    )
    async with session:
        await wait_for(session.store, lambda e: e.type == "TRUST_REQUESTED")
        assert "MCP_SERVER_STATUS" not in types(session.store.replay(0))
        await session.resolve_trust(True, remember=False)
        ready = await server_status(session, "time", "ready")
    assert ready.tools == 2


async def test_the_first_request_waits_for_servers_still_starting(tmp_path: Path) -> None:
    session, provider = mcp_session(tmp_path, {"time": time_entry()}, reply(Text("hi")))
    async with session:
        await session.submit("right away")  # the server cannot be up yet
        await wait_for(session.store, lambda e: e.type == "RUN_COMPLETED")
    assert "mcp__time__convert_time" in {t.name for t in provider.requests[0].tools}
    # Server status belongs to the session, not to the run that happened to be active.
    status = [e for e in session.store.replay(0) if e.type == "MCP_SERVER_STATUS"]
    assert [e.status for e in status] == ["connecting", "ready", "stopped"]
    assert {e.run_id for e in status} == {None}


async def test_a_server_that_never_answers_times_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MCP_TIMEOUT", "1500")  # milliseconds, as in Claude Code
    mute = {"command": os.sys.executable, "args": ["-c", "import time; time.sleep(60)"]}
    session, _ = mcp_session(tmp_path, {"mute": mute}, reply(Text("hi")))
    session.mcp.startup_wait_s = 0.2
    async with session:
        events = await run_to_end(session, "go")
        failed = await server_status(session, "mute", "failed")
    assert "did not answer within 1.5 s" in failed.error
    notices = [e.message for e in events if e.type == "NOTICE"]
    assert notices == [
        "MCP server mute still starting; their tools join a later request once ready"
    ]
    assert events[-1].type == "RUN_COMPLETED" and not events[-1].is_error
