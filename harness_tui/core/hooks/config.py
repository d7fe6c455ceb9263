"""Hook definitions from the settings files, in Claude Code's shape:

    {"hooks": {"PreToolUse": [{"matcher": "Bash",
       "hooks": [{"type": "command", "command": "python3 \\"$CLAUDE_PROJECT_DIR\\"/check.py",
                  "timeout": 30, "if": "Bash(git *)"},
                 {"type": "http", "url": "http://127.0.0.1:8080/hook",
                  "headers": {"Authorization": "Bearer $TOKEN"}, "allowedEnvVars": ["TOKEN"]}]}]}}

Events: every one Claude Code documents (``catalog``); those harness-tui has no
counterpart for are accepted and never fire. Matchers: ``*``, empty or absent match
everything; a matcher of only letters, digits, ``_``, ``-``, spaces, commas and ``|``
is a list of exact names; anything else is an unanchored regular expression
(``Edit.*`` also matches ``NotebookEdit``); events without a matcher field ignore it.
A hook's ``if`` is one permission rule (``Bash(git *)``, ``Edit(*.ts)``), checked on
the tool events only; elsewhere a hook with ``if`` never runs. Bad entries are
reported (file and entry named) and skipped; the rest still load.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness_tui.core.config.settings import Settings
from harness_tui.core.hooks.catalog import HOOK_EVENTS, MATCH_FIELDS, TOOL_EVENTS
from harness_tui.core.permissions.rules import PermissionRule, RuleError, parse_rule

__all__ = ["HOOK_EVENTS"]

DEFAULT_TIMEOUT_S = 60.0
_NAME_LIST = re.compile(r"[A-Za-z0-9_\-|, ]+\Z")
_INTERPRETERS = frozenset(
    {"python", "python3", "node", "bash", "sh", "zsh", "ruby", "perl", "deno", "bun"}
)

#: A Python hook: gets the same JSON object a command hook reads on stdin, returns what
#: a command hook would print as JSON (or None for "no opinion").
HookCallback = Callable[[dict[str, Any]], Awaitable[dict[str, Any] | None]]


@dataclass(frozen=True, slots=True)
class CommandHook:
    command: str
    timeout_s: float = DEFAULT_TIMEOUT_S
    #: ``<file>: hooks.PreToolUse[0].hooks[1]``
    source: str = ""
    #: The ``if`` condition: the hook runs only for tool calls this rule matches.
    condition: PermissionRule | None = None

    @property
    def label(self) -> str:
        return self.command


@dataclass(frozen=True, slots=True)
class HttpHook:
    """``{"type": "http"}``: the hook input is POSTed as JSON to ``url``; the response
    body is read like a command's stdout (see ``webhook``)."""

    url: str
    headers: tuple[tuple[str, str], ...] = ()
    #: The variables ``$NAME`` / ``${NAME}`` in header values may name; others are "".
    allowed_env_vars: frozenset[str] = frozenset()
    timeout_s: float = DEFAULT_TIMEOUT_S
    source: str = ""
    condition: PermissionRule | None = None

    @property
    def label(self) -> str:
        return self.url


@dataclass(frozen=True, slots=True)
class CallbackHook:
    callback: HookCallback
    name: str
    timeout_s: float = DEFAULT_TIMEOUT_S
    source: str = "python"
    condition: PermissionRule | None = None

    @property
    def label(self) -> str:
        return self.name


Hook = CommandHook | HttpHook | CallbackHook


@dataclass(frozen=True)
class HookMatcher:
    event: str
    matcher: str | None
    hooks: tuple[Hook, ...]
    _regex: re.Pattern[str] | None = field(default=None, compare=False)
    _names: frozenset[str] | None = field(default=None, compare=False)

    @classmethod
    def build(cls, event: str, matcher: str | None, hooks: tuple[Hook, ...]) -> HookMatcher:
        """Raises ``re.error`` for a matcher that is neither a name list nor a regex."""
        text = (matcher or "").strip()
        if text in ("", "*") or event not in MATCH_FIELDS:
            return cls(event, matcher, hooks)
        if _NAME_LIST.match(text):
            names = frozenset(n.strip() for n in re.split(r"[|,]", text) if n.strip())
            return cls(event, matcher, hooks, _names=names)
        return cls(event, matcher, hooks, _regex=re.compile(text))

    def matches(self, value: str | None) -> bool:
        if self._names is not None:
            return value in self._names
        if self._regex is not None:
            return value is not None and self._regex.search(value) is not None
        return True


