"""Sub-agents: definitions, and the ``Task`` tool that runs one.

A definition is a Markdown file (``.claude/agents/*.md``, ``.harness/agents/*.md``, the
same at user level) or a plugin's ``agents`` entry::

    ---
    name: code-reviewer
    description: When to use this agent.
    tools: Read, Grep, Glob          # absent: all of the parent's tools
    model: inherit                  # or a model name or alias
    ---
    The agent's system prompt.

``Task`` runs one in a fresh context: its own conversation (the prompt only), its own
system prompt, only its tools, and its model. Everything else is the parent's: the
permission mode and rules, the hooks and the permission questions all pass through the
parent's gate, so a sub-agent can never do what its parent may not. Its events go into
the parent's log stamped with ``parent_tool_call_id`` (the Task call's id), so every view
nests them; the parent gets the sub-agent's final answer as the tool result. Task calls
are concurrency-safe, so several in one response run in parallel, and a cancel of the
parent's run reaches every one of them.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import anyio

from harness_tui.core.config import paths
from harness_tui.core.errors import HarnessError
from harness_tui.core.events import Notice, PermissionMode, SubagentCompleted, SubagentStarted
from harness_tui.core.extensions.frontmatter import (
    FrontmatterError,
    as_name_list,
    read_markdown,
    unknown_fields,
)
from harness_tui.core.extensions.frontmatter_fields import Fields
from harness_tui.core.messages import Message, TokenUsage, UserMessage
from harness_tui.core.providers.base import ModelRequest, Provider
from harness_tui.core.run.loop import AgentLoop, RunOutcome
from harness_tui.core.run.steering import SteeringQueue
from harness_tui.core.run.system_prompt import build_system_prompt
from harness_tui.core.tools.base import Tool, ToolContext, ToolResult
from harness_tui.core.tools.executor import ToolExecutor
from harness_tui.core.tools.shell import BashTool

if TYPE_CHECKING:
    from harness_tui.core.config.settings import Settings
    from harness_tui.core.hooks.pipeline import HookPipeline
    from harness_tui.core.permissions.engine import PermissionEngine
    from harness_tui.core.providers.models import ModelChoice

log = logging.getLogger(__name__)

#: The id of the Task call whose sub-agent the current task works for. The session
#: stamps it on every event emitted meanwhile (the sub-agent's own, and those of the
#: hooks and permission questions it causes).
SUBAGENT_CALL: ContextVar[str | None] = ContextVar("harness_subagent_call", default=None)

#: A Stop hook that blocks a sub-agent this many times in a row is overridden.
MAX_SUBAGENT_STOP_BLOCKS = 3
KNOWN_FIELDS = frozenset({"name", "description", "tools", "model", "color"})
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@dataclass(frozen=True)
class AgentDefinition:
    name: str
    description: str
    system_prompt: str
    #: Tool names it may use; None: all of the parent's (except Task).
    tools: tuple[str, ...] | None = None
    #: A model name or alias; None or ``inherit``: the parent's current model.
    model: str | None = None
    #: Where it came from: a file, or ``plugin git``.
    source: str = ""


GENERAL_PURPOSE = AgentDefinition(
    name="general-purpose",
    description=(
        "A general agent for research and multi-step tasks: searching code, reading "
        "files, running commands. Use it to keep long explorations out of your own context."
    ),
    system_prompt=(
        "You are a sub-agent working on one task for another agent. Do the task with the "
        "tools you have, then answer with a complete, self-contained report: the other "
        "agent sees only your final message."
    ),
    source="built-in",
)


@dataclass
class AgentSet:
    agents: dict[str, AgentDefinition] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def add(self, agent: AgentDefinition) -> None:
        first = self.agents.get(agent.name)
        if first is not None and first is not GENERAL_PURPOSE:
            self.problems.append(
                f"{agent.source}: the agent {agent.name!r} is already defined by {first.source}"
            )
            return
        self.agents[agent.name] = agent

    def get(self, name: str) -> AgentDefinition | None:
        return self.agents.get(name)


def agent_folders(cwd: Path) -> list[Path]:
    """Where agent files are looked for, highest precedence first."""
    return [
        cwd / ".harness" / "agents",
        cwd / ".claude" / "agents",
        paths.config_dir() / "agents",
        paths.claude_user_dir() / "agents",
    ]


def discover_agents(
    cwd: Path, extra: Iterable[AgentDefinition] = (), folders: Iterable[Path] | None = None
) -> AgentSet:
    """The built-in general-purpose agent, the agent files, then ``extra`` (plugins)."""
    result = AgentSet({GENERAL_PURPOSE.name: GENERAL_PURPOSE})
    for folder in folders if folders is not None else agent_folders(cwd):
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.md")):
            try:
                agent, warnings = load_agent_file(path)
            except HarnessError as exc:
                result.problems.append(str(exc))
                continue
            result.problems.extend(warnings)
            result.add(agent)
    for agent in extra:
        result.add(agent)
    return result


def load_agent_file(path: Path, source: str | None = None) -> tuple[AgentDefinition, list[str]]:
    """One agent file; raises ``HarnessError`` naming the file and field."""
    try:
        doc = read_markdown(path)
    except FrontmatterError as exc:
        raise HarnessError(str(exc)) from None
    meta = doc.meta
    warnings = list(doc.warnings)
    warnings.extend(unknown_fields(path, meta, KNOWN_FIELDS))
    fields = Fields(doc, warnings)
    description = fields.text("description", skip="skipped (the model chooses agents by it)")
    # An unreadable tools list must not become "every tool": the agent is not loaded.
    tools = fields.names("tools", skip="skipped (its tools cannot be told)")
    model = fields.text("model", skip=None)  # wrong: ignored, it runs on the parent's
    fields.text("color")
    try:
        if fields.stops:
            raise HarnessError("; ".join(fields.stops))
        agent = make_agent(
            meta.get("name"),
            description if description is not None else meta.get("description"),
            doc.body,
            tools=tools,
            model=model,
            where=str(path),
            source=source or str(path),
            lines=doc.field_lines,
        )
    except HarnessError as exc:
        # The front matter was not YAML: that is the likelier cause; say both.
        raise HarnessError("; ".join([str(exc), *doc.warnings])) from None
    return agent, warnings


def make_agent(
    name: Any,
    description: Any,
    system_prompt: Any,
    *,
    tools: Any = None,
    model: Any = None,
    where: str,
    source: str,
    lines: Mapping[str, int] | None = None,
) -> AgentDefinition:
    """A validated definition; raises ``HarnessError`` saying which field is wrong (on
    which line, when ``lines`` tells the line of each field)."""

    def at(key: str) -> str:
        line = (lines or {}).get(key)
        return f"{where}: line {line}: {key}" if line else f"{where}: {key}"

    if not isinstance(name, str) or not _NAME.match(name):
        raise HarnessError(
            f"{at('name')}: {name!r} is not a usable agent name (letters, digits, '-', "
            "'_', '.'; at most 64); skipped"
        )
    if not isinstance(description, str) or not description.strip():
        raise HarnessError(f"{where}: description: required (when to use this agent)")
    if not isinstance(system_prompt, str) or not system_prompt.strip():
        raise HarnessError(f"{where}: the agent has no system prompt (the body is empty)")
    if model is not None and not isinstance(model, str):
        raise HarnessError(f"{at('model')}: must be a model name, an alias or 'inherit'")
    return AgentDefinition(
        name=name,
        description=" ".join(description.split()),
        system_prompt=system_prompt.strip(),
        tools=as_name_list(tools),
        model=None if model in (None, "", "inherit") else model,
        source=source,
    )


# --- running one ----------------------------------------------------------------------


class AgentParent(Protocol):
    """What a sub-agent takes from the session that starts it."""

    id: str
    cwd: Path
    mode: PermissionMode
    model: ModelChoice
    max_turns: int
    executor: ToolExecutor
    hooks: HookPipeline
    permission_engine: PermissionEngine
    settings: Settings

    @property
    def run_id(self) -> str | None: ...

    async def emit(self, event_type: type, /, **fields: Any) -> Any: ...

    async def record_usage(self, usage: TokenUsage, model: ModelChoice | None = None) -> None: ...

    def halt_requested(self) -> str | None: ...


class _ChildHost:
    """The ``LoopHost`` of one sub-agent: its own conversation, tools and model; the
    parent's log, gate, hooks, mode and run."""

    def __init__(
        self,
        parent: AgentParent,
        agent: AgentDefinition,
        prompt: str,
        call_id: str,
        choice: ModelChoice,
        tools: list[Tool],
    ) -> None:
        self.parent = parent
        self.agent = agent
        self.call_id = call_id
        self.choice = choice
        self.messages: list[Message] = [UserMessage.of(prompt, "prompt")]
        self.steering = SteeringQueue()  # the user steers the parent, not its helpers
        gate = parent.executor.gate
        self.executor = ToolExecutor(
            tools,
            gate=gate,
            timeout_s=parent.executor.timeout_s,
            max_output_chars=parent.executor.max_output_chars,
        )
        self.emit = parent.emit
        self.system = build_system_prompt(parent.cwd, agent.system_prompt)
        self._provider: Provider | None = None
        self._stop_blocks = 0
        self._own_tools = [t for t in tools if t not in parent.executor.tools.values()]

    async def begin_turn(self) -> Provider:
        if self._provider is None:
            self._provider = self.choice.create()
        return self._provider

    def build_request(self, provider: Provider) -> ModelRequest:
        hidden = self.parent.permission_engine.hidden_tools()
        return ModelRequest(
            model=provider.model,
            system=self.system,
            messages=tuple(self.messages),
            tools=self.executor.specs(exclude=hidden),
        )

    def tool_context(self, tool_call_id: str) -> ToolContext:
        return ToolContext(
            session_id=self.parent.id,
            run_id=self.parent.run_id or "",
            tool_call_id=tool_call_id,
            cwd=self.parent.cwd,
            permission_mode=self.parent.mode,
            emit=self.parent.emit,
            set_plan=self._set_plan,
            read_denied=self.parent.permission_engine.read_filter(),
        )

    async def _set_plan(self, entries: Any, tool_call_id: str | None) -> None:
        """A sub-agent's todo list is its own: it does not replace the parent's plan."""

    async def record_usage(self, usage: TokenUsage) -> None:
        await self.parent.record_usage(usage, model=self.choice)

    async def stop_requested(self) -> str | None:
        if self.parent.halt_requested() is not None:
            return None
        outcome = await self.parent.hooks.run(
            "SubagentStop",
            {
                "stop_hook_active": self._stop_blocks > 0,
                "agent_name": self.agent.name,
                "tool_use_id": self.call_id,
            },
        )
        if outcome.stop or not outcome.blocked:
            return None
        if self._stop_blocks >= MAX_SUBAGENT_STOP_BLOCKS:
            return None
        self._stop_blocks += 1
        return outcome.reason or "A SubagentStop hook asks you to continue."

    def halt_requested(self) -> str | None:
        return self.parent.halt_requested()

    async def recover_from_overflow(self, provider: Provider) -> bool:
        """A sub-agent's history is not compacted: its task fails and the parent,
        told why, can split the work."""
        return False

    async def aclose(self) -> None:
        close = getattr(self._provider, "aclose", None)
        if close is not None:
            try:
                await close()
            except Exception:
                log.warning("closing the sub-agent's provider failed", exc_info=True)
        for tool in self._own_tools:
            try:
                await tool.aclose()
            except Exception:
                log.warning("closing the sub-agent's %s tool failed", tool.name, exc_info=True)


