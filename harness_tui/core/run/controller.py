"""Runs of a session, one at a time: starting one, chaining the messages queued
meanwhile, cancelling.

A prompt starts a run; while it is active, a *steer* waits for the next turn boundary
(the loop delivers it) and a *follow-up* for the run's end, when it starts a run of its
own. A cancel stops the run and everything it started, and hands the queued messages
back. Each run reports ``PROMPT_RECEIVED`` first and ``RUN_COMPLETED`` or
``RUN_CANCELLED`` last, whatever happens in between (a crash too).
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from contextlib import aclosing
from typing import Protocol

import anyio

from harness_tui.core.errors import HarnessError, SessionBusyError
from harness_tui.core.event_store import EventStore
from harness_tui.core.events import (
    RUN_END_TYPES,
    AgentEvent,
    Error,
    PromptReceived,
    RunCancelled,
    RunCompleted,
    SteeringDelivered,
    SteeringQueued,
    SteeringWithdrawn,
    new_id,
)
from harness_tui.core.hooks.fire import stop_failure
from harness_tui.core.hooks.pipeline import HookOutcome
from harness_tui.core.messages import ImageBlock, Message, TextBlock, TokenUsage, UserMessage
from harness_tui.core.run.loop import AgentLoop, RunOutcome
from harness_tui.core.run.steering import QueuedMessage
from harness_tui.core.run.turn_host import TurnHost

log = logging.getLogger(__name__)


class RunCost(Protocol):
    """The dollars a run spends (the session's ``UsageMeter``)."""

    run_cost_usd: float | None

    def start_run(self) -> None: ...


class RunController:
    """Starts and cancels the runs of one conversation (``turns``)."""

    def __init__(
        self,
        turns: TurnHost,
        cost: RunCost,
        *,
        prompt_message: Callable[[QueuedMessage, bool, HookOutcome], Awaitable[Message]],
        after_run: Callable[[], Awaitable[None]],
        on_cancel: Callable[[], None],
        require_open: Callable[[], None],
        after_prompt: Callable[[str | None], Awaitable[object]] | None = None,
    ) -> None:
        """``prompt_message``: the prompt (a follow-up when the flag is set) as the model
        gets it, with what it mentions attached; ``after_run``: when a run has ended,
        before its last event; ``on_cancel``: when a run is cancelled (questions to
        the user are dropped); ``require_open``: raises when the session cannot start a run;
        ``after_prompt``: the prompt is in the conversation (its entry id): the
        checkpoint before it."""
        self.turns = turns
        self.steering = turns.steering
        self._cost = cost
        self._prompt_message = prompt_message
        self._after_run = after_run
        self._on_cancel = on_cancel
        self._require_open = require_open
        self._after_prompt = after_prompt
        #: The active run (None when idle): a plain attribute, read for every event.
        self.run_id: str | None = None
        #: The session is closing: a cancel keeps the queue (the file has it).
        self.closing = False
        self._group: anyio.abc.TaskGroup | None = None
        self._scope: anyio.CancelScope | None = None
        self._runner_done = anyio.Event()
        self._returned: list[QueuedMessage] = []

    @property
    def running(self) -> bool:
        return self.run_id is not None

    def open(self, group: anyio.abc.TaskGroup) -> None:
        """Runs start as tasks of ``group`` (the session's)."""
        self._group = group

    def submit(
        self, text: str, images: tuple[ImageBlock, ...] = (), run_id: str | None = None
    ) -> str:
        """Start a run with ``text`` (and ``images``); its id (``run_id`` when given: a
        durable run's, named before it started). Raises ``SessionBusyError`` while a
        run is active."""
        text = check_prompt(text, images)
        if self.running:
            raise SessionBusyError(
                "a run is already active", hint="steer it, queue a follow-up, or cancel it first"
            )
        return self.start(text, images, run_id)

    def start(
        self, text: str, images: tuple[ImageBlock, ...] = (), run_id: str | None = None
    ) -> str:
        """Start a run with ``text`` (and ``images``); its id."""
        self._require_open()
        assert self._group is not None
        run_id = run_id or new_id("run")
        # Marked running before the task starts, so a steer right after submit queues.
        self.run_id = run_id
        self._scope = anyio.CancelScope()
        self._runner_done = anyio.Event()
        self._returned = []
        prompt = QueuedMessage(new_id("prompt"), text, "follow_up", tuple(images))
        self._group.start_soon(self._runner, prompt, False)
        return run_id

    async def enqueue(
        self,
        text: str,
        kind: str,
        images: tuple[ImageBlock, ...] = (),
        item_id: str | None = None,
    ) -> QueuedMessage | None:
        """Queue ``text`` (and ``images``) for the active run (``SteeringQueued``), or
        start a run with it when idle (None). ``item_id``: its id, given by the sender."""
        text = check_prompt(text, images)
        if not self.running:
            self.start(text, images)
            return None
        item = self.steering.add(text, kind, tuple(images), item_id)  # type: ignore[arg-type]
        await self.turns.emit(SteeringQueued, **item.fields)
        return item

    async def wait_idle(self) -> None:
        """Until no run is active (the last queued follow-up's run has ended too)."""
        if self.running:
            await self._runner_done.wait()

    async def pull_back(self, steering_id: str | None = None) -> QueuedMessage | None:
        item = self.steering.pull_back(steering_id)
        if item is not None:
            await self._withdrawn(item, "pulled_back")
        return item

    async def cancel(self) -> list[QueuedMessage]:
        """Stop the active run; the messages that were still queued, once it ended."""
        if not self.running:
            return []
        done = self._runner_done
        assert self._scope is not None
        self._scope.cancel()
        await done.wait()
        return list(self._returned)

    async def stream(
        self, store: EventStore, prompt: str, images: tuple[ImageBlock, ...] = ()
    ) -> AsyncGenerator[AgentEvent, None]:
        """Start a run with ``prompt`` and yield every event of ``store`` until it ends
        (``RUN_COMPLETED`` or ``RUN_CANCELLED``). Leaving the loop early cancels it."""
        self._require_open()
        sub = store.subscribe("run", queue_size=10_000)
        run_id: str | None = None
        try:
            run_id = self.submit(prompt, images)
            async with aclosing(store.stream(sub)) as events:
                async for event in events:
                    yield event  # type: ignore[misc]
                    if event.type in RUN_END_TYPES and event.run_id == run_id:  # type: ignore[union-attr]
                        return
        finally:
            store.unsubscribe(sub)
            if run_id is not None and self.run_id == run_id:
                with anyio.CancelScope(shield=True):
                    await self.cancel()

    async def _withdrawn(self, item: QueuedMessage, reason: str) -> None:
        await self.turns.emit(SteeringWithdrawn, **item.fields, reason=reason)

    async def _runner(self, prompt: QueuedMessage, queued: bool) -> None:
        """Runs the prompt, then each message still queued, one run each (``queued``:
        ``prompt`` came from the queue)."""
        try:
            while True:
                if await self._run_once(prompt, queued):
                    return  # cancelled: the queue went back to the user
                nxt = self.steering.take_next()
                if nxt is None:
                    return
                prompt, queued = nxt, True
                self.run_id = new_id("run")
                self._scope = anyio.CancelScope()
        finally:
            self.run_id = None
            self._scope = None
            self._runner_done.set()

    async def _run_once(self, prompt: QueuedMessage, queued: bool) -> bool:
        """One run; True when it was cancelled."""
        turns, emit = self.turns, self.turns.emit
        started = time.perf_counter()
        loop = AgentLoop(turns, turns.owner.max_turns)
        self._cost.start_run()
        scope = self._scope
        assert scope is not None
        outcome = crash = None
        turns.start_run()
        with scope:
            text = prompt.text
            await emit(
                PromptReceived,
                text=text,
                source="follow_up" if queued else "user",
                images=prompt.images,
            )
            hooked = await turns.owner.hooks.run("UserPromptSubmit", {"prompt": text})
            if queued:
                await emit(SteeringDelivered, **prompt.fields, turn=1)
            try:
                if hooked.blocked or hooked.stop:
                    reason = "prompt_blocked" if hooked.blocked else "stopped_by_hook"
                    outcome = RunOutcome(reason, 0, "", TokenUsage())
                else:
                    turns.messages.append(await self._prompt_message(prompt, queued, hooked))
                    if self._after_prompt is not None:
                        await self._after_prompt(getattr(turns.messages, "head", None))
                    outcome = await loop.run()
                    if outcome.error is not None:
                        await stop_failure(
                            turns.owner.hooks, outcome.error_code, outcome.error, turns.messages
                        )
            except Exception as exc:  # a bug, not a provider or tool failure
                crash = exc
        duration_ms = (time.perf_counter() - started) * 1e3
        # Returned after the shielded block: mypy cannot know that a scope nobody
        # cancels never swallows an exception, and would see a path without a return.
        cancelled = outcome is None and crash is None
        with anyio.CancelScope(shield=True):
            await self._after_run()
            if outcome is not None:
                await emit(
                    RunCompleted,
                    stop_reason=outcome.stop_reason,
                    turns=outcome.turns,
                    duration_ms=duration_ms,
                    result=outcome.result,
                    is_error=outcome.error is not None,
                    error=outcome.error,
                    usage=outcome.usage,
                    cost_usd=self._cost.run_cost_usd,
                )
            elif crash is not None:
                log.error("run failed", exc_info=crash)
                message = f"internal error: {type(crash).__name__}: {crash}"
                await loop.finish_interrupted("not run: the run stopped on an internal error")
                await emit(
                    Error,
                    message=message,
                    code="internal_error",
                    fatal=True,
                    hint="this is a bug in harness-tui; the session is still usable",
                )
                await emit(
                    RunCompleted,
                    stop_reason="error",
                    turns=loop.turn,
                    duration_ms=duration_ms,
                    result="",
                    is_error=True,
                    error=message,
                    usage=loop.usage,
                    cost_usd=self._cost.run_cost_usd,
                )
            else:
                await loop.finish_interrupted()
                self._on_cancel()
                self._returned = [] if self.closing else self.steering.drain()
                for item in self._returned:
                    await self._withdrawn(item, "cancelled")
                await emit(RunCancelled, turns=loop.turn, duration_ms=duration_ms)
        return cancelled


def prompt_message(
    prompt: QueuedMessage,
    queued: bool,
    hooked: HookOutcome,
    attached: Sequence[tuple[str, str]] = (),
) -> UserMessage:
    """The prompt as the model gets it, with its images (those it was sent with and
    those its ``@`` mentions name: see ``Session.submit``), context added by
    UserPromptSubmit hooks and the contents of the files and MCP resources it mentions
    (``attached``)."""
    message = UserMessage.of(prompt.text, "follow_up" if queued else "prompt", prompt.images)
    added = [
        TextBlock(text=f"[contents of {mention}]\n{contents}") for mention, contents in attached
    ]
    if hooked.context:
        added.append(
            TextBlock(text=f"[context from a UserPromptSubmit hook]\n{hooked.additional_context}")
        )
    if not added:
        return message
    return message.model_copy(update={"content": (*message.content, *added)})


def check_prompt(text: str, images: Sequence[ImageBlock] = ()) -> str:
    if not isinstance(text, str) or not (text.strip() or images):
        raise HarnessError("the prompt is empty", hint="type something for the model to do")
    return text
