"""The agent loop: one run, turn by turn.

    turn: stream one response -> run its tool calls -> append the results
          -> deliver steering messages -> continue, or stop

It stops when a response asks for no tools and no steering message is waiting, at a
budget (``max_turns``, or dollars: the next request would pass a budget; see ``budget``),
on a provider failure, or when cancelled (the cancel scope belongs to the
run controller, which then calls ``finish_interrupted`` so the history stays a valid
request). Everything the loop learns leaves through ``host.emit``; everything it needs
comes from the ``LoopHost`` (a ``turn_host.TurnHost``: the session's conversation or a
sub-agent's), so tests drive it with a scripted provider.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any, Protocol

import anyio
from anyio.lowlevel import checkpoint_if_cancelled

from harness_tui.core.events import (
    BudgetExceeded,
    Error,
    MessageCompleted,
    SteeringDelivered,
    ToolCallStarted,
    new_id,
)
from harness_tui.core.messages import (
    AssistantMessage,
    Message,
    TokenUsage,
    ToolCallBlock,
    ToolResultMessage,
    UserMessage,
)
from harness_tui.core.providers.base import (
    CONTEXT_OVERFLOW,
    ModelRequest,
    Provider,
    StreamFailed,
)
from harness_tui.core.run.budget import BudgetStop
from harness_tui.core.run.message_builder import MessageBuilder
from harness_tui.core.run.steering import SteeringQueue
from harness_tui.core.tools.base import CallTiming, ToolContext, ToolResult
from harness_tui.core.tools.executor import ToolExecutor

CANCELLED_RESULT = "cancelled by user"

#: Stop reasons of a response that is not a finished answer: the error's message, code
#: and hint. Refused answers are also left out of later requests (``history.REFUSALS``).
UNFINISHED_STOPS: dict[str, tuple[str, str, str]] = {
    "refusal": (
        "the model declined to answer this request (stop reason: refusal)",
        "refusal",
        "rephrase the request or ask for something else; the refused answer is not sent "
        "back to the model",
    ),
    "content_filter": (
        "the provider's content filter stopped the answer (finish reason: content_filter)",
        "content_filter",
        "rephrase the request; the filtered answer is not sent back to the model",
    ),
    "max_tokens": (
        "the answer was cut off at the model's output limit (stop reason: max_tokens)",
        "max_tokens",
        "ask the model to continue in smaller steps, or raise max_output for this model "
        "under models: in your settings",
    ),
    "model_context_window_exceeded": (
        "the answer was cut off: the model's context window is full "
        "(stop reason: model_context_window_exceeded)",
        "context_overflow",
        "/compact the conversation or start a new one",
    ),
}


class LoopHost(Protocol):
    """What the loop needs from its owner each turn (see ``turn_host.TurnHost``)."""

    @property
    def messages(self) -> list[Message]:
        """The conversation; the loop appends to it (a session's ``History`` records
        each message as it goes) but never replaces it."""
        ...

    executor: ToolExecutor
    steering: SteeringQueue

    async def emit(self, event_type: type, /, **fields: Any) -> Any: ...

    async def begin_turn(self) -> Provider:
        """Turn boundary: apply a queued model switch; return the provider to call."""
        ...

    def build_request(self, provider: Provider) -> ModelRequest: ...

    def tool_context(self, tool_call_id: str) -> ToolContext: ...

    async def record_usage(self, usage: TokenUsage) -> None: ...

    def over_budget(self) -> BudgetStop | None:
        """Turn boundary, before the request: the dollar budget that the next request
        would pass (None: it may go)."""
        ...

    async def stop_requested(self) -> str | None:
        """The run is about to end; a text to continue with instead (a Stop hook)."""
        ...

    def halt_requested(self) -> str | None:
        """After a turn's tools: a reason to end the run now (a hook said
        ``continue: false``), or None to go on."""
        ...

    async def after_tools(
        self, calls: Sequence[ToolCallBlock], results: Sequence[ToolResultMessage]
    ) -> None:
        """All tool calls of one answer have their results (``PostToolBatch``)."""
        ...

    async def recover_from_overflow(self, provider: Provider) -> bool:
        """The provider refused the request as longer than its context window: make
        the history shorter (compact it); True when the request may be tried again."""
        ...


@dataclass(frozen=True, slots=True)
class RunOutcome:
    stop_reason: str
    turns: int
    result: str
    usage: TokenUsage
    error: str | None = None
    #: The failure's code (``providers.faults``, or an unfinished answer's stop).
    error_code: str | None = None


class AgentLoop:
    """One run. ``run()`` drives it; ``finish_interrupted()`` tidies up after a cancel."""

    def __init__(self, host: LoopHost, max_turns: int) -> None:
        self.host = host
        self.max_turns = max_turns
        self.turn = 0
        self.usage = TokenUsage()
        self._last_text = ""
        # State a cancel has to clean up: the response being streamed, and the tool
        # calls of the last response that have no result in the history yet.
        self._builder: MessageBuilder | None = None
        self._open_calls: Sequence[ToolCallBlock] = ()
        self._results: dict[str, ToolResultMessage] = {}
        #: Each running call's context, whose timing the call's result reports.
        self._contexts: dict[str, ToolContext] = {}
        self._input_errors: dict[str, str] = {}

    def _outcome(
        self, stop_reason: str, error: str | None = None, code: str | None = None
    ) -> RunOutcome:
        return RunOutcome(stop_reason, self.turn, self._last_text, self.usage, error, code)

    async def run(self) -> RunOutcome:
        host = self.host
        overflow_recovered = False
        while True:
            over = self._over_budget()
            if over is not None:
                await host.emit(BudgetExceeded, **over.fields())
                return self._outcome(over.stop_reason)
            self.turn += 1
            provider = await host.begin_turn()
            message, failure = await self._stream(provider)
            if (
                failure is not None
                and failure.code == CONTEXT_OVERFLOW
                and message is None
                and not overflow_recovered
            ):
                # Our estimate missed (or the window setting is wrong): compact, retry once.
                overflow_recovered = True
                if await host.recover_from_overflow(provider):
                    self.turn -= 1
                    continue
            if failure is not None:
                await host.emit(
                    Error, message=failure.message, code=failure.code, hint=failure.hint, fatal=True
                )
                return self._outcome("error", failure.message, failure.code)
            stop = message.stop_reason if message is not None else None
            if stop in UNFINISHED_STOPS:
                # The answer is not one: say so, and end the run as failed. Its tool calls
                # (perhaps cut off half-way) are not run.
                text, code, hint = UNFINISHED_STOPS[stop]
                await host.emit(Error, message=text, code=code, hint=hint, fatal=True)
                return self._outcome(stop, text, code)
            if stop == "pause_turn" and message is not None and not message.tool_calls:
                continue  # the provider paused a long turn: send it back to go on
            calls = message.tool_calls if message else ()
            if calls and message is not None:  # (calls implies a message; for mypy)
                await self._run_tools(message.id, calls, self._input_errors)
                await host.after_tools(calls, [self._results[call.id] for call in calls])
                if host.halt_requested() is not None:
                    return self._outcome("stopped_by_hook")
            if await self._deliver_steering() or calls:
                continue
            reason = await host.stop_requested()
            if reason is None:
                return self._outcome(
                    message.stop_reason if message and message.stop_reason else "end_turn"
                )
            host.messages.append(UserMessage.of(reason, "steering"))

    def _over_budget(self) -> BudgetStop | None:
        if self.turn >= self.max_turns:
            return BudgetStop("turns", self.max_turns, self.turn)
        return self.host.over_budget()

    async def _stream(
        self, provider: Provider
    ) -> tuple[AssistantMessage | None, StreamFailed | None]:
        host = self.host
        builder = MessageBuilder(new_id("msg"), provider.name, provider.model, host.emit)
        self._builder = builder
        add = builder.add
        failure: StreamFailed | None = None
        count = 0
        try:
            async with aclosing(provider.stream(host.build_request(provider))) as chunks:
                async for chunk in chunks:
                    # A stream with data at hand never suspends, and a task that never
                    # suspends is never cancelled: look for a cancel every few chunks.
                    count += 1
                    if not count % 4:
                        await checkpoint_if_cancelled()
                    emission = add(chunk)
                    if emission is not None:
                        await emission
                    elif builder.failure is not None:
                        failure = builder.failure
                        break
        except anyio.get_cancelled_exc_class():
            raise
        except Exception as exc:  # an adapter bug or an SDK error it did not translate
            failure = StreamFailed(
                f"the {provider.name} response stream broke: {type(exc).__name__}: {exc}",
                "provider_exception",
            )
        self._builder = None
        if failure is None:
            message = builder.build()
            if message is not None and message.stop_reason in UNFINISHED_STOPS:
                message = _without_calls(message)  # an unfinished answer's calls never run
        else:
            # Keep what arrived; tool calls of a failed response are never run.
            message = _without_calls(builder.build(interrupted=True, stop_reason="error"))
        self._input_errors = dict(builder.input_errors)
        await self._complete(message)
        if builder.usage is not None:
            self.usage = self.usage + builder.usage
            await host.record_usage(builder.usage)
        return message, failure

    async def _complete(self, message: AssistantMessage | None) -> None:
        if message is None:
            return
        self.host.messages.append(message)
        # From here on its tool calls are owed a result, whatever happens next.
        self._open_calls, self._results = message.tool_calls, {}
        if message.text:
            self._last_text = message.text
        await self.host.emit(MessageCompleted, message=message, turn=self.turn)

    async def _run_tools(
        self, message_id: str, calls: Sequence[ToolCallBlock], input_errors: dict[str, str]
    ) -> None:
        for batch in _batches(calls, self.host.executor.concurrency_safe):
            if len(batch) == 1:
                await self._run_call(batch[0], message_id, input_errors)
                continue
            async with anyio.create_task_group() as group:
                for call in batch:
                    group.start_soon(self._run_call, call, message_id, input_errors)
        self.host.messages.extend(self._results[call.id] for call in calls)
        self._open_calls = ()

    async def _run_call(
        self, call: ToolCallBlock, message_id: str, input_errors: dict[str, str]
    ) -> None:
        host = self.host
        ctx = self._contexts[call.id] = host.tool_context(call.id)
        await host.emit(
            ToolCallStarted,
            tool_call_id=call.id,
            tool_name=call.name,
            input=call.input,
            message_id=message_id,
        )
        problem = input_errors.get(call.id)
        if problem:
            result = ToolResult.error(
                f"{problem}. Call {call.name} again with a valid JSON object.", "invalid_input"
            )
        else:
            result = await host.executor.execute(call, ctx)
        await self._record_result(call, result)

    async def _record_result(self, call: ToolCallBlock, result: ToolResult) -> None:
        # The tool's own run time; the wait for a permission answer is reported apart.
        ctx = self._contexts.pop(call.id, None)
        timing = ctx.timing if ctx is not None else CallTiming()
        event_type, fields = result.to_event(call.id, call.name, timing)
        await self.host.emit(event_type, **fields)
        self._results[call.id] = result.to_message(call.id, call.name)

    async def _deliver_steering(self) -> bool:
        steers = self.host.steering.take_steers()
        if not steers:
            return False
        # Into the history first, all at once: a cancel landing between two events must
        # not lose a message that already left the queue.
        self.host.messages.extend(UserMessage.of(m.text, "steering", m.images) for m in steers)
        with anyio.CancelScope(shield=True):
            for m in steers:
                await self.host.emit(SteeringDelivered, **m.fields, turn=self.turn + 1)
        return True

    async def finish_interrupted(self, reason: str = CANCELLED_RESULT) -> None:
        """After a cancel or a crash: keep the partial response (marked interrupted) and
        answer every tool call that has no result, so the history is a valid request."""
        builder, self._builder = self._builder, None
        if builder is not None:
            message = builder.build(interrupted=True, stop_reason="cancelled")
            await self._complete(message)
        for call in self._open_calls:
            if call.id not in self._results:
                await self._record_result(call, ToolResult.error(reason, "cancelled"))
        self.host.messages.extend(self._results[call.id] for call in self._open_calls)
        self._open_calls = ()


def _batches(
    calls: Sequence[ToolCallBlock], concurrency_safe: Callable[[str], bool]
) -> list[list[ToolCallBlock]]:
    """Consecutive concurrency-safe calls form one parallel batch; others run alone."""
    batches: list[list[ToolCallBlock]] = []
    for call in calls:
        if concurrency_safe(call.name) and batches and concurrency_safe(batches[-1][0].name):
            batches[-1].append(call)
        else:
            batches.append([call])
    return batches


def _without_calls(message: AssistantMessage | None) -> AssistantMessage | None:
    """The message without its tool calls (None when nothing else is left)."""
    if message is None or not message.tool_calls:
        return message
    content = tuple(b for b in message.content if b.type != "tool_call")
    return message.model_copy(update={"content": content}) if content else None
