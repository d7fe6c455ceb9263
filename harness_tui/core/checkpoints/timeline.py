"""Reading the timeline of checkpoints: the prompts one can rewind to on the current
branch of the conversation, and the changes made since a point."""

from __future__ import annotations

from collections.abc import Sequence

from harness_tui.core.checkpoints.rewind import RewindPoint
from harness_tui.core.errors import HarnessError
from harness_tui.core.events import CheckpointCreated, CheckpointFile, Rewound
from harness_tui.core.messages import UserMessage
from harness_tui.core.storage.records import MessageEntry
from harness_tui.core.storage.tree import EntryTree

Record = CheckpointCreated | Rewound


def is_prompt(record: Record) -> bool:
    return isinstance(record, CheckpointCreated) and record.kind == "prompt"


def rewind_points(
    records: Sequence[Record], tree: EntryTree, head: str | None
) -> list[tuple[int, RewindPoint]]:
    """The prompts of the branch that ends at ``head`` that have a checkpoint, oldest
    first, each with its index in ``records``."""
    on_path = {entry.id: entry for entry in tree.path(head)}
    found: list[tuple[int, RewindPoint]] = []
    for index, record in enumerate(records):
        if not is_prompt(record) or record.entry_id not in on_path:
            continue
        assert isinstance(record, CheckpointCreated) and record.entry_id is not None
        files: dict[str, None] = {}
        for later in records[index + 1 :]:
            if is_prompt(later):
                break
            if isinstance(later, CheckpointCreated):
                files.update((c.path, None) for c in later.files if not c.by_hand)
        entry = on_path[record.entry_id]
        message = entry.message if isinstance(entry, MessageEntry) else None
        text = message.typed if isinstance(message, UserMessage) else ""
        point = RewindPoint(
            number=len(found) + 1,
            checkpoint_id=record.checkpoint_id,
            entry_id=record.entry_id,
            text=text,
            timestamp=record.timestamp,
            files=tuple(files),
        )
        found.append((index, point))
    return found


class UnknownTarget(HarnessError):
    """No prompt of the current branch is the one a rewind names."""


def find_point(
    points: Sequence[tuple[int, RewindPoint]], target: int | str
) -> tuple[int, RewindPoint]:
    """The point ``target`` names: its number, or its checkpoint or entry id (or the
    start of one). ``UnknownTarget`` when none does (``HarnessError`` when several
    do)."""
    if not points:
        raise UnknownTarget(
            "nothing to rewind to: no prompt of this conversation has a checkpoint",
            hint="checkpoints are taken from the first prompt on",
        )
    if isinstance(target, int) or (isinstance(target, str) and target.isdigit()):
        number = int(target)
        if 1 <= number <= len(points):
            return points[number - 1]
        raise UnknownTarget(
            f"no prompt {number} to rewind to", hint=f"choose 1 to {len(points)} (--list)"
        )
    matches = [
        p
        for p in points
        if p[1].checkpoint_id.startswith(target) or p[1].entry_id.startswith(target)
    ]
    if len(matches) == 1:
        return matches[0]
    raise (UnknownTarget if not matches else HarnessError)(
        f"{'no' if not matches else 'more than one'} checkpoint matches {target!r}",
        hint="give the prompt's number as listed (--list)",
    )


def changes_since(records: Sequence[Record], start: int) -> list[CheckpointFile]:
    """Every change recorded from ``records[start]`` on, in order."""
    return [change for record in records[start:] for change in record.files]


def last_rewind(records: Sequence[Record]) -> tuple[int, Rewound] | None:
    """The latest rewind that is no redo and was not undone since."""
    undone = {r.undoes for r in records if isinstance(r, Rewound) and r.undoes}
    for index in range(len(records) - 1, -1, -1):
        record = records[index]
        if isinstance(record, Rewound) and not record.undoes and record.rewind_id not in undone:
            return index, record
    return None
