"""A fake of OpenAI's Responses API (``POST /v1/responses``, streamed): real HTTP and SSE
on loopback, strict.

The stream is the one the ``openai`` SDK types describe (``openai/types/responses/
response_*_event.py``) and the API reference shows: ``response.created``, then per
output item ``response.output_item.added`` … ``response.output_item.done`` (reasoning
with summary parts, a message with ``output_text`` or ``refusal`` deltas, function calls
with argument deltas), and ``response.completed`` / ``response.incomplete`` carrying the
usage. Reasoning items carry ``encrypted_content`` only when the request's ``include``
asks for ``reasoning.encrypted_content``.

Requests are refused with the API's own error bodies, as other clients met them:

- an item with the id of a reasoning item and no ``encrypted_content``, under
  ``store: false``: 404 "Item with id 'rs_…' not found. Items are not persisted when
  `store` is set to false. Try again with `store` set to true, or remove this item from
  your input." (can1357/oh-my-pi#41, anomalyco/opencode#7724);
- encrypted content the server did not issue: 400 ``invalid_encrypted_content`` "The
  encrypted content gAAA...DQ== could not be verified." (openai/codex#8119, #8145);
- a function call sent with its item id but without the reasoning item it came with:
  400 "Item 'fc_…' of type 'function_call' was provided without its required
  'reasoning' item: 'rs_…'." (continuedev/continue#11994, 0xPlaygrounds/rig#751);
- a reasoning item followed by no output item of its response: 400 "Item 'rs_…' of
  type 'reasoning' was provided without its required following item."
  (openai/openai-agents-python#1611);
- a function call with no output: 400 "No tool output found for function call call_….",
  param ``input`` (router-for-me/CLIProxyAPI#2368);
- an output for no call: 400 "No tool call found for function call output with call_id
  call_….", param ``input`` (continuedev/continue#10092, microsoft/vscode#320060);
- a message role other than user/assistant/system/developer, and unknown top-level
  parameters (``Unknown parameter: 'messages'.``, code ``unknown_parameter``): the
  wording of OpenAI's ``invalid_value`` / ``unknown_parameter`` errors (reconstructed
  from those two families, not quoted from one thread);
- images the API would not take, an ``input_image`` of a message without ``detail``
  (``tests/fakes/image_rules.py``).
"""

from __future__ import annotations

import json
import re
import secrets
import time
from collections.abc import Iterator
from typing import Any

from tests.fakes import image_rules
from tests.fakes.loopback import Action, JSONResponse
from tests.fakes.openai_server import FakeOpenAI, Invalid, _error, images_refused
from tests.fakes.script import (
    Call,
    ErrorHere,
    HTTPError,
    Redacted,
    Reply,
    Say,
    Think,
    pieces,
)

TOP_LEVEL = {
    "model",
    "input",
    "instructions",
    "stream",
    "store",
    "include",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "max_output_tokens",
    "reasoning",
    "temperature",
    "top_p",
    "metadata",
    "previous_response_id",
    "text",
    "truncation",
    "user",
    "service_tier",
    "prompt_cache_key",
    "safety_identifier",
    "background",
}
ROLES = ("user", "assistant", "system", "developer")
ITEM_TYPES = {"message", "reasoning", "function_call", "function_call_output"}
#: Items of a response that a reasoning item may lead to.
OUTPUTS = {"message", "function_call"}


class NotFound(Exception):
    """A 404 of the API (an item it does not have)."""


class Unverified(Exception):
    """Encrypted content the API cannot verify (``invalid_encrypted_content``)."""


class Unknown(Invalid):
    """A parameter the API does not have (``unknown_parameter``)."""


