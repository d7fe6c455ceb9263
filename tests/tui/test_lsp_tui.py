"""Language servers in the TUI, with Pilot against a real session and basedpyright:
/lsp lists the server once it runs, and an edit that breaks the code says so on its
tool card (``⚠ 1 new problem``)."""

from __future__ import annotations

from pathlib import Path

from harness_tui.core.providers.models import ModelChoice
from harness_tui.core.providers.offline.scripted import ScriptedProvider, Text, ToolCall, reply
from harness_tui.core.session.session import Session
from harness_tui.widgets.conversation import NoticeEntry
from harness_tui.widgets.tool_card import ToolCard, diagnostics_text
from tests.core.lsp.test_diagnostics_e2e import BAD, basedpyright
from tests.tui.test_tui import tui, type_text, until


def notices(app) -> list[str]:
    return [n.text for n in app.query(NoticeEntry)]


async def test_lsp_command_and_a_tool_card_with_a_new_problem(tmp_path: Path, lsp_on: None) -> None:
    basedpyright()
    write = ToolCall("Write", {"file_path": "calc.py", "content": BAD})
    provider = ScriptedProvider([reply(write), reply(Text("Written."))])
    model = ModelChoice("scripted", "scripted", lambda: provider)
    session = Session(model=model, cwd=tmp_path, mode="bypassPermissions")
    async with tui(session) as (app, pilot):
        await type_text(pilot, "/lsp")
        await pilot.press("enter")
        await until(pilot, lambda: any("basedpyright: not started" in n for n in notices(app)))
        await type_text(pilot, "write calc.py")
        await pilot.press("enter")
        await until(pilot, lambda: any(c.status == "done" for c in app.query(ToolCard)))
        card = next(iter(app.query(ToolCard)))
        assert "⚠ 1 new problem" in card.summary
        await type_text(pilot, "/lsp")
        await pilot.press("enter")
        await until(pilot, lambda: any("basedpyright: ready" in n for n in notices(app)))


def test_only_new_problems_are_counted_on_the_card() -> None:
    old = {"preexisting": True}
    new = {"preexisting": False}
    assert diagnostics_text([{"path": "a.py", "problems": [old, new, new]}]) == "⚠ 2 new problems"
    assert diagnostics_text([{"path": "a.py", "problems": [old]}]) == ""
    assert diagnostics_text(None) == ""
