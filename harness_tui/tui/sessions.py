"""Session switching and the saved session's texts: a new conversation (``/clear``), a
resumed one (``/resume``), another branch (``/fork``), and what ``/tree``, ``/export``,
``/cost`` and ``/context`` show; and the session's mirror to browsers (``--serve``).

Loaded on demand (it imports the core). It never imports the app: what it needs of it
is ``AppHost``; the pickers that lead here are in ``dialogs``.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from anyio import to_thread

from harness_tui.core.errors import HarnessError
from harness_tui.core.events import Event, UsageUpdated
from harness_tui.core.messages import TokenUsage, UserMessage
from harness_tui.core.run.context import MCP_TOOL_PREFIX
from harness_tui.core.session.session import Session
from harness_tui.core.storage.export import export_json, export_markdown
from harness_tui.core.storage.records import MessageEntry
from harness_tui.core.storage.saved import load_session
from harness_tui.core.storage.transcript import transcript_events
from harness_tui.core.storage.tree import render_tree
from harness_tui.tui.host import AppHost
from harness_tui.widgets.conversation import Conversation
from harness_tui.widgets.prompt_input import PromptInput
from harness_tui.widgets.status_bar import StatusBar


def cost_text(session: Session) -> str:
    usage = session.total_usage
    cost = (
        f"${session.total_cost_usd:.4f}"
        if session.total_cost_usd is not None
        else f"unknown (no price known for {session.model.name})"
    )
    limits, meter = session.usage.limits, session.usage
    budgets = []
    if limits.session_usd is not None:
        budgets.append(
            f"${meter.total_cost_usd or 0.0:.4f} of the session's ${limits.session_usd:.2f}"
        )
    if limits.run_usd is not None:
        budgets.append(f"${meter.run_cost_usd or 0.0:.4f} of the last run's ${limits.run_usd:.2f}")
    budget = f" Budget: {'; '.join(budgets)}." if budgets else ""
    return (
        f"Tokens so far: {usage.input_tokens:,} in, {usage.output_tokens:,} out, "
        f"{usage.cache_read_tokens:,} read from cache, {usage.cache_write_tokens:,} written "
        f"to cache. Cost: {cost}.{budget}"
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
    rows = [("system prompt", f"{parts.system:,}")]
    if parts.memory:
        rows.append(("memory (/memory)", f"{parts.memory:,}"))
    rows.append((f"tool definitions ({len(tools) - mcp})", f"{parts.tools:,}"))
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


def tree_text(session: Session) -> str:
    """``/tree``: the conversation's branches, where the session is marked."""
    lines = render_tree(session.tree, session.messages.head)
    if not lines:
        return "No messages yet."
    return "Conversation tree (@ is where you are; /fork ID goes on from an entry):\n" + "\n".join(
        lines
    )


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


async def show_branch(app: AppHost, session: Session) -> None:
    """Show the conversation a resumed or forked session starts from."""
    events = branch_events(session)
    if events:
        await app.apply_events(events)
        app.query_one(StatusBar).show_idle()  # a transcript, not a run in progress


async def replace(app: AppHost, resume: str | None = None) -> None:
    """Go on with a new session (``/clear``), or with the saved session ``resume``;
    the old one is closed (and stays saved)."""
    old = app.session
    if old is None:
        return
    options: dict[str, Any] = {
        "trusted": old.trusted,
        "settings": old.settings,
        "cwd": old.cwd,
        "max_turns": old.max_turns,
        "max_budget_usd": old.usage.limits.run_usd,  # the settings' session budget comes too
        "ask_policy": old.permissions.policy,
        "warm": old.warm_up,
    }
    try:
        if resume is None:
            fresh = Session(model=old.model, mode=old.mode, **options)
        else:
            saved = await to_thread.run_sync(load_session, resume)
            fresh = Session.resume(saved, **options)
    except HarnessError as exc:
        app.say(str(exc), "error")
        if app.pick_session:  # the picker at start-up was the only way in
            app.pick_session = False
            app.start_session(old)
        return
    app.pick_session = False
    await old.cancel()
    app.session = fresh
    old.end_reason = "clear" if resume is None else "resume"
    old.request_close()
    if old.store.last_seq:  # it was entered: its file is closed (and unlocked)
        await old.wait_closed()  # before another session opens it
    await app.query_one(Conversation).clear()
    await show_branch(app, fresh)
    app.start_session(fresh)
    if resume is None and old.file is not None and old.messages:
        # /clear is undoable: the old conversation stays saved.
        app.say(f"New conversation. /resume {old.id} brings back the previous one.")