class FakeResponses(FakeOpenAI):
    """``with FakeResponses() as api:`` then point ``OPENAI_BASE_URL`` at ``api.base_url``."""

    PATH = "/v1/responses"

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        #: encrypted content issued -> the reasoning item's id
        self.issued: dict[str, str] = {}
        #: function call item id -> the id of the reasoning item before it
        self.call_reasoning: dict[str, str] = {}

    def check(self, body: Any) -> JSONResponse | None:
        try:
            self.validate(body)
        except NotFound as exc:
            return _error(404, str(exc), "invalid_request_error", param="input")
        except Unverified as exc:
            return _error(400, str(exc), "invalid_request_error", code="invalid_encrypted_content")
        except Unknown as exc:
            return _error(
                400, str(exc), "invalid_request_error", param=exc.param, code="unknown_parameter"
            )
        return images_refused(image_rules.responses, body)

    # --- the rules ------------------------------------------------------------------------

    def validate(self, body: Any) -> None:
        if not isinstance(body, dict):
            raise Invalid("We could not parse the JSON body of your request.")
        for key in body:
            if key not in TOP_LEVEL:
                raise Unknown(f"Unknown parameter: '{key}'.", key)
        if not isinstance(body.get("model"), str) or not body["model"]:
            raise Invalid("Missing required parameter: 'model'.", "model")
        items = body.get("input")
        if isinstance(items, str):
            return
        if not isinstance(items, list) or not items:
            raise Invalid("Missing required parameter: 'input'.", "input")
        stored = body.get("store", True) is not False
        open_calls: list[str] = []
        for i, item in enumerate(items):
            where = f"input[{i}]"
            kind = item.get("type", "message") if isinstance(item, dict) else None
            if kind not in ITEM_TYPES:
                raise Invalid(
                    f"Invalid value: '{kind}'. Supported values are: ...", f"{where}.type"
                )
            if kind == "message":
                role = item.get("role")
                if role not in ROLES:
                    raise Invalid(
                        f"Invalid value: '{role}'. Supported values are: 'assistant', "
                        "'system', 'developer', and 'user'.",
                        f"{where}.role",
                    )
                if open_calls and role != "assistant":
                    # the calls of a turn are answered before anyone speaks again
                    raise Invalid(
                        f"No tool output found for function call {open_calls[0]}.", "input"
                    )
                if not isinstance(item.get("content"), str | list):
                    raise Invalid(
                        f"Missing required parameter: '{where}.content'.", f"{where}.content"
                    )
            elif kind == "reasoning":
                self._reasoning(item, items[i + 1 :], stored)
            elif kind == "function_call":
                for field in ("call_id", "name", "arguments"):
                    if not isinstance(item.get(field), str):
                        raise Invalid(
                            f"Missing required parameter: '{where}.{field}'.", f"{where}.{field}"
                        )
                fc_id = item.get("id")
                wanted = self.call_reasoning.get(fc_id) if fc_id else None
                if wanted is not None and not _reasoning_before(items, i, wanted, self.issued):
                    raise Invalid(
                        f"Item '{fc_id}' of type 'function_call' was provided without its "
                        f"required 'reasoning' item: '{wanted}'.",
                        "input",
                    )
                open_calls.append(item["call_id"])
            else:
                call_id = item.get("call_id")
                if call_id not in open_calls:
                    raise Invalid(
                        f"No tool call found for function call output with call_id {call_id}.",
                        "input",
                    )
                open_calls.remove(call_id)
                _output(where, item.get("output"))
        if open_calls:
            raise Invalid(f"No tool output found for function call {open_calls[0]}.", "input")

    def _reasoning(self, item: dict[str, Any], after: list[Any], stored: bool) -> None:
        encrypted = item.get("encrypted_content")
        item_id = item.get("id")
        if not encrypted:
            if item_id and not stored:
                raise NotFound(
                    f"Item with id '{item_id}' not found. Items are not persisted when "
                    "`store` is set to false. Try again with `store` set to true, or remove "
                    "this item from your input."
                )
            raise Invalid("Missing required parameter: 'encrypted_content'.", "input")
        if encrypted not in self.issued:
            raise Unverified(
                f"The encrypted content {encrypted[:4]}...{encrypted[-4:]} could not be verified."
            )
        following = next(
            (
                x.get("type", "message")
                for x in after
                if isinstance(x, dict) and x.get("type") != "reasoning"
            ),
            None,
        )
        if following not in OUTPUTS or (
            following == "message"
            and next(x for x in after if x.get("type") != "reasoning").get("role") != "assistant"
        ):
            raise Invalid(
                f"Item '{self.issued[encrypted]}' of type 'reasoning' was provided without "
                "its required following item.",
                "input",
            )

    # --- the stream -----------------------------------------------------------------------

    MALFORMED = b'event: response.output_text.delta\ndata: {"type": "response.output_te\n\n'

    def error_response(self, planned: HTTPError) -> JSONResponse:
        headers = {"retry-after": planned.retry_after} if planned.retry_after else {}
        kind = planned.kind or (
            "requests"
            if planned.status == 429
            else "server_error"
            if planned.status >= 500
            else "invalid_request_error"
        )
        code = "rate_limit_exceeded" if planned.status == 429 else None
        return _error(planned.status, planned.message, kind, code=code, headers=headers)

    def error_event(self, part: ErrorHere) -> bytes:
        code = "server_error" if part.kind == "overloaded_error" else part.kind
        return _event("error", {"code": code, "message": part.message, "param": None})

    def events(self, planned: Reply, body: dict[str, Any]) -> Iterator[Action]:
        response: dict[str, Any] = {
            "id": self.new_id("resp_"),
            "object": "response",
            "created_at": int(time.time()),
            "status": "in_progress",
            "model": body["model"],
            "output": [],
            "parallel_tool_calls": True,
            "tool_choice": "auto",
            "tools": [],
            "usage": None,
            "error": None,
            "incomplete_details": None,
        }
        encrypt = "reasoning.encrypted_content" in (body.get("include") or [])
        yield _event("response.created", {"response": response})
        output: list[dict[str, Any]] = response["output"]
        reasoning_id: str | None = None
        refusal = planned.stop == "refusal"
        for part in planned.parts:
            index = len(output)
            if isinstance(part, Think):
                item = {"id": self.new_id("rs_"), "type": "reasoning", "summary": []}
                reasoning_id = item["id"]
                yield _event("response.output_item.added", {"output_index": index, "item": item})
                at = {"item_id": item["id"], "output_index": index, "summary_index": 0}
                yield _event(
                    "response.reasoning_summary_part.added",
                    {**at, "part": {"type": "summary_text", "text": ""}},
                )
                for piece in pieces(part.text):
                    yield _event("response.reasoning_summary_text.delta", {**at, "delta": piece})
                yield _event("response.reasoning_summary_text.done", {**at, "text": part.text})
                summary = {"type": "summary_text", "text": part.text}
                yield _event("response.reasoning_summary_part.done", {**at, "part": summary})
                item = {**item, "summary": [summary]}
                if encrypt:
                    item["encrypted_content"] = "gAAAAA" + secrets.token_urlsafe(48)
                    self.issued[item["encrypted_content"]] = item["id"]
                output.append(item)
                yield _event("response.output_item.done", {"output_index": index, "item": item})
            elif isinstance(part, Say):
                yield from self._message(part.text, index, output, refusal)
            elif isinstance(part, Call):
                yield from self._call(part, index, output, reasoning_id)
            elif isinstance(part, Redacted):
                continue  # Anthropic only
            else:
                yield from self.fault(part)
                return
        usage = planned.usage
        prompt = usage.input + usage.cache_read + usage.cache_write
        thinking = sum(len(p.text) // 4 for p in planned.parts if isinstance(p, Think))
        response["usage"] = {
            "input_tokens": prompt,
            "input_tokens_details": {"cached_tokens": usage.cache_read},
            "output_tokens": usage.output,
            "output_tokens_details": {"reasoning_tokens": min(thinking, usage.output)},
            "total_tokens": prompt + usage.output,
        }
        if planned.stop == "failed":
            # a response that fails after it began (Wei-Shaw/sub2api#3038 quotes one)
            error = {
                "code": "server_error",
                "message": "An error occurred while processing your request.",
            }
            response.update(status="failed", error=error)
            yield _event("response.failed", {"response": response})
        elif planned.stop in ("length", "max_tokens", "content_filter"):
            reason = "content_filter" if planned.stop == "content_filter" else "max_output_tokens"
            response.update(status="incomplete", incomplete_details={"reason": reason})
            yield _event("response.incomplete", {"response": response})
        else:
            response["status"] = "completed"
            yield _event("response.completed", {"response": response})

    def _message(
        self, text: str, index: int, output: list[dict[str, Any]], refusal: bool
    ) -> Iterator[bytes]:
        item: dict[str, Any] = {
            "id": self.new_id("msg_"),
            "type": "message",
            "status": "in_progress",
            "role": "assistant",
            "content": [],
        }
        yield _event("response.output_item.added", {"output_index": index, "item": item})
        at = {"item_id": item["id"], "output_index": index, "content_index": 0}
        kind = "refusal" if refusal else "output_text"
        empty = {"type": kind, kind if refusal else "text": ""}
        if not refusal:
            empty["annotations"] = []
        yield _event("response.content_part.added", {**at, "part": empty})
        for piece in pieces(text):
            name = "response.refusal.delta" if refusal else "response.output_text.delta"
            yield _event(name, {**at, "delta": piece})
        if refusal:
            part = {"type": "refusal", "refusal": text}
            yield _event("response.refusal.done", {**at, "refusal": text})
        else:
            part = {"type": "output_text", "text": text, "annotations": []}
            yield _event("response.output_text.done", {**at, "text": text})
        yield _event("response.content_part.done", {**at, "part": part})
        item = {**item, "status": "completed", "content": [part]}
        output.append(item)
        yield _event("response.output_item.done", {"output_index": index, "item": item})

    def _call(
        self, call: Call, index: int, output: list[dict[str, Any]], reasoning_id: str | None
    ) -> Iterator[bytes]:
        raw = json.dumps(call.input)
        item = {
            "id": self.new_id("fc_"),
            "type": "function_call",
            "status": "in_progress",
            "call_id": call.id or self.new_id("call_"),
            "name": call.name,
            "arguments": "",
        }
        if reasoning_id is not None:
            self.call_reasoning[item["id"]] = reasoning_id
        yield _event("response.output_item.added", {"output_index": index, "item": item})
        half = len(raw) // 2
        for piece in (raw[:half], raw[half:]):
            yield _event(
                "response.function_call_arguments.delta",
                {"item_id": item["id"], "output_index": index, "delta": piece},
            )
        yield _event(
            "response.function_call_arguments.done",
            {"item_id": item["id"], "output_index": index, "arguments": raw},
        )
        item = {**item, "status": "completed", "arguments": raw}
        output.append(item)
        yield _event("response.output_item.done", {"output_index": index, "item": item})


#: What an ``input_image`` part may carry inline (as in the chat completions fake).
DATA_URL = re.compile(r"data:image/(png|jpeg|gif|webp);base64,[A-Za-z0-9+/]+=*\Z")


def _output(where: str, output: Any) -> None:
    """A function call's output: text, or a list of input parts (text, images)."""
    if isinstance(output, str):
        return
    if not isinstance(output, list) or not output:
        raise Invalid(f"Missing required parameter: '{where}.output'.", f"{where}.output")
    for k, part in enumerate(output):
        at = f"{where}.output[{k}]"
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "input_text" and isinstance(part.get("text"), str):
            continue
        url = part.get("image_url") if isinstance(part, dict) else None
        if kind == "input_image" and isinstance(url, str):
            if not (url.startswith("https://") or DATA_URL.match(url)):
                raise Invalid(f"Invalid '{at}.image_url': expected a URL or a data URL.", at)
            continue
        raise Invalid(
            f"Invalid value: '{kind}'. Supported values are: 'input_text', 'input_image', "
            "and 'input_file'.",
            f"{at}.type",
        )


def _reasoning_before(items: list[Any], at: int, wanted: str, issued: dict[str, str]) -> bool:
    """Whether the reasoning item ``wanted`` is among the items of the same response
    before ``items[at]`` (back to the previous input that is not an output item)."""
    for item in reversed(items[:at]):
        kind = item.get("type", "message")
        if kind == "reasoning":
            if (
                item.get("id") == wanted
                or issued.get(item.get("encrypted_content") or "") == wanted
            ):
                return True
        elif kind not in OUTPUTS or item.get("role", "assistant") != "assistant":
            return False
    return False


_sequence = iter(range(1, 1 << 62))


def _event(kind: str, payload: dict[str, Any]) -> bytes:
    data = {"type": kind, **payload, "sequence_number": next(_sequence)}
    return f"event: {kind}\ndata: {json.dumps(data)}\n\n".encode()
