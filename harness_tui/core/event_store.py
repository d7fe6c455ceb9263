"""The per-session event log and its fan-out to subscribers.

``append`` is the only way an event enters the system: it stamps the next ``seq``
(gapless, from 1), an ``event_id`` and the ``timestamp``, keeps the event in a bounded
history and hands it to every subscriber in order. Two kinds of subscriber:

- *blocking* (TUI, session file, ``-p``): when its buffer is full, ``append`` waits.
  It never loses an event; the agent runs at the speed of its slowest blocking reader.
- *drop-on-full* (browsers): never slows the agent. When its buffer is full the event is
  dropped, and its stream later yields one ``StreamGap`` with the missing seq range, so
  the reader can fetch it from ``replay`` instead of silently showing wrong text.

A subscriber whose consumer stops reading because it failed (its stream is closed, or the
task iterating it ends) is removed, so it cannot stall the others. Everything here runs
on one asyncio event loop; nothing is thread-safe.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import time
from collections import deque
from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import TYPE_CHECKING

import anyio

from harness_tui.core.events import StreamGap

if TYPE_CHECKING:
    from harness_tui.core.events import AgentEvent, Event

log = logging.getLogger(__name__)

DEFAULT_HISTORY_LIMIT = 20_000


class Subscriber:
    """A reader's bounded buffer. Create with ``EventStore.subscribe``."""

    __slots__ = (
        "_buffer",
        "_ended",
        "_gap_from",
        "_gap_to",
        "_getter",
        "_putter",
        "closed",
        "drop_on_full",
        "dropped",
        "maxsize",
        "name",
    )

    def __init__(self, name: str, maxsize: int, drop_on_full: bool) -> None:
        if maxsize < 1:
            raise ValueError(f"subscriber {name!r}: queue_size must be at least 1")
        self.name = name
        self.maxsize = maxsize
        self.drop_on_full = drop_on_full
        self.dropped = 0
        self.closed = False  # unsubscribed: nothing more is delivered
        self._ended = False  # the store closed: deliver what is buffered, then stop
        self._buffer: deque[Event | StreamGap] = deque()
        self._gap_from: int | None = None
        self._gap_to = 0
        self._getter: asyncio.Future[None] | None = None
        self._putter: asyncio.Future[None] | None = None

    def __repr__(self) -> str:
        kind = "drop-on-full" if self.drop_on_full else "blocking"
        return f"<Subscriber {self.name!r} {kind} {len(self._buffer)}/{self.maxsize}>"

    def _offer(self, event: Event) -> bool:
        """Take the event now, or say False when a blocking buffer is full."""
        if self.closed:
            return True
        buffer = self._buffer
        if len(buffer) >= self.maxsize:
            if not self.drop_on_full:
                return False
            if self._gap_from is None:
                self._gap_from = event.seq
            self._gap_to = event.seq
            self.dropped += 1
            return True
        if self._gap_from is not None:
            buffer.append(self._take_gap())
        buffer.append(event)
        getter = self._getter
        if getter is not None:
            self._getter = None
            if not getter.done():
                getter.set_result(None)
        return True

    def _take_gap(self) -> StreamGap:
        assert self._gap_from is not None
        gap = StreamGap(from_seq=self._gap_from, to_seq=self._gap_to)
        self._gap_from = None
        return gap

    async def _wait_for_space(self) -> None:
        self._putter = asyncio.get_running_loop().create_future()
        try:
            await self._putter
        finally:
            self._putter = None

    def _wake(self) -> None:
        for waiter in (self._getter, self._putter):
            if waiter is not None and not waiter.done():
                waiter.set_result(None)


