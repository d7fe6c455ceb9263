"""Memory in the TUI (Pilot): ``#text`` asks where to keep it; p keeps it in the
project's memory (the conversation says so, ``MEMORY_UPDATED`` by user), u in the
user's, Esc in neither; a secret-looking text is refused with a message; the model's
own write is told in the conversation too."""

from __future__ import annotations

from pathlib import Path

from harness_tui.core.memory.tool import MemoryTool, stores
from harness_tui.core.providers.offline.scripted import Text, ToolCall, reply
from harness_tui.core.session.session import Session
from harness_tui.tui.memory import RememberDialog
from harness_tui.widgets.conversation import NoticeEntry
from tests.tui.test_tui import scripted_session, tui, type_text, until


def notes(app) -> str:
    return "\n".join(n.text for n in app.query(NoticeEntry))


async def test_hash_asks_where_and_keeps_it(tmp_path: Path) -> None:
    session = Session(model="demo", cwd=tmp_path)
    async with tui(session) as (app, pilot):
        await type_text(pilot, "#tests run with make check")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, RememberDialog))
        await pilot.press("p")
        await until(pilot, lambda: "You kept in project memory" in notes(app))
        (entry,) = stores(tmp_path)["project"].entries()
        assert entry.text == "tests run with make check" and entry.session == session.id
        update = next(e for e in session.store.replay(0) if e.type == "MEMORY_UPDATED")
        assert update.by == "user" and update.scope == "project"
        assert not session.messages  # nothing went to the model

        await type_text(pilot, "#prefers tabs")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, RememberDialog))
        await pilot.press("u")
        await until(pilot, lambda: "You kept in user memory" in notes(app))

        await type_text(pilot, "#never mind")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, RememberDialog))
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, RememberDialog))
        assert [e.text for e in stores(tmp_path)["project"].entries()] == [entry.text]

        await type_text(pilot, "#key AKIAIOSFODNN7EXAMPLE")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, RememberDialog))
        await pilot.press("p")
        await until(pilot, lambda: "looks like an AWS access key id" in notes(app))


async def test_the_models_write_is_told(tmp_path: Path) -> None:
    call = ToolCall("Memory", {"action": "add", "text": "uses uv, not pip"})
    session = scripted_session(
        reply(call), reply(Text("Noted.")), tools=[MemoryTool()], cwd=tmp_path
    )
    async with tui(session) as (app, pilot):
        await type_text(pilot, "remember we use uv")
        await pilot.press("enter")
        await until(pilot, lambda: "The model kept in project memory: uses uv" in notes(app))
