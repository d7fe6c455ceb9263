"""B17 durable serve: what ``serve --durable`` costs a turn, and what a second process adds.

Every server is a real ``harness-tui serve`` process, driven through its HTTP API and a
WebSocket as a browser drives it; Postgres is a real server (``tests/durable/postgres``).

- **Per-turn overhead**: a run of 6 model calls (5 answers that each read a file with the
  Read tool, then a final answer), in a fresh session, timed from ``POST /api/query`` to
  ``RUN_COMPLETED`` on the WebSocket, divided by the 6 turns; median of the rounds. The
  model streams each answer as a provider does over the network: 40 chunks, 5 ms apart
  (a 0.2 s answer, shorter than real models' seconds). Ratios against the in-memory
  ``serve`` measured in the same run: targets 1.3 (SQLite), 1.5 (Postgres). The same
  runs with a model that answers at once ("bare") say what durability costs in
  milliseconds (every step a database write, every line of the session stored): no
  target, since the ratio of a zero-length turn says nothing.
- **Throughput**: 12 sessions, each a run of 3 turns whose tool call works for 1 s
  (``sleep``: a test suite or a build), all submitted at once to one process; with
  ``--max-runs 3`` per process, on one Postgres database, one process against two.
  Runs per second, ratio two/one: target 1.7.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from tests.bench import Figure
from tests.durable.postgres import PostgresServer, why_not
from tests.durable.serving import SCRIPT_HEAD, Serve, Watcher

ID = "B17"
TITLE = "durable serve"
TURNS = 6
SESSIONS = 12
MAX_RUNS = 3


def _script(delay: float) -> str:
    answer = " ".join(f"w{i}" for i in range(40))
    replies = []
    for i in range(TURNS - 1):
        replies.append(
            f'  - text: "{answer}"\n    chunk: 4\n    delay: {delay}\n'
            f'    tool_calls:\n      - {{name: Read, input: {{file_path: "notes{i % 3}.txt"}}}}\n'
        )
    replies.append(f'  - text: "{answer}"\n    chunk: 4\n    delay: {delay}\n')
    return SCRIPT_HEAD + "".join(replies)


def _busy_script() -> str:
    tool = '{name: Bash, input: {command: "sleep 1"}}'
    reply = f'  - text: "working"\n    tool_calls:\n      - {tool}\n'
    return SCRIPT_HEAD + reply * 2 + '  - text: "done"\n'


def _project(root: Path) -> Path:
    project = root / "project"
    project.mkdir(parents=True, exist_ok=True)
    for i in range(3):
        (project / f"notes{i}.txt").write_text("a line of notes\n" * 50)
    (project / "fast.yaml").write_text(_script(0.0))
    (project / "paced.yaml").write_text(_script(0.005))
    (project / "busy.yaml").write_text(_busy_script())
    return project


def _per_turn_ms(serve: Serve, rounds: int) -> float:
    times = []
    for index in range(rounds + 1):
        session_id = serve.call("POST", "/api/session", {})["session"]["id"]
        watcher = Watcher(serve, session_id, until="RUN_COMPLETED")
        try:
            started = time.perf_counter()
            serve.call("POST", f"/api/query/{session_id}", {"text": "read the notes"})
            if not watcher.seen.wait(120):
                raise RuntimeError(f"no RUN_COMPLETED from {serve.arguments}")
            elapsed = time.perf_counter() - started
        finally:
            watcher.close()
        completed = [e for e in watcher.events if e.get("type") == "RUN_COMPLETED"]
        assert completed[0]["turns"] == TURNS and not completed[0]["is_error"], completed
        if index:  # the first is a warm-up
            times.append(elapsed / TURNS * 1e3)
        serve.call("DELETE", f"/api/session/{session_id}")
    return statistics.median(times)


def _throughput(serves: list[Serve]) -> float:
    front = serves[0]
    sessions = [front.call("POST", "/api/session", {})["session"]["id"] for _ in range(SESSIONS)]
    watchers = [Watcher(front, s, until="RUN_COMPLETED") for s in sessions]
    try:
        started = time.perf_counter()
        for session_id in sessions:
            front.call("POST", f"/api/query/{session_id}", {"text": "build it"})
        for watcher in watchers:
            if not watcher.seen.wait(300):
                raise RuntimeError("a run did not finish")
        elapsed = time.perf_counter() - started
    finally:
        for watcher in watchers:
            watcher.close()
    return SESSIONS / elapsed


def _measure(root: Path, quick: bool) -> dict[str, Figure]:
    project = _project(root)
    rounds = 2 if quick else 5
    figures: dict[str, Figure] = {}
    results: dict[str, dict[str, float]] = {}
    pg_reason = why_not()
    postgres = None
    if pg_reason is None:
        postgres = PostgresServer(Path(tempfile.mkdtemp(prefix="harness-bench-pg-")) / "c")
        try:
            postgres.start()
        except RuntimeError as exc:
            pg_reason, postgres = str(exc)[:200], None
    try:
        backends: list[tuple[str, dict[str, object]]] = [
            ("memory", {"durable": False}),
            ("sqlite", {}),
        ]
        if postgres is not None:
            backends.append(("postgres", {"database": postgres.url}))
        for name, options in backends:
            results[name] = {}
            for model in ("paced", "fast"):
                home = root / f"{name}-{model}"
                serve = Serve(home, project, model=f"scripted:{model}.yaml", **options)  # type: ignore[arg-type]
                serve.start()
                try:
                    results[name][model] = _per_turn_ms(serve, rounds)
                finally:
                    serve.stop()
        base = results["memory"]
        note = f"per turn: memory {base['paced']:.0f} ms"
        figures["turn_memory_ms"] = Figure(round(base["paced"], 1), "ms", note="in-memory serve")
        for name, target in (("sqlite", 1.3), ("postgres", 1.5)):
            if name not in results:
                figures[f"turn_{name}_ratio"] = Figure(
                    0.0, "x", note=f"not measured: no Postgres ({pg_reason})"
                )
                continue
            mine = results[name]
            figures[f"turn_{name}_ms"] = Figure(round(mine["paced"], 1), "ms")
            figures[f"turn_{name}_ratio"] = Figure(
                round(mine["paced"] / base["paced"], 2),
                "x",
                target,
                "<=",
                note=f"{note}, {name} {mine['paced']:.0f} ms",
            )
            figures[f"bare_turn_{name}_extra_ms"] = Figure(
                round(mine["fast"] - base["fast"], 1),
                "ms",
                note=f"a model that answers at once: memory {base['fast']:.1f} ms, "
                f"{name} {mine['fast']:.1f} ms a turn",
            )
        if postgres is not None:
            rates = []
            for count in (1, 2):
                serves = [
                    Serve(
                        root / f"busy-{count}-{i}",
                        project,
                        model="scripted:busy.yaml",
                        database=f"{postgres.url}",
                        max_runs=MAX_RUNS,
                    ).start()
                    for i in range(count)
                ]
                try:
                    rates.append(_throughput(serves))
                finally:
                    for serve in serves:
                        serve.stop()
            figures["runs_per_s_one"] = Figure(round(rates[0], 2), "runs/s")
            figures["runs_per_s_two"] = Figure(round(rates[1], 2), "runs/s")
            figures["two_process_ratio"] = Figure(
                round(rates[1] / rates[0], 2),
                "x",
                1.7,
                ">=",
                note=f"{SESSIONS} runs of 3 turns (a 1 s tool call each), --max-runs {MAX_RUNS}",
            )
    finally:
        if postgres is not None:
            postgres.stop()
    return figures


def run(quick: bool) -> dict[str, Figure]:
    with tempfile.TemporaryDirectory(prefix="harness-b17-") as scratch:
        return _measure(Path(scratch), quick)