class EventStore:
    """Append-only, seq-numbered, bounded event log of one session, with pub/sub."""

    def __init__(self, history_limit: int = DEFAULT_HISTORY_LIMIT) -> None:
        if history_limit < 1:
            raise ValueError("history_limit must be at least 1")
        self._history: deque[Event] = deque(maxlen=history_limit)
        self._seq = 0
        self._id_prefix = os.urandom(5).hex() + "-"
        self._subscribers: list[Subscriber] = []
        self._lock = asyncio.Lock()
        self._queued = 0  # appends holding or waiting for the lock
        self._closed = False

    @property
    def last_seq(self) -> int:
        """Seq of the newest event (0 before the first)."""
        return self._seq

    @property
    def oldest_seq(self) -> int:
        """Seq of the oldest event still in the history (``last_seq + 1`` when empty)."""
        return self._history[0].seq if self._history else self._seq + 1

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def subscribers(self) -> tuple[Subscriber, ...]:
        return tuple(self._subscribers)

    async def append(self, event: Event) -> Event:
        """Stamp the next seq on ``event``, record it and fan it out; return it.

        Waits only while a blocking subscriber's buffer is full. Concurrent appends are
        serialised so that every subscriber sees events in seq order.
        """
        if event.seq:
            raise ValueError(f"event {event.type} was already appended (seq {event.seq})")
        if self._closed:
            raise RuntimeError("the event store is closed")
        if self._queued:
            # Appends are waiting on a full blocking subscriber; queue behind them so
            # that seq order and delivery order stay the same for every reader.
            await self._append_in_line(event, None)
            return event
        self._stamp(event)
        subscribers = self._subscribers
        for index in range(len(subscribers)):
            if not subscribers[index]._offer(event):
                await self._append_in_line(event, subscribers[index:])
                break
        return event

    async def _append_in_line(self, event: Event, rest: list[Subscriber] | None) -> None:
        """The slow path, one append at a time. ``rest`` is None for an event not yet
        stamped, else the subscribers the stamped event has still to reach."""
        self._queued += 1
        try:
            async with self._lock:  # free at once when the fast path gets here
                if rest is None:
                    self._stamp(event)
                    rest = self._subscribers[:]
                await self._deliver(event, rest)
        finally:
            self._queued -= 1

    def number_from(self, seq: int) -> None:
        """Number the next event after ``seq`` (if it is ahead): events numbered
        elsewhere, before this store (a durable run's, by the process that ran it
        before), come first in the one stream. The history is not told of them."""
        self._seq = max(self._seq, seq)

    async def ingest(self, event: Event) -> Event:
        """Record an event numbered elsewhere (a durable run's, read back from its
        database): it keeps its ``seq``, ``event_id`` and ``timestamp``. The next seq
        must be ``last_seq + 1``: the history stays gapless."""
        if event.seq != self._seq + 1:
            raise ValueError(f"event seq {event.seq} does not follow {self._seq}")
        if self._closed:
            raise RuntimeError("the event store is closed")
        async with self._lock:
            self._seq = event.seq
            self._history.append(event)
            await self._deliver(event, self._subscribers[:])
        return event

    def _stamp(self, event: Event) -> None:
        seq = self._seq = self._seq + 1
        # Events are frozen for everyone else; the store sets its three fields once,
        # before any reader has seen the event. A copy would cost more than the event.
        fields = event.__dict__
        fields["seq"] = seq
        fields["event_id"] = f"{self._id_prefix}{seq}"
        fields["timestamp"] = time.time()
        self._history.append(event)

    async def _deliver(self, event: Event, subscribers: list[Subscriber]) -> None:
        # Shielded: a run cancelled while a blocking reader is slow must still hand this
        # already-numbered event to every reader, or a reader that "never loses an
        # event" would.
        with anyio.CancelScope(shield=True):
            for sub in subscribers:
                while not sub._offer(event):
                    await sub._wait_for_space()

    def subscribe(
        self,
        name: str,
        queue_size: int = 1000,
        drop_on_full: bool = False,
        since: int | None = None,
    ) -> Subscriber:
        """Register a reader. With ``since``, the retained events after that seq are put
        in its buffer first, so it misses nothing between a replay and live events."""
        sub = Subscriber(name, queue_size, drop_on_full)
        if since is not None:
            sub._buffer.extend(self.replay(since))
        if self._closed:
            sub._ended = True
        self._subscribers.append(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        """Stop delivering to ``sub``; its stream ends. Safe to call twice."""
        if sub.closed:
            return
        sub.closed = True
        sub._buffer.clear()
        try:
            self._subscribers.remove(sub)
        except ValueError:
            pass
        sub._wake()

    async def stream(self, sub: Subscriber) -> AsyncGenerator[AgentEvent | StreamGap, None]:
        """Yield the subscriber's events in seq order (and ``StreamGap`` markers for a
        drop-on-full reader) until it is unsubscribed or the store closes.

        Leaving the loop early, or the reading task failing, unsubscribes it.
        """
        async with aclosing(self.stream_batches(sub)) as batches:
            async for batch in batches:
                for item in batch:
                    yield item

    async def stream_batches(
        self, sub: Subscriber, max_items: int = 1024
    ) -> AsyncGenerator[list[AgentEvent | StreamGap], None]:
        """Like ``stream``, but each step yields everything buffered (up to
        ``max_items``) as one list, for readers that redraw once per batch (the TUI)."""
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()

        def reader_ended(reader: asyncio.Task[object]) -> None:
            if not sub.closed:
                failed = not reader.cancelled() and reader.exception() is not None
                (log.warning if failed else log.debug)(
                    "subscriber %r: its reading task ended; removed", sub.name
                )
                self.unsubscribe(sub)

        if task is not None:
            task.add_done_callback(reader_ended)
        buffer = sub._buffer
        try:
            while not sub.closed:
                if buffer:
                    if len(buffer) <= max_items:  # the usual case: take it all at once
                        batch = list(buffer)
                        buffer.clear()
                    else:
                        batch = [buffer.popleft() for _ in range(max_items)]
                    putter = sub._putter
                    if putter is not None and not putter.done():
                        putter.set_result(None)
                    if not buffer and sub._gap_from is not None:
                        batch.append(sub._take_gap())
                    yield batch  # type: ignore[misc]
                elif sub._gap_from is not None:
                    yield [sub._take_gap()]
                elif sub._ended:
                    return
                else:
                    sub._getter = loop.create_future()
                    await sub._getter
        finally:
            if task is not None:
                task.remove_done_callback(reader_ended)
            self.unsubscribe(sub)

    def replay(self, from_seq: int = 0, to_seq: int | None = None) -> list[Event]:
        """The retained events with ``from_seq < seq <= to_seq`` (all after ``from_seq``
        when ``to_seq`` is None). Events older than ``oldest_seq`` are gone."""
        history = self._history
        if not history:
            return []
        first = history[0].seq
        start = max(from_seq + 1 - first, 0)
        stop = len(history) if to_seq is None else max(0, min(len(history), to_seq - first + 1))
        if start >= stop:
            return []
        return list(itertools.islice(history, start, stop))

    def close(self) -> None:
        """No more events: every stream ends once its buffer is drained."""
        self._closed = True
        for sub in self._subscribers:
            sub._ended = True
            sub._wake()
