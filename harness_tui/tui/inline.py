"""Inline mode: the conversation goes into the terminal's own scrollback.

Textual's inline mode (``App.run(inline=True)``, ``LinuxInlineDriver``) draws the app
under the shell prompt, on the normal screen, and redraws the whole of its area on every
frame, starting at the area's top line. It cannot write above its area. This module adds
that: finished entries are rendered to text (``widgets.scrollback``) and queued here;
the next frame writes them first, at the area's top line, each line ended by CR LF, and
then the area itself, one line lower per line written. The terminal scrolls as a shell's
output would, so the finished lines pass into its scrollback, where its search, selection
and copy work on them and where they stay after harness-tui exits. Both go out in one
write inside the synchronized-output brackets Textual already puts around a frame, so
nothing flickers.

The mode can change while the app runs (``/tui``): Textual has no call for it, so
``switch`` stops the driver's application mode and starts the other driver's, as
``App.suspend`` does for one driver.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from rich.console import Console, RenderableType
from textual._compositor import CompositorUpdate, InlineUpdate

if TYPE_CHECKING:
    from textual.app import App

log = logging.getLogger(__name__)

_TRAILING_BLANKS = re.compile(r" +((?:\x1b\[[0-9;]*m)*)$")


class Scrollback:
    """Lines waiting to be written above the inline area, as terminal text."""

    def __init__(self) -> None:
        self._lines: list[str] = []
        #: Lines written so far (tests and the status of the mode read it).
        self.written = 0

    def add(self, renderables: Iterable[RenderableType], app: App[Any]) -> None:
        """Render ``renderables`` at the terminal's width and queue their lines; the
        app's next frame writes them (one is asked for here)."""
        console = _console(app)
        for renderable in renderables:
            with console.capture() as capture:
                console.print(renderable)
            text = capture.get()
            self._lines.extend(_TRAILING_BLANKS.sub(r"\1", line) for line in text.splitlines())
        if self._lines:
            app.screen.refresh()

    @property
    def pending(self) -> int:
        return len(self._lines)

    def wrap(self, renderable: Any, padding: int = 1) -> Any:
        """The frame to write: ``renderable`` with the queued lines before it."""
        if not self._lines or not isinstance(renderable, InlineUpdate):
            return renderable
        lines, self._lines = self._lines, []
        self.written += len(lines)
        return AboveInline(lines, renderable, padding)


class AboveInline(CompositorUpdate):
    """An inline frame that first writes lines where the area began, pushing it down."""

    def __init__(self, lines: list[str], update: InlineUpdate, padding: int) -> None:
        self.lines = lines
        self.update = update
        self.padding = padding

    def render_segments(self, console: Console) -> str:
        # The blank lines Textual keeps above its area (``App.INLINE_PADDING``; on exit
        # it clears from there down) are written over first, and written again after.
        # Each line replaces what was drawn there (erase the line, then write) and moves
        # on with CR LF, scrolling the terminal at its bottom.
        up = f"\x1b[{self.padding}A" if self.padding else ""
        lines = [*self.lines, *[""] * self.padding]
        above = "".join(f"\r\x1b[2K{line}\x1b[0m\r\n" for line in lines)
        return up + above + self.update.render_segments(console)

    def __rich_console__(self, console: Any, options: Any) -> Any:
        yield from self.update.__rich_console__(console, options)


def _console(app: App[Any]) -> Console:
    """A console that renders as the app's terminal shows: its width and colours."""
    system = app.console.color_system or "truecolor"
    return Console(
        width=max(20, app.size.width),
        color_system=system,  # type: ignore[arg-type]
        force_terminal=True,
        legacy_windows=False,
        highlight=False,
        markup=False,
        emoji=False,
        soft_wrap=False,
    )


def switch(app: App[Any], inline: bool) -> None:
    """Run on in the other mode: stop the driver's application mode (restoring the
    terminal), make the other driver and start it. The screen is laid out again for
    the new size, and the ``:inline`` pseudo-class changes the layout (styles/app.tcss)."""
    from rich.control import Control
    from textual.geometry import Offset

    driver = app._driver
    if driver is None or driver.is_inline == inline:
        return
    if driver.is_inline:  # put the cursor at the area's top: stopping clears from there
        x, y = app._previous_cursor_position
        driver.write(Control.move(-x, -y).segment.text)
        driver.flush()
    driver.stop_application_mode()
    driver.close()  # the full-screen driver's writer thread
    app._previous_cursor_position = Offset(0, 0)
    app._previous_inline_height = None
    # Inline, the mouse stays the terminal's (its wheel and selection; see ``run_tui``).
    new = app._build_driver(headless=False, inline=inline, mouse=not inline, size=None)
    new.start_application_mode()
    for screen in app.screen_stack:  # ``:inline`` changed for every node
        app.stylesheet.update(screen)
    app.screen.refresh(layout=True)


async def leave(app: App[Any], conversation: Any, scrollback: Scrollback) -> None:
    """Quitting inline: what is still on screen (an answer cut short, a call that did
    not end) goes into the scrollback as it is, in a last frame, before Textual clears
    its area."""
    await conversation.emit_all()
    if scrollback.pending:
        app.screen._compositor_refresh()


#: Going inline writes at most this many of the conversation's entries into the
#: scrollback (the rest: a line saying where they are).
REPLAY_ENTRIES = 200


async def attach(app: App[Any], conversation: Any, scrollback: Scrollback) -> None:
    """Inline from now on: the conversation's finished entries, and each that finishes
    later, are written into the terminal's scrollback."""
    from harness_tui.widgets import scrollback as rendering

    def write(records: list[Any]) -> None:
        renderables = [rendering.renderable(kind, data) for kind, data in records]
        scrollback.add([r for r in renderables if r is not None], app)

    records = await conversation.start_scrollback(write)
    if len(records) > REPLAY_ENTRIES:
        from rich.text import Text

        left_out = len(records) - REPLAY_ENTRIES
        scrollback.add(
            [
                Text(
                    f"… {left_out:,} earlier entries are not repeated here (/tui fullscreen "
                    "shows them; /export writes the whole session)",
                    style="dim",
                )
            ],
            app,
        )
        records = records[-REPLAY_ENTRIES:]
    write(records)


async def set_mode(app: App[Any], conversation: Any, scrollback: Scrollback, mode: str) -> str:
    """``/tui [inline|fullscreen]``: switch (no argument: to the other mode). Returns
    what to tell the user."""
    mode = mode.strip().lower() or ("fullscreen" if app.is_inline else "inline")
    if app.is_headless:  # no terminal to draw on either way (tests, a headless run)
        return "/tui needs a terminal: this app runs headless."
    if mode in ("full", "full-screen", "fullscreen"):
        if not app.is_inline:
            return "Already full-screen."
        switch(app, inline=False)
        from harness_tui.tui import panes

        panes.show_all(app)
        await conversation.stop_scrollback()
        return "Full-screen mode: the conversation scrolls in its pane (/tui inline goes back)."
    if mode == "inline":
        if app.is_inline:
            return "Already inline."
        switch(app, inline=True)
        await attach(app, conversation, scrollback)
        return (
            "Inline mode: finished entries go into the terminal's scrollback "
            "(/tui fullscreen goes back)."
        )
    raise ValueError(f"/tui takes inline or fullscreen, not {mode!r}.")
