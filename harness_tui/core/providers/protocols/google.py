# Over 500 lines as one unit: the whole Gemini wire protocol (request, stream, faults).
"""The ``google`` adapter: Gemini's native API through the official ``google-genai`` SDK.

Request: ``models.generateContent`` streamed (``streamGenerateContent?alt=sse``) on the
``v1beta`` API. The history becomes ``contents`` of role ``user`` or ``model``; each tool
result is a ``functionResponse`` part (``{"output": text}`` or ``{"error": text}``, the two
keys the API documents) and the responses to one model turn go back together in ONE user
turn, in the order of the calls ("Please ensure that the number of function response
parts is equal to the number of function call parts of the function call turn":
github.com/google-gemini/gemini-cli/issues/4217). Images a tool returned follow as
``inlineData`` parts of that same user turn: every Gemini model takes those, whereas
images inside ``functionResponse.parts`` ("multimodal function responses") are a Gemini 3
feature (ai.google.dev/gemini-api/docs/function-calling).

Thought signatures (ai.google.dev/gemini-api/docs/thought-signatures): "if you receive a
thought signature in a model response, you should pass it back exactly as received", on
"the exact part" it came with; Gemini 3 refuses a tool loop of the current turn without
them (400 "Function call is missing a thought_signature in functionCall parts"). A
signature can come on a ``functionCall`` part (the first call of each step; parallel
calls after it have none), on a text part (the last part of an answer without calls,
often an empty text part in the final chunk of a stream) or on a thought part. Where it
is kept in the neutral history:

- on a call: ``ToolCallBlock.extra["thought_signature"]`` (base64 text, as session
  files are JSON), with the call's own ``id`` when Gemini gave one (``extra["id"]``);
- on a thought part: the ``ThinkingBlock``'s signature (the thought summary it closes);
- on a text part: an empty ``ThinkingBlock`` right after the text, whose signature is
  ``TEXT_SIGNATURE`` + base64; it goes back on the text part before it.

Only the model that made them gets its thoughts and signatures back; calls of the
current turn with no signature at all (another model's, before a /model switch) get
Google's documented placeholder on the first call of their model turn.

Response: thought parts are thinking, text parts text, ``functionCall`` parts tool calls
(ids made when Gemini sends none); ``usageMetadata`` (cumulative, the last one counts)
becomes usage; finish reasons map to stop reasons: the safety family (SAFETY,
RECITATION, BLOCKLIST, …) and a prompt blocked outright (``promptFeedback.blockReason``)
are a visible ``content_filter`` stop, left out of later requests; a malformed call is
a failure the retry may cure; a stream that ends without a finish reason is cut.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
import re
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
    ThinkingSignature,
    ToolCallArgs,
    ToolCallBegin,
    ToolCallExtra,
    UsageChunk,
)
from harness_tui.core.providers.catalogue import ModelSpec
from harness_tui.core.providers.endpoint import Endpoint
from harness_tui.core.providers.faults import (
    Fault,
    FaultKind,
    StreamBroken,
    error_fields,
    fault_of_status,
    fault_of_transport,
)
from harness_tui.core.providers.protocols.history import (
    WireCache,
    images_changed,
    kept_blocks,
    tool_images,
    user_parts,
)
from harness_tui.core.providers.sdk_provider import SDKProvider

#: The API version the SDK is pointed at: thought signatures, thinking summaries and
#: ``parametersJsonSchema`` are documented on ``v1beta`` (the SDK's default is ``v1``).
API_VERSION = "v1beta"
#: Signature of a text part, kept as an empty thinking block after the text.
TEXT_SIGNATURE = "gemini_text:"
#: Google's documented placeholder for function calls that never had a signature
#: ("skip_thought_signature_validator", ai.google.dev/gemini-api/docs/thought-signatures
#: FAQ), given to the SDK as these bytes, as Python users of the SDK do (google/adk-python
#: and LiteLLM send base64 of exactly these bytes; see the tests' sources).
PLACEHOLDER_SIGNATURE = b"skip_thought_signature_validator"

#: finishReason -> the neutral stop reason.
STOP_REASONS = {"STOP": "end_turn", "MAX_TOKENS": "max_tokens"}
#: finishReasons of an answer withheld by Google's filters: a visible stop, and the
#: answer is not sent back (history.REFUSALS).
FILTERED = frozenset(
    {
        "SAFETY",
        "RECITATION",
        "BLOCKLIST",
        "PROHIBITED_CONTENT",
        "SPII",
        "LANGUAGE",
        "OTHER",
        "IMAGE_SAFETY",
        "IMAGE_PROHIBITED_CONTENT",
        "IMAGE_RECITATION",
        "IMAGE_OTHER",
        "MODEL_ARMOR",
    }
)
#: finishReasons of a generation that broke: a new sample may well succeed.
BROKEN_FINISHES: dict[str, FaultKind] = {
    "MALFORMED_FUNCTION_CALL": "bad_generation",
    "UNEXPECTED_TOOL_CALL": "bad_generation",
    "TOO_MANY_TOOL_CALLS": "bad_generation",
    "MALFORMED_RESPONSE": "bad_generation",
}
#: How Gemini says the key is wrong: a 400 INVALID_ARGUMENT, not a 401.
_BAD_KEY = re.compile(r"API key not valid|API_KEY_INVALID|API key expired", re.I)


class GoogleProvider(SDKProvider):
    name = "google"

    def __init__(self, spec: ModelSpec, endpoint: Endpoint) -> None:
        super().__init__(spec, endpoint)
        self._wire: WireCache[Any] = WireCache(self._render)
        self._images: Mapping[str, ImageData] = {}
        #: Gemini's own ids of the calls it made (our call id -> its id), for the
        #: ``functionResponse`` that answers each.
        self._gemini_ids: dict[str, str] = {}
        self._http: Any = None

    def _connect(self) -> tuple[ModuleType, Any]:
        import httpx2
        from google import genai
        from google.genai import types

        class _HTTP(httpx2.AsyncClient):
            """The SDK passes its own per-request timeout, None unless one is set in
            milliseconds (and then also sent as ``X-Server-Timeout``, a deadline for the
            whole answer): None keeps this client's connect and read timeouts."""

            def build_request(self, *args: Any, **kwargs: Any) -> Any:
                if kwargs.get("timeout", httpx2.USE_CLIENT_DEFAULT) is None:
                    kwargs["timeout"] = httpx2.USE_CLIENT_DEFAULT
                return super().build_request(*args, **kwargs)

        endpoint = self.endpoint
        self._http = _HTTP(
            timeout=httpx2.Timeout(endpoint.read_timeout, connect=endpoint.connect_timeout),
            follow_redirects=True,
        )
        client = genai.Client(
            vertexai=False,  # GOOGLE_GENAI_USE_VERTEXAI must not reroute this endpoint
            api_key=endpoint.api_key,
            http_options=types.HttpOptions(
                base_url=endpoint.base_url,
                api_version=API_VERSION,
                headers=dict(endpoint.headers) or None,
                httpx_async_client=self._http,
                # Retries are ours, so that each one is an event.
                retry_options=types.HttpRetryOptions(attempts=1),
            ),
        )
        return genai, client

    def _error_of(self, body: object) -> tuple[str | None, str | None]:
        return error_fields(body)

    def _classify(self, exc: BaseException) -> Fault:
        """Google's errors: ``{"error": {"code", "message", "status"}}`` with the
        status word (``RESOURCE_EXHAUSTED``, ``UNAVAILABLE``…), raised by the SDK as
        ``errors.ClientError``/``ServerError`` — also for an error inside the stream."""
        import httpx2
        from google.genai import errors

        if isinstance(exc, StreamBroken):
            return Fault(exc.kind, exc.detail)
        if isinstance(exc, errors.APIError):
            status = exc.code if isinstance(exc.code, int) else 0
            word = exc.status if isinstance(exc.status, str) else None
            message = exc.message if isinstance(exc.message, str) else None
            fault = fault_of_status(status, word, message, _retry_delay(exc.details))
            if _BAD_KEY.search(fault.detail) and fault.kind in ("bad_request", "forbidden"):
                return dataclasses.replace(fault, kind="auth_failed")
            return fault
        if isinstance(exc, httpx2.TimeoutException):
            return Fault("timeout", "no data before the read timeout")
        if isinstance(exc, httpx2.TransportError):
            return fault_of_transport(exc)
        if isinstance(exc, errors.UnknownApiResponseError):  # a chunk that is not JSON
            return Fault("malformed", str(exc)[:300])
        if isinstance(exc, json.JSONDecodeError):
            return Fault("malformed", f"not JSON: {exc.msg} at character {exc.pos}")
        return Fault("provider_error", f"{type(exc).__name__}: {exc}")

    def _http_client(self) -> Any:
        return self._http  # ours, given to the SDK: its requests use this pool

    async def aclose(self) -> None:
        self._closed = True
        client, self._client = self._client, None
        http, self._http = self._http, None
        with anyio.CancelScope(shield=True):
            if client is not None:
                await client.aio.aclose()
                client.close()  # the SDK's idle synchronous client
            if http is not None:
                await http.aclose()  # ours: the SDK leaves a given client open

    # --- request ------------------------------------------------------------------------

    def _params(self, request: ModelRequest) -> dict[str, Any]:
        from google.genai import types

        images_changed(self._wire, request.images)
        self._images = request.images
        contents = _merge_roles([c for c in self._wire.render_all(request.messages) if c])
        _mark_unsigned_calls(contents)
        config: dict[str, Any] = {
            # Function calls come back to us; the SDK must not try to run them.
            "automatic_function_calling": types.AutomaticFunctionCallingConfig(disable=True),
        }
        if request.system:
            config["system_instruction"] = request.system
        if request.tools:
            config["tools"] = [
                types.Tool(
                    function_declarations=[
                        types.FunctionDeclaration(
                            name=t.name,
                            description=t.description,
                            # Full JSON Schema, not the OpenAPI subset of `parameters`.
                            parameters_json_schema=t.input_schema,
                        )
                        for t in request.tools
                    ]
                )
            ]
        max_tokens = request.max_tokens or self.spec.max_output
        if max_tokens:
            config["max_output_tokens"] = max_tokens
        if self.spec.capabilities.thinking:
            # Thought summaries come only when asked for (ai.google.dev/gemini-api/docs/
            # thinking: "set includeThoughts to true").
            config["thinking_config"] = types.ThinkingConfig(include_thoughts=True)
        return {
            "model": self.model,
            "contents": contents,
            "config": types.GenerateContentConfig(**config),
        }

    def _render(self, message: Message) -> Any:
        from google.genai import types

        if isinstance(message, UserMessage):
            parts = [
                types.Part(text=part)
                if isinstance(part, str)
                else types.Part(
                    inline_data=types.Blob(
                        mime_type=part.media_type, data=base64.b64decode(part.data)
                    )
                )
                for part in user_parts(message, self._images)
            ]
            return types.Content(role="user", parts=parts)
        if isinstance(message, ToolResultMessage):
            content = message.content or "(no output)"
            response = {"error": content} if message.is_error else {"output": content}
            parts = [
                types.Part(
                    function_response=types.FunctionResponse(
                        name=message.tool_name,
                        id=self._gemini_ids.get(message.tool_call_id),
                        response=response,
                    )
                )
            ]
            if message.images and self.spec.capabilities.vision:
                parts += [
                    types.Part(
                        inline_data=types.Blob(
                            mime_type=image.media_type, data=base64.b64decode(image.data)
                        )
                    )
                    for image in tool_images(message, self._images)
                ]
            return types.Content(role="user", parts=parts)
        assert isinstance(message, AssistantMessage)
        # Thoughts and signatures are the model's own: only that model gets them back.
        own = message.provider == self.name and message.model == self.model

        def keep(block: ThinkingBlock) -> bool:
            return own and bool(block.signature)

        parts = []
        for block in kept_blocks(message, keep):
            if block.type == "thinking":
                signature = block.signature or ""
                if signature.startswith(TEXT_SIGNATURE):
                    last = parts[-1] if parts else None
                    if last is not None and last.text is not None and not last.thought:
                        last.thought_signature = _unpack(signature.removeprefix(TEXT_SIGNATURE))
                    continue  # the text it was on was left out (whitespace only)
                parts.append(
                    types.Part(text=block.text, thought=True, thought_signature=_unpack(signature))
                )
            elif block.type == "text":
                parts.append(types.Part(text=block.text))
            else:
                extra = (block.extra or {}) if own else {}
                gemini_id = extra.get("id") if isinstance(extra.get("id"), str) else None
                if gemini_id:
                    self._gemini_ids[block.id] = gemini_id
                part = types.Part(
                    function_call=types.FunctionCall(
                        name=block.name, args=block.input, id=gemini_id
                    )
                )
                signed = extra.get("thought_signature")
                if isinstance(signed, str) and signed:
                    part.thought_signature = _unpack(signed)
                parts.append(part)
        return types.Content(role="model", parts=parts) if parts else None

    # --- response -----------------------------------------------------------------------

    async def _attempt(
        self, client: Any, params: dict[str, Any]
    ) -> AsyncGenerator[StreamChunk, None]:
        stream = await client.aio.models.generate_content_stream(**params)
        try:
            async for chunk in _chunks(stream):
                yield chunk
        finally:
            with anyio.CancelScope(shield=True):
                await stream.aclose()


