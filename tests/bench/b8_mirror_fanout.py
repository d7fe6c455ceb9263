"""B8 mirror fan-out: 50 WebSocket clients on loopback (in a process of their own, reading
compressed frames as the page does) watch a 20,000-event run served by ``harness-tui
serve``'s server in the agent's event loop.

Figures: the run's event rate watched by the 50 clients against the same run watched by
none, in the same server (rounds interleaved, medians); and the delivery latency, from
an event's append to its arrival at a client, for the oldest token of each frame, p99
over all clients. The clients find seqs and timestamps by string search rather than
parse the JSON, so that 50 clients' parsing on one core does not pass for delivery time;
how busy their process was is noted all the same.

The targeted run streams like a fast model over the network: 10,000 chunks a second in
reads of 10, several times the fastest real models. The worst case, an agent emitting
one event per event-loop turn as fast as the loop goes, is measured without a target:
mirroring an event costs the loop about the same whatever the agent's speed, so that
ratio only says what mirroring costs next to producing the event.
"""

from __future__ import annotations

import statistics
import time

import anyio

from harness_tui.core.providers.offline.scripted import Text, reply
from tests.bench import Figure
from tests.web_support import paced, run_alone, run_watched, web_server, words

ID = "B8"
TITLE = "mirror fan-out"
CLIENTS = 50
MODEL_RATE = 10_000


async def _rounds(rate: float | None, events: int, rounds: int) -> dict[str, float]:
    alone, watched, p99, p50, cpu, busy = [], [], [], [], [], []
    async with web_server(paced(reply(Text(words(events))), rate=rate)) as srv:
        await run_alone(srv)  # warm-up
        for _ in range(rounds):
            started = time.process_time()
            alone.append(await run_alone(srv))
            cpu_alone = time.process_time() - started
            started = time.process_time()
            rate_watched, report, _ = await run_watched(srv, CLIENTS, deflate=True, light=True)
            cpu_watched = time.process_time() - started
            watched.append(rate_watched)
            assert all(c["contiguous"] and not c["gaps"] for c in report["normal"]), report
            p99.append(report["latency_ms"]["p99"])
            p50.append(report["latency_ms"]["p50"])
            busy.append(report["client_cpu_share"] or 0.0)
            cpu.append((cpu_watched - cpu_alone) / events / CLIENTS * 1e6)
    return {
        "alone": statistics.median(alone),
        "watched": statistics.median(watched),
        "p99": statistics.median(p99),
        "p50": statistics.median(p50),
        "cpu": statistics.median(cpu),
        "busy": statistics.median(busy),
    }


async def _measure(events: int, rounds: int) -> dict[str, Figure]:
    fast = await _rounds(MODEL_RATE, events, rounds)
    worst = await _rounds(None, events, rounds)
    note = f"{CLIENTS} clients, {events:,} events, median of {rounds}"
    return {
        "events_per_s_watched": Figure(
            fast["watched"], "events/s", note=f"model at {MODEL_RATE:,}/s; {note}"
        ),
        "ratio_watched_to_alone": Figure(fast["watched"] / fast["alone"], "x", 0.9, ">="),
        "p99_delivery_ms": Figure(
            fast["p99"],
            "ms",
            note=f"p50 {fast['p50']:.1f} ms; the 50 clients' process was busy "
            f"{fast['busy']:.0%} of the time",
        ),
        "worst_case_events_per_s_alone": Figure(
            worst["alone"], "events/s", note="one event per loop turn, no pauses"
        ),
        "worst_case_ratio": Figure(
            worst["watched"] / worst["alone"], "x", note="no target: see the module docstring"
        ),
        "worst_case_p99_delivery_ms": Figure(worst["p99"], "ms", note=f"p50 {worst['p50']:.1f} ms"),
        "server_cpu_per_event_per_client": Figure(
            worst["cpu"], "us", note="process CPU watched minus alone, worst case"
        ),
    }


def run(quick: bool) -> dict[str, Figure]:
    events, rounds = (5_000, 1) if quick else (20_000, 3)
    return anyio.run(_measure, events, rounds)
