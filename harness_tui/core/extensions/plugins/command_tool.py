"""A shell command as a tool (a manifest ``commands`` entry): the model chooses the
arguments, the manifest fixes everything else.

- The program and its leading words come from the manifest; the command runs without a
  shell (no pipes, no substitutions, no redirections), in its own process group.
- Options (``-n``, ``--stat``, ``--format=x``) must be listed in ``allowed_args``
  (``--format`` also allows ``--format=value``, ``-n`` also ``-n5``; such values are
  checked like paths); everything after ``--`` is positional.
- ``sandbox_path`` is the working folder and the only folder arguments may name: any
  argument that would resolve to a path outside it (``../x``, ``/etc``, ``~/.ssh``, a
  symlink out) is refused — also when it is not meant as a path, to be safe.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path
from typing import Any

from harness_tui.core.extensions.plugins.manifest import CommandEntry
from harness_tui.core.processes.group import run_in_group
from harness_tui.core.tools.base import Tool, ToolContext, ToolResult

DISPLAY_TAIL_LINES = 5


class CommandTool(Tool):
    input_schema = {
        "type": "object",
        "properties": {
            "args": {
                "type": "array",
                "items": {"type": "string"},
                "description": "Arguments, one per item (no shell quoting needed).",
            }
        },
        "additionalProperties": False,
    }

    def __init__(self, entry: CommandEntry, plugin: str) -> None:
        self.entry = entry
        self.plugin = plugin
        self.argv = shlex.split(entry.command)
        self.name = entry.name  # type: ignore[misc]
        self.read_only = entry.read_only  # type: ignore[misc]
        self.concurrency_safe = entry.read_only  # type: ignore[misc]
        self.access = "read" if entry.read_only else "exec"  # type: ignore[misc]
        options = ", ".join(entry.allowed_args) or "none"
        about = entry.description or f"Runs `{entry.command}` with the arguments you give."
        self.description = (  # type: ignore[misc]
            f"{about} Runs `{entry.command} ARGS...` without a shell in {entry.sandbox_path!r} "
            f"(relative to the working folder); options allowed: {options}; paths outside "
            "that folder are refused."
        )

    async def preview(self, input: dict[str, Any], ctx: ToolContext) -> str | None:
        return "$ " + shlex.join([*self.argv, *input.get("args", [])])

    def sandbox(self, cwd: Path) -> Path:
        path = Path(os.path.expandvars(self.entry.sandbox_path)).expanduser()
        return Path(os.path.realpath(path if path.is_absolute() else cwd / path))

    async def run(self, input: dict[str, Any], ctx: ToolContext) -> ToolResult:
        args: list[str] = input.get("args", [])
        sandbox = self.sandbox(ctx.cwd)
        if not sandbox.is_dir():
            return ToolResult.error(
                f"{self.name} cannot run: its sandbox folder {sandbox} does not exist "
                f"(sandbox_path in the {self.plugin} plugin's manifest)"
            )
        problem = check_arguments(args, self.entry, sandbox)
        if problem:
            return ToolResult.error(f"{self.name} refused: {problem}", "denied")
        env = {**os.environ, **self.entry.env}
        try:
            result = await run_in_group(
                [*self.argv, *args], cwd=sandbox, env=env, timeout_s=self.entry.timeout
            )
        except OSError as exc:
            return ToolResult.error(f"{self.name}: cannot start {self.argv[0]!r}: {exc.strerror}")
        output = result.stdout.rstrip("\n")
        if result.stderr.strip():
            output = f"{output}\n[stderr]\n{result.stderr.rstrip()}" if output else result.stderr
        tail = "\n".join(output.splitlines()[-DISPLAY_TAIL_LINES:])
        details = {"exit_code": result.exit_code, "argv": [*self.argv, *args]}
        if result.timed_out:
            message = f"{self.name} timed out after {self.entry.timeout:g} s and was stopped."
            return ToolResult(
                content=f"{output}\n\n{message}" if output else message,
                details=details,
                is_error=True,
                error_kind="timeout",
            )
        failed = result.exit_code not in self.entry.ok_exit_codes
        content = output or "(no output)"
        if failed:
            content += f"\nExit code {result.exit_code}"
        return ToolResult(
            content=content,
            display=(tail + "\n" if tail else "") + f"exit {result.exit_code}",
            details=details,
            is_error=failed,
        )


def check_arguments(args: list[str], entry: CommandEntry, sandbox: Path) -> str | None:
    """Why these arguments may not run, or None."""
    allowed = set(entry.allowed_args)
    options_done = False
    for arg in args:
        if "\0" in arg:
            return "an argument contains a NUL byte"
        if not options_done and arg == "--":
            options_done = True
            continue
        if not options_done and arg.startswith("-") and arg != "-":
            value = _option_value(arg, allowed)
            if value is None:
                listed = ", ".join(sorted(allowed)) or "none"
                return f"the option {arg!r} is not in allowed_args (allowed: {listed})"
            if value and not _inside(value, sandbox):
                return f"{value!r} (in {arg!r}) is outside the sandbox folder {sandbox}"
            continue
        if not entry.positional_args:
            return f"{arg!r}: this command takes options only"
        if not _inside(arg, sandbox):
            return f"{arg!r} is outside the sandbox folder {sandbox}"
    return None


def _option_value(arg: str, allowed: set[str]) -> str | None:
    """The value an allowed option carries (``""`` for none); None when the option is
    not allowed. ``--opt=value`` and, for a short option, ``-n5`` carry one."""
    if arg in allowed:
        return ""
    flag, equals, value = arg.partition("=")
    if equals and flag in allowed:
        return value
    if not arg.startswith("--") and len(arg) > 2 and arg[:2] in allowed:
        return arg[2:]
    return None


def _inside(word: str, sandbox: Path) -> bool:
    """Whether ``word``, read as a path, stays inside ``sandbox`` (symlinks resolved)."""
    path = Path(word).expanduser() if word.startswith("~") else Path(word)
    full = path if path.is_absolute() else sandbox / path
    real = Path(os.path.realpath(full))
    return real == sandbox or real.is_relative_to(sandbox)
