"""Running sub-agents: the ``Task`` tool.

``Task`` runs an agent (see ``extensions/agents`` for definitions) in a fresh context:
its own conversation (the prompt only), its own system prompt, only its tools, and its
model. Everything else is the parent session's, through the same ``TurnHost`` the
session's own turns use: the permission mode and rules, the hooks and the permission
questions all pass through the parent's gate, so a sub-agent can never do what its
parent may not, and its usage is added to the parent's. Its events go into the parent's
log stamped with ``parent_tool_call_id`` (the Task call's id), so every view nests them;
the parent gets the sub-agent's final answer as the tool result. Task calls are
concurrency-safe, so several in one response run in parallel, and a cancel of the
parent's run reaches every one of them.
"""

from __future__ import annotations

import dataclasses
import logging
import secrets
import time
from collections.abc import Sequence
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import anyio

from harness_tui.core.errors import HarnessError
from harness_tui.core.events import Notice, PlanEntry, SubagentCompleted, SubagentStarted
from harness_tui.core.extensions.agents import AgentDefinition, AgentSet
from harness_tui.core.messages import TokenUsage, UserMessage
from harness_tui.core.providers.base import Provider, close_provider
from harness_tui.core.providers.models import ModelChoice
from harness_tui.core.run.loop import AgentLoop, RunOutcome
from harness_tui.core.run.system_prompt import build_system_prompt
from harness_tui.core.run.turn_host import RunOwner, StopHook, TurnHost
from harness_tui.core.tools.base import Tool, ToolContext, ToolResult
from harness_tui.core.tools.executor import ToolExecutor
from harness_tui.core.tools.shell import BashTool
from harness_tui.core.worktrees.lifecycle import WorktreeUse, make_worktree

log = logging.getLogger(__name__)

#: The id of the Task call whose sub-agent the current task works for. The session
#: stamps it on every event emitted meanwhile (the sub-agent's own, and those of the
#: hooks and permission questions it causes).
SUBAGENT_CALL: ContextVar[str | None] = ContextVar("harness_subagent_call", default=None)


class FixedModel:
    """A sub-agent's model: chosen when it starts, its provider built at the first turn."""

    def __init__(self, choice: ModelChoice) -> None:
        self.choice = choice
        self.provider: Provider | None = None

    async def for_turn(self) -> Provider:
        if self.provider is None:
            self.provider = self.choice.create()
        return self.provider


class SubagentHost(TurnHost):
    """The turn host of one sub-agent: its own conversation, tools and model; the
    parent's log, gate, hooks, mode, usage and run (a halt of the run halts it too)."""

    def __init__(
        self,
        owner: RunOwner,
        agent: AgentDefinition,
        prompt: str,
        call_id: str,
        choice: ModelChoice,
        tools: list[Tool],
        cwd: Path | None = None,
    ) -> None:
        """``cwd``: where its tools work (a worktree of its own); the session's folder
        by default."""
        parent = owner.executor
        self.cwd = cwd or owner.cwd
        executor = ToolExecutor(
            tools,
            gate=parent.gate,
            timeout_s=parent.timeout_s,
            max_output_chars=parent.max_output_chars,
        )
        executor.checkpoints = parent.checkpoints
        executor.lsp = parent.lsp  # its edits get diagnostics too
        fields = {
            "agent_name": agent.name,
            "tool_use_id": call_id,
            "agent_id": call_id,
            "agent_type": agent.name,
            # A sub-agent's turns are in its session's file, under its Task call.
            "agent_transcript_path": owner.hooks.transcript_path,
        }
        self._model = FixedModel(choice)
        super().__init__(
            owner,
            [UserMessage.of(prompt, "prompt")],
            executor,
            build_system_prompt(self.cwd, agent.system_prompt),
            self._model,
            stop=StopHook(owner.hooks, "SubagentStop", fields),
        )
        self._own_tools = [t for t in tools if t not in parent.tools.values()]

    # Its history is not compacted: a task too long for the window fails, and the
    # parent, told why, can split the work.

    def tool_context(self, tool_call_id: str) -> ToolContext:
        return dataclasses.replace(super().tool_context(tool_call_id), cwd=self.cwd)

    async def set_plan(self, entries: Sequence[PlanEntry], tool_call_id: str | None) -> None:
        """A sub-agent's todo list is its own: it does not replace the parent's plan."""

    async def record_usage(self, usage: TokenUsage) -> None:
        self._priced(await self.owner.add_usage(usage, self._model.choice))

    def halt_requested(self) -> str | None:
        return self.owner.halt_requested()

    async def aclose(self) -> None:
        await close_provider(self._model.provider)
        for tool in self._own_tools:
            try:
                await tool.aclose()
            except Exception:
                log.warning("closing the sub-agent's %s tool failed", tool.name, exc_info=True)


