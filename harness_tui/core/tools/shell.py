"""``Bash``: shell commands in one shell session per agent session.

Each command runs in a fresh ``bash`` in its own process group (so a cancel or timeout
kills exactly that command and everything it started), and the session carries the
shell's state from one command to the next: the working folder (``cd``) and the exported
environment (``export``, ``unset``). A command killed half-way leaves the state as it
was before it. Background jobs a command leaves running (``server &``) are owned by the
session and stopped when it ends.
"""

from __future__ import annotations

import contextvars
import os
import shutil
import tempfile
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio

from harness_tui.core.processes.group import ProcessGroup, run_in_group
from harness_tui.core.processes.tree import MARKER_ENV
from harness_tui.core.tools.base import Tool, ToolContext, ToolResult, object_schema

DEFAULT_TIMEOUT_MS = 120_000
MAX_TIMEOUT_MS = 600_000
DISPLAY_TAIL_LINES = 5

# Runs the command in this shell (``eval``), so ``cd`` and ``export`` change it, and on
# exit writes the folder and environment where the session picks them up. ``$1`` is the
# state folder, ``$2`` the command; neither variable is exported.
_WRAPPER = r"""__harness_state=$1
__harness_command=$2
shift 2
__harness_save() {
    pwd -P > "$__harness_state/cwd" 2>/dev/null
    env -0 > "$__harness_state/env" 2>/dev/null
}
trap __harness_save EXIT
eval "$__harness_command"
"""
#: Variables the shell manages itself, and the call's marker (each call gets its own);
#: carrying them over would be wrong.
_SHELL_OWNED = frozenset({"_", "SHLVL", "PWD", "OLDPWD", MARKER_ENV})


@dataclass(slots=True)
class Launch:
    """How a command is started: ``argv`` and ``env`` as given, or wrapped by the
    sandbox (``sandboxed``). ``refused``: why it may not start at all (the sandbox is
    on but cannot start); the model is told this instead of running it."""

    argv: list[str]
    env: dict[str, str]
    sandboxed: bool = False
    refused: str | None = None
    #: What the sandbox has to say once the command ended, given its output (a
    #: refused write, a blocked host); None: nothing.
    report: Callable[[str], Awaitable[str | None]] | None = None
    #: Folders the command needs writable besides the workspace (the shell's state).
    extra: list[Path] = field(default_factory=list)


#: ``confine(argv, cwd=, env=, writable=, command=, background=, unsandboxed=)``: the
#: session's sandbox.
Confine = Callable[..., Awaitable[Launch]]
#: The tool call a command belongs to (``Bash`` sets it around its run), for what the
#: sandbox reports and asks.
CURRENT_CALL: contextvars.ContextVar[Any] = contextvars.ContextVar("bash_call", default=None)


class SandboxRefused(Exception):
    """The sandbox is on and cannot start: the command did not run (the message says
    why and how to fix it)."""


