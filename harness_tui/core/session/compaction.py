"""When and how a session's conversation is compacted.

Three ways in: ``/compact`` (at once when idle, else at the next turn boundary), the
context passing the session's threshold at a turn boundary, and a provider refusing a
request as longer than its window. Each time: the ``PreCompact`` hooks may block; the
older part of the history (never splitting a tool call from its result) is summarised by
the current model; a ``CompactionEntry`` joins the tree and the history restarts from the
summary plus the recent turns; ``CONTEXT_COMPACTED`` reports the tokens before and after.
What to cut and how to ask for the summary is in ``run.context``; this is the session's
side of it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import anyio

from harness_tui.core.events import ContextCompacted, Notice, new_id
from harness_tui.core.hooks.pipeline import HookPipeline
from harness_tui.core.messages import TokenUsage
from harness_tui.core.providers.base import Provider, ToolSpec
from harness_tui.core.providers.models import ModelChoice
from harness_tui.core.run.context import (
    ContextAccount,
    estimate_message,
    estimate_text,
    keep_budget,
    plan_cut,
    read_summary,
    should_compact,
    summary_request,
)
from harness_tui.core.storage.records import CompactionEntry, Entry
from harness_tui.core.storage.tree import EntryTree, History, summary_message


class Conversation(Protocol):
    """What compaction reads and changes: a session's history, tree and context."""

    @property
    def messages(self) -> History: ...
    @property
    def tree(self) -> EntryTree: ...
    @property
    def model(self) -> ModelChoice: ...
    @property
    def system_prompt(self) -> str: ...

    compact_at: float
    context: ContextAccount
    hooks: HookPipeline

    def context_tokens(self) -> int: ...
    def tool_specs(self) -> Sequence[ToolSpec]: ...
    def record_entry(self, entry: Entry) -> None: ...
    async def emit(self, event_type: type, /, **fields: Any) -> Any: ...
    async def warn(self, message: str) -> None: ...
    async def add_usage(
        self, usage: TokenUsage, model: ModelChoice | None = None
    ) -> float | None: ...


class Compactor:
    """Compaction for one conversation (it reads and resets its history)."""

    def __init__(self, conversation: Conversation) -> None:
        self.conversation = conversation
        #: ``/compact`` asked during a run: its instructions ("" for none), applied at the
        #: next turn boundary.
        self.requested: str | None = None
        self._running = False
        #: The run in which automatic compaction failed (not tried again in that run).
        self._failed_in: str | None = None

    async def manual(
        self, instructions: str | None, provider: Callable[[], Provider] | None
    ) -> ContextCompacted | None:
        """``/compact``: now, with ``provider()``; None: a run is active, so at its next
        turn boundary (None is returned then)."""
        if provider is None:
            self.requested = instructions or ""
            return None
        return await self.compact("manual", instructions, provider())

    async def at_boundary(self, provider: Provider, run_id: str | None) -> None:
        """Before a request: a compaction that was asked for, or one the context needs."""
        conv = self.conversation
        requested, self.requested = self.requested, None
        if requested is not None:
            await self.compact("manual", requested or None, provider)
        elif self._failed_in != run_id and should_compact(
            conv.context_tokens(), conv.model.context_window, conv.compact_at
        ):
            if await self.compact("auto", None, provider) is None:
                self._failed_in = run_id

    async def recover(self, provider: Provider) -> bool:
        """The provider refused the request as too long: compact; True when the request
        may be sent again."""
        conv = self.conversation
        if len(conv.messages) < 2:
            return False  # a lone prompt too long to send: summarising it would lose it
        why = f"{conv.model.name} refused the request as too long for its context window. "
        return await self.compact("auto", None, provider, why) is not None

    async def compact(
        self, trigger: str, instructions: str | None, provider: Provider, why: str = ""
    ) -> ContextCompacted | None:
        """Compact now (one at a time); the event, or None when nothing was done."""
        if self._running:
            return None
        self._running = True
        try:
            return await self._compact(trigger, instructions, provider, why)
        finally:
            self._running = False

    async def _compact(
        self, trigger: str, instructions: str | None, provider: Provider, why: str
    ) -> ContextCompacted | None:
        conv = self.conversation
        hooked = await conv.hooks.run(
            "PreCompact", {"trigger": trigger, "custom_instructions": instructions or ""}
        )
        if hooked.blocked:
            await conv.warn(
                f"A PreCompact hook blocked compaction: {hooked.reason or 'no reason given'}."
            )
            return None
        messages = conv.messages
        snapshot, ids = list(messages), list(messages.entry_ids)
        first = conv.tree.entries.get(ids[0]) if ids else None
        summarized = int(isinstance(first, CompactionEntry))
        total = sum(estimate_message(m) for m in snapshot)
        window = conv.model.context_window
        cut = plan_cut(snapshot, keep_budget(window, total), summarized=summarized)
        if cut is None:
            if trigger == "manual":
                await conv.emit(Notice, message="Nothing to compact yet.")
            return None
        before = conv.context_tokens()
        await conv.emit(
            Notice,
            message=f"{why}Compacting the conversation: summarising {cut} earlier messages…",
        )
        request = summary_request(provider.model, snapshot[:cut], instructions, window)
        result = await read_summary(provider, request)
        compacted: ContextCompacted | None = None  # returned after the shield
        with anyio.CancelScope(shield=True):  # from here on, all of it or nothing
            if result.usage is not None:
                await conv.add_usage(result.usage)
            if result.error is not None:
                await conv.warn(
                    f"Compaction failed: {result.error}. The conversation is unchanged."
                )
            elif messages.entry_ids[:cut] != ids[:cut]:
                await conv.warn(
                    "Compaction abandoned: the conversation moved to another branch meanwhile."
                )
            else:
                compacted = await self._apply(trigger, result.text, cut, before)
        if compacted is not None:
            await conv.hooks.run(
                "PostCompact", {"trigger": trigger, "compact_summary": result.text}
            )
        return compacted

    async def _apply(self, trigger: str, summary: str, cut: int, before: int) -> ContextCompacted:
        conv = self.conversation
        history = conv.messages
        ids = history.entry_ids
        kept, kept_ids = list(history[cut:]), ids[cut:]
        messages = [summary_message(summary), *kept]
        after = (
            estimate_text(conv.system_prompt)
            + conv.context.tools_estimate(conv.tool_specs())
            + sum(estimate_message(m) for m in messages)
        )
        entry = CompactionEntry(
            id=new_id("ent"),
            parent_id=history.head,
            timestamp=time.time(),
            summary=summary,
            first_kept_id=kept_ids[0] if kept_ids else None,
            trigger=trigger,  # type: ignore[arg-type]
            tokens_before=before,
            tokens_after=after,
        )
        conv.record_entry(entry)
        history.reset(messages, [entry.id, *kept_ids], entry.id)
        conv.context.reset()
        return await conv.emit(
            ContextCompacted,
            trigger=trigger,
            tokens_before=before,
            tokens_after=after,
            summary=summary,
        )
