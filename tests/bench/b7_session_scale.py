"""B7 session scale: a 100,000-event session written through a real session (scripted
model streaming word by word, a tool call each turn), then resumed in a fresh process:
the time to resume (load the file, rebuild the session, open it) and the peak RSS of
that process over a bare start of the same kind. Also the agent's event throughput with
the session file on against off, in alternating rounds."""

from __future__ import annotations

import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import anyio

from harness_tui.core.providers.models import ModelChoice
from harness_tui.core.providers.offline.scripted import ScriptedProvider, Text, ToolCall, reply
from harness_tui.core.session.session import Session
from tests.bench import Figure
from tests.helpers import EchoTool

ID = "B7"
TITLE = "session scale"
WORDS_PER_TURN = 997  # + MESSAGE_COMPLETED, TOOL_CALL_STARTED, TOOL_CALL_COMPLETED = 1,000


def _model(turns: int) -> ModelChoice:
    text = "word " * WORDS_PER_TURN
    played = 0

    def script(request: object) -> object:
        nonlocal played
        played += 1
        if played < turns:
            return reply(Text(text), ToolCall("Echo", {"text": "x"}))
        return reply(Text(text))

    provider = ScriptedProvider(script)  # type: ignore[arg-type]
    return ModelChoice("scripted", "scripted", lambda: provider)


async def _write(events: int, persist: bool, folder: Path) -> tuple[float, str, int]:
    """Events per second from the prompt to the end of the run (the file writer is at
    most its buffer behind then), the session id, and how many events it logged."""
    turns = max(1, events // (WORDS_PER_TURN + 3))
    session = Session(
        model=_model(turns),
        tools=[EchoTool()],
        cwd=folder,
        persist=persist,
        max_turns=turns + 1,
        trusted=False,
    )
    started = 0.0
    async with session:
        sub = session.store.subscribe("bench", queue_size=10_000)
        started = time.perf_counter()
        run_id = await session.submit("go")
        async for batch in session.store.stream_batches(sub):
            if any(e.type == "RUN_COMPLETED" and e.run_id == run_id for e in batch):  # type: ignore[union-attr]
                break
        elapsed = time.perf_counter() - started
        count = session.store.last_seq
    return count / elapsed, session.id, count


CHILD = textwrap.dedent(
    """
    import json, resource, sys, time
    import anyio
    from harness_tui.core.session.session import Session

    def peak_mb():
        # VmHWM is this program's own peak; ru_maxrss would count the parent's memory
        # that a forked child started with.
        try:
            with open("/proc/self/status") as status:
                for line in status:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1]) / 1024
        except OSError:
            pass
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    async def main(session_id):
        started = time.perf_counter()
        if session_id:
            session = Session.resume(session_id, model="demo", trusted=False)
        else:
            session = Session(model="demo", trusted=False, persist=False)
        loaded = time.perf_counter()
        async with session:
            opened = time.perf_counter()
        print(json.dumps({
            "load_s": loaded - started,
            "resume_s": opened - started,
            "messages": len(session.messages),
            "maxrss_mb": peak_mb(),
        }))

    anyio.run(main, sys.argv[1] if len(sys.argv) > 1 else "")
    """
)


def _child(env: dict[str, str], folder: Path, *args: str) -> dict[str, float]:
    result = subprocess.run(
        [sys.executable, "-c", CHILD, *args],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"B7 child failed: {result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def run(quick: bool) -> dict[str, Figure]:
    total, rounds, round_events = (100_000, 3, 20_000) if quick else (100_000, 6, 40_000)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        env = {
            **os.environ,
            "HARNESS_DATA_DIR": str(folder / "data"),
            "HARNESS_CONFIG_DIR": str(folder / "config"),
        }
        saved_env = {k: os.environ.get(k) for k in ("HARNESS_DATA_DIR", "HARNESS_CONFIG_DIR")}
        os.environ.update({k: env[k] for k in saved_env})
        try:
            on, off = [], []
            anyio.run(_write, round_events // 10, True, folder)  # warm-up
            for _ in range(rounds):  # alternating, so drift in load hits both alike
                # Each round starts with no garbage left by the one before: otherwise a
                # full collection owed by one round lands in the next (seen as ratios
                # alternating 0.75-0.96 between rounds).
                gc.collect()
                on.append(anyio.run(_write, round_events, True, folder)[0])
                gc.collect()
                off.append(anyio.run(_write, round_events, False, folder)[0])
            rate, session_id, logged = anyio.run(_write, total, True, folder)
            size = (folder / "data" / "sessions" / f"{session_id}.jsonl").stat().st_size
        finally:
            for key, value in saved_env.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
        bare = [_child(env, folder) for _ in range(3)]
        resumed = [_child(env, folder, session_id) for _ in range(3)]
    assert all(r["messages"] > 0 for r in resumed)
    ratios = [a / b for a, b in zip(on, off, strict=True)]
    over = max(r["maxrss_mb"] for r in resumed) - statistics.median(b["maxrss_mb"] for b in bare)
    return {
        "events_logged": Figure(logged, "events", total, ">=", f"file {size / 1e6:.1f} MB"),
        "resume_s": Figure(
            statistics.median(r["resume_s"] for r in resumed),
            "s",
            1.0,
            "<=",
            "median of 3 fresh processes: read, rebuild, open (imports excluded)",
        ),
        "load_s": Figure(
            statistics.median(r["load_s"] for r in resumed), "s", note="of which reading the file"
        ),
        "resumed_rss_over_bare_mb": Figure(
            over, "MB", 150, "<=", "peak RSS of the resumed process minus a bare start's"
        ),
        "throughput_file_on_over_off": Figure(
            statistics.median(ratios),
            "x",
            0.8,
            ">=",
            f"events/s through a session run, median of {rounds} paired rounds of "
            f"{round_events:,} events (range {min(ratios):.2f}-{max(ratios):.2f})",
        ),
        "events_per_s_file_on": Figure(statistics.median(on), "events/s"),
        "events_per_s_file_off": Figure(statistics.median(off), "events/s"),
        "write_100k_events_per_s": Figure(rate, "events/s"),
    }
