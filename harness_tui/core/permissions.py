"""The permission engine: may this tool call run, and if nobody said, ask.

``PermissionEngine.decide`` is the whole policy, in this order:

1. a path no file can have (NUL byte) is refused;
2. ``deny`` rules (any sub-command of a compound Bash command, a file path as written
   or as really resolved, a Bash output redirection checked like an edit);
3. ``bypassPermissions`` allows everything else;
4. ``plan`` mode refuses edits and commands (the model is told why);
5. ``ask`` rules;
6. protected files (settings, ``.mcp.json``, hook scripts, plugin manifests): writing
   them always asks, even when they do not exist yet;
7. ``allow`` rules (for Bash: every sub-command allowed on its own; for files: the real
   path), including those the user granted for this session;
8. a file outside the workspace and ``additionalDirectories`` asks;
9. the mode: reads run; edits run in ``acceptEdits`` and ask in ``default``; commands
   and network access ask.

``check`` (the executor's gate) turns an *ask* into a ``PERMISSION_REQUESTED`` through
the ``PermissionBroker`` (``permission_broker``) and remembers "allow for the session"
and "always allow" (the latter is written to ``.harness/settings.local.yaml``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio

from harness_tui.core import paths
from harness_tui.core.command_split import SimpleCommand, UnparsableCommand, split_command
from harness_tui.core.config_files import ConfigFileError, load_config_file
from harness_tui.core.permission_broker import (
    PERMISSION_DECISIONS,
    Answer,
    AskPolicy,
    PermissionBroker,
)
from harness_tui.core.permission_rules import (
    PATH_RULE_FAMILIES,
    Behavior,
    PathContext,
    PermissionRule,
    RuleSet,
    bash_rule_matches,
    domain_rule_matches,
    path_rule_matches,
    path_rule_matches_real,
    tool_rule_matches,
    wildcard_matches,
)
from harness_tui.core.tools.base import Tool, ToolContext, input_path
from harness_tui.core.tools.executor import ALLOW, GateVerdict

log = logging.getLogger(__name__)

__all__ = [
    "PERMISSION_DECISIONS",
    "Answer",
    "AskPolicy",
    "Decision",
    "PermissionBroker",
    "PermissionEngine",
    "is_protected",
    "save_allow_rules",
]

#: Where "always allow" writes its rules (relative to the project root).
ALWAYS_ALLOW_FILE = Path(".harness") / "settings.local.yaml"
_FOLDER_CHANGERS = frozenset({"cd", "pushd", "popd"})


@dataclass(frozen=True, slots=True)
class Decision:
    """The engine's verdict on one call."""

    behavior: Behavior
    reason: str
    #: Rules that "allow for the session" / "always allow" would add.
    suggestions: tuple[str, ...] = ()
    #: Protected files the call writes (asks that no rule can silence).
    protected: tuple[Path, ...] = ()


@dataclass(frozen=True, slots=True)
class _Target:
    """A file or folder a call touches: as written and as really resolved."""

    path: Path
    real: Path
    write: bool


