"""The permission engine: may this tool call run, and if nobody said, ask.

``PermissionEngine.decide`` is the whole policy, in this order:

1. a path no file can have (NUL byte) is refused;
2. ``deny`` rules (any sub-command of a compound Bash command, also inside ``bash -c``
   and ``eval``, however its name is quoted or wrapped; a file path as written or as
   really resolved; a file a Bash command writes, checked like an edit). A ``Read``
   deny rule also refuses the editing tools: they would reveal the file's content;
3. ``bypassPermissions`` allows everything else;
4. ``plan`` mode refuses edits and commands (the model is told why);
5. ``ask`` rules (a ``Read`` ask rule also asks before an edit of the file);
6. protected files (``protected_paths``: what grants permissions or runs code): writing
   them always asks, even when they do not exist yet;
   then a ``Bash`` command the sandbox confines runs, when ``autoAllowBashIfSandboxed``
   (``sandboxed``): what it can write and reach is the sandbox's to limit;
7. a Bash command writing a file whose path is only known when it runs always asks
   (``shell_writes``);
8. ``allow`` rules (for Bash: every sub-command allowed on its own; for files: the real
   path), including those the user granted for this session;
9. a file outside the workspace and ``additionalDirectories`` asks, also when a Bash
   command allowed by a rule writes it;
10. the mode: reads run; edits run in ``acceptEdits`` and ask in ``default``; commands
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
from typing import Any, Protocol

import anyio

from harness_tui.core.permissions.broker import (
    PERMISSION_DECISIONS,
    Answer,
    AskPolicy,
    PermissionBroker,
)
from harness_tui.core.permissions.protected_paths import holds_protected, is_protected
from harness_tui.core.permissions.rules import (
    PATH_RULE_FAMILIES,
    Behavior,
    PathContext,
    PermissionRule,
    RuleSet,
    bash_rule_matches,
    domain_rule_matches,
    path_rule_matches,
    path_rule_matches_real,
    save_allow_rules,
    tool_rule_matches,
    wildcard_matches,
)
from harness_tui.core.permissions.targets import Target, call_targets
from harness_tui.core.shell.commands import command_texts
from harness_tui.core.shell.split import SimpleCommand
from harness_tui.core.tools.base import Tool, ToolContext
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


_PROTECTED_HINT = (
    "a protected file (it grants permissions or runs code) is written only after a yes "
    "to the question, or with --mode bypassPermissions; no rule and no acceptEdits allow it"
)


@dataclass(frozen=True, slots=True)
class Decision:
    """The engine's verdict on one call."""

    behavior: Behavior
    reason: str
    #: Rules that "allow for the session" / "always allow" would add.
    suggestions: tuple[str, ...] = ()
    #: Protected files the call writes (asks that no rule can silence).
    protected: tuple[Path, ...] = ()
    #: What would let the call run where nobody can answer (headless), when the
    #: broker's general advice (an allow rule, acceptEdits) would not.
    hint: str | None = None


