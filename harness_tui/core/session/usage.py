"""What a session has spent: tokens and dollars, in all and in the current run.

Every response's usage (the session's own, a sub-agent's, a compaction summary's) is
added here and reported as ``USAGE_UPDATED``; each is priced with the model that produced
it, unless the provider already said what it cost.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from harness_tui.core.events import UsageUpdated
from harness_tui.core.messages import TokenUsage
from harness_tui.core.providers.models import ModelChoice


class UsageMeter:
    """The session's running totals of tokens and cost."""

    def __init__(
        self,
        emit: Callable[..., Awaitable[Any]],
        model: Callable[[], ModelChoice],
        context_tokens: Callable[[], int],
    ) -> None:
        """``model``: the conversation's model; ``context_tokens``: its context fill."""
        self._emit = emit
        self._model = model
        self._context_tokens = context_tokens
        self.total = TokenUsage()
        #: Dollars spent in the session, and in the current run (None: no known price).
        self.total_cost_usd: float | None = None
        self.run_cost_usd: float | None = None

    def start_run(self) -> None:
        self.run_cost_usd = None

    async def add(self, usage: TokenUsage, model: ModelChoice | None = None) -> None:
        """Add ``usage`` and report it. ``model``: the model that produced it (a
        sub-agent's own), by default the conversation's."""
        # Priced with the model that produced the usage: a switch waits for a turn
        # boundary, so the conversation's model is still that model here. The
        # conversation's context fill; a sub-agent's usage tells its own.
        context_tokens = usage.context_tokens if model else self._context_tokens()
        model = model or self._model()
        self.total = self.total + usage
        cost = usage.cost_usd if usage.cost_usd is not None else model.cost_usd(usage)
        if cost is not None:
            self.total_cost_usd = (self.total_cost_usd or 0.0) + cost
            self.run_cost_usd = (self.run_cost_usd or 0.0) + cost
        await self._emit(
            UsageUpdated,
            usage=usage,
            total=self.total,
            cost_usd=cost,
            total_cost_usd=self.total_cost_usd,
            context_tokens=context_tokens,
            context_window=model.context_window,
        )
