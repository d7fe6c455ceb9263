# Over 500 lines as one unit: every way the program ends, shared process fixtures.
"""Every way harness-tui ends, ends the processes it started and itself, within a bound.

Adversarial variants (issue 14): tool commands that leave their process group
(``setsid``, ``setsid -f``, ``nohup … &``, double forks, ``disown``, a daemon's
fork-setsid-fork, a fork loop), or that ignore SIGTERM; ended by a cancel, a timeout, the
session's end, or the program's end (a closed terminal under tmux, SIGHUP, SIGTERM,
SIGINT, a second signal during a slow shutdown, a closed stdout).

Every process a test starts carries ``TAG`` in its environment (tool commands inherit
the harness's), so a survivor is found wherever it went. Process states are polled
against a deadline: nothing can be awaited for another process's end.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from harness_tui.core.processes.group import run_in_group, shell_argv
from harness_tui.core.providers.offline.scripted import ToolCall, reply
from harness_tui.core.tools import BashTool
from tests.helpers import scripted_in, wait_for

TAG = "HARNESS_EXIT_TEST_TAG"
#: The issue's bound: a closed terminal ends harness-tui and its tools within 2 s.
BOUND_S = 2.0
#: A cancel ends the call's processes within the grace (0.5 s) and the KILL's wait.
CANCEL_BOUND_S = 1.5


# --- finding processes --------------------------------------------------------------------


def tagged(tag: str) -> dict[int, str]:
    """Live (non-zombie) processes whose environment holds ``TAG=tag``: pid -> command."""
    needle = f"\0{TAG}={tag}\0".encode()
    found = {}
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            environ = b"\0" + Path(f"/proc/{name}/environ").read_bytes()
            stat = Path(f"/proc/{name}/stat").read_bytes()
            command = Path(f"/proc/{name}/cmdline").read_bytes()
        except OSError:
            continue
        if needle in environ and stat[stat.rindex(b")") + 2 :][:1] not in (b"Z", b"X"):
            found[int(name)] = command.replace(b"\0", b" ").decode(errors="replace").strip()
    return found


def wait_tagged(tag: str, count: int, within: float = 15.0) -> dict[int, str]:
    """Wait until at least ``count`` tagged processes run."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        found = tagged(tag)
        if len(found) >= count:
            return found
        time.sleep(0.01)
    raise AssertionError(f"expected {count} processes, found {tagged(tag)}")


def seconds_until_gone(tag: str, within: float, since: float | None = None) -> float:
    """Seconds (from ``since``, default now) until no tagged process runs; fails with
    the survivors listed after ``within``."""
    since = time.monotonic() if since is None else since
    while survivors := tagged(tag):
        assert time.monotonic() - since <= within, f"still running after {within} s: {survivors}"
        time.sleep(0.01)
    return time.monotonic() - since


