"""The session's collaborators on their own: the model slot (switches now or at a turn
boundary, and back after a command's run), the journal (entries held until the file
opens, forks) and the workspace's grants for one run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest

from harness_tui.core.errors import HarnessError
from harness_tui.core.event_store import EventStore
from harness_tui.core.events import Event
from harness_tui.core.messages import UserMessage
from harness_tui.core.providers.models import ModelChoice
from harness_tui.core.providers.offline.scripted import ScriptedProvider
from harness_tui.core.run.context import ContextAccount
from harness_tui.core.session.journal import Journal
from harness_tui.core.session.model_slot import ModelSlot
from harness_tui.core.session.workspace import Workspace, check_mode


class Events:
    def __init__(self) -> None:
        self.store = EventStore()

    async def emit(self, event_type: type, /, **fields: Any) -> Event:
        return await self.store.append(event_type(session_id="s", **fields))

    def seen(self) -> list[Event]:
        return [e for e in self.store.replay(0) if isinstance(e, Event)]


def choice(name: str) -> ModelChoice:
    provider = ScriptedProvider([])
    return ModelChoice(name, "scripted", lambda: provider)


MODELS = {name: choice(name) for name in ("a", "b", "c")}


def slot(events: Events) -> ModelSlot:
    return ModelSlot("a", resolve=MODELS.__getitem__, emit=events.emit)


async def test_a_switch_waits_for_the_turn_boundary_during_a_run() -> None:
    events = Events()
    models = slot(events)
    first = await models.for_turn()
    await models.switch("b", wait=True)
    assert models.choice.name == "a" and events.seen() == []
    second = await models.for_turn()
    assert models.choice.name == "b" and second is not first
    changed = events.seen()
    assert [(e.type, e.model, e.previous_model) for e in changed] == [("MODEL_CHANGED", "b", "a")]


async def test_a_commands_model_holds_for_its_run_unless_the_user_switches() -> None:
    events = Events()
    models = slot(events)
    await models.switch_for_run("b")
    await models.end_run()
    assert models.choice.name == "a"  # back
    await models.switch_for_run("b")
    await models.switch("c", wait=True)  # the user chose meanwhile: that wins
    await models.end_run()
    await models.for_turn()
    assert models.choice.name == "c"
    assert [e.model for e in events.seen()] == ["b", "a", "b", "c"]


async def test_the_demo_model_says_what_it_is() -> None:
    from harness_tui.core.providers.models import DEMO_MODEL, resolve_model

    demo = ModelSlot(DEMO_MODEL, resolve=resolve_model, emit=Events().emit)
    assert len(demo.notices()) == 1 and "offline demo" in demo.notices()[0]
    assert slot(Events()).notices() == []


async def test_the_journal_holds_entries_until_its_file_opens(tmp_path: Path) -> None:
    events = Events()
    journal = Journal(events.emit, ContextAccount(), persist=True)
    journal.messages.append(UserMessage.of("before the file", "prompt"))
    async with anyio.create_task_group() as group:
        problem = journal.open(
            group,
            events.store,
            session_id="ses_j",
            cwd=str(tmp_path),
            version="0",
            on_failure=lambda message: None,
        )
        journal.messages.append(UserMessage.of("after", "prompt"))
        assert problem is None and journal.file is not None
        events.store.close()
        await journal.aclose()
    text = journal.file.read_text()
    assert text.index("before the file") < text.index("after")
    assert len(journal.tree.entries) == 2 and journal.source == "startup"


async def test_an_unsaved_journal_keeps_the_tree_only() -> None:
    events = Events()
    journal = Journal(events.emit, ContextAccount(), persist=False)
    journal.messages.append(UserMessage.of("hi", "prompt"))
    async with anyio.create_task_group() as group:
        assert (
            journal.open(
                group, events.store, session_id="s", cwd=".", version="0", on_failure=print
            )
            is None
        )
    assert journal.file is None and len(journal.tree.entries) == 1


async def test_a_fork_changes_branch_and_says_so() -> None:
    events = Events()
    context = ContextAccount()
    journal = Journal(events.emit, context, persist=False)
    journal.messages.append(UserMessage.of("one", "prompt"))
    journal.messages.append(UserMessage.of("two", "prompt"))
    first, second = journal.messages.entry_ids
    context.report(999, 2)
    changed = await journal.fork(second, before=True)
    assert [m.text for m in journal.messages] == ["one"]
    assert (changed.entry_id, changed.previous_entry_id, changed.messages) == (first, second, 1)
    assert context.used("", lambda: (), journal.messages) < 999  # estimated again
    with pytest.raises(HarnessError):
        await journal.fork("ent_nothing_like_it", before=False)


async def test_a_commands_grants_last_one_run(tmp_path: Path) -> None:
    from harness_tui.core.session.session import Session

    async with Session(cwd=tmp_path, persist=False, trusted=True) as session:
        workspace = session.workspace
        before = list(session.permission_engine.session_rules)
        workspace.grant_for_run(["Bash(git status)", "not a rule ((("], "a test")
        granted = session.permission_engine.session_rules[len(before) :]
        assert [r.source for r in granted] == ["a test"]
        workspace.end_run_grants()
        assert session.permission_engine.session_rules == before
        with pytest.raises(HarnessError, match="unknown command /nope"):
            workspace.expand("nope", "")
    assert isinstance(workspace, Workspace)


def test_permission_modes_are_checked() -> None:
    assert check_mode("plan") == "plan"
    with pytest.raises(HarnessError, match="unknown permission mode"):
        check_mode("yolo")
