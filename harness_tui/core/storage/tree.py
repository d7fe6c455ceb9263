"""The conversation as a tree of entries, and what a branch of it gives the model.

Entries (``MessageEntry``, ``CompactionEntry``) link to their parent; a fork is a second
child of some entry. The *head* is the entry the conversation continues from. What the
model sees at a head: walk from the root to the head; after the last compaction on that
path, the compaction's summary, then the messages from its ``first_kept_id`` on (skipping
earlier compactions), then the messages after it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from harness_tui.core.errors import HarnessError
from harness_tui.core.events import new_id
from harness_tui.core.messages import (
    AssistantMessage,
    Message,
    TextBlock,
    ToolCallBlock,
    ToolResultMessage,
    UserMessage,
)
from harness_tui.core.storage.records import CompactionEntry, Entry, MessageEntry

SUMMARY_INTRO = (
    "This session continues an earlier conversation that was compacted to save context. "
    "Summary of the earlier part:\n\n"
)


def summary_message(summary: str) -> UserMessage:
    """The message that stands for a compacted part of the conversation."""
    return UserMessage.of(SUMMARY_INTRO + summary)


@dataclass(frozen=True, slots=True)
class Context:
    """What the model sees at a head: the messages, and the id of the entry each one
    came from (a summary's id is its compaction's)."""

    messages: list[Message]
    entry_ids: list[str]
    #: Tool calls and results whose other half was lost to a damaged file, mended so
    #: that the model can be asked again (see ``pair_tool_calls``).
    mended: int = 0


class EntryTree:
    """Every entry of a session file, indexed by id and by parent."""

    def __init__(self, entries: Iterable[Entry] = ()) -> None:
        self.entries: dict[str, Entry] = {}
        self.children: dict[str | None, list[str]] = {}
        for entry in entries:
            self.add(entry)

    def add(self, entry: Entry) -> None:
        if entry.id in self.entries:
            return  # a record written twice (never by us; kept once)
        self.entries[entry.id] = entry
        self.children.setdefault(entry.parent_id, []).append(entry.id)

    def __contains__(self, entry_id: object) -> bool:
        return entry_id in self.entries

    def __len__(self) -> int:
        return len(self.entries)

    def get(self, entry_id: str) -> Entry:
        try:
            return self.entries[entry_id]
        except KeyError:
            raise HarnessError(
                f"no entry {entry_id!r} in this session", hint="see /tree for the entry ids"
            ) from None

    def path(self, head: str | None) -> list[Entry]:
        """The entries from the root to ``head`` (inclusive)."""
        path: list[Entry] = []
        seen: set[str] = set()
        current = head
        while current is not None:
            entry = self.entries.get(current)
            if entry is None or current in seen:
                break  # a parent lost to damage, or a loop: the branch starts here
            seen.add(current)
            path.append(entry)
            current = entry.parent_id
        path.reverse()
        return path

    def leaves(self) -> list[str]:
        """Ids of entries without children, oldest first."""
        return [i for i in self.entries if i not in self.children]

    def context(self, head: str | None) -> Context:
        return context_of(self.path(head))

    def resolve(self, prefix: str) -> str:
        """The id of the one entry whose id starts with ``prefix``."""
        if prefix in self.entries:
            return prefix
        found = [i for i in self.entries if i.startswith(prefix)]
        if len(found) == 1:
            return found[0]
        raise HarnessError(
            f"{'no entry' if not found else 'several entries'} match {prefix!r}",
            hint="see /tree for the entry ids",
        )


def context_of(path: Sequence[Entry]) -> Context:
    """What the model sees after the entries of ``path`` (root first)."""
    last = None
    for index in range(len(path) - 1, -1, -1):
        if isinstance(path[index], CompactionEntry):
            last = index
            break
    messages: list[Message] = []
    ids: list[str] = []
    if last is None:
        kept: Iterable[Entry] = path
    else:
        compaction = path[last]
        assert isinstance(compaction, CompactionEntry)
        messages.append(summary_message(compaction.summary))
        ids.append(compaction.id)
        first = last + 1
        if compaction.first_kept_id is not None:
            first = next(
                (i for i in range(last) if path[i].id == compaction.first_kept_id), last + 1
            )
        kept = (*path[first:last], *path[last + 1 :])
    for entry in kept:
        if isinstance(entry, MessageEntry):
            messages.append(entry.message)
            ids.append(entry.id)
    return pair_tool_calls(messages, ids)


#: What stands for a tool result lost from a damaged session file.
LOST_RESULT = "the result of this call was lost (the session file was damaged)"


def pair_tool_calls(messages: list[Message], ids: list[str]) -> Context:
    """The messages with every tool result after its call, as providers require, where
    a damaged file lost one half of a pair: a call whose result is lost gets an error
    result (before the next message); a result whose call is lost becomes a user
    message that quotes it. Calls still open at the end are left to ``loose_ends``."""
    out: list[Message] = []
    out_ids: list[str] = []
    open_calls: dict[str, ToolCallBlock] = {}
    mended = 0
    for message, entry_id in zip(messages, ids, strict=True):
        if isinstance(message, ToolResultMessage):
            if open_calls.pop(message.tool_call_id, None) is None:
                mended += 1
                message = UserMessage.of(
                    f"[A {message.tool_name} result whose call was lost from the session "
                    f"file]\n{message.content}"
                )
        else:
            for call in open_calls.values():
                mended += 1
                out.append(_lost_result(call))
                out_ids.append(out_ids[-1])
            open_calls = {}
            if isinstance(message, AssistantMessage):
                open_calls = {call.id: call for call in message.tool_calls}
        out.append(message)
        out_ids.append(entry_id)
    return Context(out, out_ids, mended)


def _lost_result(call: ToolCallBlock) -> ToolResultMessage:
    return ToolResultMessage(
        tool_call_id=call.id, tool_name=call.name, content=LOST_RESULT, is_error=True
    )


def render_tree(tree: EntryTree, head: str | None, width: int = 70) -> list[str]:
    """The tree as indented lines: user messages, compactions and the end of each
    branch (the entries one forks from or resumes); a branch point indents its
    branches. ``*`` marks the head's branch, ``@`` the head itself."""
    on_path = {e.id for e in tree.path(head)}
    lines: list[str] = []
    stack: list[tuple[str, int]] = [(kid, 0) for kid in reversed(tree.children.get(None, []))]
    while stack:
        node, level = stack.pop()
        kids = tree.children.get(node, [])
        entry = tree.entries[node]
        shown = not kids or isinstance(entry, CompactionEntry) or entry.message.role == "user"
        if shown or node == head:
            mark = "@" if node == head else "*" if node in on_path else " "
            end = "  ◆ end of branch" if not kids else ""
            lines.append(f"{mark} {'  ' * level}{entry.id}  {describe(entry, width)}{end}")
        deeper = level + 1 if len(kids) > 1 else level
        stack.extend((kid, deeper) for kid in reversed(kids))
    return lines


