"""Claude Code's hook events, all of them, and what harness-tui does with each.

Source: Claude Code's hooks reference (https://code.claude.com/docs/en/hooks, the
event list as of late 2026: 33 events) and, for the input fields of the events it
types, the Python Agent SDK's ``HookInput`` TypedDicts
(anthropics/claude-agent-sdk-python, ``src/claude_agent_sdk/types.py``).

Every event is accepted in the settings. Those with a counterpart here fire with
Claude Code's input fields; the others (``fired=False``) are accepted and never run,
and ``why`` says what harness-tui lacks. The README's hook table is this one.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class EventSpec:
    name: str
    #: The input field a matcher is compared with; None: the event takes no matcher
    #: (a matcher given is ignored, as Claude Code does).
    match_field: str | None
    #: Exit 2 / ``decision: "block"`` acts on the event.
    blocking: bool
    #: Plain (non-JSON) stdout is added to the model's context.
    context: bool
    #: harness-tui fires it.
    fired: bool
    #: Where it fires, or why it never does.
    why: str


def _spec(
    name: str,
    match_field: str | None,
    why: str,
    *,
    blocking: bool = False,
    context: bool = False,
    fired: bool = True,
) -> EventSpec:
    return EventSpec(name, match_field, blocking, context, fired, why)


_NA = {"fired": False}

EVENTS: dict[str, EventSpec] = {
    s.name: s
    for s in (
        _spec("SessionStart", "source", "a session starts or resumes", context=True),
        _spec("Setup", "trigger", "no --init / --maintenance mode", **_NA),
        _spec("UserPromptSubmit", None, "a prompt is sent", blocking=True, context=True),
        _spec(
            "UserPromptExpansion",
            "command_name",
            "a custom slash command or skill (/name args) becomes a prompt",
            blocking=True,
            context=True,
        ),
        _spec("PreToolUse", "tool_name", "before each tool call", blocking=True),
        _spec(
            "PermissionRequest",
            "tool_name",
            "before a permission question is asked",
            blocking=True,
        ),
        _spec(
            "PermissionDenied",
            "tool_name",
            "a call is refused because nobody can answer its question (headless)",
        ),
        _spec("PostToolUse", "tool_name", "after a tool call that succeeded", blocking=True),
        _spec("PostToolUseFailure", "tool_name", "after a tool call that failed"),
        _spec(
            "PostToolBatch",
            None,
            "after all tool calls of one answer, before the next request",
            blocking=True,
        ),
        _spec("Notification", "notification_type", "a permission question waits"),
        _spec("MessageDisplay", None, "no hook point on displayed messages", **_NA),
        _spec("SubagentStart", "agent_type", "a sub-agent (Task) starts"),
        _spec("SubagentStop", "agent_type", "a sub-agent would finish", blocking=True),
        _spec("TaskCreated", None, "no task list tool (TaskCreate); the plan is TodoWrite", **_NA),
        _spec("TaskCompleted", None, "no task list tool (TaskCreate)", **_NA),
        _spec("Stop", None, "the run would end", blocking=True),
        _spec("StopFailure", "error", "a run ends on a model API error"),
        _spec("TeammateIdle", None, "no agent teams", **_NA),
        _spec(
            "InstructionsLoaded",
            "load_reason",
            "each AGENTS.md / CLAUDE.md the system prompt takes, at session start",
        ),
        _spec("ConfigChange", "source", "settings files are not watched", **_NA),
        _spec("CwdChanged", None, "the session's folder never changes", **_NA),
        _spec("DirectoryAdded", None, "no /add-dir; folders come from the settings", **_NA),
        _spec("FileChanged", "file_path", "files are not watched", **_NA),
        _spec(
            "WorktreeCreate",
            None,
            "a session (--worktree) or a sub-agent (isolation: worktree) starts in a new "
            "worktree (it observes: git makes it)",
        ),
        _spec("WorktreeRemove", None, "before an unchanged worktree is removed at the end"),
        _spec("PreCompact", "trigger", "before compaction", blocking=True),
        _spec("PostCompact", "trigger", "after compaction"),
        _spec(
            "PreModelSwitch",
            "to_model",
            "not wired: /model switches models, but the prompt-cache state and cost "
            "these events report are not tracked here",
            **_NA,
        ),
        _spec("PostModelSwitch", "to_model", "not wired (see PreModelSwitch)", **_NA),
        _spec(
            "Elicitation",
            "mcp_server_name",
            "an MCP server asks the user for input",
            blocking=True,
        ),
        _spec(
            "ElicitationResult",
            "mcp_server_name",
            "the user answered an MCP server's question",
            blocking=True,
        ),
        _spec("SessionEnd", "reason", "the session closes"),
    )
}

HOOK_EVENTS: tuple[str, ...] = tuple(EVENTS)
FIRED_EVENTS = frozenset(name for name, spec in EVENTS.items() if spec.fired)
#: Events whose hooks an ``if`` condition (a permission rule) applies to; on the
#: others a hook with ``if`` never runs (Claude Code's rule).
TOOL_EVENTS = frozenset(
    {"PreToolUse", "PostToolUse", "PostToolUseFailure", "PermissionRequest", "PermissionDenied"}
)
BLOCKING_EVENTS = frozenset(name for name, spec in EVENTS.items() if spec.blocking)
CONTEXT_EVENTS = frozenset(name for name, spec in EVENTS.items() if spec.context)
MATCH_FIELDS = {name: spec.match_field for name, spec in EVENTS.items() if spec.match_field}
#: ``SessionEnd`` reasons (its matcher values).
SESSION_END_REASONS = (
    "clear",
    "resume",
    "logout",
    "prompt_input_exit",
    "bypass_permissions_disabled",
    "other",
)
