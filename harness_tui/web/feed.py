"""One session's events, for any number of browsers, at no cost to the agent.

Browsers must never slow the agent, so the feed takes from the session's ``EventStore``
only what is free: a *doorbell*, a drop-on-full subscriber with room for one event. The
store rings it without waiting and drops everything else into it at the cost of a
counter, however fast the agent goes. When it rings, the feed wakes the browser
connections (at most once per ``interval`` while events keep coming: a browser paints
at 60 frames a second anyway) and each reads the new events from the store's history
behind its own cursor, many events to a WebSocket frame.

Each connection is thus a drop-on-full reader with a bounded lag: when it falls more
than ``window`` events behind (its socket stopped draining), the events it missed are
replaced by one ``StreamGap`` marker and it continues from the recent ones; the page
fetches the missing range from the events endpoint. The events are the store's own,
serialised once for all readers (and cleaned of secrets) however many read them.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable
from contextlib import aclosing

import anyio
import anyio.abc

from harness_tui.core.event_store import EventStore
from harness_tui.core.events import Event, StreamGap
from harness_tui.core.session import Session

log = logging.getLogger(__name__)

#: Longest pause between an event and the browsers hearing of it, while events stream.
RING_INTERVAL_S = 0.015
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
        self._changed = anyio.Event()
        self._encoded: OrderedDict[int, str] = OrderedDict()
        self._frames: OrderedDict[tuple[int, int], tuple[str, int]] = OrderedDict()

    async def run(self) -> None:
        """Ring for new events until the session's store closes (or the server stops)."""
        store = self.store
        doorbell = store.subscribe(f"web:{self.session_id}", queue_size=1, drop_on_full=True)
        try:
            async with aclosing(store.stream(doorbell)) as rings:
                async for _ in rings:
                    self._ring()
                    # Meanwhile the store drops into the full doorbell for free; every
                    # event after this ring is announced by the next one.
                    await anyio.sleep(self.interval)
        finally:
            store.unsubscribe(doorbell)
            self.ended = True
            self._ring()

    def _ring(self) -> None:
        changed, self._changed = self._changed, anyio.Event()
        changed.set()

    async def wait_beyond(self, seq: int) -> bool:
        """Wait until the store holds events after ``seq``; False if none will come."""
        while self.store.last_seq <= seq:
            if self.ended:
                return False
            await self._changed.wait()
        return True

    def frame_after(self, cursor: int) -> tuple[str, int]:
        """The next WebSocket frame for a reader that has seen up to ``cursor``: a JSON
        array of events (led by a gap marker when the reader fell too far behind or the
        history no longer holds what it missed), and the cursor after it."""
        key = (cursor, self.store.last_seq)
        cached = self._frames.get(key)
        if cached is not None:
            return cached
        store = self.store
        start = max(cursor, store.last_seq - self.window, store.oldest_seq - 1)
        parts = []
        if start > cursor:
            parts.append(StreamGap(from_seq=cursor + 1, to_seq=start).model_dump_json())
        events = store.replay(start, start + FRAME_EVENTS)
        parts += [self.encode(event) for event in events]
        frame = "[" + ",".join(parts) + "]", events[-1].seq if events else start
        self._frames[key] = frame
        if len(self._frames) > FRAME_CACHE:
            self._frames.popitem(last=False)
        return frame

    def encode(self, event: Event) -> str:
        """The event as JSON, secrets removed; each event is serialised once."""
        text = self._encoded.get(event.seq)
        if text is None:
            text = self.redact(event.model_dump_json())
            self._encoded[event.seq] = text
            if len(self._encoded) > ENCODED_CACHE:
                self._encoded.popitem(last=False)
        return text


class FeedRegistry:
    """The feeds of the sessions browsers are reading; each runs in the server's task
    group from the first reader until its session ends."""

    def __init__(self, group: anyio.abc.TaskGroup, redact: Callable[[str], str]) -> None:
        self._group = group
        self._redact = redact
        self._feeds: dict[str, SessionFeed] = {}

    def get(self, session: Session) -> SessionFeed:
        feed = self._feeds.get(session.id)
        if feed is None or (feed.ended and not session.store.closed):
            feed = self._feeds[session.id] = SessionFeed(session, self._redact)
            self._group.start_soon(self._follow, feed)
        return feed

    async def _follow(self, feed: SessionFeed) -> None:
        try:
            await feed.run()
        finally:
            if self._feeds.get(feed.session_id) is feed:
                del self._feeds[feed.session_id]
