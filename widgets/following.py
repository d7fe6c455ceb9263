"""Following the output, and never fighting the reader who scrolled away from it.

A scrolling pane with ``Following`` stays at the bottom while new output arrives (Textual's
anchor). Once the reader scrolls up (wheel, PgUp, Home, a drag), new output never moves
the view: Textual keeps ``scroll_y`` while the content grows below, and the
``ScrollMarker`` docked at the pane's foot counts what arrived ("12 new lines — End to
follow"). Following resumes when the reader is back at the bottom (wheel or PgDn to the
end, End, a click on the marker); the marker goes.

New lines are counted as lines, not entries: the growth, since the reader left, of the
content from the top of the entry that was last then (so an entry above it that the
reader opens or closes is not counted as new; one they open below it is).
"""

from __future__ import annotations

from typing import Any

from textual.actions import SkipAction
from textual.binding import Binding
from textual.events import Click
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Static, TextArea


class ScrollMarker(Static):
    """Docked at the bottom of the pane; hidden while it follows the output."""

    DEFAULT_CSS = """
    ScrollMarker { dock: bottom; width: 100%; height: 1; display: none; padding: 0 1;
                   background: $accent 40%; color: $text; text-style: bold; }
    ScrollMarker.-shown { display: block; }
    """

    class Follow(Message):
        """The marker was clicked: scroll to the end and follow the output again."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__("", markup=False, **kwargs)
        self.lines = 0

    def show_count(self, lines: int) -> None:
        """Show ``lines`` new lines below the view (0 hides the marker)."""
        self.lines = lines
        if lines > 0:
            noun = "line" if lines == 1 else "lines"
            self.update(f"↓ {lines:,} new {noun} — End to follow")
        self.set_class(lines > 0, "-shown")

    def on_click(self, event: Click) -> None:
        event.stop()
        self.post_message(self.Follow())


class Following:
    """For a scrolling container (before it in the bases) whose entries are
    ``_entries()``. It must mount ``_marker`` and call ``_update_marker`` after each
    batch of output and on each scroll (``watch_scroll_y``)."""

    _anchor_released: bool

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._marker = ScrollMarker(id="scroll-marker")
        #: When the reader left the bottom: the last entry then, and the lines from its
        #: top to the end (what grew below it since is new output).
        self._left_at: tuple[Widget | None, int] | None = None

    @property
    def following(self) -> bool:
        """True while new output keeps the view at the bottom."""
        return not getattr(self, "_anchor_released", False)

    def release_anchor(self) -> None:
        """The reader scrolled: remember where the output ended (for the marker)."""
        pane: Any = self
        if self.following and pane.is_mounted:
            self._left_at = self._measure()
        super().release_anchor()  # type: ignore[misc]

    def _end(self) -> int:
        """Where the entries end (the content's height, less the marker docked below)."""
        entries = self._entries()  # type: ignore[attr-defined]
        return int(entries[-1].virtual_region_with_margin.bottom) if entries else 0

    def _measure(self) -> tuple[Widget | None, int]:
        """The last entry, and the lines from its top to the end."""
        entries = self._entries()  # type: ignore[attr-defined]
        last = entries[-1] if entries else None
        return last, self._end() - (last.virtual_region_with_margin.y if last else 0)

    def new_lines(self) -> int:
        """Lines of output that arrived below since the reader scrolled up (0: following)."""
        if self._left_at is None or self.following:
            return 0
        last, before = self._left_at
        if last is not None and not last.is_attached:  # cleared: count from here
            self._left_at = last, before = self._measure()
        top = last.virtual_region_with_margin.y if last is not None else 0
        return max(0, self._end() - top - before)

    def _update_marker(self) -> None:
        if self.following:
            self._left_at = None
        lines = self.new_lines()
        if lines != self._marker.lines:
            self._marker.show_count(lines)

    def resume_at_bottom(self) -> None:
        """Follow again if the reader is at the bottom: a scroll that went nowhere (the
        wheel turned down at the end) releases Textual's anchor without moving."""
        pane: Any = self
        if not self.following and pane.scroll_y >= pane.max_scroll_y:
            self.follow()

    def follow(self) -> None:
        """Go to the end and follow new output again (End, the marker)."""
        pane: Any = self
        pane.scroll_end(animate=False)  # re-anchors
        self._left_at = None
        self._update_marker()

    def on_scroll_marker_follow(self) -> None:
        self.follow()

    def scroll_key(self, where: str) -> None:
        """PgUp (``page_up``), PgDn (``page_down``), Home (``top``), End (``bottom``),
        from wherever the focus is. A page down that reaches the end follows again."""
        pane: Any = self
        if where == "page_up":
            pane.scroll_page_up(animate=False)
        elif where == "page_down" and (
            pane.scroll_y + pane.scrollable_content_region.height < pane.max_scroll_y
        ):
            pane.scroll_page_down(animate=False)
        elif where == "top":
            pane.to_top()
        else:
            self.follow()


#: Bound on the app (priority: before the input's own PgUp/PgDn/Home/End); each runs
#: ``scroll_key``. Plain Home/End scroll only while the input is empty (with text they
#: move its cursor); Ctrl+Home/Ctrl+End always scroll.
SCROLL_KEYS = [
    Binding("pageup", "scroll('page_up')", "Scroll the conversation up", show=False, priority=True),
    Binding(
        "pagedown",
        "scroll('page_down')",
        "Scroll down; at the end, follow the output",
        show=False,
        priority=True,
    ),
    Binding(
        "home",
        "scroll('home')",
        "Scroll to the top, then earlier entries (home: input empty)",
        key_display="home, ctrl+home",
        show=False,
        priority=True,
    ),
    Binding("ctrl+home", "scroll('top')", show=False, priority=True),
    Binding(
        "end",
        "scroll('end')",
        "Scroll to the end and follow the output (end: input empty)",
        key_display="end, ctrl+end",
        show=False,
        priority=True,
    ),
    Binding("ctrl+end", "scroll('bottom')", show=False, priority=True),
]


def scroll_key(app: Any, pane: Following, where: str) -> None:
    """Scroll ``pane`` for a key bound on the app, keeping the focus where it is. The key
    is left to others (``SkipAction``) in a dialog, in another focused pane, and for
    plain Home/End (``home``, ``end``) in an input that holds text."""
    focused = app.focused
    if len(app.screen_stack) > 1:
        raise SkipAction
    if focused is not None and focused is not pane and pane not in focused.ancestors:
        typing = isinstance(focused, TextArea)
        if not typing or (where in ("home", "end") and focused.text):
            raise SkipAction
    pane.scroll_key({"home": "top", "end": "bottom"}.get(where, where))
