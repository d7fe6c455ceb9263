"""B1 event fan-out: typed ``TOKEN_DELTA`` events through the ``EventStore`` to three
draining subscribers (one blocking, two drop-on-full), against the same fan-out done with
bare ``asyncio.Queue``s of tuples."""

from __future__ import annotations

import asyncio
import statistics
import time

from harness_tui.core.event_store import EventStore
from harness_tui.core.events import TokenDelta
from tests.bench import Figure

ID = "B1"
TITLE = "event fan-out"
QUEUE_SIZE = 1000


async def _store_round(n: int) -> tuple[float, int]:
    store = EventStore(history_limit=QUEUE_SIZE * 10)
    subs = [
        store.subscribe("tui", QUEUE_SIZE, drop_on_full=False),
        store.subscribe("web-1", QUEUE_SIZE, drop_on_full=True),
        store.subscribe("web-2", QUEUE_SIZE, drop_on_full=True),
    ]
    counts = [0, 0, 0]

    async def consume(index: int) -> None:
        count = 0
        async for _ in store.stream(subs[index]):
            count += 1
        counts[index] = count

    consumers = [asyncio.ensure_future(consume(i)) for i in range(3)]
    await asyncio.sleep(0)
    started = time.perf_counter()
    for _ in range(n):
        await store.append(
            TokenDelta(
                session_id="ses_bench", run_id="run_bench", message_id="msg_bench", text="tok "
            )
        )
    store.close()
    await asyncio.gather(*consumers)
    elapsed = time.perf_counter() - started
    assert counts[0] == n, "the blocking subscriber lost events"
    return n / elapsed, sum(sub.dropped for sub in subs)


async def _queue_round(n: int) -> float:
    queues: list[asyncio.Queue[tuple | None]] = [asyncio.Queue(QUEUE_SIZE) for _ in range(3)]
    counts = [0, 0, 0]

    async def consume(index: int) -> None:
        queue, count = queues[index], 0
        while (await queue.get()) is not None:
            count += 1
        counts[index] = count

    consumers = [asyncio.ensure_future(consume(i)) for i in range(3)]
    await asyncio.sleep(0)
    blocking, dropping = queues[0], queues[1:]
    started = time.perf_counter()
    for seq in range(1, n + 1):
        item = ("TOKEN_DELTA", seq, "ses_bench", "run_bench", "msg_bench", "tok ")
        await blocking.put(item)
        for queue in dropping:
            try:
                queue.put_nowait(item)
            except asyncio.QueueFull:
                pass
    for queue in queues:
        await queue.put(None)
    await asyncio.gather(*consumers)
    elapsed = time.perf_counter() - started
    assert counts[0] == n
    return n / elapsed


async def _measure(n: int, rounds: int) -> dict[str, Figure]:
    ours, base, dropped = [], [], 0
    await _store_round(n // 10)  # warm-up, not counted
    await _queue_round(n // 10)
    for _ in range(rounds):  # interleaved, so drift in machine load hits both alike
        rate, lost = await _store_round(n)
        ours.append(rate)
        dropped += lost
        base.append(await _queue_round(n))
    typed, bare = statistics.median(ours), statistics.median(base)
    return {
        "typed_events_per_s": Figure(
            typed, "events/s", 150_000, ">=", f"median of {rounds} rounds of {n:,} events"
        ),
        "baseline_events_per_s": Figure(
            bare, "events/s", note="bare asyncio.Queue of tuples, same fan-out"
        ),
        "ratio_to_baseline": Figure(typed / bare, "x", 0.5, ">="),
        "dropped_by_drop_on_full": Figure(
            dropped, "events", note="summed over rounds; readers keep up"
        ),
    }


def run(quick: bool) -> dict[str, Figure]:
    n, rounds = (30_000, 3) if quick else (200_000, 5)
    return asyncio.run(_measure(n, rounds))
