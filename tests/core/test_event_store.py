"""The event store: gapless seq, ordered fan-out, backpressure, gaps, replay, isolation."""

from __future__ import annotations

import asyncio

import anyio
import anyio.lowlevel
import pytest

from harness_tui.core.event_store import EventStore
from harness_tui.core.events import Event, StreamGap, TokenDelta


def delta(text: str = "x", session: str = "s") -> TokenDelta:
    return TokenDelta(session_id=session, message_id="m", text=text)


async def drain(
    store: EventStore, sub, into: list, limit: int | None = None, pause_every: int = 0
) -> None:
    count = 0
    async for item in store.stream(sub):
        into.append(item)
        count += 1
        if pause_every and count % pause_every == 0:
            await anyio.lowlevel.checkpoint()
        if limit is not None and count >= limit:
            return


async def test_seq_is_gapless_and_ordered_under_concurrent_appends() -> None:
    store = EventStore()
    # Tiny blocking buffers force appends to wait, interleaving the producers.
    subs = [store.subscribe(f"reader{i}", queue_size=3) for i in range(3)]
    seen: list[list[Event]] = [[], [], []]
    producers, per_producer = 8, 250
    total = producers * per_producer

    async def produce(p: int) -> None:
        for i in range(per_producer):
            event = await store.append(delta(f"{p}:{i}"))
            assert event.seq > 0
            if i % 7 == 0:
                await anyio.lowlevel.checkpoint()

    async with anyio.create_task_group() as group:
        for index, sub in enumerate(subs):
            group.start_soon(drain, store, sub, seen[index], total, index + 1)
        async with anyio.create_task_group() as makers:
            for p in range(producers):
                makers.start_soon(produce, p)

    assert store.last_seq == total
    for events in seen:
        assert [e.seq for e in events] == list(range(1, total + 1))
    # Each producer's own events keep their order, and every reader saw the same order.
    assert [e.text for e in seen[0]] == [e.text for e in seen[1]] == [e.text for e in seen[2]]
    for p in range(producers):
        mine = [e.text for e in seen[0] if e.text.startswith(f"{p}:")]
        assert mine == [f"{p}:{i}" for i in range(per_producer)]


async def test_blocking_subscriber_never_loses_an_event_and_applies_backpressure() -> None:
    store = EventStore()
    sub = store.subscribe("slow", queue_size=2)
    received: list[Event] = []
    appended = 0

    async def produce() -> None:
        nonlocal appended
        for i in range(50):
            await store.append(delta(str(i)))
            appended += 1

    async with anyio.create_task_group() as group:
        group.start_soon(produce)
        await anyio.lowlevel.checkpoint()
        await anyio.lowlevel.checkpoint()
        # The reader has not read: the producer is stuck behind the full buffer.
        assert appended <= 3
        async for item in store.stream(sub):
            received.append(item)
            if len(received) == 50:
                break
    assert [e.text for e in received] == [str(i) for i in range(50)]
    assert sub.dropped == 0


async def test_drop_on_full_yields_a_gap_that_replay_fills() -> None:
    store = EventStore()
    browser = store.subscribe("browser", queue_size=5, drop_on_full=True)
    for i in range(20):  # nobody reads: 5 buffered, 15 dropped, the agent never waits
        await store.append(delta(str(i)))
    assert browser.dropped == 15

    got: list[Event | StreamGap] = []
    async with anyio.create_task_group() as group:
        group.start_soon(drain, store, browser, got, 8)
        await anyio.lowlevel.checkpoint()
        for i in range(20, 22):
            await store.append(delta(str(i)))

    assert [g.seq for g in got[:5]] == [1, 2, 3, 4, 5]
    gap = got[5]
    assert isinstance(gap, StreamGap) and (gap.from_seq, gap.to_seq) == (6, 20)
    assert [g.seq for g in got[6:]] == [21, 22]

    filled = store.replay(gap.from_seq - 1, gap.to_seq)
    texts = [e.text for e in got[:5]] + [e.text for e in filled] + [e.text for e in got[6:]]
    assert texts == [str(i) for i in range(22)]


async def test_gap_is_reported_even_when_no_event_follows() -> None:
    store = EventStore()
    browser = store.subscribe("browser", queue_size=1, drop_on_full=True)
    for i in range(4):
        await store.append(delta(str(i)))
    store.close()
    got: list = []
    await drain(store, browser, got)
    assert got[0].seq == 1
    assert got[1] == StreamGap(from_seq=2, to_seq=4)
    assert len(got) == 2


