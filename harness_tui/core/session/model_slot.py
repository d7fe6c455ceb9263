"""The model a session talks to: its choice, its provider, a spare warmed for a switch.

A switch during a run waits for the next turn boundary (``pending``); a provider is built
when first needed, or earlier in the background (``warm``) so the first request is not
the slow one. A provider let go of is closed.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import anyio

from harness_tui.core.events import ModelChanged
from harness_tui.core.providers.base import Provider, close_provider
from harness_tui.core.providers.models import ModelChoice
from harness_tui.core.providers.offline.demo import KEY_HELP

log = logging.getLogger(__name__)

DEMO_NOTICE = "You are on the offline demo model: it plays a script and reads no key. " + KEY_HELP


class ModelSlot:
    """The current model and its provider (built once, kept until a switch)."""

    def __init__(
        self,
        model: str | ModelChoice,
        *,
        resolve: Callable[[str], ModelChoice],
        emit: Callable[..., Awaitable[Any]],
        warm_up: bool = False,
    ) -> None:
        self._resolve = resolve
        self.choice = self.choose(model)
        self._emit = emit
        self.provider: Provider | None = None
        #: A provider warmed for a model the user may switch to (the picker's row).
        self.spare: tuple[str, Provider] | None = None
        #: A switch asked for during a run, applied at the next turn boundary.
        self.pending: ModelChoice | None = None
        #: The model to go back to when the run ends (a slash command's run on a model
        #: of its own).
        self.after_run: ModelChoice | None = None
        self.warm_up = warm_up
        #: The warm-ups under way, cancelled when the session closes.
        self.warming: set[anyio.CancelScope] = set()
        self._group: anyio.abc.TaskGroup | None = None

    def current(self) -> Provider:
        """The current model's provider, built if need be."""
        if self.provider is None:
            self.provider = self.choice.create()
        return self.provider

    def notices(self) -> list[str]:
        """What the user should know of the model when the session opens."""
        return [DEMO_NOTICE] if self.choice.is_demo else []

    def choose(self, name: str | ModelChoice) -> ModelChoice:
        return name if isinstance(name, ModelChoice) else self._resolve(name)

    async def switch(self, name: str | ModelChoice, *, wait: bool) -> ModelChoice:
        """Switch to ``name`` now, or (``wait``: a run is active) at the next turn
        boundary."""
        choice = self.choose(name)
        if wait:
            self.pending = choice
        else:
            await self.apply(choice)
        return choice

    async def for_turn(self) -> Provider:
        """At a turn boundary: apply a switch that waited for it; the provider."""
        if self.pending is not None:
            choice, self.pending = self.pending, None
            await self.apply(choice)
        return self.current()

    async def apply(self, choice: ModelChoice) -> None:
        """Switch now (``MODEL_CHANGED``); the old provider is closed."""
        previous = self.choice.name
        warmed = None
        if self.spare is not None and self.spare[0] == choice.name:
            warmed, self.spare = self.spare[1], None
        old_provider, self.choice, self.provider = self.provider, choice, warmed
        # The history needs no conversion here: each adapter renders the neutral
        # history for its own API on every request (see providers/history.py).
        await close_provider(old_provider)
        if self.warm_up and warmed is None:
            self.warm_soon()
        await self._emit(
            ModelChanged, model=choice.name, provider=choice.provider, previous_model=previous
        )

    async def switch_for_run(self, name: str) -> None:
        """Switch to ``name`` now, and back when the run that is starting ends."""
        previous = self.choice
        await self.switch(name, wait=False)
        self.after_run = previous

    async def end_run(self) -> None:
        """A run ended: go back from a model chosen for it alone (unless the user chose
        another meanwhile)."""
        previous, self.after_run = self.after_run, None
        if previous is not None and self.pending is None:
            await self.apply(previous)

    def open(self, group: anyio.abc.TaskGroup) -> None:
        self._group = group

    def warm_soon(self, model: str | ModelChoice | None = None) -> None:
        """``warm`` in the background (nothing when the session is not open)."""
        if self._group is not None:
            self._group.start_soon(self._warm_quietly, model)

    async def _warm_quietly(self, model: str | ModelChoice | None) -> None:
        with anyio.CancelScope() as scope:
            self.warming.add(scope)
            try:
                await self.warm(model)
            finally:
                self.warming.discard(scope)

    async def warm(self, model: str | ModelChoice | None = None) -> None:
        """Get a provider ready before a request needs it: the current model's, or
        ``model``'s (one the user is about to switch to, kept until the switch or until
        another is warmed). Quiet: a model that cannot be used says so when it is
        chosen or a prompt is sent, as it would have anyway."""
        try:
            name = model.name if isinstance(model, ModelChoice) else model
            if name is None or name == self.choice.name:
                provider = self.current()
            elif self.spare is not None and self.spare[0] == name:
                provider = self.spare[1]
            else:
                choice = self.choose(model if isinstance(model, ModelChoice) else name)
                old, self.spare = self.spare, (choice.name, choice.create())
                provider = self.spare[1]
                if old is not None:
                    await close_provider(old[1])
        except Exception:
            log.debug("warming %s failed", model or self.choice.name, exc_info=True)
            return
        ready = getattr(provider, "warm", None)
        if ready is not None:
            await ready()

    def stop_warming(self) -> None:
        """Cancel the warm-ups under way and start no more (the session is closing)."""
        self._group = None
        for scope in self.warming:
            scope.cancel()

    async def aclose(self) -> None:
        """Close every provider."""
        provider, self.provider = self.provider, None
        await close_provider(provider)
        spare, self.spare = self.spare, None
        if spare is not None:
            await close_provider(spare[1])
