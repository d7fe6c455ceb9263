"""Custom slash commands: ``.claude/commands/*.md`` and ``.harness/commands/*.md`` (and
the same folders at user level), Claude Code's format::

    ---
    description: Review a file for bugs
    argument-hint: <file> [focus]
    model: sonnet
    allowed-tools: Read Grep Bash(git diff:*)
    ---
    Review $1 with attention to $2. Everything typed: $ARGUMENTS

The file name is the command (``/review``); subfolders only organise files. The body is
the prompt, with ``$ARGUMENTS`` (all arguments) and ``$1``, ``$2``, ... (one each, shell
quoting respected) substituted; arguments given to a body that uses neither are appended.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from harness_tui.core.config import paths
from harness_tui.core.extensions.frontmatter import FrontmatterError, read_markdown, unknown_fields
from harness_tui.core.extensions.frontmatter_fields import Fields

#: Built-in commands of the TUI (SPEC section 8): a custom command cannot take these.
BUILTIN_NAMES = frozenset(
    {
        "help",
        "model",
        "mode",
        "plan",
        "compact",
        "clear",
        "resume",
        "cost",
        "hooks",
        "mcp",
        "skills",
        "plugins",
        "context",
        "export",
        "quit",
        "exit",
    }
)
KNOWN_FIELDS = frozenset({"description", "argument-hint", "model", "allowed-tools"})
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
_POSITIONAL = re.compile(r"\$(\d+)")
_PLACEHOLDER = re.compile(r"\$ARGUMENTS|\$(\d+)")


@dataclass(frozen=True)
class SlashCommand:
    name: str
    description: str
    body: str
    path: Path
    #: ``project`` or ``user``.
    source: str
    argument_hint: str | None = None
    model: str | None = None
    allowed_tools: tuple[str, ...] = ()


@dataclass
class CommandSet:
    commands: dict[str, SlashCommand] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def get(self, name: str) -> SlashCommand | None:
        return self.commands.get(name)


@dataclass(frozen=True)
class Expansion:
    """What ``/name arguments`` turns into: the prompt, and what applies to its run."""

    name: str
    prompt: str
    model: str | None = None
    #: Permission rules (``Read``, ``Bash(git diff:*)``) allowed without asking during
    #: the run; honoured only from user-level files or a trusted folder.
    allowed_tools: tuple[str, ...] = ()
    source: str = ""


def command_folders(cwd: Path) -> list[tuple[Path, str]]:
    """Where commands are looked for, highest precedence first."""
    return [
        (cwd / ".harness" / "commands", "project"),
        (cwd / ".claude" / "commands", "project"),
        (paths.config_dir() / "commands", "user"),
        (paths.claude_user_dir() / "commands", "user"),
    ]


def discover_commands(cwd: Path, folders: Iterable[tuple[Path, str]] | None = None) -> CommandSet:
    """Every command file; bad ones are reported in ``problems`` and skipped."""
    result = CommandSet()
    for folder, source in folders if folders is not None else command_folders(cwd):
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*.md")):
            command = _load(path, source, result.problems)
            if command is None:
                continue
            if command.name in BUILTIN_NAMES:
                result.problems.append(
                    f"{path}: /{command.name} is a built-in command; rename the file to use it"
                )
            elif command.name in result.commands:
                first = result.commands[command.name].path
                result.problems.append(f"{path}: /{command.name} is already defined by {first}")
            else:
                result.commands[command.name] = command
    return result


def _load(path: Path, source: str, problems: list[str]) -> SlashCommand | None:
    name = path.stem
    if not _NAME.match(name):
        problems.append(f"{path}: {name!r} cannot be a command name (letters, digits, - _ . :)")
        return None
    try:
        doc = read_markdown(path)
    except FrontmatterError as exc:
        problems.append(str(exc))
        return None
    problems.extend(doc.warnings)
    if not doc.body.strip():
        problems.append(f"{path}: the command has no prompt (the body is empty); skipped")
        return None
    problems.extend(unknown_fields(path, doc.meta, KNOWN_FIELDS))
    # A wrong field is ignored: the command still runs, described by its first line, on
    # the session's model, and granting nothing (its tools ask as usual).
    fields = Fields(doc, problems)
    return SlashCommand(
        name=name,
        description=fields.text("description") or _first_line(doc.body) or f"/{name}",
        body=doc.body.strip(),
        path=path,
        source=source,
        argument_hint=fields.text("argument-hint", lists=True),
        model=fields.text("model"),
        allowed_tools=fields.names("allowed-tools") or (),
    )


def substitute_arguments(body: str, arguments: str) -> str:
    """``$ARGUMENTS`` -> all arguments, ``$1``... -> each; arguments given to a body that
    has no placeholder are appended, so they are never lost."""
    arguments = arguments.strip()
    uses_all = "$ARGUMENTS" in body
    uses_positional = _POSITIONAL.search(body) is not None
    if not uses_all and not uses_positional:
        return f"{body}\n\nARGUMENTS: {arguments}" if arguments else body
    try:
        words = shlex.split(arguments)
    except ValueError:  # an unbalanced quote: split on whitespace instead
        words = arguments.split()

    def value(match: re.Match[str]) -> str:
        if match.group(1) is None:
            return arguments
        index = int(match.group(1))
        return words[index - 1] if 0 < index <= len(words) else ""

    # One pass, so an argument that itself contains "$1" is left alone.
    return _PLACEHOLDER.sub(value, body)


def expand_command(command: SlashCommand, arguments: str) -> Expansion:
    return Expansion(
        name=command.name,
        prompt=substitute_arguments(command.body, arguments),
        model=command.model if command.model not in (None, "inherit") else None,
        allowed_tools=command.allowed_tools,
        source=command.source,
    )


def _first_line(body: str) -> str:
    for line in body.splitlines():
        if line.strip():
            return line.strip().lstrip("#").strip()[:80]
    return ""
