"""Inline mode in a real terminal: harness-tui under tmux, as a user runs it.

What the terminal holds is read with ``tmux capture-pane`` (the visible screen, and with
``-S -`` its history too); whether the app ever took the alternate screen, with
``#{alternate_on}``, asked at every look. Another process cannot be awaited: each wait
polls the pane against a deadline.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(120)


class Pane:
    """harness-tui (scripted model) in a tmux pane of ``height`` lines."""

    def __init__(self, tmux: list[str], project: Path, script: str, *args: str, height: int = 24):
        self.tmux = tmux
        (project / "replies.yaml").write_text(script)
        launch = (
            f"cd {shlex.quote(str(project))} && env -u COLUMNS -u LINES "
            f"{shlex.quote(sys.executable)} -m harness_tui --model scripted:replies.yaml "
            f"{' '.join(args)}; echo the shell goes on; sleep 60"
        )
        size = ["-x", "100", "-y", str(height)]
        subprocess.run(
            [*tmux, "new-session", "-d", "-s", "t", *size, "bash", "-c", launch],
            check=True,
            timeout=10,
        )
        #: ``#{alternate_on}`` at every look at the pane, and whether the program
        #: asked for the mouse (``#{mouse_any_flag}``, ``#{mouse_standard_flag}``).
        self.alternate: list[str] = []
        self.mouse: list[str] = []
        self.wait_for("Type a prompt")

    def _tmux(self, *args: str) -> str:
        done = subprocess.run([*self.tmux, *args], capture_output=True, text=True, timeout=10)
        return done.stdout

    def _look(self) -> None:
        flags = "#{alternate_on} #{mouse_any_flag}#{mouse_standard_flag}"
        alternate, mouse = self._tmux("display", "-p", "-t", "t", flags).split()
        self.alternate.append(alternate)
        self.mouse.append(mouse)

    def screen(self) -> str:
        self._look()
        return self._tmux("capture-pane", "-p", "-t", "t")

    def history(self) -> str:
        """Everything the terminal holds: its scrollback and the screen."""
        self._look()
        return self._tmux("capture-pane", "-p", "-t", "t", "-S", "-")

    def scrolled_off(self) -> str:
        """Only the lines that left the top of the screen."""
        return self._tmux("capture-pane", "-p", "-t", "t", "-S", "-", "-E", "-1")

    def wait_for(self, text: str, *, everywhere: bool = False, within: float = 20) -> str:
        deadline = time.monotonic() + within
        while True:
            shown = self.history() if everywhere else self.screen()
            if text in shown:
                return shown
            assert time.monotonic() < deadline, f"{text!r} never showed:\n{shown}"
            time.sleep(0.05)

    def keys(self, *keys: str) -> None:
        self._tmux("send-keys", "-t", "t", *keys)

    def type(self, text: str) -> None:
        self._tmux("send-keys", "-t", "t", "-l", text)
        self.keys("Enter")


def _long_answer(name: str, lines: int) -> str:
    body = "\\n".join(f"- {name} point {i}" for i in range(lines))
    return f'"## {name}\\n\\n{body}\\n"'


def test_inline_answers_stay_in_the_terminals_history(tmux: list[str], tmp_path: Path) -> None:
    """Two prompts: each answer, Markdown rendered, goes into the pane's history (the
    first far enough to leave the screen) and stays after exit; the alternate screen
    is never entered."""
    script = (
        f"responses:\n  - text: {_long_answer('First answer', 30)}\n"
        '  - text: "Second answer with **bold** and `code`."\n'
    )
    pane = Pane(tmux, tmp_path, script, "--inline", height=20)
    pane.type("first prompt")
    pane.wait_for("First answer point 29", everywhere=True)
    pane.type("second prompt")
    pane.wait_for("Second answer with bold and code.", everywhere=True)
    off = pane.scrolled_off()
    assert "› first prompt" in off and "First answer point 0" in off  # left the screen
    assert "## " not in off  # rendered as Markdown, not its source
    pane.keys("C-c")
    pane.keys("C-c")
    after = pane.wait_for("the shell goes on", everywhere=True)
    for text in ("› first prompt", "First answer point 29", "› second prompt", "Second answer"):
        assert after.count(text) == 1, (text, after)
    assert set(pane.alternate) == {"0"}
    # The mouse stayed the terminal's: its wheel scrolls the history, a drag selects.
    assert set(pane.mouse) == {"00"}


def _slow(words: str) -> str:
    """A reply that streams ``words``, one a time, 0.4 s apart."""
    return (
        "  - steps:\n"
        + "".join(f'      - text: "{word} "\n      - sleep: 0.4\n' for word in words)
        + '      - text: "end of the slow answer"\n'
    )


def test_inline_permission_steering_and_escape(tmux: list[str], tmp_path: Path) -> None:
    """A permission dialog answers inline; a steering message typed while the answer
    streams is delivered; Esc cancels a run."""
    script = (
        "responses:\n"
        '  - text: "Running a command."\n'
        "    tool_calls:\n"
        '      - {name: Bash, input: {command: "touch made.txt"}}\n'
        + _slow("abcdefghij")
        + '  - text: "Steered answer."\n'
        + _slow("klmnopqrst")
    )
    pane = Pane(tmux, tmp_path, script, "--inline", height=30)
    pane.type("make a file")
    pane.wait_for("Allow Bash?")
    pane.keys("1")
    pane.wait_for("✓ Bash", everywhere=True)
    assert (tmp_path / "made.txt").exists()
    pane.wait_for("a b", everywhere=True)  # the slow answer streams
    pane.type("also this")
    pane.wait_for("↳ steer also this", everywhere=True)
    pane.wait_for("Steered answer.", everywhere=True)
    pane.type("another slow one")
    pane.wait_for("› another slow one", everywhere=True)
    pane.wait_for("k l m")  # this run streams now
    pane.keys("Escape")
    shown = pane.wait_for("■ Cancelled", everywhere=True)
    assert "end of the slow answer" not in shown.split("another slow one")[1]
    assert set(pane.alternate) == {"0"}


def test_tui_switches_both_ways_without_losing_the_conversation(
    tmux: list[str], tmp_path: Path
) -> None:
    script = (
        'responses:\n  - text: "Answer one."\n  - text: "Answer two."\n  - text: "Answer three."\n'
    )
    pane = Pane(tmux, tmp_path, script, "--inline", height=30)
    pane.type("prompt one")
    pane.wait_for("Answer one.", everywhere=True)
    pane.type("/tui fullscreen")
    shown = pane.wait_for("Full-screen mode")
    assert pane.alternate[-1] == "1" and pane.mouse[-1] != "00"  # the app's mouse
    assert "› prompt one" in shown and "Answer one." in shown  # the pane shows it
    pane.type("prompt two")
    pane.wait_for("Answer two.")
    pane.type("/tui inline")
    deadline = time.monotonic() + 20
    while pane.screen() and pane.alternate[-1] != "0":
        assert time.monotonic() < deadline, "never left the alternate screen"
        time.sleep(0.05)
    pane.wait_for("Answer two.", everywhere=True)
    assert pane.mouse[-1] == "00"
    pane.type("prompt three")
    everything = pane.wait_for("Answer three.", everywhere=True)
    # Each entry once: what the scrollback held is not written again.
    for text in ("› prompt one", "Answer one.", "› prompt two", "Answer two.", "Answer three."):
        assert everything.count(text) == 1, (text, everything)
    order = [everything.index(t) for t in ("Answer one.", "Answer two.", "Answer three.")]
    assert order == sorted(order)