class ShellSession:
    """Working folder and environment carried between commands of one agent session."""

    def __init__(self, cwd: Path, env: dict[str, str] | None = None) -> None:
        self.root = cwd
        self.cwd = cwd
        self.env = dict(os.environ if env is None else env)
        self.shell = shutil.which("bash") or "/bin/sh"
        self._state_dir: Path | None = None
        self.background: list[ProcessGroup] = []
        #: The sandbox that wraps each command (None: commands run as they are).
        self.confine: Confine | None = None

    async def launch(
        self,
        argv: list[str],
        *,
        command: str,
        writable: tuple[Path, ...] = (),
        background: bool = False,
        unsandboxed: bool = False,
    ) -> Launch:
        """``argv`` as it is to start: wrapped by the sandbox when there is one (it
        decides whether ``unsandboxed``, the model's request to run outside, holds).
        ``command``: the user-level command, which ``excludedCommands`` are matched
        against."""
        if self.confine is None:
            return Launch(list(argv), dict(self.env))
        return await self.confine(
            list(argv),
            cwd=self.cwd,
            env=dict(self.env),
            writable=writable,
            command=command,
            background=background,
            unsandboxed=unsandboxed,
        )

    async def run(
        self, command: str, *, timeout_s: float, on_output: Any = None, unsandboxed: bool = False
    ) -> tuple[Any, str | None]:
        """Run one command; returns its ``GroupResult`` and a note for the model (the
        working folder had vanished, the sandbox refused a write) or None. Raises
        ``SandboxRefused`` when the sandbox is on and cannot start."""
        state = self._state()
        for name in ("cwd", "env"):
            (state / name).unlink(missing_ok=True)
        note = None
        if not self.cwd.is_dir():
            note = f"(the working folder {self.cwd} no longer exists; ran in {self.root})"
            self.cwd = self.root
        launch = await self.launch(
            [self.shell, "-c", _WRAPPER, "bash", str(state), command],
            command=command,
            writable=(state,),
            unsandboxed=unsandboxed,
        )
        if launch.refused is not None:
            raise SandboxRefused(launch.refused)
        result = await run_in_group(
            launch.argv,
            cwd=self.cwd,
            env=launch.env,
            merge_stderr=True,
            timeout_s=timeout_s,
            on_output=on_output,
            keep_background=True,
        )
        # Forget background calls that have ended: their process group id may be reused
        # by another program's group, which the session's end must not kill.
        self.background = [group for group in self.background if group.alive()]
        if result.group is not None:
            self.background.append(result.group)
        if not result.timed_out:
            self._load_state(state)
        if launch.report is not None:
            said = await launch.report(result.stdout)
            note = f"{note}\n{said}" if note and said else note or said
        return result, note

    def _state(self) -> Path:
        if self._state_dir is None:
            self._state_dir = Path(tempfile.mkdtemp(prefix="harness-shell-"))
        return self._state_dir

    def _load_state(self, state: Path) -> None:
        try:
            cwd = (state / "cwd").read_text(encoding="utf-8", errors="surrogateescape").strip()
            raw_env = (state / "env").read_bytes()
        except OSError:
            return  # the command replaced the shell (exec) or was killed: keep the old state
        if cwd and Path(cwd).is_dir():
            self.cwd = Path(cwd)
        if raw_env:
            env: dict[str, str] = {}
            for item in raw_env.split(b"\0"):
                name, sep, value = item.partition(b"=")
                if sep and name:
                    env[os.fsdecode(name)] = os.fsdecode(value)
            self.env = {k: v for k, v in env.items() if k not in _SHELL_OWNED}

    async def aclose(self) -> None:
        """End every process earlier commands left running (all at once: each may take
        the grace before SIGKILL), and remove the state folder."""
        groups, self.background = self.background, []
        async with anyio.create_task_group() as tasks:
            for group in groups:
                tasks.start_soon(group.kill)
        if self._state_dir is not None:
            shutil.rmtree(self._state_dir, ignore_errors=True)
            self._state_dir = None


