"""Two ``serve --durable`` processes on one real Postgres form one service: a run whose
process is killed finishes on the other; a browser on the survivor sees every event in
order with no gap; a steer sent to the survivor reaches the run.

Each process has a folder of its own ("machine"): the only thing they share is the
database. Postgres is Debian's (``tests/durable/postgres.py``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.durable.postgres import PostgresServer
from tests.durable.serving import (
    SCRIPT_HEAD,
    Serve,
    Watcher,
    end_process,
    lines,
    project_with,
    wait_for,
)

pytestmark = pytest.mark.slow

SCRIPT = (
    SCRIPT_HEAD
    + """\
  - text: "Starting on the first process."
    tool_calls:
      - {name: Bash, input: {command: "echo one >> calls.txt; echo $$ > one.pid; sleep 60"}}
  - text: "Going on."
    tool_calls:
      - {name: Bash, input: {command: "echo two >> calls.txt; sleep 3"}}
  - text: "Done, steered."
"""
)


def test_a_run_of_a_killed_process_finishes_on_the_other(
    tmp_path: Path, database: str, postgres: PostgresServer
) -> None:
    project = project_with(tmp_path, SCRIPT)
    calls = project / "calls.txt"
    first = Serve(tmp_path / "a", project, model="scripted:script.yaml", database=database)
    second = Serve(tmp_path / "b", project, model="scripted:script.yaml", database=database)
    watcher = None
    try:
        first.start()
        assert "Postgres database postgresql://postgres@127.0.0.1" in first.banner[1]
        session_id = first.call("POST", "/api/session", {})["session"]["id"]
        run_id = first.call("POST", f"/api/query/{session_id}", {"text": "work"})["run_id"]
        wait_for(lambda: lines(calls) == ["one"] and (project / "one.pid").exists())
        workflow = f"{session_id}.{run_id}"
        assert first.call("GET", "/api/health")["runs_here"] == [workflow]

        second.start()
        assert second.token == first.token  # one service, one token
        survivor = second.call("GET", "/api/health")
        assert (
            survivor["runs_here"] == []
            and survivor["executor_id"] != first.call("GET", "/api/health")["executor_id"]
        )
        watcher = Watcher(second, session_id)  # a browser on the survivor, from seq 0
        wait_for(lambda: any(e.get("type") == "TOOL_CALL_STARTED" for e in watcher.events))

        first.kill()
        end_process(project / "one.pid")
        # The survivor recovers the run (DBOS's recovery) and starts the second call.
        wait_for(lambda: second.call("GET", "/api/health")["runs_here"] == [workflow])
        wait_for(lambda: lines(calls) == ["one", "two"])
        steered = second.call(
            "POST", f"/api/steer/{session_id}", {"text": "say it was steered", "kind": "steer"}
        )
        assert steered["queued"] is True, steered
        wait_for(lambda: any(e.get("type") == "RUN_COMPLETED" for e in watcher.events))
        events = second.events(session_id)
    finally:
        if watcher is not None:
            watcher.close()
        first.kill()
        second.stop()
        end_process(project / "one.pid")

    seen = [e for e in watcher.events if "seq" in e]
    assert [e["seq"] for e in seen] == list(range(1, len(seen) + 1))  # in order, no gap
    assert [e["seq"] for e in events][: len(seen)] == [e["seq"] for e in seen]
    assert not [e for e in watcher.events if e.get("type") == "STREAM_GAP"]
    kinds = [e["type"] for e in seen]
    assert kinds.count("PROMPT_RECEIVED") == 1 and kinds.count("RUN_COMPLETED") == 1
    finished = [e for e in seen if e["type"] in ("TOOL_CALL_COMPLETED", "TOOL_CALL_FAILED")]
    assert [e["type"] for e in finished] == ["TOOL_CALL_FAILED", "TOOL_CALL_COMPLETED"]
    assert "interrupted" in finished[0]["error"]  # was running on the killed process
    recovered = [e for e in seen if e["type"] == "NOTICE" and "recovered by" in e["message"]]
    assert len(recovered) == 1 and survivor["executor_id"] in recovered[0]["message"]
    # The steer sent to the survivor reached the run: delivered, then answered.
    delivered = [e for e in seen if e["type"] == "STEERING_DELIVERED"]
    assert [e["text"] for e in delivered] == ["say it was steered"]
    queued = [e for e in seen if e["type"] == "STEERING_QUEUED"]
    assert [e["steering_id"] for e in queued] == [steered["steering_id"]]  # the id we got
    completed = next(e for e in seen if e["type"] == "RUN_COMPLETED")
    assert completed["run_id"] == run_id and completed["result"] == "Done, steered."
    assert kinds.index("STEERING_DELIVERED") < len(kinds) - 1
    # Each finished tool call ran once; the interrupted one was not run again.
    assert lines(calls) == ["one", "two"]


ASKING = (
    SCRIPT_HEAD
    + """\
  - text: "May I?"
    tool_calls:
      - {name: Bash, input: {command: "echo allowed >> calls.txt"}}
  - text: "Now the long one."
    tool_calls:
      - {name: Bash, input: {command: "echo long >> calls.txt; echo $$ > long.pid; sleep 60"}}
  - text: "never reached"
