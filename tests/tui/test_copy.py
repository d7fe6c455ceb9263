"""Copy: the keys, /copy, the mouse's selection and Ctrl+C put the right text on the
clipboard as OSC 52 (what the app writes to the terminal is captured), and say so."""

from __future__ import annotations

import base64
import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from textual import events

from harness_tui.core import events as ev
from harness_tui.core.messages import ToolCallBlock
from harness_tui.core.session.session import Session
from harness_tui.tui import clipboard
from harness_tui.tui.app import HarnessApp
from harness_tui.widgets.conversation import MAX_MOUNTED, PAGE, AssistantEntry, Conversation
from harness_tui.widgets.prompt_input import PromptInput
from harness_tui.widgets.tool_card import ToolCard
from tests import tui_events as canned
from tests.tui_events import make

FIRST = "Here is the helper:\n\n```python\ndef first():\n    return 1\n```\n\nThat is all."
SECOND = (
    "Two snippets.\n\n```sh\npytest -q\n```\n\nand then\n\n"
    "~~~python\nprint('second')\n~~~\n\nDone, **all green**."
)
#: What the Bash tool returned in full (the model's text) and the tail its card shows.
FULL_OUTPUT = "\n".join(f"line {i}" for i in range(1, 61)) + "\nExit code 1"
DISPLAY_TAIL = "line 59\nline 60\nexit 1"


def osc52(text: str) -> str:
    return "\x1b]52;c;" + base64.b64encode(text.encode("utf-8")).decode("ascii") + "\a"


def answer(text: str, message_id: str) -> list[ev.Event]:
    return [*canned.deltas(text, message_id), canned.completed(message_id, text)]


def tool_run(call_id: str = "call_1") -> list[ev.Event]:
    return [
        canned.completed(
            "msg_t",
            "",
            (ToolCallBlock(id=call_id, name="Bash", input={"command": "pytest -q"}),),
        ),
        canned.tool_started(call_id, "Bash", command="pytest -q"),
        make(
            ev.ToolCallCompleted,
            tool_call_id=call_id,
            tool_name="Bash",
            content=FULL_OUTPUT,
            display=DISPLAY_TAIL,
            duration_ms=1200.0,
        ),
    ]


def conversation_events() -> list[ev.Event]:
    return [
        *canned.prompt("Write a helper"),
        *answer(FIRST, "msg_1"),
        *canned.prompt("Run the tests"),
        *tool_run(),
        *answer(SECOND, "msg_2"),
    ]