async def test_failing_subscriber_does_not_affect_the_others() -> None:
    store = EventStore()
    good = store.subscribe("good", queue_size=4)
    bad = store.subscribe("bad", queue_size=4)  # blocking: if it stayed, it would stall us
    got: list[Event] = []

    async def bad_reader() -> None:
        async for item in store.stream(bad):
            if item.seq == 3:
                raise RuntimeError("subscriber bug")

    failing = asyncio.ensure_future(bad_reader())
    async with anyio.create_task_group() as group:
        group.start_soon(drain, store, good, got, 100)
        for i in range(100):
            await store.append(delta(str(i)))
    with pytest.raises(RuntimeError, match="subscriber bug"):
        await failing
    assert [e.seq for e in got] == list(range(1, 101))
    assert bad not in store.subscribers and bad.closed


async def test_reader_task_that_dies_while_holding_its_stream_is_removed() -> None:
    store = EventStore()
    sub = store.subscribe("held", queue_size=1)
    holder: dict = {}

    async def reader() -> None:
        stream = store.stream(sub)
        holder["stream"] = stream  # keeps the generator alive after the task dies
        await stream.__anext__()
        raise RuntimeError("gone")

    await store.append(delta("a"))
    task = asyncio.ensure_future(reader())
    with pytest.raises(RuntimeError):
        await task
    with anyio.fail_after(2):  # would block forever on the dead reader's full buffer
        for i in range(10):
            await store.append(delta(str(i)))
    assert sub.closed


async def test_history_is_bounded_and_replay_reports_what_it_kept() -> None:
    store = EventStore(history_limit=100)
    for i in range(1000):
        await store.append(delta(str(i)))
    assert len(store.replay(0)) == 100
    assert store.oldest_seq == 901 and store.last_seq == 1000
    assert [e.seq for e in store.replay(990)] == list(range(991, 1001))
    assert [e.seq for e in store.replay(950, 952)] == [951, 952]
    assert store.replay(1000) == []
    assert store.replay(10, 20) == []  # evicted


async def test_subscribe_since_replays_then_continues_live() -> None:
    store = EventStore()
    for i in range(5):
        await store.append(delta(str(i)))
    sub = store.subscribe("late", since=2)
    await store.append(delta("5"))
    store.close()
    got: list = []
    await drain(store, sub, got)
    assert [e.seq for e in got] == [3, 4, 5, 6]


async def test_unsubscribe_ends_the_stream_and_stops_delivery() -> None:
    store = EventStore()
    sub = store.subscribe("a")
    got: list = []
    async with anyio.create_task_group() as group:
        group.start_soon(drain, store, sub, got)
        await store.append(delta("1"))
        await anyio.lowlevel.checkpoint()
        store.unsubscribe(sub)
    await store.append(delta("2"))
    assert [e.text for e in got] == ["1"]


async def test_an_event_is_appended_once() -> None:
    store = EventStore()
    event = await store.append(delta())
    with pytest.raises(ValueError, match="already appended"):
        await store.append(event)
    assert store.last_seq == 1


async def test_cancelled_append_still_delivers_to_blocking_readers() -> None:
    store = EventStore()
    sub = store.subscribe("tui", queue_size=1)
    await store.append(delta("1"))  # the buffer is now full
    scope = anyio.CancelScope()
    steps: list[str] = []

    async def producer() -> None:
        with scope:
            await store.append(delta("2"))
            steps.append("appended")
            await anyio.lowlevel.checkpoint()  # the cancel lands at the next checkpoint
            steps.append("not cancelled")
        steps.append("left the scope")

    got: list = []
    async with anyio.create_task_group() as group:
        group.start_soon(producer)
        await wait_until(lambda: sub._putter is not None)
        scope.cancel()
        await anyio.lowlevel.checkpoint()
        assert steps == []  # numbered already: it waits for the reader despite the cancel
        group.start_soon(drain, store, sub, got, 2)
    assert [e.text for e in got] == ["1", "2"]
    assert steps == ["appended", "left the scope"]


async def wait_until(condition) -> None:
    with anyio.fail_after(2):
        while not condition():
            await anyio.lowlevel.checkpoint()


async def test_stream_batches_hands_over_everything_buffered_at_once() -> None:
    store = EventStore()
    browser = store.subscribe("tui", queue_size=5, drop_on_full=True)
    for i in range(8):
        await store.append(delta(str(i)))
    store.close()
    batches = [batch async for batch in store.stream_batches(browser)]
    assert [[getattr(x, "seq", None) for x in b] for b in batches] == [[1, 2, 3, 4, 5, None]]
    assert batches[0][-1] == StreamGap(from_seq=6, to_seq=8)