class PermissionEngine:
    """Mode, rules, workspace boundary and protected files: the gate of one session."""

    def __init__(
        self,
        broker: PermissionBroker,
        ruleset: RuleSet | None = None,
        *,
        cwd: Path,
        project_root: Path | None = None,
        protected_files: Iterable[Path] = (),
    ) -> None:
        self.broker = broker
        self.ruleset = ruleset or RuleSet()
        self.cwd = cwd
        self.where = PathContext(cwd, project_root or cwd, Path.home())
        #: Granted with "allow for the session" (and "always allow").
        self.session_rules: list[PermissionRule] = []
        #: Protected files the user let the agent write for the rest of the session.
        self.protected_allowed: set[Path] = set()
        self.protected_files = {Path(os.path.realpath(p)) for p in protected_files}

    # --- configuration -----------------------------------------------------------------

    def hidden_tools(self) -> set[str]:
        """Tools a bare ``deny`` rule removes from the model's view."""
        return {r.tool for r in self.ruleset.of("deny") if r.content is None}

    def read_filter(self) -> Callable[[Path], bool] | None:
        """A test "does a ``Read`` deny rule cover this file?", or None when no such
        rule exists. The search tools apply it to every file they would show, so Grep
        and Glob cannot reveal what Read may not."""
        contents = [r.content for r in self.ruleset.of("deny") if r.tool == "Read" and r.content]
        if not contents:
            return None
        where = self.where

        def denied(path: Path) -> bool:
            return any(path_rule_matches(content, path, where) for content in contents)

        return denied

    def workspace(self) -> list[Path]:
        return [Path(os.path.realpath(self.cwd)), *self.ruleset.additional_directories]

    # --- the decision ------------------------------------------------------------------

    def decide(
        self, tool: Tool, input: dict[str, Any], mode: str, *, shell_cwd: Path | None = None
    ) -> Decision:
        """The verdict for one call by rules and mode alone (no hooks, no asking)."""
        access = tool.access_kind
        unparsable: str | None
        try:
            targets = self._targets(tool, input)
            parts = self._bash_parts(tool, input)
            if parts:
                targets += self._redirect_targets(parts, shell_cwd or self.cwd)
        except UnparsableCommand as exc:
            parts = None
            unparsable = str(exc)
        except ValueError as exc:  # a path with a NUL byte
            return Decision("deny", f"{tool.name} refused: {exc}")
        else:
            unparsable = None

        denied = self._first(tool, input, "deny", targets, parts)
        if denied is not None:
            return Decision("deny", f"the rule {denied} ({denied.source}) denies this")
        if mode == "bypassPermissions":
            return Decision("allow", "bypassPermissions mode")
        if mode == "plan" and access in ("edit", "exec"):
            return Decision(
                "deny",
                f"the session is in plan mode (read-only): {tool.name} may not run. "
                "Describe the change instead; the user can leave plan mode to apply it.",
            )
        suggestions = self._suggestions(tool, input, parts, targets)
        asked = self._first(tool, input, "ask", targets, parts)
        if asked is not None:
            return Decision("ask", f"the rule {asked} ({asked.source}) asks first", suggestions)
        protected = tuple(
            t.real
            for t in targets
            if t.write and self._is_protected(t) and t.real not in self.protected_allowed
        )
        if protected:
            names = ", ".join(str(p) for p in protected)
            return Decision("ask", f"{names} is protected: writing it always asks", (), protected)
        if parts is not None and _uncertain_writes(parts):
            return Decision(
                "ask", "the command writes to a file whose path is only known when it runs"
            )
        if unparsable is not None:
            if self._allows_whole_command(tool, input):
                return Decision("allow", "an allow rule covers this whole command")
            return Decision(
                "ask", f"the command cannot be checked part by part ({unparsable})", suggestions
            )
        if self._all_allowed(tool, input, targets, parts):
            return Decision("allow", "allowed by a rule")
        outside = [t for t in targets if not self._inside_workspace(t)]
        if outside:
            where = ", ".join(str(t.real) for t in outside)
            return Decision("ask", f"{where} is outside the workspace", suggestions)
        if access == "read":
            return Decision("allow", "reads are allowed")
        if access == "edit" and mode == "acceptEdits":
            return Decision("allow", "acceptEdits mode")
        what = {"edit": "change files", "exec": "run commands", "network": "use the network"}
        return Decision(
            "ask", f"{tool.name} can {what.get(access, 'act')} ({mode} mode)", suggestions
        )

    # --- the gate ----------------------------------------------------------------------

    async def check(
        self,
        tool: Tool,
        input: dict[str, Any],
        ctx: ToolContext,
        *,
        hook_permission: str | None = None,
        hook_reason: str | None = None,
    ) -> GateVerdict:
        """Decide, asking the user where needed. A PreToolUse hook's ``allow`` skips
        the question (deny rules and plan mode still hold); its ``ask`` forces one."""
        decision = self.decide(tool, input, ctx.permission_mode, shell_cwd=_shell_cwd(tool))
        if decision.behavior == "deny":
            return GateVerdict(False, decision.reason)
        if hook_permission == "allow" and decision.behavior == "ask":
            return ALLOW
        if hook_permission == "ask":
            reason = hook_reason or "a PreToolUse hook asks first"
            decision = Decision("ask", reason, decision.suggestions, decision.protected)
        if decision.behavior == "allow":
            return ALLOW
        preview = await tool.preview(input, ctx)
        answer = await self.broker.ask(
            tool,
            input,
            ctx,
            decision.reason,
            rule=", ".join(decision.suggestions) or None,
            preview=preview,
        )
        if not answer.allowed:
            return GateVerdict(False, answer.reason or "the user said no")
        if answer.decision in ("allow_session", "allow_always"):
            self.protected_allowed.update(decision.protected)
            await self._grant(decision.suggestions, always=answer.decision == "allow_always")
        return ALLOW

    async def _grant(self, rules: Iterable[str], *, always: bool) -> None:
        from harness_tui.core.permission_rules import parse_rule

        new = [parse_rule(text, "allow", "session") for text in rules]
        self.session_rules.extend(new)
        if always and new:
            problem = await anyio.to_thread.run_sync(
                save_allow_rules, self.where.project_root / ALWAYS_ALLOW_FILE, [str(r) for r in new]
            )
            if problem:
                await self.broker.notice(problem)

    # --- matching helpers --------------------------------------------------------------

    def _targets(self, tool: Tool, input: dict[str, Any]) -> list[_Target]:
        write = tool.access_kind == "edit"
        found = []
        for name in tool.path_fields:
            raw = input.get(name)
            if raw is None:
                raw = "."
            if not isinstance(raw, str):
                continue
            path = input_path(self.cwd, raw)
            found.append(_Target(path, Path(os.path.realpath(path)), write))
        return found

    def _bash_parts(self, tool: Tool, input: dict[str, Any]) -> list[SimpleCommand] | None:
        command = input.get("command")
        if tool.name != "Bash" or not isinstance(command, str):
            return None
        return split_command(command)

    def _redirect_targets(self, parts: list[SimpleCommand], folder: Path) -> list[_Target]:
        found = []
        for part in parts:
            for word in part.writes:
                target = _plain_word(word)
                if target is None or target.startswith("/dev/"):
                    continue
                path = input_path(folder, target)
                found.append(_Target(path, Path(os.path.realpath(path)), True))
        return found

    def _rules(self, behavior: Behavior) -> list[PermissionRule]:
        rules = self.ruleset.of(behavior)
        return rules + self.session_rules if behavior == "allow" else rules

    def _first(
        self,
        tool: Tool,
        input: dict[str, Any],
        behavior: Behavior,
        targets: list[_Target],
        parts: list[SimpleCommand] | None,
    ) -> PermissionRule | None:
        """The first rule of ``behavior`` matching any part of the call."""
        for rule in self._rules(behavior):
            if rule.content is None:
                if tool_rule_matches(rule, tool.name):
                    return rule
                continue
            if rule.tool == "Bash" and tool.name == "Bash":
                command = input.get("command", "")
                texts = [p.text for p in parts] if parts is not None else [command]
                if any(bash_rule_matches(rule.content, t) for t in texts):
                    return rule
            if rule.tool in PATH_RULE_FAMILIES or tool.path_fields:
                if any(
                    self._path_rule_applies(rule, tool, t)
                    and path_rule_matches(rule.content, t.path, self.where)
                    for t in targets
                ):
                    return rule
            elif self._value_rule_matches(rule, tool, input):
                return rule
        return None

    def _path_rule_applies(self, rule: PermissionRule, tool: Tool, target: _Target) -> bool:
        family = PATH_RULE_FAMILIES.get(rule.tool)
        if family is None:
            return rule.tool == tool.name
        if tool.name == "Bash":  # a redirection: it writes the file
            return family == "edit" and target.write
        return family == tool.access_kind

    def _value_rule_matches(self, rule: PermissionRule, tool: Tool, input: dict[str, Any]) -> bool:
        assert rule.content is not None
        if rule.tool != tool.name:
            return False
        if tool.name == "WebFetch":
            return domain_rule_matches(rule.content, str(input.get("url", "")))
        field = getattr(tool, "rule_field", None)
        value = input.get(field) if field else None
        return isinstance(value, str) and wildcard_matches(rule.content, value)

    def _all_allowed(
        self,
        tool: Tool,
        input: dict[str, Any],
        targets: list[_Target],
        parts: list[SimpleCommand] | None,
    ) -> bool:
        rules = self._rules("allow")
        if any(r.content is None and tool_rule_matches(r, tool.name) for r in rules):
            return True
        if tool.name == "Bash":
            if not parts:
                return False
            bash_rules = [r.content for r in rules if r.tool == "Bash" and r.content]
            commands_ok = all(
                any(bash_rule_matches(c, p.text) for c in bash_rules) for p in parts if p.text
            )
            # An allowed command may still write outside the workspace with `>`.
            return commands_ok and all(self._inside_workspace(t) for t in targets)
        if targets:
            return all(
                any(
                    r.content is not None
                    and self._path_rule_applies(r, tool, t)
                    and path_rule_matches_real(r.content, t.path, self.where)
                    for r in rules
                )
                for t in targets
            )
        return any(
            r.content is not None and self._value_rule_matches(r, tool, input) for r in rules
        )

    def _allows_whole_command(self, tool: Tool, input: dict[str, Any]) -> bool:
        command = input.get("command", "")
        return any(r.tool == "Bash" and r.content in (None, command) for r in self._rules("allow"))

    def _inside_workspace(self, target: _Target) -> bool:
        return any(
            target.real == root or target.real.is_relative_to(root) for root in self.workspace()
        )

    def _is_protected(self, target: _Target) -> bool:
        return (
            is_protected(target.path)
            or is_protected(target.real)
            or (target.real in self.protected_files)
        )

    def _suggestions(
        self,
        tool: Tool,
        input: dict[str, Any],
        parts: list[SimpleCommand] | None,
        targets: list[_Target],
    ) -> tuple[str, ...]:
        """The rules that would allow this call next time."""
        if tool.name == "Bash":
            command = str(input.get("command", ""))
            if parts is None:
                return (f"Bash({command})",)
            texts = dict.fromkeys(p.text for p in parts if p.text)
            return tuple(f"Bash({t})" for t in texts)
        if tool.name == "WebFetch":
            from urllib.parse import urlsplit

            host = urlsplit(str(input.get("url", ""))).hostname
            return (f"WebFetch(domain:{host})",) if host else ()
        if targets and tool.access_kind in ("read", "edit"):
            family = "Read" if tool.access_kind == "read" else "Edit"
            return tuple(dict.fromkeys(f"{family}({self._rule_path(t.real)})" for t in targets))
        return (tool.name,)

    def _rule_path(self, real: Path) -> str:
        root = Path(os.path.realpath(self.cwd))
        if real == root:
            return "./**"
        if real.is_relative_to(root):
            return "./" + real.relative_to(root).as_posix()
        return "/" + real.as_posix()


