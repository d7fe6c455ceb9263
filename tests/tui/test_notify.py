"""Desktop notifications: the escape written through the driver when a run ends or a
question waits while the terminal is not focused (canned events, no model)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from textual import events

from harness_tui.core import events as ev
from harness_tui.core.config.settings import load_settings
from harness_tui.core.session.session import Session
from harness_tui.tui import notify
from harness_tui.tui.app import HarnessApp
from tests import tui_events as canned

DETECTION = (
    "TMUX",
    "STY",
    "TERM_PROGRAM",
    "KITTY_WINDOW_ID",
    "GHOSTTY_RESOURCES_DIR",
    "LC_TERMINAL",
    "ITERM_SESSION_ID",
    "WEZTERM_PANE",
    "WT_SESSION",
    "VTE_VERSION",
)


@pytest.fixture(autouse=True)
def plain_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """A terminal nothing is known of (``auto`` = the bell), outside tmux."""
    for name in DETECTION:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")


def user_settings(text: str) -> Path:
    path = Path(os.environ["HARNESS_CONFIG_DIR"]) / "settings.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@asynccontextmanager
async def app_writing(tmp_path: Path) -> AsyncIterator[tuple[HarnessApp, object, list[str]]]:
    """A canned-events app whose driver's writes of escapes are kept."""
    app = HarnessApp(Session(model="demo", cwd=tmp_path), frozen_clock=True, connect=False)
    async with app.run_test() as pilot:
        writes: list[str] = []
        app._driver.write = writes.append  # type: ignore[union-attr,method-assign]
        yield app, pilot, writes


def escapes(writes: list[str]) -> list[str]:
    """What the notifier wrote (frames start with CSI, never OSC, DCS or BEL)."""
    return [w for w in writes if w.startswith(("\x1b]", "\x1bP", "\x07"))]


def finished(answer: str = "All tests pass.\nDetails follow.", **fields) -> ev.Event:
    return canned.make(
        ev.RunCompleted, stop_reason="end_turn", turns=1, duration_ms=1.0, result=answer, **fields
    )


def asking(command: str = "rm -rf build") -> ev.Event:
    return canned.make(
        ev.PermissionRequested,
        request_id="req_1",
        tool_call_id="call_1",
        tool_name="Bash",
        input={"command": command},
        reason="Bash is not allowed by a rule",
    )


async def blur(pilot) -> None:
    pilot.app.post_message(events.AppBlur())
    await pilot.pause()


async def test_unfocused_run_end_and_question_are_told_with_the_bell_fallback(
    tmp_path: Path,
) -> None:
    async with app_writing(tmp_path) as (app, pilot, writes):
        await blur(pilot)
        await app.apply_events([finished(), asking()])
        assert escapes(writes) == ["\x07", "\x07"]


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ("notifications: osc9", "\x1b]9;harness-tui: done — All tests pass.\x07"),
        (
            "notifications: osc777",
            "\x1b]777;notify;harness-tui;harness-tui: done — All tests pass.\x07",
        ),
        ("notifications: osc99", "\x1b]99;;harness-tui: done — All tests pass.\x1b\\"),
        (
            "preferredNotifChannel: iterm2_with_bell",
            "\x1b]9;harness-tui: done — All tests pass.\x07\x07",
        ),
        (
            "preferredNotifChannel: ghostty",
            "\x1b]777;notify;harness-tui;harness-tui: done — All tests pass.\x07",
        ),
    ],
)
async def test_the_setting_chooses_the_escape(tmp_path: Path, setting: str, expected: str) -> None:
    user_settings(setting + "\n")
    async with app_writing(tmp_path) as (app, pilot, writes):
        await blur(pilot)
        await app.apply_events([finished()])
        assert escapes(writes) == [expected]


async def test_a_permission_question_says_which_call(tmp_path: Path) -> None:
    user_settings("notifications: osc9\n")
    async with app_writing(tmp_path) as (app, pilot, writes):
        await blur(pilot)
        await app.apply_events([asking()])
        assert escapes(writes) == ["\x1b]9;harness-tui needs you: allow Bash(rm -rf build)?\x07"]


