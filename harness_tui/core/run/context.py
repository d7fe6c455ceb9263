"""Context accounting and compaction.

**Accounting.** The provider reports, with each response, how many tokens the request
and the answer took; that count is the truth. Between responses (a tool result, a
steering message, a new prompt) the added messages are *estimated* from their length,
and only those: ``ContextAccount.used`` = last reported count + estimate of what came
after it. Before the first report, or after the history was replaced (compaction, a
fork), everything is estimated.

**Compaction.** When the next request would pass the model's window minus a reserve, or
when the user asks (``/compact``), the older part of the conversation is summarised by
the session's own model and the summary takes its place; the most recent turns stay
whole. The cut never falls between a tool call and its result. ``plan_cut`` chooses the
cut, ``summary_request`` builds the request for the summary, ``read_summary`` collects
it from the provider's stream.
"""

from __future__ import annotations

import json
import weakref
from collections.abc import Callable, Sequence
from contextlib import aclosing
from dataclasses import dataclass

from harness_tui.core.messages import (
    AssistantMessage,
    Message,
    TextBlock,
    ThinkingBlock,
    TokenUsage,
    ToolResultMessage,
    UserMessage,
)
from harness_tui.core.providers.base import (
    ModelRequest,
    Provider,
    StreamFailed,
    TextChunk,
    ToolSpec,
    UsageChunk,
)

#: Compact when the context would pass this share of the model's window.
DEFAULT_COMPACT_AT = 0.85
#: The recent part kept whole: at most this many tokens, and at most a quarter of the window.
KEEP_RECENT_TOKENS = 20_000
#: A rough rule for English and code: about four characters to a token.
CHARS_PER_TOKEN = 4
#: Per-message overhead of the wire formats (role, separators).
MESSAGE_OVERHEAD = 4
#: What an image in a request costs, roughly (about 1,600 tokens for a large one).
IMAGE_TOKENS = 1600
#: Each tool result is clipped to this many characters in the text given to the summariser.
RESULT_CHARS_IN_SUMMARY = 2_000

SUMMARY_SYSTEM = (
    "You summarise a coding session between a user and an AI coding agent, so that the "
    "agent can carry on with your summary in place of the conversation. You never call "
    "tools and never continue the work yourself."
)
SUMMARY_TASK = (
    "Write a summary of the conversation above for the agent to continue from. Keep what "
    "is needed to go on, concisely: the user's goals and requests (their own words where "
    "it matters), decisions made, files read or changed (with paths) and what changed, "
    "commands run and their results, errors met and how they were fixed, the current state "
    "of the work, and what remains to do next."
)


# --- estimates ------------------------------------------------------------------------------


def estimate_text(text: str) -> int:
    return (len(text) + CHARS_PER_TOKEN - 1) // CHARS_PER_TOKEN


#: Estimates of live messages by ``id``, each with a weak reference that drops it when the
#: message goes: a message is frozen, and the history is estimated again on every turn
#: when the provider reports no usage (which would make a long run quadratic in JSON).
_ESTIMATES: dict[int, tuple[weakref.ref[Message], int]] = {}


def _forget(key: int) -> Callable[[object], None]:
    def forget(_ref: object) -> None:
        _ESTIMATES.pop(key, None)

    return forget


def estimate_message(message: Message) -> int:
    """Tokens a message is likely to take in a request."""
    key = id(message)
    known = _ESTIMATES.get(key)
    if known is not None and known[0]() is message:
        return known[1]
    tokens = _estimate_message(message)
    _ESTIMATES[key] = (weakref.ref(message, _forget(key)), tokens)
    return tokens


def _estimate_message(message: Message) -> int:
    if isinstance(message, ToolResultMessage):
        size = len(message.content) + len(message.tool_name)
        size += IMAGE_TOKENS * CHARS_PER_TOKEN * len(message.images)
    elif isinstance(message, UserMessage):
        size = len(message.text) + IMAGE_TOKENS * CHARS_PER_TOKEN * len(message.images)
    else:
        size = 0
        for block in message.content:
            if isinstance(block, TextBlock | ThinkingBlock):
                size += len(block.text)
            else:
                size += len(block.name) + len(json.dumps(block.input, ensure_ascii=False))
    return (size + CHARS_PER_TOKEN - 1) // CHARS_PER_TOKEN + MESSAGE_OVERHEAD


def estimate_tools(tools: Sequence[ToolSpec]) -> int:
    return sum(
        estimate_text(t.name + t.description + json.dumps(t.input_schema, ensure_ascii=False))
        for t in tools
    )


#: Tools of MCP servers are named ``mcp__server__tool``.
MCP_TOOL_PREFIX = "mcp__"