@pytest.fixture
def tag(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    value = uuid.uuid4().hex
    monkeypatch.setenv(TAG, value)
    yield value
    for pid in tagged(value):  # a failed test must not leave processes behind
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def record(name: str, seconds: float) -> None:
    """Shown with ``pytest -s``: how long each way of ending took."""
    print(f"\n[exit timing] {name}: {seconds * 1e3:.0f} ms")


# --- the commands -------------------------------------------------------------------------

DAEMON = (
    f'{sys.executable} -c "import os, time\n'
    "if os.fork(): os._exit(0)\n"
    "os.setsid()\n"
    "if os.fork(): os._exit(0)\n"
    'time.sleep(300)"'
)
#: name -> (command, how many processes run once it is under way, shell included).
ESCAPES: dict[str, tuple[str, int]] = {
    "setsid": ("setsid sleep 300", 2),
    "setsid -f": ("setsid -f sleep 300; sleep 300", 3),
    "setsid -w in background": ("setsid -w sleep 300 & sleep 300", 3),
    "nohup &": ("nohup sleep 300 >/dev/null 2>&1 & sleep 300", 3),
    "nohup setsid &": ("nohup setsid sleep 300 >/dev/null 2>&1 & sleep 300", 3),
    "double fork": ("(setsid sh -c 'sleep 300 & exit' &); sleep 300", 3),
    "disown": ("sleep 300 & disown; sleep 300", 3),
    "daemon (fork, setsid, fork)": (f"{DAEMON}; sleep 300", 3),
    "TERM ignored": ("trap '' TERM; sleep 300", 2),
    "setsid and TERM ignored": ("setsid bash -c \"trap '' TERM; sleep 300\" & sleep 300", 3),
    "setsid -f, a group of its own": ("setsid -f bash -c 'sleep 300 & sleep 300'; sleep 300", 5),
    "fork loop ignoring TERM": (
        "setsid bash -c 'trap \"\" TERM; while :; do sleep 300 & sleep 0.02; done' & sleep 300",
        5,
    ),
}


# --- cancel, timeout, a call's end, the session's end (in this process) --------------------


def bash_session(tmp_path: Path, *commands: dict[str, Any]) -> Any:
    script = [reply(ToolCall("Bash", command)) for command in commands] + [reply("done")]
    session, _ = scripted_in(tmp_path, script, tools=[BashTool()], mode="bypassPermissions")
    return session


@pytest.mark.parametrize("name", list(ESCAPES))
async def test_a_cancel_ends_every_process_the_call_started(
    tmp_path: Path, tag: str, name: str
) -> None:
    command, count = ESCAPES[name]
    session = bash_session(tmp_path, {"command": command})
    async with session:
        await session.submit("go")
        await anyio.to_thread.run_sync(wait_tagged, tag, count)
        started = time.monotonic()
        await session.cancel()
        gone = await anyio.to_thread.run_sync(seconds_until_gone, tag, CANCEL_BOUND_S, started)
    record(f"cancel: {name}", gone)


@pytest.mark.parametrize("name", ["setsid -f", "daemon (fork, setsid, fork)", "TERM ignored"])
async def test_a_timeout_ends_every_process_the_call_started(
    tmp_path: Path, tag: str, name: str
) -> None:
    command, _ = ESCAPES[name]
    session = bash_session(tmp_path, {"command": command, "timeout": 400})
    async with session:
        await session.submit("go")
        failed = await wait_for(session.store, lambda e: e.type == "TOOL_CALL_FAILED")
        started = time.monotonic()
        assert failed.kind == "timeout"  # type: ignore[attr-defined]
        gone = await anyio.to_thread.run_sync(seconds_until_gone, tag, CANCEL_BOUND_S, started)
    record(f"timeout: {name}", gone)


#: Commands that end at once and leave a process running outside their group.
LEFT_BEHIND = {
    "setsid -f": "setsid -f sleep 300",
    "exec setsid (the shell's group leader forks)": "exec setsid sleep 300",
    # The pause lets setsid run before the shell ends (else the group's end may catch it).
    "nohup setsid &": "nohup setsid sleep 300 >/dev/null 2>&1 & sleep 0.2",
    "daemon": DAEMON,
    "setsid -f, TERM ignored": "setsid -f bash -c \"trap '' TERM; sleep 300\"",
}


@pytest.mark.parametrize("name", list(LEFT_BEHIND))
async def test_the_sessions_end_ends_what_finished_calls_left_running(
    tmp_path: Path, tag: str, name: str
) -> None:
    session = bash_session(tmp_path, {"command": LEFT_BEHIND[name]})
    async with session:
        await session.submit("go")
        await wait_for(session.store, lambda e: e.type == "RUN_COMPLETED")
        # Left running for the session, as `server &` is...
        await anyio.to_thread.run_sync(wait_tagged, tag, 1)
        started = time.monotonic()
    # ...and ended with it.
    gone = await anyio.to_thread.run_sync(seconds_until_gone, tag, CANCEL_BOUND_S, started)
    record(f"session end: {name}", gone)


@pytest.mark.parametrize("name", list(LEFT_BEHIND))
async def test_a_hooks_processes_end_with_the_hook(tmp_path: Path, tag: str, name: str) -> None:
    """Hooks, ``rg`` and plugin commands run through ``run_in_group`` without keeping
    background processes: nothing they start outlives them."""
    result = await run_in_group(shell_argv(LEFT_BEHIND[name]), cwd=tmp_path)
    assert result.exit_code == 0 and result.group is None
    gone = await anyio.to_thread.run_sync(seconds_until_gone, tag, 0.1)
    record(f"hook: {name} (the call took {result.duration_s * 1e3:.0f} ms)", gone)


# --- the program: headless -p ---------------------------------------------------------------

MIX = "setsid -f sleep 300; nohup setsid sleep 300 >/dev/null 2>&1 & trap '' TERM; sleep 300"
MIX_COUNT = 4  # bash, two escaped sleeps, the foreground sleep


def write_script(folder: Path, *commands: str) -> Path:
    replies: list[dict[str, Any]] = [
        {"tool_calls": [{"name": "Bash", "input": {"command": command}}]} for command in commands
    ]
    replies.append({"text": "done"})
    path = folder / "script.json"
    path.write_text(json.dumps({"responses": replies}))
    return path


def session_end_hook(project: Path, command: str) -> None:
    folder = project / ".claude"
    folder.mkdir(exist_ok=True)
    hook = {"type": "command", "command": command, "timeout": 60}
    (folder / "settings.json").write_text(
        json.dumps({"hooks": {"SessionEnd": [{"hooks": [hook]}]}})
    )


def wait_hook(tag: str, within: float = 10.0) -> None:
    """Until the slow SessionEnd hook runs (the shutdown has begun)."""
    deadline = time.monotonic() + within
    while "sleep 30" not in tagged(tag).values():
        assert time.monotonic() < deadline, tagged(tag)
        time.sleep(0.01)


def harness(project: Path, *args: str, **options: Any) -> subprocess.Popen[Any]:
    """``harness-tui ARGS`` in ``project``, its output piped."""
    return subprocess.Popen(
        [sys.executable, "-m", "harness_tui", *args],
        cwd=project,
        stdin=subprocess.DEVNULL,
        stdout=options.pop("stdout", subprocess.PIPE),
        stderr=subprocess.PIPE,
        **options,
    )


def headless(project: Path, script: Path, *extra: str, **options: Any) -> subprocess.Popen[Any]:
    model = ("--model", f"scripted:{script}", "--mode", "bypassPermissions")
    return harness(project, "-p", "go", *model, "--output-format", "stream-json", *extra, **options)


def session_closed_cleanly() -> bool:
    """The one session file ends with SESSION_ENDED: the orderly shutdown finished (the
    watchdog, which cuts it short, was not needed)."""
    (path,) = (Path(os.environ["HARNESS_DATA_DIR"]) / "sessions").glob("*.jsonl")
    return json.loads(path.read_text().splitlines()[-1])["type"] == "SESSION_ENDED"


def session_file_is_whole() -> bool:
    """Every line of the one session file is a whole JSON event."""
    (path,) = (Path(os.environ["HARNESS_DATA_DIR"]) / "sessions").glob("*.jsonl")
    lines = path.read_text().splitlines()
    return bool(lines) and all("type" in json.loads(line) for line in lines)


def exit_within(process: subprocess.Popen[bytes], within: float, since: float) -> int:
    while process.poll() is None:
        if time.monotonic() - since > within:
            process.kill()
            process.wait()
            raise AssertionError(f"harness-tui still running after {within} s")
        time.sleep(0.005)
    return process.returncode


@pytest.mark.parametrize("name", ["SIGTERM", "SIGHUP", "SIGINT"])
def test_a_signal_to_a_headless_run_ends_it_and_its_processes(
    tmp_path: Path, tag: str, name: str
) -> None:
    process = headless(tmp_path, write_script(tmp_path, MIX))
    wait_tagged(tag, 1 + MIX_COUNT)
    started = time.monotonic()
    process.send_signal(getattr(signal, name))
    code = exit_within(process, BOUND_S, started)
    gone = seconds_until_gone(tag, BOUND_S, started)
    _, err = process.communicate()
    assert code == 130 and b"Traceback" not in err, err
    assert session_closed_cleanly()
    record(f"headless {name}", gone)


@pytest.mark.parametrize("second", ["SIGINT", "SIGTERM"])
def test_a_second_signal_during_a_slow_shutdown_exits_at_once(
    tmp_path: Path, tag: str, second: str
) -> None:
    session_end_hook(tmp_path, "sleep 30")
    process = headless(tmp_path, write_script(tmp_path, "sleep 300"), "--trust")
    wait_tagged(tag, 3)  # harness, bash, sleep
    process.send_signal(signal.SIGINT)
    wait_hook(tag)
    started = time.monotonic()
    process.send_signal(getattr(signal, second))
    exit_within(process, 0.8, started)
    gone = seconds_until_gone(tag, 0.8, started)
    record(f"second {second} during a slow SessionEnd hook", gone)


def test_a_slow_shutdown_after_one_signal_is_cut_short(tmp_path: Path, tag: str) -> None:
    session_end_hook(tmp_path, "sleep 30")
    process = headless(tmp_path, write_script(tmp_path, MIX), "--trust")
    wait_tagged(tag, 1 + MIX_COUNT)
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    code = exit_within(process, BOUND_S, started)
    gone = seconds_until_gone(tag, BOUND_S, started)
    assert code in (130, 143)
    record("SIGTERM with a slow SessionEnd hook", gone)


def test_a_closed_stdout_ends_a_headless_run_waiting_on_a_tool(tmp_path: Path, tag: str) -> None:
    reader, writer = os.pipe()
    process = headless(tmp_path, write_script(tmp_path, MIX), stdout=writer)
    os.close(writer)
    wait_tagged(tag, 1 + MIX_COUNT)
    started = time.monotonic()
    os.close(reader)  # `harness-tui -p … | head -1`, and head has gone
    code = exit_within(process, BOUND_S, started)
    gone = seconds_until_gone(tag, BOUND_S, started)
    assert code == 141
    record("headless: stdout closed", gone)


def test_a_process_that_dropped_the_marker_ends_with_the_program(tmp_path: Path, tag: str) -> None:
    """A command that removes ``HARNESS_TOOL_CALL`` from its environment escapes the call,
    but not the program: as the subreaper, the harness still has it as a descendant."""
    script = write_script(tmp_path, "env -u HARNESS_TOOL_CALL setsid -f sleep 300")
    process = headless(tmp_path, script)
    _, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert seconds_until_gone(tag, 0.5) < 0.5


def test_nohup_keeps_a_headless_run_going_when_the_terminal_closes(
    tmp_path: Path, tag: str
) -> None:
    """SIGHUP ignored when harness-tui starts (``nohup``) stays ignored."""
    script = write_script(tmp_path, "sleep 0.5; echo slept")
    process = headless(
        tmp_path, script, preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN)
    )
    wait_tagged(tag, 3)
    process.send_signal(signal.SIGHUP)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert b'"RUN_COMPLETED"' in out


