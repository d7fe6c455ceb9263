"""Runs one tool call and always comes back with a result for the model.

Unknown tool, invalid input, a denial, a timeout, an exception and oversized output all
become a ``ToolResult`` (an error one where it failed) — never an exception that could
crash the loop. Cancellation is the one thing that passes through: it belongs to the run.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

import anyio

from harness_tui.core.messages import ToolCallBlock
from harness_tui.core.providers.base import ToolSpec
from harness_tui.core.tools.base import Tool, ToolContext, ToolResult

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 600.0
DEFAULT_MAX_OUTPUT_CHARS = 40_000


@dataclass(frozen=True, slots=True)
class GateVerdict:
    """A gate's answer: run it (possibly with a changed input) or refuse with a reason
    the model will read."""

    allowed: bool
    reason: str | None = None
    updated_input: dict[str, Any] | None = None


ALLOW = GateVerdict(allowed=True)


class ToolGate(Protocol):
    """Decides whether a call may run: permission mode and rules, PreToolUse hooks.
    A gate may also define ``after(tool, input, ctx, result) -> ToolResult``, called
    with the result of every call that ran (PostToolUse hooks)."""

    async def check(self, tool: Tool, input: dict[str, Any], ctx: ToolContext) -> GateVerdict: ...


class ToolExecutor:
    """The tools of one session, and the one way to run them."""

    def __init__(
        self,
        tools: Iterable[Tool] = (),
        *,
        gate: ToolGate | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        max_output_chars: int = DEFAULT_MAX_OUTPUT_CHARS,
    ) -> None:
        self.tools: dict[str, Tool] = {}
        for tool in tools:
            self.add(tool)
        self.gate = gate
        self.timeout_s = timeout_s
        self.max_output_chars = max_output_chars
        #: Takes a checkpoint around each call that can change files (the session's
        #: ``checkpoints.Checkpointer``); None: none is taken.
        self.checkpoints: Any = None
        #: Tells the language servers around each call (``lsp.watch.EditWatch``); None: off.
        self.lsp: Any = None
        self._validators: dict[str, Any] = {}

    def add(self, tool: Tool) -> None:
        if tool.name in self.tools:
            raise ValueError(f"two tools are named {tool.name!r}")
        self.tools[tool.name] = tool

    def remove(self, name: str) -> Tool | None:
        """Take a tool out (an MCP server's list changed); its cached validator too."""
        self._validators.pop(name, None)
        return self.tools.pop(name, None)

    def specs(self, exclude: Iterable[str] = ()) -> tuple[ToolSpec, ...]:
        """The tools the model is offered, less ``exclude`` (denied outright)."""
        hidden = set(exclude)
        return tuple(
            ToolSpec(name=t.name, description=t.description, input_schema=t.input_schema)
            for t in self.tools.values()
            if t.name not in hidden
        )

    def concurrency_safe(self, name: str) -> bool:
        tool = self.tools.get(name)
        return bool(tool and tool.concurrency_safe)

    async def execute(self, call: ToolCallBlock, ctx: ToolContext) -> ToolResult:
        tool = self.tools.get(call.name)
        if tool is None:
            known = ", ".join(sorted(self.tools)) or "none"
            return ToolResult.error(
                f"Unknown tool {call.name!r}. Available tools: {known}.", "unknown_tool"
            )
        problem = self._validate(tool, call.input)
        if problem:
            return ToolResult.error(f"Invalid input for {tool.name}: {problem}", "invalid_input")
        input = call.input
        if self.gate is not None:
            verdict = await self.gate.check(tool, input, ctx)
            if not verdict.allowed:
                reason = verdict.reason or "denied"
                return ToolResult(
                    content=f"Permission to use {tool.name} was denied: {reason}",
                    is_error=True,
                    error_kind="denied",
                    details={"reason": reason},  # for the views (headless names each)
                )
            if verdict.updated_input is not None:
                input = verdict.updated_input
                problem = self._validate(tool, input)
                if problem:
                    return ToolResult.error(
                        f"Invalid input for {tool.name} (as changed by a hook): {problem}",
                        "invalid_input",
                    )
        # A tool may set its own limit; None for none (Task: a sub-agent is bounded by
        # its turns and its own tools' limits, not by the wall clock).
        limit = getattr(tool, "timeout_s", self.timeout_s)
        keeper = self.checkpoints
        step = await keeper.before(tool, input, ctx) if keeper and keeper.covers(tool) else None
        if self.lsp is not None:
            await self.lsp.before(tool, input, ctx)
        ctx.timing.start()  # allowed: its run time starts now (the waits are behind it)
        try:
            with anyio.fail_after(limit):
                result = await tool.run(input, ctx)
        except TimeoutError:  # a failure like any other: the gate's ``after`` sees it
            result = ToolResult.error(
                f"{tool.name} timed out after {limit:g} s and was stopped.", "timeout"
            )
        except anyio.get_cancelled_exc_class():
            raise
        except Exception as exc:
            log.debug("tool %s raised", tool.name, exc_info=True)
            why = f"{tool.name} failed: {type(exc).__name__}: {exc}"
            result = ToolResult.error(why, "exception")
        finally:
            ctx.timing.end()
            if (
                step is not None and keeper is not None
            ):  # what it changed, even when it was stopped halfway
                with anyio.CancelScope(shield=True):
                    await keeper.after(step)
        if self.lsp is not None:
            result = await self.lsp.after(tool, input, ctx, result)
        after = getattr(self.gate, "after", None)
        if after is not None:
            result = await after(tool, input, ctx, result)
        return self._truncate(result)

    def _validate(self, tool: Tool, input: dict[str, Any]) -> str | None:
        validator = self._validators.get(tool.name)
        if validator is None:
            # jsonschema costs ~0.1 s to import: only when the first tool runs.
            from jsonschema import Draft202012Validator, SchemaError

            try:
                Draft202012Validator.check_schema(tool.input_schema)
            except SchemaError as exc:
                return f"the tool's own input schema is invalid ({exc.message}); report it"
            validator = Draft202012Validator(tool.input_schema)
            self._validators[tool.name] = validator
        error = next(iter(validator.iter_errors(input)), None)
        if error is None:
            return None
        where = "/".join(str(p) for p in error.absolute_path)
        return f"{where}: {error.message}" if where else error.message

    def _truncate(self, result: ToolResult) -> ToolResult:
        limit = self.max_output_chars
        content = result.content
        if len(content) <= limit:
            return result
        cut = len(content) - limit
        note = (
            f"\n\n[output truncated: {cut:,} of {len(content):,} characters cut; "
            "ask for a narrower range to see more]"
        )
        return dataclasses.replace(
            result,
            content=content[:limit] + note,
            details={**result.details, "truncated_chars": cut},
        )

    async def aclose(self) -> None:
        for tool in self.tools.values():
            try:
                await tool.aclose()
            except Exception:
                log.warning("closing tool %s failed", tool.name, exc_info=True)
