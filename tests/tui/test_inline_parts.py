"""Inline mode's parts, without a terminal: which entries the conversation hands to the
scrollback and when, what a frame writes above the live area, how entries read there,
and the ``tui`` setting. (``test_inline`` drives the whole of it in tmux.)"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console
from rich.text import Text
from textual._compositor import InlineUpdate
from textual.strip import Strip

from harness_tui.core import events as ev
from harness_tui.core.config.settings import load_settings, tui_mode
from harness_tui.core.session.session import Session
from harness_tui.tui import clipboard
from harness_tui.tui.app import HarnessApp
from harness_tui.tui.inline import AboveInline, Scrollback
from harness_tui.widgets import scrollback as rendering
from harness_tui.widgets.assistant_entry import AssistantEntry
from harness_tui.widgets.conversation import Conversation, NoticeEntry, UserEntry
from harness_tui.widgets.tool_card import ToolCard
from tests import tui_events as t


def _names(records: list[Any]) -> list[tuple[str, str]]:
    return [(kind.__name__, data.get("text") or data.get("tool_name")) for kind, data in records]


def _tool_done(call_id: str) -> ev.Event:
    return t.make(
        ev.ToolCallCompleted,
        tool_call_id=call_id,
        tool_name="Bash",
        content="ok",
        display="ok",
        duration_ms=5.0,
    )


async def test_finished_entries_go_to_the_scrollback_once_and_in_order() -> None:
    app = HarnessApp(Session(model="demo"), frozen_clock=True, connect=False)
    async with app.run_test(size=(100, 30)):
        conversation = app.query_one(Conversation)
        written: list[Any] = []
        assert await conversation.start_scrollback(written.extend) == []
        await app.apply_events(t.prompt("p1") + t.deltas("Answer being streamed", "m1"))
        # The prompt is finished; the answer streams on, on screen.
        assert _names(written) == [("UserEntry", "p1")]
        assert [type(w) for w in conversation._entries()] == [AssistantEntry]
        await app.apply_events(
            [t.completed("m1", "Answer being streamed"), t.tool_started("c1", "Bash", command="ls")]
        )
        await app.apply_events([t.make(ev.Notice, message="after the call")])
        # The running call holds back what came after it.
        assert _names(written) == [("UserEntry", "p1"), ("AssistantEntry", "Answer being streamed")]
        assert [type(w) for w in conversation._entries()] == [ToolCard, NoticeEntry]
        await app.apply_events([_tool_done("c1"), t.run_completed()])
        assert _names(written)[2:] == [("ToolCard", "Bash"), ("NoticeEntry", "after the call")]
        assert conversation._entries() == []
        await app.apply_events(t.prompt("p2"))
        assert _names(written)[-1] == ("UserEntry", "p2") and len(written) == 5


async def test_back_to_full_screen_shows_recent_entries_and_inline_again_writes_only_new() -> None:
    app = HarnessApp(Session(model="demo"), frozen_clock=True, connect=False)
    async with app.run_test(size=(100, 30)):
        conversation = app.query_one(Conversation)
        written: list[Any] = []
        await conversation.start_scrollback(written.extend)
        events = [*t.prompt("p1"), t.tool_started("c1", "Bash", command="ls"), _tool_done("c1")]
        await app.apply_events(events)
        assert len(written) == 2
        await conversation.stop_scrollback()
        entries = conversation._entries()
        assert [type(w) for w in entries] == [UserEntry, ToolCard]
        card = entries[1]
        assert isinstance(card, ToolCard) and card.status == "done"
        assert str(card.render()).startswith("✓ Bash")  # drawn as it ended, not running
        assert conversation.card("c1") is card
        await app.apply_events(t.prompt("p2"))  # full screen: stays on screen
        again = await conversation.start_scrollback(written.extend)
        assert _names(again) == [("UserEntry", "p2")]  # the scrollback has the rest


def test_a_frame_writes_the_queued_lines_over_the_padding_then_the_area() -> None:
    update = InlineUpdate([Strip.blank(10), Strip.blank(10)])
    scrollback = Scrollback()
    assert scrollback.wrap(update) is update  # nothing queued: the frame as it is
    scrollback._lines = ["first", "\x1b[1msecond\x1b[0m"]
    frame = scrollback.wrap(update, padding=1)
    assert isinstance(frame, AboveInline) and scrollback.pending == 0
    assert scrollback.written == 2
    console = Console(force_terminal=True, width=10)
    written = frame.render_segments(console)
    area = update.render_segments(console)
    assert written == (
        "\x1b[1A"  # up to the blank line Textual keeps above the area
        "\r\x1b[2Kfirst\x1b[0m\r\n"
        "\r\x1b[2K\x1b[1msecond\x1b[0m\x1b[0m\r\n"
        "\r\x1b[2K\x1b[0m\r\n" + area  # the blank line, again, above the area
    )
    assert scrollback.wrap(update) is update  # written once


async def test_entries_read_in_the_scrollback_as_rendered_text() -> None:
    app = HarnessApp(Session(model="demo"), frozen_clock=True, connect=False)
    async with app.run_test(size=(60, 30)):
        scrollback = Scrollback()
        records = [
            (UserEntry, {"text": "fix it", "kind": "prompt"}),
            (AssistantEntry, {"text": "## Plan\n\n- **one**   \n- two\n"}),
            (NoticeEntry, {"text": "✗ it broke", "level": "error"}),
        ]
        card = ToolCard(t.tool_started("c9", "Bash", command="make test"))  # type: ignore[arg-type]
        card.apply(
            t.make(
                ev.ToolCallFailed,
                tool_call_id="c9",
                tool_name="Bash",
                error="exit 2\nline a\nline b\nline c",
                kind="tool_error",
                duration_ms=30.0,
            )
        )
        records.append(card.record())
        scrollback.add([rendering.renderable(k, d) for k, d in records], app)
        plain = [Text.from_ansi(line).plain for line in scrollback._lines]
        text = "\n".join(plain)
        assert "› fix it" in text and "Plan" in text and "## Plan" not in text
        assert "• one" in text and "**" not in text
        assert "✗ it broke" in text
        assert "✗ Bash  make test" in text and "line b" in text and "line c" not in text
        assert "… 1 more lines" in text
        assert all(line == line.rstrip() for line in plain)  # no trailing blanks to copy


def test_the_tui_setting(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "home" / ".config"))
    project = tmp_path / "project"
    (project / ".harness").mkdir(parents=True)
    settings = project / ".harness" / "settings.yaml"
    assert tui_mode(project) is None
    settings.write_text("tui: inline\n")
    assert tui_mode(project) == "inline"
    settings.write_text("tui: sideways\n")
    assert tui_mode(project) is None
    (problem,) = load_settings(project).problems
    assert str(settings) in problem
    assert "tui must be fullscreen or inline, not 'sideways'" in problem


async def test_what_the_app_says_goes_to_the_scrollback_at_once() -> None:
    app = HarnessApp(Session(model="demo"), frozen_clock=True, connect=False)
    async with app.run_test(size=(100, 30)):
        conversation = app.query_one(Conversation)
        written: list[Any] = []
        await conversation.start_scrollback(written.extend)
        app.say("Mode: plan.")
        await app.workers.wait_for_complete()
        assert _names(written) == [("NoticeEntry", "Mode: plan.")]
        assert conversation._entries() == []


async def test_a_long_answer_goes_to_the_scrollback_a_block_at_a_time() -> None:
    """Complete Markdown blocks leave the live area while the rest streams; together
    the pieces are the whole answer, once."""
    app = HarnessApp(Session(model="demo"), frozen_clock=True, connect=False)
    paragraphs = [f"Paragraph {i}: " + "word " * 60 + "\n\n" for i in range(8)]
    async with app.run_test(size=(100, 30)):
        conversation = app.query_one(Conversation)
        written: list[Any] = []
        await conversation.start_scrollback(written.extend)
        await app.apply_events(t.prompt("p"))
        for paragraph in paragraphs[:5]:
            await app.apply_events(t.deltas(paragraph, "m1"))
        streamed = [d["text"] for k, d in written if k is AssistantEntry]
        assert streamed and "Paragraph 0" in streamed[0]  # out while it streams
        (live,) = conversation._entries()
        assert isinstance(live, AssistantEntry) and "Paragraph 0" not in live.text
        for paragraph in paragraphs[5:]:
            await app.apply_events(t.deltas(paragraph, "m1"))
        await app.apply_events([t.completed("m1", "".join(paragraphs))])
        pieces = "".join(d["text"] for k, d in written if k is AssistantEntry)
        assert " ".join(pieces.split()) == " ".join("".join(paragraphs).split())
        assert conversation._entries() == []
        found = clipboard.find(app, "answer")  # Alt+C, /copy: the whole answer
        assert found is not None and found[0] == pieces


async def test_tui_without_a_terminal_says_so_and_keeps_the_driver() -> None:
    app = HarnessApp(Session(model="demo"), frozen_clock=True, connect=False)
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        driver = app._driver
        await app.action_tui("inline")
        await pilot.pause()
        assert app._driver is driver and not app.is_inline
        assert any("needs a terminal" in n.message for n in app._notifications)
