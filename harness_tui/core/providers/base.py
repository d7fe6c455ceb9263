"""What a provider adapter is: a function from a request to a stream of chunks.

Adapters translate their wire protocol into these few chunk types and nothing more; the
loop turns chunks into events and assembles the ``AssistantMessage`` (one assembler for
every provider, so they cannot drift apart). A provider reports failure *inside* the
stream with ``StreamFailed`` rather than raising, so partial output is never lost.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import anyio

from harness_tui.core.messages import ImageData, Message, TokenUsage

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """A tool as the model sees it."""

    name: str
    description: str
    input_schema: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ModelRequest:
    model: str
    system: str
    messages: tuple[Message, ...]
    tools: tuple[ToolSpec, ...] = ()
    max_tokens: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    #: The images the user attached that this request carries, fitted to its API, by
    #: ``ImageBlock.sha256``; an image block not in it goes as a text placeholder
    #: (``images.request.placeholder``).
    images: Mapping[str, ImageData] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TextChunk:
    text: str


@dataclass(frozen=True, slots=True)
class ThinkingChunk:
    text: str


@dataclass(frozen=True, slots=True)
class ThinkingSignature:
    """Closes the current thinking block with the provider's signature."""

    signature: str


@dataclass(frozen=True, slots=True)
class ToolCallBegin:
    id: str
    name: str


@dataclass(frozen=True, slots=True)
class ToolCallArgs:
    """A fragment of the JSON text of a tool call's input."""

    id: str
    json: str


@dataclass(frozen=True, slots=True)
class ToolCallExtra:
    """Provider data of a tool call that must be sent back with it (``ToolCallBlock.extra``)."""

    id: str
    extra: dict[str, Any]


@dataclass(frozen=True, slots=True)
class UsageChunk:
    usage: TokenUsage


@dataclass(frozen=True, slots=True)
class StreamEnd:
    stop_reason: str


#: ``StreamFailed.code`` of a request refused as longer than the model's context window;
#: the loop compacts the conversation and tries once more.
CONTEXT_OVERFLOW = "context_overflow"


@dataclass(frozen=True, slots=True)
class StreamFailed:
    """The response could not be completed. ``hint`` says what the user can do."""

    message: str
    code: str = "provider_error"
    hint: str | None = None


@dataclass(frozen=True, slots=True)
class RetryNotice:
    """The adapter is about to retry the request (nothing was streamed yet)."""

    attempt: int
    max_attempts: int
    delay_s: float
    reason: str
    status_code: int | None = None


StreamChunk = (
    TextChunk
    | ThinkingChunk
    | ThinkingSignature
    | ToolCallBegin
    | ToolCallArgs
    | ToolCallExtra
    | UsageChunk
    | StreamEnd
    | StreamFailed
    | RetryNotice
)


@runtime_checkable
class Provider(Protocol):
    """A model behind some wire protocol."""

    #: Protocol family, e.g. ``anthropic``, ``openai_compat``, ``scripted``.
    name: str
    #: The model id sent on the wire.
    model: str

    def stream(self, request: ModelRequest) -> AsyncGenerator[StreamChunk, None]:
        """Send the request and yield its response as chunks, ending with ``StreamEnd``
        or ``StreamFailed``."""
        ...

    async def aclose(self) -> None:
        """Release what the provider holds (an SDK client and its connections) when it
        is dropped: a model switch, a finished sub-agent or sampling request, the end
        of the session. Adapters that hold nothing inherit this, which does nothing."""
        return None


async def close_provider(provider: Provider | None) -> None:
    """Release a provider's connections (SDK adapters hold an HTTP client), even while
    the caller is being cancelled; a provider that fails to close is logged, never
    raised: a connection that will not close must not stop a switch or an ending."""
    if provider is None:
        return
    try:
        with anyio.CancelScope(shield=True):
            await provider.aclose()
    except Exception:
        log.warning("closing the %s provider failed", provider, exc_info=True)
