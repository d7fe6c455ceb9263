"""What servers may ask of us: the workspace roots, a completion from the session's
model (sampling, after the user approves it), input from the user (elicitation), and
log messages they send.

These are the SDK client's callbacks; they run in the server's connection, so a cancel
of the run that caused them does not reach them: ``QuestionBroker.cancel_all`` withdraws
their questions instead.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio

from harness_tui.core.events import (
    ElicitationRequested,
    ElicitationResolved,
    McpServerLog,
    SamplingRequested,
    SamplingResolved,
    new_id,
)
from harness_tui.core.mcp.features.questions import (
    ElicitationAnswer,
    QuestionBroker,
    SamplingAnswer,
)
from harness_tui.core.mcp.results import blocks_text
from harness_tui.core.messages import AssistantMessage, Message, TextBlock, UserMessage
from harness_tui.core.providers.base import ModelRequest, StreamEnd, StreamFailed, TextChunk

if TYPE_CHECKING:
    from harness_tui.core.mcp.connection import ServerConnection
    from harness_tui.core.providers.models import ModelChoice

Emit = Callable[..., Awaitable[Any]]
_STOP_REASONS = {"end_turn": "endTurn", "max_tokens": "maxTokens", "stop_sequence": "stopSequence"}
USER_REJECTED = -1


class SamplingFailed(Exception):
    pass


class ClientRequests:
    """The SDK client callbacks of one session's servers."""

    def __init__(
        self,
        *,
        emit: Emit,
        emit_session: Emit,
        questions: QuestionBroker,
        model: Callable[[], ModelChoice],
        roots: Callable[[], list[Path]],
    ) -> None:
        self.emit = emit
        self.emit_session = emit_session
        self.questions = questions
        self.model = model
        self.roots = roots
        #: The ``Elicitation`` / ``ElicitationResult`` hooks (``hooks.fire``): an answer
        #: before the user is asked, and one that replaces the user's.
        self.elicit_hooks: Any = None

    def callbacks(self, connection: ServerConnection) -> dict[str, Any]:
        server = connection.name

        async def list_roots(context: Any) -> Any:
            from mcp.types import ListRootsResult, Root
            from pydantic import FileUrl

            folders = self.roots()
            return ListRootsResult(
                roots=[Root(uri=FileUrl(p.as_uri()), name=p.name or str(p)) for p in folders]
            )

        async def sampling(context: Any, params: Any) -> Any:
            return await self.sample(server, params)

        async def elicitation(context: Any, params: Any) -> Any:
            return await self.elicit(server, params)

        async def logging(params: Any) -> None:
            data = params.data
            message = data if isinstance(data, str) else json.dumps(data, default=str)
            connection.add_log(f"{params.level}: {message}")
            await self.emit_session(
                McpServerLog,
                server=server,
                level=params.level,
                message=message,
                logger=params.logger,
            )

        return {
            "list_roots_callback": list_roots,
            "sampling_callback": sampling,
            "elicitation_callback": elicitation,
            "logging_callback": logging,
        }

    # --- sampling -------------------------------------------------------------------

    async def sample(self, server: str, params: Any) -> Any:
        from mcp.types import CreateMessageResult, ErrorData, TextContent

        choice = self.model()
        request_id = new_id("smp")
        messages = tuple(
            {"role": m.role, "text": blocks_text(m.content_as_list)} for m in params.messages
        )

        async def resolved(decision: str, **fields: Any) -> None:
            with anyio.CancelScope(shield=True):
                await self.emit(
                    SamplingResolved,
                    request_id=request_id,
                    server=server,
                    decision=decision,
                    model=choice.name,
                    **fields,
                )

        try:
            answer: SamplingAnswer | None = await self.questions.ask(
                request_id,
                "sampling",
                SamplingRequested,
                {
                    "server": server,
                    "messages": messages,
                    "system_prompt": params.system_prompt,
                    "max_tokens": params.max_tokens,
                    "model": choice.name,
                },
            )
            if answer is None or not answer.approved:
                reason = (
                    answer.reason
                    if answer is not None
                    else "nobody is there to approve it (headless)"
                )
                await resolved(
                    "cancelled" if answer and answer.cancelled else "declined", reason=reason
                )
                return ErrorData(
                    code=USER_REJECTED,
                    message=f"The user declined the sampling request: {reason or 'no reason'}",
                )
            text, stop = await run_sampling(
                choice, messages, params.system_prompt, params.max_tokens
            )
        except anyio.get_cancelled_exc_class():
            await resolved("cancelled")
            raise
        except SamplingFailed as exc:
            await resolved("failed", reason=str(exc))
            return ErrorData(code=-32603, message=f"Sampling failed: {exc}")
        await resolved("approved", response=text)
        return CreateMessageResult(
            role="assistant",
            content=TextContent(type="text", text=text),
            model=choice.name,
            stop_reason=_STOP_REASONS.get(stop, stop),
        )

    # --- elicitation ------------------------------------------------------------------

    async def elicit(self, server: str, params: Any) -> Any:
        from mcp.types import ElicitResult

        request_id = new_id("eli")
        mode = getattr(params, "mode", "form") or "form"
        schema = getattr(params, "requested_schema", None)
        if schema is not None and hasattr(schema, "model_dump"):
            schema = schema.model_dump(by_alias=True, exclude_none=True)
        fields = {
            "server": server,
            "message": params.message,
            "mode": mode,
            "requested_schema": dict(schema or {}),
            "url": getattr(params, "url", None),
        }
        hooks = self.elicit_hooks
        try:
            answer: ElicitationAnswer | None = None
            if hooks is not None:
                answer = await hooks.before(request_id, fields)
            if answer is None:
                answer = await self.questions.ask(
                    request_id,
                    "elicitation",
                    ElicitationRequested,
                    fields,
                    fields["requested_schema"],
                )
                if answer is not None and hooks is not None:
                    answer = await hooks.after(request_id, fields, answer)
        except anyio.get_cancelled_exc_class():
            with anyio.CancelScope(shield=True):
                await self.emit(
                    ElicitationResolved, request_id=request_id, server=server, action="cancel"
                )
            raise
        if answer is None:
            answer = ElicitationAnswer("decline")
        await self.emit(
            ElicitationResolved,
            request_id=request_id,
            server=server,
            action=answer.action,
            content=answer.content,
        )
        content = answer.content if mode == "form" and answer.action == "accept" else None
        return ElicitResult(action=answer.action, content=content)


