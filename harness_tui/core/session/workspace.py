"""The folder a session works in: whether it is trusted, its settings, and what those
and the extensions (plugins, skills, sub-agents, commands, instructions) add to the
session: permission rules, hooks, tools, MCP servers, a system prompt section.

An untrusted folder's own settings, hooks and plugins are not loaded (its deny and ask
rules hold all the same); the session asks (``TRUST_REQUESTED``) and, when trusted then,
loads them on the spot (``resolve_trust``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import anyio

from harness_tui.core.config.settings import Settings, load_settings, restrictions_of_project
from harness_tui.core.config.trust import TrustStore, project_config_found
from harness_tui.core.errors import HarnessError
from harness_tui.core.event_store import EventStore
from harness_tui.core.events import (
    PERMISSION_MODES,
    Notice,
    PermissionMode,
    TrustRequested,
    TrustResolved,
)
from harness_tui.core.extensions.commands import Expansion
from harness_tui.core.extensions.load import Extensions, load_extensions
from harness_tui.core.extensions.plugins import with_plugin_models
from harness_tui.core.extensions.plugins.plugin_hooks import is_plugin_hook
from harness_tui.core.extensions.skills import Skill, SkillTool
from harness_tui.core.files.mentions import attach_files
from harness_tui.core.hooks.config import hooks_from_settings, script_paths
from harness_tui.core.hooks.fire import ElicitationHooks, instructions_loaded
from harness_tui.core.hooks.pipeline import HookOutcome, HookPipeline
from harness_tui.core.images.intake import CheckedImage
from harness_tui.core.images.store import ImageStore
from harness_tui.core.mcp import McpManager
from harness_tui.core.messages import ImageBlock, UserMessage
from harness_tui.core.permissions.engine import AskPolicy, PermissionBroker, PermissionEngine
from harness_tui.core.permissions.gate import HookedGate
from harness_tui.core.permissions.rules import (
    PermissionRule,
    RuleError,
    parse_rule,
    rules_from_settings,
)
from harness_tui.core.run.controller import prompt_message
from harness_tui.core.run.steering import QueuedMessage
from harness_tui.core.run.subagents import TaskTool
from harness_tui.core.run.turn_host import RunOwner
from harness_tui.core.storage.saved import session_path
from harness_tui.core.tools import ToolExecutor, ToolGate, builtin_tools
from harness_tui.core.tools.base import Tool
from harness_tui.core.tools.shell import BashTool

log = logging.getLogger(__name__)


def check_mode(mode: str) -> PermissionMode:
    """``mode`` if it is a permission mode; else ``HarnessError``."""
    if mode not in PERMISSION_MODES:
        raise HarnessError(
            f"unknown permission mode {mode!r}", hint="use one of " + ", ".join(PERMISSION_MODES)
        )
    return mode


Emit = Callable[..., Awaitable[Any]]


class Workspace:
    """A session's folder, its trust, its settings and extensions, and what they
    decide for the session (``wire``): its permission rules and questions, its hooks,
    its tools and its MCP servers."""

    def __init__(
        self,
        cwd: Path,
        *,
        trusted: bool | None,
        settings: Settings | None,
        tools: Iterable[Tool] | None,
    ) -> None:
        """``trusted``: None, as remembered by ``TrustStore``. ``settings``: already
        loaded by the caller (who reports their problems); by default read here."""
        self.cwd = cwd
        self.trusted = TrustStore().is_trusted(cwd) if trusted is None else trusted
        #: Problems found while loading, for the session to tell when it opens.
        self.notices: list[str] = []
        if settings is None:
            settings = load_settings(cwd, include_project=self.trusted)
            self.notices += settings.problems
        self._base_tools = builtin_tools() if tools is None else list(tools)
        if tools is None:  # the built-ins: memory's tool with them
            self._base_tools.append(self._memory_tool(settings))
        # Plugins, skills, sub-agents, slash commands and project instructions.
        self.extensions: Extensions = load_extensions(
            cwd,
            trusted=self.trusted,
            taken={t.name: "a built-in tool" for t in self._base_tools},
        )
        self.notices += self.extensions.problems
        self.settings = with_plugin_models(settings, self.extensions.plugins.model_sources())
        self.trust_pending = False
        #: Allow rules of a slash command's or skill's ``allowed-tools``, for one run.
        self._run_grants: list[PermissionRule] = []
        self._group: anyio.abc.TaskGroup | None = None

    def _memory_tool(self, settings: Settings) -> Tool:
        from harness_tui.core.memory.tool import MemoryTool, writes_setting

        try:
            return MemoryTool(writes_setting(settings))
        except HarnessError as exc:  # a bad value: said, and writes stay visible
            self.notices.append(f"{exc.message}; memory writes are shown as notices")
            return MemoryTool()

    def wire(
        self,
        owner: RunOwner,
        *,
        store: EventStore,
        gate: ToolGate | None,
        ask_policy: AskPolicy,
        mode: Callable[[], PermissionMode],
        request_halt: Callable[[str], None],
    ) -> None:
        """Build what the folder's configuration decides for ``owner`` (the session):
        its permission questions and rules, its hooks, its tools (the gate they pass:
        ``gate``, by default the rules and hooks) and its MCP servers."""
        emit, cwd = owner.emit, self.cwd
        self._owner, self._emit, self._mode = owner, emit, mode
        self.permissions = PermissionBroker(emit, ask_policy)
        self.permissions.on_question = self._notify
        self.engine = PermissionEngine(self.permissions, cwd=cwd)
        from harness_tui.core.sandbox.manager import Sandbox

        #: The Bash sandbox (off unless the settings turn it on).
        self.sandbox = Sandbox(cwd, emit, broker=self.permissions)
        self.engine.sandboxed = self.sandbox.auto_allows
        self.hooks = HookPipeline(
            emit=emit,
            session_id=owner.id,
            cwd=cwd,
            transcript_path=str(session_path(owner.id)),
            permission_mode=mode,
        )
        self.hooks.matchers += self.extensions.plugins.hook_matchers()
        self.hooks.condition = self._hook_condition
        self.notices += self.configure(self.settings)
        for tool in self._base_tools:
            if isinstance(tool, BashTool):
                tool.confine = self.sandbox.confine
        self.executor = ToolExecutor(
            [*self._base_tools, *self.tools(self._base_tools, owner)],
            gate=gate or HookedGate(self.engine, self.hooks, request_stop=request_halt),
        )
        #: MCP servers: started with the session, in its task group (see core/mcp).
        self.mcp = McpManager(
            session_id=owner.id,
            cwd=cwd,
            emit=emit,
            emit_session=lambda cls, /, **fields: store.append(cls(session_id=owner.id, **fields)),
            executor=self.executor,
            model=lambda: owner.model,
            roots=self.engine.workspace,
            can_ask=lambda: self.permissions.policy != "deny",
        )
        self.notices += self.mcp.configure(self.settings, trusted=self.trusted)
        self.mcp.requests.elicit_hooks = ElicitationHooks(self.hooks)
        self.engine.run_files = self.server_files

    def offer_tasks(self, tasks: Any, executor: ToolExecutor, engine: PermissionEngine) -> None:
        """Background tasks: the session's Bash starts them (``run_in_background``),
        ``TaskStop`` ends them, and ``Read`` reads their output files without asking."""
        bash = [t for t in self._base_tools if isinstance(t, BashTool)]
        if not bash:
            return
        for tool in bash:
            tool.tasks = tasks
        from harness_tui.core.tasks.tool import TaskStopTool

        if "TaskStop" not in {t.name for t in self._base_tools}:
            executor.add(TaskStopTool(tasks))
        engine.readable.append(tasks.output_folder)

    def tools(self, base: Sequence[Tool], owner: RunOwner) -> list[Tool]:
        """The plugins' tools, Skill (when there are skills) and Task (to start
        sub-agents of ``owner``), unless ``base`` has those names."""
        return [*self.extensions.plugins.tools(), *self._own_tools(base, owner)]

    def _own_tools(self, base: Sequence[Tool], owner: RunOwner) -> list[Tool]:
        names = {t.name for t in base}
        tools: list[Tool] = []
        if self.extensions.skills.model_invocable and "Skill" not in names:
            tools.append(SkillTool(self.extensions.skills, self._skill_loaded))
        if "Task" not in names:
            tools.append(TaskTool(self.extensions.agents, owner))
        return tools

    def configure(self, settings: Settings) -> list[str]:
        """Take permission rules and hooks from ``settings``; the problems found."""
        ruleset = rules_from_settings(settings, self.cwd)
        if not self.trusted:  # the project's deny and ask rules hold all the same
            project = restrictions_of_project(self.cwd)
            restricting = rules_from_settings(project, self.cwd)
            ruleset.rules += restricting.rules
            # A project file that cannot be read is said: its deny rules do not hold.
            ruleset.problems += project.problems + restricting.problems
        matchers, hook_problems = hooks_from_settings(settings, self.cwd)
        self.settings = settings
        self.engine.ruleset = ruleset
        # The scripts that hooks and the status line run: the agent may not edit them
        # without asking (an edit would run as the user's own command, unasked).
        commands = [getattr(hook, "command", "") for m in matchers for hook in m.hooks]
        status_line = settings.value("statusLine")
        if status_line is not None and isinstance(status_line[0], dict):
            commands.append(str(status_line[0].get("command", "")))
        self.engine.protected_files = {
            Path(os.path.realpath(path))
            for command in commands
            for path in script_paths(command, self.cwd)
        }
        sandbox_problems = self.sandbox.configure(
            settings,
            ruleset,
            extra_roots=ruleset.additional_directories,
            protected_files=self.engine.protected_files,
        )
        # Python callbacks and plugins' hooks stay; hooks from settings are replaced.
        callbacks = [
            m
            for m in self.hooks.matchers
            if m.hooks and (m.hooks[0].source == "python" or is_plugin_hook(m.hooks[0]))
        ]
        self.hooks.matchers = matchers + callbacks
        return ruleset.problems + hook_problems + sandbox_problems

    async def open(self, group: anyio.abc.TaskGroup, source: str) -> str:
        """The session opens: ask about trust, add the plugins' MCP servers, run the
        ``SessionStart`` hooks (the context they add to the system prompt is returned)
        and start the MCP servers in ``group`` (in the background: nothing waits)."""
        self._group = group
        self.sandbox.group = group
        await self.ask_trust(can_ask=self.permissions.policy != "deny")
        await self.add_mcp_servers(self.extensions.plugins.mcp_servers())
        context = await self.session_start_hooks(source)
        await instructions_loaded(self.hooks, self.extensions.instructions.files)
        await self.mcp.start(group)
        return context

    async def close(self, reason: str = "other") -> None:
        """The session closes: its ``SessionEnd`` hooks (``reason``: Claude Code's, as
        ``clear`` or ``resume``), then its MCP servers stop."""
        self._group = None
        await self.hooks.run("SessionEnd", {"reason": reason})
        await self.mcp.aclose()
        await self.sandbox.aclose()

    def _hook_condition(self, rule: Any, tool_name: str, tool_input: dict[str, Any]) -> bool:
        """A hook's ``if`` rule, matched by the permission engine (an unknown tool:
        by name alone)."""
        tool = self.executor.tools.get(tool_name)
        if tool is None:
            return rule.tool == tool_name and rule.content is None
        return self.engine.rule_matches(rule, tool, tool_input)

    def _notify(self, message: str) -> None:
        """Run the ``Notification`` hooks in the background (a desktop alert, say)."""
        if self._group is not None and self.hooks.matching("Notification", "permission_prompt"):
            self._group.start_soon(
                self.hooks.run,
                "Notification",
                {"message": message, "notification_type": "permission_prompt"},
            )

    # --- trust ----------------------------------------------------------------------

    async def ask_trust(self, can_ask: bool) -> None:
        """An untrusted folder with configuration of its own: ``TRUST_REQUESTED`` (a
        warning notice instead when nobody can answer)."""
        self.trust_pending = False
        if self.trusted:
            return
        found = project_config_found(self.cwd)
        if not found:
            return
        if not can_ask:
            await self._emit(
                Notice,
                message=f"This folder is not trusted, so its project configuration "
                f"({', '.join(found)}) was not loaded. Run with --trust to trust it.",
                level="warning",
            )
            return
        self.trust_pending = True
        await self._emit(TrustRequested, folder=str(self.cwd), found=tuple(found))

    async def resolve_trust(
        self, trusted: bool, remember: bool, source: str, *, skills_to_prompt: bool
    ) -> str:
        """Answer the trust question; when trusted, load the folder's settings, hooks and
        plugins into the session now. Returns what to add to the system prompt: the
        project plugins' skills (``skills_to_prompt``: the prompt is the default one)
        and the new SessionStart hooks' context."""
        if not self.trust_pending:
            raise HarnessError("no open trust question", hint="trust is asked once per folder")
        self.trust_pending = False
        if trusted and remember:
            TrustStore().trust(self.cwd)
        await self._emit(
            TrustResolved, folder=str(self.cwd), trusted=trusted, remembered=trusted and remember
        )
        if not trusted:
            return ""
        self.trusted = True
        settings = load_settings(self.cwd, include_project=True)
        before = list(self.hooks.matchers)
        executor = self.executor
        plugins, skills_section = self.extensions.trust_project(
            dict.fromkeys(executor.tools, "a tool of this session")
        )
        own = self._own_tools(list(executor.tools.values()), self._owner)
        for tool in [*plugins.tools(), *own]:
            executor.add(tool)
        self.hooks.matchers += plugins.hook_matchers()
        settings = with_plugin_models(settings, self.extensions.plugins.model_sources())
        for problem in settings.problems + plugins.problems + self.configure(settings):
            await self._emit(Notice, message=problem, level="warning")
        await self.add_mcp_servers(plugins.mcp_servers())
        added = [m for m in self.hooks.matchers if m not in before]
        context = await self.session_start_hooks(source, only=added)
        for problem in self.mcp.configure(settings, trusted=True):
            await self._emit(Notice, message=problem, level="warning")
        await self.mcp.roots_changed(self.engine.workspace())
        skills = "\n\n" + skills_section if skills_section and skills_to_prompt else ""
        return skills + context

    # --- what the workspace adds ----------------------------------------------------

    async def session_start_hooks(self, source: str, only: list[Any] | None = None) -> str:
        """Run the ``SessionStart`` hooks (``only`` those); the context they add, for
        the system prompt ("" for none)."""
        hooks = self.hooks
        if only is not None:
            hooks = HookPipeline(
                only,
                emit=self._emit,
                session_id=hooks.session_id,
                cwd=self.cwd,
                transcript_path=hooks.transcript_path,
                permission_mode=self._mode,
            )
        fields = {"source": source, "model": self._owner.model.name}
        outcome = await hooks.run("SessionStart", fields)
        if not outcome.context:
            return ""
        return "\n\nContext from SessionStart hooks:\n" + outcome.additional_context

    async def add_mcp_servers(
        self, servers: dict[str, dict[str, Any]], source: str = "plugin server"
    ) -> None:
        """Hand plugins' (or an editor's, ``source``) MCP servers (``.mcp.json``-shaped
        ``{name: config}``) to the MCP client; a bad entry or a name already taken
        becomes a warning notice."""
        from harness_tui.core.mcp import McpConfigError

        for name, config in servers.items():
            try:
                warnings = self.mcp.add_server(name, config, source=f"{source} {name!r}")
            except (McpConfigError, HarnessError) as exc:
                warnings = [str(exc)]
            for warning in warnings:
                await self._emit(Notice, message=warning, level="warning")

    def server_files(self) -> list[Path]:
        """The files stdio MCP servers run (a program given by path, scripts among the
        arguments): protected from the agent's edits, like hooks' scripts."""
        from harness_tui.core.files.regular import files_named

        return [
            path
            for connection in self.mcp.connections.values()
            for path in files_named(
                [connection.config.command or "", *connection.config.args],
                [Path(connection.config.cwd or self.cwd)],
            )
        ]

    async def prompt_message(
        self, prompt: QueuedMessage, queued: bool, hooked: HookOutcome
    ) -> UserMessage:
        """The prompt as the model gets it: with what it mentions attached."""
        return prompt_message(prompt, queued, hooked, await self.attach_mentions(prompt.text))

    async def attach_image(self, store: ImageStore, data: bytes, name: str) -> ImageBlock:
        """Check an image and keep it in ``store``; ``ImageError`` says why not."""
        from harness_tui.core.images.intake import check_image

        return await anyio.to_thread.run_sync(lambda: self._keep(store, check_image(data, name)))

    async def attach_image_file(self, store: ImageStore, path: Path) -> ImageBlock:
        """``attach_image`` for a file the user names (relative to the folder). Outside
        the workspace too (screenshots live in ~/Pictures or /tmp), but never one a
        ``Read`` deny rule covers."""
        from harness_tui.core.images.intake import read_image_file

        def read() -> ImageBlock:
            full = self.cwd / path.expanduser()
            return self._keep(store, read_image_file(full, self.engine.read_filter(), str(path)))

        return await anyio.to_thread.run_sync(read)

    def _keep(self, store: ImageStore, checked: CheckedImage) -> ImageBlock:
        """Store a checked image, and fit it for the current model while it is decoded
        (blocking): the next request finds it fitted (``images.request.fitted``)."""
        from harness_tui.core.images.request import fitted

        block = store.put(checked)
        limits = self._owner.model.images
        if limits is not None:
            fitted(block, checked.data, limits, checked.pixels)
        return block

    async def attach_image_mentions(self, text: str) -> list[ImageBlock]:
        """The image files a prompt mentions (``@shot.png``), kept in the session's
        store; a mention that cannot be attached becomes a warning notice. A word that
        names no file is left alone, as for text files."""
        from harness_tui.core.files.mentions import image_mentions
        from harness_tui.core.images.intake import ImageError

        if "@" not in text:
            return []

        def existing() -> list[str]:
            return [m for m in image_mentions(text) if (self.cwd / Path(m).expanduser()).exists()]

        found = []
        for mention in await anyio.to_thread.run_sync(existing):
            try:
                found.append(await self.attach_image_file(self._owner.images, Path(mention)))
            except ImageError as exc:
                await self._emit(Notice, message=f"@{exc}", level="warning")
        return found

    async def attach_mentions(self, text: str) -> list[tuple[str, str]]:
        """The files, folders (``@path``) and MCP resources (``@server:uri``) a prompt
        mentions, read, as ``(mention, contents)``; then the attached MCP resources
        that changed since the last prompt (see ``mcp.resource_watch``)."""
        if "@" not in text:
            return self.mcp.changed_resources()
        engine = self.engine
        files = await anyio.to_thread.run_sync(
            attach_files, text, self.cwd, engine.workspace(), engine.read_filter()
        )
        for notice in files.notices:
            await self._emit(Notice, message=notice, level="warning")
        if files.attached:
            await self._emit(Notice, message=files.summary())
        resources = await self.mcp.attach_mentions(text)
        changed = self.mcp.changed_resources(mention for mention, _ in resources)
        return [*files.attached, *resources, *changed]

    def expand(self, name: str, arguments: str) -> Expansion:
        """``/name arguments`` as a prompt (a custom slash command or a user-invocable
        skill); ``HarnessError`` for a name that no command or skill has."""
        expansion = self.extensions.expand(name, arguments)
        if expansion is None:
            raise HarnessError(f"unknown command /{name}", hint="/help lists the commands")
        return expansion

    # --- grants for one run ---------------------------------------------------------

    async def _skill_loaded(self, skill: Skill) -> None:
        if skill.trusted:
            self.grant_for_run(skill.allowed_tools, f"allowed-tools of the skill {skill.name}")

    def grant_for_run(self, rules: Sequence[str], source: str) -> None:
        """Allow ``rules`` (a command's or skill's ``allowed-tools``) until the run ends."""
        for text in rules:
            try:
                rule = parse_rule(text, "allow", source)
            except RuleError as exc:
                log.warning("%s: %s: %s", source, text, exc)
                continue
            self._run_grants.append(rule)
            self.engine.session_rules.append(rule)

    def end_run_grants(self) -> None:
        """Take back what a slash command or skill granted for its run."""
        if self._run_grants:
            granted, self._run_grants = self._run_grants, []
            self.engine.session_rules = [
                r for r in self.engine.session_rules if not any(r is g for g in granted)
            ]