def _pack(signature: bytes) -> str:
    return base64.b64encode(signature).decode("ascii")


def _unpack(signature: str) -> bytes:
    """The signature's bytes (the SDK sends them base64 encoded again)."""
    try:
        return base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError):
        return base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))


def _merge_roles(contents: list[Any]) -> list[Any]:
    """Consecutive contents of one role become one: the responses to one model turn
    (and a steering message after them) go back as a single user turn."""
    merged: list[Any] = []
    for content in contents:
        if merged and merged[-1].role == content.role:
            # A copy: the rendered contents are reused by later requests.
            merged[-1] = merged[-1].model_copy(
                update={"parts": [*(merged[-1].parts or []), *(content.parts or [])]}
            )
        else:
            merged.append(content)
    return merged


def _mark_unsigned_calls(contents: list[Any]) -> None:
    """Give the first call of each model turn of the current turn that has no signature
    at all Google's placeholder. The current turn begins at the newest user turn that
    is not only function responses ("The API looks back through the history ... for the
    most recent User message containing standard content (e.g., text)",
    ai.google.dev/gemini-api/docs/thought-signatures); earlier turns are not validated."""
    for position in range(len(contents) - 1, -1, -1):
        content = contents[position]
        parts = content.parts or []
        if content.role == "user":
            if any(p.function_response is None for p in parts):
                return
            continue
        calls = [i for i, p in enumerate(parts) if p.function_call is not None]
        if calls and not any(parts[i].thought_signature for i in calls):
            first = calls[0]
            marked = parts[first].model_copy(update={"thought_signature": PLACEHOLDER_SIGNATURE})
            contents[position] = content.model_copy(
                update={"parts": [*parts[:first], marked, *parts[first + 1 :]]}
            )


