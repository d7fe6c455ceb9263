"""B2 stream absorption: how fast the TUI takes in a model's stream, and how quickly Esc
stops a run while the screen is busy.

A headless app (120x40) runs a real session whose scripted model streams realistic
Markdown (paragraphs, lists, code fences) one word per delta with no pauses. The blocking
TUI subscriber sets the pace: tokens/s is measured from submit until the whole answer is
on screen. Then, 20 times: a stream that never ends, Esc once the screen shows text, and
the time from the key to ``RUN_CANCELLED`` shown by the app.
"""

from __future__ import annotations

import asyncio
import statistics
import time

import anyio

from harness_tui.core.providers.models import ModelChoice
from harness_tui.core.providers.offline.scripted import ScriptedProvider, Text, Wait, reply
from harness_tui.core.session.session import Session
from harness_tui.tui.app import HarnessApp
from harness_tui.widgets.conversation import AssistantEntry, Conversation
from harness_tui.widgets.status_bar import StatusBar
from tests.bench import Figure

ID = "B2"
TITLE = "stream absorption"

_PARAGRAPH = (
    "The parser reads the input once and keeps the tokens in a list, so the second "
    "pass can look ahead without touching the file again. "
)
_BLOCK = (
    f"## Step\n\n{_PARAGRAPH * 3}\n\n"
    "- split the tokenizer out of `parse()`\n- keep the public names\n- add a test\n\n"
    "```python\ndef tokenize(text: str) -> list[str]:\n    return text.split()\n```\n\n"
)


def markdown_of(words: int) -> str:
    block_words = len(_BLOCK.split(" "))
    text = _BLOCK * (words // block_words + 1)
    return " ".join(text.split(" ")[:words])


def _session(text: str, endless: bool = False) -> Session:
    steps = [Text(text)]
    if endless:
        steps.append(Wait(anyio.Event()))
    provider = ScriptedProvider([reply(*steps)])
    return Session(model=ModelChoice("bench", "scripted", lambda: provider), tools=[])


async def _absorb(words: int) -> float:
    text = markdown_of(words)
    session = _session(text)
    app = HarnessApp(session, frozen_clock=True)
    async with app.run_test(size=(120, 40)) as pilot:
        while not session.is_open:
            await pilot.pause()
        conversation = app.query_one(Conversation)
        started = time.perf_counter()
        await session.submit("go")
        while not (
            app.query_one(StatusBar).state == "idle"
            and conversation.query(AssistantEntry)
            and conversation.query(AssistantEntry).last().text == text
        ):
            await pilot.pause()
        await app.settle()
        await pilot.pause()  # the frame with the final text
        return words / (time.perf_counter() - started)


def _set_when_idle(event: asyncio.Event):
    def watcher(state: str) -> None:
        if state == "idle":
            event.set()

    return watcher


async def _esc_latency(trials: int) -> list[float]:
    latencies = []
    for _ in range(trials):
        session = _session(markdown_of(50_000), endless=True)
        app = HarnessApp(session, frozen_clock=True)
        async with app.run_test(size=(120, 40)) as pilot:
            while not session.is_open:
                await pilot.pause()
            await session.submit("go")
            conversation = app.query_one(Conversation)
            while not (
                conversation.query(AssistantEntry)
                and len(conversation.query(AssistantEntry).last().text) > 2_000
            ):
                await pilot.pause()
            # The key goes in like a keypress from the terminal; Pilot.press would also
            # wait for the screen to be idle, which it is not while streaming.
            status = app.query_one(StatusBar)
            shown = asyncio.Event()
            status.watch(status, "state", _set_when_idle(shown), init=False)
            started = time.perf_counter()
            app.simulate_key("escape")
            await shown.wait()
            latencies.append((time.perf_counter() - started) * 1e3)
            assert not session.running
    return latencies


def run(quick: bool) -> dict[str, Figure]:
    from harness_tui.tui.app import tune_gc

    tune_gc()  # as run_tui() does for the real program
    words, trials = (10_000, 5) if quick else (50_000, 20)
    rate = asyncio.run(_absorb(words))
    latencies = sorted(asyncio.run(_esc_latency(trials)))
    p95 = latencies[min(len(latencies) - 1, round(0.95 * (len(latencies) - 1)))]
    return {
        "tokens_per_s": Figure(
            rate, "tokens/s", 20_000, ">=", f"{words:,} deltas of Markdown until all is on screen"
        ),
        "esc_to_cancelled_p95_ms": Figure(
            p95, "ms", 100, "<=", f"{trials} trials, Esc while streaming"
        ),
        "esc_to_cancelled_p50_ms": Figure(statistics.median(latencies), "ms"),
    }
