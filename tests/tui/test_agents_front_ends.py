"""The agent view (Pilot) over sessions started by the four front ends as real processes
(``tests.live_support``): each in its group with its front end and state; ``y`` answers
the TUI's question from here and that TUI's run goes on."""

from __future__ import annotations

from pathlib import Path

from harness_tui.core.live.registry import live_sessions
from tests.live_support import STATES, four_front_ends
from tests.tui.test_agents_view import cells, keys, point_at, said, view
from tests.tui.test_tui import until


async def test_the_view_shows_every_front_end_in_its_state(tmp_path: Path) -> None:
    async with four_front_ends(tmp_path) as ends, view() as (app, pilot):
        screen = app.screen
        ids = {name: record.session_id for name, record in ends.records.items()}
        await until(pilot, lambda: set(ids.values()) <= set(keys(screen)), timeout=20)
        assert keys(screen) == [
            "group:Needs you", ids["tui"],
            "group:Working", ids["print"],
            "group:Idle", *sorted((ids["serve"], ids["acp"]), key=keys(screen).index),
        ]  # fmt: skip
        for name, session_id in ids.items():
            row = cells(screen, session_id)
            assert row[2] == name, row  # the front end
            wanted = STATES[name]
            assert row[4] == ("waiting: Bash(echo from the tui)" if name == "tui" else wanted)
            assert row[1] == "project"
        assert cells(screen, ids["tui"])[0] == "run it"  # what it was asked
        assert cells(screen, ids["serve"])[0] == "hello page"

        await point_at(pilot, screen, ids["tui"])
        await pilot.press("y")

        def tui_state() -> str:
            return next((r.state for r in live_sessions() if r.session_id == ids["tui"]), "")

        await until(pilot, lambda: tui_state() == "idle", timeout=30)
        assert any("Allowed once: Bash(echo from the tui)" in m for m in said(app))
        reply = next(r.reply for r in live_sessions() if r.session_id == ids["tui"])
        assert reply == "the tui is done"