async def run_sampling(
    choice: ModelChoice,
    messages: tuple[dict[str, str], ...],
    system_prompt: str | None,
    max_tokens: int,
) -> tuple[str, str]:
    """Ask ``choice``'s model; the answer's text and stop reason. Raises
    ``SamplingFailed``. A scripted model answers from its own sampling replies, never
    with the run's next reply (``ModelChoice.create_for_sampling``)."""
    provider = choice.create_for_sampling()
    history: list[Message] = []
    for m in messages:
        if m["role"] == "assistant":
            history.append(
                AssistantMessage(
                    id=new_id("msg"),
                    content=(TextBlock(text=m["text"]),),
                    provider=provider.name,
                    model=provider.model,
                )
            )
        else:
            history.append(UserMessage.of(m["text"]))
    request = ModelRequest(
        model=provider.model,
        system=system_prompt or "",
        messages=tuple(history),
        max_tokens=max_tokens,
    )
    parts: list[str] = []
    stop = "end_turn"
    try:
        async for chunk in provider.stream(request):
            if isinstance(chunk, TextChunk):
                parts.append(chunk.text)
            elif isinstance(chunk, StreamEnd):
                stop = chunk.stop_reason
            elif isinstance(chunk, StreamFailed):
                raise SamplingFailed(chunk.message)
    except (SamplingFailed, anyio.get_cancelled_exc_class()):
        raise
    except Exception as exc:
        raise SamplingFailed(f"{type(exc).__name__}: {exc}") from exc
    finally:
        with anyio.CancelScope(shield=True):
            await provider.aclose()
    return "".join(parts), stop
