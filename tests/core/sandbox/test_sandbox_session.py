"""The sandbox in a whole session (real bubblewrap, scripted model): which Bash calls
run without asking, which ask, what the model is told, and what the user may allow."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness_tui.core.providers.offline.scripted import Text, ToolCall, reply
from harness_tui.core.sandbox import bwrap
from tests.helpers import run_to_end, scripted_in, wait_for
from tests.sandbox_support import sandbox_scratch, turn_on


@pytest.fixture
def ws() -> Iterator[Path]:
    with sandbox_scratch("sbx-session-") as top:
        yield top / "ws"


def bash(command: str, **extra: Any) -> Any:
    return reply(ToolCall("Bash", {"command": command, **extra}))


def results(events: list[Any]) -> list[Any]:
    return [e for e in events if e.type in ("TOOL_CALL_COMPLETED", "TOOL_CALL_FAILED")]


async def test_sandboxed_commands_run_without_asking(ws: Path) -> None:
    turn_on(ws, {})
    script = [bash("echo hi > a.txt"), bash("echo x > ../b.txt"), reply(Text("done"))]
    session, _ = scripted_in(ws, script, ask_policy="deny", trusted=True)
    async with session:
        events = await run_to_end(session, "go", timeout=30)
    assert not [e for e in events if e.type == "PERMISSION_REQUESTED"]
    assert (ws / "a.txt").read_text() == "hi\n"
    assert not (ws.parent / "b.txt").exists()
    first, second = results(events)
    assert first.type == "TOOL_CALL_COMPLETED"
    assert second.type == "TOOL_CALL_FAILED"
    assert "Read-only file system" in second.error
    assert "The sandbox refused a write to" in second.error
    assert "allowWrite" in second.error  # nobody to ask: how the user can allow it
    blocked = [e for e in events if e.type == "SANDBOX_BLOCKED"]
    assert [(b.kind, b.target, b.tool_call_id) for b in blocked] == [
        ("write", str(ws.parent / "b.txt"), second.tool_call_id)
    ]


@pytest.mark.parametrize(
    ("sandbox", "command", "extra"),
    [
        ({"autoAllowBashIfSandboxed": False}, "touch a.txt", {}),
        ({"excludedCommands": ["touch"]}, "touch a.txt", {}),
        ({}, "touch a.txt", {"dangerouslyDisableSandbox": True}),
    ],
    ids=["auto-allow off", "excluded command", "the model asks to run outside"],
)
async def test_commands_outside_the_sandbox_ask_as_usual(
    ws: Path, sandbox: dict[str, Any], command: str, extra: dict[str, Any]
) -> None:
    turn_on(ws, sandbox)
    session, _ = scripted_in(
        ws, [bash(command, **extra), reply(Text("ok"))], ask_policy="deny", trusted=True
    )
    async with session:
        events = await run_to_end(session, "go", timeout=30)
    assert [e.type for e in events if e.type.startswith("PERMISSION_")] == [
        "PERMISSION_REQUESTED",
        "PERMISSION_RESOLVED",
    ]
    assert not (ws / "a.txt").exists()


async def test_running_outside_can_be_refused_by_settings(ws: Path) -> None:
    turn_on(ws, {"allowUnsandboxedCommands": False})
    script = [
        bash("echo ${HARNESS_SANDBOX:-none}", dangerouslyDisableSandbox=True),
        reply(Text("ok")),
    ]
    session, _ = scripted_in(ws, script, ask_policy="deny", trusted=True)
    async with session:
        events = await run_to_end(session, "go", timeout=30)
    (result,) = results(events)
    assert result.content.strip() == "1"  # still in the sandbox, and not asked
    assert not [e for e in events if e.type == "PERMISSION_REQUESTED"]


async def test_no_bwrap_means_no_command(ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(bwrap.BWRAP_ENV, str(ws / "missing-bwrap"))
    turn_on(ws, {})
    script = [bash("touch ran.txt"), reply(Text("ok"))]
    session, _ = scripted_in(ws, script, mode="bypassPermissions", trusted=True)
    async with session:
        events = await run_to_end(session, "go", timeout=30)
        status = session.sandbox_status()
    (result,) = results(events)
    assert result.type == "TOOL_CALL_FAILED"
    assert "cannot start, so the command was not run" in result.error
    assert "apt-get install bubblewrap" in result.error
    assert not (ws / "ran.txt").exists()
    assert status.state == "unavailable" and "bubblewrap" in status.reason


async def test_the_user_can_allow_a_refused_path(ws: Path) -> None:
    turn_on(ws, {})
    (ws.parent / "out").mkdir()
    target = ws.parent / "out" / "f.txt"
    script = [bash(f"echo 1 > {target}"), bash(f"echo 2 > {target}"), reply(Text("ok"))]
    session, _ = scripted_in(ws, script, ask_policy="ask", trusted=True)
    async with session:
        await session.submit("go")
        asked = await wait_for(session.store, lambda e: e.type == "PERMISSION_REQUESTED", 30)
        assert asked.input == {"write": str(ws.parent / "out")}
        assert "refused a write" in asked.reason
        await session.resolve_permission(asked.request_id, "allow_session")
        end = await wait_for(session.store, lambda e: e.type == "RUN_COMPLETED", 30)
        events = [e for e in session.store.replay(0) if e.run_id == end.run_id]
        status = session.sandbox_status()
    first, second = results(events)
    assert "The user has now allowed writing" in first.error
    assert second.type == "TOOL_CALL_COMPLETED"
    assert target.read_text() == "2\n"
    assert str(ws.parent / "out") in status.writable


async def test_background_tasks_run_in_the_sandbox(ws: Path) -> None:
    turn_on(ws, {})
    command = "echo in > inside.txt; echo out > ../outside.txt"
    call = reply(ToolCall("Bash", {"command": command, "run_in_background": True}))
    session, _ = scripted_in(ws, [call, reply(Text("ok"))], ask_policy="deny", trusted=True)
    async with session:
        events = await run_to_end(session, "go", timeout=30)
        ended = await wait_for(session.store, lambda e: e.type == "TASK_ENDED", 30)
    started = next(e for e in events if e.type == "TASK_STARTED")
    assert started.sandboxed
    assert not [e for e in events if e.type == "PERMISSION_REQUESTED"]
    assert ended.status == "failed" and "Read-only file system" in ended.tail
    assert (ws / "inside.txt").read_text() == "in\n"
    assert not (ws.parent / "outside.txt").exists()