def is_protected(path: Path) -> bool:
    """Settings and configuration files the agent may never write without asking."""
    name = path.name.lower()
    folder = path.parent.name.lower()
    if name == ".mcp.json" or name in ("plugin.yaml", "plugin.yml"):
        return True
    if folder == ".harness" and name.startswith("settings"):
        return True
    if folder == ".claude" and name.startswith("settings") and name.endswith(".json"):
        return True
    config = Path(os.path.realpath(paths.config_dir()))
    return path.parent == config and name.startswith("settings")


def _plain_word(word: str) -> str | None:
    """A redirection target as a path, or None when it is computed at run time."""
    if any(c in word for c in "$`*?[{"):
        return None
    if len(word) >= 2 and word[0] == word[-1] and word[0] in "'\"":
        return word[1:-1]
    return word.replace("\\", "")


def _uncertain_writes(parts: list[SimpleCommand]) -> bool:
    """A redirection whose file is only known when the command runs: a computed name,
    or a relative one after the command line changed folder (``cd x && echo > f``)."""
    writes = [word for part in parts for word in part.writes]
    if any(_plain_word(word) is None for word in writes):
        return True
    changes_folder = any(p.text.split(" ", 1)[0] in _FOLDER_CHANGERS for p in parts)
    return changes_folder and any(not word.startswith("/") for word in writes)


