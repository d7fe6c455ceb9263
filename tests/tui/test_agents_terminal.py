"""``harness-tui agents`` in a real terminal (tmux): the view opens on a TTY; a background
session's question is answered from it and its run goes on; Enter attaches to that
session (Ctrl+] comes back); Enter on a finished session hands the terminal to
``harness-tui --resume`` in its folder and the view comes back when that ends; q quits."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from harness_tui.core.live.control import request
from tests.background.test_background_session import SCRIPT, background_record, eventually
from tests.cli.test_cli import harness
from tests.tui.test_inline import Pane

pytestmark = pytest.mark.timeout(120)


class AgentsPane(Pane):
    """``harness-tui agents ARGS`` in a tmux pane, in ``folder``."""

    def __init__(self, tmux: list[str], folder: Path, *args: str) -> None:
        self.tmux = tmux
        self.alternate, self.mouse = [], []
        launch = (
            f"cd {shlex.quote(str(folder))} && env -u COLUMNS -u LINES "
            f"{shlex.quote(sys.executable)} -m harness_tui agents {' '.join(args)}; "
            "echo the shell goes on; sleep 60"
        )
        size = ["-x", "150", "-y", "24"]
        subprocess.run(
            [*tmux, "new-session", "-d", "-s", "t", *size, "bash", "-c", launch],
            check=True,
            timeout=10,
        )


def test_enter_resumes_a_finished_session_and_comes_back(tmux: list[str], tmp_path: Path) -> None:
    (tmp_path / "replies.yaml").write_text("- text: fixed it\n- text: again\n")
    first = harness("-p", "fix the login bug", "--model", "scripted:replies.yaml", cwd=tmp_path)
    assert first.returncode == 0 and "fixed it" in first.stdout, first.stderr
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    pane = AgentsPane(tmux, elsewhere, "--all")
    shown = pane.wait_for("Finished (1)")
    assert "fix the login bug" in shown and "Agents: 0 open" in shown
    pane.keys("Enter")
    resumed = pane.wait_for("Type a prompt")  # the TUI of that session, in its folder
    assert "fixed it" in resumed
    pane.type("/quit")
    back = pane.wait_for("Back from fix the login bug")
    assert "Finished (1)" in back
    pane.keys("q")
    pane.wait_for("the shell goes on")


def test_y_answers_a_background_session_and_enter_attaches_to_it(
    tmux: list[str], tmp_path: Path
) -> None:
    (tmp_path / "script.yaml").write_text(SCRIPT)
    model = "scripted:script.yaml"
    started = harness("--background", "write the file", "--model", model, cwd=tmp_path)
    assert started.returncode == 0, started.stderr
    try:
        record = eventually(
            lambda: (r := background_record()) and r.state == "waiting" and r, "it asks"
        )
        pane = AgentsPane(tmux, tmp_path)
        shown = pane.wait_for("Needs you (1)")
        assert "write the file" in shown and "background" in shown
        assert "waiting: Bash(echo done > out.txt)" in shown
        pane.keys("y")
        pane.wait_for("Allowed once: Bash(echo done > out.txt) (write the file)")
        eventually(lambda: (r := background_record()) and r.state == "idle", "the run ends")
        assert (tmp_path / "out.txt").read_text() == "done\n"
        pane.wait_for("Idle (1)")
        pane.keys("Enter")  # its TUI, here
        pane.wait_for("wrote out.txt")
        pane.keys("C-]")
        pane.wait_for("Detached from write the file: it goes on")
        assert background_record() is not None
        pane.keys("q")
        pane.wait_for("the shell goes on")
    finally:
        if (found := background_record()) is not None:
            request(found.control, "close")
    eventually(lambda: background_record() is None, "close ends it")
    assert record.session_id
