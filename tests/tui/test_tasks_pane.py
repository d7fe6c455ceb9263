"""Background tasks and the sandbox in the TUI, with Pilot against real sessions: the
tasks pane appears when a task starts and lists it, F8 focuses it and ``x`` stops the
task (its process group gone), /tasks and /sandbox print, and the notices of an ended
task and of what the sandbox refused read well (a snapshot)."""

from __future__ import annotations

from pathlib import Path

from harness_tui.core import events as ev
from harness_tui.core.providers.models import ModelChoice
from harness_tui.core.providers.offline.scripted import ScriptedProvider, Text, ToolCall, reply
from harness_tui.core.session.session import Session
from harness_tui.widgets.conversation import NoticeEntry
from harness_tui.widgets.event_notices import sandbox_notice, task_notice
from harness_tui.widgets.tasks_pane import TasksPane, elapsed
from tests.helpers import process_group_members, wait_for
from tests.tui.test_tui import tui, type_text, until
from tests.tui_events import make


def background_session(cwd: Path) -> Session:
    call = ToolCall("Bash", {"command": "sleep 300", "run_in_background": True})
    provider = ScriptedProvider([reply(call), reply(Text("Started it."))])
    model = ModelChoice("scripted", "scripted", lambda: provider)
    return Session(model=model, cwd=cwd, mode="bypassPermissions")


def notices(app) -> list[str]:
    return [n.text for n in app.query(NoticeEntry)]


async def test_the_pane_lists_a_task_and_x_stops_it(tmp_path: Path) -> None:
    session = background_session(tmp_path)
    async with tui(session) as (app, pilot):
        pane = app.query_one(TasksPane)
        assert pane.has_class("-hidden")
        await type_text(pilot, "start it")
        await pilot.press("enter")
        started = await wait_for(session.store, lambda e: e.type == "TASK_STARTED")
        await until(pilot, lambda: pane.running_ids() == [started.task_id])
        assert not pane.has_class("-hidden")
        assert not app.query_one("#tasks-title").has_class("-hidden")
        assert "sleep 300" in str(pane.get_option_at_index(0).prompt)
        await wait_for(session.store, lambda e: e.type == "RUN_COMPLETED")

        await type_text(pilot, "/tasks")
        await pilot.press("enter")
        await until(pilot, lambda: any("Background tasks" in n for n in notices(app)))
        listing = next(n for n in notices(app) if "Background tasks" in n)
        assert f"{started.task_id}  running  sleep 300" in listing
        assert started.output_path in listing

        await pilot.press("f8")
        assert app.focused is pane
        await pilot.press("x")
        ended = await wait_for(session.store, lambda e: e.type == "TASK_ENDED")
        assert (ended.task_id, ended.status) == (started.task_id, "stopped")
        await until(pilot, lambda: pane.running_ids() == [])
        assert "stopped" in str(pane.get_option_at_index(0).prompt)
        await until(pilot, lambda: any("was stopped" in n for n in notices(app)))
        await until(pilot, lambda: process_group_members(started.pgid) == 0)


async def test_sandbox_command_prints_the_status(tmp_path: Path) -> None:
    session = background_session(tmp_path)
    async with tui(session) as (app, pilot):
        await type_text(pilot, "/sandbox")
        await pilot.press("enter")
        await until(pilot, lambda: any(n.startswith("Sandbox: off") for n in notices(app)))


def test_notices_of_tasks_and_the_sandbox() -> None:
    failed = make(ev.TaskEnded, task_id="task_1", status="failed", exit_code=2, duration_ms=1500)
    said = "◇ Background task task_1 failed (exit 2) after 1.5 s"
    assert task_notice(failed) == (said, "warning")
    refused = make(
        ev.SandboxBlocked, kind="network", target="evil.example:443", reason="not allowed"
    )
    assert sandbox_notice(refused) == (
        "▣ Sandbox refused a connection to evil.example:443: not allowed",
        "warning",
    )
    allowed = make(
        ev.SandboxBlocked, kind="write", target="/x", reason="you said yes", allowed=True
    )
    assert sandbox_notice(allowed)[0] == "▣ Sandbox: you allowed a write to /x (you said yes)"
    assert [elapsed(s) for s in (0, 65, 3725)] == ["0:00", "1:05", "1:02:05"]


def test_snapshot_the_tasks_pane_and_notices(snap_compare) -> None:
    from tests import tui_events as canned
    from tests.tui.test_tui_snapshots import SIZE, app, feeding

    started = dict(output_path="/data/sessions/s/tasks/t.log", pgid=4242)
    events = [
        *canned.welcome(),
        *canned.prompt("Start the dev server and the watcher"),
        make(ev.TaskStarted, task_id="task_1", command="npm run dev", sandboxed=True, **started),
        make(ev.TaskStarted, task_id="task_2", command="pytest --watch tests/", **started),
        make(ev.TaskEnded, task_id="task_2", status="failed", exit_code=1, duration_ms=4200),
        make(
            ev.SandboxBlocked,
            kind="network",
            target="registry.example.com:443",
            reason="not on the sandbox's network allow-list",
        ),
    ]
    assert snap_compare(app(), terminal_size=SIZE, run_before=feeding(events))
