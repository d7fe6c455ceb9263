"""The usage meter on its own: the totals and dollars a session reports after each
response, priced with the model that produced it."""

from __future__ import annotations

from typing import Any

from harness_tui.core.events import Event, UsageUpdated
from harness_tui.core.messages import TokenUsage
from harness_tui.core.providers.catalogue import Price
from harness_tui.core.providers.models import ModelChoice
from harness_tui.core.session.usage import UsageMeter


def model(name: str, price: Price | None, window: int | None = 100_000) -> ModelChoice:
    return ModelChoice(name, "scripted", lambda: None, window, price)  # type: ignore[arg-type,return-value]


def meter(choice: ModelChoice, fill: int = 500) -> tuple[UsageMeter, list[UsageUpdated]]:
    events: list[UsageUpdated] = []

    async def emit(event_type: type[Event], /, **fields: Any) -> None:
        events.append(event_type(session_id="s", **fields))  # type: ignore[arg-type]

    return UsageMeter(emit, lambda: choice, lambda: fill), events


PRICED = model("priced", Price(input=3.0, output=15.0))  # dollars per million tokens


async def test_each_response_adds_to_the_totals_and_the_cost() -> None:
    usage, events = meter(PRICED)
    usage.start_run()
    await usage.add(TokenUsage(input_tokens=1_000_000, output_tokens=0))
    await usage.add(TokenUsage(input_tokens=0, output_tokens=100_000))
    assert [(e.cost_usd, e.total_cost_usd) for e in events] == [(3.0, 3.0), (1.5, 4.5)]
    assert usage.total == TokenUsage(input_tokens=1_000_000, output_tokens=100_000)
    assert events[-1].total == usage.total
    assert usage.run_cost_usd == 4.5 and usage.total_cost_usd == 4.5
    usage.start_run()  # a run's cost starts again; the session's goes on
    assert usage.run_cost_usd is None and usage.total_cost_usd == 4.5


async def test_the_conversations_fill_or_a_sub_agents_own() -> None:
    usage, events = meter(PRICED, fill=1234)
    await usage.add(TokenUsage(input_tokens=10, output_tokens=5))
    child = model("child", Price(input=1.0, output=1.0), window=8_000)
    await usage.add(TokenUsage(input_tokens=2_000, output_tokens=0), child)
    assert [(e.context_tokens, e.context_window) for e in events] == [
        (1234, 100_000),  # the session's context count
        (2_000, 8_000),  # the sub-agent's request, in its model's window
    ]
    assert events[1].cost_usd == 2_000 * 1.0 / 1e6


async def test_a_cost_the_provider_reports_wins_and_no_price_is_no_cost() -> None:
    usage, events = meter(PRICED)
    await usage.add(TokenUsage(input_tokens=1_000_000, cost_usd=0.01))
    assert events[0].cost_usd == 0.01
    free, free_events = meter(model("unpriced", None))
    await free.add(TokenUsage(input_tokens=50, output_tokens=50))
    assert free_events[0].cost_usd is None and free.total_cost_usd is None
    assert free.total.input_tokens == 50
