"""Rewinding the files to a checkpoint: what would change (``plan``), and doing it
(``apply``).

The timeline (``Checkpointer.records``) is read backwards from its end to the point:
for each file changed since, the state it had at the point is the ``before`` of its
first change after it, and the state the agent left it in is the ``after`` of its last.
A file whose bytes on disk are not that last state, or that was changed by hand since
the point, is a *conflict*: it is overwritten only when the caller says so. Files not
kept (binary, too large, pruned) and files outside the workspace are left alone, and
the rewind says so. Nothing is ever written outside the workspace: every path is
checked, parent folders included, after symlinks are resolved.
"""

from __future__ import annotations

import hashlib
import os
import stat
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from harness_tui.core.checkpoints.blobs import Blobs
from harness_tui.core.checkpoints.index import same_state
from harness_tui.core.errors import HarnessError
from harness_tui.core.events import CheckpointFile, FileState, Rewound, SkippedFile

HandEdits = Literal["refuse", "keep", "overwrite"]
ChangeKind = Literal["created", "modified", "deleted", "mode"]
#: Diffs of files larger than this are not shown in a preview.
MAX_DIFF_BYTES = 256 * 1024


class RewindConflict(HarnessError):
    """Files changed by hand since the checkpoint: nothing was rewound."""

    def __init__(self, files: Sequence[str]) -> None:
        self.files = tuple(files)
        shown = ", ".join(self.files[:5]) + (" …" if len(self.files) > 5 else "")
        super().__init__(
            f"{len(self.files)} file(s) changed by hand since that checkpoint: {shown}",
            hint="rewind with hand_edits='overwrite' to replace them or 'keep' to leave "
            "them (--overwrite / --keep-hand-edits on the command line)",
        )


@dataclass(frozen=True, slots=True)
class RewindPoint:
    """A prompt one can rewind to: ``number`` (1 = the first of the current branch),
    its checkpoint and conversation entry, its text and time, and the files the agent
    changed while it ran."""

    number: int
    checkpoint_id: str
    entry_id: str
    text: str
    timestamp: float
    files: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PlannedFile:
    """One file a rewind would change: ``action`` restore, remove or recreate; ``diff``
    from now to then; ``problem``: why it will be left alone; ``by_hand``: changed by
    hand since (overwritten only when the caller says so)."""

    path: str
    action: Literal["restore", "remove", "recreate"]
    diff: str
    problem: str | None
    by_hand: bool
    target: FileState | None
    current: FileState | None


@dataclass(frozen=True, slots=True)
class RewindPlan:
    point: RewindPoint | None
    files: tuple[PlannedFile, ...]

    @property
    def conflicts(self) -> tuple[PlannedFile, ...]:
        return tuple(f for f in self.files if f.by_hand and f.problem is None)


def span_states(
    changes: Sequence[CheckpointFile],
) -> dict[str, tuple[FileState | None, FileState | None, bool]]:
    """For each file in ``changes`` (in order): its state before the first change,
    after the last, and whether any change was by hand."""
    found: dict[str, tuple[FileState | None, FileState | None, bool]] = {}
    for change in changes:
        known = found.get(change.path)
        if known is None:
            found[change.path] = (change.before, change.after, change.by_hand)
        else:
            found[change.path] = (known[0], change.after, known[2] or change.by_hand)
    return found


