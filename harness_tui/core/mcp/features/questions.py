"""Questions MCP servers put to the user: may the model answer a sampling request, and
what goes in an elicitation form.

Like permission questions (``permission_broker``), each is an event (``SAMPLING_REQUESTED``,
``ELICITATION_REQUESTED``) and a wait for a session command (``resolve_sampling``,
``resolve_elicitation``). With nobody to answer (headless), the answer is no at once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

import anyio

from harness_tui.core.errors import HarnessError
from harness_tui.core.events import Event

ELICIT_ACTIONS = ("accept", "decline", "cancel")


class NoOpenQuestion(HarnessError):
    """An answer to a question that is not open (never asked, or answered already)."""


@dataclass(frozen=True, slots=True)
class SamplingAnswer:
    approved: bool
    reason: str | None = None
    #: Withdrawn unanswered (the run was cancelled).
    cancelled: bool = False


@dataclass(frozen=True, slots=True)
class ElicitationAnswer:
    action: Literal["accept", "decline", "cancel"]
    content: dict[str, Any] | None = None


class _Pending:
    __slots__ = ("answer", "done", "kind", "schema")

    def __init__(self, kind: str, schema: dict[str, Any] | None) -> None:
        self.kind = kind
        self.schema = schema
        self.done = anyio.Event()
        self.answer: Any = None


class QuestionBroker:
    """Open sampling and elicitation questions of one session."""

    def __init__(
        self, emit: Callable[..., Awaitable[Any]], can_ask: Callable[[], bool] = lambda: True
    ) -> None:
        self._emit = emit
        #: False when nobody can answer (headless): questions are declined at once.
        self.can_ask = can_ask
        self._pending: dict[str, _Pending] = {}

    @property
    def pending_ids(self) -> tuple[str, ...]:
        return tuple(self._pending)

    async def ask(
        self,
        request_id: str,
        kind: Literal["sampling", "elicitation"],
        event_type: type[Event],
        fields: dict[str, Any],
        schema: dict[str, Any] | None = None,
    ) -> Any:
        """Emit the question and wait for its answer: a ``SamplingAnswer`` or an
        ``ElicitationAnswer`` (``cancelled`` when withdrawn by ``cancel_all``); None when
        nobody can answer. A cancel of the waiting task passes through."""
        if not self.can_ask():
            await self._emit(event_type, request_id=request_id, **fields)
            return None
        # Open before it is announced: an answer may come before the emit returns.
        pending = _Pending(kind, schema)
        self._pending[request_id] = pending
        try:
            await self._emit(event_type, request_id=request_id, **fields)
            await pending.done.wait()
        finally:
            self._pending.pop(request_id, None)
        return pending.answer

    def cancel_all(self) -> None:
        """Withdraw every open question (the user stopped the run)."""
        for pending in self._pending.values():
            if pending.kind == "sampling":
                pending.answer = SamplingAnswer(False, "the run was cancelled", cancelled=True)
            else:
                pending.answer = ElicitationAnswer("cancel")
            pending.done.set()

    def resolve_sampling(self, request_id: str, approved: bool, reason: str | None = None) -> None:
        pending = self._take(request_id, "sampling")
        pending.answer = SamplingAnswer(bool(approved), reason)
        pending.done.set()

    def resolve_elicitation(
        self, request_id: str, action: str, content: dict[str, Any] | None = None
    ) -> None:
        """Raises ``HarnessError`` for an unknown action or content the form's schema
        rejects (the question stays open, so the user can correct it), and
        ``NoOpenQuestion`` when no such question is open."""
        pending = self._take(request_id, "elicitation")
        if action not in ELICIT_ACTIONS:
            raise HarnessError(
                f"unknown elicitation action {action!r}; use " + ", ".join(ELICIT_ACTIONS)
            )
        if action == "accept":
            content = dict(content) if content else proposed(pending.schema or {})
            problem = check_content(content, pending.schema or {})
            if problem:
                raise HarnessError(f"the answer does not fit the form: {problem}")
        else:
            content = None
        pending.answer = ElicitationAnswer(action, content)  # type: ignore[arg-type]
        pending.done.set()

    def _take(self, request_id: str, kind: str) -> _Pending:
        pending = self._pending.get(request_id)
        if pending is None or pending.kind != kind or pending.done.is_set():
            raise NoOpenQuestion(f"no open {kind} request {request_id!r}")
        return pending


def proposed(schema: dict[str, Any]) -> dict[str, Any]:
    """The answer a form proposes: each field's ``default`` (SEP-1034). An acceptance with
    no content (a program's "accept as proposed") takes it; a filled-in form is taken as
    sent, so that a field the user cleared stays cleared."""
    properties = schema.get("properties")
    if not isinstance(properties, dict):
        return {}
    return {
        name: field["default"]
        for name, field in properties.items()
        if isinstance(field, dict) and "default" in field
    }


def check_content(content: dict[str, Any], schema: dict[str, Any]) -> str | None:
    """What is wrong with an elicitation answer by its form's schema, or None."""
    if not schema:
        return None
    from jsonschema import Draft202012Validator

    try:
        validator = Draft202012Validator(schema)
        error = next(iter(validator.iter_errors(content)), None)
    except Exception:  # a server's broken schema: accept what the user typed
        return None
    if error is None:
        return None
    where = "/".join(str(p) for p in error.absolute_path)
    return f"{where}: {error.message}" if where else error.message
