"""Background tasks in a whole session on a scripted model: a server started with
``run_in_background`` is listed, its output read with Read (no question), stopped with
``TaskStop`` (its process group gone); a task that ends by itself reaches the model at
its next turn; a cancelled run leaves tasks running and the session's end ends them."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any

import anyio
import pytest

from harness_tui.core.errors import HarnessError
from harness_tui.core.messages import ToolResultMessage, UserMessage
from harness_tui.core.providers.base import ModelRequest
from harness_tui.core.providers.offline.scripted import Text, ToolCall, Wait, reply
from tests.helpers import process_group_members, run_to_end, scripted_in, wait_for

SERVER = "python3 -u -c \"print('serving', flush=True); import time; time.sleep(300)\""


def session_in(folder: Path, script: Any) -> Any:
    """A session in the default mode where Bash is allowed by a rule (nobody to ask:
    any other question is refused, so a Read that asked would fail)."""
    (folder / ".harness").mkdir(exist_ok=True)
    (folder / ".harness" / "settings.yaml").write_text("permissions:\n  allow: [Bash]\n")
    return scripted_in(folder, script, ask_policy="deny", trusted=True)


def bg(command: str) -> Any:
    return ToolCall("Bash", {"command": command, "run_in_background": True})


def last_result(request: ModelRequest) -> str:
    results = [m for m in request.messages if isinstance(m, ToolResultMessage)]
    return str(results[-1].content) if results else ""


def task_id_in(text: str) -> str:
    found = re.search(r"task_[0-9a-f]+", text)
    assert found, text
    return found.group(0)


def _until(check: Any, timeout: float, what: str) -> None:
    """Poll another process's doing (no event to await across processes)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.02)


async def file_says(path: Path, text: str, timeout: float = 10) -> None:
    """Wait until another process has written ``text`` into ``path``."""

    def found() -> bool:
        return path.exists() and text in path.read_text(errors="replace")

    await anyio.to_thread.run_sync(_until, found, timeout, f"{text!r} in {path}")


async def group_gone(pgid: int, timeout: float = 5) -> None:
    def gone() -> bool:
        return not process_group_members(pgid) and not os.path.exists(f"/proc/{pgid}")

    await anyio.to_thread.run_sync(_until, gone, timeout, f"process group {pgid} gone")


async def test_a_server_is_listed_read_and_stopped(tmp_path: Path) -> None:
    hold = anyio.Event()
    turn = 0

    def script(request: ModelRequest) -> Any:
        nonlocal turn
        turn += 1
        if turn == 1:
            return reply(bg(SERVER))
        task = task_id_in(last_result(request) if turn == 2 else str(request.messages))
        if turn == 2:
            output = re.search(r"goes to (\S+\.log)", last_result(request))
            assert output, last_result(request)
            return reply(Wait(hold), ToolCall("Read", {"file_path": output.group(1)}))
        if turn == 3:
            return reply(ToolCall("TaskStop", {"task_id": task}))
        return reply(Text("stopped"))

    session, _ = session_in(tmp_path, script)
    async with session:
        await session.submit("start the server")
        started = await wait_for(session.store, lambda e: e.type == "TASK_STARTED")
        (listed,) = session.tasks.running()
        assert (listed.task_id, listed.command, listed.pgid) == (
            started.task_id,
            SERVER,
            started.pgid,
        )
        assert Path(started.output_path).parent.name == "tasks"
        await file_says(Path(started.output_path), "serving")
        assert process_group_members(started.pgid) >= 1
        hold.set()
        end = await wait_for(session.store, lambda e: e.type == "RUN_COMPLETED", 30)
        events = [e for e in session.store.replay(0) if e.run_id == end.run_id]
    assert not [e for e in events if e.type == "PERMISSION_REQUESTED"]
    read = next(e for e in events if e.type == "TOOL_CALL_COMPLETED" and e.tool_name == "Read")
    assert "serving" in read.content
    ended = next(e for e in events if e.type == "TASK_ENDED")
    assert (ended.task_id, ended.status, ended.exit_code) == (started.task_id, "stopped", None)
    stop = next(e for e in events if e.type == "TOOL_CALL_COMPLETED" and e.tool_name == "TaskStop")
    assert "serving" in stop.content
    await group_gone(started.pgid)
    assert session.tasks.running() == []


async def test_a_task_that_ends_reaches_the_model_at_its_next_turn(tmp_path: Path) -> None:
    seen: list[str] = []
    turn = 0

    def script(request: ModelRequest) -> Any:
        nonlocal turn
        turn += 1
        seen.append(
            "\n".join(str(m.content) for m in request.messages if isinstance(m, UserMessage))
        )
        if turn == 1:
            return reply(bg("echo build-log-line; exit 3"))
        return reply(Text("ok"))

    session, _ = session_in(tmp_path, script)
    async with session:
        await run_to_end(session, "build in the background")
        ended = await wait_for(session.store, lambda e: e.type == "TASK_ENDED")
        assert (ended.status, ended.exit_code, ended.tail) == ("failed", 3, "build-log-line")
        assert "task-notification" not in seen[-1]
        await run_to_end(session, "what happened?")
    note = seen[-1]
    assert "<task-notification>" in note and ended.task_id in note
    assert "failed (exit code 3)" in note and "build-log-line" in note
    assert session.tasks.take_notes() == []  # told once


async def test_a_cancel_leaves_tasks_running_and_the_session_end_ends_them(tmp_path: Path) -> None:
    never = anyio.Event()
    session, _ = session_in(tmp_path, [reply(bg("sleep 300")), reply(Wait(never))])
    async with session:
        await session.submit("go")
        started = await wait_for(session.store, lambda e: e.type == "TASK_STARTED")
        await wait_for(session.store, lambda e: e.type == "TOOL_CALL_COMPLETED")
        await session.cancel()
        await wait_for(session.store, lambda e: e.type == "RUN_CANCELLED")
        assert process_group_members(started.pgid) == 1
        assert [t.task_id for t in session.tasks.running()] == [started.task_id]
    ended = [e for e in session.store.replay(0) if e.type == "TASK_ENDED"]
    assert [(e.task_id, e.status) for e in ended] == [(started.task_id, "killed")]
    await group_gone(started.pgid)


async def test_stop_task_from_a_view_and_task_stop_errors(tmp_path: Path) -> None:
    script = [
        reply(bg("sleep 300")),
        reply(ToolCall("TaskStop", {"task_id": "task_nope"})),
        reply(Text("ok")),
    ]
    session, _ = session_in(tmp_path, script)
    async with session:
        events = await run_to_end(session, "go")
        started = next(e for e in events if e.type == "TASK_STARTED")
        failed = next(e for e in events if e.type == "TOOL_CALL_FAILED")
        assert f"no background task 'task_nope'; running: {started.task_id}" in failed.error
        info = await session.stop_task(started.task_id)
        assert info.status == "stopped"
        await group_gone(started.pgid)
        with pytest.raises(HarnessError, match="no background task 'task_nope'"):
            await session.stop_task("task_nope")
