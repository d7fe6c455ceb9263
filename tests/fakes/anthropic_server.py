"""A fake Anthropic Messages API: real HTTP and SSE on loopback, strict like the real one.

``POST /v1/messages`` with ``stream: true`` answers with the event stream the SDK
expects (``message_start`` … ``message_stop``, with ``ping``s). Each request is checked
the way the API checks it and refused with a 400 ``invalid_request_error`` in the real
body shape when it is wrong: unknown parameters (``temperature`` is gone), roles that do
not alternate, a ``tool_use`` not answered by a ``tool_result`` with the same id in the
next user message, a ``tool_result`` with no call, thinking whose signature this server
did not issue for that text, an empty text block, more than four cache breakpoints, a
tool loop continued with thinking on but without the thinking block first; images the
API would not take (``tests/fakes/image_rules.py``: type, bytes, dimensions, count, and
a body over 32 MB, refused with 413 ``request_too_large``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Iterator
from typing import Any

from tests.fakes import image_rules
from tests.fakes.loopback import Action, JSONResponse, Request, SSEResponse
from tests.fakes.script import (
    Call,
    ErrorHere,
    HTTPError,
    Redacted,
    Reply,
    Say,
    ScriptedAPI,
    Think,
    pieces,
)

TOP_LEVEL = {
    "model",
    "max_tokens",
    "messages",
    "system",
    "tools",
    "tool_choice",
    "thinking",
    "stream",
    "metadata",
    "stop_sequences",
    "cache_control",
    "output_config",
    "service_tier",
    "container",
    "inference_geo",
    "speed",
    "diagnostics",
}
BLOCK_KEYS = {
    "text": {"type", "text", "cache_control", "citations"},
    "image": {"type", "source", "cache_control"},
    "tool_use": {"type", "id", "name", "input", "cache_control"},
    "tool_result": {"type", "tool_use_id", "content", "is_error", "cache_control"},
    "thinking": {"type", "thinking", "signature"},
    "redacted_thinking": {"type", "data"},
}
USER_BLOCKS = {"text", "image", "tool_result"}
IMAGE_TYPES = {"image/jpeg", "image/png", "image/gif", "image/webp"}
ASSISTANT_BLOCKS = {"text", "tool_use", "thinking", "redacted_thinking"}
TOOL_ID = re.compile(r"^[a-zA-Z0-9_-]+$")
TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    503: "api_error",
    529: "overloaded_error",
}


class Invalid(Exception):
    """A request the API would refuse; the message is the API's."""


def sign(secret: bytes, text: str) -> str:
    return base64.b64encode(hmac.new(secret, text.encode(), hashlib.sha256).digest()).decode()


def validate(body: Any, secret: bytes) -> None:
    """Raise ``Invalid`` with the API's message when the request is not acceptable."""
    if not isinstance(body, dict):
        raise Invalid("request body must be a JSON object")
    for key in body:
        if key not in TOP_LEVEL:
            raise Invalid(f"{key}: Extra inputs are not permitted")
    if not isinstance(body.get("model"), str) or not body["model"]:
        raise Invalid("model: Field required")
    max_tokens = body.get("max_tokens")
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool):
        raise Invalid("max_tokens: Field required")
    if max_tokens < 1:
        raise Invalid("max_tokens: Input should be greater than or equal to 1")
    _system(body.get("system"))
    _tools(body.get("tools"))
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise Invalid("messages: Field required")
    thinking = _thinking(body.get("thinking"), max_tokens)
    breakpoints = _count_cache_control(body)
    if breakpoints > 4:
        raise Invalid(
            f"A maximum of 4 blocks with cache_control may be provided. Found {breakpoints}."
        )
    blocks = [_message(i, m) for i, m in enumerate(messages)]
    if messages[0]["role"] != "user":
        raise Invalid('messages: first message must use the "user" role')
    for i in range(1, len(messages)):
        if messages[i]["role"] == messages[i - 1]["role"]:
            raise Invalid(
                'messages: roles must alternate between "user" and "assistant", but found '
                f'multiple "{messages[i]["role"]}" roles in a row'
            )
    for i, (message, content) in enumerate(zip(messages, blocks, strict=True)):
        if message["role"] == "assistant":
            _answered(i, content, blocks[i + 1] if i + 1 < len(blocks) else None)
            _signatures(i, content, secret)
        else:
            _results_follow_calls(i, content, blocks[i - 1] if i else [])
    if thinking and messages[-1]["role"] == "user" and len(messages) >= 2:
        last_user, last_assistant = blocks[-1], blocks[-2]
        if any(b["type"] == "tool_result" for b in last_user):
            first = last_assistant[0]["type"]
            if first not in ("thinking", "redacted_thinking"):
                raise Invalid(
                    f"messages.{len(messages) - 2}.content.0.type: Expected `thinking` or "
                    f"`redacted_thinking`, but found `{first}`. When `thinking` is enabled, a "
                    "final `assistant` message must start with a thinking block (preceeding "
                    "the lastmost set of `tool_use` and `tool_result` blocks)."
                )


