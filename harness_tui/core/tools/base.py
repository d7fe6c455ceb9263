"""The tool protocol: what a tool declares, what it gets, what it returns."""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

from harness_tui.core.events import (
    PlanEntry,
    ToolCallCompleted,
    ToolCallFailed,
    ToolCallProgress,
    ToolFailureKind,
)
from harness_tui.core.messages import ImageData, ToolResultMessage

Emit = Callable[..., Awaitable[Any]]

#: What a tool does, for the permission modes: ``read`` runs in every mode, ``edit`` is
#: allowed by ``acceptEdits`` and refused in ``plan``, ``exec`` (commands) is refused in
#: ``plan`` and asks otherwise, ``network`` asks outside ``bypassPermissions``.
Access = Literal["read", "edit", "exec", "network"]


@dataclass(frozen=True, slots=True)
class ToolResult:
    """``content`` goes to the model; ``display`` (optional) is what the UI shows."""

    content: str
    display: str | None = None
    display_format: str = "text"
    details: Mapping[str, Any] = field(default_factory=dict)
    is_error: bool = False
    error_kind: ToolFailureKind = "tool_error"
    #: Images for models that can see them (``content`` should name them too).
    images: tuple[ImageData, ...] = ()

    @classmethod
    def error(cls, message: str, kind: ToolFailureKind = "tool_error") -> ToolResult:
        return cls(content=message, is_error=True, error_kind=kind)

    # The two shapes a result takes, each made here and nowhere else.

    def to_message(self, tool_call_id: str, tool_name: str) -> ToolResultMessage:
        """The result as the model sees it (and the session file keeps it)."""
        return ToolResultMessage(
            tool_call_id=tool_call_id,
            tool_name=tool_name,
            content=self.content,
            is_error=self.is_error,
            images=self.images,
        )

    def to_event(
        self, tool_call_id: str, tool_name: str, timing: CallTiming
    ) -> tuple[type[ToolCallCompleted | ToolCallFailed], dict[str, Any]]:
        """The result as the views see it, as ``(event type, fields)`` for an ``emit``:
        ``TOOL_CALL_FAILED`` for an error, else ``TOOL_CALL_COMPLETED``, with the call's
        run time and permission wait from ``timing``. Images stay out (events carry no
        image data; ``content`` names them)."""
        if self.is_error:
            return ToolCallFailed, {
                "tool_call_id": tool_call_id,
                "tool_name": tool_name,
                "error": self.content,
                "kind": self.error_kind,
                "display": self.display,
                "details": dict(self.details),
                "duration_ms": timing.run_ms,
                "permission_wait_ms": timing.permission_wait_ms,
            }
        return ToolCallCompleted, {
            "tool_call_id": tool_call_id,
            "tool_name": tool_name,
            "content": self.content,
            "display": self.display,
            "display_format": self.display_format,
            "details": dict(self.details),
            "duration_ms": timing.run_ms,
            "permission_wait_ms": timing.permission_wait_ms,
        }


@dataclass(slots=True)
class CallTiming:
    """When a call ran, kept apart from the time it waited for the user: a tool's
    duration is its own run time, from being allowed to run to finishing."""

    #: The clock (seconds); tests replace it to control time.
    clock: ClassVar[Callable[[], float]] = time.perf_counter

    #: Milliseconds spent waiting for answers to permission questions (None: none asked).
    permission_wait_ms: float | None = None
    run_started: float | None = None
    run_ended: float | None = None

    def waited_since(self, since: float) -> None:
        """A permission question asked at ``since`` (a ``clock`` reading) was answered."""
        waited = (CallTiming.clock() - since) * 1e3
        self.permission_wait_ms = (self.permission_wait_ms or 0.0) + waited

    def start(self) -> None:
        self.run_started = CallTiming.clock()

    def end(self) -> None:
        self.run_ended = CallTiming.clock()

    @property
    def run_ms(self) -> float:
        """The run time so far (0 for a call that never ran)."""
        if self.run_started is None:
            return 0.0
        end = self.run_ended if self.run_ended is not None else CallTiming.clock()
        return (end - self.run_started) * 1e3


@dataclass(slots=True)
class ToolContext:
    """What a running tool may know and do. Built by the session for each call."""

    session_id: str
    run_id: str
    tool_call_id: str
    cwd: Path
    permission_mode: str
    emit: Emit
    set_plan: Callable[[Sequence[PlanEntry], str | None], Awaitable[None]]
    #: Files a ``Read`` deny rule covers: the search tools leave them out of results
    #: (a deny on ``.env`` must not leak through ``Grep``). None: nothing is hidden.
    read_denied: Callable[[Path], bool] | None = None
    #: Run time and permission wait of this call (the loop reports them).
    timing: CallTiming = field(default_factory=CallTiming)

    async def progress(
        self,
        output: str = "",
        *,
        progress: float | None = None,
        total: float | None = None,
        status: str | None = None,
    ) -> None:
        """Report streamed output or progress of this call (``TOOL_CALL_PROGRESS``)."""
        await self.emit(
            ToolCallProgress,
            tool_call_id=self.tool_call_id,
            output=output,
            progress=progress,
            total=total,
            status=status,
        )


class Tool:
    """Base class of every tool. Subclasses set the class attributes and ``run``."""

    name: ClassVar[str]
    description: ClassVar[str]
    input_schema: ClassVar[dict[str, Any]]
    #: Reads only: allowed in ``plan`` mode and never asks for permission by mode.
    read_only: ClassVar[bool] = False
    #: May run at the same time as other concurrency-safe calls of the same response.
    concurrency_safe: ClassVar[bool] = False
    #: What the tool does (see ``Access``); None means ``read`` when ``read_only``,
    #: else ``exec``.
    access: ClassVar[Access | None] = None
    #: Input fields holding file or folder paths (relative to the working folder); the
    #: permission rules and the workspace boundary apply to them. A missing optional
    #: field means the working folder.
    path_fields: ClassVar[tuple[str, ...]] = ()

    @property
    def access_kind(self) -> Access:
        if self.access is not None:
            return self.access
        return "read" if self.read_only else "exec"

    async def preview(self, input: dict[str, Any], ctx: ToolContext) -> str | None:
        """What the call would do, for a permission dialog (a diff, a command)."""
        return None

    async def run(self, input: dict[str, Any], ctx: ToolContext) -> ToolResult:
        raise NotImplementedError

    async def aclose(self) -> None:
        """Release what the tool holds (processes, connections) when the session ends."""


def object_schema(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    """A tool's ``input_schema``: a JSON object of ``properties``, the ``required`` ones
    named, and no other property allowed (what every built-in tool takes)."""
    return {
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }


def input_path(cwd: Path, raw: str) -> Path:
    """A path from a tool's input: ``~`` expanded, relative to ``cwd``, ``..`` folded.
    Symlinks are left alone (the permission engine checks the real path). Raises
    ``ValueError`` for a path no file can have (a NUL byte)."""
    if "\0" in raw:
        raise ValueError("the path contains a NUL byte")
    path = Path(raw).expanduser()
    if not path.is_absolute():
        path = cwd / path
    return Path(os.path.normpath(path))
