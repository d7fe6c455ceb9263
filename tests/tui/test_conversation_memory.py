"""Folded entries leave nothing behind: once an entry is folded into a record, neither
the widget nor its styles cache (with its rendered lines) stays alive (benchmark B11
found Textual's ``StylesCache.get_inner_outer`` cache keeping up to 1,024 of them), and
the cycles they leave are collected when a run ends (the app's thresholds make full
collections rare)."""

from __future__ import annotations

import asyncio
import gc
import time
import weakref

import pytest

from harness_tui.core.session.session import Session
from harness_tui.tui.app import HarnessApp
from harness_tui.widgets.conversation import MAX_MOUNTED, AssistantEntry, Conversation
from tests import tui_events as t
from tests.bench.b6_long_session import _message


async def test_folded_entries_and_their_styles_caches_are_freed() -> None:
    app = HarnessApp(Session(model="demo"), frozen_clock=True, connect=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await app.apply_events(_message(0))
        await app.settle()
        await pilot.pause()
        first = app.query_one(Conversation).query(AssistantEntry).first()
        entry, styles = weakref.ref(first), weakref.ref(first._styles_cache)
        del first
        for index in range(1, MAX_MOUNTED * 2):
            await app.apply_events(_message(index))
            await pilot.pause()  # drawn, so every styles cache is used
        assert app.query_one(Conversation)._folded, "the first entries were folded"
        gc.collect()
        assert entry() is None
        assert styles() is None


def test_a_full_collection_after_a_run_frees_cycles_at_most_every_few_seconds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from harness_tui.tui import terminal

    monkeypatch.setattr(terminal, "_last_collection", [])
    monkeypatch.setattr(terminal, "collection_times", [])

    class Node:
        pass

    def cycle() -> weakref.ref[Node]:
        node = Node()
        node.me = node  # type: ignore[attr-defined]
        return weakref.ref(node)

    gc.disable()  # only the collection under test may free it
    try:
        first = cycle()
        assert terminal.collect_garbage(now=1000.0) and first() is None
        second = cycle()
        assert not terminal.collect_garbage(now=1000.0 + terminal.COLLECT_EVERY_S / 2)
        assert second() is not None  # too soon: left for later
        assert terminal.collect_garbage(now=1000.0 + terminal.COLLECT_EVERY_S)
        assert second() is None and len(terminal.collection_times) == 2
    finally:
        gc.enable()


async def test_the_app_collects_once_idle_after_a_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """Not in a stream, not while the user types: once a run has ended and the input
    has been quiet for ``IDLE_S``."""
    from harness_tui.tui import terminal

    ran, ran_at = asyncio.Event(), []
    monkeypatch.setattr(terminal, "IDLE_S", 0.5)
    monkeypatch.setattr(
        terminal, "collect_garbage", lambda: ran_at.append(time.monotonic()) or ran.set()
    )
    app = HarnessApp(Session(model="demo"), frozen_clock=True, connect=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await app.apply_events(t.prompt("p"))
        await pilot.pause(0.1)
        assert not ran.is_set()  # a run that has not ended
        await app.apply_events([t.run_completed()])
        await pilot.press("a")  # typing right after: later
        typed_at = app._idle._typed_at
        assert typed_at  # the input's change reached the collector
        await asyncio.wait_for(ran.wait(), 5)
        assert ran_at[0] - typed_at >= 0.5