def _system(system: Any) -> None:
    if system is None or isinstance(system, str):
        return
    if not isinstance(system, list):
        raise Invalid("system: Input should be a valid string or list")
    for j, block in enumerate(system):
        _block(f"system.{j}", block, {"text"})


def _tools(tools: Any) -> None:
    if tools is None:
        return
    if not isinstance(tools, list):
        raise Invalid("tools: Input should be a valid list")
    names = set()
    for j, tool in enumerate(tools):
        where = f"tools.{j}"
        if not isinstance(tool, dict):
            raise Invalid(f"{where}: Input should be an object")
        extra = set(tool) - {"name", "description", "input_schema", "cache_control", "type"}
        if extra:
            raise Invalid(f"{where}.{sorted(extra)[0]}: Extra inputs are not permitted")
        if not isinstance(tool.get("name"), str) or not TOOL_NAME.match(tool["name"]):
            raise Invalid(f"{where}.name: String should match pattern '^[a-zA-Z0-9_-]{{1,64}}$'")
        if tool["name"] in names:
            raise Invalid("tools: Tool names must be unique.")
        names.add(tool["name"])
        schema = tool.get("input_schema")
        if not isinstance(schema, dict) or schema.get("type") != "object":
            raise Invalid(f"{where}.input_schema.type: Input should be 'object'")


def _thinking(thinking: Any, max_tokens: int) -> bool:
    if thinking is None:
        return False
    kind = thinking.get("type") if isinstance(thinking, dict) else None
    if kind == "disabled":
        return False
    if kind == "adaptive":
        if thinking.get("display", "summarized") not in ("summarized", "omitted"):
            raise Invalid("thinking.adaptive.display: Input should be 'summarized' or 'omitted'")
        return True
    if kind != "enabled":
        raise Invalid("thinking.type: Input should be 'enabled', 'disabled' or 'adaptive'")
    budget = thinking.get("budget_tokens")
    if not isinstance(budget, int) or budget < 1024:
        raise Invalid(
            "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024"
        )
    if budget >= max_tokens:
        raise Invalid("`max_tokens` must be greater than `thinking.budget_tokens`.")
    return True


def _count_cache_control(body: dict[str, Any]) -> int:
    count = 0
    for part in ("system", "tools"):
        if isinstance(body.get(part), list):
            count += sum(1 for b in body[part] if isinstance(b, dict) and "cache_control" in b)
    for message in body.get("messages") or []:
        if isinstance(message, dict) and isinstance(message.get("content"), list):
            count += sum(1 for b in message["content"] if "cache_control" in b)
    return count


def _message(i: int, message: Any) -> list[dict[str, Any]]:
    where = f"messages.{i}"
    if not isinstance(message, dict):
        raise Invalid(f"{where}: Input should be an object")
    extra = set(message) - {"role", "content"}
    if extra:
        raise Invalid(f"{where}.{sorted(extra)[0]}: Extra inputs are not permitted")
    role = message.get("role")
    if role not in ("user", "assistant"):
        raise Invalid(f"{where}.role: Input should be 'user' or 'assistant'")
    content = message.get("content")
    if isinstance(content, str):
        if not content.strip():
            raise Invalid(f"{where}.content: text content blocks must contain non-whitespace text")
        return [{"type": "text", "text": content}]
    if not isinstance(content, list) or not content:
        raise Invalid(f"{where}.content: all messages must have non-empty content")
    allowed = USER_BLOCKS if role == "user" else ASSISTANT_BLOCKS
    for j, block in enumerate(content):
        _block(f"{where}.content.{j}", block, allowed)
    return content


