"""Scrolling that never fights the reader: scrolled up, new output leaves the view where
it is and a marker counts it; PgUp/PgDn/Home/End scroll while the input keeps focus;
the wheel works; following resumes at the bottom."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from textual.events import MouseScrollDown, MouseScrollUp

from harness_tui.core import events as ev
from harness_tui.core.session.session import Session
from harness_tui.tui.app import HarnessApp
from harness_tui.widgets.conversation import (
    MAX_MOUNTED,
    AssistantEntry,
    Conversation,
    UserEntry,
)
from harness_tui.widgets.following import ScrollMarker
from harness_tui.widgets.prompt_input import PromptInput
from harness_tui.widgets.screens.help import HelpScreen
from tests import tui_events as canned

SIZE = (100, 30)


def exchange(i: int) -> list[ev.Event]:
    text = f"Answer {i}.\n\nIt has a second paragraph, and a third:\n\nthe end of answer {i}."
    return [
        *canned.prompt(f"question {i}"),
        *canned.deltas(text, f"msg_{i}"),
        canned.completed(f"msg_{i}", text),
    ]


def history(count: int = 8) -> list[ev.Event]:
    return [e for i in range(count) for e in exchange(i)]


@asynccontextmanager
async def scrolling(*batches: list[ev.Event]) -> AsyncIterator:
    app = HarnessApp(Session(model="demo", cwd=Path("/")), frozen_clock=True, connect=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        for batch in batches:
            await app.apply_events(batch)
        await app.settle()
        await pilot.pause()
        conversation = app.query_one(Conversation)
        assert conversation.max_scroll_y > 20  # there is room to scroll
        yield app, pilot, conversation
        assert app.display_errors == 0


async def feed(app: HarnessApp, pilot, *events: ev.Event) -> None:
    await app.apply_events(list(events))
    await app.settle()
    await pilot.pause()
    await pilot.pause()


def at_bottom(conversation: Conversation) -> bool:
    return conversation.scroll_y == conversation.max_scroll_y


def marker(app: HarnessApp) -> ScrollMarker:
    return app.query_one(ScrollMarker)


async def wheel(pilot, conversation: Conversation, event: type, times: int = 1) -> None:
    for _ in range(times):
        await pilot._post_mouse_events([event], widget=conversation, offset=(10, 5))
    await pilot.pause()


async def test_scrolled_up_new_output_stays_put_and_the_marker_counts_its_lines() -> None:
    async with scrolling(history()) as (app, pilot, conversation):
        prompt = app.query_one(PromptInput)
        assert at_bottom(conversation) and conversation.following
        assert not marker(app).display
        await pilot.press("pageup")
        await pilot.pause()
        assert app.focused is prompt  # the input keeps the focus
        assert not conversation.following and not at_bottom(conversation)
        where = conversation.scroll_y
        # A prompt is two lines (its margin and its text).
        await feed(app, pilot, *canned.prompt("one more"))
        assert conversation.scroll_y == where
        assert marker(app).display and marker(app).lines == 2
        assert "2 new lines — End to follow" in str(marker(app).render())
        await feed(app, pilot, *canned.deltas("A streamed line.\n\nAnd another.", "msg_x"))
        assert conversation.scroll_y == where
        streamed = app.query(AssistantEntry).last()
        assert streamed.text == "A streamed line.\n\nAnd another."
        assert marker(app).lines == 2 + streamed.outer_size.height
        # End: to the bottom, following again, the marker gone.
        await pilot.press("end")
        await pilot.pause()
        assert at_bottom(conversation) and conversation.following
        assert not marker(app).display
        await feed(app, pilot, *exchange(99))
        assert at_bottom(conversation) and not marker(app).display


async def test_page_down_to_the_end_follows_again() -> None:
    async with scrolling(history()) as (app, pilot, conversation):
        await pilot.press("pageup", "pageup")
        await pilot.pause()
        await feed(app, pilot, *canned.prompt("more"))
        assert marker(app).display
        await pilot.press("pagedown")
        await pilot.pause()
        assert not at_bottom(conversation) and marker(app).display
        for _ in range(5):
            await pilot.press("pagedown")
        await pilot.pause()
        assert at_bottom(conversation) and conversation.following
        assert not marker(app).display
        await feed(app, pilot, *exchange(50))
        assert at_bottom(conversation)


async def test_the_mouse_wheel_scrolls_and_following_resumes_at_the_bottom() -> None:
    async with scrolling(history()) as (app, pilot, conversation):
        bottom = conversation.scroll_y
        await wheel(pilot, conversation, MouseScrollUp, times=3)
        assert conversation.scroll_y < bottom and not conversation.following
        where = conversation.scroll_y
        await feed(app, pilot, *canned.prompt("while reading"))
        assert conversation.scroll_y == where and marker(app).lines == 2
        await wheel(pilot, conversation, MouseScrollDown, times=20)
        assert at_bottom(conversation) and conversation.following
        assert not marker(app).display
        await feed(app, pilot, *exchange(60))
        assert at_bottom(conversation)


async def test_a_wheel_turned_down_at_the_bottom_keeps_following() -> None:
    """Textual lets go of its anchor on any scroll, one that goes nowhere too."""
    async with scrolling(history()) as (app, pilot, conversation):
        await wheel(pilot, conversation, MouseScrollDown, times=2)
        await feed(app, pilot, *exchange(70))
        assert at_bottom(conversation) and not marker(app).display


async def test_home_and_end_leave_an_input_with_text_alone_ctrl_home_and_end_scroll() -> None:
    async with scrolling(history()) as (app, pilot, conversation):
        prompt = app.query_one(PromptInput)
        prompt.insert("some words")
        bottom = conversation.scroll_y
        await pilot.press("home")
        await pilot.pause()
        assert prompt.cursor_location == (0, 0)  # the input's Home: line start
        assert conversation.scroll_y == bottom
        await pilot.press("ctrl+home")
        await pilot.pause()
        assert conversation.scroll_y == 0 and app.focused is prompt
        await pilot.press("end")
        await pilot.pause()
        assert prompt.cursor_location == (0, len("some words"))
        assert conversation.scroll_y == 0
        await pilot.press("ctrl+end")
        await pilot.pause()
        assert at_bottom(conversation) and conversation.following
        # With the input empty, plain Home and End scroll.
        prompt.clear()
        await pilot.press("home")
        await pilot.pause()
        assert conversation.scroll_y == 0
        await pilot.press("end")
        await pilot.pause()
        assert at_bottom(conversation)


async def test_home_at_the_top_still_brings_back_folded_entries() -> None:
    prompts = [e for i in range(MAX_MOUNTED * 2) for e in canned.prompt(f"message {i}")]
    async with scrolling(prompts) as (_, pilot, conversation):
        assert conversation._folded
        await pilot.press("home")
        await pilot.pause()
        await pilot.pause()
        shown = len(conversation.query(UserEntry))
        before = len(conversation._folded)
        while conversation.scroll_y > 0:  # the page shown keeps the reader's place
            await pilot.press("home")
            await pilot.pause()
        await pilot.press("home")
        await pilot.pause()
        await pilot.pause()
        assert len(conversation._folded) < before
        assert len(conversation.query(UserEntry)) > shown


async def test_keys_belong_to_a_dialog_or_another_focused_pane() -> None:
    async with scrolling(history()) as (app, pilot, conversation):
        bottom = conversation.scroll_y
        app.push_screen(HelpScreen([("Keys", [("a", "b")] * 80)]))
        await pilot.pause()
        await pilot.press("pageup", "home")
        await pilot.pause()
        assert conversation.scroll_y == bottom and conversation.following
        app.pop_screen()
        await pilot.pause()
        app.query_one("#side").focus()
        await pilot.press("pageup")
        await pilot.pause()
        assert conversation.scroll_y == bottom


async def test_a_click_on_the_marker_follows_again() -> None:
    async with scrolling(history()) as (app, pilot, conversation):
        await pilot.press("pageup")
        await feed(app, pilot, *exchange(80))
        assert marker(app).display
        await pilot.click(marker(app))
        await pilot.pause()
        assert at_bottom(conversation) and not marker(app).display


async def test_one_new_line_is_a_line() -> None:
    async with scrolling(history()) as (app, pilot, _):
        await pilot.press("pageup")
        await feed(app, pilot, *canned.deltas("x", "msg_stream"))
        assert marker(app).lines == 1
        assert "1 new line —" in str(marker(app).render())


def test_snapshot_the_marker_while_scrolled_up(snap_compare) -> None:
    async def run_before(pilot) -> None:
        app = pilot.app
        await pilot.pause()
        await app.apply_events(history(6))
        await app.settle()
        await pilot.pause()
        await pilot.press("pageup")
        await pilot.pause()
        await app.apply_events([*exchange(6), *canned.prompt("and one more")])
        await app.settle()
        await pilot.pause()
        await pilot.pause()

    app = HarnessApp(Session(model="demo", cwd=Path("/")), frozen_clock=True, connect=False)
    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