def hooks_from_settings(
    settings: Settings, project_dir: Path
) -> tuple[list[HookMatcher], list[str]]:
    """Every ``hooks`` section, validated; returns the matchers and the problems."""
    matchers: list[HookMatcher] = []
    problems: list[str] = []
    for section, source in settings.sections("hooks"):
        where = f"{source.label}: hooks"
        if not isinstance(section, dict):
            problems.append(f"{where}: must be a mapping of hook events; ignored")
            continue
        for event, entries in section.items():
            if event not in HOOK_EVENTS:
                problems.append(
                    f"{where}.{event}: unknown hook event (known: {', '.join(HOOK_EVENTS)}); "
                    "ignored"
                )
                continue
            if not isinstance(entries, list):
                problems.append(f"{where}.{event}: must be a list of matchers; ignored")
                continue
            for index, entry in enumerate(entries):
                label = f"{where}.{event}[{index}]"
                matcher = _matcher(event, entry, label, project_dir, problems)
                if matcher is not None:
                    matchers.append(matcher)
    return matchers, problems


def _matcher(
    event: str, entry: Any, label: str, project_dir: Path, problems: list[str]
) -> HookMatcher | None:
    if not isinstance(entry, dict):
        problems.append(f"{label}: must be a mapping with 'matcher' and 'hooks'; ignored")
        return None
    matcher = entry.get("matcher")
    if matcher is not None and not isinstance(matcher, str):
        problems.append(f"{label}.matcher: must be a string; ignored")
        return None
    raw_hooks = entry.get("hooks")
    if not isinstance(raw_hooks, list) or not raw_hooks:
        problems.append(f"{label}.hooks: must be a non-empty list of hooks; ignored")
        return None
    hooks: list[Hook] = []
    for index, raw in enumerate(raw_hooks):
        hook = _hook(event, raw, f"{label}.hooks[{index}]", project_dir, problems)
        if hook is not None:
            hooks.append(hook)
    if not hooks:
        return None
    try:
        return HookMatcher.build(event, matcher, tuple(hooks))
    except re.error as exc:
        problems.append(f"{label}.matcher: {matcher!r} is not a valid regex ({exc}); ignored")
        return None


def _hook(event: str, raw: Any, label: str, project_dir: Path, problems: list[str]) -> Hook | None:
    if not isinstance(raw, dict):
        problems.append(f"{label}: must be a mapping like {{type: command, command: ...}}; ignored")
        return None
    kind = raw.get("type", "command")
    if kind not in ("command", "http"):
        problems.append(
            f"{label}: hook type {kind!r} is not supported (only 'command' and 'http'); ignored"
        )
        return None
    timeout = raw.get("timeout", DEFAULT_TIMEOUT_S)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        problems.append(
            f"{label}.timeout: must be a positive number of seconds, not {timeout!r}; "
            f"using {DEFAULT_TIMEOUT_S:g}"
        )
        timeout = DEFAULT_TIMEOUT_S
    condition = _condition(event, raw.get("if"), label, problems)
    if condition is False:
        return None
    rule = condition if isinstance(condition, PermissionRule) else None
    if kind == "http":
        return _http_hook(raw, label, float(timeout), rule, problems)
    command = raw.get("command")
    if not isinstance(command, str) or not command.strip():
        problems.append(f"{label}.command: missing or empty; ignored")
        return None
    missing = missing_program(command, project_dir)
    if missing:
        problems.append(f"{label}: {missing}; the hook will fail each time it runs")
    return CommandHook(command, float(timeout), label, rule)


def _condition(
    event: str, text: Any, label: str, problems: list[str]
) -> PermissionRule | bool | None:
    """The ``if`` rule; None without one; False when the hook is to be dropped."""
    if text is None:
        return None
    if event not in TOOL_EVENTS:
        problems.append(
            f"{label}.if: only tool events ({', '.join(sorted(TOOL_EVENTS))}) check 'if'; "
            f"a {event} hook with one never runs (as in Claude Code). Remove 'if' to run it"
        )
        return False
    try:
        return parse_rule(text, "allow", f"{label}.if")
    except RuleError as exc:
        problems.append(
            f"{label}.if: {text!r} is not a permission rule like 'Bash(git *)' ({exc}); ignored"
        )
        return False


def _http_hook(
    raw: dict[str, Any],
    label: str,
    timeout: float,
    condition: PermissionRule | None,
    problems: list[str],
) -> HttpHook | None:
    url = raw.get("url")
    if not isinstance(url, str) or not url.strip().lower().startswith(("http://", "https://")):
        problems.append(f"{label}.url: must be an http:// or https:// URL, not {url!r}; ignored")
        return None
    headers = raw.get("headers", {})
    if not isinstance(headers, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
    ):
        problems.append(f"{label}.headers: must map header names to strings; ignored")
        return None
    allowed = raw.get("allowedEnvVars", [])
    if not isinstance(allowed, list) or not all(isinstance(n, str) for n in allowed):
        problems.append(f"{label}.allowedEnvVars: must be a list of variable names; ignored")
        return None
    return HttpHook(
        url.strip(), tuple(headers.items()), frozenset(allowed), timeout, label, condition
    )


