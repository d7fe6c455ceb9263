"""Finished conversation entries as Rich renderables, for the terminal's scrollback.

In inline mode (``harness_tui.tui.inline``) an entry leaves the screen once it is
finished and is written above the live area as text. This module says how each kind of
entry reads there, from the record the conversation keeps of it (``Widget.record()``):
a prompt as one bold line (and a chip line per image), an answer as rendered Markdown,
thinking as its one-line preview, a notice in its level's colour, a tool call as its
final one-line header (a failure adds the first lines of its error).
"""

from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.text import Text
from textual.widget import Widget

from harness_tui.widgets.assistant_entry import CODE_THEME, AssistantEntry, _chat_markdown
from harness_tui.widgets.entries import NoticeEntry, ThinkingEntry, UserEntry, user_text
from harness_tui.widgets.tool_card import ToolCard, header_text

_NOTICE_STYLE = {"warning": "yellow", "error": "bold red", "welcome": "", "info": "dim"}
#: A failed call's error shows this many lines under its header.
ERROR_LINES = 3


def renderable(kind: type[Widget], data: dict[str, Any]) -> RenderableType | None:
    """How the entry recorded as ``(kind, data)`` reads in the scrollback."""
    if kind is UserEntry:
        text = Text(user_text(data["text"], data["kind"], data.get("images", ())), style="bold")
        return Padding(text, (1, 1, 0, 1))
    if kind is AssistantEntry:
        if not data["text"].strip():
            return None
        markdown = _chat_markdown()(data["text"], code_theme=CODE_THEME, hyperlinks=False)
        # A part of an answer still streaming ends at a blank line: keep it (the next
        # part is the next block).
        return Padding(markdown, (0, 1, int(data["text"].endswith("\n\n")), 2))
    if kind is ThinkingEntry:
        first = " ".join(data["text"].split())[:70]
        return Padding(Text(f"Thinking · {first}…", style="dim italic"), (0, 1, 0, 2))
    if kind is NoticeEntry:
        return Padding(Text(data["text"], style=_NOTICE_STYLE.get(data["level"], "")), (0, 1))
    if kind is ToolCard:
        return tool_summary(data)
    return None


def tool_summary(data: dict[str, Any]) -> RenderableType:
    """A finished tool call: its header, and for a failure the start of the error."""
    parts: list[RenderableType] = [header_text(data)]
    if data["status"] == "failed" and data["result"]:
        lines = data["result"].strip().splitlines()
        shown = lines[:ERROR_LINES]
        if len(lines) > ERROR_LINES:
            shown.append(f"… {len(lines) - ERROR_LINES} more lines")
        parts.append(Text("\n".join(shown), style="red"))
    indent = 3 + 3 * int(data.get("depth", 0) or 0)
    return Padding(Group(*parts), (0, 1, 0, indent))
