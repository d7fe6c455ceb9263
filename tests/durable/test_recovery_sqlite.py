"""A durable run on SQLite survives SIGKILL of its server: it resumes on restart from
its last finished step, and no finished tool call runs twice.

Driven as a user would: ``harness-tui serve --durable`` in a subprocess, the HTTP API,
a scripted model that answers by the conversation (``pick: by_answers``) like a real one.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.durable.serving import (
    SCRIPT_HEAD,
    Serve,
    end_process,
    end_process_id,
    lines,
    project_with,
    wait_for,
)

pytestmark = pytest.mark.slow

SCRIPT = (
    SCRIPT_HEAD
    + """\
  - text: "First."
    tool_calls:
      - {name: Bash, input: {command: "echo one >> calls.txt"}}
  - text: "Second."
    tool_calls:
      - {name: Bash, input: {command: "echo two >> calls.txt; echo $$ > two.pid; sleep 60"}}
  - text: "Third."
    tool_calls:
      - {name: Read, input: {file_path: "calls.txt"}}
  - text: "All done."
"""
)


HOOKS = """\
hooks:
  UserPromptSubmit:
    - hooks: [{{type: command, command: "echo prompt >> {log}"}}]
  Stop:
    - hooks: [{{type: command, command: "echo stop >> {log}"}}]
"""


def runs(serve: Serve) -> list[tuple[str, str, str]]:
    """``harness-tui runs --json`` on the serve's machine: (run id, state, prompt)."""
    listed = subprocess.run(
        [sys.executable, "-m", "harness_tui", "runs", "--json"],
        env=serve.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert listed.returncode == 0, listed.stderr
    return [(r["run_id"], r["state"], r["prompt"]) for r in json.loads(listed.stdout)]


def test_a_run_killed_during_a_tool_call_resumes_on_restart_and_each_call_ran_once(
    tmp_path: Path,
) -> None:
    project = project_with(tmp_path, SCRIPT)
    calls = project / "calls.txt"
    home = tmp_path / "machine"
    # Hook commands between steps are steps too: a replay does not run them again.
    (home / "config").mkdir(parents=True)
    (home / "config" / "settings.yaml").write_text(HOOKS.format(log=project / "hooks.txt"))
    serve = Serve(home, project, model="scripted:script.yaml").start()
    try:
        assert "SQLite database sqlite:///" in serve.banner[1]
        session_id = serve.call("POST", "/api/session", {})["session"]["id"]
        run_id = serve.call("POST", f"/api/query/{session_id}", {"text": "do the work"})["run_id"]
        # The second call is in its sleep: the first one has finished long before.
        wait_for(lambda: lines(calls) == ["one", "two"] and (project / "two.pid").exists())
        assert serve.call("GET", "/api/health")["runs_here"] == [f"{session_id}.{run_id}"]
        assert runs(serve) == [(run_id, "running", "do the work")]
        refused = serve.call("POST", f"/api/model/{session_id}", {"model": "demo"})
        assert refused["status"] == 422
        assert "keeps the model it was created with" in refused["error"]["message"]
        serve.kill()
        end_process(project / "two.pid")  # what SIGKILL left: the tool's own process
        assert runs(serve) == [(run_id, "recovering", "do the work")]

        serve = Serve(home, project, model="scripted:script.yaml").start()
        done = wait_for(
            lambda: [e for e in serve.events(session_id) if e["type"] == "RUN_COMPLETED"]
        )
        events = serve.events(session_id)
    finally:
        serve.stop()
        end_process(project / "two.pid")

    assert runs(serve) == [(run_id, "done", "do the work")]
    # Each finished tool call ran exactly once; the interrupted one was not run again.
    assert lines(calls) == ["one", "two"]
    assert lines(project / "hooks.txt") == ["prompt", "stop"]
    assert [e["run_id"] for e in done] == [run_id]
    assert done[0]["is_error"] is False and done[0]["result"] == "All done."
    # One stream, numbered without a gap across the two processes.
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    by_type = [e["type"] for e in events]
    assert by_type.count("PROMPT_RECEIVED") == 1
    finished = [e for e in events if e["type"] in ("TOOL_CALL_COMPLETED", "TOOL_CALL_FAILED")]
    assert [(e["type"], e["tool_name"]) for e in finished] == [
        ("TOOL_CALL_COMPLETED", "Bash"),
        ("TOOL_CALL_FAILED", "Bash"),  # interrupted: reported to the model, not repeated
        ("TOOL_CALL_COMPLETED", "Read"),
    ]
    assert "interrupted" in finished[1]["error"]
    assert any(e["type"] == "NOTICE" and "recovered by local" in e["message"] for e in events)
    # The model was told, and went on: the Read after recovery saw both lines.
    assert "one" in finished[2]["content"] and "two" in finished[2]["content"]

    # The session is a session file like any other: the TUI's --resume opens it.
    (project / "more.yaml").write_text("- text: Resumed and read 4 answers.\n")
    resumed = subprocess.run(
        [
            sys.executable,
            "-m",
            "harness_tui",
            "-p",
            "and now?",
            "--resume",
            session_id,
            "--model",
            "scripted:more.yaml",
            "--output-format",
            "text",
        ],
        cwd=project,
        env=serve.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert "Resumed and read 4 answers." in resumed.stdout


def test_a_prompt_right_after_a_run_ends_waits_for_its_session_to_be_free(
    tmp_path: Path,
) -> None:
    project = project_with(
        tmp_path, SCRIPT_HEAD + '  - text: "first"\n  - text: "second"\n  - text: "third"\n'
    )
    serve = Serve(tmp_path / "machine", project, model="scripted:script.yaml").start()
    try:
        session_id = serve.call("POST", "/api/session", {})["session"]["id"]
        for expected in ("first", "second", "third"):
            run_id = serve.call("POST", f"/api/query/{session_id}", {"text": "again"})["run_id"]
            done = wait_for(
                lambda run_id=run_id: [
                    e
                    for e in serve.events(session_id)
                    if e["type"] == "RUN_COMPLETED" and e["run_id"] == run_id
                ],
                every=0.005,
            )
            assert done[0]["result"] == expected  # the next prompt at once: never a 409
        events = serve.events(session_id)
    finally:
        serve.stop()
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))


