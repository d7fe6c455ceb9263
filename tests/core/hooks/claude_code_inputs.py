"""Claude Code's hook input fields, per event: what a hook written for Claude Code reads.

Sources (public):
- anthropics/claude-agent-sdk-python, ``src/claude_agent_sdk/types.py`` at commit
  e8bde60164f9ef820068ec36ffe6b7be6bd8fd26: ``BaseHookInput`` and the ``*HookInput``
  TypedDicts (their required keys; ``NotRequired`` ones are in ``OPTIONAL``).
- Claude Code's hooks reference, https://code.claude.com/docs/en/hooks, the "<Event>
  input" sections, for the events the SDK does not type (marked ``# docs``), and the
  values of the matcher fields.
"""

from __future__ import annotations

#: ``BaseHookInput`` (``permission_mode`` is NotRequired there; harness-tui always sends
#: it) plus ``hook_event_name``, which every input has.
COMMON = frozenset({"session_id", "transcript_path", "cwd", "hook_event_name"})

INPUT_FIELDS: dict[str, frozenset[str]] = {
    "PreToolUse": frozenset({"tool_name", "tool_input", "tool_use_id"}),
    "PostToolUse": frozenset({"tool_name", "tool_input", "tool_response", "tool_use_id"}),
    "PostToolUseFailure": frozenset({"tool_name", "tool_input", "tool_use_id", "error"}),
    "UserPromptSubmit": frozenset({"prompt"}),
    "Stop": frozenset({"stop_hook_active"}),
    "SubagentStop": frozenset(
        {"stop_hook_active", "agent_id", "agent_transcript_path", "agent_type"}
    ),
    "PreCompact": frozenset({"trigger", "custom_instructions"}),
    "Notification": frozenset({"message", "notification_type"}),
    "SubagentStart": frozenset({"agent_id", "agent_type"}),
    "PermissionRequest": frozenset({"tool_name", "tool_input"}),
    "SessionStart": frozenset({"source", "model"}),  # docs
    "SessionEnd": frozenset({"reason"}),  # docs
    "PostToolBatch": frozenset({"tool_calls"}),  # docs
    "PermissionDenied": frozenset({"tool_name", "tool_input", "tool_use_id", "reason"}),  # docs
    "StopFailure": frozenset({"error", "error_details", "last_assistant_message"}),  # docs
    "PostCompact": frozenset({"trigger", "compact_summary"}),  # docs
    "InstructionsLoaded": frozenset({"file_path", "memory_type", "load_reason"}),  # docs
    "Elicitation": frozenset(  # docs
        {"mcp_server_name", "message", "mode", "requested_schema"}
    ),
    "ElicitationResult": frozenset(  # docs
        {"mcp_server_name", "action", "content", "mode", "elicitation_id"}
    ),
    "WorktreeCreate": frozenset({"name"}),  # docs
    "WorktreeRemove": frozenset({"worktree_path"}),  # docs
    "UserPromptExpansion": frozenset(  # docs
        {"expansion_type", "command_name", "command_args", "command_source", "prompt"}
    ),
}

#: NotRequired keys (SDK) and documented optional ones, checked when present.
OPTIONAL: dict[str, frozenset[str]] = {
    "PostToolUseFailure": frozenset({"is_interrupt", "duration_ms"}),
    "PostToolUse": frozenset({"duration_ms"}),
    "Notification": frozenset({"title"}),
    "PermissionRequest": frozenset({"permission_suggestions"}),
    "Stop": frozenset({"last_assistant_message"}),
    "SubagentStop": frozenset({"last_assistant_message"}),
}

#: Each ``PostToolBatch`` ``tool_calls`` entry (docs).
BATCH_CALL_FIELDS = frozenset({"tool_name", "tool_input", "tool_use_id", "tool_response"})

#: Documented values of enumerated fields.
VALUES: dict[tuple[str, str], frozenset[str]] = {
    ("SessionStart", "source"): frozenset({"startup", "resume", "clear", "compact"}),
    ("SessionEnd", "reason"): frozenset(
        {"clear", "resume", "logout", "prompt_input_exit", "bypass_permissions_disabled", "other"}
    ),
    ("PreCompact", "trigger"): frozenset({"manual", "auto"}),
    ("InstructionsLoaded", "memory_type"): frozenset({"User", "Project", "Local", "Managed"}),
    ("InstructionsLoaded", "load_reason"): frozenset(
        {"session_start", "nested_traversal", "path_glob_match", "include", "compact"}
    ),
    ("ElicitationResult", "action"): frozenset({"accept", "decline", "cancel"}),
    ("UserPromptExpansion", "expansion_type"): frozenset({"slash_command", "mcp_prompt"}),
    ("PostCompact", "trigger"): frozenset({"manual", "auto"}),
    ("StopFailure", "error"): frozenset(
        {
            "rate_limit",
            "authentication_failed",
            "oauth_org_not_allowed",
            "billing_error",
            "invalid_request",
            "model_not_found",
            "server_error",
            "max_output_tokens",
            "unknown",
        }
    ),
    ("Notification", "notification_type"): frozenset(
        {
            "permission_prompt",
            "idle_prompt",
            "auth_success",
            "elicitation_dialog",
            "elicitation_complete",
            "elicitation_response",
        }
    ),
}

#: Claude Code's documented events (33), for the catalog's completeness.
DOCUMENTED_EVENTS = frozenset(
    {
        "SessionStart",
        "Setup",
        "UserPromptSubmit",
        "UserPromptExpansion",
        "PreToolUse",
        "PermissionRequest",
        "PermissionDenied",
        "PostToolUse",
        "PostToolUseFailure",
        "PostToolBatch",
        "Notification",
        "MessageDisplay",
        "SubagentStart",
        "SubagentStop",
        "TaskCreated",
        "TaskCompleted",
        "Stop",
        "StopFailure",
        "TeammateIdle",
        "InstructionsLoaded",
        "ConfigChange",
        "CwdChanged",
        "DirectoryAdded",
        "FileChanged",
        "WorktreeCreate",
        "WorktreeRemove",
        "PreCompact",
        "PostCompact",
        "PreModelSwitch",
        "PostModelSwitch",
        "Elicitation",
        "ElicitationResult",
        "SessionEnd",
    }
)


def check_input(event: str, data: dict[str, object]) -> list[str]:
    """What is wrong with one hook input by Claude Code's schema ([] when nothing)."""
    problems = []
    required = COMMON | INPUT_FIELDS[event]
    missing = required - set(data)
    if missing:
        problems.append(f"{event}: missing {sorted(missing)}")
    if data.get("hook_event_name") != event:
        problems.append(f"{event}: hook_event_name is {data.get('hook_event_name')!r}")
    for (name, field), allowed in VALUES.items():
        if name == event and field in data and data[field] not in allowed:
            problems.append(f"{event}.{field}: {data[field]!r} is not one of {sorted(allowed)}")
    if event == "PostToolBatch":
        for call in data.get("tool_calls", []):  # type: ignore[union-attr]
            if set(call) != BATCH_CALL_FIELDS:  # type: ignore[arg-type]
                problems.append(f"PostToolBatch.tool_calls entry has {sorted(call)}")  # type: ignore[arg-type]
    return problems
