"""The conversation's simple entries: a prompt or steering message, thinking, a notice.

Each can say what remakes it (``record()``): the conversation keeps records of the
entries it folds away (see ``conversation``). Answers and tool calls have modules of
their own (``assistant_entry``, ``tool_card``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.widget import Widget
from textual.widgets import Collapsible, Static

from harness_tui.widgets.attachments import chip_text

if TYPE_CHECKING:
    from harness_tui.core.messages import ImageBlock

USER_MARK = {"prompt": "›", "user": "›", "steering": "↳ steer", "follow_up": "» follow-up"}


class UserEntry(Static):
    """What the user sent; its images as chip lines under the text (their thumbnails,
    where the terminal draws them, are an entry of their own: ``thumbnails``)."""

    DEFAULT_CSS = """
    UserEntry { margin: 1 0 0 0; padding: 0 1; background: $boost; text-style: bold; }
    UserEntry.-steering, UserEntry.-follow_up { background: $boost; color: $accent; }
    """

    def __init__(
        self, text: str, kind: str = "prompt", images: tuple[ImageBlock, ...] = ()
    ) -> None:
        super().__init__(user_text(text, kind, images), markup=False, classes=f"-{kind}")
        self.text, self.kind, self.images = text, kind, images

    def record(self) -> tuple[type[Widget], dict[str, Any]]:
        data: dict[str, Any] = {"text": self.text, "kind": self.kind}
        if self.images:
            data["images"] = self.images
        return UserEntry, data


def user_text(text: str, kind: str, images: tuple[ImageBlock, ...] = ()) -> str:
    """A user entry as text: its mark and text, then a chip line per image."""
    chips = [chip_text(number, image) for number, image in enumerate(images, 1)]
    mark = USER_MARK.get(kind, "›")
    return "\n".join([f"{mark} {text}" if text or not chips else mark, *chips])


class ThinkingEntry(Collapsible):
    """Reasoning, dimmed and collapsed; its title previews the first line."""

    DEFAULT_CSS = """
    ThinkingEntry { border: none; padding: 0; margin: 0; background: transparent; }
    ThinkingEntry > Contents { padding: 0 0 0 2; color: $text-muted; text-style: italic; }
    ThinkingEntry CollapsibleTitle { color: $text-muted; padding: 0; width: 1fr; }
    """

    def __init__(self, text: str = "", collapsed: bool = True) -> None:
        self.text = text
        self._body = Static(text, markup=False)
        super().__init__(self._body, title=self._title_text(), collapsed=collapsed)

    def _title_text(self) -> str:
        first = " ".join(self.text.split())[:70]
        return f"Thinking · {first}…" if first else "Thinking…"

    def add(self, text: str) -> None:
        self.text += text
        self._body.update(self.text)
        self.title = self._title_text()

    def record(self) -> tuple[type[Widget], dict[str, Any]]:
        return ThinkingEntry, {"text": self.text, "collapsed": self.collapsed}


class NoticeEntry(Static):
    """Errors, retries, cancels and notices, inline, with what to do about them."""

    DEFAULT_CSS = """
    NoticeEntry { padding: 0 1; color: $text-muted; }
    NoticeEntry.-warning { color: $warning; }
    NoticeEntry.-error { color: $error; text-style: bold; }
    NoticeEntry.-welcome { color: $text; margin: 0 0 1 0; }
    """

    def __init__(self, text: str, level: str = "info") -> None:
        super().__init__(text, markup=False, classes=f"-{level}")
        self.text, self.level = text, level

    def record(self) -> tuple[type[Widget], dict[str, Any]]:
        return NoticeEntry, {"text": self.text, "level": self.level}


__all__ = ["NoticeEntry", "ThinkingEntry", "UserEntry"]
