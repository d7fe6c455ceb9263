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
    TextChunk,
    ThinkingChunk,
    ToolCallArgs,
    ToolCallBegin,
    ToolCallExtra,
    UsageChunk,
)
from harness_tui.core.providers.catalogue import ModelSpec, Quirks
from harness_tui.core.providers.endpoint import Endpoint
from harness_tui.core.providers.faults import FaultKind, StreamBroken, error_fields
from harness_tui.core.providers.protocols.chat_images import with_tool_images
from harness_tui.core.providers.protocols.history import (
    ToolIdMap,
    WireCache,
    images_changed,
    kept_blocks,
    user_parts,
)
from harness_tui.core.providers.sdk_provider import SDKProvider

#: finish_reason -> the neutral stop reason (Anthropic's words).
STOP_REASONS = {
    "stop": "end_turn",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "length": "max_tokens",
    "content_filter": "content_filter",
}
#: finish_reason values that mean the answer broke off on the server's side.
BROKEN_FINISHES: dict[str, tuple[FaultKind, str]] = {
    # DeepSeek: "the request is interrupted due to insufficient resource of the
    # inference system" (tests/wire/deepseek/insufficient-system-resource.yaml)
    "insufficient_system_resource": ("overloaded", "insufficient_system_resource"),
    # OpenRouter and others end a stream whose upstream failed with "error"
    "error": ("stream_error", "the provider ended the answer with finish_reason error"),
}


class OpenAICompatProvider(SDKProvider):
    name = "openai_compat"

    def __init__(self, spec: ModelSpec, endpoint: Endpoint) -> None:
        super().__init__(spec, endpoint)
        # OpenAI refuses tool_call ids longer than 40 characters.
        self._tool_id = ToolIdMap(None, 40)
        self._wire: WireCache[dict[str, Any] | None] = WireCache(self._render)
        self._images: Mapping[str, ImageData] = {}

    def _connect(self) -> tuple[ModuleType, Any]:
        return connect_openai(self.endpoint)

    def _error_of(self, body: object) -> tuple[str | None, str | None]:
        return error_fields(body)

    # --- request ------------------------------------------------------------------------

    def _params(self, request: ModelRequest) -> dict[str, Any]:
        quirks = self.endpoint.quirks
        messages: list[dict[str, Any]] = []
        if request.system:
            messages.append({"role": "system", "content": request.system})
        images_changed(self._wire, request.images)
        self._images = request.images
        wire = self._wire.render_all(request.messages)
        if self.spec.capabilities.vision and any(
            isinstance(m, ToolResultMessage) and m.images for m in request.messages
        ):
            messages.extend(with_tool_images(request.messages, wire, request.images))
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
        if quirks.thinking_request and self.spec.capabilities.thinking:
            params["extra_body"] = quirks.thinking_request
        if quirks.unsigned_call_extra is not None:
            _mark_unsigned_calls(messages, quirks.tool_call_extras, quirks.unsigned_call_extra)
        return params

    def _render(self, message: Message) -> dict[str, Any] | None:
        if isinstance(message, UserMessage):
            if not message.images:
                return {"role": "user", "content": message.text}
            return {
                "role": "user",
                "content": [
                    {"type": "text", "text": part}
                    if isinstance(part, str)
                    else {
                        "type": "image_url",
                        "image_url": {"url": f"data:{part.media_type};base64,{part.data}"},
                    }
                    for part in user_parts(message, self._images)
                ],
            }
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
        quirks = self.endpoint.quirks
        # Reasoning and per-call data are the model's own: only that model gets them back.
        own = message.provider == self.name and message.model == self.model
        echo = quirks.reasoning_echo

        def keep(block: ThinkingBlock) -> bool:
            return own and echo != "none" and bool(block.text)

        text, reasoning, calls = [], [], []
        for block in kept_blocks(message, keep):
            if block.type == "text":
                text.append(block.text)
            elif block.type == "thinking":
                reasoning.append(block.text)
            else:
                call: dict[str, Any] = {
                    "id": self._tool_id(block.id),
                    "type": "function",
                    "function": {"name": block.name, "arguments": json.dumps(block.input)},
                }
                if own and block.extra:
                    call.update(
                        (k, v) for k, v in block.extra.items() if k in quirks.tool_call_extras
                    )
                calls.append(call)
        if not text and not calls:
            return None
        empty = None if quirks.null_content else ""
        wire: dict[str, Any] = {"role": "assistant", "content": "".join(text) or empty}
        if calls:
            wire["tool_calls"] = calls
        if echo == "all" or (echo == "tool_calls" and calls):
            wire[quirks.reasoning_echo_field] = "".join(reasoning)
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


