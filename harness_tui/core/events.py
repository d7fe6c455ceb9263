# Over 500 lines on purpose: the one catalogue of every event, read top to bottom as a list.
"""Typed, immutable events: every fact the harness reports.

The event log is the source of truth. The TUI, the web page, the session file and the
headless output all read these events and nothing else. Rules:

- Every event is a frozen pydantic model with a ``type`` literal; ``AgentEvent`` is the
  discriminated union of all of them and ``parse_event`` reads one back from JSON.
- ``seq``, ``event_id`` and ``timestamp`` are stamped by the session's ``EventStore``
  when it appends the event (they are 0/empty before); after that the event never
  changes.
- Nothing in an event is a live object, so each one can cross to a browser or a file.
- A run starts with ``PROMPT_RECEIVED`` and ends with exactly one of ``RUN_COMPLETED``
  (``is_error`` set when an ``ERROR`` ended it) or ``RUN_CANCELLED``.
- Events produced inside a sub-agent carry ``parent_tool_call_id``, the id of the
  ``Task`` tool call that started it, so every view can nest them.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from harness_tui.core.messages import AssistantMessage, ImageBlock, TokenUsage

PermissionMode = Literal["default", "acceptEdits", "plan", "bypassPermissions"]
PERMISSION_MODES: tuple[PermissionMode, ...] = (
    "default",
    "acceptEdits",
    "plan",
    "bypassPermissions",
)


#: Where ``new_id`` takes its ids from in this task (None: random). A durable run
#: (``harness_tui.durable``) sets a counter of its own, so that a run replayed after a
#: crash names its messages and entries as the first execution did.
ID_SOURCE: ContextVar[Callable[[str], str] | None] = ContextVar("harness_id_source", default=None)


def new_id(prefix: str) -> str:
    """A random id for sessions, runs, messages and requests, e.g. ``run_3f2a…``."""
    source = ID_SOURCE.get()
    if source is not None:
        return source(prefix)
    return f"{prefix}_{uuid.uuid4().hex[:20]}"


class Event(BaseModel):
    """Fields every event carries."""

    # Unknown fields are ignored, so a reader can load events written by a newer version.
    # defer_build: each class builds its validator on first use, not at import (the
    # TUI's start-up imports every event type and uses a few).
    model_config = ConfigDict(frozen=True, extra="ignore", defer_build=True)

    type: str
    #: Position in the session's log, gapless from 1; stamped by the store.
    seq: int = 0
    #: Unique id of the event; stamped by the store.
    event_id: str = ""
    #: When the event entered the log (Unix seconds); stamped by the store.
    timestamp: float = 0.0
    session_id: str
    run_id: str | None = None
    parent_tool_call_id: str | None = None


# --- session --------------------------------------------------------------------------


class SessionStarted(Event):
    type: Literal["SESSION_STARTED"] = "SESSION_STARTED"
    cwd: str
    model: str
    permission_mode: PermissionMode
    source: Literal["startup", "resume", "clear", "compact"] = "startup"
    version: str
    #: The dollar budgets (None: none): each run's (``--max-budget-usd``) and the
    #: session's (``budget.sessionUsd``), for the views to show spend against them.
    run_budget_usd: float | None = None
    session_budget_usd: float | None = None
    #: The name a resumed session was given (``SESSION_RENAMED``); None: none.
    name: str | None = None


class SessionEnded(Event):
    type: Literal["SESSION_ENDED"] = "SESSION_ENDED"
    reason: str = "exit"


class SessionRenamed(Event):
    """The session was given a name (``/rename``, ``--name``): every view shows it in
    place of the first prompt."""

    type: Literal["SESSION_RENAMED"] = "SESSION_RENAMED"
    name: str
    previous_name: str | None = None


class ModelChanged(Event):
    type: Literal["MODEL_CHANGED"] = "MODEL_CHANGED"
    model: str
    provider: str
    previous_model: str | None = None


class ModeChanged(Event):
    type: Literal["MODE_CHANGED"] = "MODE_CHANGED"
    mode: PermissionMode
    previous_mode: PermissionMode


class Notice(Event):
    """Something the user should read that is not an error (e.g. how to add an API key)."""

    type: Literal["NOTICE"] = "NOTICE"
    message: str
    level: Literal["info", "warning"] = "info"


# --- runs and model output -------------------------------------------------------------


class PromptReceived(Event):
    """First event of every run."""

    type: Literal["PROMPT_RECEIVED"] = "PROMPT_RECEIVED"
    text: str
    source: Literal["user", "follow_up"] = "user"
    #: Images attached to the prompt: references only (their bytes are in the session's
    #: image store, served by ``/api/sessions/{id}/images/{sha256}``).
    images: tuple[ImageBlock, ...] = ()


class MessageDelta(Event):
    """A piece of the response being streamed, of message ``message_id``."""

    message_id: str
    text: str


class TokenDelta(MessageDelta):
    type: Literal["TOKEN_DELTA"] = "TOKEN_DELTA"


class ThinkingDelta(MessageDelta):
    type: Literal["THINKING_DELTA"] = "THINKING_DELTA"


class MessageCompleted(Event):
    """A model response is complete (or was cut short: ``message.interrupted``)."""

    type: Literal["MESSAGE_COMPLETED"] = "MESSAGE_COMPLETED"
    message: AssistantMessage
    turn: int


class UsageUpdated(Event):
    type: Literal["USAGE_UPDATED"] = "USAGE_UPDATED"
    usage: TokenUsage
    total: TokenUsage
    cost_usd: float | None = None
    total_cost_usd: float | None = None
    context_tokens: int = 0
    context_window: int | None = None


class Retrying(Event):
    type: Literal["RETRYING"] = "RETRYING"
    attempt: int
    max_attempts: int
    delay_s: float
    reason: str
    status_code: int | None = None


class ContextCompacted(Event):
    type: Literal["CONTEXT_COMPACTED"] = "CONTEXT_COMPACTED"
    trigger: Literal["auto", "manual"]
    tokens_before: int
    tokens_after: int
    summary: str = ""


class BranchChanged(Event):
    """The conversation now continues from another entry of the session's tree: a fork
    (``/fork``) or a switch to another branch. ``entry_id`` is the entry the next
    message will follow (None: the start); the model now sees ``messages`` messages."""

    type: Literal["BRANCH_CHANGED"] = "BRANCH_CHANGED"
    entry_id: str | None
    previous_entry_id: str | None = None
    messages: int = 0


# --- checkpoints and rewind -----------------------------------------------------------


class FileState(BaseModel):
    """A file as a checkpoint saw it: its bytes (by ``sha256`` in the session's
    checkpoint store; None when they were not kept, ``not_kept`` says why), size and
    permission bits."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    sha256: str | None
    size: int
    mode: int
    not_kept: str | None = None


