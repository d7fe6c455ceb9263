"""What went wrong with a provider request, in words a user can act on.

Both SDK adapters raise the same families of errors (status errors, connection errors,
timeouts, a mid-stream ``error`` event, a broken or truncated stream). ``classify`` turns
any of them into a ``Fault``: a kind that decides whether a retry may help, the status
code, the server's ``retry-after`` and a short detail. ``Endpoint.failure`` turns a fault
into the ``StreamFailed`` the loop reports (it knows the key variable and the base URL to
name, and the key never to show).
"""

from __future__ import annotations

import email.utils
import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import Literal

FaultKind = Literal[
    "rate_limited",
    "overloaded",
    "server_error",
    "connection",
    "timeout",
    "stream_cut",
    "malformed",
    "stream_error",
    "auth_failed",
    "forbidden",
    "not_found",
    "bad_request",
    "context_overflow",
    "content_filter",
    "quota",
    "bad_generation",
    "provider_error",
]

#: What each kind is called in a ``RETRYING`` event, and whether a second attempt can
#: fix it (when nothing was streamed yet).
KINDS: dict[str, tuple[str, bool]] = {
    "rate_limited": ("rate limited", True),
    "overloaded": ("overloaded", True),
    "server_error": ("server error", True),
    "connection": ("connection failed", True),
    "timeout": ("read timeout", True),
    "stream_cut": ("stream ended early", True),
    "malformed": ("malformed stream data", True),
    "stream_error": ("error in the stream", True),
    "auth_failed": ("authentication failed", False),
    "forbidden": ("permission denied", False),
    "not_found": ("not found", False),
    "bad_request": ("request refused", False),
    "context_overflow": ("context window exceeded", False),
    "content_filter": ("refused by the content filter", False),
    "quota": ("quota or balance exhausted", False),
    "bad_generation": ("the model's tool call could not be read", True),
    "provider_error": ("provider error", False),
}

#: Error ``type`` values of either API's error bodies, by the fault they mean.
_ERROR_TYPES: dict[str, FaultKind] = {
    "overloaded_error": "overloaded",
    "rate_limit_error": "rate_limited",
    "rate_limit_exceeded": "rate_limited",
    "api_error": "server_error",
    "server_error": "server_error",
    "timeout_error": "timeout",
    "authentication_error": "auth_failed",
    "invalid_api_key": "auth_failed",
    "permission_error": "forbidden",
    "not_found_error": "not_found",
    "invalid_request_error": "bad_request",
    "request_too_large": "bad_request",
    "insufficient_quota": "quota",  # OpenAI: no credit left; waiting does not help
    "engine_overloaded_error": "overloaded",  # Moonshot
    "exceed_context_size_error": "context_overflow",  # llama.cpp server
    "context_length_exceeded": "context_overflow",  # OpenAI's error code
    "content_filter": "content_filter",  # Moonshot: a 400 whose type is the filter
    # Groq: the model wrote a tool call its parser could not read; a new sample may work
    "tool_use_failed": "bad_generation",
    # Google's status words (Gemini's compatible endpoint answers with them)
    "INVALID_ARGUMENT": "bad_request",
    "FAILED_PRECONDITION": "bad_request",
    "UNAUTHENTICATED": "auth_failed",
    "PERMISSION_DENIED": "forbidden",
    "NOT_FOUND": "not_found",
    "RESOURCE_EXHAUSTED": "rate_limited",
    "UNAVAILABLE": "overloaded",
    "INTERNAL": "server_error",
    "DEADLINE_EXCEEDED": "timeout",
}

#: How APIs say that a request exceeds the context window. Anthropic "prompt is too
#: long" / "input length and `max_tokens` exceed context limit"; OpenAI "maximum context
#: length"; Gemini "exceeds the maximum number of tokens allowed"; Moonshot "exceeded
#: model token limit"; llama.cpp "exceeds the available context size"; LM Studio "does
#: not fit in context length" (sources: tests/wire/*/error-context-overflow*.yaml).
_TOO_LONG = re.compile(
    r"too long|too large|context length|context window|maximum context|context limit"
    r"|context size|maximum number of tokens|model token limit|fit in context"
    r"|context_length_exceeded|exceed_context_size",
    re.I,
)
#: How APIs say that the account has no credit or quota left: a wait will not help.
#: OpenAI/Gemini "exceeded your current quota" (Gemini free tier "limit: 0"), Anthropic's
#: spend cap "reached your API usage limits", DeepSeek "Insufficient Balance" (402),
#: OpenRouter "Insufficient credits" (402) (sources: tests/wire/*/error-*quota*, -balance*).
_QUOTA = re.compile(
    r"insufficient[_ ](quota|balance|credits)|exceeded your current quota|limit: 0\b"
    r"|spend[_ ]limit|reached your (api )?usage limits|credit balance is too low"
    r"|free-models-per-day",
    re.I,
)

