"""A fake OpenAI-compatible chat completions API: real HTTP and SSE on loopback, strict.

``POST /v1/chat/completions`` with ``stream: true`` answers with ``data:`` chunks in the
shape the SDK expects: text deltas, DeepSeek-style ``reasoning_content`` for thinking,
tool calls as fragments keyed by ``index`` (id and name once, arguments in pieces; with
``interleave=True`` the fragments of parallel calls are mixed, as some servers do), a
``finish_reason`` chunk, a usage chunk with ``choices: []`` when
``stream_options.include_usage`` is set, and ``[DONE]``. Requests are checked as the API
checks them and refused with a 400 in the real body shape: unrecognised arguments,
unknown message fields, an assistant ``tool_calls`` entry not followed by a ``tool``
message with the same ``tool_call_id``, a ``tool`` message answering no call, ids over
40 characters, ``stream_options`` without ``stream``, images the API would not take
(``tests/fakes/image_rules.py``: not PNG/JPEG/WebP/still GIF, over 20 MB, over 500 or
50 MB in one request).
"""

from __future__ import annotations

import json
import re
import time
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
    "messages",
    "stream",
    "stream_options",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "max_tokens",
    "max_completion_tokens",
    "temperature",
    "top_p",
    "stop",
    "seed",
    "n",
    "user",
    "response_format",
    "reasoning_effort",
    "metadata",
    "store",
    "frequency_penalty",
    "presence_penalty",
    "logprobs",
    "top_logprobs",
    "service_tier",
    "prompt_cache_key",
}
MESSAGE_KEYS = {
    "system": {"role", "content", "name"},
    "developer": {"role", "content", "name"},
    "user": {"role", "content", "name"},
    "assistant": {"role", "content", "name", "tool_calls", "refusal"},
    "tool": {"role", "content", "tool_call_id"},
}
TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