@pytest.mark.parametrize("ending", ["the run ends", "SIGTERM mid-run"])
def test_an_mcp_servers_processes_end_with_the_program(
    tmp_path: Path, tag: str, ending: str
) -> None:
    """An MCP stdio server (the SDK's process, not a tool's) that ignores SIGTERM and has
    started a process in a session of its own."""
    from tests.mcp_servers import STDIO_SERVER, write_mcp_json

    launch = f"setsid -f sleep 300; trap '' TERM; touch up; exec {sys.executable} {STDIO_SERVER}"
    write_mcp_json(
        tmp_path, {"leaky": {"command": "bash", "args": ["-c", launch], "env": {TAG: tag}}}
    )
    command = "until [ -e up ]; do sleep 0.01; done" + (
        "; sleep 300" if "SIGTERM" in ending else ""
    )
    process = headless(tmp_path, write_script(tmp_path, command), "--trust")
    if "SIGTERM" in ending:
        wait_tagged(tag, 5)  # harness, bash, its sleep, the server, the server's sleep
        process.send_signal(signal.SIGTERM)
        started = time.monotonic()
    else:
        process.wait(timeout=30)
        started = time.monotonic()
        assert process.returncode == 0
    exit_within(process, BOUND_S, started)
    record(f"MCP server's processes, {ending}", seconds_until_gone(tag, BOUND_S, started))