"""
)


def test_questions_and_cancels_reach_the_run_through_any_process(
    tmp_path: Path, database: str
) -> None:
    project = project_with(tmp_path, ASKING)
    calls = project / "calls.txt"
    serves = [
        Serve(
            tmp_path / name,
            project,
            model="scripted:script.yaml",
            database=database,
            mode="default",
        )
        for name in ("a", "b")
    ]
    try:
        for serve in serves:
            serve.start()
        session_id = serves[0].call("POST", "/api/session", {})["session"]["id"]
        run_id = serves[0].call("POST", f"/api/query/{session_id}", {"text": "go"})["run_id"]
        workflow = f"{session_id}.{run_id}"
        runner = wait_for(
            lambda: next(
                (s for s in serves if s.call("GET", "/api/health")["runs_here"] == [workflow]),
                None,
            )
        )
        other = serves[1] if runner is serves[0] else serves[0]
        asked = wait_for(
            lambda: [e for e in other.events(session_id) if e["type"] == "PERMISSION_REQUESTED"]
        )
        assert not calls.exists()  # it waits for the answer
        answered = other.call(
            "POST",
            f"/api/permission/{session_id}",
            {"request_id": asked[0]["request_id"], "decision": "allow_once"},
        )
        assert answered == {"request_id": asked[0]["request_id"], "decision": "allow_once"}
        wait_for(lambda: lines(calls) == ["allowed"])
        second = wait_for(
            lambda: [e for e in other.events(session_id) if e["type"] == "PERMISSION_REQUESTED"][1:]
        )
        other.call(
            "POST",
            f"/api/permission/{session_id}",
            {"request_id": second[0]["request_id"], "decision": "allow_once"},
        )
        wait_for(lambda: (project / "long.pid").exists())
        assert other.call("POST", f"/api/cancel/{session_id}")["cancelled"] is True
        ended = wait_for(
            lambda: [e for e in other.events(session_id) if e["type"] == "RUN_CANCELLED"]
        )
        wait_for(lambda: not other.call("GET", "/api/sessions")["sessions"][0]["running"])
        events = other.events(session_id)
    finally:
        for serve in serves:
            serve.stop()
        end_process(project / "long.pid")
    assert [e["run_id"] for e in ended] == [run_id]
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    resolved = [e["decision"] for e in events if e["type"] == "PERMISSION_RESOLVED"]
    assert resolved == ["allow_once", "allow_once"]
    failed = [e for e in events if e["type"] == "TOOL_CALL_FAILED"]
    assert len(failed) == 1 and failed[0]["kind"] == "cancelled"
    assert lines(calls) == ["allowed", "long"]