async def mirror(app: AppHost, session: Session, host: str, port: int) -> None:
    """Serve ``session`` to browsers (``--serve``) in the app's own event loop; the
    address is told in the conversation and kept in ``app.mirror_url``."""
    try:
        from harness_tui.web import WebServerError, serve_session
    except ImportError as exc:
        app.say(
            f"--serve needs the [web] extra ({exc.name} is not installed): "
            "pip install 'harness-tui[web]'",
            "error",
        )
        return
    import anyio

    try:
        async with anyio.create_task_group() as group:
            address = await group.start(
                functools.partial(serve_session, session, host=host, port=port)
            )
            app.mirror_url = address.url
            warning = " (reachable from other machines)" if address.exposed else ""
            app.say(f"Web mirror{warning}: {address.url}")
    except WebServerError as exc:
        app.say(str(exc), "error")


async def fork(app: AppHost, entry_id: str, before: bool = False) -> None:
    """Move the session to another branch and show it."""
    session = app.session
    target = session.tree.resolve(entry_id)
    await session.fork(target, before=before)
    await app.query_one(Conversation).clear()
    await show_branch(app, session)
    entry = session.tree.get(target)
    if before and isinstance(entry, MessageEntry) and isinstance(entry.message, UserMessage):
        app.query_one(PromptInput).put_back(entry.message.typed)


async def export(app: AppHost, argument: str) -> None:
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
    app.say("Exported to " + " and ".join(written) + ".")


def _export_base(session: Session, argument: str) -> Path:
    """Where ``/export`` writes: the path given (without its suffix), else
    ``harness-<session id>`` in the working folder."""
    base = Path(argument).expanduser() if argument else Path(f"harness-{session.id}")
    if not base.is_absolute():
        base = session.cwd / base
    return base.with_suffix("") if base.suffix in (".md", ".json") else base


async def host(app: AppHost, session: Session, held: tuple[str, str] | None) -> None:
    """Hold the session open until the app asks it to close; a close asked for from
    elsewhere (the agent view) quits the app. ``held``: in a background holder
    (``harness_tui.background``), its socket and a prompt to send first."""
    session.front_end = "background" if held else "tui"
    session.attach = held[0] if held else ""
    session.remote_close = lambda: app.run_worker(  # type: ignore[attr-defined]
        app.action_quit(), group="quit", exclusive=True, exit_on_error=False
    )
    async with session:
        if held and held[1].strip():
            await session.submit(held[1])
        await session.wait_close_requested()


async def to_background(app: AppHost) -> None:
    """``/background``: close the session here and open it again in a background holder
    (``harness_tui.background``); this app then ends, saying how to come back to it. A
    run must end first, and a session in a worktree stays (its end may remove it)."""
    from harness_tui.background.launch import start

    session = app.session
    if session is None:
        return
    if session.running:
        app.say("A run is going on: wait for it to end (or Esc), then /background.", "warning")
        return
    if session.worktree is not None:
        app.say(
            "A --worktree session cannot move to the background (its worktree goes with "
            "it); start one there with `harness-tui --background --worktree NAME`.",
            "warning",
        )
        return
    app.say("Moving this session to the background…")
    app.session = None  # type: ignore[assignment]  # no quit on its close: it goes on
    session.request_close()
    if session.store.last_seq:
        await session.wait_closed()  # its file closed (and unlocked) before it reopens
    try:
        record = await to_thread.run_sync(
            start, ["--background", "--resume", session.id], session.cwd
        )
    except HarnessError as exc:
        app.say(f"Could not move it to the background: {exc}", "error")
        app.session = session
        await replace(app, session.id)
        return
    app.exit(
        message=f"{record.session_id} goes on in the background: `harness-tui attach "
        f"{record.session_id}` opens it here, `harness-tui agents` lists every session."
    )
