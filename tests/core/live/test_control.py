"""The control socket: another process of the user answers a session's permission
question, sends it a message, stops its run and asks it to close; bad requests get a
message naming what is wrong, and the socket goes when the session closes."""

from __future__ import annotations

import json
import os
import socket
import stat
from pathlib import Path

import anyio
import pytest

from harness_tui.core.live.control import ControlError, request
from harness_tui.core.live.registry import live_sessions
from harness_tui.core.providers.models import ModelChoice
from harness_tui.core.providers.offline.scripted import ScriptedProvider, Text, ToolCall, reply
from harness_tui.core.session.session import Session
from tests.core.live.test_registry import asking_session, state_of, until


async def control_of(session: Session) -> str:
    """The session's control socket, once its record is written."""

    def path() -> str:
        return next((r.control for r in live_sessions() if r.session_id == session.id), "")

    await until(session, lambda: path() != "")
    return path()


async def ask(path: str, op: str, **fields: object) -> dict:
    """``request`` from a worker thread, as the agent view and the web handler call it."""
    return await anyio.to_thread.run_sync(lambda: request(path, op, **fields))


async def test_a_question_is_answered_through_the_socket(tmp_path: Path) -> None:
    session = asking_session(tmp_path)
    async with session:
        path = await control_of(session)
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        assert (await ask(path, "status"))["record"]["session_id"] == session.id
        await ask(path, "send", text="say hi")  # idle: starts a run
        await until(session, lambda: state_of(session.id)["state"] == "waiting")
        question = state_of(session.id)["question"]
        with pytest.raises(ControlError, match="unknown permission decision 'maybe'"):
            await ask(path, "answer", request_id=question["request_id"], decision="maybe")
        await ask(path, "answer", request_id=question["request_id"], decision="allow_once")
        await until(session, lambda: state_of(session.id)["state"] == "idle")
        with pytest.raises(ControlError, match="no open permission request"):
            await ask(path, "answer", request_id=question["request_id"], decision="deny")
        texts = [m for m in session.messages if m.role == "assistant"]
        assert texts, "the run went on after the answer"
    assert not os.path.exists(path)  # noqa: ASYNC240
    with pytest.raises(ControlError, match="the session has closed"):
        await ask(path, "status")
    assert all(r.session_id != session.id for r in live_sessions())


async def test_cancel_stops_a_waiting_run_and_close_asks_the_front_end(tmp_path: Path) -> None:
    session = asking_session(tmp_path)
    async with session:
        path = await control_of(session)
        assert (await ask(path, "cancel")) == {"was_running": False}
        await session.submit("go")
        await until(session, lambda: state_of(session.id)["state"] == "waiting")
        assert (await ask(path, "cancel")) == {"was_running": True}
        assert not session.running and state_of(session.id)["state"] == "idle"
        with anyio.fail_after(5):
            await ask(path, "close")
            await session.wait_close_requested()


async def test_bad_requests_are_named(tmp_path: Path) -> None:
    provider = ScriptedProvider([reply(Text("ok"))])
    session = Session(model=ModelChoice("scripted", "scripted", lambda: provider), cwd=tmp_path)
    async with session:
        path = await control_of(session)
        with pytest.raises(ControlError, match="unknown op 'explode'"):
            await ask(path, "explode")
        with pytest.raises(ControlError, match="send needs a non-empty text"):
            await ask(path, "send", text=" ")

        def raw(line: bytes) -> dict:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.connect(path)
                sock.sendall(line)
                return json.loads(sock.makefile().readline())

        answer = await anyio.to_thread.run_sync(raw, b"[1, 2]\n")
        assert answer == {"ok": False, "error": "a request is one JSON object per line"}
    with pytest.raises(ControlError, match="no socket"):
        request("", "status")


async def test_tool_call_allowed_in_session_does_not_need_the_socket(tmp_path: Path) -> None:
    """A session whose tools need no question never waits: the record goes starting ->
    running -> idle and the question stays empty (the view shows no keys to press)."""
    call = ToolCall("Read", {"file_path": str(tmp_path / "a.txt")})
    (tmp_path / "a.txt").write_text("x")
    provider = ScriptedProvider([reply(call), reply(Text("Read it."))])
    session = Session(model=ModelChoice("scripted", "scripted", lambda: provider), cwd=tmp_path)
    async with session:
        await ask(await control_of(session), "send", text="read a.txt")
        await until(session, lambda: state_of(session.id)["state"] == "idle")
        assert state_of(session.id)["question"] is None


async def test_the_folders_trust_question_waits_and_is_answered_through_the_socket(
    tmp_path: Path,
) -> None:
    """A session in an untrusted folder with project settings waits for the trust
    question (kind ``trust``); ``answer`` with request id ``trust`` answers it."""
    from tests.core.config.test_trust import project_with_start_hook

    marker = project_with_start_hook(tmp_path)
    provider = ScriptedProvider([reply(Text("ok"))])
    session = Session(model=ModelChoice("scripted", "scripted", lambda: provider), cwd=tmp_path)
    async with session:
        path = await control_of(session)
        await until(session, lambda: state_of(session.id)["state"] == "waiting")
        question = state_of(session.id)["question"]
        assert question["kind"] == "trust" and question["request_id"] == "trust"
        assert str(tmp_path) in question["summary"]
        await ask(path, "answer", request_id="trust", decision="allow_once")
        await until(session, lambda: state_of(session.id)["state"] == "starting")
        assert session.trusted and marker.exists()  # the project's hook ran on the yes
        with pytest.raises(ControlError, match="no open trust question"):
            await ask(path, "answer", request_id="trust", decision="deny")
