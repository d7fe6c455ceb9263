"""Regenerate ``docs/screenshot-inline.svg``: ``harness-tui --inline`` in a real terminal
(tmux) after one prompt on the offline demo model, in a small sample project. The pane,
with its colours, is drawn as SVG by Rich (run from the repository root:
``python docs/make_inline_screenshot.py``; needs tmux)."""

from __future__ import annotations

import io
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.text import Text

sys.path.insert(0, str(Path(__file__).parent))
from make_screenshot import sample_project

OUT = Path(__file__).with_name("screenshot-inline.svg")
WIDTH, HEIGHT = 110, 48


def main(project: Path) -> None:
    tmux = [shutil.which("tmux") or "tmux", "-S", str(project / ".tmux"), "-f", "/dev/null"]
    program = shlex.quote(str(Path(sys.executable).with_name("harness-tui")))
    # What the user typed, then the program: the shell's lines stay above it.
    launch = (
        f"cd {shlex.quote(str(project))} && PS1='~/proj$ ' && "
        f"echo '~/proj$ git log --oneline | head -1' && git log --oneline | head -1; "
        f"echo '~/proj$ harness-tui --inline' && {program} --inline; sleep 30"
    )
    env = {**os.environ, "HARNESS_DEMO_PACE": "0"}
    size = ["-x", str(WIDTH), "-y", str(HEIGHT)]
    subprocess.run([*tmux, "new-session", "-d", "-s", "s", *size, "bash", "-c", launch], env=env)
    try:
        _wait(tmux, "Type a prompt")
        subprocess.run([*tmux, "send-keys", "-t", "s", "-l", "What is in this project?"])
        subprocess.run([*tmux, "send-keys", "-t", "s", "Enter"])
        _wait(tmux, "<provider>/<model>.")
        time.sleep(0.5)  # the last frame
        shown = subprocess.run(
            [*tmux, "capture-pane", "-p", "-e", "-t", "s"], capture_output=True, text=True
        ).stdout
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True)
    console = Console(record=True, width=WIDTH, file=io.StringIO(), color_system="truecolor")
    console.print(Text.from_ansi(shown.rstrip("\n")), crop=True)
    console.save_svg(str(OUT), title="harness-tui --inline")
    print(f"wrote {OUT}", file=sys.stderr)


def _wait(tmux: list[str], text: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        shown = subprocess.run(
            [*tmux, "capture-pane", "-p", "-t", "s"], capture_output=True, text=True
        ).stdout
        if text in shown:
            return
        time.sleep(0.1)
    raise SystemExit(f"{text!r} never showed")


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as folder:
        sample_project(Path(folder))
        commit = ["git", "-c", "user.name=dev", "-c", "user.email=dev@example.com", "commit"]
        subprocess.run(["git", "add", "."], cwd=folder, check=True)
        subprocess.run([*commit, "-qm", "first"], cwd=folder, check=True)
        main(Path(folder))
