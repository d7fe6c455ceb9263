"""B11 memory: a session of 2,000 turns driven through the TUI (headless Pilot), with
the peak RSS of its process and how much the RSS grows per 1,000 messages (and per
1,000 turns) after the first 200 turns.

A real session on a scripted model: each turn is a prompt posted to the app as the
prompt box posts it, an answer in Markdown with a code block (~1.5 KB, streamed in
pieces), a tool call whose output is ~3 KB, and a second Markdown answer. So the event
store, the session file's writer, the message history (and its compaction), the
conversation's widgets and folded records are all in the measurement. A turn holds
four messages (prompt, answer with its call, tool result, answer): "per 1,000 turns" is
four times stricter than "per 1,000 messages".

The session runs in a process of its own (``python -m tests.bench.b11_memory``), so the
peak is the session's. ``--trace A,B`` there prints what tracemalloc saw grow between
turn A and turn B (slower; to find what grows).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.bench import Figure

ID = "B11"
TITLE = "memory"
PEAK_TARGET_MB = 200.0
GROWTH_TARGET_MB = 20.0
WARM_TURNS = 200
SAMPLE_EVERY = 50


# --- the session's content ------------------------------------------------------------


def _answer(turn: int, part: str) -> str:
    """~1.5 KB of Markdown: a heading, a list, a code block, a closing paragraph."""
    body = "\n".join(
        f"    result_{turn}_{i} = parse_{part}(tokens[{i}:{i + 8}], strict={i % 2 == 0})"
        for i in range(12)
    )
    return (
        f"## Turn {turn}: the {part} step\n\n"
        f"Looked at `parser_{turn}.py`: the tokenizer and the parser share one loop, "
        "so an error in one shows up in the other. What I changed:\n\n"
        f"- split `tokenize_{turn}()` out of the loop\n- keep `parse()` small\n"
        "- **test** each half on its own\n\n"
        f"```python\ndef run_{turn}(tokens):\n{body}\n    return result_{turn}_0\n```\n\n"
        f"That leaves {turn % 7 + 2} call sites to update, all in `cli.py`.\n"
    )


def _tool_output(turn: int) -> str:
    """~3 KB, like a test run's output."""
    lines = [
        f"tests/test_case_{turn}_{i}.py::test_example_{i} PASSED  [{i * 2:3d}%] {i * 0.013:.3f}s"
        for i in range(40)
    ]
    return "\n".join(lines) + f"\n==== 40 passed in {turn % 9 + 1}.{turn % 10}s ====\n"


def _session(folder: Path) -> Any:
    from harness_tui.core.messages import ToolResultMessage
    from harness_tui.core.providers.models import ModelChoice
    from harness_tui.core.providers.offline.scripted import (
        ScriptedProvider,
        Text,
        ToolCall,
        reply,
    )
    from harness_tui.core.session.session import Session
    from harness_tui.core.tools.base import Tool, ToolContext, ToolResult

    class RunTests(Tool):
        name = "RunTests"
        description = "runs the tests"
        input_schema = {"type": "object", "properties": {"turn": {"type": "integer"}}}
        read_only = True
        concurrency_safe = True

        async def run(self, input: dict[str, Any], ctx: ToolContext) -> ToolResult:
            output = _tool_output(int(input.get("turn", 0)))
            return ToolResult(content=output, display=output)

    turn = 0

    def script(request: Any) -> Any:
        nonlocal turn
        last = request.messages[-1]
        if not request.tools:  # compaction's summary request: no tools offered
            return reply(Text(f"Summary: {turn} turns about the parser so far.", chunk=0))
        if isinstance(last, ToolResultMessage):
            return reply(Text(_answer(turn, "second"), chunk=48))
        turn += 1
        return reply(Text(_answer(turn, "first"), chunk=48), ToolCall("RunTests", {"turn": turn}))

    provider = ScriptedProvider(script)
    session = Session(
        model=ModelChoice("scripted", "scripted", lambda: provider),
        cwd=folder,
        tools=[RunTests()],
        trusted=False,
    )
    return session, provider


# --- measuring ------------------------------------------------------------------------


