"""The per-session queue of messages typed while a run is active.

A *steer* joins the running run at its next turn boundary, before the next model call.
A *follow-up* starts a run of its own when the current one ends. Pending messages can be
pulled back; on cancel all of them go back to the user.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness_tui.core.events import SteeringKind, new_id
from harness_tui.core.messages import ImageBlock


@dataclass(frozen=True, slots=True)
class QueuedMessage:
    id: str
    text: str
    kind: SteeringKind
    images: tuple[ImageBlock, ...] = ()

    @property
    def fields(self) -> dict[str, object]:
        """The fields of its steering events."""
        return {
            "steering_id": self.id,
            "text": self.text,
            "kind": self.kind,
            "images": self.images,
        }


class SteeringQueue:
    """FIFO of pending messages, in the order they were typed."""

    def __init__(self) -> None:
        self._items: list[QueuedMessage] = []

    def __len__(self) -> int:
        return len(self._items)

    @property
    def pending(self) -> tuple[QueuedMessage, ...]:
        return tuple(self._items)

    def add(
        self,
        text: str,
        kind: SteeringKind,
        images: tuple[ImageBlock, ...] = (),
        item_id: str | None = None,
    ) -> QueuedMessage:
        """Queue a message (``item_id``: the id it was given where it was sent from)."""
        item = QueuedMessage(item_id or new_id("steer"), text, kind, images)
        self._items.append(item)
        return item

    def take_steers(self) -> list[QueuedMessage]:
        """Remove and return every pending steer (for the next turn boundary)."""
        steers = [m for m in self._items if m.kind == "steer"]
        if steers:
            self._items = [m for m in self._items if m.kind != "steer"]
        return steers

    def take_next(self) -> QueuedMessage | None:
        """Remove and return the oldest message of any kind (to start the next run)."""
        return self._items.pop(0) if self._items else None

    def pull_back(self, message_id: str | None = None) -> QueuedMessage | None:
        """Remove the given message, or the newest one; None if there is none."""
        for index in range(len(self._items) - 1, -1, -1):
            if message_id is None or self._items[index].id == message_id:
                return self._items.pop(index)
        return None

    def restore(self, items: list[QueuedMessage]) -> None:
        """Queue messages again as they were (a resumed session's pending messages)."""
        self._items.extend(items)

    def drain(self) -> list[QueuedMessage]:
        items, self._items = self._items, []
        return items