def child_tools(parent: RunOwner, agent: AgentDefinition) -> tuple[list[Tool], list[str]]:
    """The tools a sub-agent gets, and the names in its definition that match none.
    Never Task (sub-agents do not start sub-agents); a Bash of its own (a shell session
    is per agent, and parallel sub-agents must not share one); Memory read-only."""
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
    return [_own_copy(t) for t in chosen], unknown


def _own_copy(tool: Tool) -> Tool:
    """Bash: a shell of its own; Memory: read-only (a sub-agent never writes memory)."""
    from harness_tui.core.memory.tool import MemoryTool

    if isinstance(tool, BashTool):
        return tool.fresh()
    return tool.for_subagent() if isinstance(tool, MemoryTool) else tool


async def run_subagent(
    parent: RunOwner,
    agent: AgentDefinition,
    prompt: str,
    description: str,
    ctx: ToolContext,
    isolation: str | None = None,
) -> ToolResult:
    """Run ``agent`` on ``prompt`` to its end; its final answer as the tool result.
    ``isolation="worktree"`` (or the definition's): in a new git worktree of its own."""
    from harness_tui.core.providers.models import resolve_model

    try:
        choice = (
            parent.model
            if agent.model is None
            else resolve_model(agent.model, cwd=parent.cwd, settings=parent.settings)
        )
    except HarnessError as exc:
        return ToolResult.error(f"The {agent.name} agent cannot start: its model: {exc}")
    worktree: WorktreeUse | None = None
    if (isolation or agent.isolation) == "worktree":
        try:
            worktree = await _new_worktree(parent, agent)
        except HarnessError as exc:
            return ToolResult.error(f"The {agent.name} agent cannot start in a worktree: {exc}")
    tools, unknown = child_tools(parent, agent)
    cwd = worktree.cwd_for(parent.cwd) if worktree is not None else None
    host = SubagentHost(parent, agent, prompt, ctx.tool_call_id, choice, tools, cwd)
    loop = AgentLoop(host, parent.max_turns)
    started = time.perf_counter()
    # With a worktree, a cancel waits for the try below, whose end removes or keeps it.
    with anyio.CancelScope(shield=worktree is not None):
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
            started_hooks = await parent.hooks.run(
                "SubagentStart", {"agent_id": ctx.tool_call_id, "agent_type": agent.name}
            )
            if started_hooks.context:
                host.messages.append(UserMessage.of(started_hooks.additional_context, "steering"))
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
            if worktree is not None:
                await worktree.end(parent.hooks, parent.emit)
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
    return _in_worktree(_result(agent, outcome, crash), worktree)


async def _new_worktree(parent: RunOwner, agent: AgentDefinition) -> WorktreeUse:
    """A worktree of its own for a sub-agent (``<agent>-<random>``), its hooks run."""
    name = f"{agent.name[:40]}-{secrets.token_hex(3)}"  # a worktree name has 64 at most
    use = WorktreeUse(
        *await anyio.to_thread.run_sync(make_worktree, parent.cwd, name, parent.settings)
    )
    try:
        await use.started(parent.hooks)
    except BaseException:  # cancelled while its hooks ran: no worktree is left behind
        with anyio.CancelScope(shield=True):
            await use.end(parent.hooks, parent.emit)
        raise
    return use


def _in_worktree(result: ToolResult, worktree: WorktreeUse | None) -> ToolResult:
    """The result of a sub-agent that worked in a worktree says where, on which branch,
    and whether it was kept (the parent may merge it)."""
    if worktree is None:
        return result
    where = worktree.worktree
    note = f"\n\n[worked in the worktree {where.path} on branch {where.branch}: {worktree.message}]"
    details = {
        **(result.details or {}),
        "worktree_path": str(where.path),
        "worktree_branch": where.branch,
        "worktree_kept": worktree.kept,
    }
    display = result.display + note if result.display is not None else None
    return dataclasses.replace(
        result, content=result.content + note, display=display, details=details
    )


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
    elif outcome.stop_reason == "budget_exceeded":
        answer += (
            f"\n\n[the {agent.name} agent stopped after {outcome.turns} turn(s): its next "
            "request would have passed the spending budget; the work may be unfinished]"
        )
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
            "isolation": {
                "type": "string",
                "enum": ["worktree"],
                "description": "worktree: the agent works in a new git worktree (a copy of "
                "the repository on a branch of its own), so its edits do not touch yours; "
                "the result names the branch, kept only when it changed something.",
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

    def __init__(self, agents: AgentSet, parent: RunOwner) -> None:
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
            self.parent,
            agent,
            input["prompt"],
            input.get("description", ""),
            ctx,
            isolation=input.get("isolation"),
        )
