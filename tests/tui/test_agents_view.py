"""The agent view (Pilot, real sessions opened in this process, their real control
sockets, real git): rows in their groups, keys that answer, deny, stop and diff, the
finished sessions, ``/agents`` in the TUI, and ``harness-tui agents`` as a list."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import anyio
import pytest
from textual.coordinate import Coordinate

from harness_tui.core.live.registry import LiveRecord, live_sessions
from harness_tui.core.providers.offline.scripted import Text, ToolCall, reply
from harness_tui.core.session.session import Session
from harness_tui.core.worktrees.lifecycle import WorktreeUse, make_worktree
from harness_tui.tui.agents import actions
from harness_tui.tui.agents.app import AgentsApp
from harness_tui.tui.agents.rows import EMPTY, AgentRow, Collector, live_row
from harness_tui.tui.agents.screens import ConfirmClose, DiffScreen
from harness_tui.tui.agents.view import AgentsScreen, AgentTable
from tests.cli.test_cli import harness
from tests.core.live.test_registry import asking_session
from tests.helpers import GateTool
from tests.tui.test_tui import scripted_session, tui, type_text, until
from tests.worktree_support import git


@asynccontextmanager
async def view(**options) -> AsyncIterator[tuple[AgentsApp, object]]:
    app = AgentsApp(**options)
    app.NOTIFICATION_TIMEOUT = 120  # every toast stays, to be read
    async with app.run_test(size=(150, 30), notifications=True) as pilot:
        await until(pilot, lambda: isinstance(app.screen, AgentsScreen))
        yield app, pilot
        assert [n.message for n in app._notifications if n.severity == "error"] == []


def keys(screen: AgentsScreen) -> list[str]:
    """The table's rows, top to bottom: group titles and session ids."""
    table = screen.query_one(AgentTable)
    return [
        str(table.coordinate_to_cell_key(Coordinate(i, 0)).row_key.value)
        for i in range(table.row_count)
    ]


def cells(screen: AgentsScreen, session_id: str) -> list[str]:
    return [str(cell) for cell in screen.query_one(AgentTable).get_row(session_id)]


def detail(screen: AgentsScreen) -> str:
    """The line under the table."""
    return str(screen.query_one("#detail").render())


def said(app: AgentsApp) -> list[str]:
    return [n.message for n in app._notifications]


async def point_at(pilot, screen: AgentsScreen, session_id: str) -> None:
    await until(pilot, lambda: session_id in keys(screen))
    table = screen.query_one(AgentTable)
    table.move_cursor(row=table.get_row_index(session_id))
    await pilot.pause()


def state(session: Session) -> str:
    """Its record's state ("" before the record is written, and after it is gone)."""
    return next((r.state for r in live_sessions() if r.session_id == session.id), "")


async def until_state(session: Session, wanted: str) -> None:
    with anyio.fail_after(10):
        while state(session) != wanted:
            await session.live.next_write()


async def waiting(session: Session, prompt: str = "clean up") -> None:
    await until_state(session, "starting")
    await session.submit(prompt)
    await until_state(session, "waiting")


def opened(stack: AsyncExitStack, session: Session, front_end: str):
    session.front_end = front_end
    return stack.enter_async_context(session)


