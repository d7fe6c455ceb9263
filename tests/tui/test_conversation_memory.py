"""Folded entries leave nothing behind: once an entry is folded into a record, neither
the widget nor its styles cache (with its rendered lines) stays alive (benchmark B11
found Textual's ``StylesCache.get_inner_outer`` cache keeping up to 1,024 of them)."""

from __future__ import annotations

import gc
import weakref

from harness_tui.core.session.session import Session
from harness_tui.tui.app import HarnessApp
from harness_tui.widgets.conversation import MAX_MOUNTED, AssistantEntry, Conversation
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