async def _chunks(stream: AsyncIterator[Any]) -> AsyncGenerator[StreamChunk, None]:
    """``GenerateContentResponse`` chunks to chunks."""
    finish: str | None = None
    usage: Any = None
    said = False  # whether any text or call came
    blocked: str | None = None
    calls = 0
    async for response in stream:
        usage = response.usage_metadata or usage
        feedback = response.prompt_feedback
        if feedback is not None and feedback.block_reason:
            blocked = _word(feedback.block_reason)
        for candidate in response.candidates or []:
            if candidate.index:  # we ask for one candidate; ignore any other
                continue
            broken = _word(candidate.finish_reason) if candidate.finish_reason else None
            if broken in BROKEN_FINISHES:
                # What came with it is not an answer (the retry may get a good one).
                message = candidate.finish_message
                detail = f"finishReason {broken}" + (f": {message}" if message else "")
                raise StreamBroken(BROKEN_FINISHES[broken], detail)
            content = candidate.content
            for part in (content.parts if content is not None else None) or []:
                signature = part.thought_signature
                if part.function_call is not None:
                    calls += 1
                    said = True
                    for out in _call(part.function_call, signature):
                        yield out
                elif part.thought:
                    if part.text:
                        yield ThinkingChunk(part.text)
                    if signature:
                        yield ThinkingSignature(_pack(signature))
                else:
                    if part.text:
                        said = True
                        yield TextChunk(part.text)
                    if signature:
                        # Often alone on an empty text part in the last chunk.
                        yield ThinkingSignature(TEXT_SIGNATURE + _pack(signature))
            if candidate.finish_reason:
                finish = _word(candidate.finish_reason)
    if finish is None and blocked is not None:
        # No candidate at all: the prompt itself was refused.
        finish, why = "PROMPT_BLOCKED", f"Gemini blocked the prompt (blockReason {blocked})"
    else:
        why = f"Gemini withheld the answer (finishReason {finish})"
    if finish is None:
        raise StreamBroken("stream_cut", "the stream ended without a finishReason")
    if usage is not None:
        yield UsageChunk(_usage(usage))
    if finish in FILTERED or finish == "PROMPT_BLOCKED":
        stop = "content_filter"
        if not said:
            # An answer with nothing in it would leave no message to show the stop on
            # (the text is not sent back: history.REFUSALS).
            yield TextChunk(f"[{why}]")
    else:
        stop = STOP_REASONS.get(finish, finish.lower())
    if stop == "end_turn" and calls:
        stop = "tool_use"  # Gemini ends a response with calls with STOP
    yield StreamEnd(stop)


