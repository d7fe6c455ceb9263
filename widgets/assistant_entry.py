"""The model's answer as Markdown, rendered while it streams, fast at any length.

Textual's ``Markdown`` widget mounts a widget per block and every refresh arranges all of
them; with a long answer each update took longer and longer (B2 measured 888 tokens/s).
This entry is one widget that draws its lines itself (Textual's line API): the answer is
rendered with Rich's Markdown, and only the tail that is still changing is rendered again
when text arrives. Once the tail passes ``SEGMENT_CHARS``, its complete blocks (cut at a
blank line outside a code fence) are rendered one last time and frozen. The cost of a
delta therefore does not grow with the length of the answer, and a long answer is still a
single widget to lay out.

Its lines carry the offsets Textual's screen selection needs, so the mouse selects
the answer as it is drawn (``get_selection`` gives the selected text to copy).
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, ClassVar

from rich.segment import Segment
from textual.geometry import Size
from textual.strip import Strip
from textual.widget import Widget

if TYPE_CHECKING:
    from rich.style import Style
    from textual.selection import Selection

SEGMENT_CHARS = 600
CODE_THEME = "ansi_dark"


@functools.cache
def _chat_markdown() -> type:
    """Rich's Markdown with headings at the left margin, as in a chat (built on first
    use: rich.markdown brings markdown-it, which start-up does not need)."""
    from rich.markdown import Heading, Markdown

    class LeftHeading(Heading):
        LEVEL_ALIGN: ClassVar[dict[str, Any]] = dict.fromkeys(
            ("h1", "h2", "h3", "h4", "h5", "h6"), "left"
        )

    class ChatMarkdown(Markdown):
        elements: ClassVar[dict[str, Any]] = {**Markdown.elements, "heading_open": LeftHeading}

    return ChatMarkdown


def split_point(text: str) -> int:
    """The last place ``text`` can be cut between complete blocks (0 if none): after a
    blank line that is not inside a fenced code block."""
    best, offset, fenced = 0, 0, False
    for line in text.splitlines(keepends=True):
        stripped = line.strip()
        if stripped.startswith(("```", "~~~")):
            fenced = not fenced
        offset += len(line)
        if not fenced and not stripped:
            best = offset
    return best


class AssistantEntry(Widget):
    """Frozen, already rendered lines, and a tail rendered again on each update."""

    DEFAULT_CSS = """
    AssistantEntry { height: auto; padding: 0 1; }
    """

    def __init__(self, text: str = "") -> None:
        super().__init__()
        self.text = text
        self._frozen: list[str] = []
        self._tail = text
        self._width = 0
        self._frozen_lines: list[Strip] = []
        self._frozen_count = 0  # how many frozen chunks _frozen_lines covers
        self._tail_lines: list[Strip] | None = None

    # --- content ------------------------------------------------------------------

    async def add(self, text: str) -> None:
        self.text += text
        tail = self._tail + text
        if len(tail) > SEGMENT_CHARS:
            cut = split_point(tail)
            if cut:
                self._frozen.append(tail[:cut])
                tail = tail[cut:]
        self._tail, self._tail_lines = tail, None
        self.refresh(layout=True)

    async def finish(self) -> None:
        """Everything added is on screen after the next refresh; nothing is pending."""

    def record(self) -> tuple[type[Widget], dict[str, Any]]:
        return AssistantEntry, {"text": self.text}

    def take_frozen(self) -> str:
        """The complete blocks so far, taken out of this entry (inline mode writes
        them into the scrollback while the rest streams); '' when there are none."""
        if not self._frozen:
            return ""
        taken = "".join(self._frozen)
        self.text = self.text[len(taken) :]
        self._frozen, self._frozen_lines, self._frozen_count = [], [], 0
        self.refresh(layout=True)
        return taken

    # --- rendering ------------------------------------------------------------------

    def _render(self, text: str, width: int) -> list[Strip]:
        if not text.strip():
            return []
        console = self.app.console
        options = self.app.console_options.update_width(width).update(highlight=False)
        lines = console.render_lines(
            _chat_markdown()(text, code_theme=CODE_THEME, hyperlinks=False), options, pad=False
        )
        return [Strip(line) for line in Segment.set_shape(lines, width)]

    def _lines(self, width: int) -> tuple[list[Strip], list[Strip]]:
        width = max(1, width)
        if width != self._width:  # new width: everything renders again, once
            self._width, self._frozen_lines, self._frozen_count = width, [], 0
            self._tail_lines = None
        while self._frozen_count < len(self._frozen):
            lines = self._render(self._frozen[self._frozen_count], width)
            if lines:  # the blank line Markdown puts between blocks, across the cut
                self._frozen_lines.extend([*lines, Strip.blank(width)])
            self._frozen_count += 1
        if self._tail_lines is None:
            self._tail_lines = self._render(self._tail, width)
        return self._frozen_lines, self._tail_lines

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        frozen, tail = self._lines(width)
        return len(frozen) + len(tail)

    def rendered_height(self, text: str) -> int:
        """How many lines ``text`` takes at the current width (where a block starts)."""
        return len(self._render(text, max(1, self.content_size.width)))

    def render_line(self, y: int) -> Strip:
        width = self.content_size.width
        frozen, tail = self._lines(width)
        style = self.rich_style
        if y < len(frozen):
            strip = frozen[y]
        elif y - len(frozen) < len(tail):
            strip = tail[y - len(frozen)]
        else:
            return Strip.blank(width, style)
        strip = strip.apply_style(style)
        selection = self.text_selection
        if selection is not None and (span := selection.get_span(y)) is not None:
            highlight = self.screen.get_component_rich_style("screen--selection")
            strip = _highlighted(strip, span, highlight)
        return strip.apply_offsets(0, y)

    def get_selection(self, selection: Selection) -> tuple[str, str] | None:
        """The selected part of the answer as drawn (lines without their padding)."""
        frozen, tail = self._lines(self.content_size.width)
        text = "\n".join(strip.text.rstrip() for strip in (*frozen, *tail))
        return selection.extract(text), "\n"


def _highlighted(strip: Strip, span: tuple[int, int], style: Style) -> Strip:
    """``strip`` with the characters ``span`` (end -1: to the end) in ``style``."""
    start, end = span
    length = len(strip.text)
    end = length if end == -1 else min(end, length)
    if start >= end:
        return strip
    cuts = [strip.index_to_cell_position(i) for i in (start, end)]
    before, middle, after = strip.divide([*cuts, strip.cell_length])
    middle = Strip(Segment.apply_style(middle, post_style=style), middle.cell_length)
    return Strip.join([before, middle, after])