def command_env(project_dir: Path) -> dict[str, str]:
    """The environment a user's command from the settings runs in (a hook, the status
    line): ours, with ``$CLAUDE_PROJECT_DIR`` (and ``$HARNESS_PROJECT_DIR``) set."""
    return {
        **os.environ,
        "CLAUDE_PROJECT_DIR": str(project_dir),
        "HARNESS_PROJECT_DIR": str(project_dir),
    }


def _expanded(command: str, project_dir: Path) -> str:
    """The command with ``$CLAUDE_PROJECT_DIR`` and friends expanded."""
    env = command_env(project_dir)
    return re.sub(
        r"\$\{(\w+)\}|\$(\w+)",
        lambda m: env.get(m.group(1) or m.group(2), m.group(0)),
        command,
    )


def command_argv(command: str, project_dir: Path) -> list[str] | None:
    """The words of a simple hook command with ``$CLAUDE_PROJECT_DIR`` and friends
    expanded; None for commands too clever to read this way (pipes, substitutions)."""
    expanded = _expanded(command, project_dir)
    if any(c in expanded for c in "|&;<>`"):
        return None
    try:
        argv = shlex.split(expanded)
    except ValueError:
        return None
    if not argv or "$" in argv[0] or "=" in argv[0]:
        return None
    return argv


def _resolve(word: str, folder: Path) -> Path:
    path = Path(word).expanduser()
    return path if path.is_absolute() else folder / path


def script_paths(command: str, project_dir: Path) -> list[Path]:
    """Files a hook command runs (its program when given by path, an interpreter's
    script, and any existing file a word of the command names): they are protected
    from the agent's edits."""
    argv = command_argv(command, project_dir)
    found = _named_files(command, project_dir)
    if argv is None:
        return found
    if "/" in argv[0]:
        found.append(_resolve(argv[0], project_dir))
    script = _script_argument(argv) if Path(argv[0]).name in _INTERPRETERS else None
    if script:
        found.append(_resolve(script, project_dir))
    return found


def _named_files(command: str, project_dir: Path) -> list[Path]:
    """Every existing file a word of the command names, from the project folder or a
    folder it changes to (``cd "$CLAUDE_PROJECT_DIR"/hooks && ./check.sh``), also in
    ``bash -c`` strings: what a command too clever for ``command_argv`` may run."""
    from harness_tui.core.files.regular import files_named
    from harness_tui.core.shell.commands import command_of, inner_commands
    from harness_tui.core.shell.split import UnparsableCommand, split_command
    from harness_tui.core.shell.words import decode_word

    home = os.environ.get("HOME")
    try:
        parts = inner_commands(split_command(_expanded(command, project_dir)), home)
    except UnparsableCommand:
        return []
    words = [decode_word(word, home) for part in parts for word in [*part.words, *part.writes]]
    folders = [project_dir] + [
        _resolve(argv[1], project_dir)
        for argv in (command_of(part, home).argv for part in parts)
        if len(argv) > 1 and argv[0] in ("cd", "pushd") and argv[1] is not None
    ]
    return files_named([w for w in words if w], folders)


def missing_program(command: str, project_dir: Path) -> str | None:
    """Why a hook command cannot run (its program or script is not there), or None.
    Commands too clever to read this way are given the benefit of the doubt."""
    argv = command_argv(command, project_dir)
    if argv is None:
        return None
    program = argv[0]
    if "/" in program:
        path = _resolve(program, project_dir)
        if not path.exists():
            return f"command {program!r} not found ({path} does not exist)"
    elif shutil.which(program) is None:
        return f"command {program!r} not found on the PATH"
    script = _script_argument(argv) if Path(program).name in _INTERPRETERS else None
    if script:
        path = _resolve(script, project_dir)
        if not path.exists():
            return f"script {script!r} not found ({path} does not exist)"
    return None


def _script_argument(argv: list[str]) -> str | None:
    """The script an interpreter is asked to run (``python3 check.py``), if any."""
    for arg in argv[1:]:
        if arg in ("-c", "-m", "-e", "--eval", "-p", "--print"):
            return None  # code or a module, not a file
        if arg.startswith("-"):
            continue
        looks_like_file = "/" in arg or "." in Path(arg).name
        return arg if looks_like_file and "$" not in arg else None
    return None
