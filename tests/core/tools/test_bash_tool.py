"""Bash: one shell session per agent session, streamed output, timeout, and cancel that
kills the whole process group (SPEC 5, 7)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import anyio
import pytest

from harness_tui.core.events import Event
from harness_tui.core.providers.models import ModelChoice
from harness_tui.core.providers.offline.scripted import ScriptedProvider, Text, ToolCall, reply
from harness_tui.core.session.session import Session
from harness_tui.core.tools import BashTool
from tests.helpers import (
    process_group_alive,
    process_group_members,
    run_to_end,
    squeeze,
    tool_context,
    types,
    wait_for,
)

TWO_SLEEPERS = "echo pgid=$$; sh -c 'sleep 999 & sleep 999 & wait'"


async def wait_dead(pgid: int, within_s: float) -> float:
    """Seconds until the group is gone; fails after ``within_s``."""
    started = time.monotonic()
    while process_group_alive(pgid):
        assert time.monotonic() - started < within_s, f"group {pgid} still alive"
        await anyio.sleep(0.005)
    return time.monotonic() - started


def session_running(command: str, tmp_path: Path, **options) -> Session:
    provider = ScriptedProvider(
        [reply(ToolCall("Bash", {"command": command})), reply(Text("done"))]
    )
    return Session(
        model=ModelChoice("scripted", "scripted", lambda: provider),
        cwd=tmp_path,
        mode="bypassPermissions",
        **options,
    )


@pytest.fixture
def real_tmp(tmp_path: Path) -> Path:
    return tmp_path.resolve()


async def test_cd_and_export_persist_between_calls(real_tmp: Path) -> None:
    tmp_path = real_tmp
    (tmp_path / "sub").mkdir()
    tool = BashTool()
    ctx = tool_context(tmp_path)
    try:
        first = await tool.run({"command": "cd sub && export GREETING=hello && LOCAL=x"}, ctx)
        assert not first.is_error and first.content == "(no output)"
        second = await tool.run({"command": 'pwd; echo "$GREETING"'}, ctx)
        assert second.content.splitlines() == [str(tmp_path / "sub"), "hello"]
        third = await tool.run({"command": 'unset GREETING; cd ..; echo "[$GREETING]"; pwd'}, ctx)
        assert third.content.splitlines() == ["[]", str(tmp_path)]
        assert tool.current_folder() == tmp_path
    finally:
        await tool.aclose()


async def test_exit_codes_stderr_and_a_vanished_folder(tmp_path: Path) -> None:
    tool = BashTool()
    ctx = tool_context(tmp_path)
    try:
        failed = await tool.run({"command": "echo out; echo err >&2; exit 3"}, ctx)
        assert failed.is_error and failed.content == "out\nerr\nExit code 3"
        assert failed.details["exit_code"] == 3 and failed.display.endswith("exit 3")
        (tmp_path / "gone").mkdir()
        await tool.run({"command": "cd gone"}, ctx)
        (tmp_path / "gone").rmdir()
        back = await tool.run({"command": "pwd"}, ctx)
        assert "no longer exists" in back.content and str(tmp_path) in back.content
    finally:
        await tool.aclose()


async def test_output_streams_as_progress_events(tmp_path: Path) -> None:
    events: list[Event] = []
    tool = BashTool()
    try:
        result = await tool.run(
            {"command": "echo one; sleep 0.2; echo two"}, tool_context(tmp_path, events=events)
        )
    finally:
        await tool.aclose()
    progress = [e for e in events if e.type == "TOOL_CALL_PROGRESS"]
    assert len(progress) >= 2  # two writes, a pause apart: two chunks
    assert "".join(e.output for e in progress) == "one\ntwo\n"
    assert result.content == "one\ntwo"


async def test_timeout_kills_the_whole_group(tmp_path: Path) -> None:
    events: list[Event] = []
    tool = BashTool()
    try:
        result = await tool.run(
            {"command": TWO_SLEEPERS, "timeout": 500}, tool_context(tmp_path, events=events)
        )
    finally:
        await tool.aclose()
    assert result.is_error and result.error_kind == "timeout"
    assert "timed out after 0.5 s" in result.content
    pgid = int(re.search(r"pgid=(\d+)", result.content).group(1))
    assert not process_group_alive(pgid)


async def test_cancel_kills_the_group_within_a_second_and_reports_run_cancelled(
    tmp_path: Path,
) -> None:
    session = session_running(TWO_SLEEPERS, tmp_path)
    async with session:
        run_id = await session.submit("sleep")
        printed = await wait_for(
            session.store, lambda e: e.type == "TOOL_CALL_PROGRESS" and "pgid=" in e.output
        )
        pgid = int(re.search(r"pgid=(\d+)", printed.output).group(1))
        with anyio.fail_after(5):
            # Processes starting is nothing we can await: poll.
            while process_group_members(pgid) < 4:  # bash, sh and the two sleeps  # noqa: ASYNC110
                await anyio.sleep(0.01)
        await session.cancel()
        await wait_dead(pgid, within_s=1.0)
    events = [e for e in session.store.replay(0) if e.run_id == run_id]
    assert squeeze(types(events))[-3:] == [
        "TOOL_CALL_PROGRESS",
        "TOOL_CALL_FAILED",
        "RUN_CANCELLED",
    ]
    failed = next(e for e in events if e.type == "TOOL_CALL_FAILED")
    assert failed.kind == "cancelled"


async def test_background_jobs_outlive_the_call_but_not_the_session(tmp_path: Path) -> None:
    session = session_running("echo pgid=$$; sleep 999 & echo started", tmp_path)
    async with session:
        with anyio.fail_after(10):
            events = await run_to_end(session, "start a server")
        done = next(e for e in events if e.type == "TOOL_CALL_COMPLETED")
        pgid = int(re.search(r"pgid=(\d+)", done.content).group(1))
        assert "started" in done.content and process_group_alive(pgid)
    await wait_dead(pgid, within_s=1.0)