@pytest.fixture(autouse=True)
def _no_local_tool(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tests see OSC 52 only; the local tool has tests of its own below."""
    monkeypatch.setattr(clipboard, "local_command", lambda *a, **k: None)


@asynccontextmanager
async def copying(*batches: list[ev.Event], size=(100, 40)) -> AsyncIterator:
    app = HarnessApp(Session(model="demo", cwd=Path("/")), frozen_clock=True, connect=False)
    async with app.run_test(size=size, notifications=True) as pilot:
        await pilot.pause()
        for batch in batches:
            await app.apply_events(batch)
        await app.settle()
        await pilot.pause()
        written: list[str] = []
        driver_write = app._driver.write

        def write(data: str) -> None:
            if data.startswith("\x1b]52;"):  # not the pointer shapes (OSC 22) and such
                written.append(data)
            driver_write(data)

        app._driver.write = write  # type: ignore[method-assign]
        yield app, pilot, written
        assert app.display_errors == 0


async def press(pilot, *keys: str) -> None:
    """Keys as the terminal's parser gives them: Alt+C arrives as ESC c, a printable
    ``alt+c`` with the character ``c`` (``pilot.press`` gives no character, and would
    not show that the input must not type it)."""
    for key in keys:
        character = key[-1] if key.startswith("alt+") and len(key) == 5 else None
        pilot.app.post_message(events.Key(key, character))
        await pilot.pause()


def notices(app: HarnessApp) -> list[str]:
    return [n.message for n in app._notifications]


@pytest.mark.parametrize(
    ("key", "expected", "notice"),
    [
        ("alt+c", SECOND, "Copied the last answer"),
        ("alt+k", "print('second')", "Copied the last code block"),
        ("alt+o", FULL_OUTPUT, "Copied the output of Bash"),
    ],
    ids=["alt+c", "alt+k", "alt+o"],
)
async def test_each_copy_key_writes_its_text_as_osc52(key: str, expected: str, notice: str) -> None:
    async with copying(conversation_events()) as (app, pilot, written):
        assert app.focused is app.query_one(PromptInput)
        await press(pilot, key)
        await pilot.pause()
        assert written == [osc52(expected)]
        assert f"{notice} ({len(expected):,} characters)." in notices(app)
        assert app.query_one(PromptInput).text == ""  # the key typed nothing


async def test_the_payload_is_the_utf8_text_in_base64() -> None:
    text = "Grüße — ✓ ```"
    async with copying([*canned.prompt("hi"), *answer(text, "msg_u")]) as (_, pilot, written):
        await press(pilot, "alt+c")
        await pilot.pause()
        (sequence,) = written
        assert sequence.startswith("\x1b]52;c;") and sequence.endswith("\a")
        assert base64.b64decode(sequence[7:-1]).decode("utf-8") == text


@pytest.mark.parametrize(
    ("key", "notice"),
    [("alt+c", "no answer yet"), ("alt+k", "no answer has a code block"), ("alt+o", "no tool")],
)
async def test_nothing_to_copy_says_so_and_writes_nothing(key: str, notice: str) -> None:
    async with copying(canned.prompt("hi"), answer("Plain text, no code.", "m")) as (
        app,
        pilot,
        written,
    ):
        if key == "alt+c":
            await app.query_one(Conversation).clear()
        await press(pilot, key)
        await pilot.pause()
        assert written == []
        assert any(notice in n and n.startswith("Nothing to copy") for n in notices(app))


async def test_the_focused_tool_card_is_copied_rather_than_the_last() -> None:
    other = [
        *tool_run("call_2")[:2],
        make(
            ev.ToolCallCompleted,
            tool_call_id="call_2",
            tool_name="Bash",
            content="second card",
            duration_ms=1.0,
        ),
    ]
    async with copying(conversation_events(), other) as (app, pilot, written):
        first = app.query_one(Conversation).card("call_1")
        assert first is not None
        first.focus()
        await press(pilot, "alt+o")
        await pilot.pause()
        assert written == [osc52(FULL_OUTPUT)]
        app.query_one(PromptInput).focus()
        await press(pilot, "alt+o")
        await pilot.pause()
        assert written[-1] == osc52("second card")


async def test_the_code_block_under_the_mouse_is_copied() -> None:
    async with copying(conversation_events()) as (app, pilot, written):
        entries = list(app.query(AssistantEntry))
        first, second = entries[0], entries[-1]
        # The first answer's only block; then the second answer's first block (its lines).
        await pilot.hover(first, offset=(4, 3))
        await press(pilot, "alt+k")
        await pilot.pause()
        assert written[-1] == osc52("def first():\n    return 1")
        assert "Copied the code block under the mouse" in notices(app)[-1]
        sh_line = next(y for y in range(20) if "pytest -q" in second.render_line(y).text)
        await pilot.hover(second, offset=(4, sh_line))
        await press(pilot, "alt+k")
        await pilot.pause()
        assert written[-1] == osc52("pytest -q")


async def test_folded_entries_are_still_copied() -> None:
    """The answer and the card are folded into records by the prompts that follow."""
    later = [e for i in range(MAX_MOUNTED + PAGE) for e in canned.prompt(f"later {i}")]
    async with copying(conversation_events(), later) as (app, pilot, written):
        conversation = app.query_one(Conversation)
        assert not conversation.query(AssistantEntry) and not conversation.query(ToolCard)
        for key in ("alt+c", "alt+k", "alt+o"):
            await press(pilot, key)
            await pilot.pause()
        assert written == [osc52(SECOND), osc52("print('second')"), osc52(FULL_OUTPUT)]


async def test_slash_copy_and_its_arguments() -> None:
    async with copying(conversation_events()) as (app, pilot, written):
        for command in ("/copy", "/copy code", "/copy tool", "/copy answer"):
            app.run_slash(command)
        await pilot.pause()
        expected = [SECOND, "print('second')", FULL_OUTPUT, SECOND]
        assert written == [osc52(text) for text in expected]
        app.run_slash("/copy everything")
        await pilot.pause()
        assert len(written) == 4
        assert any("/copy everything: nothing of that name" in n for n in notices(app))
        assert "copy" in [name for name, _ in app.slash_commands()]


async def select(pilot, widget, start: tuple[int, int], end: tuple[int, int]) -> None:
    await pilot.mouse_down(widget, offset=start)
    await pilot.hover(widget, offset=end)
    await pilot.mouse_up(widget, offset=end)
    await pilot.pause()


async def test_a_mouse_selection_in_an_answer_is_copied_when_the_mouse_lets_go() -> None:
    async with copying(conversation_events()) as (app, pilot, written):
        prompt = app.query_one(PromptInput)
        prompt.insert("draft")
        entry = app.query(AssistantEntry).last()
        await select(pilot, entry, (0, 0), (13, 0))
        assert written == [osc52("Two snippets.")]
        assert "Copied the selection (13 characters)." in notices(app)
        # Let go again over the same selection (a click on the scroll bar): no repeat.
        app.screen.post_message(events.TextSelected())
        await pilot.pause()
        assert written == [osc52("Two snippets.")]
        # Ctrl+C copies it again, and neither clears the input nor quits; the selection
        # ends, so that the next Ctrl+C goes on as ever (here: clears the input).
        await pilot.press("ctrl+c")
        await pilot.pause()
        assert written == [osc52("Two snippets.")] * 2
        assert prompt.text == "draft" and app.is_running
        assert app.focused is prompt and not app.screen.selections
        await pilot.press("ctrl+c")
        await pilot.pause()
        assert len(written) == 2 and prompt.text == ""


async def test_a_selection_over_several_lines_is_copied_as_drawn() -> None:
    async with copying(conversation_events()) as (app, pilot, written):
        entry = app.query(AssistantEntry).first()
        code_line = next(y for y in range(9) if "def first" in entry.render_line(y).text)
        # Offsets count the entry's padding (one column); the end is inclusive.
        await select(pilot, entry, (6, 0), (8, code_line))
        assert written == [osc52("is the helper:\n\n\n def fir")]


async def test_a_click_selects_nothing_and_copies_nothing() -> None:
    async with copying(conversation_events()) as (app, pilot, written):
        await pilot.click(list(app.query(AssistantEntry))[-1], offset=(3, 0))
        await pilot.pause()
        assert written == []


async def test_ctrl_c_still_copies_the_inputs_selection_first() -> None:
    async with copying(conversation_events()) as (app, pilot, written):
        prompt = app.query_one(PromptInput)
        prompt.insert("hello world")
        prompt.select_all()
        await pilot.press("ctrl+c")
        await pilot.pause()
        assert written == [osc52("hello world")]
        assert prompt.text == "hello world" and not prompt.selected_text


# --- the local clipboard tool --------------------------------------------------------------


def test_the_local_tool_is_chosen_by_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.undo()  # the real local_command
    present = {"wl-copy", "xclip", "xsel", "pbcopy"}
    monkeypatch.setattr(clipboard.shutil, "which", lambda name: name if name in present else None)
    assert clipboard.local_command({}, "linux") is None  # SSH without X: OSC 52 only
    assert clipboard.local_command({"WAYLAND_DISPLAY": "w", "DISPLAY": ":0"}, "linux") == [
        "wl-copy"
    ]
    assert clipboard.local_command({"DISPLAY": ":0"}, "linux") == [
        "xclip",
        "-selection",
        "clipboard",
    ]
    present.discard("xclip")
    assert clipboard.local_command({"DISPLAY": ":0"}, "linux") == ["xsel", "--clipboard", "--input"]
    assert clipboard.local_command({}, "darwin") == ["pbcopy"]
    present.clear()
    assert clipboard.local_command({"DISPLAY": ":0"}, "linux") is None


def test_the_local_tool_gets_the_text_in_a_thread(tmp_path: Path) -> None:
    target = tmp_path / "clip"
    script = f"import sys; open({str(target)!r}, 'wb').write(sys.stdin.buffer.read())"
    thread = clipboard.hand_to_local_tool("héllo ✓", [sys.executable, "-c", script])
    assert thread is not None and thread.daemon
    thread.join(10)
    assert target.read_text("utf-8") == "héllo ✓"


def test_a_failing_local_tool_is_logged_and_never_raises(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger=clipboard.__name__):
        missing = clipboard.hand_to_local_tool("x", ["/nonexistent/wl-copy"])
        failing = clipboard.hand_to_local_tool("x", [sys.executable, "-c", "raise SystemExit(3)"])
        for thread in (missing, failing):
            assert thread is not None
            thread.join(10)
    messages = [r.getMessage() for r in caplog.records]
    assert any("/nonexistent/wl-copy failed" in m and "OSC 52 only" in m for m in messages)
    assert any("exited with 3" in m for m in messages)


async def test_a_copy_also_goes_to_the_local_tool(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    target = tmp_path / "clip"
    script = f"import sys; open({str(target)!r}, 'wb').write(sys.stdin.buffer.read())"
    threads = []
    hand = clipboard.hand_to_local_tool
    monkeypatch.setattr(clipboard, "local_command", lambda: [sys.executable, "-c", script])
    monkeypatch.setattr(clipboard, "hand_to_local_tool", lambda t: threads.append(hand(t)))
    async with copying(conversation_events()) as (_, pilot, written):
        await press(pilot, "alt+c")
        await pilot.pause()
        assert written == [osc52(SECOND)]  # OSC 52 always, the local tool as well
    threads[0].join(10)
    assert target.read_text("utf-8") == SECOND


# --- finding code blocks --------------------------------------------------------------------


def test_code_blocks_fences_and_an_unclosed_block() -> None:
    text = "a\n```py\nx = 1\n````\nnot closed by a longer one? yes it is\n~~~\ny\n"
    blocks = clipboard.code_blocks(text)
    assert [code for _, code in blocks] == ["x = 1", "y"]
    assert blocks[0][0] == text.index("```py")
    assert clipboard.code_blocks("````md\n```\ninner\n```\n````\n")[0][1] == "```\ninner\n```"
    assert clipboard.code_blocks("no code here") == []


def test_tool_output_prefers_the_full_text_and_shows_diffs_as_diffs() -> None:
    assert (
        clipboard.tool_output({"status": "done", "full_output": "all", "result": "tail"}) == "all"
    )
    assert clipboard.tool_output(
        {"status": "running", "output": "so far", "full_output": None}
    ) == ("so far")
    diff = {"status": "done", "display_format": "diff", "result": "+a", "full_output": "Edited"}
    assert clipboard.tool_output(diff) == "+a"


def test_snapshot_the_copied_notice(snap_compare) -> None:
    async def run_before(pilot) -> None:
        await pilot.pause()
        await pilot.app.apply_events(conversation_events())
        await pilot.app.settle()
        await pilot.pause()
        await press(pilot, "alt+k")
        await pilot.pause()

    app = HarnessApp(Session(model="demo", cwd=Path("/")), frozen_clock=True, connect=False)
    assert snap_compare(app, terminal_size=(100, 30), run_before=run_before)
