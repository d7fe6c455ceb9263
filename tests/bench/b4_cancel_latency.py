"""B4 cancel latency: from ``session.cancel()`` to ``RUN_CANCELLED`` with the process
group of the running ``Bash`` command dead (``sh -c 'sleep 999 & sleep 999 & wait'``:
a shell, a child shell and two grandchildren)."""

from __future__ import annotations

import re
import statistics
import tempfile
import time

import anyio

from harness_tui.core.providers.models import ModelChoice
from harness_tui.core.providers.offline.scripted import ScriptedProvider, ToolCall, reply
from harness_tui.core.session.session import Session
from tests.bench import Figure
from tests.helpers import process_group_alive, process_group_members

ID = "B4"
TITLE = "cancel latency"
COMMAND = "echo pgid=$$; sh -c 'sleep 999 & sleep 999 & wait'"


async def _trial(session: Session) -> float:
    sub = session.store.subscribe("bench", queue_size=10_000)
    await session.submit("run it")
    pgid = None
    async for event in session.store.stream(sub):
        if event.type == "TOOL_CALL_PROGRESS" and "pgid=" in event.output:
            pgid = int(re.search(r"pgid=(\d+)", event.output).group(1))
            break
    session.store.unsubscribe(sub)
    assert pgid is not None
    # Process states are nothing to await: poll (outside the measured span).
    with anyio.fail_after(10):
        while process_group_members(pgid) < 4:  # noqa: ASYNC110
            await anyio.sleep(0.005)
    started = time.perf_counter()
    await session.cancel()  # returns once RUN_CANCELLED is in the log
    while process_group_alive(pgid):  # noqa: ASYNC110 (normally dead already: cancel() waits for it)
        await anyio.sleep(0.0005)
    elapsed = time.perf_counter() - started
    last = session.store.replay(0)[-1]
    assert last.type == "RUN_CANCELLED", last.type
    return elapsed * 1e3


async def _measure(trials: int) -> dict[str, Figure]:
    provider = ScriptedProvider(lambda request: reply(ToolCall("Bash", {"command": COMMAND})))
    with tempfile.TemporaryDirectory() as folder:
        session = Session(
            model=ModelChoice("scripted", "scripted", lambda: provider),
            cwd=folder,
            mode="bypassPermissions",
            trusted=False,
        )
        async with session:
            await _trial(session)  # warm-up: imports, the first shell
            times = sorted([await _trial(session) for _ in range(trials)])
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    return {
        "p50_ms": Figure(statistics.median(times), "ms", note=f"{trials} trials"),
        "p95_ms": Figure(p95, "ms", 100, "<="),
        "max_ms": Figure(times[-1], "ms"),
    }


def run(quick: bool) -> dict[str, Figure]:
    return anyio.run(_measure, 5 if quick else 20)