class CheckpointFile(BaseModel):
    """One file a step changed: ``path`` relative to the session's folder (``/``
    separated; absolute outside it), as it was (``before``; None: it did not exist) and
    as the step left it (``after``; None: deleted). ``by_hand``: changed outside the
    agent (the user, an editor) and noticed when the step began."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    path: str
    change: Literal["created", "modified", "deleted", "mode"]
    before: FileState | None
    after: FileState | None
    by_hand: bool = False


class SkippedFile(BaseModel):
    """A file a rewind left as it is, and why."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    path: str
    reason: str


class CheckpointCreated(Event):
    """The files were saved before a prompt (``kind="prompt"``, ``entry_id`` its
    conversation entry) or a tool call that can change files (``kind="tool"``): the
    files the step changed, with their earlier and later bytes, and the ``bytes`` this
    checkpoint added to the session's store. A rewind to a prompt restores the files
    as they were at its checkpoint."""

    type: Literal["CHECKPOINT_CREATED"] = "CHECKPOINT_CREATED"
    checkpoint_id: str
    kind: Literal["prompt", "tool"]
    entry_id: str | None = None
    tool_call_id: str | None = None
    tool_name: str | None = None
    files: tuple[CheckpointFile, ...] = ()
    bytes: int = 0


RewindMode = Literal["code", "conversation", "both"]


class Rewound(Event):
    """A rewind to the checkpoint ``checkpoint_id``: ``files`` it changed on disk
    (``before``: as they were, ``after``: as restored), ``skipped`` those it left alone;
    for the conversation, the entry it now continues from (``entry_id``) and the one it
    left (``previous_entry_id``). ``undoes``: the rewind this one undid (a redo)."""

    type: Literal["REWOUND"] = "REWOUND"
    rewind_id: str
    checkpoint_id: str
    mode: RewindMode
    files: tuple[CheckpointFile, ...] = ()
    skipped: tuple[SkippedFile, ...] = ()
    entry_id: str | None = None
    previous_entry_id: str | None = None
    undoes: str | None = None
    prompt: str = ""