def describe(entry: Entry, width: int = 70) -> str:
    """A one-line preview of an entry."""
    if isinstance(entry, CompactionEntry):
        text = f"[compacted: {entry.tokens_before:,} → {entry.tokens_after:,} tokens]"
    else:
        message = entry.message
        if message.role == "user":
            text = f"{'you' if message.source != 'steering' else 'steer'}: {message.typed}"
        elif message.role == "assistant":
            calls = ", ".join(c.name for c in message.tool_calls)
            text = f"model: {message.text}" + (f" [{calls}]" if calls else "")
        else:
            text = f"{message.tool_name} result: {message.content}"
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


#: The result of a tool call that was running when harness-tui stopped.
STOPPED_RESULT = "not finished: harness-tui stopped while this tool call ran"


def loose_ends(
    messages: Sequence[Message], partial_text: str, *, provider: str, model: str
) -> tuple[list[Message], str | None]:
    """What a conversation that ended inside a run (the process was killed) needs to be
    a valid request again: a result for every tool call of the last response that has
    none, then the answer that was streaming (kept, marked interrupted). Returns those
    messages and a note for the user (None when nothing was missing)."""
    answered: set[str] = set()
    calls: Sequence[ToolCallBlock] = ()
    for message in reversed(messages):
        if isinstance(message, ToolResultMessage):
            answered.add(message.tool_call_id)
            continue
        if isinstance(message, AssistantMessage):
            calls = message.tool_calls
        break
    added: list[Message] = [
        ToolResultMessage(
            tool_call_id=call.id, tool_name=call.name, content=STOPPED_RESULT, is_error=True
        )
        for call in calls
        if call.id not in answered
    ]
    notes = []
    if added:
        names = ", ".join(dict.fromkeys(m.tool_name for m in added))  # type: ignore[union-attr]
        notes.append(f"{len(added)} tool call(s) that never finished ({names}) are marked so")
    if partial_text.strip():
        added.append(
            AssistantMessage(
                id=new_id("msg"),
                content=(TextBlock(text=partial_text),),
                provider=provider,
                model=model,
                stop_reason="interrupted",
                interrupted=True,
            )
        )
        notes.append(f"the answer that was streaming ({len(partial_text):,} characters) is kept")
    if not notes:
        return added, None
    return added, ("The last run was cut off when harness-tui stopped: " + "; ".join(notes) + ".")


class History(list[Message]):
    """The messages the model sees — a list, as the loop expects — with the id of each
    one's entry in the tree. Appending a message (``append``, ``extend``, ``+=``) adds an
    entry after the head and hands it to ``record``; ``reset`` moves to another head."""

    def __init__(self, record: Callable[[Entry], None]) -> None:
        super().__init__()
        self._record = record
        self.entry_ids: list[str] = []
        #: The entry the next message follows.
        self.head: str | None = None

    def append(self, message: Message) -> None:
        entry = MessageEntry(
            id=new_id("ent"), parent_id=self.head, timestamp=time.time(), message=message
        )
        super().append(message)
        self.entry_ids.append(entry.id)
        self.head = entry.id
        self._record(entry)

    def extend(self, messages: Iterable[Message]) -> None:
        for message in messages:
            self.append(message)

    def __iadd__(self, messages: Iterable[Message]) -> History:  # type: ignore[override,misc]
        self.extend(messages)
        return self

    def reset(
        self, messages: Sequence[Message], entry_ids: Sequence[str], head: str | None
    ) -> None:
        """Replace the messages (a fork, a compaction, a resume) without new entries."""
        super().clear()
        super().extend(messages)
        self.entry_ids = list(entry_ids)
        self.head = head