def test_a_server_stopped_mid_run_resumes_it_at_its_next_start(tmp_path: Path) -> None:
    """A deploy (SIGTERM) is not a cancel: the run resumes as after a crash, and its
    stream shows no cancel."""
    project = project_with(tmp_path, SCRIPT)
    calls = project / "calls.txt"
    home = tmp_path / "machine"
    serve = Serve(home, project, model="scripted:script.yaml").start()
    try:
        session_id = serve.call("POST", "/api/session", {})["session"]["id"]
        run_id = serve.call("POST", f"/api/query/{session_id}", {"text": "do the work"})["run_id"]
        wait_for(lambda: lines(calls) == ["one", "two"] and (project / "two.pid").exists())
        serve.stop()
        assert serve.process is not None and serve.process.returncode == 0
        end_process(project / "two.pid")
        assert runs(serve) == [(run_id, "recovering", "do the work")]
        serve = Serve(home, project, model="scripted:script.yaml").start()
        wait_for(lambda: [e for e in serve.events(session_id) if e["type"] == "RUN_COMPLETED"])
        events = serve.events(session_id)
    finally:
        serve.stop()
        end_process(project / "two.pid")
    kinds = [e["type"] for e in events]
    assert "RUN_CANCELLED" not in kinds and kinds.count("RUN_COMPLETED") == 1
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert lines(calls) == ["one", "two"]


def test_runs_past_the_limit_wait_in_the_queue(tmp_path: Path) -> None:
    project = project_with(
        tmp_path,
        SCRIPT_HEAD
        + '  - text: "long"\n    tool_calls:\n'
        + '      - {name: Bash, input: {command: "echo $$ >> pids.txt; sleep 60"}}\n'
        + '  - text: "stopped"\n',
    )
    pids = project / "pids.txt"
    serve = Serve(tmp_path / "machine", project, model="scripted:script.yaml", max_runs=1)
    serve.start()
    try:
        first = serve.call("POST", "/api/session", {})["session"]["id"]
        second = serve.call("POST", "/api/session", {})["session"]["id"]
        first_run = serve.call("POST", f"/api/query/{first}", {"text": "one"})["run_id"]
        wait_for(lambda: len(lines(pids)) == 1)
        second_run = serve.call("POST", f"/api/query/{second}", {"text": "two"})["run_id"]
        assert sorted(runs(serve)) == sorted(
            [(first_run, "running", "one"), (second_run, "queued", "two")]
        )
        listed = serve.call("GET", "/api/sessions")["sessions"]
        assert all(s["running"] for s in listed)  # queued counts as busy
        assert len(lines(pids)) == 1  # one run at a time here
        assert serve.call("POST", f"/api/cancel/{first}")["cancelled"] is True
        wait_for(lambda: [e for e in serve.events(first) if e["type"] == "RUN_CANCELLED"])
        # The slot is free: the queued run starts (and waits in its own tool call).
        wait_for(lambda: len(lines(pids)) == 2)
        assert (second_run, "running", "two") in runs(serve)
        assert (first_run, "cancelled", "one") in runs(serve)
    finally:
        serve.stop()
        for pid in lines(pids):
            end_process_id(int(pid))


READ_ONLY = (
    SCRIPT_HEAD
    + """\
  - text: "Looking it up."
    tool_calls:
      - {name: mcp__slow__lookup, input: {name: slow}}
  - text: "Found it."
"""
)


def test_a_read_only_call_cut_off_by_a_crash_runs_again(tmp_path: Path) -> None:
    """An MCP tool marked read-only (``readOnlyHint``) is asked again after recovery,
    where a tool that may change things is reported interrupted."""
    project = project_with(tmp_path, READ_ONLY)
    log = project / "lookups.txt"
    home = tmp_path / "machine"
    (home / "config").mkdir(parents=True)
    server = Path(__file__).with_name("slow_mcp.py")
    (home / "config" / "settings.yaml").write_text(
        f"mcpServers:\n  slow:\n    command: {sys.executable}\n"
        f"    args: [{str(server)!r}, {str(log)!r}]\n"
    )
    serve = Serve(home, project, model="scripted:script.yaml").start()
    try:
        session_id = serve.call("POST", "/api/session", {})["session"]["id"]
        serve.call("POST", f"/api/query/{session_id}", {"text": "look it up"})
        wait_for(lambda: lines(log) == ["lookup slow"])
        serve.kill()
        serve = Serve(home, project, model="scripted:script.yaml").start()
        done = wait_for(
            lambda: [e for e in serve.events(session_id) if e["type"] == "RUN_COMPLETED"]
        )
        events = serve.events(session_id)
    finally:
        serve.stop()
    assert done[0]["result"] == "Found it."
    assert lines(log) == ["lookup slow", "lookup slow"]  # asked again, once
    completed = [e for e in events if e["type"] == "TOOL_CALL_COMPLETED"]
    assert [e["tool_name"] for e in completed] == ["mcp__slow__lookup"]
    assert "found slow" in completed[0]["content"]
    assert not [e for e in events if e["type"] == "TOOL_CALL_FAILED"]
