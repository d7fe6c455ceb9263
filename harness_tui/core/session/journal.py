"""Where a session's entries go: its file (``storage.writer.SessionLog``) once it is
open, held until then (a resumed session's mended history is made before)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import anyio

from harness_tui.core.event_store import EventStore
from harness_tui.core.storage.records import Entry, SessionHeader
from harness_tui.core.storage.tree import EntryTree
from harness_tui.core.storage.writer import SessionInUse, SessionLog


class Journal:
    """The conversation tree of a session and the file it is written to."""

    def __init__(self, tree: EntryTree, *, persist: bool) -> None:
        #: Every entry of the conversation (all branches).
        self.tree = tree
        self.persist = persist
        self.log: SessionLog | None = None
        self._unwritten: list[Entry] = []
        self._opened = False

    def record(self, entry: Entry) -> None:
        """Add an entry to the conversation tree and the session file."""
        self.tree.add(entry)
        if self.log is not None:
            self.log.add(entry)
        elif self.persist and not self._opened:
            self._unwritten.append(entry)  # made before the file opened (a resume)

    @property
    def file(self) -> Path | None:
        """The file being written (None: not saved, or writing it failed)."""
        log = self.log
        return log.path if log is not None and log.failed is None else None

    def open(
        self,
        group: anyio.abc.TaskGroup,
        path: Path,
        store: EventStore,
        *,
        header: tuple[str, str, str] | None,
        on_failure: Callable[[str], None],
    ) -> str | None:
        """Open ``path`` (starting it with a header of ``(session id, cwd, version)``
        when given) and write to it in ``group``; a notice when it cannot be written."""
        self._opened = True
        if not self.persist:
            return None
        head = None
        if header is not None:
            session_id, cwd, version = header
            head = SessionHeader(
                session_id=session_id, cwd=cwd, created=time.time(), version=version
            )
        log = SessionLog(path, store, header=head, on_failure=on_failure)
        try:
            log.open()
        except SessionInUse:
            self._unwritten.clear()
            return (
                f"This session is not saved: {path} is open in another harness-tui "
                "process, and two writers would mix two conversations. Close the other one "
                "and resume again to keep what follows."
            )
        except OSError as exc:
            self._unwritten.clear()
            return (
                f"This session is not saved: cannot write {path} ({exc.strerror or exc}). "
                "Check the folder's permissions, or set HARNESS_DATA_DIR to a folder you "
                "can write."
            )
        self.log = log
        for entry in self._unwritten:
            log.add(entry)
        self._unwritten.clear()
        group.start_soon(log.run)
        return None

    async def aclose(self) -> None:
        """Wait for the file's last lines (the event store is closed first)."""
        if self.log is not None:
            await self.log.wait_closed()
