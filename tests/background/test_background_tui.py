"""``/background`` in the TUI: the session closes here and opens again in a background
holder (same id, its conversation kept), and the app ends saying how to come back; a
run going on, or a worktree session, is refused with what to do."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from harness_tui.core.live.control import request
from harness_tui.core.session.session import Session
from harness_tui.core.storage.saved import load_session
from harness_tui.widgets.conversation import NoticeEntry
from tests.background.test_background_session import background_record, eventually
from tests.tui.test_tui import tui, type_text, until


async def test_background_moves_the_session_to_a_holder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    session = Session(model="demo", cwd=tmp_path)
    async with tui(session) as (app, pilot):
        await type_text(pilot, "hello")
        await pilot.press("enter")
        await until(pilot, lambda: bool(session.messages) and not session.running)
        await type_text(pilot, "/background")
        await pilot.press("enter")
        await until(pilot, lambda: not app.is_running, timeout=40)
    try:
        record = background_record()
        assert record is not None and record.session_id == session.id
        assert record.attach and record.pid != session.live.record.pid
        said = " ".join(capsys.readouterr().err.split())  # (as the app left, wrapped)
        assert f"goes on in the background: `harness-tui attach {session.id}`" in said
        saved = await anyio.to_thread.run_sync(load_session, session.id)
        assert saved.head is not None  # its conversation goes with it
    finally:
        if (found := background_record()) is not None:
            request(found.control, "close")
    await anyio.to_thread.run_sync(
        lambda: eventually(lambda: background_record() is None, "close ends it")
    )


async def test_background_waits_for_the_run_to_end(tmp_path: Path) -> None:
    session = Session(model="demo", cwd=tmp_path)
    async with tui(session) as (app, pilot):
        session.runs.run_id = "run_pretend"  # a run going on, as far as the command sees
        await type_text(pilot, "/background")
        await pilot.press("enter")
        notes = lambda: "\n".join(n.text for n in app.query(NoticeEntry))  # noqa: E731
        await until(pilot, lambda: "A run is going on" in notes())
        session.runs.run_id = None
        assert app.is_running and background_record() is None
