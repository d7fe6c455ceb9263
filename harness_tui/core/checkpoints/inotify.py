"""Linux ``inotify``, through ``ctypes``: which folders of the workspace had entries
created, changed, moved or deleted since the last look.

The kernel queues an event during the system call that changed the file, so once a
command has exited every change it made is in the queue: reading it (non-blocking)
after a Bash call tells the checkpoint exactly where to look, in microseconds, instead
of walking ten thousand files. Events only say *where*; the index compares the files
it finds there with what it knew (see ``index``). Elsewhere (macOS, Windows, a full
watch table) ``Watcher.open`` returns None and the index walks the workspace instead.
"""

from __future__ import annotations

import errno
import os
import struct
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import ctypes

IN_MODIFY = 0x00000002
IN_ATTRIB = 0x00000004
IN_CLOSE_WRITE = 0x00000008
IN_MOVED_FROM = 0x00000040
IN_MOVED_TO = 0x00000080
IN_CREATE = 0x00000100
IN_DELETE = 0x00000200
IN_DELETE_SELF = 0x00000400
IN_MOVE_SELF = 0x00000800
IN_Q_OVERFLOW = 0x00004000
IN_IGNORED = 0x00008000
IN_ONLYDIR = 0x01000000
IN_DONT_FOLLOW = 0x02000000
IN_ISDIR = 0x40000000
IN_NONBLOCK = 0o4000
IN_CLOEXEC = 0o2000000

#: What a watched folder reports.
WATCH_MASK = (
    IN_MODIFY
    | IN_ATTRIB
    | IN_CLOSE_WRITE
    | IN_MOVED_FROM
    | IN_MOVED_TO
    | IN_CREATE
    | IN_DELETE
    | IN_DELETE_SELF
    | IN_MOVE_SELF
    | IN_ONLYDIR
    | IN_DONT_FOLLOW
)
_HEADER = struct.Struct("iIII")


@dataclass
class Touched:
    """What the queue said since the last read: names changed in each folder (relative
    folder path → names), and whether it overflowed (then nothing can be trusted and
    the whole workspace must be looked at)."""

    names: dict[str, set[str]] = field(default_factory=dict)
    overflow: bool = False

    def __bool__(self) -> bool:
        return bool(self.names) or self.overflow


class Watcher:
    """One inotify instance watching folders, by their path relative to a root."""

    def __init__(self, fd: int, libc: ctypes.CDLL, root: str) -> None:
        self._fd, self._libc, self._root = fd, libc, root
        self._paths: dict[int, str] = {}  # watch descriptor -> relative folder
        self.full = False  # the watch table is full: folders added later are not seen

    @classmethod
    def open(cls, root: str) -> Watcher | None:
        """A watcher for folders under ``root``; None where inotify is not available
        (not Linux, no libc, no instance left)."""
        if not sys.platform.startswith("linux"):
            return None
        import ctypes.util  # here: a session that never checkpoints never loads it

        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
            fd = libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
        except (OSError, AttributeError):
            return None
        return cls(fd, libc, root) if fd >= 0 else None

    def add(self, rel: str) -> bool:
        """Watch the folder ``rel`` (relative to the root; "" for the root). False when
        it cannot be (gone, or the table is full: ``full`` is set)."""
        path = os.path.join(self._root, rel) if rel else self._root
        wd = self._libc.inotify_add_watch(self._fd, os.fsencode(path), WATCH_MASK)
        if wd < 0:
            if _errno() == errno.ENOSPC:
                self.full = True
            return False
        self._paths[wd] = rel  # a folder moved and added again keeps its wd: renamed here
        return True

    def read(self) -> Touched:
        """Everything queued since the last read (never blocks)."""
        touched = Touched()
        while True:
            try:
                data = os.read(self._fd, 256 * 1024)
            except BlockingIOError:
                return touched
            except OSError:
                touched.overflow = True
                return touched
            if not data:
                return touched
            offset = 0
            while offset + _HEADER.size <= len(data):
                wd, mask, _cookie, length = _HEADER.unpack_from(data, offset)
                offset += _HEADER.size
                raw = data[offset : offset + length].rstrip(b"\0")
                offset += length
                if mask & IN_Q_OVERFLOW:
                    touched.overflow = True
                    continue
                folder = self._paths.get(wd)
                if folder is None:
                    continue
                if mask & IN_IGNORED:
                    self._paths.pop(wd, None)
                    continue
                if mask & (IN_DELETE_SELF | IN_MOVE_SELF):
                    # The folder itself went: its parent has the event that says so.
                    continue
                touched.names.setdefault(folder, set()).add(os.fsdecode(raw))

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
            self._paths.clear()

    @property
    def watching(self) -> int:
        return len(self._paths)


def _errno() -> int:
    import ctypes

    return ctypes.get_errno()
