"""A run's owner without a session: what ``TurnHost`` and ``RunController`` take from
one (``turn_host.RunOwner``), recording what they hand it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness_tui.core.config.settings import Settings
from harness_tui.core.event_store import EventStore
from harness_tui.core.events import Event
from harness_tui.core.hooks.pipeline import HookPipeline
from harness_tui.core.images.store import ImageStore
from harness_tui.core.messages import TokenUsage
from harness_tui.core.permissions.engine import PermissionBroker, PermissionEngine
from harness_tui.core.providers.models import ModelChoice
from harness_tui.core.providers.offline.scripted import Reply, ScriptedProvider
from harness_tui.core.run.budget import BudgetLimits, BudgetStop, check_spend
from harness_tui.core.tools.base import Tool
from harness_tui.core.tools.executor import ToolExecutor


class Owner:
    """A ``RunOwner`` whose events go to ``store`` and whose usage is listed."""

    def __init__(self, cwd: Path, *replies: Reply, tools: list[Tool] | None = None) -> None:
        self.id = "ses_owner"
        self.cwd = cwd
        self.mode = "default"
        self.max_turns = 5
        self.store = EventStore()
        self.provider = ScriptedProvider(list(replies))
        self.model = ModelChoice("scripted", "scripted", lambda: self.provider)
        self.settings = Settings()
        self.hooks = HookPipeline(emit=self.emit, session_id=self.id, cwd=cwd)
        self.permission_engine = PermissionEngine(PermissionBroker(self.emit, "deny"), cwd=cwd)
        self.executor = ToolExecutor(tools or [])
        self.images = ImageStore(None)
        #: The run its events belong to (a controller's, in the controller's tests).
        self.current_run: Callable[[], str | None] = lambda: "run_owner"
        self.halt: str | None = None
        self.usage: list[tuple[TokenUsage, ModelChoice | None]] = []
        self.budget_usd: float | None = None

    @property
    def run_id(self) -> str | None:
        return self.current_run()

    async def emit(self, event_type: type, /, **fields: Any) -> Event:
        return await self.store.append(event_type(session_id=self.id, run_id=self.run_id, **fields))

    async def add_usage(self, usage: TokenUsage, model: ModelChoice | None = None) -> float | None:
        self.usage.append((usage, model))
        return usage.cost_usd

    def over_budget(self, next_estimate: float) -> BudgetStop | None:
        """Spent (the usage's own costs) plus ``next_estimate`` against ``budget_usd``."""
        spent = sum(u.cost_usd or 0.0 for u, _ in self.usage)
        return check_spend(BudgetLimits(run_usd=self.budget_usd), spent, spent, next_estimate)

    def halt_requested(self) -> str | None:
        return self.halt

    def events(self) -> list[Event]:
        return [e for e in self.store.replay(0) if isinstance(e, Event)]

    def types(self) -> list[str]:
        return [e.type for e in self.events()]


class Models:
    """A ``ProviderSource`` of one model, counting its turns."""

    def __init__(self, owner: Owner) -> None:
        self.choice = owner.model
        self.turns = 0

    async def for_turn(self) -> ScriptedProvider:
        self.turns += 1
        return self.choice.create()  # type: ignore[return-value]