def test_serve_ends_its_sessions_processes_on_sigterm(tmp_path: Path, tag: str) -> None:
    import re

    import httpx2

    script = write_script(tmp_path, MIX)
    model = ("--model", f"scripted:{script}", "--mode", "bypassPermissions")
    process = harness(tmp_path, "serve", "--port", "0", *model, text=True)
    assert process.stdout is not None
    found = re.search(r"(http://\S+)/\?token=(\S+)", process.stdout.readline())
    assert found, process.stderr.read() if process.stderr else ""
    base, token = found.groups()
    with httpx2.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}) as http:
        session_id = http.post("/api/session", json={}).json()["session"]["id"]
        assert http.post(f"/api/query/{session_id}", json={"text": "go"}).status_code == 202
    wait_tagged(tag, 1 + MIX_COUNT)
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    code = exit_within(process, BOUND_S, started)
    assert code == 0
    record("serve SIGTERM mid-run", seconds_until_gone(tag, BOUND_S, started))


# --- the program: the TUI in a real terminal (tmux) -------------------------------------------


class Terminal:
    """harness-tui in a tmux window: its pid, and what it shows."""

    def __init__(
        self, tmux: list[str], project: Path, script: Path, *extra: str, prelude: str = "exec "
    ) -> None:
        self.tmux = tmux
        env = " ".join(
            f"{name}={_quote(value)}"
            for name, value in os.environ.items()
            if name.startswith(("HARNESS_", "CLAUDE_", "CODEX_", TAG)) or name in ("PATH", "HOME")
        )
        launch = (
            f"cd {_quote(str(project))} && {prelude}env -u COLUMNS -u LINES {env} "
            f"{_quote(sys.executable)} -m harness_tui --model scripted:{_quote(str(script))} "
            f"--mode bypassPermissions {' '.join(extra)}; echo the shell goes on"
        )
        subprocess.run(
            [*tmux, "new-session", "-d", "-s", "t", "-x", "160", "-y", "48", "bash", "-c", launch],
            check=True,
            timeout=10,
            # Only harness-tui and what it starts carry the tag: not tmux, not the shell.
            env={name: value for name, value in os.environ.items() if name != TAG},
        )
        deadline = time.monotonic() + 20
        while "Plan" not in self.screen():  # the first frame is painted
            assert time.monotonic() < deadline, self.screen()
            time.sleep(0.05)
        tag = os.environ[TAG]
        (self.pid,) = (pid for pid, command in tagged(tag).items() if "-m harness_tui" in command)

    def screen(self) -> str:
        shown = subprocess.run(
            [*self.tmux, "capture-pane", "-p", "-t", "t"], capture_output=True, text=True
        )
        return shown.stdout

    def type(self, text: str) -> None:
        subprocess.run([*self.tmux, "send-keys", "-t", "t", text, "Enter"], check=True)

    def close(self) -> float:
        """``tmux kill-session``: the terminal goes away. Returns when it was closed."""
        started = time.monotonic()
        subprocess.run([*self.tmux, "kill-session", "-t", "t"], check=True, timeout=10)
        return started


