"""Start a background session: a detached holder (``holder``) running ``harness-tui``
with the given arguments, and wait until the session it opens is in the live registry.

The child finds two things in its environment (and removes them from it, so nothing it
runs inherits them): ``HARNESS_BACKGROUND_SOCKET``, its holder's socket (its live record
names it, so the agent view and ``harness-tui attach`` can attach to it), and
``HARNESS_BACKGROUND_PROMPT``, a prompt to send as it opens.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path

from harness_tui.background import PROMPT_ENV, SOCKET_ENV
from harness_tui.core.errors import HarnessError
from harness_tui.core.live.control import runtime_dir
from harness_tui.core.live.registry import LiveRecord, live_sessions
from harness_tui.core.processes.tree import DETACHED_ENV, MARKER_ENV

#: How long a new background session may take to open (the TUI's import, the model).
START_TIMEOUT_S = 30.0


def start(arguments: list[str], cwd: Path, prompt: str = "") -> LiveRecord:
    """Start ``harness-tui ARGUMENTS`` in the background in ``cwd``, sending ``prompt``
    first; returns its live record once it is there. Raises ``HarnessError`` (with the
    end of its log) when it ends or does not open in time."""
    folder = runtime_dir()
    token = secrets.token_hex(4)
    path, log_path = folder / f"bg-{token}.sock", folder / f"bg-{token}.log"
    env = dict(os.environ)
    env.pop(MARKER_ENV, None)  # not one of a tool call's processes (when run from Bash)
    env[DETACHED_ENV] = "1"  # nor ended with the program that started it
    env[SOCKET_ENV] = str(path)
    env.pop(PROMPT_ENV, None)
    if prompt:
        env[PROMPT_ENV] = prompt
    if env.get("TERM", "dumb") in ("", "dumb"):
        env["TERM"] = "xterm-256color"
    size = shutil.get_terminal_size((120, 40))
    command = [
        sys.executable,
        "-m",
        "harness_tui.background.holder",
        "--socket",
        str(path),
        "--rows",
        str(size.lines),
        "--columns",
        str(size.columns),
        "--log",
        str(log_path),
        "--",
        sys.executable,
        "-m",
        "harness_tui",
        *arguments,
    ]
    with open(log_path, "wb") as log:
        holder = subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # not in this terminal's session: its hangup is not ours
        )
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        record = next((r for r in live_sessions() if r.attach == str(path)), None)
        if record is not None:
            return record
        if holder.poll() is not None:
            raise HarnessError(
                f"the background session ended as it started (exit {holder.returncode})"
                + _log_tail(log_path),
                f"its log: {log_path}",
            )
        time.sleep(0.05)  # another process: nothing here to await
    holder.terminate()  # (passed on to the session's process)
    raise HarnessError(
        f"the background session did not open within {START_TIMEOUT_S:g} s, so it was "
        "stopped" + _log_tail(log_path),
        f"its log: {log_path}",
    )


def _log_tail(path: Path) -> str:
    try:
        text = path.read_text(errors="replace").strip()
    except OSError:
        return ""
    return f": {text.splitlines()[-1][:300]}" if text else ""


def find_background(wanted: str) -> LiveRecord:
    """The background session whose id starts with ``wanted`` or whose name is it (the
    only one, when ``wanted`` is empty). Raises ``HarnessError`` saying what to do."""
    records = live_sessions()
    if not wanted:
        held = [r for r in records if r.attach]
        if len(held) == 1:
            return held[0]
        if not held:
            raise HarnessError(
                "no background session is running",
                "start one with `harness-tui --background [PROMPT]`",
            )
        raise HarnessError(
            f"{len(held)} background sessions are running; name one",
            "`harness-tui agents` lists them",
        )
    matches = [r for r in records if r.session_id.startswith(wanted) or r.name == wanted]
    if len(matches) > 1:
        raise HarnessError(f"{wanted!r} names {len(matches)} sessions", "give more of the id")
    if not matches:
        raise HarnessError(
            f"no open session {wanted!r}",
            f"a saved one opens with `harness-tui --resume {wanted}`; "
            "`harness-tui agents` lists the open ones",
        )
    record = matches[0]
    if not record.attach:
        raise HarnessError(
            f"{record.session_id} runs in {record.front_end} (pid {record.pid}), not in "
            "the background: only background sessions can be attached",
            "answer its questions or stop it from `harness-tui agents`",
        )
    return record
