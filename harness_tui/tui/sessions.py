"""The TUI's session commands: ``/resume`` (with a picker), ``/fork`` (with a picker of
earlier messages), ``/tree``, ``/compact``, ``/export`` and ``/cost``, and the token
accounting that ``/context`` starts with.

Kept apart from ``app`` so the app stays a small switchboard: each command is a call on
the session, and what it changes comes back as events like everything else.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING

from anyio import to_thread

from harness_tui.core.errors import HarnessError
from harness_tui.core.events import Event, UsageUpdated
from harness_tui.core.messages import TokenUsage, UserMessage
from harness_tui.core.run.context import MCP_TOOL_PREFIX
from harness_tui.core.session.session import Session
from harness_tui.core.storage.export import export_json, export_markdown
from harness_tui.core.storage.records import MessageEntry
from harness_tui.core.storage.saved import list_sessions, load_session
from harness_tui.core.storage.transcript import transcript_events
from harness_tui.core.storage.tree import describe, render_tree
from harness_tui.widgets.conversation import Conversation
from harness_tui.widgets.prompt_input import PromptInput
from harness_tui.widgets.screens.session_picker import PickerRow, SessionPicker

if TYPE_CHECKING:
    from harness_tui.tui.app import HarnessApp


def run(app: HarnessApp, name: str, argument: str) -> None:
    """One of ``SESSION_COMMANDS``; the argument is what followed the name."""
    session = app.session
    if name == "cost":
        app._say(cost_text(session))
    elif name == "compact":
        app._call(session.compact(argument or None))
    elif name == "resume":
        if argument:
            app._replace_session(argument)
        else:
            pick_session(app)
    elif name == "fork":
        if argument:
            app._call(fork(app, argument))
        else:
            pick_fork(app)
    elif name == "tree":
        lines = render_tree(session.tree, session.messages.head)
        app._say(
            "Conversation tree (@ is where you are; /fork ID goes on from an entry):\n"
            + "\n".join(lines)
            if lines
            else "No messages yet."
        )
    elif name == "export":
        app._call(export(app, argument))


def cost_text(session: Session) -> str:
    usage = session.total_usage
    cost = (
        f"${session.total_cost_usd:.4f}"
        if session.total_cost_usd is not None
        else f"unknown (no price known for {session.model.name})"
    )
    return (
        f"Tokens so far: {usage.input_tokens:,} in, {usage.output_tokens:,} out, "
        f"{usage.cache_read_tokens:,} read from cache, {usage.cache_write_tokens:,} written "
        f"to cache. Cost: {cost}."
    )


def context_text(session: Session) -> str:
    """``/context``'s numbers: the parts, one a row, and their total (which is the count
    the status bar shows and compaction uses: the parts always add up to it)."""
    parts = session.context_breakdown()
    tools = session.tool_specs()
    mcp = sum(1 for t in tools if t.name.startswith(MCP_TOOL_PREFIX))
    used, window = parts.used, session.model.context_window
    fill = f" of {window:,} ({used / window:.0%})" if window else ""
    source = (
        "the provider's count of the last request plus an estimate of what came since"
        if parts.reported
        else "an estimate (no count from the provider yet)"
    )
    compact = f"; compaction at {session.compact_at:.0%}" if window else ""
    rows = [
        ("system prompt", f"{parts.system:,}"),
        (f"tool definitions ({len(tools) - mcp})", f"{parts.tools:,}"),
    ]
    if mcp:
        rows.append((f"MCP tool definitions ({mcp})", f"{parts.mcp_tools:,}"))
    rows.append((f"messages ({len(session.messages)})", f"{parts.messages:,}"))
    if parts.reported:  # the provider counted differently from the estimates
        sign = "+" if parts.adjustment >= 0 else "−"
        rows.append(("provider's count − estimates", f"{sign}{abs(parts.adjustment):,}"))
    rows.append(("total", f"{used:,}"))
    width = max(len(label) for label, _ in rows) + max(len(value) for _, value in rows) + 2
    table = "\n".join(f"  {label}{value.rjust(width - len(label))}" for label, value in rows)
    return f"Context: {used:,} tokens{fill}{compact} — {source}.\n{table}"


def branch_events(session: Session) -> list[Event]:
    """Display events for the branch a resumed or forked session starts from."""
    if not session.messages:
        return []
    events = transcript_events(session.id, session.tree.path(session.messages.head))
    events.append(
        UsageUpdated(
            session_id=session.id,
            usage=TokenUsage(),
            total=session.total_usage,
            total_cost_usd=session.total_cost_usd,
            context_tokens=session.context_tokens(),
            context_window=session.model.context_window,
        )
    )
    return events


def pick_session(app: HarnessApp, start: bool = False) -> None:
    """The picker of this folder's saved sessions; ``start``: nothing runs yet, and
    closing the picker starts a new session."""
    session = app.session
    try:
        saved = list_sessions(session.cwd)
    except HarnessError as exc:
        app._say(str(exc), "error")
        saved = []
    rows = [
        PickerRow(info.session_id, info.label(), info.session_id)
        for info in saved
        if info.session_id != session.id
    ]

    def chosen(key: str | None) -> None:
        if key:
            app._replace_session(key)
        elif start:
            app.pick_session = False
            app._open(app.session)

    app.push_screen(
        SessionPicker(
            f"Resume a session of {session.cwd}",
            rows,
            empty="No saved sessions in this folder yet (Esc starts a new one)."
            if start
            else "No other saved sessions in this folder.",
        ),
        callback=chosen,
    )


def pick_fork(app: HarnessApp) -> None:
    """The picker of earlier user messages, newest first: the new branch goes on from
    just before the chosen one, whose text comes back to the input to be rewritten."""
    session = app.session
    on_branch = {e.id for e in session.tree.path(session.messages.head)}
    rows = [
        PickerRow(
            entry.id,
            f"{'*' if entry.id in on_branch else ' '} {describe(entry, 90)}",
        )
        for entry in reversed(session.tree.entries.values())
        if isinstance(entry, MessageEntry) and isinstance(entry.message, UserMessage)
    ]
    if not rows:
        app._say("Nothing to fork from yet.")
        return

    def chosen(key: str | None) -> None:
        if key:
            app._call(fork(app, key, before=True))

    app.push_screen(
        SessionPicker("Fork: ask one of these again (* = on this branch)", rows),
        callback=chosen,
    )


async def fork(app: HarnessApp, entry_id: str, before: bool = False) -> None:
    """Move the session to another branch and show it."""
    session = app.session
    target = session.tree.resolve(entry_id)
    await session.fork(target, before=before)
    await app.query_one(Conversation).clear()
    await app._show_branch(session)
    entry = session.tree.get(target)
    if before and isinstance(entry, MessageEntry) and isinstance(entry.message, UserMessage):
        app.query_one(PromptInput).put_back(entry.message.typed)


async def export(app: HarnessApp, argument: str) -> None:
    """Write the session as ``BASE.md`` and ``BASE.json``."""
    session = app.session
    if session.file is None:
        raise HarnessError("this session is not saved, so there is nothing to export")
    base = _export_base(session, argument)
    read = functools.partial(load_session, str(session.file), every_record=True)
    saved = await to_thread.run_sync(read)
    written = []
    for suffix, render in ((".md", export_markdown), (".json", export_json)):
        target = base.with_name(base.name + suffix)
        text = render(saved)
        try:
            await to_thread.run_sync(target.write_text, text, "utf-8")
        except OSError as exc:
            raise HarnessError(f"cannot write {target}: {exc.strerror or exc}") from None
        written.append(str(target))
    app._say("Exported to " + " and ".join(written) + ".")


def _export_base(session: Session, argument: str) -> Path:
    """Where ``/export`` writes: the path given (without its suffix), else
    ``harness-<session id>`` in the working folder."""
    base = Path(argument).expanduser() if argument else Path(f"harness-{session.id}")
    if not base.is_absolute():
        base = session.cwd / base
    return base.with_suffix("") if base.suffix in (".md", ".json") else base
