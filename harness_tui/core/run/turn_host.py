"""What a run needs from its owner, turn by turn: the loop's ``LoopHost``.

One ``TurnHost`` serves one conversation: the session's own, or a sub-agent's (see
``subagents``). Both take the same things from the session that owns them
(``RunOwner``): the tool gate and its permission rules, the hooks, the usage meter, the
event log and the run a hook may halt. What differs is given to the host: the provider
for each turn (``ProviderSource``), and for the session's conversation its MCP tools,
its context count and its compaction.

Per-chunk events go straight to the owner's ``emit`` (the host's ``emit`` is that bound
method), so the streaming path costs nothing extra.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol

from harness_tui.core.config.settings import Settings
from harness_tui.core.events import Notice, PermissionMode, PlanEntry, PlanGenerated, PlanUpdated
from harness_tui.core.hooks.fire import last_assistant_text, post_tool_batch
from harness_tui.core.hooks.pipeline import HookPipeline
from harness_tui.core.images.request import prepare as prepare_images
from harness_tui.core.images.store import ImageStore
from harness_tui.core.messages import (
    ImageData,
    Message,
    TokenUsage,
    ToolCallBlock,
    ToolResultMessage,
    UserMessage,
)
from harness_tui.core.permissions.engine import PermissionEngine
from harness_tui.core.providers.base import ModelRequest, Provider, ToolSpec
from harness_tui.core.providers.models import ModelChoice
from harness_tui.core.run.budget import BudgetStop
from harness_tui.core.run.context import ContextAccount
from harness_tui.core.run.steering import SteeringQueue
from harness_tui.core.tools.base import ToolContext
from harness_tui.core.tools.executor import ToolExecutor

#: A Stop hook that blocks this many times in a row in one run is overridden.
MAX_STOP_BLOCKS = 3


class RunOwner(Protocol):
    """What runs (the session's and its sub-agents') take from the session."""

    id: str
    cwd: Path
    mode: PermissionMode
    max_turns: int
    executor: ToolExecutor
    hooks: HookPipeline
    permission_engine: PermissionEngine
    #: The session's attached images.
    images: ImageStore

    @property
    def model(self) -> ModelChoice: ...
    @property
    def settings(self) -> Settings: ...
    @property
    def run_id(self) -> str | None: ...

    async def emit(self, event_type: type, /, **fields: Any) -> Any: ...

    async def add_usage(self, usage: TokenUsage, model: ModelChoice | None = None) -> float | None:
        """Add usage to the session's totals (``model``: a sub-agent's own); what it
        cost (None: no known price)."""
        ...

    def over_budget(self, next_estimate: float) -> BudgetStop | None:
        """The dollar budget (the run's, the session's) that a request expected to cost
        ``next_estimate`` would pass; None when it may go."""
        ...

    def halt_requested(self) -> str | None: ...


class ProviderSource(Protocol):
    """The model of a conversation and its provider at each turn boundary."""

    @property
    def choice(self) -> ModelChoice: ...

    async def for_turn(self) -> Provider:
        """Apply what waits for a turn boundary (a model switch); the provider."""
        ...


class McpTools(Protocol):
    async def wait_started(self) -> None: ...
    def select_tools(
        self, specs: tuple[ToolSpec, ...], context_window: int | None, hidden: Iterable[str]
    ) -> tuple[ToolSpec, ...]: ...


class BoundaryWork(Protocol):
    """Compaction: before a request, and when a request is refused as too long."""

    async def at_boundary(self, provider: Provider, run_id: str | None) -> None: ...
    async def recover(self, provider: Provider) -> bool: ...


class StopHook:
    """The hooks that may keep a run going when it would end (``Stop``, or
    ``SubagentStop`` with ``fields``); overridden after ``MAX_STOP_BLOCKS`` blocks in a
    row, with ``on_override`` called then."""

    def __init__(
        self,
        hooks: HookPipeline,
        event: str = "Stop",
        fields: dict[str, Any] | None = None,
        on_override: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.hooks = hooks
        self.event = event
        self.fields = fields or {}
        self.on_override = on_override
        self.blocks = 0

    async def ask(self, last_message: str = "") -> str | None:
        """The text to continue with, or None to let the run end (``last_message``: the
        final answer's text)."""
        active = self.blocks > 0
        fields = {"stop_hook_active": active, **self.fields, "last_assistant_message": last_message}
        outcome = await self.hooks.run(self.event, fields)
        if outcome.stop or not outcome.blocked:
            return None
        if self.blocks >= MAX_STOP_BLOCKS:
            if self.on_override is not None:
                await self.on_override()
            return None
        self.blocks += 1
        return outcome.reason or f"A {self.event} hook asks you to continue."


class TurnHost:
    """The ``LoopHost`` of one conversation."""

    def __init__(
        self,
        owner: RunOwner,
        messages: list[Message],
        executor: ToolExecutor,
        system_prompt: str,
        models: ProviderSource,
        *,
        steering: SteeringQueue | None = None,
        stop: StopHook | None = None,
        mcp: McpTools | None = None,
        compaction: BoundaryWork | None = None,
        context: ContextAccount | None = None,
        notes: Callable[[], list[str]] | None = None,
    ) -> None:
        self.owner = owner
        #: What the model is told at each turn boundary (background tasks that ended).
        self.notes = notes
        self.emit = owner.emit
        self.messages = messages
        self.executor = executor
        self.system_prompt = system_prompt
        self.models = models
        #: The user steers the session's conversation; a sub-agent's queue stays empty.
        self.steering = steering if steering is not None else SteeringQueue()
        self.stop = stop or StopHook(owner.hooks, on_override=self._stop_overridden)
        self.mcp = mcp
        self.compaction = compaction
        #: The conversation's context count (the session's), updated from each answer.
        self.context = context
        #: The conversation's plan (its todo list), as the TodoWrite tool last set it.
        self.plan: tuple[PlanEntry, ...] = ()
        self.halt_reason: str | None = None
        #: The images the next request carries (fitted at the start of each turn).
        self.request_images: dict[str, ImageData] = {}
        #: What this conversation's last request cost: the estimate of its next.
        self.last_request_usd = 0.0

    def start_run(self) -> None:
        self.halt_reason = None
        self.stop.blocks = 0

    def request_halt(self, reason: str) -> None:
        """A hook said ``continue: false``: the run ends after this turn's tools."""
        if self.halt_reason is None:
            self.halt_reason = reason

    # --- LoopHost -------------------------------------------------------------------

    async def begin_turn(self) -> Provider:
        for note in self.notes() if self.notes is not None else ():
            self.messages.append(UserMessage.of(note, "steering"))
        provider = await self.models.for_turn()
        if self.mcp is not None:
            await self.mcp.wait_started()  # servers still starting: offer their tools too
        if self.compaction is not None:
            await self.compaction.at_boundary(provider, self.owner.run_id)
        self.request_images = await prepare_images(
            self.messages, self.models.choice.images, self.owner.images
        )
        return provider

    def tool_specs(self) -> tuple[ToolSpec, ...]:
        """The tools the next request offers (not those the permission rules hide)."""
        hidden = self.owner.permission_engine.hidden_tools()
        specs = tuple(self.executor.specs(exclude=hidden))
        if self.mcp is None:
            return specs
        return tuple(self.mcp.select_tools(specs, self.models.choice.context_window, hidden))

    def build_request(self, provider: Provider) -> ModelRequest:
        return ModelRequest(
            model=provider.model,
            system=self.system_prompt,
            messages=tuple(self.messages),
            tools=self.tool_specs(),
            images=self.request_images,
        )

    def tool_context(self, tool_call_id: str) -> ToolContext:
        owner = self.owner
        return ToolContext(
            session_id=owner.id,
            run_id=owner.run_id or "",
            tool_call_id=tool_call_id,
            cwd=owner.cwd,
            permission_mode=owner.mode,
            emit=owner.emit,
            set_plan=self.set_plan,
            read_denied=owner.permission_engine.read_filter(),
        )

    async def set_plan(self, entries: Sequence[PlanEntry], tool_call_id: str | None) -> None:
        event_type = PlanUpdated if self.plan else PlanGenerated
        self.plan = tuple(entries)
        await self.emit(event_type, entries=self.plan, tool_call_id=tool_call_id)

    async def record_usage(self, usage: TokenUsage) -> None:
        if self.context is not None:
            # The answer is already in the history: the provider's count covers it.
            self.context.report(usage.context_tokens, len(self.messages))
        self._priced(await self.owner.add_usage(usage))

    def _priced(self, cost: float | None) -> None:
        if cost is not None:
            self.last_request_usd = cost

    def over_budget(self) -> BudgetStop | None:
        return self.owner.over_budget(self.last_request_usd)

    async def stop_requested(self) -> str | None:
        if self.halt_requested() is not None:
            return None
        return await self.stop.ask(last_assistant_text(self.messages))

    async def after_tools(
        self, calls: Sequence[ToolCallBlock], results: Sequence[ToolResultMessage]
    ) -> None:
        """``PostToolBatch``: a block ends the run before the next request; context is
        added to the conversation for it."""
        batch = [(call.id, call.name, call.input) for call in calls]
        outcome = await post_tool_batch(self.owner.hooks, batch, results)
        if outcome.blocked or outcome.stop:
            self.request_halt(outcome.reason or outcome.stop_reason or "a PostToolBatch hook")
        if outcome.context:
            self.messages.append(UserMessage.of(outcome.additional_context, "steering"))

    def halt_requested(self) -> str | None:
        return self.halt_reason

    async def recover_from_overflow(self, provider: Provider) -> bool:
        if self.compaction is None:
            return False
        return await self.compaction.recover(provider)

    async def _stop_overridden(self) -> None:
        await self.emit(
            Notice,
            message=f"a Stop hook blocked the end of the run {MAX_STOP_BLOCKS} times in a "
            "row; stopping anyway",
            level="warning",
        )
