"""What the two SDK adapters share: a lazily created client, retries, failure wording.

A subclass is one wire protocol (``anthropic``, ``openai_compat``), never one vendor:
vendors differ only in their ``Endpoint`` (base URL, key, quirks). The SDK is imported
on the first request, so importing the core, the catalogue or a session stays cheap.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing
from types import ModuleType
from typing import Any

import anyio

from harness_tui.core.providers.base import ModelRequest, RetryNotice, StreamChunk, StreamFailed
from harness_tui.core.providers.catalogue import ModelSpec
from harness_tui.core.providers.endpoint import Endpoint
from harness_tui.core.providers.faults import Fault, classify, describe
from harness_tui.core.providers.retry import stream_with_retries


class SDKProvider:
    """Base of the SDK adapters. Subclasses implement ``_connect``, ``_params``,
    ``_attempt`` and ``_error_of``."""

    name = "sdk"

    def __init__(self, spec: ModelSpec, endpoint: Endpoint) -> None:
        self.spec = spec
        self.model = spec.id
        self.endpoint = endpoint
        self._sdk: ModuleType | None = None
        self._client: Any = None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.endpoint.provider}/{self.model}>"

    # --- for subclasses -----------------------------------------------------------------

    def _connect(self) -> tuple[ModuleType, Any]:
        """Import the SDK and create its async client."""
        raise NotImplementedError

    def _params(self, request: ModelRequest) -> dict[str, Any]:
        """The request in the wire format, as keyword arguments of the SDK call."""
        raise NotImplementedError

    def _attempt(self, client: Any, params: dict[str, Any]) -> AsyncGenerator[StreamChunk, None]:
        """Send the request once and yield its chunks; raise when it breaks."""
        raise NotImplementedError

    def _error_of(self, body: object) -> tuple[str | None, str | None]:
        """``(error type, message)`` from an SDK error's body."""
        raise NotImplementedError

    # --- the Provider protocol ----------------------------------------------------------

    def _recover(self, failure: StreamFailed, request: ModelRequest) -> str | None:
        """Whether a request refused before any output can be repaired and sent once more:
        the reason for the ``RetryNotice``, or None (the failure stands)."""
        return None

    async def stream(self, request: ModelRequest) -> AsyncGenerator[StreamChunk, None]:
        repaired = False
        while True:
            try:
                if self._client is None:
                    self._sdk, self._client = self._connect()
                params = self._params(request)
            except Exception as exc:  # the SDK would not load, or the history would not render
                yield StreamFailed(
                    f"could not prepare the {self.endpoint.provider} request: "
                    f"{type(exc).__name__}: {self.endpoint.scrub(str(exc))}",
                    "provider_setup",
                    "this is likely a bug in harness-tui or a broken installation",
                )
                return
            chunks = self._with_retries(params)
            reason = None
            async with aclosing(chunks):
                async for chunk in chunks:
                    if type(chunk) is StreamFailed and not repaired:
                        reason = self._recover(chunk, request)
                        if reason is not None:
                            break
                    yield chunk
            if reason is None:
                return
            repaired = True
            yield RetryNotice(1, 2, 0.0, reason)

    def _with_retries(self, params: dict[str, Any]) -> AsyncGenerator[StreamChunk, None]:
        client = self._client
        return stream_with_retries(
            lambda: self._attempt(client, params),
            self._classify,
            self.endpoint.retry,
            self._describe,
        )

    def _classify(self, exc: BaseException) -> Fault:
        """The fault behind an exception of the SDK (or of the stream's reading)."""
        assert self._sdk is not None
        return classify(exc, self._sdk, self._error_of)

    def _describe(self, fault: Fault, partial: bool, attempts: int) -> StreamFailed:
        return describe(fault, self.endpoint, partial=partial, attempts=attempts)

    async def aclose(self) -> None:
        """Close the SDK client and its connections."""
        client, self._client = self._client, None
        if client is not None:
            with anyio.CancelScope(shield=True):
                await client.close()