class AskHooks(Protocol):
    """The ``PermissionRequest`` hooks (``before_ask``: a verdict instead of the
    question, or None to ask) and ``PermissionDenied`` ones (``denied``: refused with
    nobody to ask; what to add to the reason the model reads). See ``gate``."""

    async def before_ask(
        self, tool: Tool, input: dict[str, Any], ctx: ToolContext, suggestions: tuple[str, ...]
    ) -> GateVerdict | None: ...

    async def denied(
        self, tool: Tool, input: dict[str, Any], ctx: ToolContext, reason: str
    ) -> str | None: ...


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
        #: Files that run when the session (re)starts servers: asked for at each check.
        self.run_files: Callable[[], Iterable[Path]] = lambda: ()
        #: Folders ``Read`` (and the search tools) may read without asking, outside the
        #: workspace: where background tasks write their output (each gives its path).
        self.readable: list[Callable[[], Path]] = []
        #: Does the sandbox confine this ``Bash`` input, with ``autoAllowBashIfSandboxed``?
        self.sandboxed: Callable[[dict[str, Any]], bool] = lambda input: False
        self.ask_hooks: AskHooks | None = None

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
        """The verdict for one call by rules and mode alone (no hooks, no asking).
        ``shell_cwd``: the Bash tool's folder (by default asked of the tool)."""
        access = tool.access_kind
        try:
            call = call_targets(tool, input, self.cwd, shell_cwd)
        except ValueError as exc:  # a path with a NUL byte
            return Decision("deny", f"{tool.name} refused: {exc}")
        targets, parts, home = call.targets, call.parts, call.home

        denied = self._first(tool, input, "deny", targets, parts, home)
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
        asked = self._first(tool, input, "ask", targets, parts, home)
        if asked is not None:
            return Decision("ask", f"the rule {asked} ({asked.source}) asks first", suggestions)
        protected = {
            t.real: why
            for t in targets
            if t.write and t.real not in self.protected_allowed and (why := self._protection(t))
        }
        if protected:
            reason = "; ".join(f"{path} {why}" for path, why in protected.items())
            return Decision(
                "ask", f"{reason}: writing it always asks", (), tuple(protected), _PROTECTED_HINT
            )
        if tool.name == "Bash" and self.sandboxed(input):
            return Decision("allow", "the sandbox confines this command (autoAllowBashIfSandboxed)")
        if call.unknown:
            return Decision(
                "ask",
                "the command writes to a file whose path is only known when it runs "
                f"({', '.join(dict.fromkeys(call.unknown))})",
                hint="write the path literally so that it can be checked, or run with "
                "--mode bypassPermissions",
            )
        if call.unparsable is not None:
            if self._allows_whole_command(tool, input):
                return Decision("allow", "an allow rule covers this whole command")
            return Decision(
                "ask",
                f"the command cannot be checked part by part ({call.unparsable})",
                suggestions,
            )
        if self._all_allowed(tool, input, targets, parts):
            return Decision("allow", "allowed by a rule")
        outside = [t for t in targets if t.boundary and not self._inside_workspace(t)]
        if access == "read" and outside and all(self._readable(t) for t in outside):
            outside = []
        if outside:
            where = ", ".join(dict.fromkeys(str(t.real) for t in outside))
            return Decision(
                "ask",
                f"{where} is outside the workspace",
                suggestions,
                hint="add its folder to permissions.additionalDirectories in "
                ".harness/settings.yaml, or run with --mode bypassPermissions",
            )
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
        the question (deny rules, plan mode and protected files still hold); its ``ask``
        forces one."""
        try:
            # In a thread: a folder a command acts on whole is looked through.
            decision = await anyio.to_thread.run_sync(self.decide, tool, input, ctx.permission_mode)
        except Exception as exc:  # a defect in the checks must neither allow nor crash
            log.exception("the permission check of %s failed", tool.name)
            why = f"the permission check failed ({type(exc).__name__}: {exc}); asking instead"
            decision = Decision("ask", why)
        if decision.behavior == "deny":
            return GateVerdict(False, decision.reason)
        if hook_permission == "allow" and decision.behavior == "ask" and not decision.protected:
            return ALLOW  # a protected file asks all the same (only bypassPermissions skips)
        if hook_permission == "ask":
            reason = hook_reason or "a PreToolUse hook asks first"
            decision = Decision(
                "ask", reason, decision.suggestions, decision.protected, decision.hint
            )
        if decision.behavior == "allow":
            return ALLOW
        if self.ask_hooks is not None and not decision.protected:
            hooked = await self.ask_hooks.before_ask(tool, input, ctx, decision.suggestions)
            if hooked is not None:
                return hooked
        preview = await tool.preview(input, ctx)
        answer = await self.broker.ask(
            tool,
            input,
            ctx,
            decision.reason,
            rule=", ".join(decision.suggestions) or None,
            preview=preview,
            hint=decision.hint,
        )
        if not answer.allowed:
            reason = answer.reason or "the user said no"
            if self.broker.policy == "deny" and self.ask_hooks is not None:
                reason += await self.ask_hooks.denied(tool, input, ctx, reason) or ""
            return GateVerdict(False, reason)
        if answer.decision in ("allow_session", "allow_always"):
            self.protected_allowed.update(decision.protected)
            await self._grant(decision.suggestions, always=answer.decision == "allow_always")
        return ALLOW

    async def _grant(self, rules: Iterable[str], *, always: bool) -> None:
        from harness_tui.core.permissions.rules import parse_rule

        new = [parse_rule(text, "allow", "session") for text in rules]
        self.session_rules.extend(new)
        if always and new:
            problem = await anyio.to_thread.run_sync(
                save_allow_rules, self.where.project_root / ALWAYS_ALLOW_FILE, [str(r) for r in new]
            )
            if problem:
                await self.broker.notice(problem)

    def rule_matches(self, rule: PermissionRule, tool: Tool, input: dict[str, Any]) -> bool:
        """Does ``rule`` match this call, as a permission rule would (a hook's ``if``)?
        A command that cannot be read part by part matches (Claude Code runs the hook
        when it cannot tell)."""
        try:
            call = call_targets(tool, input, self.cwd, None)
        except ValueError:
            return True
        if tool.name == "Bash" and call.unparsable is not None:
            return tool_rule_matches(rule, tool.name)
        found = self._first(tool, input, rule.behavior, call.targets, call.parts, call.home, [rule])
        return found is not None

    # --- matching helpers --------------------------------------------------------------

    def _rules(self, behavior: Behavior) -> list[PermissionRule]:
        rules = self.ruleset.of(behavior)
        return rules + self.session_rules if behavior == "allow" else rules

    def _first(
        self,
        tool: Tool,
        input: dict[str, Any],
        behavior: Behavior,
        targets: list[Target],
        parts: list[SimpleCommand] | None,
        home: str | None,
        rules: list[PermissionRule] | None = None,
    ) -> PermissionRule | None:
        """The first ``deny`` or ``ask`` rule (of ``rules``) matching any part of the
        call (a command under every name it may run as)."""
        texts = [str(input.get("command", ""))]
        if parts is not None:
            texts = [text for part in parts for text in command_texts(part, home)]
        for rule in self._rules(behavior) if rules is None else rules:
            if rule.content is None:
                if tool_rule_matches(rule, tool.name):
                    return rule
                continue
            if rule.tool == "Bash" and tool.name == "Bash":
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

    def _path_rule_applies(self, rule: PermissionRule, tool: Tool, target: Target) -> bool:
        family = PATH_RULE_FAMILIES.get(rule.tool)
        if family is None:
            return rule.tool == tool.name
        if tool.name == "Bash":  # a redirection: it writes the file
            return family == "edit" and target.write
        if family == "read" and rule.behavior != "allow" and tool.access_kind == "edit":
            return True  # an edit reveals what it changes: a denied read denies it too
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
        targets: list[Target],
        parts: list[SimpleCommand] | None,
    ) -> bool:
        rules = self._rules("allow")
        bare = any(r.content is None and tool_rule_matches(r, tool.name) for r in rules)
        if tool.name == "Bash":
            bash_rules = [r.content for r in rules if r.tool == "Bash" and r.content]
            commands_ok = bare or (
                bool(parts)
                and all(
                    any(bash_rule_matches(c, p.text) for c in bash_rules)
                    for p in parts or ()
                    if p.text
                )
            )
            # An allowed command may still write outside the workspace (`>`, `cp`):
            # that needs the folder in the workspace or an Edit rule for the file.
            return commands_ok and all(
                self._inside_workspace(t) or self._path_allowed(tool, t, rules)
                for t in targets
                if t.boundary
            )
        if bare:
            return True
        if targets:
            return all(self._path_allowed(tool, t, rules) for t in targets)
        return any(
            r.content is not None and self._value_rule_matches(r, tool, input) for r in rules
        )

    def _path_allowed(self, tool: Tool, target: Target, rules: list[PermissionRule]) -> bool:
        return any(
            r.content is not None
            and self._path_rule_applies(r, tool, target)
            and path_rule_matches_real(r.content, target.path, self.where)
            for r in rules
        )

    def _allows_whole_command(self, tool: Tool, input: dict[str, Any]) -> bool:
        command = input.get("command", "")
        return any(r.tool == "Bash" and r.content in (None, command) for r in self._rules("allow"))

    def _readable(self, target: Target) -> bool:
        """A file in a folder the session's own tools write (task output)."""
        roots = [Path(os.path.realpath(folder())) for folder in self.readable]
        return any(target.real.is_relative_to(root) for root in roots)

    def _inside_workspace(self, target: Target) -> bool:
        return any(
            target.real == root or target.real.is_relative_to(root) for root in self.workspace()
        )

    def _protection(self, target: Target) -> str | None:
        """Why writing ``target`` always asks (a protected file as written or really, or
        a folder acted on whole that holds one), or None."""
        if is_protected(target.path) or is_protected(target.real):
            return "is protected"
        if target.real in self.protected_files or target.real in set(self.run_files()):
            return "runs as a hook or a server, protected"
        if target.tree and holds_protected(target.real, self.protected_files):
            return "holds protected files (settings, skills, hooks...)"
        return None

    def _suggestions(
        self,
        tool: Tool,
        input: dict[str, Any],
        parts: list[SimpleCommand] | None,
        targets: list[Target],
    ) -> tuple[str, ...]:
        """The rules that would allow this call next time."""
        if tool.name == "Bash":
            command = str(input.get("command", ""))
            if parts is None:
                return (f"Bash({command})",)
            texts = dict.fromkeys(p.text for p in parts if p.text)
            # A write outside the workspace needs its own rule, or the grant would not
            # let the same command through next time.
            outside = dict.fromkeys(
                f"Edit({self._rule_path(t.real)})"
                for t in targets
                if t.boundary and not self._inside_workspace(t)
            )
            return tuple(f"Bash({t})" for t in texts) + tuple(outside)
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
