"""``/memory`` (Pilot, a real session): both scopes listed with origin and date, where
the files are; f then y forgets the entry under the cursor (``MEMORY_UPDATED`` by user),
n keeps it; and a snapshot of the screen."""

from __future__ import annotations

import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest
from textual.app import App
from textual.widgets import DataTable

from harness_tui.core.memory.tool import stores
from harness_tui.core.session.session import Session
from harness_tui.tui.memory import ForgetDialog, MemoryScreen
from tests.tui.test_tui import tui, type_text, until


async def test_memory_lists_and_forgets(tmp_path: Path) -> None:
    kept = stores(tmp_path)["project"].add("tests run with make check", session="ses_abc")
    stores(tmp_path)["user"].add("prefers short answers")
    session = Session(model="demo", cwd=tmp_path)
    async with tui(session) as (app, pilot):
        await type_text(pilot, "/memory")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, MemoryScreen))
        table = app.screen.query_one(DataTable)
        assert table.row_count == 2
        assert [str(c) for c in table.get_row(kept.id)][:4] == [
            "project", "tests run with make check", "", "ses_abc",
        ]  # fmt: skip
        await pilot.press("f")
        await until(pilot, lambda: isinstance(app.screen, ForgetDialog))
        await pilot.press("n")  # kept
        await until(pilot, lambda: isinstance(app.screen, MemoryScreen))
        assert len(stores(tmp_path)["project"].entries()) == 1
        await pilot.press("f")
        await until(pilot, lambda: isinstance(app.screen, ForgetDialog))
        await pilot.press("y")
        await until(pilot, lambda: stores(tmp_path)["project"].entries() == [])
        await until(pilot, lambda: app.screen.query_one(DataTable).row_count == 1)
        removed = next(e for e in session.store.replay(0) if e.type == "MEMORY_UPDATED")
        assert (removed.action, removed.by, removed.entry_id) == ("remove", "user", kept.id)
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, MemoryScreen))


SNAP = Path("/tmp/harness-tui-memory-snapshot")


@pytest.fixture
def fixed_places(monkeypatch: pytest.MonkeyPatch) -> Path:
    """Fixed folders, so the paths the screen shows are the same on every run."""
    shutil.rmtree(SNAP, ignore_errors=True)
    (SNAP / "project").mkdir(parents=True)
    monkeypatch.setenv("HARNESS_DATA_DIR", str(SNAP / "data"))
    every = stores(SNAP / "project")
    for store, lines in (
        (every["project"], [
            "- tests run with `make check` <!-- m:1a2b3c4d session=ses_0b598 date=2026-12-01 -->",
            "- deploys need the VPN <!-- m:5e6f7a8b topic=deploy session=cli date=2026-12-02 -->",
            "- the API lives in src/api, the page in web/",
        ]),
        (every["user"], [
            "- prefers short answers <!-- m:9c0d1e2f session=ses_77aa date=2026-11-30 -->",
        ]),
    ):  # fmt: skip
        store.folder.mkdir(parents=True)
        store.index.write_text("# Memory\n\n" + "\n".join(lines) + "\n")
    yield SNAP / "project"
    shutil.rmtree(SNAP, ignore_errors=True)


def test_the_memory_screen_looks_like_this(snap_compare, fixed_places: Path) -> None:
    class Shown(App[None]):
        def on_mount(self) -> None:
            self.push_screen(MemoryScreen(SimpleNamespace(cwd=fixed_places)))

    async def shown(pilot) -> None:
        await until(pilot, lambda: isinstance(pilot.app.screen, MemoryScreen))
        await pilot.pause()

    assert snap_compare(Shown(), terminal_size=(130, 16), run_before=shown)