async def test_nothing_is_sent_while_the_terminal_is_focused(tmp_path: Path) -> None:
    user_settings("notifications: osc9\n")
    async with app_writing(tmp_path) as (app, pilot, writes):
        await blur(pilot)
        pilot.app.post_message(events.AppFocus())
        await pilot.pause()
        await app.apply_events([finished(), asking()])
        assert escapes(writes) == []


async def test_focus_never_reported_counts_as_not_looking(tmp_path: Path) -> None:
    user_settings("notifications: osc9\n")
    async with app_writing(tmp_path) as (app, _pilot, writes):
        assert app.app_focus and not app._notifier.focus_known
        await app.apply_events([finished()])
        assert len(escapes(writes)) == 1


async def test_off_sends_nothing(tmp_path: Path) -> None:
    user_settings("preferredNotifChannel: notifications_disabled\n")
    async with app_writing(tmp_path) as (app, pilot, writes):
        await blur(pilot)
        await app.apply_events([finished(), asking(), finished(is_error=True, error="boom")])
        assert escapes(writes) == []


async def test_tmux_gets_the_escape_in_its_passthrough(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TMUX", "/tmp/tmux-1000/default,1,0")
    monkeypatch.setenv("ITERM_SESSION_ID", "w0t0p0")  # auto: iTerm2 outside tmux
    async with app_writing(tmp_path) as (app, pilot, writes):
        await blur(pilot)
        await app.apply_events([finished("\n## ok\nmore")])
        assert escapes(writes) == ["\x1bPtmux;\x1b\x1b]9;harness-tui: done — ok\x07\x1b\\"]


async def test_the_models_text_cannot_inject_escapes(tmp_path: Path) -> None:
    user_settings("notifications: osc777\n")
    evil = "done\x07\x1b]52;c;ZXZpbA==\x07\x9b2J\x1b[31mred\x00"
    async with app_writing(tmp_path) as (app, pilot, writes):
        await blur(pilot)
        await app.apply_events([finished(evil), asking(evil)])
        sent = escapes(writes)
        assert len(sent) == 2
        for escape in sent:
            body = escape.removeprefix("\x1b]777;notify;harness-tui;").removesuffix("\x07")
            assert not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in body), body
        assert "done ]52;c;ZXZpbA== 2J [31mred" in sent[0]


async def test_sub_agents_runs_and_cancelled_runs_are_not_told(tmp_path: Path) -> None:
    async with app_writing(tmp_path) as (app, pilot, writes):
        await blur(pilot)
        cancelled = canned.make(ev.RunCancelled, turns=1, duration_ms=1.0)
        await app.apply_events([finished(parent_tool_call_id="call_9"), cancelled])
        assert escapes(writes) == []


@pytest.mark.parametrize(
    ("env", "channel"),
    [
        ({"TERM_PROGRAM": "iTerm.app"}, "osc9"),
        ({"TERM_PROGRAM": "WezTerm"}, "osc9"),
        ({"TERM_PROGRAM": "ghostty"}, "osc777"),
        ({"TERM": "xterm-kitty", "KITTY_WINDOW_ID": "1"}, "osc99"),
        ({"TERM": "foot"}, "osc777"),
        ({"TERM": "rxvt-unicode-256color"}, "osc777"),
        ({"TERM_PROGRAM": "tmux", "TERM": "tmux-256color", "LC_TERMINAL": "iTerm2"}, "osc9"),
        ({"TERM_PROGRAM": "Apple_Terminal"}, "bell"),
        ({"TERM": "linux"}, "bell"),
    ],
)
def test_auto_reads_the_terminal_from_the_environment(env: dict[str, str], channel: str) -> None:
    assert notify.detect(env) == channel


def test_a_bad_value_is_named_with_its_file_and_ignored(tmp_path: Path) -> None:
    path = user_settings("notifications: loud\npreferredNotifChannel: kitty\n")
    settings = load_settings(tmp_path, include_project=False)
    assert settings.problems == [
        f"{path}: notifications: unknown value 'loud' (use one of auto, osc9, osc777, osc99, "
        "bell, off); the setting is ignored"
    ]
    assert notify.channel_setting(settings) == "osc99"
