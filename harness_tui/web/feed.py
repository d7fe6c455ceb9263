"""One session's events, for any number of browsers, at no cost to the agent.

Browsers must never slow the agent, so the feed takes from the session's ``EventStore``
only what is free: a *doorbell*, a drop-on-full subscriber with room for one event. The
store rings it without waiting and drops everything else into it at the cost of a
counter, however fast the agent goes. When it rings, the feed wakes the browser
connections (at most once per ring interval while events keep coming: 15 ms, longer
with many browsers; a page paints at 60 frames a second anyway) and each reads the new
events from the store's history behind its own cursor, many events to a WebSocket frame.

Each connection is thus a drop-on-full reader with a bounded lag: when it falls more
than ``window`` events behind (its socket stopped draining), the events it missed are
replaced by one ``StreamGap`` marker and it continues from the recent ones; the page
fetches the missing range from the events endpoint. The events are the store's own,
serialised once (and cleaned of secrets), and readers at the same position share one
frame, compressed once if they asked for compression.

Why not one store subscriber per browser: each costs the agent's ``append`` a buffer
offer per event, 50 browsers about as much as producing the event (see benchmark B8).
"""

from __future__ import annotations

import zlib
from collections import OrderedDict
from collections.abc import AsyncGenerator, Callable
from contextlib import aclosing

import anyio
import anyio.abc

from harness_tui.core.event_store import EventStore
from harness_tui.core.events import Event, StreamGap
from harness_tui.core.session.session import Session

#: Pause between rings while events stream: one frame per browser per ring, and each
#: frame costs the event loop a send whatever its size, so more readers ring less often.
RING_INTERVAL_S = 0.015
RING_INTERVAL_PER_READER_S = 0.001
RING_INTERVAL_MAX_S = 0.1
#: How far (in events) a browser may fall behind before it gets a gap marker instead.
LAG_WINDOW = 5000
#: Most events in one WebSocket frame.
FRAME_EVENTS = 1000
#: Serialised events kept for readers at different positions.
ENCODED_CACHE = 8192
#: Recent frames kept: readers at the same position (the usual case) share one.
FRAME_CACHE = 8


