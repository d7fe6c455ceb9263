"""A fake Gemini API (``generativelanguage.googleapis.com``): real HTTP, SSE, strict.

``POST /v1beta/models/{model}:streamGenerateContent?alt=sse`` (the URL the
``google-genai`` SDK builds for ``generate_content_stream`` with ``api_version="v1beta"``)
with the key in ``x-goog-api-key`` answers with ``data:`` chunks of
``GenerateContentResponse``: ``candidates[0].content`` of role ``model`` with the parts of
the script (thought parts for ``Think`` when ``includeThoughts`` is asked for, text parts,
one chunk per ``functionCall``), then a chunk with the ``finishReason`` and the
``usageMetadata``; each chunk carries ``modelVersion`` and ``responseId``. Signatures as
ai.google.dev/gemini-api/docs/thought-signatures describes Gemini 3: on the first
``functionCall`` of each response only, or — in a response without calls — on an empty
text part in the last chunk. Signatures are an HMAC of the call they came with, so the
fake knows a dropped, moved or altered one.

Requests are refused with a 400 ``INVALID_ARGUMENT`` in Google's body shape
(``{"error": {"code", "message", "status"}}``) and the API's own words when:

- a field is unknown ('Invalid JSON payload received. Unknown name ...': protobuf JSON);
- a role is not ``user``/``model`` ("Please use a valid role: user, model.");
- a content has no parts ("contents.parts must not be empty");
- a model turn with function calls is not followed by a user turn with as many
  ``functionResponse`` parts, answering the same names ("Please ensure that the number
  of function response parts is equal to the number of function call parts of the
  function call turn.", github.com/google-gemini/gemini-cli/issues/4217), or function
  responses follow no call ("Please ensure that function response turn comes
  immediately after a function call turn.", langchain-ai/langchain#27799,
  GoogleCloudPlatform/generative-ai#368);
- the first ``functionCall`` of a model turn of the current turn has no signature
  ("Function call is missing a thought_signature in functionCall parts. ...",
  tests/wire/gemini/error-missing-thought-signature.yaml, from manthanabc/paws#103 and
  lbjlaq/Antigravity-Manager#733), unless it is the documented placeholder
  ``skip_thought_signature_validator``;
- an image Gemini does not take (GIF, undecodable; a body over 20 MB: ``image_rules``);
- a call carries a signature this server did not issue for it ("Corrupted thought
  signature.", github.com/google-gemini/gemini-cli/issues/13467).

A wrong key is a 400 INVALID_ARGUMENT "API key not valid. Please pass a valid API key."
with reason API_KEY_INVALID (continuedev/continue#8516, verbatim); a missing one a 403
PERMISSION_DENIED (the wording Google APIs give keyless callers; not re-checked).
Keys are taken in snake_case and camelCase, as protobuf JSON parsers (the SDK mixes them).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import pytest

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

PATH = re.compile(r"^/v1beta/models/([A-Za-z0-9._-]+):streamGenerateContent$")
PLACEHOLDER = b"skip_thought_signature_validator"
STATUS_WORDS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
TOP_LEVEL = {
    "contents",
    "systemInstruction",
    "tools",
    "toolConfig",
    "generationConfig",
    "safetySettings",
    "cachedContent",
    "labels",
}
PART_DATA = {
    "text",
    "inlineData",
    "fileData",
    "functionCall",
    "functionResponse",
    "executableCode",
    "codeExecutionResult",
}
PART_KEYS = PART_DATA | {"thought", "thoughtSignature", "videoMetadata", "partMetadata"}
#: Values whose keys are the caller's data, not field names.
OPAQUE = {"args", "response", "parametersJsonSchema", "parameters", "responseJsonSchema"}
MISSING_SIGNATURE = (
    "Function call is missing a thought_signature in functionCall parts. This is required "
    "for tools to work correctly, and missing thought_signature may lead to degraded model "
    "performance. Additional data, function call `default_api:{name}` , position {position}. "
    "Please refer to https://ai.google.dev/gemini-api/docs/thought-signatures for more details."
)
COUNT_MISMATCH = (
    "Please ensure that the number of function response parts is equal to the number of "
    "function call parts of the function call turn."
)


class Invalid(Exception):
    """A request the API refuses; the message is the API's."""


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(word[:1].upper() + word[1:] for word in rest)


def normalise(value: Any) -> Any:
    """Field names in camelCase, whichever spelling the client used."""
    if isinstance(value, list):
        return [normalise(v) for v in value]
    if not isinstance(value, dict):
        return value
    out = {}
    for key, inner in value.items():
        name = camel(key)
        out[name] = inner if name in OPAQUE else normalise(inner)
    return out