class BashTool(Tool):
    name = "Bash"
    description = (
        "Run a shell command in the workspace and return its output (stdout and stderr "
        "together) and exit code. The shell session persists between calls: `cd` and "
        "exported variables carry over. Commands run without a terminal and with no input; "
        "each is stopped at its timeout (default 120 s, at most 600 s). Prefer Read, Glob, "
        "Grep and Edit over cat, find, grep and sed."
    )
    input_schema = object_schema(
        properties={
            "command": {"type": "string", "minLength": 1, "description": "The command."},
            "timeout": {
                "type": "integer",
                "minimum": 1,
                "maximum": MAX_TIMEOUT_MS,
                "description": "Timeout in milliseconds (default 120000).",
            },
            "description": {
                "type": "string",
                "description": "What the command does, in five to ten words.",
            },
            "run_in_background": {
                "type": "boolean",
                "description": "Start the command in the background (a dev server, a "
                "watcher, a long build) and return at once with its task id and output "
                "file. Read the file with Read; stop it with TaskStop. It ends with the "
                "session at the latest. No `&` needed.",
            },
            "dangerouslyDisableSandbox": {
                "type": "boolean",
                "description": "Run this command outside the sandbox (when one is on). "
                "Only after a command failed because the sandbox refused it; the user "
                "is asked as usual.",
            },
        },
        required=["command"],
    )
    access = "exec"

    def __init__(self, confine: Confine | None = None, tasks: Any = None) -> None:
        self._session: ShellSession | None = None
        #: The session's sandbox (see ``ShellSession.confine``).
        self.confine = confine
        #: The session's background tasks (a ``TaskManager``; None: not offered).
        self.tasks = tasks

    def fresh(self) -> BashTool:
        """A Bash of its own (a shell session of its own) in the same sandbox, with
        the session's background tasks."""
        return BashTool(self.confine, self.tasks)

    def current_folder(self) -> Path | None:
        """Where the next command starts (``cd`` persists), once a command has run."""
        return self._session.cwd if self._session is not None else None

    def environment(self) -> Mapping[str, str]:
        """The environment of the next command (``export`` persists), for the
        permission engine: its ``$HOME``, exported functions, ``BASH_ENV``."""
        return self._session.env if self._session is not None else os.environ

    def shell(self, cwd: Path) -> ShellSession:
        if self._session is None:
            self._session = ShellSession(cwd)
            self._session.confine = self.confine
        return self._session

    async def preview(self, input: dict[str, Any], ctx: ToolContext) -> str | None:
        return f"$ {input['command']}"

    async def run(self, input: dict[str, Any], ctx: ToolContext) -> ToolResult:
        command = input["command"]
        timeout_ms = input.get("timeout", DEFAULT_TIMEOUT_MS)

        async def stream(text: str) -> None:
            await ctx.progress(text)

        token = CURRENT_CALL.set(ctx)
        if input.get("run_in_background"):
            try:
                return await self._background(input, ctx)
            finally:
                CURRENT_CALL.reset(token)
        try:
            result, note = await self.shell(ctx.cwd).run(
                command,
                timeout_s=timeout_ms / 1000,
                on_output=stream,
                unsandboxed=bool(input.get("dangerouslyDisableSandbox")),
            )
        except SandboxRefused as exc:
            return ToolResult.error(str(exc))
        except OSError as exc:
            return ToolResult.error(f"could not start the shell: {exc.strerror or exc}")
        finally:
            CURRENT_CALL.reset(token)
        output = result.stdout.rstrip("\n")
        tail = "\n".join(output.splitlines()[-DISPLAY_TAIL_LINES:])
        details = {"exit_code": result.exit_code, "duration_ms": result.duration_s * 1e3}
        if result.timed_out:
            message = f"Command timed out after {timeout_ms / 1000:g} s and was stopped."
            return ToolResult(
                content=f"{output}\n\n{message}" if output else message,
                display=(tail + "\n" if tail else "") + "timed out",
                details=details,
                is_error=True,
                error_kind="timeout",
            )
        code = result.exit_code
        parts = [output] if output else []
        if note:
            parts.append(note)
        if code:
            parts.append(f"Exit code {code}" if code > 0 else f"Killed by signal {-code}")
        content = "\n".join(parts) or "(no output)"
        return ToolResult(
            content=content,
            display=(tail + "\n" if tail else "") + f"exit {code}",
            details=details,
            is_error=code != 0,
        )

    async def _background(self, input: dict[str, Any], ctx: ToolContext) -> ToolResult:
        if self.tasks is None:
            return ToolResult.error(
                "background tasks are not available here; run the command without run_in_background"
            )
        shell = self.shell(ctx.cwd)
        try:
            info = await self.tasks.start(
                shell,
                input["command"],
                description=input.get("description", ""),
                tool_call_id=ctx.tool_call_id,
            )
        except SandboxRefused as exc:
            return ToolResult.error(str(exc))
        except OSError as exc:
            return ToolResult.error(f"could not start the task: {exc.strerror or exc}")
        return ToolResult(
            content=f"Started background task {info.task_id}. Its output goes to "
            f"{info.output_path}: read it with Read. Stop it with TaskStop "
            f"(task_id {info.task_id}); it ends with the session at the latest. You will "
            "be told when it ends.",
            display=f"background task {info.task_id}",
            details={"task_id": info.task_id, "output_path": info.output_path},
        )

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.aclose()
