"""How the resume picker looks: a renamed session in the list, and what its search box
found in the sessions' messages (each with the line that matched)."""

from __future__ import annotations

from harness_tui.widgets.screens.session_picker import PickerRow, SessionPicker
from tests import tui_events as canned
from tests.tui.test_tui_snapshots import SIZE, app, feeding

ROWS = [
    PickerRow("ses_1", "2026-12-01 09:12  login bug                  demo  12 KB"),
    PickerRow("ses_2", "2026-11-30 17:40  write the changelog        demo  4 KB"),
]


def found(text: str) -> list[PickerRow]:
    return [
        PickerRow(
            "ses_3",
            "2026-11-28 11:05  tidy the imports",
            detail="…the deadlock was in the connection pool, not the…",
        )
    ]


def test_resume_picker_with_search_results(snap_compare) -> None:
    async def search(pilot) -> None:
        picker = SessionPicker("Resume a session of /w", ROWS, search=found)
        picker.SEARCH_DELAY = 0
        await pilot.app.push_screen(picker)
        await pilot.press(*"deadlock")
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()

    assert snap_compare(
        app(), terminal_size=SIZE, run_before=feeding(canned.welcome(), then=search)
    )
