"""Permission questions and the mode gate.

``PermissionBroker`` turns an *ask* into a ``PERMISSION_REQUESTED`` event and waits for
``Session.resolve_permission``. ``ModeGate`` is the decision by permission mode alone:
``plan`` refuses tools that are not read-only, ``default`` asks before them,
``acceptEdits`` and ``bypassPermissions`` let them run. Rules from settings and
PreToolUse hooks plug in as further gates in front of it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

import anyio

from harness_tui.core.errors import HarnessError
from harness_tui.core.events import (
    PermissionDecision,
    PermissionRequested,
    PermissionResolved,
    new_id,
)
from harness_tui.core.tools.base import Tool, ToolContext
from harness_tui.core.tools.executor import ALLOW, GateVerdict

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
        #: Tools allowed for the rest of the session ("allow for the session").
        self.session_allowed: set[str] = set()

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
    ) -> Answer:
        if tool.name in self.session_allowed:
            return Answer("allow_session")
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
            answer = Answer(
                "deny",
                "nobody can answer permission questions in this mode; allow the tool with "
                "--mode acceptEdits or --mode bypassPermissions",
            )
        else:
            pending = _Pending(ctx.tool_call_id)
            self._pending[request_id] = pending
            try:
                await pending.done.wait()
            except anyio.get_cancelled_exc_class():
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
            assert pending.answer is not None
            answer = pending.answer
        if answer.decision in ("allow_session", "allow_always"):
            self.session_allowed.add(tool.name)
        await self._emit(
            PermissionResolved,
            request_id=request_id,
            tool_call_id=ctx.tool_call_id,
            decision=answer.decision,
            reason=answer.reason,
        )
        return answer

    def resolve(self, request_id: str, decision: str, reason: str | None = None) -> None:
        if decision not in PERMISSION_DECISIONS:
            raise HarnessError(
                f"unknown permission decision {decision!r}; use one of "
                + ", ".join(PERMISSION_DECISIONS)
            )
        pending = self._pending.get(request_id)
        if pending is None or pending.done.is_set():
            raise HarnessError(f"no open permission request {request_id!r}")
        pending.answer = Answer(decision, reason)  # type: ignore[arg-type]
        pending.done.set()


class ModeGate:
    """The permission mode's verdict, asking through the broker where the mode says so."""

    def __init__(self, broker: PermissionBroker) -> None:
        self.broker = broker

    async def check(self, tool: Tool, input: dict[str, Any], ctx: ToolContext) -> GateVerdict:
        if tool.read_only:
            return ALLOW
        mode = ctx.permission_mode
        if mode == "plan":
            return GateVerdict(
                False,
                f"the session is in plan mode (read-only): {tool.name} may not run. "
                "Describe the change instead; the user can leave plan mode to apply it.",
            )
        if mode in ("acceptEdits", "bypassPermissions"):
            return ALLOW
        answer = await self.broker.ask(tool, input, ctx, f"{tool.name} can change the workspace")
        if answer.allowed:
            return ALLOW
        return GateVerdict(False, answer.reason or "the user said no")
