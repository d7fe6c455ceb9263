"""Settings files, read as users already write them.

Sources, lowest precedence first (a later file wins for single values; lists such as
permission rules and hooks are combined from all of them):

1. ``~/.claude/settings.json``            Claude Code, user   (CLAUDE_KEYS)
2. ``~/.config/harness-tui/settings.yaml`` ours, user
3. ``.claude/settings.json``              Claude Code, project (CLAUDE_KEYS)
4. ``.harness/settings.yaml``             ours, project
5. ``.claude/settings.local.json``        Claude Code, local  (CLAUDE_KEYS)
6. ``.harness/settings.local.yaml``       ours, local

Project and local files are read only when the caller says the folder may be used
(workspace trust). A file that cannot be read or parsed, or breaks the bounds of
``parse_limits`` (1 MiB, 64 levels, 20,000 values), is skipped and reported in
``Settings.problems`` with its path and line; nothing here raises on bad input, so a
broken file never stops the program. Each subsystem validates its own section and reports
problems the same way, naming the file (``SettingsFile.path``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from harness_tui.core.config import paths
from harness_tui.core.config.files import ConfigFileError, load_config_file
from harness_tui.core.errors import names_listed

Scope = Literal["user", "project", "local"]

#: What the TUI reads (checked here, so that it sees only good values): how it tells
#: the user that the agent needs them, and the command that writes the status line.
TUI_KEYS = frozenset({"notifications", "preferredNotifChannel", "statusLine"})
#: Top-level keys we understand in our own files.
KNOWN_KEYS = (
    frozenset(
        {
            "model",
            "models",
            "permissions",
            "hooks",
            "mcpServers",
            "mcp",
            "ui",
            "env",
            "tui",
            "checkpoints",
            "sandbox",
            "budget",
            # Language servers (harness_tui/core/lsp/config.py).
            "lsp",
            # Where session and sub-agent worktrees go (core/worktrees/placement.py).
            "worktree",
            # Whether the model may write memory (core/memory/tool.py).
            "memory",
        }
    )
    | TUI_KEYS
)
#: The values of ``tui``: how the TUI draws (``--inline`` and ``/tui`` choose too).
TUI_MODES = ("fullscreen", "inline")
#: What we take from Claude Code's files (the rest belongs to Claude Code).
CLAUDE_KEYS = frozenset({"permissions", "hooks", "sandbox"}) | TUI_KEYS
#: ``notifications``: ours; ``preferredNotifChannel``: Claude Code's names for the same.
NOTIFICATION_CHANNELS = ("auto", "osc9", "osc777", "osc99", "bell", "off")
CLAUDE_NOTIF_CHANNELS = (
    "auto",
    "iterm2",
    "iterm2_with_bell",
    "kitty",
    "ghostty",
    "terminal_bell",
    "notifications_disabled",
)


@dataclass(frozen=True)
class SettingsFile:
    path: Path
    scope: Scope
    #: A Claude Code file: only ``CLAUDE_KEYS`` are read from it.
    claude: bool
    data: Mapping[str, Any]

    @property
    def label(self) -> str:
        return str(self.path)


@dataclass
class Settings:
    """Every settings file that was read, lowest precedence first."""

    files: list[SettingsFile] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def value(self, key: str) -> tuple[Any, SettingsFile] | None:
        """The value of ``key`` from the file with the highest precedence that sets it."""
        for source in reversed(self.files):
            if key in source.data:
                return source.data[key], source
        return None

    def sections(self, key: str) -> list[tuple[Any, SettingsFile]]:
        """``key`` from every file that sets it, lowest precedence first."""
        return [(source.data[key], source) for source in self.files if key in source.data]


def settings_paths(cwd: Path, *, include_project: bool) -> list[tuple[Path, Scope, bool]]:
    user: list[tuple[Path, Scope, bool]] = [
        (paths.claude_user_dir() / "settings.json", "user", True),
        (paths.config_dir() / "settings.yaml", "user", False),
    ]
    if not include_project:
        return user
    return [
        *user,
        (cwd / ".claude" / "settings.json", "project", True),
        (cwd / ".harness" / "settings.yaml", "project", False),
        (cwd / ".claude" / "settings.local.json", "local", True),
        (cwd / ".harness" / "settings.local.yaml", "local", False),
    ]


def load_settings(cwd: Path, *, include_project: bool = True) -> Settings:
    """Read every settings file that exists; never raises for a bad file."""
    return _load(settings_paths(cwd, include_project=include_project))


def _load(files: list[tuple[Path, Scope, bool]]) -> Settings:
    settings = Settings()
    for path, scope, claude in files:
        data = _read(path, settings.problems)
        if data is None:
            continue
        keys = CLAUDE_KEYS if claude else KNOWN_KEYS
        unknown = sorted(map(str, set(data) - KNOWN_KEYS))
        if unknown and not claude:
            settings.problems.append(
                f"{path}: unknown {names_listed(unknown, 'setting')} (ignored; known: "
                f"{', '.join(sorted(KNOWN_KEYS))})"
            )
        kept = {k: v for k, v in data.items() if k in keys}
        if "tui" in kept and kept["tui"] not in TUI_MODES:
            settings.problems.append(
                f"{path}: tui must be {' or '.join(TUI_MODES)}, not {kept.pop('tui')!r} (ignored)"
            )
        for key in TUI_KEYS & kept.keys():
            problem = _tui_value_problem(key, kept[key])
            if problem:
                settings.problems.append(f"{path}: {key}: {problem}; the setting is ignored")
                del kept[key]
        settings.files.append(SettingsFile(path, scope, claude, kept))
    return settings


def tui_mode(cwd: Path) -> str | None:
    """The ``tui`` setting (``inline`` or ``fullscreen``), read before the app starts.
    Project files count without workspace trust: the value only chooses how the screen
    is drawn. A bad value is ``None`` here; the session reports it with the others."""
    found = load_settings(cwd).value("tui")
    return found[0] if found else None


def _tui_value_problem(key: str, value: Any) -> str | None:
    """What is wrong with a TUI setting's value (None: nothing)."""
    if key in ("notifications", "preferredNotifChannel"):
        allowed = NOTIFICATION_CHANNELS if key == "notifications" else CLAUDE_NOTIF_CHANNELS
        if value not in allowed:
            return f"unknown value {value!r} (use one of {', '.join(allowed)})"
        return None
    example = '{"type": "command", "command": "~/.claude/statusline.sh"}'
    if not isinstance(value, dict):
        return f"must be a mapping such as {example}"
    if value.get("type", "command") != "command":
        return f"type must be 'command', not {value.get('type')!r}"
    command = value.get("command")
    if not isinstance(command, str) or not command.strip():
        return f"command must be a non-empty string, as in {example}"
    padding = value.get("padding", 0)
    if not isinstance(padding, int) or isinstance(padding, bool) or not 0 <= padding <= 20:
        return f"padding must be a whole number from 0 to 20, not {padding!r}"
    timeout = value.get("timeout", 1)
    if not isinstance(timeout, int | float) or isinstance(timeout, bool) or not 0 < timeout <= 60:
        return f"timeout must be a number of seconds above 0 and at most 60, not {timeout!r}"
    return None


def restrictions_of_project(cwd: Path) -> Settings:
    """Only the ``deny`` and ``ask`` permission rules of the project's settings files:
    what an untrusted folder may still say. They can only make the agent ask more or do
    less, so they apply before the folder is trusted (its hooks, allow rules, models and
    servers do not)."""
    # Only the project's own files: the user's are read (and their problems told) anyway.
    project = _load([f for f in settings_paths(cwd, include_project=True) if f[1] != "user"])
    kept = Settings(problems=project.problems)
    for source in project.files:
        section = source.data.get("permissions")
        if not isinstance(section, dict):
            continue
        restricting = {k: v for k, v in section.items() if k in ("deny", "ask")}
        if restricting:
            data = {"permissions": restricting}
            kept.files.append(SettingsFile(source.path, source.scope, source.claude, data))
    return kept


def _read(path: Path, problems: list[str]) -> dict[str, Any] | None:
    try:
        data = load_config_file(path)
    except FileNotFoundError:
        return None
    except ConfigFileError as exc:
        problems.append(f"{exc}; file skipped")
        return None
    if data is None:
        return None
    if not isinstance(data, dict):
        problems.append(f"{path}: the top level must be a mapping of settings; file skipped")
        return None
    return data
