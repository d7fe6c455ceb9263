"""Permission questions: an *ask* becomes ``PERMISSION_REQUESTED`` and waits for
``Session.resolve_permission`` (allow once, for the session, always, or deny with a
reason the model reads). With nobody to answer (headless), asks are denied at once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

import anyio

from harness_tui.core.errors import HarnessError
from harness_tui.core.events import (
    Notice,
    PermissionDecision,
    PermissionRequested,
    PermissionResolved,
    new_id,
)
from harness_tui.core.tools.base import CallTiming, Tool, ToolContext

#: What to do when nobody can answer (headless): ask a person, or deny at once.
AskPolicy = Literal["ask", "deny"]

PERMISSION_DECISIONS: tuple[PermissionDecision, ...] = (
    "allow_once",
    "allow_session",
    "allow_always",
    "deny",
)


@dataclass(frozen=True, slots=True)
class Answer:
    decision: PermissionDecision
    reason: str | None = None

    @property
    def allowed(self) -> bool:
        return self.decision != "deny"


class _Pending:
    __slots__ = ("answer", "done", "tool_call_id")

    def __init__(self, tool_call_id: str) -> None:
        self.tool_call_id = tool_call_id
        self.done = anyio.Event()
        self.answer: Answer | None = None


class PermissionBroker:
    """Open permission questions of one session."""

    def __init__(self, emit: Callable[..., Awaitable[Any]], policy: AskPolicy = "ask") -> None:
        self._emit = emit
        self.policy: AskPolicy = policy
        self._pending: dict[str, _Pending] = {}
        #: Called (not awaited for an answer) when a person is about to be asked: the
        #: session runs its ``Notification`` hooks there.
        self.on_question: Callable[[str], None] | None = None

    @property
    def pending_ids(self) -> tuple[str, ...]:
        return tuple(self._pending)

    async def ask(
        self,
        tool: Tool,
        input: dict[str, Any],
        ctx: ToolContext,
        reason: str,
        *,
        rule: str | None = None,
        preview: str | None = None,
        hint: str | None = None,
    ) -> Answer:
        request_id = new_id("perm")
        await self._emit(
            PermissionRequested,
            request_id=request_id,
            tool_call_id=ctx.tool_call_id,
            tool_name=tool.name,
            input=input,
            reason=reason,
            rule=rule,
            preview=preview,
        )
        if self.policy == "deny":
            advice = hint or (
                "allow it with a rule in .harness/settings.yaml (permissions.allow), or run "
                "with --mode acceptEdits (file edits) or --mode bypassPermissions"
            )
            answer = Answer(
                "deny", f"nobody can answer permission questions here ({reason}); {advice}"
            )
        else:
            if self.on_question is not None:
                self.on_question(f"harness-tui needs your permission to use {tool.name}")
            pending = _Pending(ctx.tool_call_id)
            self._pending[request_id] = pending
            asked = CallTiming.clock()
            try:
                await pending.done.wait()
            except anyio.get_cancelled_exc_class():
                ctx.timing.waited_since(asked)
                with anyio.CancelScope(shield=True):
                    await self._emit(
                        PermissionResolved,
                        request_id=request_id,
                        tool_call_id=ctx.tool_call_id,
                        decision="cancelled",
                    )
                raise
            finally:
                self._pending.pop(request_id, None)
            ctx.timing.waited_since(asked)
            assert pending.answer is not None
            answer = pending.answer
        await self._emit(
            PermissionResolved,
            request_id=request_id,
            tool_call_id=ctx.tool_call_id,
            decision=answer.decision,
            reason=answer.reason,
        )
        return answer

    async def notice(self, message: str) -> None:
        """Tell the user something about their answer (a rule that could not be saved)."""
        await self._emit(Notice, message=message, level="warning")

    def resolve(self, request_id: str, decision: str, reason: str | None = None) -> None:
        if decision not in PERMISSION_DECISIONS:
            raise HarnessError(
                f"unknown permission decision {decision!r}; use one of "
                + ", ".join(PERMISSION_DECISIONS)
            )
        pending = self._pending.get(request_id)
        if pending is None or pending.done.is_set():
            raise HarnessError(f"no open permission request {request_id!r}")
        pending.answer = Answer(decision, reason)
        pending.done.set()
