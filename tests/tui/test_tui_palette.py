"""The command palette's harness entries (Ctrl+P), chosen as a user chooses them."""

from __future__ import annotations

from textual.command import CommandPalette

from harness_tui.widgets.screens.help import HelpScreen
from tests.tui.test_tui import scripted_session, tui, type_text, until


async def choose(pilot, app, title: str) -> None:
    await pilot.press("ctrl+p")
    await until(pilot, lambda: isinstance(app.screen, CommandPalette))
    await type_text(pilot, title)
    await pilot.pause(0.3)  # the palette searches in a worker
    await pilot.press("enter")
    await until(pilot, lambda: not isinstance(app.screen, CommandPalette))


async def test_the_palette_sets_the_permission_mode() -> None:
    session = scripted_session()
    async with tui(session) as (app, pilot):
        await choose(pilot, app, "Mode: plan")
        await until(pilot, lambda: session.mode == "plan")


async def test_the_palette_opens_help() -> None:
    session = scripted_session()
    async with tui(session) as (app, pilot):
        await choose(pilot, app, "Keys and commands")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