def _block(where: str, block: Any, allowed: set[str]) -> None:
    if not isinstance(block, dict):
        raise Invalid(f"{where}: Input should be an object")
    kind = block.get("type")
    if kind not in allowed:
        raise Invalid(f"{where}.type: Input tag '{kind}' is not allowed here")
    extra = set(block) - BLOCK_KEYS[kind]
    if extra:
        raise Invalid(f"{where}.{sorted(extra)[0]}: Extra inputs are not permitted")
    if kind == "text":
        if not isinstance(block.get("text"), str) or not block["text"].strip():
            raise Invalid(f"{where}.text: text content blocks must contain non-whitespace text")
    elif kind == "tool_use":
        if not isinstance(block.get("id"), str) or not TOOL_ID.match(block["id"]):
            raise Invalid(f"{where}.id: String should match pattern '^[a-zA-Z0-9_-]+$'")
        if not isinstance(block.get("name"), str) or not TOOL_NAME.match(block["name"]):
            raise Invalid(f"{where}.name: String should match pattern '^[a-zA-Z0-9_-]{{1,64}}$'")
        if not isinstance(block.get("input"), dict):
            raise Invalid(f"{where}.input: Input should be a valid dictionary")
    elif kind == "tool_result":
        if not isinstance(block.get("tool_use_id"), str) or not TOOL_ID.match(block["tool_use_id"]):
            raise Invalid(f"{where}.tool_use_id: String should match pattern '^[a-zA-Z0-9_-]+$'")
        content = block.get("content", "")
        if not isinstance(content, str | list):
            raise Invalid(f"{where}.content: Input should be a valid string or list")
        if isinstance(content, list):
            for k, item in enumerate(content):
                _block(f"{where}.content.{k}", item, {"text", "image"})
    elif kind == "image":
        source = block.get("source")
        if not isinstance(source, dict) or source.get("type") != "base64":
            raise Invalid(f"{where}.source: Input tag should be 'base64', 'url' or 'file'")
        if set(source) - {"type", "media_type", "data"}:
            raise Invalid(f"{where}.source: Extra inputs are not permitted")
        if source.get("media_type") not in IMAGE_TYPES:
            raise Invalid(
                f"{where}.source.media_type: Input should be 'image/jpeg', 'image/png', "
                "'image/gif' or 'image/webp'"
            )
        try:
            base64.b64decode(source.get("data") or "", validate=True)
        except (ValueError, TypeError):
            raise Invalid(f"{where}.source.data: invalid base64 data") from None
        if not source.get("data"):
            raise Invalid(f"{where}.source.data: image cannot be empty")
    elif kind == "thinking":
        if not isinstance(block.get("thinking"), str):
            raise Invalid(f"{where}.thinking: Field required")
        if not isinstance(block.get("signature"), str) or not block["signature"]:
            raise Invalid(f"{where}.signature: Field required")
    elif kind == "redacted_thinking":
        if not isinstance(block.get("data"), str) or not block["data"]:
            raise Invalid(f"{where}.data: Field required")


def _answered(
    i: int, content: list[dict[str, Any]], following: list[dict[str, Any]] | None
) -> None:
    calls = [b["id"] for b in content if b["type"] == "tool_use"]
    if not calls:
        return
    answered = {b["tool_use_id"] for b in following or [] if b["type"] == "tool_result"}
    missing = [c for c in calls if c not in answered]
    if missing:
        raise Invalid(
            f"messages.{i + 1}: `tool_use` ids were found without `tool_result` blocks "
            f"immediately after: {', '.join(missing)}. Each `tool_use` block must have a "
            "corresponding `tool_result` block in the next message."
        )


def _results_follow_calls(i: int, content: list[dict[str, Any]], previous: list[Any]) -> None:
    calls = {b["id"] for b in previous if b["type"] == "tool_use"}
    seen_other = False
    for j, block in enumerate(content):
        if block["type"] != "tool_result":
            seen_other = True
            continue
        if seen_other:
            raise Invalid(
                f"messages.{i}.content.{j}: tool_result blocks must come first in the "
                "content of a user message, before any other block"
            )
        if block["tool_use_id"] not in calls:
            raise Invalid(
                f"messages.{i}.content.{j}: unexpected `tool_use_id` found in `tool_result` "
                f"blocks: {block['tool_use_id']}. Each `tool_result` block must have a "
                "corresponding `tool_use` block in the previous message."
            )


def _signatures(i: int, content: list[dict[str, Any]], secret: bytes) -> None:
    for j, block in enumerate(content):
        if block["type"] == "thinking" and block["signature"] != sign(secret, block["thinking"]):
            raise Invalid(f"messages.{i}.content.{j}: Invalid `signature` in `thinking` block")


# --- the server ---------------------------------------------------------------------------