def _shell_cwd(tool: Tool) -> Path | None:
    """The Bash tool's current folder (``cd`` persists), for its redirections."""
    current = getattr(tool, "current_folder", None)
    return current() if callable(current) else None


def save_allow_rules(path: Path, rules: list[str]) -> str | None:
    """Add ``rules`` to ``permissions.allow`` of a YAML settings file; a message on
    failure (the file is then left alone)."""
    import yaml

    try:
        data = load_config_file(path, json_format=False)  # bounded like every settings read
    except FileNotFoundError:
        data = None
    except ConfigFileError as exc:
        return f"could not save the rule to {path}: {exc.reason}; it applies to this session only"
    if data is None:
        data = {}
    if not isinstance(data, dict):
        return f"could not save the rule to {path}: the file is not a mapping"
    section = data.setdefault("permissions", {})
    if not isinstance(section, dict):
        return f"could not save the rule to {path}: permissions is not a mapping"
    allow = section.setdefault("allow", [])
    if not isinstance(allow, list):
        return f"could not save the rule to {path}: permissions.allow is not a list"
    allow.extend(r for r in rules if r not in allow)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        os.replace(temporary, path)
    except OSError as exc:
        return f"could not save the rule to {path}: {exc.strerror}; it applies to this session only"
    return None