def current_state(path: Path) -> FileState | None:
    """The file as it is now (hashed, not stored); None when there is no file."""
    try:
        st = path.lstat()
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode):
        return FileState(sha256=None, size=0, mode=0, not_kept="not a regular file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        return FileState(sha256=None, size=st.st_size, mode=0, not_kept=str(exc.strerror))
    return FileState(
        sha256=hashlib.sha256(data).hexdigest(), size=len(data), mode=stat.S_IMODE(st.st_mode)
    )


def inside(root: Path, rel: str) -> Path | None:
    """The path of ``rel`` under ``root`` when it and every folder above it stay
    inside ``root`` once symlinks are resolved; None otherwise."""
    if os.path.isabs(rel) or rel.startswith("../") or "/../" in f"/{rel}/":
        return None
    real_root = os.path.realpath(root)
    path = root / rel
    parent = os.path.realpath(path.parent)
    if parent != real_root and not parent.startswith(real_root + os.sep):
        return None
    if path.is_symlink():
        return None
    return path


def plan(
    root: Path, blobs: Blobs, changes: Sequence[CheckpointFile], point: RewindPoint | None
) -> RewindPlan:
    """What undoing ``changes`` (everything since the point, in order) would do to the
    files (blocking: reads them)."""
    planned = []
    for rel, (target, last, by_hand) in sorted(span_states(changes).items()):
        path = inside(root, rel)
        current = current_state(path) if path is not None else None
        if path is None:
            problem: str | None = "outside the workspace"
        elif target is not None and target.sha256 is None:
            problem = f"not kept: {target.not_kept or 'unknown'}"
        elif target is not None and target.sha256 not in blobs:
            problem = "not kept: dropped to bound the session's storage"
        else:
            problem = None
        if path is not None and same_state(current, target):
            continue  # already as it was
        hand = by_hand or not same_state(current, last)
        if target is None:
            action: Literal["restore", "remove", "recreate"] = "remove"
        else:
            action = "recreate" if current is None else "restore"
        diff = ""
        if problem is None and path is not None:
            diff = _diff(rel, blobs, path, current, target)
        planned.append(PlannedFile(rel, action, diff, problem, hand, target, current))
    return RewindPlan(point, tuple(planned))


def _diff(
    rel: str, blobs: Blobs, path: Path, current: FileState | None, target: FileState | None
) -> str:
    def text(data: bytes | None) -> list[str] | None:
        if data is None:
            return []
        if len(data) > MAX_DIFF_BYTES or b"\0" in data[:8000]:
            return None
        return data.decode("utf-8", errors="replace").splitlines(keepends=True)

    now = None
    if current is not None and current.sha256 is not None:
        try:
            now = path.read_bytes()
        except OSError:
            return ""
    then = blobs.get(target.sha256) if target is not None and target.sha256 else None
    a, b = text(now), text(then)
    if a is None or b is None:
        return ""
    import difflib  # a preview's, not every session's

    lines = difflib.unified_diff(
        a,
        b,
        fromfile=f"a/{rel}" if current else "/dev/null",
        tofile=f"b/{rel}" if target else "/dev/null",
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def apply(
    root: Path, blobs: Blobs, planned: RewindPlan, hand_edits: HandEdits
) -> tuple[list[CheckpointFile], list[SkippedFile]]:
    """Put the files back (blocking). Returns the changes made (``before``: the file as
    it was, its bytes kept for a redo) and the files left alone with why. Raises
    ``RewindConflict`` (before changing anything) for hand edits under ``refuse``."""
    if hand_edits == "refuse" and planned.conflicts:
        raise RewindConflict([f.path for f in planned.conflicts])
    done: list[CheckpointFile] = []
    skipped: list[SkippedFile] = []
    emptied: set[Path] = set()
    for item in planned.files:
        if item.problem is not None:
            skipped.append(SkippedFile(path=item.path, reason=item.problem))
            continue
        if item.by_hand and hand_edits == "keep":
            skipped.append(SkippedFile(path=item.path, reason="changed by hand (kept)"))
            continue
        path = inside(root, item.path)
        assert path is not None
        try:
            before = _keep_current(blobs, path, item.current)
            if item.target is None:
                path.unlink(missing_ok=True)
                emptied.add(path.parent)
            else:
                _write(root, path, blobs, item.target)
        except OSError as exc:
            skipped.append(
                SkippedFile(path=item.path, reason=f"cannot write: {exc.strerror or exc}")
            )
            continue
        change: ChangeKind = (
            "created" if before is None else "deleted" if item.target is None else "modified"
        )
        done.append(CheckpointFile(path=item.path, change=change, before=before, after=item.target))
    _remove_empty(root, emptied)
    return done, skipped


def _keep_current(blobs: Blobs, path: Path, current: FileState | None) -> FileState | None:
    """Store what is on disk now, so that a redo can put it back."""
    if current is None:
        return None
    if current.sha256 is None:
        return current
    data = path.read_bytes()
    digest, _ = blobs.put(data)
    return FileState(sha256=digest, size=len(data), mode=stat.S_IMODE(path.lstat().st_mode))


def _write(root: Path, path: Path, blobs: Blobs, target: FileState) -> None:
    assert target.sha256 is not None
    data = blobs.get(target.sha256)
    if data is None:
        raise OSError(f"the kept bytes of {path.name} are gone")
    parent = path.parent
    parent.mkdir(parents=True, exist_ok=True)
    if inside(root, path.relative_to(root).as_posix()) is None:  # made through a symlink
        raise OSError("its folder leads outside the workspace")
    fd, temp = tempfile.mkstemp(dir=parent, prefix=f".{path.name}.rewind-")
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
        os.chmod(temp, target.mode)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def _remove_empty(root: Path, folders: set[Path]) -> None:
    """Folders a rewind emptied (the agent made them for files now removed) go too."""
    for folder in sorted(folders, key=lambda p: len(p.parts), reverse=True):
        while folder != root and root in folder.parents:
            try:
                folder.rmdir()
            except OSError:
                break
            folder = folder.parent


#: What a rewind's change to a file did, in words.
REWIND_VERBS = {
    "created": "recreated",
    "deleted": "removed",
    "modified": "restored",
    "mode": "restored",
}


def summary(event: Rewound) -> str:
    """One line for the user: what a rewind did."""
    counts: dict[str, int] = {}
    for change in event.files:
        if change.by_hand:
            continue
        word = REWIND_VERBS[change.change]
        counts[word] = counts.get(word, 0) + 1
    what = {"code": "files", "conversation": "conversation", "both": "files and conversation"}
    parts = [f"{n} {word}" for word, n in counts.items()] or ["no file changed"]
    done = "Undid the last rewind" if event.undoes else "Rewound"
    text = f"{done} ({what[event.mode]}): " + ", ".join(parts)
    if event.skipped:
        text += "; left alone: " + ", ".join(f"{s.path} ({s.reason})" for s in event.skipped)
    return text + "."
