"""Background tasks never outlive harness-tui, checked on real processes by pid: a
``-p`` run that leaves a task running ends it when the run is over, and a SIGTERM in the
middle of a run ends it too."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.cli.test_cli import harness
from tests.helpers import process_group_members


def script(folder: Path, replies: list[dict[str, object]]) -> str:
    path = folder / "script.json"
    path.write_text(json.dumps({"responses": replies}))
    return f"scripted:{path}"


def background(command: str) -> dict[str, object]:
    call = {"name": "Bash", "input": {"command": command, "run_in_background": True}}
    return {"tool_calls": [call]}


def gone_within(pgid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while process_group_members(pgid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_a_print_run_ends_its_background_tasks(tmp_path: Path) -> None:
    model = script(tmp_path, [background("sleep 300"), {"text": "started"}])
    done = harness(
        "-p", "go", "--model", model, "--mode", "bypassPermissions",
        "--output-format", "stream-json", cwd=tmp_path,
        env={"HARNESS_DATA_DIR": str(tmp_path / "data")},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    events = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    started = next(e for e in events if e["type"] == "TASK_STARTED")
    assert started["command"] == "sleep 300"
    # The output stops with the run; the session's end (just after) ends the task.
    assert gone_within(started["pgid"], 2), "the background task outlived harness-tui"
    output = Path(started["output_path"])
    assert output.parent == tmp_path / "data" / "sessions" / output.parent.parent.name / "tasks"


def test_sigterm_mid_run_ends_background_tasks(tmp_path: Path) -> None:
    foreground = {"tool_calls": [{"name": "Bash", "input": {"command": "sleep 60"}}]}
    model = script(tmp_path, [background("sleep 300"), foreground, {"text": "never"}])
    env = {**os.environ, "HARNESS_DATA_DIR": str(tmp_path / "data"), "HARNESS_DEMO_PACE": "0"}
    process = subprocess.Popen(
        [sys.executable, "-m", "harness_tui", "-p", "go", "--model", model,
         "--mode", "bypassPermissions", "--output-format", "stream-json"],
        cwd=tmp_path, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        pgid = None
        for line in process.stdout:
            event = json.loads(line) if line.startswith("{") else {}
            if event.get("type") == "TASK_STARTED":
                pgid = event["pgid"]
            if event.get("type") == "TOOL_CALL_STARTED" and pgid is not None:
                if event.get("input", {}).get("command") == "sleep 60":
                    break
        assert pgid is not None and process_group_members(pgid) == 1
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert gone_within(pgid, 2), "the background task outlived harness-tui"
