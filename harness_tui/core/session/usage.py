"""What a session has spent: tokens and dollars, in all and in the current run.

Every response's usage (the session's own, a sub-agent's, a compaction summary's) is
added here and reported as ``USAGE_UPDATED``; each is priced with the model that produced
it, unless the provider already said what it cost. The meter also holds the dollar
budgets (``run.budget``) and says whether the next request would pass one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from harness_tui.core.events import Notice, UsageUpdated
from harness_tui.core.messages import TokenUsage
from harness_tui.core.providers.models import ModelChoice
from harness_tui.core.run.budget import BudgetLimits, BudgetStop, check_spend


class UsageMeter:
    """The session's running totals of tokens and cost."""

    def __init__(
        self,
        emit: Callable[..., Awaitable[Any]],
        model: Callable[[], ModelChoice],
        context_tokens: Callable[[], int],
        limits: BudgetLimits | None = None,
    ) -> None:
        """``model``: the conversation's model; ``context_tokens``: its context fill;
        ``limits``: the run's and the session's dollar budgets."""
        self._emit = emit
        self._model = model
        self._context_tokens = context_tokens
        self.total = TokenUsage()
        #: Dollars spent in the session, and in the current run (None: no known price).
        self.total_cost_usd: float | None = None
        self.run_cost_usd: float | None = None
        self.limits = limits or BudgetLimits()
        #: Models already named in a warning that the budget cannot count their usage.
        self._unpriced: set[str] = set()

    def start_run(self) -> None:
        self.run_cost_usd = None

    def over_budget(self, next_estimate: float) -> BudgetStop | None:
        """The budget a request expected to cost ``next_estimate`` would pass (None:
        it may go)."""
        if not self.limits.any:
            return None
        spent, total = self.run_cost_usd or 0.0, self.total_cost_usd or 0.0
        return check_spend(self.limits, spent, total, next_estimate)

    async def add(self, usage: TokenUsage, model: ModelChoice | None = None) -> float | None:
        """Add ``usage`` and report it; what it cost (None: no known price).
        ``model``: the model that produced it (a sub-agent's own), by default the
        conversation's."""
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
        elif self.limits.any and model.name not in self._unpriced:
            self._unpriced.add(model.name)
            await self._emit(
                Notice,
                message=f"{model.name} has no known price, so the budget does not count "
                "its usage; give it one under models: in your settings "
                "(e.g. {price: {input: 3, output: 15}}, dollars per million tokens)",
                level="warning",
            )
        await self._emit(
            UsageUpdated,
            usage=usage,
            total=self.total,
            cost_usd=cost,
            total_cost_usd=self.total_cost_usd,
            context_tokens=context_tokens,
            context_window=model.context_window,
        )
        return cost