@dataclass(frozen=True, slots=True)
class ContextBreakdown:
    """The context by part, in estimated tokens, plus the difference to the provider's
    count when there is one. The parts add up to ``used`` exactly (it is their sum), which
    is ``ContextAccount.used``: what the status bar shows and compaction compares."""

    system: int
    tools: int
    mcp_tools: int
    messages: int
    #: The provider's count minus the estimates of what it counted (0 without a count).
    adjustment: int
    #: True when there is a count from the provider to start from.
    reported: bool
    #: Memory's part of the system prompt (``core.memory``), not counted in ``system``.
    memory: int = 0

    @property
    def used(self) -> int:
        parts = self.system + self.memory + self.tools + self.mcp_tools + self.messages
        return parts + self.adjustment


class ContextAccount:
    """How full the context window is, from the provider's reports."""

    def __init__(self) -> None:
        self._reported: int | None = None
        self._reported_at = 0
        self._tools_key: tuple[ToolSpec, ...] | None = None
        self._tools_estimate = 0

    def report(self, context_tokens: int, message_count: int) -> None:
        """The provider counted ``context_tokens`` for the request and answer that left
        ``message_count`` messages in the history."""
        if context_tokens > 0:
            self._reported, self._reported_at = context_tokens, message_count

    def reset(self) -> None:
        """The history was replaced: estimate until the next report."""
        self._reported, self._reported_at = None, 0

    def tools_estimate(self, tools: Sequence[ToolSpec]) -> int:
        key = tuple(tools)
        if key != self._tools_key:
            self._tools_key, self._tools_estimate = key, estimate_tools(key)
        return self._tools_estimate

    def used(
        self,
        system: str,
        tools: Sequence[ToolSpec] | Callable[[], Sequence[ToolSpec]],
        messages: Sequence[Message],
    ) -> int:
        """Tokens the next request would take. ``tools`` may be a function giving
        them: they are needed only when there is no count to start from."""
        if self._reported is not None and self._reported_at <= len(messages):
            return self._reported + sum(estimate_message(m) for m in messages[self._reported_at :])
        specs = tools() if callable(tools) else tools
        return (
            estimate_text(system)
            + self.tools_estimate(specs)
            + sum(estimate_message(m) for m in messages)
        )

    def breakdown(
        self,
        system: str,
        tools: Sequence[ToolSpec],
        messages: Sequence[Message],
        memory: str = "",
    ) -> ContextBreakdown:
        """The parts of ``used`` (same estimator, same inputs): what the provider
        counted is shown as the estimates of its parts plus an adjustment. ``memory``:
        the part of ``system`` that is memory's, counted apart."""
        specs = tuple(tools)
        mcp = tuple(t for t in specs if t.name.startswith(MCP_TOOL_PREFIX))
        mcp_tokens = estimate_tools(mcp)
        system_tokens = estimate_text(system)
        memory_tokens = estimate_text(memory) if memory and memory in system else 0
        memory_tokens = min(memory_tokens, system_tokens)
        tools_tokens = self.tools_estimate(specs)
        estimates = [estimate_message(m) for m in messages]
        reported = self._reported is not None and self._reported_at <= len(messages)
        adjustment = 0
        if reported:
            counted = system_tokens + tools_tokens + sum(estimates[: self._reported_at])
            adjustment = (self._reported or 0) - counted
        return ContextBreakdown(
            system=system_tokens - memory_tokens,
            memory=memory_tokens,
            tools=tools_tokens - mcp_tokens,
            mcp_tools=mcp_tokens,
            messages=sum(estimates),
            adjustment=adjustment,
            reported=reported,
        )


def should_compact(used: int, window: int | None, compact_at: float) -> bool:
    return bool(window) and used > window * compact_at  # type: ignore[operator]


# --- choosing the cut -----------------------------------------------------------------------


def safe_cuts(messages: Sequence[Message]) -> list[int]:
    """Indexes ``i`` where ``messages[:i]`` and ``messages[i:]`` can part: every tool
    call before ``i`` has its result before ``i`` too (``len(messages)`` included)."""
    open_calls: set[str] = set()
    cuts: list[int] = []
    for index, message in enumerate(messages):
        if index and not open_calls and not isinstance(message, ToolResultMessage):
            cuts.append(index)
        if isinstance(message, AssistantMessage):
            open_calls.update(call.id for call in message.tool_calls)
        elif isinstance(message, ToolResultMessage):
            open_calls.discard(message.tool_call_id)
    if messages and not open_calls:
        cuts.append(len(messages))
    return cuts


