"""The ``statusLine`` command: a real script reads the session's JSON on stdin and its
first line becomes the status bar's right part; failures, hangs and untrusted folders."""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from pathlib import Path

import pytest

from harness_tui.core.config.settings import load_settings
from harness_tui.core.session.session import Session
from harness_tui.tui.status_line import FAILED_MARK, clean_ansi
from harness_tui.widgets.prompt_input import PromptInput
from harness_tui.widgets.status_bar import StatusBar
from tests.tui.test_tui import tui, type_text, until

SCRIPT = """\
import json, sys
data = json.load(sys.stdin)
with open({seen!r}, "w") as f:
    json.dump(data, f)
print("\\x1b[32m" + data["model"]["display_name"] + "\\x1b[0m " + data["hook_event_name"]
      + "\\x1b]0;title\\x07\\x1b[2J @ " + data["workspace"]["current_dir"])
print("second line, never shown")
"""


def user_settings(status_line: dict) -> Path:
    path = Path(os.environ["HARNESS_CONFIG_DIR"]) / "settings.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"statusLine": status_line}), encoding="utf-8")
    return path


def script(tmp_path: Path) -> tuple[str, Path]:
    seen = tmp_path / "seen.json"
    path = tmp_path / "status.py"
    path.write_text(SCRIPT.format(seen=str(seen)), encoding="utf-8")
    return f"{sys.executable} {path}", seen


def shown(app) -> str:
    custom = app.query_one(StatusBar).custom
    return "" if custom is None else custom.plain


async def test_the_commands_first_line_replaces_the_right_part(tmp_path: Path) -> None:
    command, seen = script(tmp_path)
    user_settings({"type": "command", "command": command, "padding": 1})
    session = Session(model="demo", cwd=tmp_path)
    async with tui(session) as (app, pilot):
        await until(pilot, lambda: "Status" in shown(app))
        assert shown(app) == f" demo Status @ {session.cwd}"  # escapes gone, one line
        custom = app.query_one(StatusBar).custom
        assert custom is not None and custom.spans[0].style.color.number == 2  # green
        bar = str(app.query_one(StatusBar).render())
        assert "demo Status" in bar and "↑" not in bar  # the built-in tokens gave way
        data = json.loads(seen.read_text())
        assert data["session_id"] == session.id
        assert data["cwd"] == data["workspace"]["current_dir"] == str(session.cwd)
        assert data["model"] == {"id": "demo", "display_name": "demo"}
        assert data["transcript_path"].endswith(f"{session.id}.jsonl")
        assert set(data["cost"]) == {"total_cost_usd", "total_duration_ms"}
        assert {"total_input_tokens", "context_window_size", "used_percentage"} <= set(
            data["context_window"]
        )
        assert data["permission_mode"] == "default" and data["version"]


async def test_a_failing_command_shows_a_marker_logs_its_stderr_and_waits(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    user_settings({"type": "command", "command": "echo broken >&2; exit 3"})
    caplog.set_level(logging.WARNING, logger="harness_tui.tui.status_line")
    async with tui(Session(model="demo", cwd=tmp_path)) as (app, pilot):
        runner = app.status_line
        await until(pilot, lambda: runner.runs >= 1)
        assert shown(app) == f"{FAILED_MARK}: exit code 3"
        assert "broken" in caplog.text
        runs = runner.runs
        assert runner._next_at - time.monotonic() > 1.0  # paused after a failure
        for _ in range(20):  # state changes do not run it again meanwhile
            runner.refresh()
            await pilot.pause()
        assert runner.runs == runs


async def test_a_hanging_command_times_out_without_blocking_the_app(tmp_path: Path) -> None:
    user_settings({"type": "command", "command": "sleep 30", "timeout": 2})
    async with tui(Session(model="demo", cwd=tmp_path)) as (app, pilot):
        assert app.status_line.runs == 0
        await type_text(pilot, "hi")  # while the command hangs
        assert app.query_one(PromptInput).text == "hi"
        assert app.status_line.runs == 0
        await until(pilot, lambda: app.status_line.runs >= 1)
        assert shown(app) == f"{FAILED_MARK}: timed out after 2 s"


async def test_an_untrusted_folders_command_runs_only_once_trusted(tmp_path: Path) -> None:
    command, seen = script(tmp_path)
    (tmp_path / ".claude").mkdir()
    (tmp_path / ".claude" / "settings.json").write_text(
        json.dumps({"statusLine": {"type": "command", "command": command}})
    )
    session = Session(model="demo", cwd=tmp_path, trusted=False)
    async with tui(session) as (app, pilot):
        assert app.status_line.config() is None
        await pilot.pause()
        assert not seen.exists() and shown(app) == ""
        await session.resolve_trust(True, remember=False)
        await until(pilot, lambda: "Status" in shown(app))
        assert seen.exists()


def test_ansi_colours_stay_and_other_escapes_go() -> None:
    text = clean_ansi("\x1b[1;31mred\x1b[0m\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\\x1b[H\x07\tend")
    assert text.plain == "redlink end"
    style = text.spans[0].style
    assert style.bold and style.color.number == 1  # bold red


def test_a_bad_status_line_setting_names_its_file_and_field(tmp_path: Path) -> None:
    path = user_settings({"type": "command", "command": ""})
    settings = load_settings(tmp_path, include_project=False)
    assert settings.problems == [
        f'{path}: statusLine: command must be a non-empty string, as in {{"type": "command", '
        '"command": "~/.claude/statusline.sh"}; the setting is ignored'
    ]
    assert settings.value("statusLine") is None
