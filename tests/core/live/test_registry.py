"""The live registry follows a session's state from its events: running, waiting for a
permission answer (with the question), idle, and gone when it closes; records of a
process that died are dropped by readers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import anyio

from harness_tui.core.live.registry import live_dir, live_sessions
from harness_tui.core.providers.models import ModelChoice
from harness_tui.core.providers.offline.scripted import ScriptedProvider, Text, ToolCall, reply
from harness_tui.core.session.session import Session


async def until(session: Session, check: object, timeout: float = 10) -> None:
    """Until ``check()`` holds, looking again each time the session's record is written."""
    with anyio.fail_after(timeout):
        while not check():  # type: ignore[operator]
            await session.live.next_write()


def asking_session(cwd: Path) -> Session:
    call = ToolCall("Bash", {"command": "echo hi"})
    provider = ScriptedProvider([reply(call), reply(Text("Done."))])
    model = ModelChoice("scripted", "scripted", lambda: provider)
    return Session(model=model, cwd=cwd)  # default mode: Bash asks


def state_of(session_id: str) -> dict:
    return next(r.__dict__ for r in live_sessions() if r.session_id == session_id)


async def test_states_follow_the_run(tmp_path: Path) -> None:
    session = asking_session(tmp_path)
    session.front_end = "tui"
    sub = session.store.subscribe("t", queue_size=1000)
    async with session:
        await until(session, lambda: any(r.session_id == session.id for r in live_sessions()))
        assert state_of(session.id)["state"] == "starting"
        assert state_of(session.id)["front_end"] == "tui"
        await session.submit("say hi\nmore")
        async for event in session.store.stream(sub):
            if event.type == "PERMISSION_REQUESTED":
                break
        await until(session, lambda: state_of(session.id)["state"] == "waiting")
        record = state_of(session.id)
        assert record["question"]["summary"] == "Bash(echo hi)"
        assert record["detail"] == "say hi" and record["pid"] == os.getpid()
        await session.resolve_permission(record["question"]["request_id"], "allow_once")
        await until(session, lambda: state_of(session.id)["state"] == "idle")
        assert state_of(session.id)["reply"] == "Done."  # the latest answer's first line
    assert all(r.session_id != session.id for r in live_sessions())  # closed: gone


def test_a_dead_process_record_is_dropped(tmp_path: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    pid = int(dead.stdout)
    live_dir().mkdir(parents=True, exist_ok=True)
    stale = live_dir() / "ses_gone.json"
    socket, other = tmp_path / "ses_gone.sock", tmp_path / "precious.txt"
    socket.write_text(""), other.write_text("keep")  # (a socket left, in a name)
    stale.write_text(json.dumps({"session_id": "ses_gone", "pid": pid, "front_end": "tui",
                                 "cwd": "/", "model": "demo", "mode": "default",
                                 "control": str(socket)}))  # fmt: skip
    odd = live_dir() / "ses_odd.json"  # a record naming a file that is no socket of its
    odd.write_text(json.dumps({"session_id": "ses_odd", "pid": pid, "front_end": "tui",
                               "cwd": "/", "model": "demo", "mode": "default",
                               "control": str(other)}))  # fmt: skip
    (live_dir() / "broken.json").write_text("{")
    assert [r.session_id for r in live_sessions()] == []
    assert not stale.exists() and not socket.exists()
    assert not odd.exists() and other.read_text() == "keep"


def test_a_record_from_a_newer_version_still_shows(tmp_path: Path) -> None:
    """A field this version does not know is left out; the session is listed."""
    live_dir().mkdir(parents=True, exist_ok=True)
    (live_dir() / "ses_new.json").write_text(json.dumps({
        "session_id": "ses_new", "pid": os.getpid(), "front_end": "tui", "cwd": "/",
        "model": "demo", "mode": "default", "state": "idle", "mood": "cheerful"}))  # fmt: skip
    assert [(r.session_id, r.state) for r in live_sessions()] == [("ses_new", "idle")]
