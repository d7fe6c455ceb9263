"""The command line, run as a user runs it: a real process, real stdout and exit codes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from harness_tui import __version__


def harness(
    *args: str, cwd: Path | None = None, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "HARNESS_DEMO_PACE": "0", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "harness_tui", *args],
        cwd=cwd,
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        env=full_env,
    )


def test_version_and_help() -> None:
    result = harness("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"harness-tui {__version__}"
    result = harness("--help")
    assert result.returncode == 0
    for flag in ("-p", "--model", "--mode", "--output-format", "--max-turns"):
        assert flag in result.stdout


def test_print_mode_stream_json_ends_with_run_completed(tmp_path: Path) -> None:
    (tmp_path / "main.py").write_text("print(1)\n")
    result = harness("-p", "hi", "--model", "demo", "--output-format", "stream-json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    events = [json.loads(line) for line in lines]  # every line is one JSON event
    assert events[0]["type"] == "SESSION_STARTED"
    assert events[-1]["type"] == "RUN_COMPLETED" and events[-1]["is_error"] is False
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    kinds = {e["type"] for e in events}
    assert {"TOKEN_DELTA", "THINKING_DELTA", "TOOL_CALL_STARTED", "PLAN_GENERATED"} <= kinds
    assert "Traceback" not in result.stderr


def test_print_mode_text_and_json(tmp_path: Path) -> None:
    text = harness("-p", "hi", cwd=tmp_path)
    assert text.returncode == 0
    assert "What I found" in text.stdout
    assert "ANTHROPIC_API_KEY" in text.stderr  # how to add a key, said plainly
    as_json = harness("-p", "hi", "--output-format", "json", cwd=tmp_path)
    result = json.loads(as_json.stdout)
    assert result["type"] == "RUN_COMPLETED" and "What I found" in result["result"]


def test_prompt_from_stdin(tmp_path: Path) -> None:
    result = harness(
        "-p", "--output-format", "stream-json", cwd=tmp_path, stdin="summarise this folder\n"
    )
    assert result.returncode == 0, result.stderr
    first_prompt = next(
        json.loads(line) for line in result.stdout.splitlines() if '"PROMPT_RECEIVED"' in line
    )
    assert first_prompt["text"] == "summarise this folder\n"


def test_scripted_model_from_a_file(tmp_path: Path) -> None:
    script = tmp_path / "replies.yaml"
    script.write_text(
        "responses:\n"
        "  - text: 'Let me check.'\n"
        "    tool_calls:\n"
        "      - {name: Glob, input: {pattern: '*.yaml'}}\n"
        "  - text: 'There is one YAML file.'\n"
    )
    result = harness(
        "-p", "count yaml", "--model", f"scripted:{script}", "--output-format", "json", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["result"] == "There is one YAML file."


def test_run_error_exits_non_zero(tmp_path: Path) -> None:
    script = tmp_path / "fail.yaml"
    script.write_text("- text: partial\n  error: {message: upstream is down, code: overloaded}\n")
    result = harness("-p", "go", "--model", f"scripted:{script}", cwd=tmp_path)
    assert result.returncode == 1
    assert "upstream is down" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-p", "hi", "--model", "gpt-nonsense"], "unknown model 'gpt-nonsense'"),
        (["-p", "hi", "--model", "scripted:missing.yaml"], "missing.yaml: no such file"),
        (["-p", "hi", "--model", "scripted:bad.yaml"], "bad.yaml: line 2"),
        (["-p", "hi", "--model", "scripted:wrong.yaml"], "responses[0].tool_calls[0].name"),
        (["-p", "hi", "--model", "scripted:."], "is a folder"),
        (["-p", ""], "the prompt is empty"),
        (["-p", "   \n"], "the prompt is empty"),
        (["-p"], "the prompt is empty"),
        (["-p", "hi", "--max-turns", "0"], "must be at least 1"),
        (["-p", "hi", "--mode", "yolo"], "invalid choice: 'yolo'"),
    ],
)
def test_bad_input_is_one_clear_line(tmp_path: Path, args: list[str], message: str) -> None:
    (tmp_path / "bad.yaml").write_text("responses:\n  - text: [unclosed\n")
    (tmp_path / "wrong.yaml").write_text("responses:\n  - tool_calls: [{input: {}}]\n")
    result = harness(*args, cwd=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    error_lines = [line for line in result.stderr.splitlines() if "error" in line]
    assert len(error_lines) == 1


@pytest.mark.parametrize("number", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_ctrl_c_kill_or_hangup_cancels_a_headless_run(tmp_path: Path, number: int) -> None:
    script = tmp_path / "slow.yaml"
    script.write_text("- steps:\n    - text: 'partial words'\n    - sleep: 60\n    - text: never\n")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "harness_tui",
            "-p",
            "go",
            "--model",
            f"scripted:{script}",
            "--output-format",
            "stream-json",
        ],
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    for line in process.stdout:  # wait until the model is mid-stream
        if '"TOKEN_DELTA"' in line:
            break
    process.send_signal(number)
    rest, stderr = process.communicate(timeout=20)
    assert process.returncode == 130, stderr
    events = [json.loads(line) for line in rest.splitlines()]
    assert events[-1]["type"] == "RUN_CANCELLED"
    completed = next(e for e in events if e["type"] == "MESSAGE_COMPLETED")
    assert completed["message"]["interrupted"] is True
    assert "Traceback" not in stderr


def test_a_closed_stdout_cancels_the_run_quietly(tmp_path: Path) -> None:
    script = tmp_path / "slow.yaml"
    # Keeps streaming for minutes, so there is always a write after the reader leaves.
    script.write_text(f"- text: '{'word ' * 5000}'\n  delay: 0.02\n")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "harness_tui",
            "-p",
            "go",
            "--model",
            f"scripted:{script}",
            "--output-format",
            "stream-json",
        ],
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None
    process.stdout.readline()
    process.stdout.close()  # the reader goes away, like `| head -1`
    _, stderr = process.communicate(timeout=20)
    assert process.returncode == 141
    assert b"Traceback" not in stderr and b"internal error" not in stderr