async def test_rows_in_their_groups_and_y_answers_through_the_socket(tmp_path: Path) -> None:
    asking = asking_session(tmp_path)
    gate = GateTool()
    working = scripted_session(
        reply(ToolCall("Gate", {"label": "g"})), reply(Text("ok")), tools=[gate], cwd=tmp_path
    )
    resting = scripted_session(reply(Text("hi")), cwd=tmp_path)
    async with AsyncExitStack() as stack:
        await opened(stack, asking, "print")
        await opened(stack, working, "serve")
        await opened(stack, resting, "acp")
        await waiting(asking, "remove the build folder")
        await working.submit("wait at the gate")
        await gate.started_event("g").wait()
        async with view() as (app, pilot):
            screen = app.screen
            await until(pilot, lambda: len(screen.rows) == 3)
            assert keys(screen) == [
                "group:Needs you", asking.id,
                "group:Working", working.id,
                "group:Idle", resting.id,
            ]  # fmt: skip
            row = cells(screen, asking.id)
            assert row[0] == "remove the build folder" and row[1] == tmp_path.name
            assert row[2:5] == ["print", "scripted", "waiting: Bash(echo hi)"]
            assert cells(screen, working.id)[2] == "serve"
            assert cells(screen, resting.id)[2:5] == ["acp", "scripted", "starting"]
            assert screen.current().session_id == asking.id  # the first session row

            await pilot.press("y")
            await until(pilot, lambda: state(asking) == "idle")
            assert any(m.role == "tool" for m in asking.messages), "the tool ran"
            await until(pilot, lambda: screen.rows[asking.id].group == "idle")
            assert "Allowed once: Bash(echo hi) (remove the build folder)" in said(app)
            assert screen.current().session_id == asking.id  # followed it to Idle
            await until(pilot, lambda: "said: Done." in detail(screen))
            assert detail(screen).startswith(f"{asking.id} · {tmp_path} · runs in print, pid")
        gate.release.set()


async def test_n_denies_and_a_second_answer_is_a_message(tmp_path: Path) -> None:
    session = asking_session(tmp_path)
    async with session:
        await waiting(session)
        stale = Collector()(False)  # the rows as they were while it waited
        async with view(source=lambda finished: stale) as (app, pilot):
            await point_at(pilot, app.screen, session.id)
            await pilot.press("n")
            await until(pilot, lambda: state(session) == "idle")
            resolved = [e for e in session.store.replay(0) if e.type == "PERMISSION_RESOLVED"]
            assert [e.decision for e in resolved] == ["deny"]
            await pilot.press("a")  # the row still shows the question: answered already
            await until(pilot, lambda: len(said(app)) == 2)
            assert "no open permission request" in said(app)[1]
            await pilot.press("x")  # not running: nothing to stop
            await until(pilot, lambda: len(said(app)) == 3)
            assert said(app)[2] == "clean up was not running: nothing to stop"


async def test_x_stops_a_running_session(tmp_path: Path) -> None:
    gate = GateTool()
    session = scripted_session(
        reply(ToolCall("Gate", {"label": "g"})), reply(Text("ok")), tools=[gate], cwd=tmp_path
    )
    session.front_end = "tui"
    async with session:
        await session.submit("work")
        await gate.started_event("g").wait()
        async with view() as (app, pilot):
            await point_at(pilot, app.screen, session.id)
            # the record follows the session's events in its own task: wait for the prompt
            # to be in it (CI once read the row before, and the label was the id)
            await until(pilot, lambda: app.screen.rows[session.id].label == "work")
            await pilot.press("x")
            await until(pilot, lambda: gate.cancelled == ["g"])
            await until(pilot, lambda: app.screen.rows[session.id].group == "idle")
            assert "Stopped the run of work" in said(app)
            await pilot.press("enter")  # held by another program: says where
            await until(pilot, lambda: len(said(app)) == 2)
            assert f"runs in tui, pid {os.getpid()}" in said(app)[1]


async def test_capital_x_closes_a_session_after_asking(tmp_path: Path) -> None:
    session = scripted_session(reply(Text("hi")), cwd=tmp_path)
    async with session:
        async with view() as (app, pilot):
            await point_at(pilot, app.screen, session.id)
            await pilot.press("X")
            await until(pilot, lambda: isinstance(app.screen, ConfirmClose))
            await pilot.press("n")  # kept
            await until(pilot, lambda: isinstance(app.screen, AgentsScreen))
            assert not session._close_requested.is_set() and said(app) == []
            await pilot.press("X")
            await until(pilot, lambda: isinstance(app.screen, ConfirmClose))
            await pilot.press("y")
            with anyio.fail_after(10):
                await session.wait_close_requested()
            await until(pilot, lambda: bool(said(app)))
            assert said(app) == [f"({session.id[:12]}): asked to close (python, pid {os.getpid()})"]


