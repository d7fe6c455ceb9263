"""A background session in real terminals: started from a tmux pane and attached there,
it outlives the terminal (tmux kill-server closes it, hanging up on everything in it),
its permission question waits, an answer from the agent view lets the run finish, and
``close`` ends it with its holder. Plus the command line's refusals."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import pytest

from harness_tui.core.live.control import request
from harness_tui.core.live.registry import LiveRecord, live_sessions

SCRIPT = """\
- tool_calls: [{name: Bash, input: {command: "echo done > out.txt"}}]
- text: wrote out.txt
"""


def eventually(check: Callable[[], Any], what: str, timeout: float = 30) -> Any:
    """Until ``check()`` is truthy: another process's doing, so looked at every 50 ms."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"not within {timeout} s: {what}")


def background_record() -> LiveRecord | None:
    return next((r for r in live_sessions() if r.front_end == "background"), None)


def harness(*args: str) -> str:
    return shlex.join([sys.executable, "-m", "harness_tui", *args])


@pytest.fixture
def project(tmp_path: Path) -> Path:
    folder = tmp_path / "project"
    folder.mkdir()
    (tmp_path / "script.yaml").write_text(SCRIPT)
    return folder


def test_it_outlives_its_terminal_and_its_question_waits_for_an_answer(
    tmux: list[str], project: Path, tmp_path: Path
) -> None:
    start = harness("--background", "write the file", "--model", f"scripted:{tmp_path}/script.yaml")
    pane = f"{start} && {harness('attach')}; sleep 600"
    subprocess.run(
        [*tmux, "new-session", "-d", "-s", "t", "-x", "110", "-y", "32", "-c", str(project), pane],
        check=True,
        env=os.environ,
    )
    try:
        record = eventually(
            lambda: (r := background_record()) and r.state == "waiting" and r,
            "the background session asks its question",
        )
        assert record.question["summary"] == "Bash(echo done > out.txt)"

        def screen() -> str:
            return subprocess.run(
                [*tmux, "capture-pane", "-p", "-t", "t"], capture_output=True, text=True
            ).stdout

        # The terminal attached to it shows its TUI, question and all.
        eventually(lambda: "echo done > out.txt" in screen(), "the attached TUI is drawn")
        subprocess.run([*tmux, "kill-server"], check=True)  # the terminal goes away
        assert record.pid in {r.pid for r in live_sessions()}, "it goes on"
        assert not (project / "out.txt").exists()
        anyio.run(answer_from_the_agent_view, record.session_id)
        eventually(lambda: (r := background_record()) and r.state == "idle", "the run ends")
        assert (project / "out.txt").read_text() == "done\n"
    finally:
        if (found := background_record()) is not None:
            request(found.control, "close")
    eventually(lambda: background_record() is None, "close ends the session")
    eventually(
        lambda: not os.path.exists(record.attach), "the holder goes with it (its socket too)"
    )
    log = record.attach.removesuffix(".sock") + ".log"
    eventually(lambda: not os.path.exists(log), "its log, empty, is removed at a clean end")


async def answer_from_the_agent_view(session_id: str) -> None:
    """``harness-tui agents`` (Pilot): the cursor on the session, ``y``."""
    from tests.tui.test_agents_view import point_at, said, view
    from tests.tui.test_tui import until

    async with view() as (app, pilot):
        await point_at(pilot, app.screen, session_id)
        await pilot.press("y")
        await until(pilot, lambda: any(m.startswith("Allowed once") for m in said(app)))


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness_tui", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--output-format", "json"], "--background prints no result"),
        (["--resume"], "--background needs the session's id with --resume"),
        (["-i", "shot.png", "-p", "look"], "--background takes no -i"),
    ],
)
def test_what_cannot_go_with_background_is_named(
    project: Path, args: list[str], message: str
) -> None:
    result = run_cli("--background", *args, cwd=project)
    assert result.returncode == 2 and message in result.stderr  # bad invocation
    assert background_record() is None


def test_attach_says_what_to_do_when_there_is_nothing_to_attach(project: Path) -> None:
    result = run_cli("attach", cwd=project)
    assert result.returncode == 2
    assert "no background session is running" in result.stderr
    assert "harness-tui --background" in result.stderr
    result = run_cli("attach", "ses_nothere", cwd=project)
    assert "no open session 'ses_nothere'" in result.stderr
    assert "harness-tui --resume ses_nothere" in result.stderr