def child_tools(parent: AgentParent, agent: AgentDefinition) -> tuple[list[Tool], list[str]]:
    """The tools a sub-agent gets, and the names in its definition that match none.
    Never Task (sub-agents do not start sub-agents); a Bash of its own (a shell session
    is per agent, and parallel sub-agents must not share one)."""
    available = {n: t for n, t in parent.executor.tools.items() if n != TaskTool.name}
    if agent.tools is None:
        chosen = list(available.values())
        unknown: list[str] = []
    else:
        chosen, unknown = [], []
        for name in dict.fromkeys(agent.tools):
            if name in available:
                chosen.append(available[name])
            elif name.startswith("mcp__") and "__" not in name[5:]:
                prefix = name + "__"  # a whole server: mcp__fs
                matches = [t for n, t in available.items() if n.startswith(prefix)]
                chosen += matches
                if not matches:
                    unknown.append(name)
            elif name != TaskTool.name:
                unknown.append(name)
    return [BashTool() if isinstance(t, BashTool) else t for t in chosen], unknown


async def run_subagent(
    parent: AgentParent, agent: AgentDefinition, prompt: str, description: str, ctx: ToolContext
) -> ToolResult:
    """Run ``agent`` on ``prompt`` to its end; its final answer as the tool result."""
    from harness_tui.core.providers.models import resolve_model

    try:
        choice = (
            parent.model
            if agent.model is None
            else resolve_model(agent.model, cwd=parent.cwd, settings=parent.settings)
        )
    except HarnessError as exc:
        return ToolResult.error(f"The {agent.name} agent cannot start: its model: {exc}")
    tools, unknown = child_tools(parent, agent)
    host = _ChildHost(parent, agent, prompt, ctx.tool_call_id, choice, tools)
    loop = AgentLoop(host, parent.max_turns)
    started = time.perf_counter()
    await parent.emit(
        SubagentStarted,
        tool_call_id=ctx.tool_call_id,
        agent_name=agent.name,
        description=description,
        model=choice.name,
    )
    outcome: RunOutcome | None = None
    crash: Exception | None = None
    status = "cancelled"
    token = SUBAGENT_CALL.set(ctx.tool_call_id)
    try:
        if unknown:
            await parent.emit(
                Notice,
                message=f"the {agent.name} agent lists tools that do not exist here: "
                f"{', '.join(unknown)} (ignored)",
                level="warning",
            )
        try:
            outcome = await loop.run()
        except Exception as exc:  # a bug, not a provider or tool failure
            log.error("sub-agent %s failed", agent.name, exc_info=exc)
            crash = exc
        if outcome is not None:
            status = "failed" if outcome.error else "completed"
        else:
            status = "failed"
    finally:
        with anyio.CancelScope(shield=True):
            if outcome is None:
                # Cancelled or crashed: answer the sub-agent's open tool calls, so its
                # nested cards end too.
                await loop.finish_interrupted(
                    "cancelled by user"
                    if crash is None
                    else "not run: the sub-agent stopped on an internal error"
                )
            SUBAGENT_CALL.reset(token)
            await host.aclose()
            await parent.emit(
                SubagentCompleted,
                tool_call_id=ctx.tool_call_id,
                agent_name=agent.name,
                status=status,
                result=outcome.result if outcome is not None else "",
                duration_ms=(time.perf_counter() - started) * 1e3,
                turns=loop.turn,
                usage=loop.usage,
            )
    return _result(agent, outcome, crash)