async def test_d_shows_the_diff_of_a_real_repository(git_repo: Path, tmp_path: Path) -> None:
    (git_repo / "app.py").write_text("print('v2')\n")
    (git_repo / "notes.txt").write_text("new\n")
    inside = scripted_session(reply(Text("hi")), cwd=git_repo)
    outside = scripted_session(reply(Text("hi")), cwd=tmp_path / "plain")
    (tmp_path / "plain").mkdir()
    async with inside, outside:
        async with view() as (app, pilot):
            await point_at(pilot, app.screen, inside.id)
            await pilot.press("d")
            await until(pilot, lambda: isinstance(app.screen, DiffScreen))
            diff = app.screen.diff
            assert f"Changes in {git_repo} (uncommitted)" in diff
            assert "-print('v1')\n+print('v2')" in diff and "Untracked files:\n  notes.txt" in diff
            await pilot.press("escape")
            await until(pilot, lambda: isinstance(app.screen, AgentsScreen))
            await point_at(pilot, app.screen, outside.id)
            await pilot.press("d")
            await until(pilot, lambda: any("not in a git repository" in m for m in said(app)))


async def test_d_in_a_worktree_shows_its_branch_changes_commits_too(git_repo: Path) -> None:
    use = WorktreeUse(*make_worktree(git_repo, "feature", None))
    (use.worktree.path / "app.py").write_text("print('committed')\n")
    git(use.worktree.path, "commit", "-qam", "on the branch")
    (use.worktree.path / "later.py").write_text("x = 1\n")
    session = scripted_session(reply(Text("hi")), cwd=use.worktree.path, worktree=use)
    async with session:
        async with view() as (app, pilot):
            await point_at(pilot, app.screen, session.id)
            assert cells(app.screen, session.id)[1] == "feature · worktree-feature"
            await pilot.press("d")
            await until(pilot, lambda: isinstance(app.screen, DiffScreen))
            diff = app.screen.diff
    assert f"since {use.worktree.base[:12]} (where the worktree began)" in diff
    assert "+print('committed')" in diff and "Untracked files:\n  later.py" in diff


async def test_finished_sessions_show_with_f_and_all(tmp_path: Path) -> None:
    done = scripted_session(reply(Text("fixed")), cwd=tmp_path)
    async with done:
        await done.submit("fix the login bug")
        await until_state(done, "idle")
    async with view() as (app, pilot):
        screen = app.screen
        await until(pilot, lambda: screen.query_one("#empty").display)
        assert str(screen.query_one("#empty").render()) == EMPTY
        await pilot.press("f")
        await until(pilot, lambda: done.id in keys(screen))
        assert keys(screen) == ["group:Finished", done.id]
        assert cells(screen, done.id)[0] == "fix the login bug"
        assert cells(screen, done.id)[4] == "finished"
        await pilot.press("y")
        await until(pilot, lambda: bool(said(app)))
        assert said(app) == ["fix the login bug is not waiting for an answer (finished)"]
    async with view(finished=True) as (app, pilot):
        await until(pilot, lambda: done.id in keys(app.screen))


async def test_slash_agents_in_the_tui_opens_and_escape_goes_back() -> None:
    session = scripted_session(reply(Text("hi")))
    async with tui(session) as (app, pilot):
        await type_text(pilot, "/agents")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, AgentsScreen))
        screen = app.screen
        await until(pilot, lambda: session.id in keys(screen))
        assert cells(screen, session.id)[2] == "tui"
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, AgentsScreen))
        await type_text(pilot, "/agents")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, AgentsScreen))
        await point_at(pilot, app.screen, session.id)
        await pilot.press("enter")  # its own session: back to it
        await until(pilot, lambda: not isinstance(app.screen, AgentsScreen))


async def test_the_cli_lists_and_prints_json(tmp_path: Path) -> None:
    session = asking_session(tmp_path)
    session.front_end = "print"
    async with session:
        await waiting(session, "remove the build folder")
        listed, plain, as_json = await anyio.to_thread.run_sync(
            lambda: (harness("agents", "--list"), harness("agents"), harness("agents", "--json"))
        )
    assert listed.stdout == plain.stdout  # not a terminal: the list
    lines = listed.stdout.splitlines()
    assert lines[0] == "Needs you:"
    assert lines[1].startswith(f"  {session.id[:12]}  remove the build folder  {tmp_path.name}")
    assert "print  scripted  waiting: Bash(echo hi)" in lines[1]
    records = json.loads(as_json.stdout)
    assert [(r["session_id"], r["state"]) for r in records] == [(session.id, "waiting")]
    assert records[0]["question"]["summary"] == "Bash(echo hi)"
    assert all(r.session_id != session.id for r in live_sessions())
    after = await anyio.to_thread.run_sync(
        lambda: (harness("agents"), harness("agents", "--all", "--json"))
    )
    assert after[0].stdout.strip() == EMPTY
    assert [(r["session_id"], r["state"]) for r in json.loads(after[1].stdout)] == [
        (session.id, "finished")
    ]