def _status_mb(field: str) -> float:
    """VmRSS (now) or VmHWM (peak) of this process, in MB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"/proc/self/status has no {field} line")


def _slope(points: list[tuple[int, float]]) -> float:
    """Least-squares slope of (turn, MB), in MB per 1,000 turns."""
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    sxx = sum((x - mean_x) ** 2 for x, _ in points)
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in points)
    return 1000 * sxy / sxx if sxx else 0.0


async def _drive(turns: int, trace: tuple[int, int] | None) -> dict[str, Any]:
    from harness_tui.core import events as ev
    from harness_tui.tui.app import HarnessApp
    from harness_tui.tui.terminal import collection_times
    from harness_tui.widgets.prompt_input import PromptInput

    folder = Path(tempfile.mkdtemp(prefix="b11-"))
    session, provider = _session(folder)
    done = asyncio.Event()

    class App(HarnessApp):
        async def apply_events(self, events: Any) -> None:
            events = list(events)
            await super().apply_events(events)
            if any(isinstance(e, ev.RunCompleted) for e in events):
                done.set()

    app = App(session, frozen_clock=True)
    samples: list[tuple[int, float]] = []
    snapshot = None
    started = time.perf_counter()
    async with app.run_test(size=(120, 40)) as pilot:
        while not session.is_open:
            await pilot.pause()
        samples.append((0, _status_mb("VmRSS")))
        for turn in range(1, turns + 1):
            done.clear()
            app.post_message(PromptInput.Submitted(f"turn {turn}: fix the parser", False))
            await asyncio.wait_for(done.wait(), 30)
            # The scripted provider keeps every request for tests to inspect; a real
            # provider keeps none.
            provider.requests.clear()
            await asyncio.sleep(0.005)  # the moment after a run (the idle collector's)
            if turn % SAMPLE_EVERY == 0:
                await pilot.pause()
                samples.append((turn, _status_mb("VmRSS")))
            if trace and turn in trace:
                snapshot = _trace_step(turn, trace, snapshot)
        assert app.display_errors == 0, "the TUI failed to show some events"
        messages = len(session.messages)
    return {
        "seconds": time.perf_counter() - started,
        "samples": samples,
        "peak_mb": _status_mb("VmHWM"),
        "session_messages": messages,
        "collections_s": list(collection_times),
    }


def _trace_step(turn: int, trace: tuple[int, int], before: Any) -> Any:
    import tracemalloc

    gc.collect()
    snapshot = tracemalloc.take_snapshot()
    if turn == trace[1] and before is not None:
        stats = snapshot.compare_to(before, "traceback")
        print(f"--- grown between turn {trace[0]} and {trace[1]} ---", file=sys.stderr)
        for stat in stats[:25]:
            print(f"{stat.size_diff / 1e6:+.2f} MB {stat.count_diff:+d} blocks", file=sys.stderr)
            for line in stat.traceback.format()[-8:]:
                print("    " + line, file=sys.stderr)
    return snapshot


def _child_main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.b11_memory")
    parser.add_argument("--turns", type=int, default=2_000)
    parser.add_argument("--trace", help="A,B: print what grew between turn A and B")
    args = parser.parse_args(argv)
    trace = None
    if args.trace:
        first, second = (int(x) for x in args.trace.split(","))
        trace = (first, second)
        import tracemalloc

        tracemalloc.start(4)
    from harness_tui.tui import terminal

    terminal.tune_gc()  # as run_tui() does for the real program
    # The app collects garbage once the user has been idle a moment after a run; this
    # user starts the next turn at once, so "a moment" is the next turn of the loop.
    terminal.IDLE_S = 0.001
    result = asyncio.run(_drive(args.turns, trace))
    print(json.dumps(result))


# --- the benchmark --------------------------------------------------------------------


def run(quick: bool) -> dict[str, Figure]:
    turns = 700 if quick else 2_000
    with tempfile.TemporaryDirectory(prefix="b11-") as tmp:
        env = {
            **os.environ,
            "HARNESS_DATA_DIR": str(Path(tmp) / "data"),
            "HARNESS_CONFIG_DIR": str(Path(tmp) / "config"),
        }
        process = subprocess.run(
            [sys.executable, "-m", "tests.bench.b11_memory", "--turns", str(turns)],
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
    if process.returncode != 0:
        raise RuntimeError(f"B11 child failed: {process.stderr[-3000:]}")
    result = json.loads(process.stdout.strip().splitlines()[-1])
    samples = [(int(t), float(mb)) for t, mb in result["samples"]]
    after = [(t, mb) for t, mb in samples if t >= WARM_TURNS]
    at = dict(samples)
    per_turn = result["session_messages"] / turns
    collections = result["collections_s"]
    two_point = (at[turns] - at[WARM_TURNS]) * 1000 / (turns - WARM_TURNS)
    return {
        "peak_rss_mb": Figure(
            result["peak_mb"],
            "MB",
            PEAK_TARGET_MB,
            "<=",
            f"VmHWM of a process that ran {turns:,} turns through the TUI",
        ),
        "rss_growth_per_1000_messages_mb": Figure(
            _slope(after) / per_turn,
            "MB",
            GROWTH_TARGET_MB,
            "<=",
            f"least-squares slope of VmRSS from turn {WARM_TURNS} to {turns:,} "
            f"(sampled every {SAMPLE_EVERY}), per 1,000 of the session's messages "
            f"({per_turn:g} a turn: prompt, answer with its call, tool result, answer)",
        ),
        "rss_growth_per_1000_turns_mb": Figure(
            _slope(after),
            "MB",
            note=f"the same slope per 1,000 turns; turn {WARM_TURNS} to the last alone: "
            f"{two_point:.1f} MB",
        ),
        "full_collection_ms": Figure(
            1000 * max(collections, default=0.0),
            "ms",
            note=f"the longest of {len(collections)} full collections after a run "
            "(tui.terminal.collect_garbage, at most every 5 s); median "
            f"{1000 * statistics.median(collections or [0.0]):.0f} ms",
        ),
        "rss_at_start_mb": Figure(samples[0][1], "MB", note="session open, nothing sent"),
        f"rss_at_turn_{WARM_TURNS}_mb": Figure(at[WARM_TURNS], "MB"),
        "rss_at_end_mb": Figure(at[turns], "MB"),
        "turns_per_s": Figure(turns / result["seconds"], "turns/s"),
    }


if __name__ == "__main__":
    _child_main(sys.argv[1:])
