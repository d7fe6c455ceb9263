"""B6 long session: with 2,000 messages in the conversation (half with a tool card),
how long it takes to append one more message, and to scroll one page.

The messages go through the real widgets as events (the same path as a live session);
each timing runs until the app has processed the change and drawn the screen.
"""

from __future__ import annotations

import asyncio
import statistics
import time

from harness_tui.core import events as ev
from harness_tui.core.session.session import Session
from harness_tui.tui.app import HarnessApp
from harness_tui.widgets.conversation import Conversation
from tests.bench import Figure

ID = "B6"
TITLE = "long session"

_ANSWER = (
    "Looked at `parser.py`: the tokenizer and the parser share one loop.\n\n"
    "- split `tokenize()` out\n- keep `parse()` small\n\n"
    "```python\ndef tokenize(text):\n    return text.split()\n```\n"
)


def _message(index: int) -> list[ev.Event]:
    common = {"session_id": "ses_bench", "run_id": "run_bench"}
    message_id = f"msg_{index}"
    events: list[ev.Event] = [
        ev.TokenDelta(message_id=message_id, text=word + " ", **common)
        for word in _ANSWER.split(" ")
    ]
    if index % 2:
        call = f"call_{index}"
        events += [
            ev.ToolCallStarted(
                tool_call_id=call,
                tool_name="Bash",
                input={"command": f"pytest -k case_{index}"},
                **common,
            ),
            ev.ToolCallProgress(tool_call_id=call, output="....\n", **common),
            ev.ToolCallCompleted(
                tool_call_id=call,
                tool_name="Bash",
                content="ok",
                display="exit 0",
                duration_ms=120.0,
                **common,
            ),
        ]
    return events


async def _measure(messages: int, repeats: int) -> tuple[list[float], list[float]]:
    app = HarnessApp(Session(model="demo"), frozen_clock=True, connect=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        batch: list[ev.Event] = []
        for index in range(messages):
            batch += _message(index)
            if len(batch) > 2_000:
                await app.apply_events(batch)
                batch = []
        await app.apply_events(batch)
        await app.settle()
        await pilot.pause()
        conversation = app.query_one(Conversation)
        appends, scrolls = [], []
        for repeat in range(repeats):
            await pilot.pause()  # start each timing from a quiet screen
            started = time.perf_counter()
            await app.apply_events(_message(messages + repeat))
            await _painted(app)
            appends.append((time.perf_counter() - started) * 1e3)
        for repeat in range(repeats):
            await pilot.pause()
            started = time.perf_counter()
            if repeat % 2:
                conversation.scroll_page_down(animate=False)
            else:
                conversation.scroll_page_up(animate=False)
            await _painted(app, refreshes=2)
            scrolls.append((time.perf_counter() - started) * 1e3)
    return appends, scrolls


async def _painted(app: HarnessApp, refreshes: int = 1) -> None:
    """Until the screen has been refreshed with the change. After an append the new
    entry is mounted (awaited), so the next refresh draws it. A page scroll is applied
    a moment later: one "after refresh" callback then ran before it (0.7 ms measured),
    so scrolls wait for two."""
    for _ in range(refreshes):
        painted = asyncio.Event()
        app.call_after_refresh(painted.set)
        await painted.wait()


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def run(quick: bool) -> dict[str, Figure]:
    from harness_tui.tui.app import tune_gc

    tune_gc()  # as run_tui() does for the real program
    messages, repeats = (600, 10) if quick else (2_000, 20)
    appends, scrolls = asyncio.run(_measure(messages, repeats))
    return {
        "append_message_p50_ms": Figure(
            statistics.median(appends),
            "ms",
            50,
            "<=",
            f"{messages:,} messages on screen, half with tools",
        ),
        "append_message_p95_ms": Figure(_p95(appends), "ms"),
        "scroll_page_p50_ms": Figure(statistics.median(scrolls), "ms", 50, "<="),
        "scroll_page_p95_ms": Figure(_p95(scrolls), "ms"),
    }
