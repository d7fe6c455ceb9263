"""Forking: a branch from any entry of the conversation, with the others left intact."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from harness_tui.core.errors import HarnessError, SessionBusyError
from harness_tui.core.messages import UserMessage
from harness_tui.core.providers.models import ModelChoice
from harness_tui.core.providers.offline.scripted import ScriptedProvider, Text, Wait, reply
from harness_tui.core.session.session import Session
from harness_tui.core.storage.saved import load_session
from harness_tui.core.storage.tree import render_tree
from tests.helpers import run_to_end


def scripted(*texts: str) -> tuple[ModelChoice, ScriptedProvider]:
    provider = ScriptedProvider([reply(Text(t)) for t in texts])
    return ModelChoice("scripted", "scripted", lambda: provider), provider


def user_texts(messages) -> list[str]:
    return [m.text for m in messages if isinstance(m, UserMessage)]


def user_entry(session: Session, text: str) -> str:
    return next(
        e.id
        for e in session.tree.entries.values()
        if getattr(e, "message", None) is not None and getattr(e.message, "text", None) == text
    )


async def test_a_branch_from_the_second_user_message_leaves_the_original_intact(
    tmp_path: Path,
) -> None:
    model, provider = scripted("A1", "A2", "A3", "B2")
    async with Session(model=model, cwd=tmp_path) as session:
        for prompt in ("one", "two", "three"):
            await run_to_end(session, prompt)
        original_leaf = session.messages.head
        second = user_entry(session, "two")
        changed = await session.fork(second, before=True)
        assert changed.entry_id == session.tree.get(second).parent_id
        assert changed.previous_entry_id == original_leaf and changed.messages == 2
        assert user_texts(session.messages) == ["one"]
        await run_to_end(session, "two, differently")
        branch_leaf = session.messages.head
    # The model saw the new branch only.
    assert user_texts(provider.requests[3].messages) == ["one", "two, differently"]

    saved = load_session(session.id)
    assert saved.head == branch_leaf
    assert sorted(saved.tree.leaves()) == sorted([original_leaf, branch_leaf])
    assert [m.text for m in saved.context(original_leaf).messages] == [
        "one",
        "A1",
        "two",
        "A2",
        "three",
        "A3",
    ]
    assert [m.text for m in saved.context().messages] == ["one", "A1", "two, differently", "B2"]
    lines = render_tree(saved.tree, saved.head)
    assert any(line.startswith("@") and "B2" in line for line in lines)
    assert sum("end of branch" in line for line in lines) == 2

    # Both branches can be resumed, and go on independently.
    for leaf, prompt, expected in (
        (original_leaf, "four", ["one", "two", "three", "four"]),
        (branch_leaf, "three, again", ["one", "two, differently", "three, again"]),
    ):
        model, provider = scripted("more")
        resumed = Session.resume(session.id, entry_id=leaf, model=model)
        async with resumed:
            await run_to_end(resumed, prompt)
        assert user_texts(provider.requests[0].messages) == expected
    assert len(load_session(session.id).tree.leaves()) == 2


async def test_fork_from_the_start_and_bad_entries(tmp_path: Path) -> None:
    model, _ = scripted("A1", "fresh")
    async with Session(model=model, cwd=tmp_path) as session:
        await run_to_end(session, "one")
        with pytest.raises(HarnessError, match="no entry"):
            await session.fork("ent_missing")
        changed = await session.fork(None)
        assert changed.entry_id is None and list(session.messages) == []
        await run_to_end(session, "anew")
    saved = load_session(session.id)
    assert [m.text for m in saved.context().messages] == ["anew", "fresh"]
    assert len(saved.tree.leaves()) == 2


async def test_no_fork_while_a_run_is_active(tmp_path: Path) -> None:
    release, reached = anyio.Event(), anyio.Event()
    provider = ScriptedProvider([reply(Text("a")), reply(Wait(release, reached), Text("b"))])
    model = ModelChoice("scripted", "scripted", lambda: provider)
    async with Session(model=model, cwd=tmp_path) as session:
        await run_to_end(session, "one")
        await session.submit("two")
        await reached.wait()
        with pytest.raises(SessionBusyError):
            await session.fork(None)
        release.set()
