"""Writes a session's file as the session goes.

The writer is a *blocking* subscriber of the session's event store, so no event is ever
lost (the agent waits for the disk rather than drop one). Records — the header, each
event, each conversation entry — are whole lines written with ``os.write`` on a file
opened for appending: never as part of a line, so a crash can tear at most the last one.
The events that arrive together (one batch of the subscription) go in one ``write``;
when they trickle in, the writer lets them gather for ``COALESCE_S`` first (one syscall
per record would cost the agent a third of its speed, benchmark B7). ``fsync`` runs
when a run ends and when the session closes, so a finished turn survives a power cut.

Entries are handed over by the session as messages join the conversation, while events
reach the writer through its subscription a little later. To keep the file in the order
things happened, an entry waits until the events emitted before it are written, and is
written with them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections import deque
from collections.abc import Callable
from contextvars import ContextVar
from pathlib import Path

import anyio
import pydantic_core

from harness_tui.core.event_store import EventStore, Subscriber
from harness_tui.core.events import RUN_END_TYPES, Event
from harness_tui.core.files.regular import open_regular
from harness_tui.core.storage.records import Entry, SessionHeader, encode

log = logging.getLogger(__name__)

#: Events after which the file is synced to disk.
SYNC_TYPES = RUN_END_TYPES | {"SESSION_ENDED"}
QUEUE_SIZE = 4096
#: After a small batch, the writer waits this long for more before its next write: at
#: most this much of a session is in memory only, beyond what the queue holds anyway.
COALESCE_S = 0.025
COALESCE_EVENTS = 256

#: Sees every write of the session files opened in this task (set by a durable run,
#: ``harness_tui.durable``, which copies each line to its database): called with the
#: bytes (whole lines); False keeps them out of the file.
LINE_TAP: ContextVar[Callable[[bytes], bool] | None] = ContextVar("harness_line_tap", default=None)


class SessionLog:
    """The writer of one session file. ``open`` it, run ``run`` in a task, hand it
    entries with ``add``; it finishes when the store closes."""

    def __init__(
        self,
        path: Path,
        store: EventStore,
        *,
        header: SessionHeader | None = None,
        on_failure: Callable[[str], None] | None = None,
    ) -> None:
        """``header``: for a new file (None when appending to an existing one).
        ``on_failure``: told once, in words for the user, if the file cannot be written
        (the session goes on without it)."""
        self.path = path
        self.store = store
        self.header = header
        self._on_failure = on_failure
        self._fd: int | None = None
        self._sub: Subscriber | None = None
        self._written_seq = 0
        self._staged: deque[tuple[int, Entry]] = deque()
        self._flush_scheduled = False
        self._done = anyio.Event()
        self.failed: str | None = None
        self.records = 0
        self.tap = LINE_TAP.get()
        #: How long a small batch waits for more (``COALESCE_S``; a durable run's file,
        #: copied to its database as it goes, waits less).
        self.coalesce_s = COALESCE_S
        self._hurry = anyio.Event()  # flush(): write now, do not gather
        self._wrote = anyio.Event()

    def open(self) -> None:
        """Create or reopen the file and subscribe. Raises ``OSError``."""
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        torn = _ends_inside_a_record(self.path)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            _lock(self._fd)
        except OSError:
            os.close(self._fd)
            self._fd = None
            raise
        if torn:
            # The last record was cut short (a crash): start on a line of our own, so
            # the next record is not glued to the torn one.
            self._write(b"\n")
        if self.header is not None:
            self._write(encode(self.header))
        self._written_seq = self.store.last_seq
        self._sub = self.store.subscribe("session-log", queue_size=QUEUE_SIZE)

    @property
    def written_seq(self) -> int:
        """Seq of the last event written."""
        return self._written_seq

    @property
    def active(self) -> bool:
        return self._fd is not None and self.failed is None

    def add(self, entry: Entry) -> None:
        """Write a conversation entry after every event already emitted: with the batch
        that holds the last of them, or ``COALESCE_S`` later if that batch is already
        written (not inline: a disk that stalls must not stall the agent more than the
        blocking subscription already lets it)."""
        if not self.active:
            return
        self._staged.append((self.store.last_seq, entry))
        if not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_later(COALESCE_S, self._flush_caught_up)

    def _flush_caught_up(self) -> None:
        self._flush_scheduled = False
        staged, lines = self._staged, []
        while staged and staged[0][0] <= self._written_seq:
            lines.append(pydantic_core.to_json(staged.popleft()[1].__dict__))
        if lines:
            lines.append(b"")
            self._write(b"\n".join(lines))

    async def run(self) -> None:
        """Write the events as they come, until the store closes."""
        sub, fd = self._sub, self._fd
        assert sub is not None and fd is not None, "open() first"
        try:
            async for batch in self.store.stream_batches(sub):
                # Everything that arrived since the last write, in one write of lines.
                # (The ignores: this subscriber is not drop-on-full, so no StreamGap.)
                self._write(self._lines(batch))  # type: ignore[arg-type]
                self._written_seq = batch[-1].seq  # type: ignore[union-attr]
                self._wrote.set()
                self._wrote = anyio.Event()
                if self.failed is not None:
                    break
                if not SYNC_TYPES.isdisjoint([e.type for e in batch]):
                    try:
                        await anyio.to_thread.run_sync(os.fsync, fd)
                    except OSError as exc:  # a failing disk: the session goes on unsaved
                        self._fail(exc)
                        break
                elif len(batch) < COALESCE_EVENTS:
                    # Events trickling in (a network stream) would each cost a wake-up
                    # and a syscall: let the next ones gather for a moment first.
                    with anyio.move_on_after(self.coalesce_s):
                        await self._hurry.wait()
                    if self._hurry.is_set():
                        self._hurry = anyio.Event()
        finally:
            self._finish()
            self._wrote.set()

    async def flush(self) -> None:
        """Until every event appended so far, and the entries among them, is written
        (a durable run's step boundary)."""
        target = self.store.last_seq
        while self.active and self._written_seq < target and not self._done.is_set():
            self._hurry.set()
            await self._wrote.wait()
        if self._staged:
            self._flush_caught_up()

    def _lines(self, batch: list[Event]) -> bytes:
        """The batch's events as lines, with the entries staged among them."""
        to_json, staged = pydantic_core.to_json, self._staged
        if not staged:  # the common case: serialise the batch in one sweep
            lines = [to_json(event.__dict__) for event in batch]
        else:
            lines = []
            for event in batch:
                lines.append(to_json(event.__dict__))
                while staged and staged[0][0] <= event.seq:
                    lines.append(to_json(staged.popleft()[1].__dict__))
        lines.append(b"")
        return b"\n".join(lines)

    async def wait_closed(self) -> None:
        await self._done.wait()

    def _finish(self) -> None:
        if self._sub is not None:
            self.store.unsubscribe(self._sub)
        while self._staged:
            self._write(encode(self._staged.popleft()[1]))
        fd = self._fd
        try:
            if fd is not None and self.failed is None:
                os.fsync(fd)
        except OSError as exc:
            self._fail(exc)
        finally:
            self._fd = None
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
            self._done.set()

    def write_lines(self, data: bytes, *, tapped: bool = True) -> None:
        """Write whole lines as they are (a durable run adds the lines another process
        stored; ``tapped=False`` keeps them from the tap)."""
        if tapped:
            self._write(data)
            return
        tap, self.tap = self.tap, None
        try:
            self._write(data)
        finally:
            self.tap = tap

    def _write(self, data: bytes) -> None:
        # The tap first: a durable run's copy does not depend on the local disk.
        if self.tap is not None and not self.tap(data):
            return
        if self._fd is None or self.failed is not None:
            return
        try:
            view = memoryview(data)
            while view:  # a regular file takes it in one go; a full disk may not
                view = view[os.write(self._fd, view) :]
            self.records += 1
        except OSError as exc:
            self._fail(exc)

    def _fail(self, exc: OSError) -> None:
        if self.failed is not None:
            return
        self.failed = f"{exc.strerror or exc}"
        log.error("writing %s failed", self.path, exc_info=exc)
        if self._on_failure is not None:
            self._on_failure(
                f"the session file {self.path} cannot be written ({self.failed}); this "
                "session goes on, but what follows is not saved"
            )


class SessionInUse(OSError):
    """Another process has the session file open for writing."""


def _lock(fd: int) -> None:
    """Hold an advisory lock on the file while writing it: two processes appending to
    one session would interleave two conversations."""
    try:
        import fcntl
    except ImportError:  # not on Windows: no lock, as before
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise SessionInUse(0, "the session is open in another harness-tui process") from None


def _ends_inside_a_record(path: Path) -> bool:
    try:
        with open_regular(path) as file:
            file.seek(0, os.SEEK_END)
            if file.tell() == 0:
                return False
            file.seek(-1, os.SEEK_END)
            return file.read(1) != b"\n"
    except FileNotFoundError:
        return False
