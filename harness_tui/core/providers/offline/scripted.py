"""A deterministic provider that plays back scripted responses.

Used by tests, benchmarks and the offline demo, and by users who want to rehearse a
session: ``harness-tui -p "..." --model scripted:replies.yaml``. Each model call takes
the next ``Reply``; a reply is a list of steps (text, thinking, tool calls, usage, errors,
pauses). From Python, a reply can also wait on an ``anyio.Event`` the test controls, and
the script can be a function of the request.

File format (YAML or JSON), either a list of replies or ``{responses: [...]}``::

    responses:
      - thinking: "Let me look."          # shorthand: thinking, text, tool calls, usage
        text: "I'll list the files."
        tool_calls:
          - {name: Glob, input: {pattern: "*.py"}}
        usage: {input_tokens: 120, output_tokens: 30}   # priced with `price:` below
      - text: "Done."
        usage: {input_tokens: 200, output_tokens: 5, cost_usd: 0.25}  # or its own cost
      - steps:                            # or an explicit sequence of steps
          - text: "Hel"
          - sleep: 0.2
          - text: "lo"
          - error: {message: "overloaded", code: overloaded}
    sampling:                             # replies to MCP servers' sampling requests
      - text: "Soft rain on the roof"
    price: {input: 3, output: 15}         # optional: US dollars per million tokens
    pick: by_answers                      # optional: see below

``pick: by_answers`` makes the script stateless, as a real model is: each request gets
the reply whose index is the number of the model's answers already in the conversation
(the first request the first reply, the one after a tool result the second, ...),
whichever process or provider object asks. A durable run resumed on another process
(``serve --durable``) asks a new provider for the rest of its conversation.

Priced usage, for rehearsing budgets: a usage's ``cost_usd`` is what that request cost
(as a provider that reports cost says it); otherwise ``price`` prices its tokens like a
catalogue model's. Without either, a script's usage costs nothing known.

A sampling request (an MCP server asking the session's model for a completion) never
takes the run's next reply: it plays the separate ``sampling`` replies. Without them a
script of replies refuses it (the run's replies stay in order), and a function script,
a function of the request, answers it too.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import AsyncGenerator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Self

import anyio
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from harness_tui.core.config.files import ConfigFileError, load_config_file
from harness_tui.core.errors import ConfigError, describe_validation_error
from harness_tui.core.messages import AssistantMessage, TokenUsage
from harness_tui.core.providers.base import (
    ModelRequest,
    Provider,
    RetryNotice,
    StreamChunk,
    StreamEnd,
    StreamFailed,
    TextChunk,
    ThinkingChunk,
    ThinkingSignature,
    ToolCallArgs,
    ToolCallBegin,
    UsageChunk,
)
from harness_tui.core.providers.catalogue import Price

# --- steps ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Text:
    """Streamed text; split into words unless ``chunk`` gives a size (0: one piece)."""

    text: str
    chunk: int | None = None


@dataclass(frozen=True, slots=True)
class Thinking:
    text: str
    signature: str | None = None
    chunk: int | None = None


@dataclass(frozen=True, slots=True)
class ToolCall:
    name: str
    input: dict[str, Any] = field(default_factory=dict)
    id: str | None = None
    #: Send this text as the input instead of ``input`` (e.g. to script broken JSON).
    raw_json: str | None = None


@dataclass(frozen=True, slots=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    #: What the request cost, as a provider that reports it says (None: priced by tokens).
    cost_usd: float | None = None


@dataclass(frozen=True, slots=True)
class Sleep:
    seconds: float


@dataclass(frozen=True, slots=True)
class Wait:
    """Pause until the event is set (tests: no sleeping to hit a moment)."""

    event: anyio.Event
    #: Set when the stream reaches this step, so a test can await "we are here".
    reached: anyio.Event | None = None


@dataclass(frozen=True, slots=True)
class Fail:
    """The response fails here (in-stream, as adapters report failures)."""

    message: str
    code: str = "provider_error"
    hint: str | None = None


@dataclass(frozen=True, slots=True)
class Retry:
    attempt: int = 1
    max_attempts: int = 3
    delay_s: float = 0.0
    reason: str = "overloaded"
    status_code: int | None = None


@dataclass(frozen=True, slots=True)
class Crash:
    """The stream raises, like an adapter bug would."""

    message: str


Step = Text | Thinking | ToolCall | Usage | Sleep | Wait | Fail | Retry | Crash


@dataclass(frozen=True, slots=True)
class Reply:
    steps: tuple[Step, ...]
    #: Defaults to ``tool_use`` when the reply calls tools, else ``end_turn``.
    stop_reason: str | None = None
    #: Pause before each streamed piece of text or thinking.
    delay: float = 0.0


def reply(*steps: Step, stop_reason: str | None = None, delay: float = 0.0) -> Reply:
    return Reply(tuple(steps), stop_reason, delay)


Script = Sequence[Reply] | Callable[[ModelRequest], Reply | StreamFailed]

_WORDS = re.compile(r"\s*\S+\s*|\s+")
#: Scripts are chosen by the user and may be long rehearsals: larger bounds than the
#: 1 MiB / 20,000 values of settings files, bounds all the same.
MAX_SCRIPT_BYTES = 16 << 20
MAX_SCRIPT_NODES = 500_000


def split_text(text: str, chunk: int | None) -> list[str]:
    if chunk == 0 or not text:
        return [text] if text else []
    if chunk is None:
        return _WORDS.findall(text)
    return [text[i : i + chunk] for i in range(0, len(text), chunk)]


# --- provider ---------------------------------------------------------------------------


class ScriptedProvider(Provider):
    """Plays back a script; records every request it receives in ``requests``."""

    name = "scripted"

    def __init__(
        self,
        script: Script,
        *,
        model: str = "scripted",
        context_window: int | None = 200_000,
        sampling: Script | None = None,
        price: Price | None = None,
    ) -> None:
        """``sampling``: the replies to MCP servers' sampling requests (see
        ``for_sampling``); ``price``: what its tokens cost (the model's price)."""
        self.model = model
        self.price = price
        self.context_window = context_window
        self._script = script
        self._sampling = sampling
        self._sampler: ScriptedProvider | None = None
        #: What the script is for, as an exhausted script's message names it.
        self._role = "reply"
        self._next = 0
        self._call_ids = 0
        # Ids must not repeat within a conversation, which may span several scripts.
        self._id_prefix = os.urandom(3).hex()
        self.requests: list[ModelRequest] = []

    @property
    def remaining(self) -> int | None:
        """Replies not played yet (None for a function script)."""
        if callable(self._script):
            return None
        return len(self._script) - self._next

    def assert_complete(self) -> None:
        """Fail unless every scripted reply (and sampling reply) was used."""
        if self.remaining:
            raise AssertionError(f"{self.remaining} scripted replies were never requested")
        sampler = self.for_sampling() if self._sampling is not None else self._sampler
        if sampler is not None and sampler.remaining:
            raise AssertionError(
                f"{sampler.remaining} scripted sampling replies were never requested"
            )

    def for_sampling(self) -> ScriptedProvider:
        """The provider that answers MCP servers' sampling requests in a session on this
        script, so that sampling never takes the run's next reply: one that plays the
        ``sampling`` replies; without them, the same function for a function script,
        and for a list of replies none (a sampling request fails, saying so)."""
        if self._sampler is None:
            script = self._sampling
            if script is None:
                script = self._script if callable(self._script) else ()
            sampler = ScriptedProvider(script, model=self.model, context_window=self.context_window)
            sampler._role = "sampling reply"
            self._sampler = sampler
        return self._sampler

    def _take(self, request: ModelRequest) -> Reply | StreamFailed:
        if callable(self._script):
            return self._script(request)
        if self._next >= len(self._script):
            if self._role == "sampling reply":
                hint = "add replies under `sampling:` in the script"
            else:
                hint = "add replies to the script, or start a new session"
            return StreamFailed(
                f"the scripted model has no {self._role} left (its script has {len(self._script)})",
                "script_exhausted",
                hint,
            )
        self._next += 1
        return self._script[self._next - 1]

    async def stream(self, request: ModelRequest) -> AsyncGenerator[StreamChunk, None]:
        self.requests.append(request)
        planned = self._take(request)
        if isinstance(planned, StreamFailed):
            yield planned
            return
        calls_tools = False
        for step in planned.steps:
            if isinstance(step, Text | Thinking):
                chunk_type = TextChunk if isinstance(step, Text) else ThinkingChunk
                for piece in split_text(step.text, step.chunk):
                    if planned.delay:
                        await anyio.sleep(planned.delay)
                    yield chunk_type(piece)
                if isinstance(step, Thinking) and step.signature:
                    yield ThinkingSignature(step.signature)
            elif isinstance(step, ToolCall):
                calls_tools = True
                self._call_ids += 1
                call_id = step.id or f"call_{self._id_prefix}_{self._call_ids}"
                yield ToolCallBegin(call_id, step.name)
                raw = step.raw_json if step.raw_json is not None else json.dumps(step.input)
                half = len(raw) // 2  # two fragments, as real streams split input JSON
                for piece in (raw[:half], raw[half:]):
                    if piece:
                        yield ToolCallArgs(call_id, piece)
            elif isinstance(step, Usage):
                yield UsageChunk(
                    TokenUsage(
                        input_tokens=step.input_tokens,
                        output_tokens=step.output_tokens,
                        cache_read_tokens=step.cache_read_tokens,
                        cache_write_tokens=step.cache_write_tokens,
                        cost_usd=step.cost_usd,
                    )
                )
            elif isinstance(step, Sleep):
                await anyio.sleep(step.seconds)
            elif isinstance(step, Wait):
                if step.reached is not None:
                    step.reached.set()
                await step.event.wait()
            elif isinstance(step, Retry):
                yield RetryNotice(
                    step.attempt, step.max_attempts, step.delay_s, step.reason, step.status_code
                )
                await anyio.sleep(step.delay_s)
            elif isinstance(step, Fail):
                yield StreamFailed(step.message, step.code, step.hint)
                return
            elif isinstance(step, Crash):
                raise RuntimeError(step.message)
        yield StreamEnd(planned.stop_reason or ("tool_use" if calls_tools else "end_turn"))

    # --- files ------------------------------------------------------------------------

    @classmethod
    def from_file(cls, path: str | Path) -> Self:
        """Load a YAML or JSON script (a regular file of at most ``MAX_SCRIPT_BYTES``);
        a bad file raises ``ConfigError`` naming the file and the line or field."""
        path = Path(path).expanduser()
        try:
            data = load_config_file(path, limit=MAX_SCRIPT_BYTES, max_nodes=MAX_SCRIPT_NODES)
        except FileNotFoundError:
            raise ConfigError(f"script file {path}: no such file") from None
        except ConfigFileError as exc:
            raise ConfigError(f"script file {exc}") from None
        if data is None:
            raise ConfigError(f"script file {path}: the file is empty; it needs a list of replies")
        try:
            spec = _ScriptSpec.model_validate(
                {"responses": data} if isinstance(data, list) else data
            )
        except ValidationError as exc:
            raise ConfigError(f"script file {path}: {describe_validation_error(exc)}") from None
        sampling = None if spec.sampling is None else [r.to_reply() for r in spec.sampling]
        replies = [r.to_reply() for r in spec.responses]
        return cls(
            replies if spec.pick == "in_order" else _by_answers(replies),
            model=spec.model or path.stem,
            sampling=sampling,
            price=spec.price,
        )


# --- file schema ------------------------------------------------------------------------


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _ToolCallSpec(_Spec):
    name: str
    input: dict[str, Any] = Field(default_factory=dict)
    id: str | None = None


class _UsageSpec(_Spec):
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cost_usd: float | None = Field(default=None, ge=0)


class _ErrorSpec(_Spec):
    message: str
    code: str = "provider_error"
    hint: str | None = None


class _RetrySpec(_Spec):
    attempt: int = 1
    max_attempts: int = 3
    delay: float = 0.0
    reason: str = "overloaded"
    status_code: int | None = None


class _StepSpec(_Spec):
    text: str | None = None
    thinking: str | None = None
    signature: str | None = None
    tool_call: _ToolCallSpec | None = None
    usage: _UsageSpec | None = None
    sleep: float | None = Field(default=None, ge=0)
    error: _ErrorSpec | None = None
    retry: _RetrySpec | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Self:
        kinds = [
            k
            for k in ("text", "thinking", "tool_call", "usage", "sleep", "error", "retry")
            if getattr(self, k) is not None
        ]
        if len(kinds) != 1:
            raise ValueError(
                "each step needs exactly one of text, thinking, tool_call, "
                f"usage, sleep, error, retry (found {', '.join(kinds) or 'none'})"
            )
        if self.signature is not None and kinds != ["thinking"]:
            raise ValueError("signature belongs to a thinking step")
        return self

    def to_step(self, chunk: int | None) -> Step:
        if self.text is not None:
            return Text(self.text, chunk)
        if self.thinking is not None:
            return Thinking(self.thinking, self.signature, chunk)
        if self.tool_call is not None:
            return ToolCall(self.tool_call.name, self.tool_call.input, self.tool_call.id)
        if self.usage is not None:
            return Usage(**self.usage.model_dump())
        if self.sleep is not None:
            return Sleep(self.sleep)
        if self.error is not None:
            return Fail(self.error.message, self.error.code, self.error.hint)
        assert self.retry is not None
        r = self.retry
        return Retry(r.attempt, r.max_attempts, r.delay, r.reason, r.status_code)


class _ReplySpec(_Spec):
    thinking: str | None = None
    text: str | None = None
    tool_calls: list[_ToolCallSpec] = Field(default_factory=list)
    usage: _UsageSpec | None = None
    error: _ErrorSpec | None = None
    steps: list[_StepSpec] | None = None
    stop_reason: str | None = None
    delay: float = Field(default=0.0, ge=0)
    chunk: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _steps_or_shorthand(self) -> Self:
        shorthand = [k for k in ("thinking", "text", "usage", "error") if getattr(self, k)]
        if self.tool_calls:
            shorthand.append("tool_calls")
        if self.steps is not None and shorthand:
            raise ValueError(f"use either steps or {', '.join(shorthand)}, not both")
        return self

    def to_reply(self) -> Reply:
        if self.steps is not None:
            steps = [s.to_step(self.chunk) for s in self.steps]
        else:
            steps = []
            if self.thinking:
                steps.append(Thinking(self.thinking, None, self.chunk))
            if self.text:
                steps.append(Text(self.text, self.chunk))
            steps.extend(ToolCall(c.name, c.input, c.id) for c in self.tool_calls)
            if self.usage:
                steps.append(Usage(**self.usage.model_dump()))
            if self.error:
                steps.append(Fail(self.error.message, self.error.code, self.error.hint))
        return Reply(tuple(steps), self.stop_reason, self.delay)


class _ScriptSpec(_Spec):
    responses: list[_ReplySpec] = Field(min_length=1)
    model: str | None = None
    #: Replies to MCP servers' sampling requests, apart from the run's.
    sampling: list[_ReplySpec] | None = None
    #: US dollars per million tokens, as the catalogue's prices.
    price: Price | None = None
    #: ``in_order``: each call the next reply; ``by_answers``: the reply for the number
    #: of answers in the request's conversation (stateless).
    pick: Literal["in_order", "by_answers"] = "in_order"


def _by_answers(replies: list[Reply]) -> Callable[[ModelRequest], Reply | StreamFailed]:
    """A script that answers each request by how many answers its conversation has."""

    def pick(request: ModelRequest) -> Reply | StreamFailed:
        answered = sum(1 for m in request.messages if isinstance(m, AssistantMessage))
        if answered < len(replies):
            return replies[answered]
        return StreamFailed(
            f"the scripted model has no reply for answer {answered + 1} "
            f"(its script has {len(replies)})",
            "script_exhausted",
            "add replies to the script, or start a new session",
        )

    return pick