# --- background tasks and the sandbox ----------------------------------------------------


TaskStatus = Literal["completed", "failed", "stopped", "killed"]


class TaskStarted(Event):
    """``Bash`` with ``run_in_background`` started ``command`` as task ``task_id`` (its
    process group ``pgid``); its output goes to ``output_path`` (the session's folder)."""

    type: Literal["TASK_STARTED"] = "TASK_STARTED"
    task_id: str
    tool_call_id: str | None = None
    command: str
    description: str = ""
    output_path: str
    pgid: int
    sandboxed: bool = False


class TaskEnded(Event):
    """Task ``task_id`` ended: by itself (``completed`` with exit code 0, ``failed``
    otherwise), by ``TaskStop`` or the user (``stopped``), or with the session
    (``killed``). ``tail``: the last lines of its output."""

    type: Literal["TASK_ENDED"] = "TASK_ENDED"
    task_id: str
    status: TaskStatus
    exit_code: int | None = None
    duration_ms: float
    tail: str = ""


class SandboxBlocked(Event):
    """The sandbox refused something a command tried: a write to ``target`` (a path)
    or a connection to ``target`` (``host:port``), during tool call ``tool_call_id``
    (or background task ``task_id``). ``allowed``: the user let it through after all
    (a question answered yes)."""

    type: Literal["SANDBOX_BLOCKED"] = "SANDBOX_BLOCKED"
    kind: Literal["write", "network"]
    target: str
    tool_call_id: str | None = None
    task_id: str | None = None
    reason: str = ""
    allowed: bool = False


class RunCompleted(Event):
    type: Literal["RUN_COMPLETED"] = "RUN_COMPLETED"
    stop_reason: str
    turns: int
    duration_ms: float
    result: str = ""
    is_error: bool = False
    error: str | None = None
    usage: TokenUsage = TokenUsage()
    cost_usd: float | None = None


class BudgetExceeded(Event):
    """A budget ended the run (or, with ``parent_tool_call_id``, a sub-agent) at a turn
    boundary, before the next model request: ``turns`` (``--max-turns``: ``used`` turns
    of ``limit``), ``run_usd`` (``--max-budget-usd``) or ``session_usd`` (the settings'
    ``budget.sessionUsd``): ``used`` dollars spent, and ``next_estimate`` what the next
    request was expected to cost (see ``session.budget``). ``RUN_COMPLETED`` follows,
    its ``stop_reason`` ``budget_exceeded`` or ``max_turns``."""

    type: Literal["BUDGET_EXCEEDED"] = "BUDGET_EXCEEDED"
    budget: Literal["turns", "run_usd", "session_usd"]
    limit: int | float
    used: int | float
    next_estimate: float | None = None
    message: str


class RunCancelled(Event):
    type: Literal["RUN_CANCELLED"] = "RUN_CANCELLED"
    turns: int
    duration_ms: float
    reason: str = "cancelled by user"


class Error(Event):
    """Something went wrong. ``fatal`` errors end the run (a ``RUN_COMPLETED`` with
    ``is_error`` follows); ``hint`` says what to do about it."""

    type: Literal["ERROR"] = "ERROR"
    message: str
    code: str
    hint: str | None = None
    fatal: bool = False


# --- plan ------------------------------------------------------------------------------


class PlanEntry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    content: str
    status: Literal["pending", "in_progress", "completed"] = "pending"
    active_form: str | None = None


class PlanEvent(Event):
    """The plan as it now stands; ``tool_call_id`` is the call that wrote it."""

    entries: tuple[PlanEntry, ...]
    tool_call_id: str | None = None


class PlanGenerated(PlanEvent):
    type: Literal["PLAN_GENERATED"] = "PLAN_GENERATED"


class PlanUpdated(PlanEvent):
    type: Literal["PLAN_UPDATED"] = "PLAN_UPDATED"