class SessionFeed:
    """Follows one session's store on behalf of every browser reading that session."""

    def __init__(
        self,
        session: Session,
        redact: Callable[[str], str],
        *,
        interval: float = RING_INTERVAL_S,
        window: int = LAG_WINDOW,
    ) -> None:
        self.session_id = session.id
        self.store: EventStore = session.store
        self.redact = redact
        self.interval = interval
        self.window = window
        self.ended = False
        self.stopping = False
        self.readers = 0
        self._changed = anyio.Event()
        self._head = self.store.last_seq
        self._encoded: dict[int, str] = {}
        self._frames: OrderedDict[tuple[int, int], Frame] = OrderedDict()

    async def run(self) -> None:
        """Ring for new events until the session's store closes (or the server stops)."""
        store = self.store
        doorbell = store.subscribe(f"web:{self.session_id}", queue_size=1, drop_on_full=True)
        self._ring()  # for anything appended before the doorbell was there
        try:
            async with aclosing(store.stream(doorbell)) as rings:
                async for _ in rings:
                    self._ring()
                    # Meanwhile the store drops into the full doorbell for free; every
                    # event after this ring is announced by the next one.
                    await anyio.sleep(self.ring_interval)
        except anyio.get_cancelled_exc_class():
            self.stopping = True  # the server stops; the session goes on
            raise
        finally:
            store.unsubscribe(doorbell)
            self.ended = True
            self._ring()

    @property
    def ring_interval(self) -> float:
        scaled = max(self.interval, self.readers * RING_INTERVAL_PER_READER_S)
        return min(scaled, RING_INTERVAL_MAX_S)

    def _ring(self) -> None:
        # Readers woken by this ring send up to the head as it is now, so those at the
        # same position share one frame; later events come with the next ring.
        self._head = self.store.last_seq
        changed, self._changed = self._changed, anyio.Event()
        changed.set()

    async def frames(self, cursor: int, deflate: bool = False) -> AsyncGenerator[str | bytes, None]:
        """The frames for one reader that has seen up to ``cursor``, until the session
        ends: JSON text, or with ``deflate`` that text zlib-compressed (compressed once
        for every reader at the same position). Between rings a reader sends at most
        what the store held when it woke: events appended meanwhile come with the next
        ring, so a busy stream costs each reader one wake-up per ring, not per event."""
        self.readers += 1
        try:
            while True:
                ring, head = self._changed, self._head  # every event after head rings again
                while cursor < head:
                    frame = self.frame_after(cursor, head)
                    cursor = frame.cursor
                    yield frame.deflated() if deflate else frame.text
                if self.ended and cursor >= self._head:
                    return
                await ring.wait()
        finally:
            self.readers -= 1

    def frame_after(self, cursor: int, head: int) -> Frame:
        """The next frame for a reader at ``cursor``, up to ``head``: a JSON array of
        events, led by a gap marker when the reader fell more than ``window`` events
        behind or the history no longer holds what it missed."""
        key = (cursor, head)
        frame = self._frames.get(key)
        if frame is not None:
            return frame
        store = self.store
        start = max(cursor, head - self.window, store.oldest_seq - 1)
        parts = []
        if start > cursor:
            parts.append(StreamGap(from_seq=cursor + 1, to_seq=start).model_dump_json())
        events = store.replay(start, min(head, start + FRAME_EVENTS))
        parts += [self.encode(event) for event in events]
        frame = Frame("[" + ",".join(parts) + "]", events[-1].seq if events else start)
        self._frames[key] = frame
        if len(self._frames) > FRAME_CACHE:
            self._frames.popitem(last=False)
        return frame

    def encode(self, event: Event) -> str:
        """The event as JSON, secrets removed; each event is serialised once."""
        encoded = self._encoded
        text = encoded.get(event.seq)
        if text is None:
            text = encoded[event.seq] = self.redact(event.model_dump_json())
            if len(encoded) > 2 * ENCODED_CACHE:  # keep the newest, in one sweep now and then
                newest = sorted(encoded)[-ENCODED_CACHE:]
                self._encoded = {seq: encoded[seq] for seq in newest}
        return text


class Frame:
    """One WebSocket frame's JSON text, its zlib-compressed form made on first use,
    and the seq of its last event."""

    __slots__ = ("_deflated", "cursor", "text")

    def __init__(self, text: str, cursor: int) -> None:
        self.text = text
        self.cursor = cursor
        self._deflated: bytes | None = None

    def deflated(self) -> bytes:
        if self._deflated is None:
            # Level 1: JSON events compress about 18 times even so, at a third of the cost.
            self._deflated = zlib.compress(self.text.encode(), 1)
        return self._deflated


class FeedRegistry:
    """The feeds of the sessions browsers are reading; each runs in the server's task
    group from the first reader until its session ends."""

    def __init__(
        self,
        group: anyio.abc.TaskGroup,
        redact: Callable[[str], str],
        window: int = LAG_WINDOW,
    ) -> None:
        self._group = group
        #: Cleans secrets out of any text that leaves the server.
        self.redact = redact
        self._window = window
        self._feeds: dict[str, SessionFeed] = {}

    def get(self, session: Session) -> SessionFeed:
        feed = self._feeds.get(session.id)
        if feed is None or (feed.ended and not session.store.closed):
            feed = SessionFeed(session, self.redact, window=self._window)
            self._feeds[session.id] = feed
            self._group.start_soon(self._follow, feed)
        return feed

    async def _follow(self, feed: SessionFeed) -> None:
        try:
            await feed.run()
        finally:
            if self._feeds.get(feed.session_id) is feed:
                del self._feeds[feed.session_id]
