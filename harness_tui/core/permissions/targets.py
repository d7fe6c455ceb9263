"""What a tool call touches, for the permission engine: the files named by a file
tool's path fields; for Bash, its simple commands (those inside ``bash -c`` and ``eval``
too) and every file it writes (``shell_writes``), relative to the Bash tool's folder and
with its ``$HOME``."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness_tui.core.shell.commands import inner_commands
from harness_tui.core.shell.split import SimpleCommand, UnparsableCommand, split_command
from harness_tui.core.shell.writes import shell_writes
from harness_tui.core.tools.base import Tool, input_path


@dataclass(frozen=True, slots=True)
class Target:
    """A file or folder a call touches: as written and as really resolved."""

    path: Path
    real: Path
    write: bool
    #: A command on a whole folder (rm -r, mv): a protected file in it counts.
    tree: bool = False
    #: False for a hard link's source: its protection counts, not the workspace.
    boundary: bool = True


@dataclass
class CallTargets:
    """Everything the engine checks about one call."""

    targets: list[Target] = field(default_factory=list)
    #: The simple commands of a Bash call (None: not Bash, or not splittable).
    parts: list[SimpleCommand] | None = None
    #: Words naming files a command writes whose path is only known when it runs.
    unknown: list[str] = field(default_factory=list)
    #: Why a Bash command could not be split, if it could not.
    unparsable: str | None = None
    #: ``$HOME`` of the Bash tool's shell.
    home: str | None = None


def call_targets(
    tool: Tool, input: dict[str, Any], cwd: Path, shell_cwd: Path | None = None
) -> CallTargets:
    """What the call touches. Raises ``ValueError`` for a path with a NUL byte."""
    env = _shell_environment(tool)
    found = CallTargets(home=env.get("HOME"))
    write = tool.access_kind == "edit"
    for name in tool.path_fields:
        raw = input.get(name)
        if raw is None:
            raw = "."
        if isinstance(raw, str):
            path = input_path(cwd, raw)
            found.targets.append(Target(path, Path(os.path.realpath(path)), write))
    command = input.get("command")
    if tool.name != "Bash" or not isinstance(command, str):
        return found
    try:
        found.parts = inner_commands(split_command(command), found.home, env)
        folder = shell_cwd or _shell_cwd(tool) or cwd
        for written in shell_writes(found.parts, folder, found.home):
            if written.path is None:
                found.unknown.append(written.word)
                continue
            real = Path(os.path.realpath(written.path))
            found.targets.append(Target(written.path, real, True, written.tree, written.boundary))
    except UnparsableCommand as exc:
        found.parts, found.unknown = None, []
        found.unparsable = str(exc)
    return found


def _shell_cwd(tool: Tool) -> Path | None:
    """The Bash tool's current folder (``cd`` persists), for its redirections."""
    current = getattr(tool, "current_folder", None)
    return current() if callable(current) else None


def _shell_environment(tool: Tool) -> Mapping[str, str]:
    """The environment of the Bash tool's next command (``export`` persists): its
    ``$HOME`` for ``~``, its exported functions, its ``BASH_ENV``."""
    environment = getattr(tool, "environment", None)
    return environment() if callable(environment) else os.environ