def _quote(text: str) -> str:
    import shlex

    return shlex.quote(text)


def _exited(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return True
    return stat[stat.rindex(b")") + 2 :][:1] in (b"Z", b"X")


def tui_gone_within(terminal: Terminal, tag: str, since: float, within: float = BOUND_S) -> float:
    seconds_until_gone(tag, within, since)
    # A process on its way out has no environment left to read: wait for its end too.
    while not _exited(terminal.pid):
        assert time.monotonic() - since < within, f"harness-tui still running after {within} s"
        time.sleep(0.005)
    return time.monotonic() - since


#: How harness-tui runs when its terminal is closed mid-run: name -> (a slow SessionEnd
#: hook, what the shell does before starting it: ``exec`` replaces the shell).
CLOSED_MID_RUN = {
    # The shell that started it stays: a hang-up reaches the shell, as when an SSH
    # connection closes, and the shell passes it on.
    "a shell's child": (False, ""),
    "the shell replaced (exec)": (False, "exec "),
    # The shutdown waits on the hook: the watchdog cuts it short.
    "slow SessionEnd hook": (True, "exec "),
    # `nohup harness-tui`: the hang-up is ignored, but the terminal is gone; the app
    # notices when its writes fail, and ends as on a hang-up.
    "SIGHUP ignored": (False, "trap '' HUP; exec "),
}


@pytest.mark.parametrize("name", list(CLOSED_MID_RUN))
def test_closing_the_terminal_mid_run_ends_harness_tui_and_its_tools(
    tmux: list[str], tmp_path: Path, tag: str, name: str
) -> None:
    slow_hook, prelude = CLOSED_MID_RUN[name]
    if slow_hook:
        session_end_hook(tmp_path, "sleep 30")
    script = write_script(tmp_path, MIX)
    terminal = Terminal(tmux, tmp_path, script, "--trust", prelude=prelude)
    terminal.type("go")
    wait_tagged(tag, 1 + MIX_COUNT)
    since = terminal.close()
    record(f"tmux kill-session mid-run, {name}", tui_gone_within(terminal, tag, since))
    if not slow_hook:
        assert session_closed_cleanly()
        return
    # A 30 s hook, and harness-tui gone within BOUND_S: the watchdog cut the shutdown
    # short. It ends the hook first, and in that grace the shutdown may still write its
    # last line (SESSION_ENDED) or not: either way the file is whole.
    assert session_file_is_whole()


def test_closing_the_terminal_when_idle_ends_harness_tui_and_what_calls_left(
    tmux: list[str], tmp_path: Path, tag: str
) -> None:
    terminal = Terminal(tmux, tmp_path, write_script(tmp_path, "setsid -f sleep 300; echo ok"))
    terminal.type("go")
    wait_tagged(tag, 2)  # harness-tui, the sleep left running
    deadline = time.monotonic() + 15
    while "done" not in terminal.screen():  # the run has ended: idle
        assert time.monotonic() < deadline
        time.sleep(0.05)
    since = terminal.close()
    record("tmux kill-session idle", tui_gone_within(terminal, tag, since))
    assert session_closed_cleanly()


@pytest.mark.parametrize(
    ("name", "busy"),
    [("SIGHUP", False), ("SIGHUP", True), ("SIGTERM", False), ("SIGTERM", True), ("SIGINT", True)],
)
def test_a_signal_ends_the_tui_and_its_tools(
    tmux: list[str], tmp_path: Path, tag: str, name: str, busy: bool
) -> None:
    terminal = Terminal(tmux, tmp_path, write_script(tmp_path, MIX))
    if busy:
        terminal.type("go")
        wait_tagged(tag, 1 + MIX_COUNT)
    since = time.monotonic()
    os.kill(terminal.pid, getattr(signal, name))
    record(f"TUI {name} {'mid-run' if busy else 'idle'}", tui_gone_within(terminal, tag, since))
    assert session_closed_cleanly()


def test_a_second_sigterm_during_a_slow_tui_shutdown_exits_at_once(
    tmux: list[str], tmp_path: Path, tag: str
) -> None:
    session_end_hook(tmp_path, "sleep 30")
    terminal = Terminal(tmux, tmp_path, write_script(tmp_path, "sleep 300"), "--trust")
    os.kill(terminal.pid, signal.SIGTERM)
    wait_hook(tag)
    since = time.monotonic()
    os.kill(terminal.pid, signal.SIGTERM)
    record("TUI second SIGTERM", tui_gone_within(terminal, tag, since, within=0.8))
