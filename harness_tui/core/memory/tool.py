"""``Memory``: the model keeps what is worth remembering across sessions.

Actions: ``add`` (a one-line entry, optionally pointing at a topic), ``update`` and
``remove`` (by the entry's id, as ``list`` shows it), ``list`` (both scopes' entries with
their ids), ``read`` (a topic file) and ``write_topic`` (a topic file's whole text).
``scope`` is ``project`` (the default: this repository, shared by its worktrees) or
``user`` (facts about the user, every project).

Every change is a ``MEMORY_UPDATED`` event (``by`` ``model``), so the TUI, the page and
the session file show it. With the ``memory.writes`` setting ``ask`` each call asks
permission as a file edit does; with ``off`` (and for sub-agents) the tool still reads
but refuses every change, saying how the user turns it on; secret-looking text is
refused whatever the setting (``store.clean_entry``). Memory is data: what it says grants
no permission (the prompt's memory section says so to the model).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness_tui.core.errors import HarnessError
from harness_tui.core.events import MemoryUpdated
from harness_tui.core.memory.places import project_folder, user_folder
from harness_tui.core.memory.store import MemoryRefused, MemoryStore
from harness_tui.core.tools.base import Tool, ToolContext, ToolResult, object_schema

ACTIONS = ("add", "update", "remove", "list", "read", "write_topic")
#: ``notice``: writes happen, each shown; ``ask``: each call asks permission (as an edit
#: does: default mode asks, acceptEdits and bypassPermissions allow, plan refuses);
#: ``off``: reads only.
WRITES = ("notice", "ask", "off")


def writes_setting(settings: Any) -> str:
    """The settings' ``memory.writes`` (``notice``, the default, or ``off``); a bad value
    raises ``HarnessError`` naming the file."""
    found = settings.value("memory") if settings is not None else None
    if found is None:
        return "notice"
    value, source = found
    writes = value.get("writes", "notice") if isinstance(value, dict) else value
    if writes not in WRITES:
        raise HarnessError(
            f"{source.label}: memory.writes: must be one of {', '.join(WRITES)}, not {writes!r}"
        )
    return str(writes)


def stores(cwd: Path) -> dict[str, MemoryStore]:
    return {
        "project": MemoryStore(project_folder(cwd), "project"),
        "user": MemoryStore(user_folder(), "user"),
    }


class MemoryTool(Tool):
    name = "Memory"
    description = (
        "Remember across sessions what will help later: build and test commands that "
        "work, conventions the user asked for, where things live, the user's preferences. "
        "scope 'project' (default) is this repository; 'user' is about the user, for every "
        "project. Keep entries to one line; put details in a topic file (write_topic, "
        "then add an entry naming the topic). Use list before update/remove (they take an "
        "entry's id). Never store secrets. Save only what the user would want kept: every "
        "change is shown to them."
    )
    input_schema = object_schema(
        properties={
            "action": {"enum": list(ACTIONS)},
            "scope": {"enum": ["project", "user"]},
            "text": {"type": "string", "description": "add/update: the one-line entry"},
            "id": {"type": "string", "description": "update/remove: the entry's id"},
            "topic": {"type": "string", "description": "read/write_topic, or add's topic"},
            "content": {"type": "string", "description": "write_topic: the whole text"},
        },
        required=["action"],
    )
    # It writes the user's memory folder, never the workspace: no file permission to ask.
    read_only = True

    def __init__(self, writes: str = "notice") -> None:
        self.writes = writes if writes in WRITES else "notice"
        if self.writes == "ask":  # the permission gate asks, as for a file edit
            self.read_only = False  # type: ignore[misc]
            self.access = "edit"  # type: ignore[misc]

    def for_subagent(self) -> MemoryTool:
        """A sub-agent reads the memory and never writes it."""
        return MemoryTool(writes="off")

    async def run(self, input: dict[str, Any], ctx: ToolContext) -> ToolResult:
        action, scope = input["action"], input.get("scope") or "project"
        every = stores(ctx.cwd)
        store = every[scope]
        try:
            if action == "list":
                return ToolResult(content=_listing(every))
            if action == "read":
                return ToolResult(content=store.topic(str(input.get("topic", ""))))
            if self.writes == "off":
                raise MemoryRefused(
                    "memory writes are off (the setting memory.writes is 'off')",
                    "the user can turn them on; tell them what you wanted to keep",
                )
            entry_id, text, done = self._change(store, action, input, ctx)
        except MemoryRefused as exc:
            hint = f" ({exc.hint})" if exc.hint else ""
            return ToolResult(content=f"{exc.message}{hint}", is_error=True)
        await ctx.emit(
            MemoryUpdated,
            action="topic" if action == "write_topic" else action,
            scope=scope,
            entry_id=entry_id,
            text=text,
            by="model",
            tool_call_id=ctx.tool_call_id,
        )
        over = store.over_cap()
        if over:  # the next session would not see it all: tidy up now, in this run
            done += (
                f"\nThe {scope} memory index is over its cap ({over}). Consolidate it now: "
                "list it, merge duplicates into one entry (update), remove stale or "
                "superseded ones (remove), move details into topic files."
            )
        return ToolResult(content=done, display=f"{scope}: {text[:60]}")

    @staticmethod
    def _change(
        store: MemoryStore, action: str, input: dict[str, Any], ctx: ToolContext
    ) -> tuple[str, str, str]:
        """(entry id, its text, what to tell the model)."""
        if action == "add":
            entry = store.add(
                str(input.get("text", "")),
                topic=str(input.get("topic", "")),
                session=ctx.session_id,
            )
            return entry.id, entry.text, f"Kept in {store.scope} memory as {entry.id}."
        if action == "update":
            entry = store.update(str(input.get("id", "")), str(input.get("text", "")))
            return entry.id, entry.text, f"Entry {entry.id} updated."
        if action == "remove":
            entry = store.remove(str(input.get("id", "")))
            return entry.id, entry.text, f"Entry {entry.id} removed."
        topic = str(input.get("topic", ""))
        path = store.write_topic(topic, str(input.get("content", "")))
        return topic, path.name, f"Topic {topic} written ({path.name})."


def _listing(every: dict[str, MemoryStore]) -> str:
    lines = []
    for scope, store in every.items():
        entries = store.entries()
        lines.append(f"{scope} memory ({len(entries)} entries):")
        lines += [f"  {e.id}  {e.text}" + (f"  [topic: {e.topic}]" if e.topic else "")
                  for e in entries]  # fmt: skip
        topics = store.topics()
        if topics:
            lines.append(f"  topics: {', '.join(topics)}")
    return "\n".join(lines)


def describe(event: MemoryUpdated) -> str:
    """What a ``MEMORY_UPDATED`` says to the user (the TUI, the page): every write seen."""
    who = "The model" if event.by == "model" else "You"
    did = {"add": "kept", "update": "updated", "remove": "forgot", "topic": "wrote the topic"}
    return (
        f"{who} {did[event.action]} in {event.scope} memory: {event.text} "
        f"({event.entry_id}; /memory to see or undo)"
    )