def connect_openai(endpoint: Endpoint) -> tuple[ModuleType, Any]:
    """The ``openai`` module and an async client for ``endpoint`` (both OpenAI protocols)."""
    import httpx2
    import openai

    client = openai.AsyncOpenAI(
        api_key=endpoint.api_key,
        base_url=endpoint.base_url,
        max_retries=0,  # retries are ours, so that each one is an event
        timeout=httpx2.Timeout(endpoint.read_timeout, connect=endpoint.connect_timeout),
        default_headers=dict(endpoint.headers) or None,
    )
    return openai, client


class _Call:
    """A tool call being assembled from fragments."""

    __slots__ = ("args", "extra", "id", "name", "started")

    def __init__(self, call_id: str | None) -> None:
        self.id = call_id
        self.name: str | None = None
        self.args: list[str] = []
        self.extra: dict[str, Any] = {}
        self.started = False


def _mark_unsigned_calls(
    messages: list[dict[str, Any]], fields: tuple[str, ...], placeholder: dict[str, Any]
) -> None:
    """Give the first tool call of each assistant message of the current turn (after the
    last user message) that carries none of ``fields`` the provider's placeholder: Gemini
    refuses unsigned calls of the current turn, e.g. calls another model made before a
    /model switch. Calls with real data, and earlier turns, are left as they are."""
    for position in range(len(messages) - 1, -1, -1):
        message = messages[position]
        if message["role"] == "user":
            return
        calls = message.get("tool_calls") if message["role"] == "assistant" else None
        if calls and not any(f in call for call in calls for f in fields):
            # A copy: the rendered message is reused by later requests.
            messages[position] = {
                **message,
                "tool_calls": [{**calls[0], **placeholder}, *calls[1:]],
            }


async def _chunks(stream: AsyncIterator[Any], quirks: Quirks) -> AsyncGenerator[StreamChunk, None]:
    """Chat completion chunks to chunks."""
    calls = _Calls()
    finish: str | None = None
    usage: Any = None
    reasoning_fields = quirks.reasoning_fields
    extras = quirks.tool_call_extras
    tags = _ThoughtTags() if quirks.thought_tags else None
    refused = False
    async for chunk in stream:
        usage = _usage_in(chunk) or usage
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
                if delta.refusal:
                    # OpenAI streams a refusal in its own field and still ends with
                    # "stop" (tests/wire/openai/refusal-in-delta.yaml)
                    refused = True
                    yield TextChunk(delta.refusal)
                if delta.content:
                    if tags is None:
                        yield TextChunk(delta.content)
                    else:
                        for out in tags.feed(delta.content):
                            yield out
                if delta.tool_calls:
                    spread = len(delta.tool_calls) > 1
                    for position, fragment in enumerate(delta.tool_calls):
                        for out in _call_fragment(calls, position, spread, fragment, extras):
                            yield out
            if choice.finish_reason:
                finish = choice.finish_reason
    if tags is not None:
        for out in tags.flush():
            yield out
    if finish is None:
        raise StreamBroken("stream_cut", "the stream ended without a finish_reason")
    if finish in BROKEN_FINISHES:
        raise StreamBroken(*BROKEN_FINISHES[finish])
    for call in calls.order:
        if not call.started:  # a call whose name never came cannot be answered
            raise StreamBroken("malformed", "a tool call arrived without a name")
    if usage is not None:
        if not isinstance(usage, Mapping):  # the SDK's CompletionUsage
            usage = usage.model_dump()
        counted = _usage(usage)
        cost = usage.get("cost")
        if quirks.usage_cost and isinstance(cost, int | float) and cost >= 0:
            counted = counted.model_copy(update={"cost_usd": float(cost)})
        yield UsageChunk(counted)
    stop = STOP_REASONS.get(finish, finish)
    if refused and stop == "end_turn":
        stop = "refusal"
    if stop == "end_turn" and calls.order:
        stop = "tool_use"  # Gemini ends a tool-call response with "stop"
    yield StreamEnd(stop)


def _usage_in(chunk: Any) -> Any:
    """A chunk's usage wherever the server put it: at the top (OpenAI), inside the
    choice (Moonshot), or in ``x_groq`` (Groq)."""
    if chunk.usage is not None:
        return chunk.usage  # read at the end of the stream (_usage)
    extra = chunk.model_extra or {}
    groq = extra.get("x_groq")
    if isinstance(groq, Mapping) and isinstance(groq.get("usage"), Mapping):
        return groq["usage"]
    for choice in chunk.choices:
        inner = (choice.model_extra or {}).get("usage")
        if isinstance(inner, Mapping):
            return inner
    return None


