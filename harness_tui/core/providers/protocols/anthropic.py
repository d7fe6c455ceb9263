"""The ``anthropic`` adapter: the official SDK's streaming Messages API.

Request: the system prompt and the tools carry ``cache_control`` breakpoints (prompt
caching), and so does the newest message, so each turn of a tool loop reads the turns
before it from the cache. Thinking is enabled for models that can think; signed thinking
of earlier Anthropic responses goes back with its signature (``history``). Plain dicts
only: the SDK's param types are unions that change between versions.

Response: the raw event stream (``messages.create(stream=True)``) becomes chunks —
text, thinking and its signature, tool calls with their streamed JSON input, usage and
the stop reason. A stream that stops before ``message_stop`` is a failure, not an answer.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from types import ModuleType
from typing import Any

import anyio

from harness_tui.core.messages import (
    AssistantMessage,
    ImageData,
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
    StreamFailed,
    TextChunk,
    ThinkingChunk,
    ThinkingSignature,
    ToolCallArgs,
    ToolCallBegin,
    UsageChunk,
)
from harness_tui.core.providers.catalogue import ModelSpec
from harness_tui.core.providers.endpoint import Endpoint
from harness_tui.core.providers.faults import StreamBroken, error_fields
from harness_tui.core.providers.protocols.history import (
    ToolIdMap,
    WireCache,
    images_changed,
    kept_blocks,
    tool_images,
    user_parts,
)
from harness_tui.core.providers.sdk_provider import SDKProvider

#: A redacted thinking block has no text, only opaque data that must go back unchanged.
#: The neutral model has no such block, so it travels as a signature with this prefix.
REDACTED_PREFIX = "redacted_thinking:"
#: Any other block the neutral model has no place for (a server tool's ``server_tool_use``
#: and its ``web_search_tool_result``, blocks of newer API versions) travels the same way:
#: its JSON after this prefix, sent back exactly as received. After ``pause_turn`` the API
#: wants the paused content back as-is, server tool blocks included.
OPAQUE_PREFIX = "anthropic_block:"
#: How the API refuses thinking blocks bound to a conversation prefix that has changed
#: (tests/wire/anthropic/rule-thinking-prefix-binding.yaml).
_STALE_THINKING = re.compile(
    r"bound to a different conversation|Invalid `signature` in `thinking` block"
)
#: Output limit for models the catalogue does not list.
DEFAULT_MAX_TOKENS = 8192
_EPHEMERAL = {"type": "ephemeral"}

WireMessage = dict[str, Any]


class AnthropicProvider(SDKProvider):
    name = "anthropic"

    def __init__(self, spec: ModelSpec, endpoint: Endpoint) -> None:
        super().__init__(spec, endpoint)
        # Anthropic accepts tool_use ids of [a-zA-Z0-9_-] only.
        self._tool_id = ToolIdMap(r"[^a-zA-Z0-9_-]", 64)
        self._wire: WireCache[WireMessage | None] = WireCache(self._render)
        #: Responses whose thinking the API no longer accepts (see ``stream``).
        self._stale_thinking: set[str] = set()

    def _recover(self, failure: StreamFailed, request: ModelRequest) -> str | None:
        """The newest models bind thinking blocks to the exact conversation before them
        (system prompt, tools, earlier turns) and refuse a block whose prefix changed —
        after compaction, or when a session is resumed on another day (the system prompt
        has the date). The request then goes once more without the thinking of the
        responses it carried; those stay without it in later requests too."""
        if not _STALE_THINKING.search(failure.message):
            return None
        self._stale_thinking.update(
            m.id for m in request.messages if isinstance(m, AssistantMessage)
        )
        self._wire = WireCache(self._render)
        self._images: Mapping[str, ImageData] = {}
        return "earlier thinking no longer matches the conversation; sent without it"

    def _connect(self) -> tuple[ModuleType, Any]:
        import anthropic
        import httpx2

        endpoint = self.endpoint
        headers = dict(endpoint.headers)
        if endpoint.auth_header == "x-api-key":
            headers["x-api-key"] = endpoint.api_key
        client = anthropic.AsyncAnthropic(
            api_key=endpoint.api_key,
            base_url=endpoint.base_url,
            max_retries=0,  # retries are ours, so that each one is an event
            timeout=httpx2.Timeout(endpoint.read_timeout, connect=endpoint.connect_timeout),
            default_headers=headers or None,
        )
        return anthropic, client

    def _error_of(self, body: object) -> tuple[str | None, str | None]:
        if isinstance(body, Mapping):
            return error_fields(body.get("error"))
        return error_fields(body)

    # --- request ------------------------------------------------------------------------

    def _params(self, request: ModelRequest) -> dict[str, Any]:
        images_changed(self._wire, request.images)
        self._images = request.images
        messages = _merge_roles(self._wire.render_all(request.messages))
        if messages:
            # The newest block: the next turn reads everything up to here from the cache.
            # (A copy: the rendered messages are reused on later turns.)
            *rest, last = messages[-1]["content"]
            messages[-1] = {
                "role": messages[-1]["role"],
                "content": [*rest, {**last, "cache_control": _EPHEMERAL}],
            }
        max_tokens = request.max_tokens or self.spec.max_output or DEFAULT_MAX_TOKENS
        params: dict[str, Any] = {
            "model": self.model,
            "max_tokens": max_tokens,
            "messages": messages,
        }
        if request.system:
            params["system"] = [
                {"type": "text", "text": request.system, "cache_control": _EPHEMERAL}
            ]
        if request.tools:
            tools = [
                {"name": t.name, "description": t.description, "input_schema": t.input_schema}
                for t in request.tools
            ]
            tools[-1]["cache_control"] = _EPHEMERAL
            params["tools"] = tools
        thinking = self._thinking(max_tokens, messages)
        if thinking is not None:
            params["thinking"] = thinking
        return params

    def _thinking(self, max_tokens: int, messages: list[dict[str, Any]]) -> dict[str, Any] | None:
        if not self.spec.capabilities.thinking:
            return None
        if _tool_loop_without_thinking(messages):
            # With thinking on, the API wants the assistant turn being continued to start
            # with a thinking block; one that came from another provider has none.
            return None
        if self.spec.thinking_mode == "adaptive":
            # From Opus 4.7 on the default display is "omitted" (empty thinking text):
            # ask for the summary, so the user sees what the model weighed.
            return {"type": "adaptive", "display": "summarized"}
        budget = min(self.spec.thinking_budget, max_tokens - 1)
        if budget < 1024:
            return None
        return {"type": "enabled", "budget_tokens": budget}

    def _render(self, message: Message) -> WireMessage | None:
        if isinstance(message, UserMessage):
            return {
                "role": "user",
                "content": [
                    {"type": "text", "text": part}
                    if isinstance(part, str)
                    else {
                        "type": "image",
                        "source": {
                            "type": "base64",
                            "media_type": part.media_type,
                            "data": part.data,
                        },
                    }
                    for part in user_parts(message, self._images)
                ],
            }
        if isinstance(message, ToolResultMessage):
            content: str | list[dict[str, Any]] = message.content or "(no output)"
            if message.images and self.spec.capabilities.vision:
                content = [
                    {"type": "text", "text": content},
                    *(
                        {
                            "type": "image",
                            "source": {
                                "type": "base64",
                                "media_type": image.media_type,
                                "data": image.data,
                            },
                        }
                        for image in tool_images(message, self._images)
                    ),
                ]
            block: dict[str, Any] = {
                "type": "tool_result",
                "tool_use_id": self._tool_id(message.tool_call_id),
                "content": content,
            }
            if message.is_error:
                block["is_error"] = True
            return {"role": "user", "content": [block]}
        assert isinstance(message, AssistantMessage)
        ours = message.provider == self.name
        stale = message.id in self._stale_thinking

        def keep(block: ThinkingBlock) -> bool:
            if not ours or not block.signature:
                return False
            return not stale or block.signature.startswith(OPAQUE_PREFIX)

        content = []
        for part in kept_blocks(message, keep):
            if part.type == "text":
                content.append({"type": "text", "text": part.text})
            elif part.type == "thinking":
                assert part.signature is not None
                if part.signature.startswith(REDACTED_PREFIX):
                    data = part.signature.removeprefix(REDACTED_PREFIX)
                    content.append({"type": "redacted_thinking", "data": data})
                elif part.signature.startswith(OPAQUE_PREFIX):
                    content.append(json.loads(part.signature.removeprefix(OPAQUE_PREFIX)))
                else:
                    content.append(
                        {"type": "thinking", "thinking": part.text, "signature": part.signature}
                    )
            else:
                content.append(
                    {
                        "type": "tool_use",
                        "id": self._tool_id(part.id),
                        "name": part.name,
                        "input": part.input,
                    }
                )
        return {"role": "assistant", "content": content} if content else None

    # --- response -----------------------------------------------------------------------

    async def _attempt(
        self, client: Any, params: dict[str, Any]
    ) -> AsyncGenerator[StreamChunk, None]:
        stream = await client.messages.create(**params, stream=True)
        try:
            async for chunk in _chunks(stream):
                yield chunk
        finally:
            with anyio.CancelScope(shield=True):
                await stream.close()


async def _chunks(stream: AsyncIterator[Any]) -> AsyncGenerator[StreamChunk, None]:
    """Raw stream events to chunks."""
    tool_ids: dict[int, str] = {}
    #: Blocks of other types (by index) being received, with their streamed JSON input.
    opaque: dict[int, tuple[dict[str, Any], list[str]]] = {}
    #: Thinking blocks (by index) that have streamed text; one without text still needs
    #: a block of its own before its signature arrives.
    thinking_text: dict[int, bool] = {}
    usage: dict[str, int] = {}
    stop_reason = "end_turn"
    stopped = False
    async for event in stream:
        kind = event.type
        if stopped:
            # Read on to the end of the body (it follows at once): a response left
            # half-read cannot hand its connection back to the pool.
            continue
        if kind == "content_block_delta":
            delta = event.delta
            dtype = delta.type
            if dtype == "text_delta":
                yield TextChunk(delta.text)
            elif dtype == "input_json_delta":
                if not delta.partial_json:
                    continue
                if event.index in tool_ids:
                    yield ToolCallArgs(tool_ids[event.index], delta.partial_json)
                elif event.index in opaque:
                    opaque[event.index][1].append(delta.partial_json)
            elif dtype == "thinking_delta":
                thinking_text[event.index] = True
                yield ThinkingChunk(delta.thinking)
            elif dtype == "signature_delta":
                if not thinking_text.get(event.index):
                    yield ThinkingChunk("")
                yield ThinkingSignature(delta.signature)
        elif kind == "content_block_start":
            block = event.content_block
            btype = block.type
            if btype == "text":
                if block.text:
                    yield TextChunk(block.text)
            elif btype == "thinking":
                thinking_text[event.index] = bool(block.thinking)
                if block.thinking:
                    yield ThinkingChunk(block.thinking)
            elif btype == "redacted_thinking":
                yield ThinkingChunk("")
                yield ThinkingSignature(REDACTED_PREFIX + block.data)
            elif btype == "tool_use":
                tool_ids[event.index] = block.id
                yield ToolCallBegin(block.id, block.name)
                if block.input:  # the API streams the input; some proxies send it whole
                    yield ToolCallArgs(block.id, json.dumps(block.input))
            else:
                opaque[event.index] = (block.model_dump(mode="json", exclude_none=True), [])
        elif kind == "content_block_stop":
            held = opaque.pop(event.index, None)
            if held is not None:
                block_data, pieces = held
                if pieces:
                    block_data["input"] = json.loads("".join(pieces))
                yield ThinkingChunk("")
                yield ThinkingSignature(OPAQUE_PREFIX + json.dumps(block_data))
        elif kind == "message_start":
            _add_usage(usage, event.message.usage)
        elif kind == "message_delta":
            if event.delta.stop_reason:
                stop_reason = event.delta.stop_reason
            if event.usage is not None:
                _add_usage(usage, event.usage)
        elif kind == "message_stop":
            stopped = True
    if not stopped:
        raise StreamBroken("stream_cut", "the stream ended before message_stop")
    yield UsageChunk(
        TokenUsage(
            input_tokens=usage.get("input_tokens", 0),
            output_tokens=usage.get("output_tokens", 0),
            cache_read_tokens=usage.get("cache_read_input_tokens", 0),
            cache_write_tokens=usage.get("cache_creation_input_tokens", 0),
        )
    )
    yield StreamEnd(stop_reason)


_USAGE_FIELDS = (
    "input_tokens",
    "output_tokens",
    "cache_read_input_tokens",
    "cache_creation_input_tokens",
)


def _add_usage(into: dict[str, int], usage: Any) -> None:
    """Counts in ``message_delta`` are cumulative: the latest value wins."""
    for name in _USAGE_FIELDS:
        value = getattr(usage, name, None)
        if isinstance(value, int):
            into[name] = value


def _merge_roles(wire: list[WireMessage | None]) -> list[WireMessage]:
    """Consecutive messages of one role become one (tool results and a steering message
    share a user turn); roles then alternate as the API requires. Rendered messages are
    reused as they are; only a merged one is new."""
    messages: list[WireMessage] = []
    merged = False  # whether messages[-1] is a new dict of ours
    for message in wire:
        if message is None:
            continue
        if messages and messages[-1]["role"] == message["role"]:
            if not merged:
                messages[-1] = {"role": message["role"], "content": [*messages[-1]["content"]]}
                merged = True
            messages[-1]["content"].extend(message["content"])
        else:
            messages.append(message)
            merged = False
    return messages


def _tool_loop_without_thinking(messages: list[dict[str, Any]]) -> bool:
    """Whether the request continues a tool loop whose assistant turn has no thinking."""
    if len(messages) < 2 or messages[-1]["role"] != "user":
        return False
    if not any(b.get("type") == "tool_result" for b in messages[-1]["content"]):
        return False
    first = messages[-2]["content"][0]
    return first.get("type") not in ("thinking", "redacted_thinking")