def plan_cut(messages: Sequence[Message], keep_tokens: int, *, summarized: int = 0) -> int | None:
    """Where to cut: ``messages[:cut]`` are summarised, ``messages[cut:]`` kept. Keeps
    the most recent whole turns (from a user message on) that fit in ``keep_tokens``;
    when even the last turn does not fit, cuts inside it at a response. None when there
    is nothing to summarise (``summarized``: leading messages that already are a
    summary)."""
    cuts = [c for c in safe_cuts(messages) if c > summarized]
    if not cuts:
        return None
    suffix = [0] * (len(messages) + 1)
    for index in range(len(messages) - 1, -1, -1):
        suffix[index] = suffix[index + 1] + estimate_message(messages[index])
    fitting = [c for c in cuts if suffix[c] <= keep_tokens]
    turns = [c for c in fitting if c < len(messages) and isinstance(messages[c], UserMessage)]
    if turns:
        return turns[0]
    return fitting[0] if fitting else cuts[-1]


def keep_budget(window: int | None, messages_tokens: int) -> int:
    """How much recent conversation to keep: enough to go on with, never so much that
    compacting would free little."""
    budget = KEEP_RECENT_TOKENS
    if window:
        budget = min(budget, window // 4)
    return min(budget, messages_tokens // 2)


# --- the summary ----------------------------------------------------------------------------


def transcript(messages: Sequence[Message], max_chars: int) -> str:
    """The messages as plain text for the summariser (thinking left out, tool results
    clipped); when too long, the oldest messages after a leading summary go first."""
    parts = [_as_text(m) for m in messages]
    total = sum(len(p) + 2 for p in parts)
    if total <= max_chars:
        return "\n\n".join(parts)
    keep_first = 1 if parts and parts[0].startswith("[user]") else 0
    head = parts[:keep_first]
    budget = max_chars - sum(len(p) + 2 for p in head)
    tail: list[str] = []
    for part in reversed(parts[keep_first:]):
        if budget - len(part) - 2 < 0:
            break
        tail.append(part)
        budget -= len(part) + 2
    left_out = len(parts) - len(head) - len(tail)
    note = f"[… {left_out} earlier messages left out to fit …]"
    return "\n\n".join([*head, note, *reversed(tail)])


def _as_text(message: Message) -> str:
    if isinstance(message, UserMessage):
        shown = "".join(f" [image {image.label}]" for image in message.images)
        return f"[user] {message.text}{shown}"
    if isinstance(message, ToolResultMessage):
        content = message.content
        if len(content) > RESULT_CHARS_IN_SUMMARY:
            cut = len(content) - RESULT_CHARS_IN_SUMMARY
            content = content[:RESULT_CHARS_IN_SUMMARY] + f" […{cut} characters cut]"
        error = " (error)" if message.is_error else ""
        return f"[result of {message.tool_name}{error}] {content}"
    lines = []
    for block in message.content:
        if isinstance(block, TextBlock):
            lines.append(f"[assistant] {block.text}")
        elif not isinstance(block, ThinkingBlock):
            lines.append(
                f"[assistant calls {block.name}] {json.dumps(block.input, ensure_ascii=False)}"
            )
    return "\n".join(lines) or "[assistant] (no text)"


def summary_request(
    model: str, messages: Sequence[Message], instructions: str | None, window: int | None
) -> ModelRequest:
    """One plain request: the conversation as text, and the task. No tools are offered
    and no tool blocks are sent, so any provider accepts it."""
    limit = (window or 200_000) * CHARS_PER_TOKEN // 2
    task = SUMMARY_TASK
    if instructions and instructions.strip():
        task += f"\n\nThe user asks you to focus on this: {instructions.strip()}"
    text = f"<conversation>\n{transcript(messages, limit)}\n</conversation>\n\n{task}"
    return ModelRequest(model=model, system=SUMMARY_SYSTEM, messages=(UserMessage.of(text),))


@dataclass(frozen=True, slots=True)
class SummaryResult:
    text: str
    usage: TokenUsage | None
    error: str | None = None


async def read_summary(provider: Provider, request: ModelRequest) -> SummaryResult:
    """Stream the summary; a failure is reported in ``error``, never raised."""
    pieces: list[str] = []
    usage: TokenUsage | None = None
    try:
        async with aclosing(provider.stream(request)) as chunks:
            async for chunk in chunks:
                if isinstance(chunk, TextChunk):
                    pieces.append(chunk.text)
                elif isinstance(chunk, UsageChunk):
                    usage = chunk.usage
                elif isinstance(chunk, StreamFailed):
                    return SummaryResult("".join(pieces), usage, chunk.message)
    except Exception as exc:  # an adapter bug must not take the session down
        return SummaryResult("", usage, f"{type(exc).__name__}: {exc}")
    text = "".join(pieces).strip()
    return SummaryResult(text, usage, None if text else "the model returned an empty summary")
