"""A ``-p`` session seen from another process: its live record says it is running (front
end ``print``), and ``close`` through its control socket ends it as Ctrl+C would (the
run cancelled, its tool's process ended, exit 130)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from harness_tui.core.live.control import request
from harness_tui.core.live.registry import live_sessions
from tests.background.test_background_session import eventually

SCRIPT = """\
- tool_calls: [{name: Bash, input: {command: "sleep 60"}}]
- text: slept
"""


def test_close_ends_a_headless_run_as_ctrl_c_does(tmp_path: Path) -> None:
    (tmp_path / "script.yaml").write_text(SCRIPT)
    model = f"scripted:{tmp_path / 'script.yaml'}"
    args = ["-p", "nap", "--model", model, "--mode", "bypassPermissions"]
    process = subprocess.Popen(
        [sys.executable, "-m", "harness_tui", *args],
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        record = eventually(
            lambda: next(
                (r for r in live_sessions() if r.pid == process.pid and r.state == "running"),
                None,
            ),
            "the -p session's record says it runs",
        )
        assert record.front_end == "print"
        assert record.detail == "nap"
        request(record.control, "close")
        assert process.wait(timeout=30) == 130
    finally:
        process.kill()
        process.communicate()
    assert not any(r.pid == process.pid for r in live_sessions())