class MemoryUpdated(Event):
    """Memory changed (``core.memory``): an entry added, updated or removed, or a topic
    file written, by the model's ``Memory`` tool (``by`` ``model``) or by the user (a
    ``#`` message, ``/memory``, the CLI). Every view shows it: no write goes unnoticed."""

    type: Literal["MEMORY_UPDATED"] = "MEMORY_UPDATED"
    action: Literal["add", "update", "remove", "topic"]
    scope: Literal["project", "user"]
    entry_id: str
    text: str
    by: Literal["model", "user"] = "model"
    tool_call_id: str | None = None


# --- tools -----------------------------------------------------------------------------

ToolFailureKind = Literal[
    "unknown_tool", "invalid_input", "denied", "timeout", "exception", "tool_error", "cancelled"
]


class ToolCallEvent(Event):
    """What happened to one tool call (``tool_call_id``, of tool ``tool_name``)."""

    tool_call_id: str
    tool_name: str


class ToolCallStarted(ToolCallEvent):
    type: Literal["TOOL_CALL_STARTED"] = "TOOL_CALL_STARTED"
    input: dict[str, Any]
    message_id: str | None = None


class ToolCallProgress(Event):
    """Streamed output of a running tool, and/or a progress report."""

    type: Literal["TOOL_CALL_PROGRESS"] = "TOOL_CALL_PROGRESS"
    tool_call_id: str
    output: str = ""
    progress: float | None = None
    total: float | None = None
    status: str | None = None


class ToolCallCompleted(ToolCallEvent):
    """``content`` is what the model sees; ``display`` is what the UI shows."""

    type: Literal["TOOL_CALL_COMPLETED"] = "TOOL_CALL_COMPLETED"
    content: str
    display: str | None = None
    display_format: str = "text"
    details: dict[str, Any] = Field(default_factory=dict)
    #: The tool's own run time, from being allowed to run to finishing.
    duration_ms: float
    #: Time spent waiting for the user's permission answer, not part of ``duration_ms``
    #: (None: no question was asked; absent from sessions saved before it existed).
    permission_wait_ms: float | None = None


class ToolCallFailed(ToolCallEvent):
    """The tool did not succeed; ``error`` is what the model is told."""

    type: Literal["TOOL_CALL_FAILED"] = "TOOL_CALL_FAILED"
    error: str
    kind: ToolFailureKind
    display: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)
    #: As in ``ToolCallCompleted``: 0 for a call that never ran (denied, invalid input).
    duration_ms: float
    permission_wait_ms: float | None = None


class Diagnostics(Event):
    """A language server's problems in the files tool call ``tool_call_id`` changed:
    ``files`` holds each file's ``path`` (relative to the workspace) and ``problems``
    (``line``, ``column``, ``severity``, ``message``, ``code``, ``source``, ``text``,
    ``preexisting``: the file had it before the change). ``new`` problems are what the
    model was told; ``duration_ms`` is the wait for the server's answer."""

    type: Literal["DIAGNOSTICS"] = "DIAGNOSTICS"
    tool_call_id: str
    files: list[dict[str, Any]]
    new: int = 0
    preexisting: int = 0
    duration_ms: float = 0.0


# --- hooks and permissions ----------------------------------------------------------------


class HookEvent(Event):
    """A hook ``hook`` ran for ``hook_event`` (its ``matcher`` matched; for a tool
    event, on call ``tool_call_id``)."""

    hook_event: str
    hook: str
    matcher: str | None = None
    tool_call_id: str | None = None


class HookExecuted(HookEvent):
    type: Literal["HOOK_EXECUTED"] = "HOOK_EXECUTED"
    decision: str | None = None
    exit_code: int | None = None
    output: str = ""
    error: str | None = None
    duration_ms: float


class HookDenied(HookEvent):
    type: Literal["HOOK_DENIED"] = "HOOK_DENIED"
    reason: str
    exit_code: int | None = None
    output: str = ""
    duration_ms: float


PermissionDecision = Literal["allow_once", "allow_session", "allow_always", "deny"]


class PermissionEvent(Event):
    """The permission question ``request_id``, about tool call ``tool_call_id``."""

    request_id: str
    tool_call_id: str


class PermissionRequested(PermissionEvent):
    type: Literal["PERMISSION_REQUESTED"] = "PERMISSION_REQUESTED"
    tool_name: str
    input: dict[str, Any]
    reason: str
    rule: str | None = None
    preview: str | None = None


