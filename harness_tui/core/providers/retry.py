"""Bounded retries with backoff, shared by every SDK adapter.

An adapter supplies one *attempt*: an async generator that opens the stream and yields
chunks, raising when something breaks. ``stream_with_retries`` runs attempts until one
finishes. A failure before any content was yielded is retried when its kind allows it
(429, 5xx, overloaded, connection, timeout, a broken stream), after a ``RetryNotice``
and a pause that honours ``retry-after``. A failure after content, or the last one, ends
the stream with ``StreamFailed``: the content already shown is never replayed twice.
"""

from __future__ import annotations

import random
from collections.abc import AsyncGenerator, Callable
from contextlib import aclosing

import anyio
from pydantic import BaseModel, ConfigDict, Field

from harness_tui.core.providers.base import (
    RetryNotice,
    StreamChunk,
    StreamFailed,
    TextChunk,
    ThinkingChunk,
    ThinkingSignature,
    ToolCallArgs,
    ToolCallBegin,
)
from harness_tui.core.providers.faults import MAX_RETRY_AFTER_S, Fault

#: Chunks that the user or the history has seen: after one of these, no retry.
_CONTENT = frozenset({TextChunk, ThinkingChunk, ThinkingSignature, ToolCallBegin, ToolCallArgs})


class RetryPolicy(BaseModel):
    """How often and how patiently to retry (``retry`` in a provider's settings)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: Attempts in all, the first one included.
    max_attempts: int = Field(default=4, ge=1, le=20)
    #: Pause before the first retry; it doubles for each further one.
    base_delay: float = Field(default=1.0, ge=0)
    max_delay: float = Field(default=30.0, ge=0)

    def delay(self, retry: int, retry_after: float | None) -> float:
        """Seconds to wait before retry number ``retry`` (1 for the first)."""
        if retry_after is not None:
            return min(retry_after, MAX_RETRY_AFTER_S)
        backoff = min(self.max_delay, self.base_delay * 2 ** (retry - 1))
        # Jitter, so that many sessions hit by the same outage do not retry in step.
        return backoff * random.uniform(0.8, 1.0)


Attempt = Callable[[], AsyncGenerator[StreamChunk, None]]


async def stream_with_retries(
    attempt: Attempt,
    classify: Callable[[BaseException], Fault],
    policy: RetryPolicy,
    describe: Callable[[Fault, bool, int], StreamFailed],
) -> AsyncGenerator[StreamChunk, None]:
    """Yield the chunks of the first attempt that gets through; see the module doc.

    ``describe(fault, partial, attempts)`` words the final failure.
    """
    tries = 0
    while True:
        tries += 1
        started = False
        try:
            async with aclosing(attempt()) as chunks:
                async for chunk in chunks:
                    if not started and type(chunk) in _CONTENT:
                        started = True
                    yield chunk
            return
        except anyio.get_cancelled_exc_class():
            raise
        except Exception as exc:
            fault = classify(exc)
        too_long = fault.retry_after is not None and fault.retry_after > MAX_RETRY_AFTER_S
        if started or not fault.retryable or tries >= policy.max_attempts or too_long:
            yield describe(fault, started, tries)
            return
        delay = policy.delay(tries, fault.retry_after)
        yield RetryNotice(
            attempt=tries + 1,
            max_attempts=policy.max_attempts,
            delay_s=round(delay, 3),
            reason=fault.reason,
            status_code=fault.status_code,
        )
        await anyio.sleep(delay)
