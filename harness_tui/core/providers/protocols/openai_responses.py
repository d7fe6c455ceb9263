"""The ``openai_responses`` adapter: the official ``openai`` SDK's streamed Responses API.

OpenAI's reasoning models keep their reasoning across the turns of a tool loop only
here: each response's reasoning items come back encrypted (``include:
["reasoning.encrypted_content"]``) and go into the next request as they came, with
``store: false`` so that nothing lives on OpenAI's side. That is what Codex does, and
like Codex we send no item ids: an id refers to a stored item, and with ``store: false``
the API answers one with "Item with id 'rs_…' not found. Items are not persisted when
`store` is set to false" (404), or refuses a function call sent with its id but without
its reasoning item ("Item 'fc_…' of type 'function_call' was provided without its
required 'reasoning' item") — see ``tests/fakes/responses_server.py`` for the sources.

A response is a list of output items streamed as events: ``reasoning`` (summary text as
thinking, the encrypted content as the thinking block's signature), ``message`` (text,
or a refusal) and ``function_call`` (arguments in pieces, told apart by ``item_id``;
answered by ``call_id``). It ends with ``response.completed``, ``response.incomplete``
(the output limit, the content filter) or ``response.failed``; a stream that ends with
none of them broke off.
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
from harness_tui.core.providers.faults import StreamBroken, error_fields, fault_of_error
from harness_tui.core.providers.protocols.history import (
    ToolIdMap,
    WireCache,
    images_changed,
    kept_blocks,
    tool_images,
    user_parts,
)
from harness_tui.core.providers.protocols.openai_compat import connect_openai
from harness_tui.core.providers.sdk_provider import SDKProvider

#: ``incomplete_details.reason`` -> the neutral stop reason.
INCOMPLETE = {"max_output_tokens": "max_tokens", "content_filter": "content_filter"}
#: The API no longer accepts reasoning it encrypted: another organisation's key, or a
#: key rotated (openai/codex#8119, #8145: "The encrypted content gAAA...DQ== could not
#: be verified.", code ``invalid_encrypted_content``).
_STALE_REASONING = re.compile(r"invalid_encrypted_content|encrypted content.*could not be verified")

Item = dict[str, Any]


class OpenAIResponsesProvider(SDKProvider):
    name = "openai_responses"

    def __init__(self, spec: ModelSpec, endpoint: Endpoint) -> None:
        super().__init__(spec, endpoint)
        self._tool_id = ToolIdMap(r"[^a-zA-Z0-9_-]", 64)
        self._wire: WireCache[list[Item]] = WireCache(self._render)
        #: Set once the API refused our encrypted reasoning: it is not sent again.
        self._no_reasoning = False

    def _connect(self) -> tuple[ModuleType, Any]:
        return connect_openai(self.endpoint)

    def _error_of(self, body: object) -> tuple[str | None, str | None]:
        return error_fields(body)

    def _recover(self, failure: StreamFailed, request: ModelRequest) -> str | None:
        """Reasoning encrypted under another key (the key changed mid-session, or a
        resumed session runs on another organisation's key) is refused outright; the
        request goes once more without any, and later ones stay without it."""
        if self._no_reasoning or not _STALE_REASONING.search(failure.message):
            return None
        self._no_reasoning = True
        self._wire = WireCache(self._render)
        self._images: Mapping[str, ImageData] = {}
        return "earlier reasoning could not be verified by OpenAI; sent without it"

    # --- request ------------------------------------------------------------------------

    @property
    def _thinks(self) -> bool:
        return self.spec.capabilities.thinking

    def _params(self, request: ModelRequest) -> dict[str, Any]:
        images_changed(self._wire, request.images)
        self._images = request.images
        items = [item for rendered in self._wire.render_all(request.messages) for item in rendered]
        params: dict[str, Any] = {
            "model": self.model,
            "input": items,
            "stream": True,
            # Nothing kept on OpenAI's side: the history is ours, reasoning included.
            "store": False,
        }
        if request.system:
            params["instructions"] = request.system
        if request.tools:
            params["tools"] = [
                {
                    "type": "function",
                    "name": t.name,
                    "description": t.description,
                    "parameters": t.input_schema,
                    # Strict mode demands every property be required and no extra ones:
                    # tool schemas from MCP servers rarely are.
                    "strict": False,
                }
                for t in request.tools
            ]
        max_tokens = request.max_tokens or self.spec.max_output
        if max_tokens:
            params["max_output_tokens"] = max_tokens
        if self._thinks:
            # Summaries are what can be shown; the encrypted content is what goes back.
            params["reasoning"] = {"summary": "auto"}
            params["include"] = ["reasoning.encrypted_content"]
        return params

    def _render(self, message: Message) -> list[Item]:
        if isinstance(message, UserMessage):
            if not message.images:
                return [{"type": "message", "role": "user", "content": message.text}]
            content = [
                {"type": "input_text", "text": part}
                if isinstance(part, str)
                else {
                    "type": "input_image",
                    "image_url": f"data:{part.media_type};base64,{part.data}",
                    "detail": "auto",
                }
                for part in user_parts(message, self._images)
            ]
            return [{"type": "message", "role": "user", "content": content}]
        if isinstance(message, ToolResultMessage):
            return [self._output(message)]
        assert isinstance(message, AssistantMessage)
        # Reasoning is the model's own, encrypted for it: only it gets it back.
        own = (
            message.provider == self.name
            and message.model == self.model
            and self._thinks
            and not self._no_reasoning
        )

        def keep(block: ThinkingBlock) -> bool:
            return own and bool(block.signature)

        items: list[Item] = []
        text: list[str] = []

        def flush_text() -> None:
            if text:
                items.append(
                    {
                        "type": "message",
                        "role": "assistant",
                        "content": [{"type": "output_text", "text": "".join(text)}],
                    }
                )
                text.clear()

        for block in kept_blocks(message, keep):
            if block.type == "text":
                text.append(block.text)
                continue
            flush_text()
            if block.type == "thinking":
                summary = [{"type": "summary_text", "text": block.text}] if block.text else []
                items.append(
                    {"type": "reasoning", "summary": summary, "encrypted_content": block.signature}
                )
            else:
                items.append(
                    {
                        "type": "function_call",
                        "call_id": self._tool_id(block.id),
                        "name": block.name,
                        "arguments": json.dumps(block.input),
                    }
                )
        flush_text()
        if items and items[-1]["type"] == "reasoning":
            # A reasoning item must be followed by the item it led to ("…was provided
            # without its required following item"): a response cut off while reasoning.
            while items and items[-1]["type"] == "reasoning":
                items.pop()
        return items

    def _output(self, message: ToolResultMessage) -> Item:
        content = message.content
        if message.is_error and not content.lower().startswith("error"):
            content = f"Error: {content}"  # the wire format has no error flag
        output: str | list[dict[str, Any]] = content
        if message.images and self.spec.capabilities.vision:
            # ``detail`` as on a message's images: optional here in the SDK's types, but
            # strict Responses servers (vLLM) refuse an image without it (vercel/ai#20300).
            output = [{"type": "input_text", "text": content}] + [
                {
                    "type": "input_image",
                    "image_url": f"data:{i.media_type};base64,{i.data}",
                    "detail": "auto",
                }
                for i in tool_images(message, self._images)
            ]
        return {
            "type": "function_call_output",
            "call_id": self._tool_id(message.tool_call_id),
            "output": output,
        }

    # --- response -----------------------------------------------------------------------

    async def _attempt(
        self, client: Any, params: dict[str, Any]
    ) -> AsyncGenerator[StreamChunk, None]:
        stream = await client.responses.create(**params)
        try:
            async for chunk in _chunks(stream):
                yield chunk
        finally:
            with anyio.CancelScope(shield=True):
                await stream.close()


async def _chunks(stream: AsyncIterator[Any]) -> AsyncGenerator[StreamChunk, None]:
    """Response stream events to chunks."""
    calls: dict[str, str] = {}  # function_call item id -> call_id
    streamed: set[str] = set()  # items whose arguments came in pieces
    summaries: dict[str, int] = {}  # reasoning item id -> summary parts seen
    refused = False
    async for event in stream:
        kind = event.type
        if kind in ("response.reasoning_summary_text.delta", "response.reasoning_text.delta"):
            if event.delta:
                yield ThinkingChunk(event.delta)
        elif kind == "response.reasoning_summary_part.added":
            seen = summaries.get(event.item_id, 0)
            summaries[event.item_id] = seen + 1
            if seen:
                yield ThinkingChunk("\n\n")  # summary parts are paragraphs
        elif kind == "response.output_text.delta":
            if event.delta:
                yield TextChunk(event.delta)
        elif kind == "response.refusal.delta":
            refused = True
            if event.delta:
                yield TextChunk(event.delta)
        elif kind == "response.output_item.added":
            item = event.item
            if item.type == "function_call":
                calls[item.id or item.call_id] = item.call_id
                yield ToolCallBegin(item.call_id, item.name)
        elif kind == "response.function_call_arguments.delta":
            call_id = calls.get(event.item_id)
            if call_id is None:
                raise StreamBroken("malformed", "arguments for a function call never begun")
            if event.delta:
                streamed.add(event.item_id)
                yield ToolCallArgs(call_id, event.delta)
        elif kind == "response.output_item.done":
            item = event.item
            if item.type == "reasoning":
                if item.encrypted_content:
                    yield ThinkingSignature(item.encrypted_content)
            elif item.type == "function_call":
                key = item.id or item.call_id
                if key not in calls:  # some servers send a call only whole
                    calls[key] = item.call_id
                    yield ToolCallBegin(item.call_id, item.name)
                if key not in streamed and item.arguments:
                    yield ToolCallArgs(item.call_id, item.arguments)
        elif kind in ("response.completed", "response.incomplete"):
            response = event.response
            if response.usage is not None:
                yield UsageChunk(_usage(response.usage))
            if kind == "response.incomplete":
                details = response.incomplete_details
                reason = details.reason if details is not None else None
                yield StreamEnd(INCOMPLETE.get(reason or "", reason or "max_tokens"))
            elif refused:
                yield StreamEnd("refusal")
            else:
                yield StreamEnd("tool_use" if calls else "end_turn")
            return
        elif kind == "response.failed":
            error = event.response.error
            body = error.model_dump() if error is not None else {}
            raise StreamBroken(*fault_of_error(body, "the response failed"))
        elif kind == "error":
            body = {"code": event.code, "message": event.message}
            raise StreamBroken(*fault_of_error(body, "error in the stream"))
    raise StreamBroken("stream_cut", "the stream ended before response.completed")


def _usage(usage: Any) -> TokenUsage:
    """``input_tokens`` counts the cached ones; the neutral model counts them apart.
    ``output_tokens`` includes the reasoning tokens (billed as output)."""
    details = usage.input_tokens_details
    cached = (details.cached_tokens or 0) if details is not None else 0
    written = (getattr(details, "cache_write_tokens", 0) or 0) if details is not None else 0
    return TokenUsage(
        input_tokens=max(0, usage.input_tokens - cached - written),
        output_tokens=usage.output_tokens,
        cache_read_tokens=cached,
        cache_write_tokens=written,
    )
