"""Rewind and redo for a session: its files (through its ``Checkpointer``), its
conversation (a fork of its tree, so nothing is deleted), or both.

A rewind to a prompt puts every file changed since that prompt's checkpoint back as it
was then (created files removed, deleted ones restored, modes kept) and, for the
conversation, goes on from just before the prompt. It is recorded (``REWOUND``) in the
same timeline as the checkpoints, so a redo — and any later rewind across it — knows
what it changed.
"""

from __future__ import annotations

from collections.abc import Callable

import anyio

from harness_tui.core.checkpoints.keeper import Checkpointer
from harness_tui.core.checkpoints.rewind import HandEdits, RewindPlan, RewindPoint, apply, plan
from harness_tui.core.checkpoints.timeline import (
    changes_since,
    find_point,
    last_rewind,
    rewind_points,
)
from harness_tui.core.errors import HarnessError, SessionBusyError
from harness_tui.core.events import CheckpointFile, RewindMode, Rewound, SkippedFile, new_id
from harness_tui.core.session.journal import Journal

MODES = ("code", "conversation", "both")


class Rewinder:
    """Rewinds one session (see the module's docstring)."""

    def __init__(self, keeper: Checkpointer, journal: Journal, busy: Callable[[], bool]) -> None:
        self.keeper = keeper
        self.journal = journal
        self._busy = busy

    def points(self) -> list[RewindPoint]:
        """The prompts of the current branch one can rewind to, oldest first."""
        return [p for _, p in self._points()]

    def _points(self) -> list[tuple[int, RewindPoint]]:
        return rewind_points(self.keeper.records, self.journal.tree, self.journal.messages.head)

    async def preview(self, target: int | str) -> RewindPlan:
        """What a rewind of the files to ``target`` would do (nothing is changed)."""
        index, point = find_point(self._points(), target)
        changes = [*changes_since(self.keeper.records, index + 1), *self.keeper.unrecorded]
        keeper = self.keeper
        return await anyio.to_thread.run_sync(plan, keeper.root, keeper.blobs, changes, point)

    async def rewind(
        self, target: int | str, mode: RewindMode = "both", hand_edits: HandEdits = "refuse"
    ) -> Rewound:
        """Rewind to the prompt ``target`` (its number or checkpoint id)."""
        self._check(mode, hand_edits)
        index, point = find_point(self._points(), target)
        files: list[CheckpointFile] = []
        skipped: list[SkippedFile] = []
        if mode != "conversation":
            files, skipped = await self._restore(index + 1, None, point, hand_edits)
        entry_id = previous = None
        if mode != "code":
            previous = self.journal.messages.head
            entry_id = (await self.journal.fork(point.entry_id, before=True)).entry_id
        return await self.keeper.add_rewind(
            rewind_id=new_id("rw"),
            checkpoint_id=point.checkpoint_id,
            mode=mode,
            files=files,
            skipped=tuple(skipped),
            entry_id=entry_id,
            previous_entry_id=previous,
            prompt=point.text,
        )

    async def redo(self, hand_edits: HandEdits = "refuse") -> Rewound:
        """Undo the last rewind: its files and its fork of the conversation."""
        self._check("both", hand_edits)
        found = last_rewind(self.keeper.records)
        if found is None:
            raise HarnessError("nothing to redo", hint="redo undoes the last rewind")
        index, undone = found
        files: list[CheckpointFile] = []
        skipped: list[SkippedFile] = []
        if undone.mode != "conversation":
            own = [c for c in undone.files if not c.by_hand]
            files, skipped = await self._restore(index + 1, own, None, hand_edits)
        entry_id = previous = None
        if undone.mode != "code":
            previous = self.journal.messages.head
            branch = await self.journal.fork(undone.previous_entry_id, before=False)
            entry_id = branch.entry_id
        return await self.keeper.add_rewind(
            rewind_id=new_id("rw"),
            checkpoint_id=undone.checkpoint_id,
            mode=undone.mode,
            files=files,
            skipped=tuple(skipped),
            entry_id=entry_id,
            previous_entry_id=previous,
            undoes=undone.rewind_id,
            prompt=undone.prompt,
        )

    def _check(self, mode: str, hand_edits: str) -> None:
        if self._busy():
            raise SessionBusyError(
                "cannot rewind while a run is active", hint="wait for it to end, or cancel it"
            )
        if mode not in MODES:
            raise HarnessError(
                f"unknown rewind mode {mode!r}", hint="use code, conversation or both"
            )
        if hand_edits not in ("refuse", "keep", "overwrite"):
            raise HarnessError(
                f"unknown answer for hand edits {hand_edits!r}",
                hint="use refuse, keep or overwrite",
            )

    async def _restore(
        self,
        start: int,
        first: list[CheckpointFile] | None,
        point: RewindPoint | None,
        hand_edits: HandEdits,
    ) -> tuple[list[CheckpointFile], list[SkippedFile]]:
        """Undo the changes from ``records[start]`` on (after ``first``)."""
        keeper = self.keeper

        def undo(noticed: list[CheckpointFile]) -> tuple[list[CheckpointFile], list[SkippedFile]]:
            changes = [*(first or ()), *changes_since(keeper.records, start), *noticed]
            planned = plan(keeper.root, keeper.blobs, changes, point)
            done, skipped = apply(keeper.root, keeper.blobs, planned, hand_edits)
            for change in done:  # files no walk lists (ignored, or written by Write)
                keeper.index.look_at(keeper.root / change.path)
            return done, skipped

        return await keeper.restoring(undo)
