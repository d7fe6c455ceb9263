"""Assembles one ``AssistantMessage`` from a provider's chunks, and says which event
each chunk makes: the one place a stream chunk is translated.

Shared by every provider, so the message shape never depends on which one ran.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Awaitable, Callable
from typing import Any

from harness_tui.core.events import Retrying, ThinkingDelta, TokenDelta
from harness_tui.core.messages import (
    AssistantBlock,
    AssistantMessage,
    TextBlock,
    ThinkingBlock,
    TokenUsage,
    ToolCallBlock,
)
from harness_tui.core.providers.base import (
    RetryNotice,
    StreamEnd,
    StreamFailed,
    TextChunk,
    ThinkingChunk,
    ThinkingSignature,
    ToolCallArgs,
    ToolCallBegin,
    ToolCallExtra,
    UsageChunk,
)

#: ``emit(event_type, **fields)``: how an event leaves (the loop host's ``emit``).
Emit = Callable[..., Awaitable[Any]]


async def _no_emit(event_type: type, /, **fields: Any) -> None:
    """For a builder whose events go nowhere."""


class MessageBuilder:
    """Collects text, thinking and tool calls in the order they arrive. ``add`` takes
    each chunk of a stream and emits the event the chunk makes, through ``emit``."""

    def __init__(self, message_id: str, provider: str, model: str, emit: Emit = _no_emit) -> None:
        self.message_id = message_id
        self.provider = provider
        self.model = model
        self._emit = emit
        self.usage: TokenUsage | None = None
        self.stop_reason: str | None = None
        #: The ``StreamFailed`` that ended the stream, once one came.
        self.failure: StreamFailed | None = None
        # Each part: ["text", [pieces]] | ["thinking", [pieces], signature]
        #          | ["tool", id, name, [json pieces], extra]
        # Pieces are joined in build(): appending to one long string would copy it
        # on every delta.
        self._parts: list[list[Any]] = []
        #: Tool calls whose input was not valid JSON, by id, with the parse error.
        self.input_errors: dict[str, str] = {}

    @property
    def has_content(self) -> bool:
        return bool(self._parts)

    def add(self, chunk: Any) -> Awaitable[Any] | None:
        """Take one stream chunk. Returns the emission of the event it makes (a
        ``TOKEN_DELTA``, ``THINKING_DELTA`` or ``RETRYING``), for the caller to await, or
        None: the chunk only adds to the message (or, a ``StreamFailed``, is kept in
        ``failure``). The hot path of every stream: one ``type()`` and ``is`` tests,
        and no object made beyond the event itself."""
        kind = type(chunk)
        if kind is TextChunk:
            text = chunk.text
            self.text(text)
            return self._emit(TokenDelta, message_id=self.message_id, text=text)
        if kind is ThinkingChunk:
            text = chunk.text
            self.thinking(text)
            return self._emit(ThinkingDelta, message_id=self.message_id, text=text)
        if kind is ToolCallArgs:
            self.tool_args(chunk.id, chunk.json)
        elif kind is ToolCallBegin:
            self.tool_call(chunk.id, chunk.name)
        elif kind is ThinkingSignature:
            self.thinking_signature(chunk.signature)
        elif kind is ToolCallExtra:
            self.tool_extra(chunk.id, chunk.extra)
        elif kind is UsageChunk:
            self.usage = chunk.usage
        elif kind is StreamEnd:
            self.stop_reason = chunk.stop_reason
        elif kind is RetryNotice:
            # The notice and the event have the same fields (a test holds them equal).
            return self._emit(Retrying, **dataclasses.asdict(chunk))
        elif kind is StreamFailed:
            self.failure = chunk
        return None

    def text(self, text: str) -> None:
        parts = self._parts
        if parts and parts[-1][0] == "text":
            parts[-1][1].append(text)
        else:
            parts.append(["text", [text]])

    def thinking(self, text: str) -> None:
        parts = self._parts
        if parts and parts[-1][0] == "thinking" and parts[-1][2] is None:
            parts[-1][1].append(text)
        else:
            parts.append(["thinking", [text], None])

    def thinking_signature(self, signature: str) -> None:
        parts = self._parts
        if parts and parts[-1][0] == "thinking" and parts[-1][2] is None:
            parts[-1][2] = signature  # closes the thinking just streamed
            return
        # A signature with no text (redacted or empty thinking, an OpenAI reasoning item
        # without a summary) still has to go back, as a block of its own: never onto an
        # earlier block, which has (or will never have) its own.
        parts.append(["thinking", [], signature])

    def tool_call(self, call_id: str, name: str) -> None:
        self._parts.append(["tool", call_id, name, [], None])

    def tool_args(self, call_id: str, fragment: str) -> None:
        for part in reversed(self._parts):
            if part[0] == "tool" and part[1] == call_id:
                part[3].append(fragment)
                return
        raise ValueError(f"input for unknown tool call {call_id!r}")

    def tool_extra(self, call_id: str, extra: dict[str, Any]) -> None:
        for part in reversed(self._parts):
            if part[0] == "tool" and part[1] == call_id:
                part[4] = {**(part[4] or {}), **extra}
                return
        raise ValueError(f"data for unknown tool call {call_id!r}")

    def build(
        self, *, interrupted: bool = False, stop_reason: str | None = None
    ) -> AssistantMessage | None:
        """The message so far, or None when nothing arrived.

        For an interrupted message, tool calls whose input never completed are dropped
        (they cannot be answered); complete ones stay and get a synthetic result later.
        Empty text and unsigned thinking blocks of an interrupted message are dropped too.
        """
        blocks: list[AssistantBlock] = []
        self.input_errors.clear()
        for part in self._parts:
            kind = part[0]
            if kind == "text":
                text = "".join(part[1])
                if text:
                    blocks.append(TextBlock(text=text))
            elif kind == "thinking":
                text = "".join(part[1])
                if text or part[2]:
                    blocks.append(ThinkingBlock(text=text, signature=part[2]))
            else:
                _, call_id, name, pieces, extra = part
                parsed = _parse_input("".join(pieces))
                if isinstance(parsed, str):
                    if interrupted:
                        continue
                    self.input_errors[call_id] = parsed
                    parsed = {}
                blocks.append(ToolCallBlock(id=call_id, name=name, input=parsed, extra=extra))
        if not blocks:
            return None
        return AssistantMessage(
            id=self.message_id,
            content=tuple(blocks),
            provider=self.provider,
            model=self.model,
            stop_reason=stop_reason or self.stop_reason,
            interrupted=interrupted,
            usage=self.usage,
        )


def _parse_input(raw: str) -> dict[str, Any] | str:
    """The parsed input object, or an error message."""
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        return f"the tool input is not valid JSON ({exc.msg} at character {exc.pos})"
    except RecursionError:  # the model sent thousands of nested brackets
        return "the tool input is nested too deeply to read; send a flatter JSON object"
    except ValueError as exc:  # e.g. an integer over Python's 4,300-digit limit
        return f"the tool input cannot be read ({exc})"
    if not isinstance(value, dict):
        return f"the tool input must be a JSON object, not {type(value).__name__}"
    return value