def decode_signature(text: Any) -> bytes | None:
    """A ``bytes`` field of protobuf JSON: base64, standard or URL-safe."""
    if not isinstance(text, str) or not text:
        return None
    try:
        return base64.b64decode(text.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        return None


class FakeGemini(ScriptedAPI):
    """``with FakeGemini() as api:`` then point ``GOOGLE_GEMINI_BASE_URL`` at ``api.url``.

    ``call_ids``: give each function call an ``id`` (Gemini 3 may; older models do not).
    ``sign_thoughts``: sign each thought summary too, on its last part."""

    def __init__(
        self, *, call_ids: bool = False, sign_thoughts: bool = False, **options: Any
    ) -> None:
        super().__init__(**options)
        self.call_ids = call_ids
        self.sign_thoughts = sign_thoughts
        self.secret = b"fake-gemini-" + self.new_id("").encode()
        #: The model of each accepted request (from the URL).
        self.models: list[str] = []

    def sign(self, *what: Any) -> bytes:
        payload = json.dumps(what, sort_keys=True, separators=(",", ":")).encode()
        return b"gsig" + hmac.new(self.secret, payload, hashlib.sha256).digest()

    def call_signature(self, name: str, args: Any) -> bytes:
        return self.sign("call", name, args or {})

    # --- HTTP ---------------------------------------------------------------------------

    async def handle(self, request: Request) -> JSONResponse | SSEResponse:
        path, _, query = request.path.partition("?")
        match = PATH.match(path)
        if request.method != "POST" or match is None:
            return _error(404, f"The requested URL {path} was not found on this server.")
        params = dict(p.partition("=")[::2] for p in query.split("&") if p)
        key = request.headers.get("x-goog-api-key") or params.get("key", "")
        if not key:
            return _error(
                403,
                "Method doesn't allow unregistered callers (callers without established "
                "identity). Please use API Key or other form of API consumer identity to "
                "call this API.",
            )
        if key != self.api_key:
            return _error(
                400, "API key not valid. Please pass a valid API key.", reason="API_KEY_INVALID"
            )
        if params.get("alt") != "sse":
            return self.reject(_error(400, "this fake streams SSE only (alt=sse)"), "no alt=sse")
        try:
            image_rules.gemini_body(len(request.body))
            body = normalise(request.json())
            self.validate(body)
        except ValueError:
            return self.reject(_error(400, "Invalid JSON payload received."), "bad JSON")
        except (Invalid, image_rules.Refused) as exc:
            return self.reject(_error(400, str(exc)), str(exc))
        self.record(request, body)
        self.models.append(match.group(1))
        return self.respond(body)

    # --- the rules ----------------------------------------------------------------------

    def validate(self, body: Any) -> None:
        if not isinstance(body, dict):
            raise Invalid("Invalid JSON payload received. Expected an object.")
        for key in body:
            if key not in TOP_LEVEL:
                raise Invalid(
                    f'Invalid JSON payload received. Unknown name "{key}": Cannot find field.'
                )
        contents = body.get("contents")
        if not isinstance(contents, list) or not contents:
            raise Invalid("* GenerateContentRequest.contents: contents is not specified\n")
        for i, content in enumerate(contents):
            self._content(i, content)
        for i, content in enumerate(contents):
            calls = _calls(content)
            responses = _responses(content)
            if calls:
                following = contents[i + 1] if i + 1 < len(contents) else None
                if following is not None:
                    answered = _responses(following)
                    if len(answered) != len(calls):
                        raise Invalid(COUNT_MISMATCH)
                    names = sorted(r.get("name") or "" for r in answered)
                    if names != sorted(c.get("name") or "" for c in calls):
                        raise Invalid(COUNT_MISMATCH)
                self._signed_calls(i, content)
            if responses and (i == 0 or not _calls(contents[i - 1])):
                raise Invalid(
                    "Please ensure that function response turn comes immediately after a "
                    "function call turn."
                )
        start = _current_turn(contents)
        for i in range(start, len(contents)):
            calls = [p for p in contents[i]["parts"] if "functionCall" in p]
            if contents[i]["role"] == "model" and calls and "thoughtSignature" not in calls[0]:
                name = calls[0]["functionCall"].get("name")
                raise Invalid(MISSING_SIGNATURE.format(name=name, position=i + 1))

    def _content(self, i: int, content: Any) -> None:
        where = f"contents[{i}]"
        if not isinstance(content, dict):
            raise Invalid(f"Invalid JSON payload received. '{where}': expected an object.")
        for key in content:
            if key not in ("role", "parts"):
                raise Invalid(
                    f"Invalid JSON payload received. Unknown name \"{key}\" at '{where}': "
                    "Cannot find field."
                )
        if content.get("role") not in ("user", "model"):
            raise Invalid("Please use a valid role: user, model.")
        parts = content.get("parts")
        if not isinstance(parts, list) or not parts:
            raise Invalid(
                f"* GenerateContentRequest.{where}.parts: contents.parts must not be empty.\n"
            )
        for j, part in enumerate(parts):
            at = f"{where}.parts[{j}]"
            if not isinstance(part, dict):
                raise Invalid(f"Invalid JSON payload received. '{at}': expected an object.")
            for key in part:
                if key not in PART_KEYS:
                    raise Invalid(
                        f"Invalid JSON payload received. Unknown name \"{key}\" at '{at}': "
                        "Cannot find field."
                    )
            data = [k for k in part if k in PART_DATA]
            if len(data) != 1:
                raise Invalid(
                    f"* GenerateContentRequest.{at}.data: required oneof field 'data' must "
                    "have one initialized field\n"
                )
            if "functionCall" in part and content["role"] != "model":
                raise Invalid(f"* GenerateContentRequest.{at}: functionCall in a user turn\n")
            if "functionResponse" in part:
                response = part["functionResponse"]
                if not isinstance(response.get("response"), dict) or not response.get("name"):
                    raise Invalid(
                        f"* GenerateContentRequest.{at}.function_response.name: "
                        "Name cannot be empty.\n"
                    )
            if "inlineData" in part:
                blob = part["inlineData"]
                if not blob.get("mimeType") or decode_signature(blob.get("data")) is None:
                    raise Invalid(f"* GenerateContentRequest.{at}.inline_data: invalid data\n")
                image_rules.gemini_blob(blob)

    def _signed_calls(self, i: int, content: dict[str, Any]) -> None:
        """Every signature on a call is one this server issued for that very call (or
        Google's placeholder)."""
        for part in content["parts"]:
            if "functionCall" not in part or "thoughtSignature" not in part:
                continue
            signature = decode_signature(part["thoughtSignature"])
            call = part["functionCall"]
            if signature == PLACEHOLDER:
                continue
            if signature != self.call_signature(call.get("name"), call.get("args")):
                raise Invalid("Corrupted thought signature.")

    # --- rendering ----------------------------------------------------------------------

    MALFORMED = b'data: {"candidates": [{"content": {"role": "model", "parts": \n\n'

    def error_response(self, planned: HTTPError) -> JSONResponse:
        return _error(
            planned.status,
            planned.message,
            word=planned.kind,
            retry_delay=planned.retry_after,
        )

    def error_event(self, part: ErrorHere) -> bytes:
        code = 503 if part.kind == "overloaded_error" else 500
        message = (
            "The model is overloaded. Please try again later."
            if part.kind == "overloaded_error"
            else part.message
        )
        return _data({"error": {"code": code, "message": message, "status": STATUS_WORDS[code]}})

    def events(self, planned: Reply, body: dict[str, Any]) -> Iterator[Action]:
        model = self.models[-1] if self.models else "gemini"
        response_id = self.new_id("resp")
        thinking = bool(
            ((body.get("generationConfig") or {}).get("thinkingConfig") or {}).get(
                "includeThoughts"
            )
        )
        usage = planned.usage
        prompt = usage.input + usage.cache_read
        thoughts = usage.output // 2 if thinking and _thinks(planned) else 0
        opening = {"promptTokenCount": prompt, "totalTokenCount": prompt}
        if usage.cache_read:
            opening["cachedContentTokenCount"] = usage.cache_read

        def chunk(
            parts: list[dict[str, Any]],
            finish: str | None = None,
            counts: dict[str, int] | None = None,
        ) -> bytes:
            candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts}, "index": 0}
            if not parts:
                candidate["content"] = {}
            if finish is not None:
                candidate["finishReason"] = finish
                if finish == "MALFORMED_FUNCTION_CALL":
                    candidate["finishMessage"] = "Malformed function call: print(default_api."
                if finish == "SAFETY":
                    candidate["safetyRatings"] = [
                        {"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "HIGH"}
                    ]
            return _data(
                {
                    "candidates": [candidate],
                    "usageMetadata": counts or opening,
                    "modelVersion": model,
                    "responseId": response_id,
                }
            )

        if planned.stop == "PROMPT_BLOCKED":
            yield _data(
                {
                    "promptFeedback": {"blockReason": "PROHIBITED_CONTENT"},
                    "usageMetadata": opening,
                    "modelVersion": model,
                    "responseId": response_id,
                }
            )
            return
        calls = 0
        said: list[str] = []
        for part in planned.parts:
            if isinstance(part, Think):
                if not thinking:
                    continue  # thought summaries come only when asked for
                texts = pieces(part.text)
                for n, p in enumerate(texts):
                    thought: dict[str, Any] = {"text": p, "thought": True}
                    if self.sign_thoughts and n == len(texts) - 1:
                        thought["thoughtSignature"] = _b64(self.sign("thought", part.text))
                    yield chunk([thought])
            elif isinstance(part, Say):
                for p in pieces(part.text):
                    yield chunk([{"text": p}])
                said.append(part.text)
            elif isinstance(part, Call):
                wire: dict[str, Any] = {"name": part.name, "args": part.input}
                if self.call_ids:
                    wire["id"] = part.id or self.new_id("fc")[:12]
                out: dict[str, Any] = {"functionCall": wire}
                if calls == 0:  # parallel calls: only the first one is signed
                    out["thoughtSignature"] = _b64(self.call_signature(part.name, part.input))
                calls += 1
                yield chunk([out])
            elif isinstance(part, Redacted):
                continue  # Anthropic only
            else:
                yield from self.fault(part)
                return
        last: list[dict[str, Any]] = []
        if not calls and planned.stop in (None, "STOP", "MAX_TOKENS"):
            # "Model responses without a function call return a signature in the last
            # part": in a stream, an empty text part of the last chunk.
            last.append({"text": "", "thoughtSignature": _b64(self.sign("text", "".join(said)))})
        counts = {
            **opening,
            "candidatesTokenCount": usage.output - thoughts,
            "totalTokenCount": prompt + usage.output,
        }
        if thoughts:
            counts["thoughtsTokenCount"] = thoughts
        yield chunk(last, planned.stop or "STOP", counts)


def _thinks(planned: Reply) -> bool:
    return any(isinstance(p, Think) for p in planned.parts)


def _calls(content: dict[str, Any]) -> list[dict[str, Any]]:
    return [p["functionCall"] for p in content["parts"] if "functionCall" in p]


def _responses(content: dict[str, Any]) -> list[dict[str, Any]]:
    return [p["functionResponse"] for p in content["parts"] if "functionResponse" in p]


def _current_turn(contents: list[dict[str, Any]]) -> int:
    """Where the current turn begins: the newest user turn with standard content, not
    only function responses (ai.google.dev/gemini-api/docs/thought-signatures)."""
    for i in range(len(contents) - 1, -1, -1):
        content = contents[i]
        if content["role"] == "user" and any("functionResponse" not in p for p in content["parts"]):
            return i
    return 0


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _data(payload: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(payload)}\r\n\r\n".encode()


def _error(
    status: int,
    message: str,
    *,
    word: str | None = None,
    reason: str | None = None,
    retry_delay: str | None = None,
) -> JSONResponse:
    error: dict[str, Any] = {
        "code": status,
        "message": message,
        "status": word or STATUS_WORDS.get(status, "UNKNOWN"),
    }
    details = []
    if reason:
        details.append(
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": reason,
                "domain": "googleapis.com",
            }
        )
    if retry_delay:
        details.append(
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": f"{retry_delay}s"}
        )
    if details:
        error["details"] = details
    return JSONResponse(status, {"error": error})


@contextmanager
def _serving(api: FakeGemini, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGemini]:
    with api:
        monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", api.url)
        monkeypatch.setenv("GEMINI_API_KEY", api.api_key)
        monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
        monkeypatch.delenv("GOOGLE_GENAI_USE_VERTEXAI", raising=False)
        monkeypatch.delenv("GOOGLE_GENAI_API_VERSION", raising=False)
        yield api


def gemini_fake(
    monkeypatch: pytest.MonkeyPatch, **options: Any
) -> AbstractContextManager[FakeGemini]:
    """Start a ``FakeGemini`` and point the catalogue's variables at it
    (``GOOGLE_GEMINI_BASE_URL``, ``GEMINI_API_KEY``), as a user would."""
    return _serving(FakeGemini(**options), monkeypatch)
