"""What the two SDK adapters share: a lazily created client, retries, failure wording.

A subclass is one wire protocol (``anthropic``, ``openai_compat``), never one vendor:
vendors differ only in their ``Endpoint`` (base URL, key, quirks). The SDK is imported
on the first request, so importing the core, the catalogue or a session stays cheap.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator
from contextlib import aclosing
from types import ModuleType
from typing import Any

import anyio

from harness_tui.core.providers.base import (
    ModelRequest,
    Provider,
    RetryNotice,
    StreamChunk,
    StreamFailed,
)
from harness_tui.core.providers.catalogue import ModelSpec
from harness_tui.core.providers.endpoint import Endpoint
from harness_tui.core.providers.faults import Fault, classify
from harness_tui.core.providers.retry import stream_with_retries


class SDKProvider(Provider):
    """Base of the SDK adapters. Subclasses implement ``_connect``, ``_params``,
    ``_attempt`` and ``_error_of``."""

    name = "sdk"

    def __init__(self, spec: ModelSpec, endpoint: Endpoint) -> None:
        self.spec = spec
        self.model = spec.id
        self.endpoint = endpoint
        self._sdk: ModuleType | None = None
        self._client: Any = None
        #: Set while the SDK is imported and the client built (in a worker thread).
        self._connecting: anyio.Event | None = None
        self._closed = False
        #: When the last preconnect was sent (``time.monotonic()``), or None.
        self._preconnected: float | None = None
        self._preconnecting: anyio.Event | None = None

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
                await self._ready()
                if self._preconnecting is not None:
                    # Its connection is the one this request should go over, not a second.
                    await self._preconnecting.wait()
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

    async def _ready(self, *, abandon_on_cancel: bool = False) -> None:
        """Import the SDK and build the client once, in a worker thread: ``import
        anthropic`` alone takes over a second, which on the event loop would freeze the
        TUI. A caller that finds it under way waits for it (cancellably); a failure is
        raised to whoever built it, and the next caller tries again. With
        ``abandon_on_cancel`` a cancel does not wait for the thread (its client, which
        has opened nothing yet, is dropped)."""
        while self._client is None:
            if self._closed:
                raise RuntimeError("the provider is closed")
            if self._connecting is not None:
                await self._connecting.wait()
                continue
            self._connecting = anyio.Event()
            try:
                sdk, client = await anyio.to_thread.run_sync(
                    self._connect, abandon_on_cancel=abandon_on_cancel
                )
                self._sdk, self._client = sdk, client
            finally:
                event, self._connecting = self._connecting, None
                event.set()
            if self._closed:  # closed while the client was being built
                await self.aclose()

    async def warm(self) -> None:
        """Get ready for the first request before it is asked for: the SDK imported,
        the client built, and a connection open to the API (``_preconnect``). Quiet:
        what fails here is said when a request is sent, as it would have been anyway."""
        try:
            await self._ready(abandon_on_cancel=True)
        except Exception:
            return
        await self._preconnect()

    #: A preconnect is sent again after this long: the SDKs' pools drop a connection
    #: idle for 5 s (httpx's keep-alive expiry), so one opened at start-up would be gone
    #: by the time a long prompt is typed.
    PRECONNECT_EVERY = 4.0

    async def _preconnect(self) -> None:
        """Open a connection to the API through the client's own pool (its proxy and CA
        settings) so that the first request finds the TCP and TLS handshakes done: a
        ``HEAD`` of the base URL, without the key, which costs no tokens and changes
        nothing. Whatever it answers (404, 405…) is fine; a failure is silent."""
        if self._preconnecting is not None:  # one under way: done when it is
            await self._preconnecting.wait()
            return
        http, url, now = self._http_client(), self._base_url(), time.monotonic()
        recent = self._preconnected is not None and now - self._preconnected < self.PRECONNECT_EVERY
        if http is None or not url or recent:
            return
        self._preconnected, self._preconnecting = now, anyio.Event()
        try:
            with anyio.fail_after(self.endpoint.connect_timeout + 5):
                await http.head(url)
        except Exception:
            self._preconnected = None
        finally:
            event, self._preconnecting = self._preconnecting, None
            event.set()

    def _http_client(self) -> Any:
        """The HTTP client (httpx2) whose pool the SDK's requests use, or None."""
        return getattr(self._client, "_client", None)

    def _base_url(self) -> str:
        return str(getattr(self._client, "base_url", "") or self.endpoint.base_url or "")

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
        return self.endpoint.failure(fault, partial=partial, attempts=attempts)

    async def aclose(self) -> None:
        """Close the SDK client and its connections."""
        self._closed = True
        client, self._client = self._client, None
        if client is not None:
            with anyio.CancelScope(shield=True):
                await client.close()
