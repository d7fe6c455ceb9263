"""The images attached to the prompt being typed, as chips above the input.

Each chip reads ``[Image 1: shot.png 1280×720, 210 KB ×]``. A click on a chip removes it,
and so does Delete or Backspace on a focused chip; Backspace in an empty input removes
the last one (``PromptInput``). The row is hidden while there is nothing attached.
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING

from textual import events
from textual.binding import Binding
from textual.containers import HorizontalGroup
from textual.message import Message
from textual.widgets import Static

if TYPE_CHECKING:
    from harness_tui.core.messages import ImageBlock


def chip_text(number: int, image: ImageBlock) -> str:
    """``[Image 1: shot.png 1280×720, 210 KB]``: a chip, and how an image reads as text."""
    return f"[Image {number}: {image.label}]"


def dropped_image_path(text: str) -> str | None:
    """The image file a paste names, as terminals paste a dropped file: one path, maybe
    quoted, maybe a ``file://`` URL, maybe with its spaces escaped; None for anything
    else (which is pasted as text)."""
    from urllib.parse import unquote, urlparse

    from harness_tui.core.images.intake import looks_like_image_path

    path = text.strip()
    if len(path) >= 2 and path[0] == path[-1] and path[0] in "'\"":
        path = path[1:-1]
    if path.startswith("file://"):
        path = unquote(urlparse(path).path)
    elif "\\" in path and os.sep == "/":
        path = re.sub(r"\\(.)", r"\1", path)  # /tmp/my\ shot.png
    return path if looks_like_image_path(path) else None


class Chip(Static, can_focus=True):
    """One attached image; a click, Delete or Backspace removes it."""

    DEFAULT_CSS = """
    Chip { width: auto; height: 1; margin: 0 1 0 0; padding: 0 1;
           background: $accent 30%; color: $text; }
    Chip:hover { background: $error 40%; }
    Chip:focus { background: $accent 60%; text-style: bold; }
    """

    BINDINGS = [
        Binding("delete,backspace", "remove", "Remove the image", show=False),
    ]

    def __init__(self, number: int, image: ImageBlock) -> None:
        super().__init__(f"{chip_text(number, image)[:-1]} ×]", markup=False)
        self.image = image

    def on_click(self, event: events.Click) -> None:
        event.stop()
        self.action_remove()

    def action_remove(self) -> None:
        self.post_message(AttachmentRow.Removed(self.image))


class AttachmentRow(HorizontalGroup):
    """The chips of the images attached so far, in the order they came."""

    DEFAULT_CSS = """
    AttachmentRow { height: auto; display: none; padding: 0 1; }
    AttachmentRow.-some { display: block; }
    """

    class Removed(Message):
        """A chip asked to be removed."""

        def __init__(self, image: ImageBlock) -> None:
            super().__init__()
            self.image = image

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.images: list[ImageBlock] = []

    def add(self, image: ImageBlock) -> bool:
        """Attach ``image`` (False when it is attached already: the same bytes)."""
        if any(known.sha256 == image.sha256 for known in self.images):
            return False
        self.images.append(image)
        self._show()
        return True

    def detach(self, image: ImageBlock) -> None:
        """Remove ``image``'s chip."""
        self.images = [known for known in self.images if known.sha256 != image.sha256]
        self._show()

    def pop(self) -> ImageBlock | None:
        """Remove the last chip; the image it was, or None when there was none."""
        if not self.images:
            return None
        image = self.images.pop()
        self._show()
        return image

    def take(self) -> tuple[ImageBlock, ...]:
        """All the images, and the row emptied (the prompt is being sent)."""
        images, self.images = tuple(self.images), []
        self._show()
        return images

    def _show(self) -> None:
        self.remove_children()
        self.mount_all(Chip(number, image) for number, image in enumerate(self.images, 1))
        self.set_class(bool(self.images), "-some")

    def on_attachment_row_removed(self, message: Removed) -> None:
        self.detach(message.image)  # and on to the box, which gives the input focus
