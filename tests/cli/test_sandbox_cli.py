"""The sandbox from the command line, as a user meets it: ``harness-tui sandbox`` says
its state, and a ``-p`` run with the sandbox on and no bubblewrap refuses Bash with the
message (the command never runs). The settings come from Claude Code's user file,
unchanged."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness_tui.core.sandbox import bwrap
from tests.cli.test_cli import harness
from tests.sandbox_support import sandbox_scratch


@pytest.fixture
def ws() -> Iterator[Path]:
    with sandbox_scratch("sbx-cli-") as top:
        yield top / "ws"


def claude_settings(sandbox: dict[str, object]) -> None:
    folder = Path(os.environ["CLAUDE_CONFIG_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "settings.json").write_text(json.dumps({"sandbox": sandbox}))


def test_sandbox_command_shows_the_state(ws: Path) -> None:
    claude_settings(
        {
            "enabled": True,
            "network": {"allowedDomains": ["pypi.org"]},
            "excludedCommands": ["docker"],
        }
    )
    shown = harness("sandbox", cwd=ws)
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0].startswith("Sandbox: on (bubblewrap)")
    assert f"  {ws}" in lines and "  pypi.org" in lines and "  docker" in lines
    assert "Unix sockets: blocked" in lines
    data = json.loads(harness("sandbox", "--json", cwd=ws).stdout)
    assert data["state"] == "on" and data["allowed_domains"] == ["pypi.org"]
    assert data["trusted"] is False and "is not trusted" in data["problems"][0]


def test_without_bubblewrap_bash_refuses_and_says_how_to_fix_it(ws: Path) -> None:
    claude_settings({"enabled": True})
    env = {bwrap.BWRAP_ENV: str(ws.parent / "no-bwrap")}
    shown = harness("sandbox", cwd=ws, env=env)
    assert shown.returncode == 1
    assert "cannot start" in shown.stdout and "apt-get install bubblewrap" in shown.stdout

    script = ws.parent / "script.json"
    calls = [{"name": "Bash", "input": {"command": "touch ran.txt"}}]
    script.write_text(json.dumps({"responses": [{"tool_calls": calls}, {"text": "ok"}]}))
    done = harness(
        "-p", "go", "--model", f"scripted:{script}", "--mode", "bypassPermissions",
        "--output-format", "stream-json", cwd=ws, env=env,
    )  # fmt: skip
    events = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    failed = [e for e in events if e.get("type") == "TOOL_CALL_FAILED"]
    assert failed, done.stdout + done.stderr
    assert "cannot start, so the command was not run" in failed[0]["error"]
    assert "apt-get install bubblewrap" in failed[0]["error"]
    assert not (ws / "ran.txt").exists()