class FakeAnthropic(ScriptedAPI):
    """``with FakeAnthropic() as api:`` then point ``ANTHROPIC_BASE_URL`` at ``api.url``."""

    def __init__(
        self, *, max_images: int = image_rules.ANTHROPIC_MAX_IMAGES, **options: Any
    ) -> None:
        super().__init__(**options)
        self.secret = b"fake-anthropic-" + self.new_id("").encode()
        #: Images a request may hold (100, or 600 for the 1M-context models).
        self.max_images = max_images

    async def handle(self, request: Request) -> JSONResponse | SSEResponse:
        if request.method != "POST" or request.path.split("?")[0] != "/v1/messages":
            return _error(404, "not_found_error", f"Not found: {request.path}")
        key = request.headers.get("x-api-key") or request.headers.get(
            "authorization", ""
        ).removeprefix("Bearer ")
        if not key:
            return _error(401, "authentication_error", "x-api-key header is required")
        if key != self.api_key:
            return _error(401, "authentication_error", "invalid x-api-key")
        if "anthropic-version" not in request.headers:
            return self.reject(
                _error(400, "invalid_request_error", "anthropic-version: header is required"),
                "anthropic-version missing",
            )
        try:
            image_rules.anthropic_body(len(request.body))
            body = request.json()
            validate(body, self.secret)
            image_rules.anthropic(body, self.max_images)
        except (ValueError, Invalid) as exc:
            return self.reject(_error(400, "invalid_request_error", str(exc)), str(exc))
        except image_rules.Refused as exc:
            kind = exc.code or "invalid_request_error"
            return self.reject(_error(exc.status, kind, str(exc)), str(exc))
        self.record(request, body)
        return self.respond(body)

    MALFORMED = b'event: content_block_delta\ndata: {"type": "content_block_delta", "index": 0,\n\n'

    def error_response(self, planned: HTTPError) -> JSONResponse:
        headers = {"retry-after": planned.retry_after} if planned.retry_after else {}
        kind = planned.kind or ERROR_TYPES.get(planned.status, "api_error")
        return _error(planned.status, kind, planned.message, headers)

    def error_event(self, part: ErrorHere) -> bytes:
        return _sse(
            "error", {"type": "error", "error": {"type": part.kind, "message": part.message}}
        )

    def events(self, planned: Reply, body: dict[str, Any]) -> Iterator[Action]:
        thinking_on = (body.get("thinking") or {}).get("type") in ("enabled", "adaptive")
        usage = planned.usage
        yield _sse(
            "message_start",
            {
                "type": "message_start",
                "message": {
                    "id": self.new_id("msg_"),
                    "type": "message",
                    "role": "assistant",
                    "content": [],
                    "model": body["model"],
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": {
                        "input_tokens": usage.input,
                        "output_tokens": 1,
                        "cache_read_input_tokens": usage.cache_read,
                        "cache_creation_input_tokens": usage.cache_write,
                    },
                },
            },
        )
        yield _sse("ping", {"type": "ping"})
        index = 0
        calls = False
        for part in planned.parts:
            if isinstance(part, Think):
                if not thinking_on:
                    continue  # the API thinks only when asked to
                yield from self._block(
                    index,
                    {"type": "thinking", "thinking": "", "signature": ""},
                    [{"type": "thinking_delta", "thinking": p} for p in pieces(part.text)]
                    + [{"type": "signature_delta", "signature": sign(self.secret, part.text)}],
                )
            elif isinstance(part, Redacted):
                if not thinking_on:
                    continue
                yield from self._block(index, {"type": "redacted_thinking", "data": part.data}, [])
            elif isinstance(part, Say):
                yield from self._block(
                    index,
                    {"type": "text", "text": ""},
                    [{"type": "text_delta", "text": p} for p in pieces(part.text)],
                )
            elif isinstance(part, Call):
                calls = True
                raw = json.dumps(part.input)
                half = len(raw) // 2
                yield from self._block(
                    index,
                    {
                        "type": "tool_use",
                        "id": part.id or self.new_id("toolu_"),
                        "name": part.name,
                        "input": {},
                    },
                    [
                        {"type": "input_json_delta", "partial_json": raw[:half]},
                        {"type": "input_json_delta", "partial_json": raw[half:]},
                    ],
                )
            else:
                yield from self.fault(part)
                return
            index += 1
        yield _sse(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {
                    "stop_reason": planned.stop or ("tool_use" if calls else "end_turn"),
                    "stop_sequence": None,
                },
                "usage": {"output_tokens": usage.output},
            },
        )
        yield _sse("message_stop", {"type": "message_stop"})

    def _block(
        self, index: int, start: dict[str, Any], deltas: list[dict[str, Any]]
    ) -> Iterator[Action]:
        yield _sse(
            "content_block_start",
            {"type": "content_block_start", "index": index, "content_block": start},
        )
        for delta in deltas:
            yield _sse(
                "content_block_delta",
                {"type": "content_block_delta", "index": index, "delta": delta},
            )
        yield _sse("content_block_stop", {"type": "content_block_stop", "index": index})


def _sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()


def _error(
    status: int, kind: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    body = {"type": "error", "error": {"type": kind, "message": message}, "request_id": "req_fake"}
    return JSONResponse(status, body, {"request-id": "req_fake", **(headers or {})})