def _result(
    agent: AgentDefinition, outcome: RunOutcome | None, crash: Exception | None
) -> ToolResult:
    if outcome is None:
        return ToolResult.error(
            f"The {agent.name} agent stopped on an internal error: {type(crash).__name__}: {crash}",
            "exception",
        )
    details = {
        "agent": agent.name,
        "turns": outcome.turns,
        "stop_reason": outcome.stop_reason,
        "input_tokens": outcome.usage.input_tokens,
        "output_tokens": outcome.usage.output_tokens,
    }
    if outcome.error:
        partial = f"\nIts last message: {outcome.result}" if outcome.result else ""
        return ToolResult(
            content=f"The {agent.name} agent failed: {outcome.error}{partial}",
            details=details,
            is_error=True,
        )
    answer = outcome.result or "(the agent finished without a final answer)"
    if outcome.stop_reason == "max_turns":
        answer += f"\n\n[the {agent.name} agent stopped at its turn limit ({outcome.turns})]"
    return ToolResult(
        content=answer,
        display=f"{agent.name}: {outcome.turns} turn(s)\n{outcome.result}",
        details=details,
    )


class TaskTool(Tool):
    """``Task``: hand a self-contained task to a sub-agent."""

    name = "Task"
    input_schema = {
        "type": "object",
        "properties": {
            "description": {
                "type": "string",
                "description": "A short (3-5 word) description of the task.",
            },
            "prompt": {
                "type": "string",
                "minLength": 1,
                "description": "The task, with everything the agent needs to know: it "
                "sees nothing of this conversation.",
            },
            "subagent_type": {
                "type": "string",
                "description": "The agent to use (see the list in the tool description).",
            },
        },
        "required": ["description", "prompt", "subagent_type"],
        "additionalProperties": False,
    }
    # Task itself changes nothing: the sub-agent's own calls pass the gate one by one.
    access = "read"
    read_only = True
    concurrency_safe = True
    #: ``Task(code-reviewer)`` rules name the agent.
    rule_field = "subagent_type"
    #: No wall-clock limit from the executor: the sub-agent's turns are bounded by
    #: ``max_turns`` and each of its tool calls by the usual timeout; Esc cancels it.
    timeout_s: float | None = None

    def __init__(self, agents: AgentSet, parent: AgentParent) -> None:
        self.agents = agents
        self.parent = parent

    # Tool declares a class attribute; this one is computed (it lists the agents).
    @property
    def description(self) -> str:  # type: ignore[override]
        listed = "\n".join(f"- {a.name}: {a.description}" for a in self.agents.agents.values())
        return (
            "Start a sub-agent on a self-contained task. It works in a fresh context with "
            "its own tools and returns one final report, which only you see: tell the user "
            "what matters. Several Task calls in one response run in parallel. "
            f"Agents:\n{listed}"
        )

    async def run(self, input: dict[str, Any], ctx: ToolContext) -> ToolResult:
        name = input["subagent_type"].strip()
        agent = self.agents.get(name)
        if agent is None:
            known = ", ".join(self.agents.agents)
            return ToolResult.error(f"There is no agent {name!r}. Agents: {known}.")
        return await run_subagent(
            self.parent, agent, input["prompt"], input.get("description", ""), ctx
        )