class Invalid(Exception):
    """A request the API would refuse: (message, param)."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


def validate(body: Any, extra_message_keys: frozenset[str] = frozenset()) -> None:
    if not isinstance(body, dict):
        raise Invalid("We could not parse the JSON body of your request.")
    for key in body:
        if key not in TOP_LEVEL:
            raise Invalid(f"Unrecognized request argument supplied: {key}", key)
    if not isinstance(body.get("model"), str) or not body["model"]:
        raise Invalid("you must provide a model parameter", "model")
    if "stream_options" in body and not body.get("stream"):
        raise Invalid(
            "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
            "stream_options",
        )
    _tools(body.get("tools"))
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise Invalid("[] is too short - 'messages'", "messages")
    open_calls: dict[str, int] = {}
    for i, message in enumerate(messages):
        where = f"messages.[{i}]"
        if not isinstance(message, dict) or message.get("role") not in MESSAGE_KEYS:
            raise Invalid(f"Invalid value for '{where}.role'", f"{where}.role")
        role = message["role"]
        extra = set(message) - MESSAGE_KEYS[role] - extra_message_keys
        if extra:
            name = sorted(extra)[0]
            raise Invalid(
                f"Additional properties are not allowed ('{name}' was unexpected) - '{where}'",
                where,
            )
        if open_calls and role != "tool":
            raise Invalid(
                "An assistant message with 'tool_calls' must be followed by tool messages "
                "responding to each 'tool_call_id'. The following tool_call_ids did not have "
                f"response messages: {', '.join(open_calls)}",
                f"{where}.role",
            )
        if role == "tool":
            call_id = message.get("tool_call_id")
            if call_id not in open_calls:
                raise Invalid(
                    "Invalid parameter: messages with role 'tool' must be a response to a "
                    "preceeding message with 'tool_calls'.",
                    f"{where}.role",
                )
            del open_calls[call_id]
            _content(where, message.get("content"), role, required=True)
        elif role == "assistant":
            calls = message.get("tool_calls")
            _content(where, message.get("content"), role, required=not calls)
            for j, call in enumerate(calls or []):
                call_id = _tool_call(f"{where}.tool_calls.[{j}]", call)
                open_calls[call_id] = i
        else:
            _content(where, message.get("content"), role, required=True)
    if open_calls:
        raise Invalid(
            "An assistant message with 'tool_calls' must be followed by tool messages "
            "responding to each 'tool_call_id'. The following tool_call_ids did not have "
            f"response messages: {', '.join(open_calls)}",
            "messages",
        )


def _content(where: str, content: Any, role: str, *, required: bool) -> None:
    if content is None:
        if required:
            raise Invalid(f"Invalid value for '{where}.content': expected a string, got null.")
        return
    if isinstance(content, str):
        return
    if not isinstance(content, list) or not content:
        raise Invalid(f"Invalid type for '{where}.content'", f"{where}.content")
    for k, part in enumerate(content):
        _part(f"{where}.content[{k}]", part, images=role == "user")


#: What an ``image_url`` part may carry inline.
DATA_URL = re.compile(r"data:image/(png|jpeg|gif|webp);base64,[A-Za-z0-9+/]+=*\Z")


def _part(where: str, part: Any, *, images: bool) -> None:
    kind = part.get("type") if isinstance(part, dict) else None
    if kind == "text":
        if set(part) != {"type", "text"} or not isinstance(part["text"], str):
            raise Invalid(f"Invalid value for '{where}': a text part has 'type' and 'text'.")
        return
    if kind == "image_url" and images:
        image = part.get("image_url")
        url = image.get("url") if isinstance(image, dict) else None
        if set(part) != {"type", "image_url"} or not isinstance(url, str):
            raise Invalid(f"Missing required parameter: '{where}.image_url.url'.", where)
        if not (url.startswith("https://") or DATA_URL.match(url)):
            raise Invalid(f"Invalid '{where}.image_url.url': expected a URL or a data URL.", where)
        return
    allowed = "'text' or 'image_url'" if images else "'text'"
    raise Invalid(f"Invalid value: '{where}.type'. Supported values are: {allowed}.", where)


def _tool_call(where: str, call: Any) -> str:
    if not isinstance(call, dict) or call.get("type") != "function":
        raise Invalid(f"Missing required parameter: '{where}.type'.", f"{where}.type")
    call_id = call.get("id")
    if not isinstance(call_id, str) or not call_id:
        raise Invalid(f"Missing required parameter: '{where}.id'.", f"{where}.id")
    if len(call_id) > 40:
        raise Invalid(
            f"Invalid '{where}.id': string too long. Expected a string with maximum length 40, "
            f"but got a string with length {len(call_id)} instead.",
            f"{where}.id",
        )
    function = call.get("function")
    if not isinstance(function, dict) or not isinstance(function.get("name"), str):
        raise Invalid(f"Missing required parameter: '{where}.function.name'.")
    if not isinstance(function.get("arguments"), str):
        raise Invalid(f"Missing required parameter: '{where}.function.arguments'.")
    return call_id


def _tools(tools: Any) -> None:
    if tools is None:
        return
    if not isinstance(tools, list):
        raise Invalid("Invalid type for 'tools'", "tools")
    for j, tool in enumerate(tools):
        where = f"tools[{j}]"
        if not isinstance(tool, dict) or tool.get("type") != "function":
            raise Invalid(f"Missing required parameter: '{where}.type'.", f"{where}.type")
        function = tool.get("function")
        if not isinstance(function, dict):
            raise Invalid(f"Missing required parameter: '{where}.function'.")
        if not isinstance(function.get("name"), str) or not TOOL_NAME.match(function["name"]):
            raise Invalid(
                f"Invalid '{where}.function.name': string does not match pattern.",
                f"{where}.function.name",
            )
        if not isinstance(function.get("parameters", {}), dict):
            raise Invalid(f"Invalid type for '{where}.function.parameters'")


# --- the server ---------------------------------------------------------------------------


class FakeOpenAI(ScriptedAPI):
    """``with FakeOpenAI() as api:`` then point ``OPENAI_BASE_URL`` at ``api.base_url``."""

    def __init__(
        self,
        *,
        reasoning_field: str = "reasoning_content",
        extra_message_keys: frozenset[str] = frozenset(),
        interleave: bool = False,
        calls_style: str = "fragments",
        max_images: int = image_rules.OPENAI_MAX_IMAGES,
        **options: Any,
    ) -> None:
        super().__init__(**options)
        #: Images a request may hold (OpenAI: 500; Groq: 5).
        self.max_images = max_images
        self.reasoning_field = reasoning_field
        self.extra_message_keys = extra_message_keys
        self.interleave = interleave
        self.calls_style = calls_style

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    #: The one endpoint served.
    PATH = "/v1/chat/completions"

    async def handle(self, request: Request) -> JSONResponse | SSEResponse:
        if request.method != "POST" or request.path.split("?")[0] != self.PATH:
            return _error(
                404, f"Unknown request URL: POST {request.path}.", "invalid_request_error"
            )
        key = request.headers.get("authorization", "").removeprefix("Bearer ")
        if key != self.api_key:
            shown = f"{key[:3]}***{key[-2:]}" if len(key) > 6 else key
            return _error(
                401,
                f"Incorrect API key provided: {shown}. You can find your API key at "
                "https://platform.openai.com/account/api-keys.",
                "invalid_request_error",
                code="invalid_api_key",
            )
        try:
            body = request.json()
            refused = self.check(body)
        except ValueError:
            return self.reject(
                _error(
                    400,
                    "We could not parse the JSON body of your request.",
                    "invalid_request_error",
                ),
                "bad JSON",
            )
        except Invalid as exc:
            return self.reject(
                _error(400, str(exc), "invalid_request_error", param=exc.param), str(exc)
            )
        if refused is not None:
            return self.reject(refused, str(refused.body))
        self.record(request, body)
        return self.respond(body)

    def check(self, body: Any) -> JSONResponse | None:
        """Raise ``Invalid`` for a request the API refuses, or return the provider's own
        answer to it (``None``: accepted)."""
        validate(body, self.extra_message_keys)
        return images_refused(lambda b: image_rules.chat(b, self.max_images), body)

    MALFORMED = b'data: {"id": "chatcmpl-x", "choices": [{"delta": \n\n'

    def error_response(self, planned: HTTPError) -> JSONResponse:
        headers = {"retry-after": planned.retry_after} if planned.retry_after else {}
        kind = planned.kind or _kind_for(planned.status)
        code = "rate_limit_exceeded" if planned.status == 429 else None
        return _error(planned.status, planned.message, kind, code=code, headers=headers)

    def error_event(self, part: ErrorHere) -> bytes:
        kind = "server_error" if part.kind == "overloaded_error" else part.kind
        return _data(
            {"error": {"message": part.message, "type": kind, "param": None, "code": None}}
        )

    def events(self, planned: Reply, body: dict[str, Any]) -> Iterator[Action]:
        chunk_id = self.new_id("chatcmpl-")
        created = int(time.time())

        def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
            return _data(
                {
                    "id": chunk_id,
                    "object": "chat.completion.chunk",
                    "created": created,
                    "model": body["model"],
                    "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                }
            )

        yield chunk({"role": "assistant", "content": ""})
        calls: list[Call] = []
        any_calls = any(isinstance(part, Call) for part in planned.parts)
        for part in planned.parts:
            if isinstance(part, Think):
                for p in pieces(part.text):
                    yield chunk({self.reasoning_field: p})
            elif isinstance(part, Say):
                for p in pieces(part.text):
                    yield chunk({"content": p})
            elif isinstance(part, Call):
                calls.append(part)
            elif isinstance(part, Redacted):
                continue  # Anthropic only
            else:
                yield from self._calls(calls, chunk)
                yield from self.fault(part)
                return
        yield from self._calls(calls, chunk)
        yield chunk({}, planned.stop or ("tool_calls" if any_calls else "stop"))
        if (body.get("stream_options") or {}).get("include_usage"):
            usage = planned.usage
            prompt = usage.input + usage.cache_read + usage.cache_write
            usage_body = {
                "prompt_tokens": prompt,
                "completion_tokens": usage.output,
                "total_tokens": prompt + usage.output,
                "prompt_tokens_details": {
                    "cached_tokens": usage.cache_read,
                    "cache_write_tokens": usage.cache_write,
                },
            }
            yield usage_chunk(chunk_id, created, body["model"], usage_body)
        yield b"data: [DONE]\n\n"

    def _calls(self, calls: list[Call], chunk: Any) -> Iterator[bytes]:
        """Tool call fragments: header (id, name) then the arguments in two pieces, in
        the server's ``calls_style``: ``fragments`` (OpenAI), ``interleave`` (parallel
        calls' fragments mixed), ``same_index`` (every call at ``index`` 0, told apart by
        id, as Gemini's compatible endpoint sends them), ``no_index`` (no ``index``
        field), ``whole`` (every call complete, all in one chunk, as Ollama sends them)."""
        style = "interleave" if self.interleave else self.calls_style
        fragments: list[list[dict[str, Any]]] = []
        for index, call in enumerate(calls):
            raw = json.dumps(call.input)
            half = len(raw) // 2
            at = {} if style == "no_index" else {"index": 0 if style == "same_index" else index}
            call_id = call.id or self.new_id("call_")
            head = {**at, "id": call_id, "type": "function"}
            if style == "whole":
                fragments.append([{**head, "function": {"name": call.name, "arguments": raw}}])
                continue
            fragments.append(
                [
                    {**head, "function": {"name": call.name, "arguments": ""}},
                    {**at, "function": {"arguments": raw[:half]}},
                    {**at, "function": {"arguments": raw[half:]}},
                ]
            )
        calls.clear()
        if style == "whole":
            if fragments:
                yield chunk({"tool_calls": [f for group in fragments for f in group]})
            return
        if style == "interleave":
            order = [f for step in zip(*fragments, strict=True) for f in step]
        else:
            order = [f for group in fragments for f in group]
        for fragment in order:
            yield chunk({"tool_calls": [fragment]})


def images_refused(rules: Any, body: dict[str, Any]) -> JSONResponse | None:
    """The API's answer when ``rules`` (of ``image_rules``) refuse the request's images."""
    try:
        rules(body)
    except image_rules.Refused as exc:
        kind = "invalid_request_error"
        return _error(exc.status, str(exc), kind, param=exc.param, code=exc.code)
    return None


def _kind_for(status: int) -> str:
    if status == 429:
        return "requests"
    if status >= 500:
        return "server_error"
    return "invalid_request_error"


def _data(payload: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(payload)}\n\n".encode()


def usage_chunk(chunk_id: str, created: int, model: str, usage: dict[str, Any]) -> bytes:
    """The last chunk of a stream asked to ``include_usage``: no choices, the usage."""
    return _data(
        {
            "id": chunk_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [],
            "usage": usage,
        }
    )


def _error(
    status: int,
    message: str,
    kind: str,
    *,
    param: str | None = None,
    code: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = {"error": {"message": message, "type": kind, "param": param, "code": code}}
    return JSONResponse(status, body, {"x-request-id": "req_fake", **(headers or {})})