class PermissionResolved(PermissionEvent):
    """The answer to a request. ``cancelled`` means the run ended before an answer."""

    type: Literal["PERMISSION_RESOLVED"] = "PERMISSION_RESOLVED"
    decision: PermissionDecision | Literal["cancelled"]
    reason: str | None = None


class TrustEvent(Event):
    """About trusting the working folder ``folder``."""

    folder: str


class TrustRequested(TrustEvent):
    """The working folder has project configuration (settings, hooks, MCP servers,
    plugins) that takes effect only if the user trusts the folder; answer with
    ``Session.resolve_trust``. Until then only user-level configuration applies."""

    type: Literal["TRUST_REQUESTED"] = "TRUST_REQUESTED"
    #: The project files that trusting the folder would enable.
    found: tuple[str, ...] = ()


class TrustResolved(TrustEvent):
    type: Literal["TRUST_RESOLVED"] = "TRUST_RESOLVED"
    trusted: bool
    #: Written to the trusted-folder list, so later sessions do not ask again.
    remembered: bool = False


# --- MCP servers ---------------------------------------------------------------------------

McpStatus = Literal["connecting", "ready", "failed", "needs_auth", "crashed", "stopped"]


class McpServerEvent(Event):
    """About the MCP server named ``server``."""

    server: str


class ServerRequestEvent(Event):
    """A request ``request_id`` that MCP server ``server`` sent us (sampling, a question
    for the user), or its answer."""

    request_id: str
    server: str


class McpServerStatus(McpServerEvent):
    """An MCP server's connection changed. ``connecting`` (``attempt`` > 0: a restart
    after a crash), ``ready`` with its counts, ``failed`` (it never came up; ``error``
    says why), ``needs_auth`` (it wants an OAuth login: ``/mcp login NAME``), ``crashed``
    (it was up and went away; restarted on next use), ``stopped``
    (the session closed it)."""

    type: Literal["MCP_SERVER_STATUS"] = "MCP_SERVER_STATUS"
    status: McpStatus
    #: ``stdio``, ``http`` or ``sse``.
    transport: str
    #: What the server is, without secrets: the program, or the URL's origin and path.
    target: str = ""
    #: Where it was configured (a file, or ``plugin NAME``).
    source: str = ""
    tools: int = 0
    resources: int = 0
    prompts: int = 0
    error: str | None = None
    #: Restarts so far (0 for the first start).
    attempt: int = 0
    #: Where the server's stderr goes (stdio servers).
    log_path: str | None = None


class McpServerLog(McpServerEvent):
    """A log message the server sent (``notifications/message``)."""

    type: Literal["MCP_SERVER_LOG"] = "MCP_SERVER_LOG"
    level: str
    message: str
    logger: str | None = None


class SamplingRequested(ServerRequestEvent):
    """An MCP server asks the session's model for a completion; answer with
    ``Session.resolve_sampling``. ``messages`` are ``{"role", "text"}`` pairs."""

    type: Literal["SAMPLING_REQUESTED"] = "SAMPLING_REQUESTED"
    messages: tuple[dict[str, str], ...]
    system_prompt: str | None = None
    max_tokens: int
    #: The model that would answer.
    model: str


class SamplingResolved(ServerRequestEvent):
    type: Literal["SAMPLING_RESOLVED"] = "SAMPLING_RESOLVED"
    decision: Literal["approved", "declined", "cancelled", "failed"]
    #: The model's answer as sent back to the server (approved requests).
    response: str = ""
    model: str | None = None
    reason: str | None = None


class ElicitationRequested(ServerRequestEvent):
    """An MCP server asks the user for input: a form built from ``requested_schema``
    (``mode`` ``form``) or a visit to ``url`` (``mode`` ``url``). Answer with
    ``Session.resolve_elicitation``."""

    type: Literal["ELICITATION_REQUESTED"] = "ELICITATION_REQUESTED"
    message: str
    mode: Literal["form", "url"] = "form"
    requested_schema: dict[str, Any] = Field(default_factory=dict)
    url: str | None = None


class ElicitationResolved(ServerRequestEvent):
    type: Literal["ELICITATION_RESOLVED"] = "ELICITATION_RESOLVED"
    action: Literal["accept", "decline", "cancel"]
    content: dict[str, Any] | None = None


# --- steering ----------------------------------------------------------------------------

SteeringKind = Literal["steer", "follow_up"]


