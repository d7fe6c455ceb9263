"""The ``openai_compat`` adapter: the official ``openai`` SDK's streaming chat completions.

One adapter for OpenAI, DeepSeek, Moonshot, Ollama, Groq, OpenRouter and Gemini's
compatible endpoint; what differs between them is data (``Endpoint``: base URL, key
variable, ``Quirks``). Tool calls arrive as fragments keyed by ``index`` (id and name
once, the arguments in pieces), possibly several in parallel; usage arrives in a last
chunk with no choices (``stream_options.include_usage``); reasoning that some models
stream in ``reasoning_content`` is shown as thinking. A stream that ends without a
``finish_reason`` is a failure, not an answer.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Mapping, Sequence
from types import ModuleType
from typing import Any

import anyio

from harness_tui.core.messages import (
    AssistantMessage,
    Message,
    ThinkingBlock,
    TokenUsage,
    ToolResultMessage,
    UserMessage,
)
from harness_tui.core.providers.base import (
    ModelRequest,
    StreamChunk,
    StreamEnd,
    TextChunk,
    ThinkingChunk,
    ToolCallArgs,
    ToolCallBegin,
    UsageChunk,
)
from harness_tui.core.providers.catalogue import ModelSpec, Quirks
from harness_tui.core.providers.endpoint import Endpoint
from harness_tui.core.providers.faults import StreamBroken, error_fields
from harness_tui.core.providers.history import ToolIdMap, WireCache, kept_blocks
from harness_tui.core.providers.sdk_provider import SDKProvider

#: finish_reason -> the neutral stop reason (Anthropic's words).
STOP_REASONS = {
    "stop": "end_turn",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "length": "max_tokens",
    "content_filter": "content_filter",
}


class OpenAICompatProvider(SDKProvider):
    name = "openai_compat"

    def __init__(self, spec: ModelSpec, endpoint: Endpoint) -> None:
        super().__init__(spec, endpoint)
        # OpenAI refuses tool_call ids longer than 40 characters.
        self._tool_id = ToolIdMap(None, 40)
        self._wire: WireCache[dict[str, Any] | None] = WireCache(self._render)

    def _connect(self) -> tuple[ModuleType, Any]:
        import httpx2
        import openai

        endpoint = self.endpoint
        client = openai.AsyncOpenAI(
            api_key=endpoint.api_key,
            base_url=endpoint.base_url,
            max_retries=0,  # retries are ours, so that each one is an event
            timeout=httpx2.Timeout(endpoint.read_timeout, connect=endpoint.connect_timeout),
            default_headers=dict(endpoint.headers) or None,
        )
        return openai, client

    def _error_of(self, body: object) -> tuple[str | None, str | None]:
        # The SDK hands over the inner error object; its `code` is often the precise word.
        kind, message = error_fields(body)
        if isinstance(body, Mapping) and kind in (None, "invalid_request_error"):
            code = body.get("code")
            if code in ("invalid_api_key", "rate_limit_exceeded"):
                kind = code
        return kind, message

    # --- request ------------------------------------------------------------------------

    def _params(self, request: ModelRequest) -> dict[str, Any]:
        quirks = self.endpoint.quirks
        messages: list[dict[str, Any]] = []
        if request.system:
            messages.append({"role": "system", "content": request.system})
        wire = self._wire.render_all(request.messages)
        if self.spec.capabilities.vision and any(
            isinstance(m, ToolResultMessage) and m.images for m in request.messages
        ):
            messages.extend(_with_tool_images(request.messages, wire))
        else:
            messages.extend(m for m in wire if m is not None)
        params: dict[str, Any] = {"model": self.model, "messages": messages, "stream": True}
        if quirks.stream_usage:
            params["stream_options"] = {"include_usage": True}
        if request.tools:
            params["tools"] = [
                {
                    "type": "function",
                    "function": {
                        "name": t.name,
                        "description": t.description,
                        "parameters": t.input_schema,
                    },
                }
                for t in request.tools
            ]
        max_tokens = request.max_tokens or self.spec.max_output
        if max_tokens and quirks.max_tokens_field:
            params[quirks.max_tokens_field] = max_tokens
        return params

    def _render(self, message: Message) -> dict[str, Any] | None:
        if isinstance(message, UserMessage):
            return {"role": "user", "content": message.text}
        if isinstance(message, ToolResultMessage):
            content = message.content
            if message.is_error and not content.lower().startswith("error"):
                content = f"Error: {content}"  # the wire format has no error flag
            return {
                "role": "tool",
                "tool_call_id": self._tool_id(message.tool_call_id),
                "content": content,
            }
        assert isinstance(message, AssistantMessage)
        own_reasoning = (
            self.endpoint.quirks.reasoning_in_history
            and message.provider == self.name
            and message.model == self.model
        )

        def keep(block: ThinkingBlock) -> bool:
            return own_reasoning and bool(block.text)

        text, reasoning, calls = [], [], []
        for block in kept_blocks(message, keep):
            if block.type == "text":
                text.append(block.text)
            elif block.type == "thinking":
                reasoning.append(block.text)
            else:
                calls.append(
                    {
                        "id": self._tool_id(block.id),
                        "type": "function",
                        "function": {"name": block.name, "arguments": json.dumps(block.input)},
                    }
                )
        if not text and not calls:
            return None
        wire: dict[str, Any] = {"role": "assistant", "content": "".join(text) or None}
        if calls:
            wire["tool_calls"] = calls
        if reasoning:
            wire["reasoning_content"] = "".join(reasoning)
        return wire

    # --- response -----------------------------------------------------------------------

    async def _attempt(
        self, client: Any, params: dict[str, Any]
    ) -> AsyncGenerator[StreamChunk, None]:
        stream = await client.chat.completions.create(**params)
        try:
            async for chunk in _chunks(stream, self.endpoint.quirks):
                yield chunk
        finally:
            with anyio.CancelScope(shield=True):
                await stream.close()


class _Call:
    """A tool call being assembled from fragments."""

    __slots__ = ("args", "id", "name", "started")

    def __init__(self, call_id: str | None) -> None:
        self.id = call_id
        self.name: str | None = None
        self.args: list[str] = []
        self.started = False


def _with_tool_images(
    messages: Sequence[Message], wire: list[dict[str, Any] | None]
) -> list[dict[str, Any]]:
    """The wire messages with the images of tool results added: a ``tool`` message holds
    only text, so after each run of tool messages comes a user message that shows the
    images they returned (the chat-completions way to show a tool's picture)."""
    out: list[dict[str, Any]] = []
    parts: list[dict[str, Any]] = []
    for message, rendered in zip(messages, wire, strict=True):
        if rendered is None:
            continue
        if parts and rendered["role"] != "tool":
            out.append({"role": "user", "content": parts})
            parts = []
        out.append(rendered)
        if isinstance(message, ToolResultMessage) and message.images:
            count = len(message.images)
            parts.append(
                {
                    "type": "text",
                    "text": f"The {message.tool_name} call {rendered['tool_call_id']} "
                    f"returned {count} image{'s' if count != 1 else ''}:",
                }
            )
            parts += [
                {
                    "type": "image_url",
                    "image_url": {"url": f"data:{image.media_type};base64,{image.data}"},
                }
                for image in message.images
            ]
    if parts:
        out.append({"role": "user", "content": parts})
    return out


async def _chunks(stream: AsyncIterator[Any], quirks: Quirks) -> AsyncGenerator[StreamChunk, None]:
    """Chat completion chunks to chunks."""
    calls = _Calls()
    finish: str | None = None
    usage: Any = None
    reasoning_fields = quirks.reasoning_fields
    async for chunk in stream:
        if chunk.usage is not None:
            usage = chunk.usage
        for choice in chunk.choices:
            if choice.index:  # we ask for one choice; ignore any other
                continue
            delta = choice.delta
            if delta is not None:
                extra = delta.model_extra
                if extra:
                    for name in reasoning_fields:
                        reasoning = extra.get(name)
                        if isinstance(reasoning, str) and reasoning:
                            yield ThinkingChunk(reasoning)
                if delta.content:
                    yield TextChunk(delta.content)
                if delta.tool_calls:
                    for position, fragment in enumerate(delta.tool_calls):
                        for out in _call_fragment(calls, position, fragment):
                            yield out
            if choice.finish_reason:
                finish = choice.finish_reason
    if finish is None:
        raise StreamBroken("stream_cut", "the stream ended without a finish_reason")
    for call in calls.order:
        if not call.started:  # a call whose name never came cannot be answered
            raise StreamBroken("malformed", "a tool call arrived without a name")
    if usage is not None:
        yield UsageChunk(_usage(usage))
    yield StreamEnd(STOP_REASONS.get(finish, finish))


class _Calls:
    """The tool calls of one response, told apart by id first and ``index`` second: some
    servers repeat ``index`` 0 for every parallel call (each with its own id), some send
    no ``index`` at all, and some send each call whole in one fragment."""

    __slots__ = ("by_id", "by_index", "last", "order")

    def __init__(self) -> None:
        self.order: list[_Call] = []
        self.by_id: dict[str, _Call] = {}
        self.by_index: dict[int, _Call] = {}
        self.last: _Call | None = None

    def find(self, position: int, fragment: Any) -> _Call:
        call_id = fragment.id or None
        index = fragment.index if fragment.index is not None else None
        call: _Call | None
        if call_id is not None:
            call = self.by_id.get(call_id)
            if call is None and index is not None:
                known = self.by_index.get(index)
                if known is not None and known.id is None:
                    call = known  # the id came after the call's first fragment
        elif index is not None:
            call = self.by_index.get(index)
        else:
            call = self.last
        if call is None:
            call = _Call(call_id)
            self.order.append(call)
        if call_id is not None:
            call.id = call.id or call_id
            self.by_id[call_id] = call
        self.by_index[index if index is not None else position] = call
        self.last = call
        return call


def _call_fragment(calls: _Calls, position: int, fragment: Any) -> list[StreamChunk]:
    call = calls.find(position, fragment)
    function = fragment.function
    if function is not None:
        if function.name and not call.name:
            call.name = function.name
        if function.arguments:
            call.args.append(function.arguments)
    if call.name is None:
        return []  # wait for the name; keep the arguments meanwhile
    out: list[StreamChunk] = []
    if not call.started:
        call.started = True
        # Some servers (local ones) send no id; the loop needs one per call.
        call.id = call.id or f"call_{uuid.uuid4().hex[:24]}"
        out.append(ToolCallBegin(call.id, call.name))
    if call.args:
        out.append(ToolCallArgs(call.id, "".join(call.args)))  # type: ignore[arg-type]
        call.args.clear()
    return out


def _usage(usage: Any) -> TokenUsage:
    """OpenAI counts cached tokens inside ``prompt_tokens``; the neutral model (like
    Anthropic) counts them apart."""
    prompt = usage.prompt_tokens or 0
    details = usage.prompt_tokens_details
    cached = (details.cached_tokens if details is not None else None) or 0
    written = (details.cache_write_tokens if details is not None else None) or 0
    if not cached and usage.model_extra:  # DeepSeek's own field
        hit = usage.model_extra.get("prompt_cache_hit_tokens")
        cached = hit if isinstance(hit, int) else 0
    return TokenUsage(
        input_tokens=max(0, prompt - cached - written),
        output_tokens=usage.completion_tokens or 0,
        cache_read_tokens=cached,
        cache_write_tokens=written,
    )
