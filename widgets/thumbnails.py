"""Thumbnails of the images a user message carries, where the terminal can draw them.

Whether it can is decided once, from the environment, before anything is drawn
(``graphics_protocol``): ``HARNESS_TUI_GRAPHICS`` (``kitty``, ``sixel`` or ``none``)
decides when set; else the terminal's own variables (kitty and Ghostty speak the Kitty
graphics protocol; WezTerm, Konsole, foot, mlterm and iTerm2 Sixel); inside tmux or
screen, and in headless runs, nothing is drawn. The terminal is not asked: once Textual
runs, its input thread reads the answer as keys, and asking before it runs would cost
start-up a round trip and could eat keys typed ahead.

Drawing is ``textual-image``'s (Pillow underneath), imported on the first thumbnail only;
its own detection, which queries the terminal at import, is kept from running
(``_image_widget``). Elsewhere the entry's chip text is all there is.
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from textual.app import ComposeResult
from textual.containers import HorizontalGroup
from textual.widget import Widget

if TYPE_CHECKING:
    from harness_tui.core.messages import ImageBlock

#: Set to ``kitty``, ``sixel`` or ``none`` to say what the terminal draws.
GRAPHICS_ENV = "HARNESS_TUI_GRAPHICS"
PROTOCOLS = ("kitty", "sixel")
#: A thumbnail's height in cells (its width follows the image's shape).
THUMBNAIL_ROWS = 8
#: The thumbnail is made from the image scaled down to at most this many pixels a side.
THUMBNAIL_PIXELS = 480
#: An image's bytes and media type by its sha256 (the session's ``images.find``).
Finder = Callable[[str], "tuple[bytes, str] | None"]


def graphics_protocol(env: Mapping[str, str] = os.environ, headless: bool = False) -> str | None:
    """``kitty`` or ``sixel`` when the terminal draws images that way, else None."""
    forced = env.get(GRAPHICS_ENV, "").strip().lower()
    if forced:
        return forced if forced in PROTOCOLS else None
    if headless or env.get("TMUX") or env.get("STY"):
        return None  # multiplexers drop graphics unless configured to pass them through
    term, program = env.get("TERM", ""), env.get("TERM_PROGRAM", "")
    if term in ("xterm-kitty", "xterm-ghostty") or env.get("KITTY_WINDOW_ID"):
        return "kitty"
    if program == "ghostty":
        return "kitty"
    # WezTerm and Konsole also accept Kitty graphics, but not its placeholder cells.
    if program in ("WezTerm", "iTerm.app") or env.get("KONSOLE_VERSION"):
        return "sixel"
    if term.startswith(("foot", "mlterm")):
        return "sixel"
    return None


class Thumbnails(HorizontalGroup):
    """A message's images side by side, each a few rows high; an image whose bytes are
    not in the store (a session moved without its images folder) is left out."""

    DEFAULT_CSS = f"""
    Thumbnails {{ height: auto; padding: 0 1 0 3; background: $boost; }}
    Thumbnails > .thumbnail {{ width: auto; height: {THUMBNAIL_ROWS}; margin: 0 1 0 0; }}
    """

    def __init__(self, images: tuple[ImageBlock, ...], find: Finder, protocol: str) -> None:
        super().__init__()
        self.images, self.find, self.protocol = images, find, protocol

    def compose(self) -> ComposeResult:
        kind = _image_widget(self.protocol)
        for image in self.images:
            found = self.find(image.sha256)
            if found is not None:
                yield kind(_thumbnail(found[0]), classes="thumbnail")

    def record(self) -> tuple[type[Widget], dict[str, Any]]:
        return Thumbnails, {"images": self.images, "find": self.find, "protocol": self.protocol}


def _thumbnail(data: bytes) -> Any:
    """The image decoded and scaled down: a thumbnail needs few pixels."""
    from PIL import Image

    image = Image.open(io.BytesIO(data))
    image.thumbnail((THUMBNAIL_PIXELS, THUMBNAIL_PIXELS))
    return image


def _image_widget(protocol: str) -> type[Widget]:
    """textual-image's widget for ``protocol``. Importing it runs its terminal queries
    when stdout is a terminal: they read stdin, which Textual's input thread owns by now,
    so stdout looks like a file while it loads, and the cell size is filled in first."""
    from textual_image import _terminal

    if not hasattr(_terminal.get_cell_size, "_result"):
        _terminal.get_cell_size._result = _cell_size(_terminal)  # type: ignore[attr-defined]
    stdout = sys.__stdout__
    sys.__stdout__ = io.StringIO()
    try:
        from textual_image import widget
    finally:
        sys.__stdout__ = stdout
    return widget.TGPImage if protocol == "kitty" else widget.SixelImage  # type: ignore[no-any-return]


def _cell_size(terminal: Any) -> Any:
    """A cell's size in pixels from the terminal's window size, without asking it."""
    try:
        rows, columns, width, height = terminal.get_tiocgwinsz()
        if rows and columns and width and height:
            return terminal.CellSize(width // columns, height // rows)
    except Exception:  # not a terminal, or a platform without the ioctl
        pass
    return terminal.CellSize(10, 20)