def record(session_id: str, state: str, detail: str, cwd: str, front_end: str, model: str,
           ago: float, **more) -> LiveRecord:  # fmt: skip
    return LiveRecord(session_id, 4242, front_end, cwd, model, "default", state,
                      detail=detail, last_activity=1_000_000.0 - ago, **more)  # fmt: skip


QUESTION = {"request_id": "req_1", "tool_name": "Bash", "summary": "Bash(rm -rf build)"}
ROWS = [
    live_row(record("ses_a1", "waiting", "remove the build folder", "/w/shop", "tui",
                    "claude-sonnet-4-5", 12, question=QUESTION, cost_usd=0.42,
                    branch="worktree-auth")),
    live_row(record("ses_b2", "running", "write the changelog", "/w/docs", "print", "gpt-5",
                    1, cost_usd=1.5)),
    live_row(record("ses_c3", "idle", "", "/w/shop", "acp", "demo", 3600, name="login bug")),
    AgentRow("ses_d4", "finished", "tidy the imports", "/w/shop", "", "", "demo",
             "finished", None, 900_000.0),
]  # fmt: skip


def test_the_view_looks_like_this(snap_compare) -> None:
    async def shown(pilot) -> None:
        await until(pilot, lambda: len(pilot.app.screen.rows) == len(ROWS))
        await pilot.pause()

    app = AgentsApp(source=lambda finished: ROWS, clock=lambda: 1_000_000.0)
    assert snap_compare(app, terminal_size=(130, 14), run_before=shown)


def test_what_cannot_be_done_from_here_says_why(tmp_path: Path) -> None:
    sampling = {"kind": "sampling", "request_id": "s1", "summary": "docs: asks to use the model"}
    asking = live_row(record("ses_e5", "waiting", "look it up", "/w", "tui", "demo", 1,
                             question=sampling))  # fmt: skip
    with pytest.raises(actions.Refused, match=r"answered where the session runs \(tui, pid"):
        actions.answer(asking, "y")
    gone = AgentRow("ses_f6", "finished", "old", str(tmp_path / "gone"), "", "", "demo",
                    "finished", None, 0.0)  # fmt: skip
    with pytest.raises(actions.Refused, match=r"its folder .*gone is gone; run `harness-tui"):
        actions.resume_command(gone)
    with pytest.raises(actions.Refused, match="old is finished: nothing to stop"):
        actions.stop(gone)


async def test_the_cursor_stays_on_its_session_as_rows_come_and_go() -> None:
    rows = [live_row(record(f"ses_{n}", "idle", n, "/w", "tui", "demo", 1)) for n in "abc"]
    shown = list(rows)
    async with view(source=lambda finished: list(shown)) as (app, pilot):
        screen = app.screen
        await until(pilot, lambda: keys(screen) == ["group:Idle", "ses_a", "ses_b", "ses_c"])
        await pilot.press("down", "down")
        assert screen.current().session_id == "ses_c"
        await pilot.press("up", "up", "up")  # the title is stepped over
        assert screen.current().session_id == "ses_a"
        await pilot.press("down", "down")
        shown[:] = [rows[2], rows[0]]  # c moves up, b goes
        await until(pilot, lambda: keys(screen) == ["group:Idle", "ses_c", "ses_a"])
        assert screen.current().session_id == "ses_c"
        shown[:] = [rows[0]]  # c goes: the cursor stays where it was
        await until(pilot, lambda: keys(screen) == ["group:Idle", "ses_a"])
        assert screen.current().session_id == "ses_a"
        assert "ses_a · /w · runs in tui, pid 4242" in detail(screen)