#: Longest ``retry-after`` we honour; a server asking for more gets an error instead.
MAX_RETRY_AFTER_S = 120.0


@dataclass(frozen=True, slots=True)
class Fault:
    kind: FaultKind
    #: What the server or the transport said (never containing the key).
    detail: str = ""
    status_code: int | None = None
    #: Seconds the server asked us to wait (``retry-after`` / ``retry-after-ms``).
    retry_after: float | None = None

    @property
    def retryable(self) -> bool:
        return KINDS[self.kind][1]

    @property
    def reason(self) -> str:
        """A few words for a ``RETRYING`` event."""
        status = (
            f", HTTP {self.status_code}" if self.status_code and self.status_code != 200 else ""
        )
        return KINDS[self.kind][0] + status


#: How ``Endpoint.failure`` words the kinds that mean "busy, try later".
BUSY: dict[str, str] = {
    "rate_limited": "is rate-limiting this key",
    "overloaded": "is overloaded",
    "server_error": "had an internal error",
}


class StreamBroken(Exception):
    """Raised by an adapter when the wire stream ended badly without an SDK error
    (e.g. it stopped before its final event)."""

    def __init__(self, kind: FaultKind, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail


ErrorOf = Callable[[object], tuple[str | None, str | None]]
"""Reads ``(error type, message)`` out of an SDK error's ``body``."""


def classify(exc: BaseException, sdk: ModuleType, error_of: ErrorOf) -> Fault:
    """The fault behind an exception raised while opening or reading a stream.

    ``sdk`` is the ``anthropic`` or ``openai`` module: both name their error classes
    alike (``APIStatusError``, ``APITimeoutError``, ``APIConnectionError``, ``APIError``).
    """
    import httpx2

    if isinstance(exc, StreamBroken):
        return Fault(exc.kind, exc.detail)
    if isinstance(exc, sdk.APIStatusError):
        error_type, message = error_of(exc.body)
        retry_after = _retry_after(exc.response.headers)
        return fault_of_status(exc.status_code, error_type, message, retry_after)
    if isinstance(exc, sdk.APITimeoutError | httpx2.TimeoutException):
        return Fault("timeout", "no data before the read timeout")
    if isinstance(exc, sdk.APIConnectionError | httpx2.TransportError):
        return fault_of_transport(exc)
    if isinstance(exc, sdk.APIError):  # an error event inside a 200 stream (openai)
        return Fault(*fault_of_error(exc.body, exc.message, error_of))
    if isinstance(exc, json.JSONDecodeError):
        return Fault("malformed", f"not JSON: {exc.msg} at character {exc.pos}")
    return Fault("provider_error", f"{type(exc).__name__}: {exc}")


def fault_of_status(
    status: int,
    error_type: str | None,
    message: str | None,
    retry_after: float | None = None,
) -> Fault:
    """The fault of an HTTP error answer: its status (0: unknown), refined by the
    provider's type word and message (an empty account, a conversation too long)."""
    detail = _detail(error_type, message)
    kind = _refine(_kind_of_status(status, error_type), detail, status)
    return Fault(kind, detail, status or None, retry_after)


def fault_of_transport(exc: BaseException) -> Fault:
    """A connection that failed below HTTP, named by its innermost cause."""
    return Fault("connection", _transport_detail(exc))


def fault_of_error(
    body: object, fallback: str, error_of: ErrorOf | None = None
) -> tuple[FaultKind, str]:
    """``(kind, detail)`` of an error reported inside a stream that began well (an
    ``error`` event, OpenAI's ``response.failed``): what its type or code says, else
    ``stream_error`` (retried: the request itself was accepted)."""
    error_type, message = (error_of or error_fields)(body)
    detail = _detail(error_type, message or fallback)
    return _refine(_ERROR_TYPES.get(error_type or "", "stream_error"), detail, None), detail


def _refine(kind: FaultKind, detail: str, status: int | None) -> FaultKind:
    """What the provider's words say beyond the status: an empty account (often sent as
    a 429, which would otherwise be retried in vain), or a conversation too long for the
    model (often a plain 400, or an error event inside a 200 stream)."""
    if status == 402 or (
        kind in ("rate_limited", "forbidden", "bad_request", "stream_error")
        and _QUOTA.search(detail)
    ):
        return "quota"
    if kind in ("bad_request", "stream_error") and (status == 413 or _TOO_LONG.search(detail)):
        return "context_overflow"
    return kind


def _kind_of_status(status: int, error_type: str | None) -> FaultKind:
    if status == 200:  # Anthropic's mid-stream `error` event comes with the 200 response
        return _ERROR_TYPES.get(error_type or "", "stream_error")
    if status == 401:
        return "auth_failed"
    if status == 403:
        return "forbidden"
    if status == 404:
        return "not_found"
    if status == 408:
        return "timeout"
    if status == 429:
        return "overloaded" if error_type == "engine_overloaded_error" else "rate_limited"
    if status in (503, 529) or error_type == "overloaded_error":
        return "overloaded"
    if status >= 500:
        return "server_error"
    return _ERROR_TYPES.get(error_type or "", "bad_request")


def _detail(error_type: str | None, message: str | None) -> str:
    if error_type and message:
        return f"{error_type}: {message}"
    return message or error_type or ""


def _transport_detail(exc: BaseException) -> str:
    cause: BaseException | None = exc
    while cause is not None and cause.__cause__ is not None:
        cause = cause.__cause__
    text = str(cause) if cause is not None else ""
    name = type(cause).__name__ if cause is not None else type(exc).__name__
    return f"{name}: {text}" if text else name


def _retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds from ``retry-after-ms`` or ``retry-after`` (seconds or an HTTP date)."""
    raw_ms = headers.get("retry-after-ms")
    if raw_ms:
        try:
            return max(0.0, float(raw_ms) / 1000)
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def error_fields(error: object) -> tuple[str | None, str | None]:
    """``(type, message)`` of a provider's error body, whatever its shape: an object
    ``{"type", "message"}``; one wrapped in ``{"error": ...}`` (once or twice); a JSON
    array of them (Gemini's compatible endpoint); a bare string; Google's ``status``
    (``INVALID_ARGUMENT``) or a string ``code`` as the type; a gateway's upstream message
    in ``metadata.raw`` (OpenRouter) added to its own."""
    for _ in range(4):  # unwrap, boundedly
        if isinstance(error, list | tuple) and error:
            error = error[0]
        elif (
            isinstance(error, Mapping)
            and isinstance(error.get("error"), Mapping | list | str)
            and not isinstance(error.get("message"), str)
        ):
            error = error["error"]
        else:
            break
    if isinstance(error, str):
        return None, error or None
    if not isinstance(error, Mapping):
        return None, None
    kind = next(
        (v for v in (error.get("type"), error.get("status"), error.get("code")) if _word(v)),
        None,
    )
    code = error.get("code")
    if kind in (None, "invalid_request_error") and isinstance(code, str) and code in _ERROR_TYPES:
        # A generic type with a precise code (OpenAI's invalid_api_key, Groq's
        # tool_use_failed and context_length_exceeded): the code says more.
        kind = code
    message = next(
        (v for k in ("message", "detail", "msg", "error_description") if _word(v := error.get(k))),
        None,
    )
    if message and message.lstrip().startswith(("{", "[")) and len(message) < 100_000:
        # A proxy that put the upstream server's whole error body in its message
        # (Ollama in front of llama.cpp): the inner words are the ones to show.
        try:
            inner_kind, inner = error_fields(json.loads(message))
        except (ValueError, RecursionError):
            inner_kind = inner = None
        if inner:
            kind, message = inner_kind or kind, inner
    upstream = _upstream(error.get("metadata"))
    if upstream and upstream not in (message or ""):
        message = f"{message}: {upstream}" if message else upstream
    return kind, message


def _word(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _upstream(metadata: object) -> str | None:
    """The upstream provider's own words a gateway passed on (``metadata.raw``)."""
    if not isinstance(metadata, Mapping):
        return None
    raw = metadata.get("raw")
    if isinstance(raw, str):
        try:
            decoded = json.loads(raw)
        except ValueError:
            decoded = raw
        if not isinstance(decoded, str):
            _, decoded = error_fields(decoded)
        raw = decoded
    if not _word(raw):
        return None
    name = metadata.get("provider_name")
    return f"{name} said: {raw}" if _word(name) else str(raw)