def _call(call: Any, signature: bytes | None) -> list[StreamChunk]:
    # Gemini may send no id; the loop needs one per call.
    call_id = call.id or f"call_{uuid.uuid4().hex[:24]}"
    out: list[StreamChunk] = [
        ToolCallBegin(call_id, call.name or ""),
        ToolCallArgs(call_id, json.dumps(call.args or {})),
    ]
    extra: dict[str, Any] = {}
    if call.id:
        extra["id"] = call.id
    if signature:
        extra["thought_signature"] = _pack(signature)
    if extra:
        out.append(ToolCallExtra(call_id, extra))
    return out


def _word(value: Any) -> str:
    """An enum of the SDK (or an unknown value it kept as text) as its wire word."""
    return str(getattr(value, "value", value))


def _usage(usage: Any) -> TokenUsage:
    """``promptTokenCount`` includes the cached tokens; thinking is billed as output
    (ai.google.dev/gemini-api/docs/pricing: output prices "including thinking tokens")."""
    prompt = _count(usage.prompt_token_count) + _count(usage.tool_use_prompt_token_count)
    cached = _count(usage.cached_content_token_count)
    return TokenUsage(
        input_tokens=max(0, prompt - cached),
        output_tokens=_count(usage.candidates_token_count) + _count(usage.thoughts_token_count),
        cache_read_tokens=cached,
    )


def _count(value: object) -> int:
    return value if isinstance(value, int) and value > 0 else 0


def _retry_delay(details: object) -> float | None:
    """Seconds from the ``google.rpc.RetryInfo`` detail of a 429 (``"retryDelay":
    "11s"``): Google says when to come back in the body, not in a header."""
    error = details.get("error") if isinstance(details, Mapping) else None
    items = error.get("details") if isinstance(error, Mapping) else None
    for item in items if isinstance(items, list) else []:
        delay = item.get("retryDelay") if isinstance(item, Mapping) else None
        if isinstance(delay, str) and delay.endswith("s"):
            try:
                return max(0.0, float(delay[:-1]))
            except ValueError:
                return None
    return None