class SteeringEvent(Event):
    """About the queued message ``steering_id``."""

    steering_id: str
    text: str
    kind: SteeringKind


class SteeringQueued(SteeringEvent):
    type: Literal["STEERING_QUEUED"] = "STEERING_QUEUED"
    #: Images attached to the message (references, as in ``PROMPT_RECEIVED``; last in
    #: each steering event, where fields are added).
    images: tuple[ImageBlock, ...] = ()


class SteeringDelivered(SteeringEvent):
    """A queued message reached the model: a steer joined ``turn`` of the current run;
    a follow-up started a run of its own (``turn`` 1 of that run)."""

    type: Literal["STEERING_DELIVERED"] = "STEERING_DELIVERED"
    turn: int
    images: tuple[ImageBlock, ...] = ()


class SteeringWithdrawn(SteeringEvent):
    """A queued message left the queue undelivered: pulled back for editing, or handed
    back to the input when the run was cancelled."""

    type: Literal["STEERING_WITHDRAWN"] = "STEERING_WITHDRAWN"
    reason: Literal["pulled_back", "cancelled"]
    images: tuple[ImageBlock, ...] = ()


# --- sub-agents ---------------------------------------------------------------------------


class SubagentEvent(Event):
    """About the sub-agent ``agent_name`` that the Task call ``tool_call_id`` started."""

    tool_call_id: str
    agent_name: str


class SubagentStarted(SubagentEvent):
    type: Literal["SUBAGENT_STARTED"] = "SUBAGENT_STARTED"
    description: str = ""
    model: str | None = None


class SubagentCompleted(SubagentEvent):
    type: Literal["SUBAGENT_COMPLETED"] = "SUBAGENT_COMPLETED"
    status: Literal["completed", "failed", "cancelled"]
    result: str = ""
    duration_ms: float
    #: Model turns the sub-agent took, and the tokens it used.
    turns: int = 0
    usage: TokenUsage = TokenUsage()


AgentEvent = Annotated[
    SessionStarted
    | SessionEnded
    | SessionRenamed
    | MemoryUpdated
    | ModelChanged
    | ModeChanged
    | Notice
    | PromptReceived
    | TokenDelta
    | ThinkingDelta
    | MessageCompleted
    | UsageUpdated
    | Retrying
    | ContextCompacted
    | BranchChanged
    | CheckpointCreated
    | Rewound
    | TaskStarted
    | TaskEnded
    | SandboxBlocked
    | RunCompleted
    | BudgetExceeded
    | RunCancelled
    | Error
    | PlanGenerated
    | PlanUpdated
    | ToolCallStarted
    | ToolCallProgress
    | ToolCallCompleted
    | ToolCallFailed
    | Diagnostics
    | HookExecuted
    | HookDenied
    | PermissionRequested
    | PermissionResolved
    | TrustRequested
    | TrustResolved
    | SteeringQueued
    | SteeringDelivered
    | SteeringWithdrawn
    | SubagentStarted
    | SubagentCompleted
    | McpServerStatus
    | McpServerLog
    | SamplingRequested
    | SamplingResolved
    | ElicitationRequested
    | ElicitationResolved,
    Field(discriminator="type"),
]


@functools.cache
def event_adapter() -> TypeAdapter[AgentEvent]:
    """Validator for any event (built on first use)."""
    return TypeAdapter(AgentEvent)


#: Every event class by its ``type`` value.
EVENT_TYPES: dict[str, type[Event]] = {
    cls.model_fields["type"].default: cls for cls in get_args(get_args(AgentEvent)[0])
}

RUN_END_TYPES = frozenset({"RUN_COMPLETED", "RUN_CANCELLED"})


def parse_event(data: str | bytes | dict[str, Any]) -> AgentEvent:
    """Read one event back from its JSON text or a decoded dict."""
    if isinstance(data, dict):
        return event_adapter().validate_python(data)
    return event_adapter().validate_json(data)


class StreamGap(BaseModel):
    """Not an event of the log: what a drop-on-full subscriber's stream yields in place
    of the events it had to drop. Fetch ``from_seq``..``to_seq`` (inclusive) with
    ``EventStore.replay(from_seq - 1, to_seq)``."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    type: Literal["STREAM_GAP"] = "STREAM_GAP"
    from_seq: int
    to_seq: int
