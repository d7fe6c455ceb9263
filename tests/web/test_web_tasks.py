"""Background tasks and the sandbox's status over the web API, on real sessions whose
scripted model starts ``sleep`` with Bash's ``run_in_background``: the list (running,
then ended), a stop that ends the task's whole process group, an unknown task (404),
the guards (401/403/404), the sandbox route's JSON; the same on the TUI's mirror."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import pytest

from harness_tui.core.providers.models import ModelChoice
from harness_tui.core.providers.offline.scripted import (
    ScriptedProvider,
    Text,
    ToolCall,
    Wait,
    reply,
)
from harness_tui.core.session.session import Session
from harness_tui.core.tools import builtin_tools
from harness_tui.web.redact import MASK
from tests.helpers import process_group_alive, wait_for
from tests.web_support import Served, mirror, web_server

SECRET = "sk-ant-test-0123456789abcdefTASKS"
SLEEP = "sleep 300"


def background(work: Path, command: str = SLEEP, hold: anyio.Event | None = None) -> Any:
    """A scripted model that starts ``command`` in the background, then answers (after
    ``hold`` is set, when given)."""
    last = reply(Wait(hold), Text("Started it.")) if hold else reply(Text("Started it."))
    return [
        reply(ToolCall("Bash", {"command": command, "run_in_background": True})),
        last,
    ]


def allowed_bash(
    work: Path, script: Callable[[], Any], settings: str = "permissions:\n  allow: [Bash]\n"
) -> Callable[[], dict[str, Any]]:
    """Session options: in ``work``, where a settings file allows Bash (``settings``),
    with the built-in tools, each session playing ``script()``."""
    (work / ".harness").mkdir(exist_ok=True)
    (work / ".harness" / "settings.yaml").write_text(settings)

    def options() -> dict[str, Any]:
        provider = ScriptedProvider(script())
        return {
            "model": ModelChoice("scripted", "scripted", lambda: provider, 200_000),
            "tools": builtin_tools(),
            "cwd": work,
            "trusted": True,
        }

    return options


@pytest.fixture
def work(tmp_path: Path) -> Path:
    folder = tmp_path / "work"
    folder.mkdir()
    return folder


async def start_task(srv: Served, session: Session) -> Any:
    """Run the session's script (it starts a background task); its TASK_STARTED."""
    started = await srv.http.post(f"/api/query/{session.id}", json={"text": "start it"})
    assert started.status_code == 202, started.text
    event = await wait_for(session.store, lambda e: e.type == "TASK_STARTED")
    await wait_for(session.store, lambda e: e.type == "RUN_COMPLETED")
    return event


async def group_gone(pgid: int, timeout: float = 5) -> None:
    """Poll briefly: the group's last processes may still be on their way out."""

    def wait() -> None:
        deadline = time.monotonic() + timeout
        while process_group_alive(pgid):
            assert time.monotonic() < deadline, f"process group {pgid} still there"
            time.sleep(0.02)

    await anyio.to_thread.run_sync(wait)


async def test_list_and_stop_a_background_task(work: Path) -> None:
    async with web_server(allowed_bash(work, lambda: background(work))) as srv:
        session, _ = await srv.new_session()
        empty = await srv.http.get(f"/api/tasks/{session.id}")
        assert empty.status_code == 200, empty.text
        assert empty.json()["session_id"] == session.id and empty.json()["tasks"] == []
        assert abs(empty.json()["now"] - time.time()) < 60  # the server's clock

        started = await start_task(srv, session)
        assert process_group_alive(started.pgid)
        listed = await srv.http.get(f"/api/tasks/{session.id}")
        (task,) = listed.json()["tasks"]
        assert task["task_id"] == started.task_id and task["command"] == SLEEP
        assert task["running"] is True and task["status"] is None
        assert task["pgid"] == started.pgid and task["output_path"] == started.output_path
        assert task["sandboxed"] is started.sandboxed
        assert abs(task["started_at"] - time.time()) < 60 and task["ended_at"] is None

        stopped = await srv.http.post(f"/api/tasks/{session.id}/{started.task_id}/stop")
        assert stopped.status_code == 200, stopped.text
        ended = stopped.json()
        assert ended["task_id"] == started.task_id and ended["running"] is False
        assert ended["status"] == "stopped" and ended["exit_code"] is None
        assert ended["ended_at"] >= ended["started_at"]
        await group_gone(started.pgid)
        event = await wait_for(session.store, lambda e: e.type == "TASK_ENDED")
        assert (event.task_id, event.status) == (started.task_id, "stopped")

        (after,) = (await srv.http.get(f"/api/tasks/{session.id}")).json()["tasks"]
        assert after["status"] == "stopped" and after["running"] is False
        # Stopping it again returns it as it is.
        again = await srv.http.post(f"/api/tasks/{session.id}/{started.task_id}/stop")
        assert again.status_code == 200 and again.json()["status"] == "stopped"


