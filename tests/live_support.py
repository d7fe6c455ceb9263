"""Sessions of the four front ends as real processes, each brought to a known state, for
the agent view's tests (the terminal view, the page): what "sessions started elsewhere
appear too" means.

- ``tui``: ``harness-tui`` in a pseudo-terminal; a prompt typed into it asks for Bash:
  ``waiting`` (question ``Bash(echo from the tui)``);
- ``print``: ``harness-tui -p`` in bypassPermissions, its Bash sleeping: ``running``;
- ``serve``: ``harness-tui serve``, a session made and sent a prompt through the API,
  answered: ``idle`` (the server's URL and token are given, for the page);
- ``acp``: ``harness-tui acp`` driven by the ACP SDK's client, a session made:
  ``starting``.

All four start at once and share the test's data folder (so their live records are where
the test's ``live_sessions()`` looks); everything is ended on the way out.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import struct
import subprocess
import sys
import termios
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio

from harness_tui.core.live.registry import LiveRecord, live_sessions

#: Expected state of each front end's session.
STATES = {"tui": "waiting", "print": "running", "serve": "idle", "acp": "starting"}
SCRIPTS = {
    "tui": '- tool_calls: [{name: Bash, input: {command: "echo from the tui"}}]\n'
    "- text: the tui is done\n",
    "print": '- tool_calls: [{name: Bash, input: {command: "sleep 120"}}]\n- text: slept\n',
    "serve": "- text: served from the page\n",
    "acp": "- text: an editor's answer\n",
}
URL = re.compile(r"^harness-tui web: (http://127\.0\.0\.1:\d+)/\?token=([\w-]{43})$")
TIMEOUT_S = 60


@dataclass
class FrontEnds:
    project: Path
    #: Front end -> its session's live record, in the state ``STATES`` says.
    records: dict[str, LiveRecord] = field(default_factory=dict)
    serve_url: str = ""
    serve_token: str = ""


async def eventually(check: Callable[[], Any], what: str, timeout: float = TIMEOUT_S) -> Any:
    """Until ``check()`` is truthy: other processes' doing, looked at every 50 ms."""
    with anyio.move_on_after(timeout):
        while not (value := check()):  # noqa: ASYNC110 (files other processes write)
            await anyio.sleep(0.05)
        return value
    raise AssertionError(f"not within {timeout} s: {what}")


def record_of(pid: int, state: str | None = None) -> LiveRecord | None:
    return next(
        (r for r in live_sessions() if r.pid == pid and (state is None or r.state == state)),
        None,
    )


def _env() -> dict[str, str]:
    return {**os.environ, "HARNESS_WARM": "0", "HARNESS_DEMO_PACE": "0", "TERM": "xterm-256color"}


def _harness(*args: str) -> list[str]:
    return [sys.executable, "-m", "harness_tui", *args]


class TerminalProcess:
    """A program in a pseudo-terminal of 40x120 whose output is read and dropped."""

    def __init__(self, argv: list[str], cwd: Path) -> None:
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        self.process = subprocess.Popen(
            argv, cwd=cwd, env=_env(), stdin=slave, stdout=slave, stderr=slave,
            start_new_session=True,
        )  # fmt: skip
        os.close(slave)
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        while True:
            try:
                if not os.read(self.master, 65536):
                    return
            except OSError:
                return

    def type(self, keys: bytes) -> None:
        os.write(self.master, keys)

    def end(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=30)
        os.close(self.master)


def _spawn(argv: list[str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        argv, cwd=cwd, env=_env(), stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def _ended(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.kill()
    process.communicate(timeout=30)


async def _tui(ends: FrontEnds, model: str, stack: AsyncExitStack) -> None:
    terminal = TerminalProcess(_harness("--model", model), ends.project)
    stack.callback(terminal.end)
    pid = terminal.process.pid
    await eventually(lambda: record_of(pid), "the TUI's session opens")
    # Typed until the prompt is taken (the input may not have the focus at once).
    with anyio.fail_after(TIMEOUT_S):
        while record_of(pid, "starting"):
            terminal.type(b"run it\r")
            with anyio.move_on_after(1):
                await eventually(lambda: not record_of(pid, "starting"), "")
    ends.records["tui"] = await eventually(lambda: record_of(pid, "waiting"), "the TUI asks")


async def _print(ends: FrontEnds, model: str, stack: AsyncExitStack) -> None:
    flags = ("--model", model, "--mode", "bypassPermissions")
    process = _spawn(_harness("-p", "sleep a while", *flags), ends.project)
    stack.callback(_ended, process)
    ends.records["print"] = await eventually(
        lambda: record_of(process.pid, "running"), "the -p session runs"
    )


async def _serve(ends: FrontEnds, model: str, stack: AsyncExitStack) -> None:
    import httpx2

    process = _spawn(_harness("serve", "--port", "0", "--model", model), ends.project)
    stack.callback(_ended, process)
    assert process.stdout is not None
    first = await anyio.to_thread.run_sync(process.stdout.readline)
    match = URL.match(first.strip())
    assert match, f"serve printed {first!r}"
    ends.serve_url, ends.serve_token = match.groups()
    headers = {"Authorization": f"Bearer {ends.serve_token}"}
    async with httpx2.AsyncClient(base_url=ends.serve_url, headers=headers) as http:
        made = await http.post("/api/session", json={})
        assert made.status_code == 201, made.text
        session_id = made.json()["session"]["id"]
        sent = await http.post(f"/api/query/{session_id}", json={"text": "hello page"})
        assert sent.status_code == 202, sent.text
    ends.records["serve"] = await eventually(
        lambda: (r := record_of(process.pid, "idle")) and r.reply and r, "the page's run ends"
    )


async def _acp(ends: FrontEnds, conn: Any, process: Any) -> None:
    import acp

    await conn.initialize(protocol_version=acp.PROTOCOL_VERSION)
    await conn.new_session(cwd=str(ends.project), mcp_servers=[])
    ends.records["acp"] = await eventually(
        lambda: record_of(process.pid, "starting"), "the editor's session opens"
    )


@asynccontextmanager
async def four_front_ends(tmp_path: Path) -> AsyncIterator[FrontEnds]:
    """Sessions of the TUI, ``-p``, ``serve`` and ACP, in the states ``STATES`` says."""
    project = tmp_path / "project"
    project.mkdir(exist_ok=True)
    ends = FrontEnds(project)
    models = {}
    for name, text in SCRIPTS.items():
        path = tmp_path / f"{name}.yaml"
        path.write_text(text)
        models[name] = f"scripted:{path}"
    import acp

    from tests.acp.test_acp_agent import Editor

    async with AsyncExitStack() as stack:
        # (entered here: its task group must be left by the task that entered it)
        editor = acp.spawn_agent_process(
            Editor(), *_harness("acp", "--model", models["acp"]), env=_env(),
            cwd=str(project),
        )  # fmt: skip
        conn, process = await stack.enter_async_context(editor)
        with anyio.fail_after(TIMEOUT_S * 2):
            async with anyio.create_task_group() as group:
                group.start_soon(_acp, ends, conn, process)
                for name, start in (("tui", _tui), ("print", _print), ("serve", _serve)):
                    group.start_soon(start, ends, models[name], stack)
        yield ends