class _ThoughtTags:
    """Splits ``<thought>...</thought>`` at the start of the answer off as thinking,
    across chunk boundaries (a tag may arrive in pieces)."""

    OPEN, CLOSE = "<thought>", "</thought>"

    def __init__(self) -> None:
        self.state = "start"  # start -> thought -> text
        self.held = ""

    def feed(self, piece: str) -> list[StreamChunk]:
        out: list[StreamChunk] = []
        data = self.held + piece
        self.held = ""
        if self.state == "start":
            stripped = data.lstrip()
            if self.OPEN.startswith(stripped):  # still could be the tag
                self.held = data
                return out
            if stripped.startswith(self.OPEN):
                self.state = "thought"
                data = stripped[len(self.OPEN) :]
            else:
                self.state = "text"
        if self.state == "thought":
            end = data.find(self.CLOSE)
            if end < 0:
                keep = _partial_suffix(data, self.CLOSE)
                if data[: len(data) - keep]:
                    out.append(ThinkingChunk(data[: len(data) - keep]))
                self.held = data[len(data) - keep :]
                return out
            if end:
                out.append(ThinkingChunk(data[:end]))
            self.state = "text"
            data = data[end + len(self.CLOSE) :]
        if data:
            out.append(TextChunk(data))
        return out

    def flush(self) -> list[StreamChunk]:
        held, self.held = self.held, ""
        if not held:
            return []
        return [ThinkingChunk(held) if self.state == "thought" else TextChunk(held)]


def _partial_suffix(data: str, tag: str) -> int:
    """Length of the longest end of ``data`` that begins ``tag``."""
    for size in range(min(len(tag) - 1, len(data)), 0, -1):
        if tag.startswith(data[-size:]):
            return size
    return 0


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

    def find(self, position: int, spread: bool, fragment: Any) -> _Call:
        call_id = fragment.id or None
        index = fragment.index if fragment.index is not None else None
        if index is None and spread:
            # Several fragments without index in one delta (Kimi): their place in the
            # array is their index.
            index = position
        call: _Call | None
        if call_id is not None:
            call = self.by_id.get(call_id)
            if call is None and index is not None:
                known = self.by_index.get(index)
                named = fragment.function is not None and bool(fragment.function.name)
                if known is not None and (known.id is None or not named):
                    # The id came after the call's first fragment, or the server changed
                    # it mid-call (vLLM serving Kimi): a fragment without a name at a
                    # known index goes on with that call.
                    call = known
        elif index is not None:
            call = self.by_index.get(index)
        else:
            call = self.last
        if call is None:
            call = _Call(call_id)
            self.order.append(call)
        if call_id is not None:
            call.id = call.id or call_id
            self.by_id.setdefault(call_id, call)
        self.by_index[index if index is not None else position] = call
        self.last = call
        return call


def _call_fragment(
    calls: _Calls, position: int, spread: bool, fragment: Any, extras: tuple[str, ...]
) -> list[StreamChunk]:
    call = calls.find(position, spread, fragment)
    if extras and fragment.model_extra:
        call.extra.update((k, v) for k, v in fragment.model_extra.items() if k in extras)
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
    if call.extra:
        out.append(ToolCallExtra(call.id, call.extra))  # type: ignore[arg-type]
        call.extra = {}
    return out


def _usage(usage: Mapping[str, Any]) -> TokenUsage:
    """OpenAI counts cached tokens inside ``prompt_tokens``; the neutral model (like
    Anthropic) counts them apart."""
    prompt = _count(usage.get("prompt_tokens"))
    output = _count(usage.get("completion_tokens"))
    total = _count(usage.get("total_tokens"))
    if total > prompt + output:
        # Gemini leaves thinking tokens out of completion_tokens but bills them as
        # output; they are in the total.
        output = total - prompt
    details = usage.get("prompt_tokens_details")
    details = details if isinstance(details, Mapping) else {}
    cached = _count(details.get("cached_tokens")) or _count(usage.get("prompt_cache_hit_tokens"))
    written = _count(details.get("cache_write_tokens"))
    return TokenUsage(
        input_tokens=max(0, prompt - cached - written),
        output_tokens=output,
        cache_read_tokens=cached,
        cache_write_tokens=written,
    )


def _count(value: object) -> int:
    return value if isinstance(value, int) and value > 0 else 0
