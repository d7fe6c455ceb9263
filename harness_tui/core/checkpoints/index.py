"""What the files of the workspace were when last looked at, and what changed since.

The index knows every file of the workspace that ``git`` would see (``.gitignore``
files, ``.git/info/exclude`` and the usual vendor folders are honoured, as by
``files.walk``): its size, mtime, inode and permission bits, and its bytes in the
session's ``Blobs`` — except files over the size cap and binary files, which are
marked *not kept*. ``build`` walks the workspace once (in the background, when the
first prompt is sent); after that, ``refresh`` looks only where inotify saw something
happen (``inotify.Watcher``) — or walks again where inotify is not available — and
returns the files that changed, each with its earlier and its present state, keeping
the present bytes so that the next change has its "before". ``look_at`` does the same
for named files (what Write and Edit change), ignored or outside the workspace too.

Blocking (it reads files): call it from a worker thread.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

import harness_tui.core.tools  # noqa: F401  (files.walk needs the tools loaded first)
from harness_tui.core.checkpoints.blobs import Blobs
from harness_tui.core.checkpoints.gitobjects import GitIndex, git_blob_id
from harness_tui.core.checkpoints.inotify import Touched, Watcher
from harness_tui.core.events import FileState
from harness_tui.core.files.patterns import IgnoreRules, is_ignored
from harness_tui.core.files.walk import SKIPPED_DIRS, parent_rules

#: Bytes looked at to tell a binary file (a NUL byte among them, as git decides).
BINARY_SNIFF = 8000
#: At most this many names changed: ``refresh`` runs on the event loop (``quick``).
QUICK_NAMES = 16


@dataclass(frozen=True, slots=True)
class Seen:
    """A file as last seen: its stat fingerprint and its state (bytes by hash)."""

    size: int
    mtime_ns: int
    ino: int
    ctime_ns: int
    state: FileState

    @classmethod
    def of(cls, st: os.stat_result, state: FileState) -> Seen:
        return cls(st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns, state)

    def same_stat(self, st: os.stat_result) -> bool:
        return (self.size, self.mtime_ns, self.ino, self.ctime_ns) == (
            st.st_size,
            st.st_mtime_ns,
            st.st_ino,
            st.st_ctime_ns,
        )


#: One changed file: its path (relative, "/"; absolute outside the workspace), as it
#: was and as it is (None: not there).
Change = tuple[str, FileState | None, FileState | None]


class Stopped(Exception):
    """The index was closed while it was being built (the session ended)."""


class TooManyFiles(Exception):
    """The workspace has more files than the index takes (``max_files``)."""


class WorkspaceIndex:
    """The files of one workspace as last seen (see the module's docstring)."""

    def __init__(
        self,
        root: Path,
        blobs: Blobs,
        *,
        max_file_bytes: int,
        max_files: int,
        use_inotify: bool = True,
    ) -> None:
        self.root = root
        self.blobs = blobs
        self.max_file_bytes = max_file_bytes
        self.max_files = max_files
        self.use_inotify = use_inotify
        self.files: dict[str, Seen] = {}
        #: Files named by a tool (``look_at``) that no walk lists: ignored, or outside.
        self.named: dict[str, Seen] = {}
        #: Every folder walked, with the ignore rules active inside it.
        self.dirs: dict[str, list[IgnoreRules]] = {}
        self.watcher: Watcher | None = None
        #: Bytes newly stored since the counter was last reset (see ``take_stored``).
        self.stored = 0
        self._pending = Touched()  # read from inotify by ``quick``, not yet looked at
        self.closed = False
        #: The repository's index, when the workspace is in one (see ``gitobjects``).
        self.git: GitIndex | None = None

    # --- building -------------------------------------------------------------------

    def build(self) -> None:
        """Walk the whole workspace and keep every file. Raises ``TooManyFiles``, and
        ``Stopped`` when the index was closed meanwhile."""
        if self.use_inotify and self.watcher is None and not self.closed:
            self.watcher = Watcher.open(str(self.root))
        rules = parent_rules(self.root)
        own = IgnoreRules.read(self.root / ".gitignore")
        self.files, self.dirs = {}, {}
        found = self._walk("", [*rules, own] if own else rules)
        self.blobs.git = self.git = GitIndex.read(self.root)
        for rel, st in found.items():
            self.files[rel] = Seen.of(st, self.keep(self.root / rel, st))

    def close(self) -> None:
        """Stop watching; a build under way stops at its next folder (``Stopped``)."""
        self.closed = True
        if self.watcher is not None:
            self.watcher.close()
            self.watcher = None

    def _walk(
        self, top: str, rules: list[IgnoreRules], counted: int = 0
    ) -> dict[str, os.stat_result]:
        """The files under the folder ``top`` (relative; walked, with its subfolders
        recorded and watched), by relative path, with their ``lstat``. ``counted``:
        files the index has besides these (``TooManyFiles`` past ``max_files``)."""
        found: dict[str, os.stat_result] = {}
        stack = [(top, rules)]
        watcher = self.watcher
        while stack:
            if self.closed:
                raise Stopped
            folder, active = stack.pop()
            self.dirs[folder] = active
            if watcher is not None and not watcher.full:
                watcher.add(folder)
            try:
                entries = list(os.scandir(self.root / folder if folder else self.root))
            except OSError:
                continue
            for entry in entries:
                rel = f"{folder}/{entry.name}" if folder else entry.name
                try:
                    st = entry.stat(follow_symlinks=False)
                except OSError:
                    continue
                if stat.S_ISDIR(st.st_mode):
                    if entry.name in SKIPPED_DIRS or is_ignored(active, rel, True):
                        continue
                    inner = IgnoreRules.read(Path(entry.path) / ".gitignore", base=rel)
                    stack.append((rel, [*active, inner] if inner else active))
                elif stat.S_ISREG(st.st_mode) and not is_ignored(active, rel, False):
                    found[rel] = st
                    if counted + len(found) > self.max_files:
                        raise TooManyFiles(rel)
        return found

    @property
    def exact(self) -> bool:
        """inotify watches every folder: ``refresh`` need not walk."""
        return self.watcher is not None and not self.watcher.full

    # --- keeping bytes --------------------------------------------------------------

    def keep(self, path: Path, st: os.stat_result) -> FileState:
        """Read the file and keep its bytes (unless too large or binary)."""
        mode = stat.S_IMODE(st.st_mode)
        if st.st_size > self.max_file_bytes:
            return FileState(
                sha256=None,
                size=st.st_size,
                mode=mode,
                not_kept=f"too large ({_mib(st.st_size)}; the cap is {_mib(self.max_file_bytes)})",
            )
        try:
            with open(path, "rb") as file:
                data = file.read(self.max_file_bytes + 1)
        except OSError as exc:
            return FileState(
                sha256=None, size=st.st_size, mode=mode, not_kept=f"unreadable ({exc.strerror})"
            )
        if len(data) > self.max_file_bytes:
            return FileState(sha256=None, size=len(data), mode=mode, not_kept="too large")
        if b"\0" in data[:BINARY_SNIFF]:
            return FileState(sha256=None, size=len(data), mode=mode, not_kept="binary")
        digest = hashlib.sha256(data).hexdigest()
        blob_id = self.git.blobs.get(self.relative(path)) if self.git is not None else None
        if blob_id is not None and git_blob_id(data) == blob_id:
            self.blobs.defer(digest, blob_id)  # git has these bytes: no copy yet
            return FileState(sha256=digest, size=len(data), mode=mode)
        try:
            _, added = self.blobs.put(data, digest)
        except OSError as exc:
            return FileState(
                sha256=None, size=len(data), mode=mode, not_kept=f"cannot store ({exc.strerror})"
            )
        self.stored += added
        return FileState(sha256=digest, size=len(data), mode=mode)

    def take_stored(self) -> int:
        """Bytes stored since the last call."""
        stored, self.stored = self.stored, 0
        return stored

    # --- changes --------------------------------------------------------------------

    def quick(self) -> bool:
        """Whether ``refresh`` will be quick enough to run on the event loop: inotify
        saw few names since the last look (read here, without blocking, and kept for
        ``refresh``). A handful of small files costs microseconds; a hand-off to a
        worker thread costs more than that."""
        watcher = self.watcher
        if watcher is None or watcher.full:
            return False
        touched = watcher.read()
        pending = self._pending
        pending.overflow |= touched.overflow
        for folder, names in touched.names.items():
            pending.names.setdefault(folder, set()).update(names)
        return not pending.overflow and sum(map(len, pending.names.values())) <= QUICK_NAMES

    def refresh(self) -> list[Change]:
        """The files that changed since the last look, now kept as they are."""
        watcher = self.watcher
        if watcher is None or watcher.full:
            return self._rewalk()
        self.quick()  # what is queued, into what ``quick`` read before
        touched, self._pending = self._pending, Touched()
        if touched.overflow or any(".gitignore" in names for names in touched.names.values()):
            return self._rewalk()
        changes: list[Change] = []
        for folder, names in sorted(touched.names.items()):
            rules = self.dirs.get(folder)
            if rules is None:
                continue  # ignored, or gone already
            for name in sorted(names):
                rel = f"{folder}/{name}" if folder else name
                changes += self._look(rel, rules)
        return changes

    def _rewalk(self) -> list[Change]:
        rules = parent_rules(self.root)
        own = IgnoreRules.read(self.root / ".gitignore")
        self.dirs = {}
        found = self._walk("", [*rules, own] if own else rules)
        changes: list[Change] = []
        for rel in [r for r in self.files if r not in found]:
            changes.append((rel, self.files.pop(rel).state, None))
        for rel, st in found.items():
            changes += self._compare(rel, st)
        return changes

    def _look(self, rel: str, rules: list[IgnoreRules]) -> list[Change]:
        """Compare what is at ``rel`` now with what the index knew there."""
        path = self.root / rel
        try:
            st = path.lstat()
        except OSError:
            st = None
        if st is not None and stat.S_ISDIR(st.st_mode):
            changes = self._forget_file(rel)  # a file became a folder
            name = rel.rsplit("/", 1)[-1]
            if rel in self.dirs or name in SKIPPED_DIRS or is_ignored(rules, rel, True):
                return changes
            inner = IgnoreRules.read(path / ".gitignore", base=rel)
            inside = [*rules, inner] if inner else rules
            for inner_rel, inner_st in self._walk(rel, inside, len(self.files)).items():
                changes += self._compare(inner_rel, inner_st)
            return changes
        changes = self._forget_folder(rel) if rel in self.dirs else []
        if st is not None and stat.S_ISREG(st.st_mode) and not is_ignored(rules, rel, False):
            return changes + self._compare(rel, st)
        return changes + self._forget_file(rel)

    def _forget_file(self, rel: str) -> list[Change]:
        """The file at ``rel`` is gone (deleted, or a folder now)."""
        known = self.files.pop(rel, None)
        return [(rel, known.state, None)] if known is not None else []

    def _forget_folder(self, folder: str) -> list[Change]:
        """The folder went (or a file took its place): every file under it is gone."""
        prefix = folder + "/"
        for rel in [d for d in self.dirs if d == folder or d.startswith(prefix)]:
            del self.dirs[rel]
        return [
            c
            for rel in [r for r in self.files if r.startswith(prefix)]
            for c in self._forget_file(rel)
        ]

    def _compare(
        self, rel: str, st: os.stat_result, table: dict[str, Seen] | None = None
    ) -> list[Change]:
        table = self.files if table is None else table
        known = table.get(rel)
        if known is not None and known.same_stat(st):
            return []
        state = self.keep(self.root / rel, st)  # an absolute ``rel`` stays itself
        table[rel] = Seen.of(st, state)
        before = known.state if known is not None else None
        if same_state(before, state):
            return []  # touched, not changed
        return [(rel, before, state)]

    def look_at(self, path: Path, *, learn: bool = False) -> list[Change]:
        """Compare a named file (any path) with what the index knew of it. ``learn``
        (before a tool runs): a file it did not know is only learnt, not a change."""
        rel = self.relative(path)
        if rel in self.files:
            rules = self.dirs.get(rel.rsplit("/", 1)[0] if "/" in rel else "")
            if rules is not None:
                return self._look(rel, rules)
        try:
            st = path.lstat()
        except OSError:
            known = self.named.pop(rel, None)
            return [(rel, known.state, None)] if known is not None else []
        if not stat.S_ISREG(st.st_mode):
            return []
        changes = self._compare(rel, st, self.named)
        return [] if learn and changes and changes[0][1] is None else changes

    def known(self, path: Path) -> FileState | None:
        """The state the index has for ``path`` (None: not there, as far as it knows)."""
        rel = self.relative(path)
        seen = self.files.get(rel) or self.named.get(rel)
        return seen.state if seen is not None else None

    def relative(self, path: Path) -> str:
        """``path`` as the index names it: relative with "/", or absolute outside."""
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return str(path)

    def referenced(self) -> set[str]:
        """The hashes the index's "before" states need."""
        return {
            seen.state.sha256
            for table in (self.files, self.named)
            for seen in table.values()
            if seen.state.sha256 is not None
        }


def same_state(a: FileState | None, b: FileState | None) -> bool:
    """The same bytes and mode, or both absent (files not kept cannot be compared:
    they count as changed)."""
    if a is None or b is None:
        return a is b
    return a.sha256 is not None and a.sha256 == b.sha256 and a.mode == b.mode


def _mib(size: int) -> str:
    return f"{size / 1048576:.1f} MiB"