async def test_an_unknown_task_is_a_404_that_names_it(work: Path) -> None:
    async with web_server(allowed_bash(work, lambda: background(work))) as srv:
        session, _ = await srv.new_session()
        started = await start_task(srv, session)
        refused = await srv.http.post(f"/api/tasks/{session.id}/task_nope/stop")
        assert refused.status_code == 404, refused.text
        error = refused.json()["error"]
        assert error["code"] == "unknown_task"
        assert "task_nope" in error["message"]
        assert started.task_id in error["hint"]  # the running ones are listed
        too_long = await srv.http.post(f"/api/tasks/{session.id}/{'t' * 101}/stop")
        assert too_long.status_code == 422
        assert "task_id" in too_long.json()["error"]["message"]
        assert process_group_alive(started.pgid)  # nothing else was stopped
        gone = await srv.http.post(f"/api/tasks/ses_nope/{started.task_id}/stop")
        assert gone.status_code == 404 and gone.json()["error"]["code"] == "unknown_session"
        for path in ("/api/tasks/ses_nope", "/api/sandbox/ses_nope"):
            gone = await srv.http.get(path)
            assert gone.status_code == 404 and gone.json()["error"]["code"] == "unknown_session"
        await session.stop_task(started.task_id)


async def test_the_routes_are_guarded_like_the_others(work: Path) -> None:
    async with web_server(allowed_bash(work, lambda: background(work))) as srv:
        session, token = await srv.new_session()
        _, other_token = await srv.new_session()
        started = await start_task(srv, session)
        stop = f"/api/tasks/{session.id}/{started.task_id}/stop"
        calls = (("GET", f"/api/tasks/{session.id}"), ("GET", f"/api/sandbox/{session.id}"))
        for method, path in (*calls, ("POST", stop)):
            anonymous = await srv.http.request(method, path, headers={"Authorization": ""})
            assert anonymous.status_code == 401, path
            wrong = await srv.http.request(
                method, path, headers={"Authorization": f"Bearer {other_token}"}
            )
            assert wrong.status_code == 403, path
            assert wrong.json()["error"]["code"] == "forbidden"
        foreign = await srv.http.post(stop, headers={"Origin": "http://evil.test"})
        assert foreign.status_code == 403
        assert process_group_alive(started.pgid)  # no refused call stopped it

        # The session's own token may stop it.
        mine = await srv.http.post(stop, headers={"Authorization": f"Bearer {token}"})
        assert mine.status_code == 200 and mine.json()["status"] == "stopped"
        await group_gone(started.pgid)


async def test_the_sandbox_route_sends_the_status_and_its_lines(work: Path) -> None:
    async with web_server(allowed_bash(work, lambda: background(work))) as srv:
        session, _ = await srv.new_session()
        shown = await srv.http.get(f"/api/sandbox/{session.id}")
        assert shown.status_code == 200, shown.text
        data = shown.json()
        status = session.sandbox_status()
        assert data["state"] == status.state and data["lines"] == status.lines()
        assert data["writable"] == list(status.writable)
        assert data["allowed_domains"] == list(status.allowed_domains)
        assert data["lines"][0].startswith("Sandbox: ")
        assert set(data) >= {"reason", "auto_allow", "denied_write", "sources", "session_id"}


async def test_a_secret_in_a_command_is_masked(work: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", SECRET)
    command = f"sleep 300 # {SECRET}"
    async with web_server(allowed_bash(work, lambda: background(work, command))) as srv:
        session, _ = await srv.new_session()
        started = await start_task(srv, session)
        listed = await srv.http.get(f"/api/tasks/{session.id}")
        assert SECRET not in listed.text and MASK in listed.json()["tasks"][0]["command"]
        stopped = await srv.http.post(f"/api/tasks/{session.id}/{started.task_id}/stop")
        assert SECRET not in stopped.text
        await group_gone(started.pgid)


async def test_the_tuis_mirror_lists_and_stops_its_sessions_tasks(work: Path) -> None:
    hold = anyio.Event()
    options = allowed_bash(work, lambda: background(work, hold=hold))()
    async with Session(**options) as session, mirror(session) as srv:
        await session.submit("start it")
        started = await wait_for(session.store, lambda e: e.type == "TASK_STARTED")
        (task,) = (await srv.http.get(f"/api/tasks/{session.id}")).json()["tasks"]
        assert task["task_id"] == started.task_id and task["running"] is True
        stopped = await srv.http.post(f"/api/tasks/{session.id}/{started.task_id}/stop")
        assert stopped.status_code == 200 and stopped.json()["status"] == "stopped"
        await group_gone(started.pgid)
        sandbox = await srv.http.get(f"/api/sandbox/{session.id}")
        assert sandbox.json()["lines"] == session.sandbox_status().lines()
        hold.set()
        await wait_for(session.store, lambda e: e.type == "RUN_COMPLETED")
