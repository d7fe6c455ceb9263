"""How the screens look: canned events through the real widgets, compared as SVG."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from harness_tui.core import events as ev
from harness_tui.core.messages import ToolCallBlock
from harness_tui.core.session.session import Session
from harness_tui.tui.app import HarnessApp
from harness_tui.widgets.conversation import Conversation
from harness_tui.widgets.screens.model_picker import ModelPicker, ModelRow
from tests import tui_events as canned
from tests.tui_events import make

SIZE = (120, 36)


def app() -> HarnessApp:
    return HarnessApp(Session(model="demo", cwd=Path("/")), frozen_clock=True, connect=False)


def feeding(*batches: list[ev.Event], then: Callable[..., Awaitable[None]] | None = None):
    async def run_before(pilot) -> None:
        await pilot.pause()
        for batch in batches:
            await pilot.app.apply_events(batch)
        await pilot.app.settle()
        if then is not None:
            await then(pilot)
        await pilot.pause()

    return run_before


def running_tool_events() -> list[ev.Event]:
    return [
        *canned.prompt("Run the test suite"),
        *canned.deltas("Running the tests now.", "msg_1"),
        canned.completed(
            "msg_1",
            "Running the tests now.",
            (ToolCallBlock(id="call_b", name="Bash", input={"command": "pytest -q"}),),
        ),
        canned.tool_started("call_b", "Bash", command="pytest -q"),
        make(
            ev.ToolCallProgress,
            tool_call_id="call_b",
            output="tests/test_parser.py ........\ntests/test_tokens.py ....F\n",
        ),
    ]


def test_welcome_on_the_demo_model(snap_compare) -> None:
    assert snap_compare(app(), terminal_size=SIZE, run_before=feeding(canned.welcome()))


def test_streaming_mid_answer_with_a_code_block(snap_compare) -> None:
    events = [*canned.welcome(), *canned.prompt(), *canned.deltas(canned.STREAMING_ANSWER)]
    assert snap_compare(app(), terminal_size=SIZE, run_before=feeding(events))


THINKING = [
    *canned.prompt("Why is the build slow?"),
    *canned.deltas(
        "The build runs every test twice; the cache key includes the timestamp, "
        "so nothing is ever reused.",
        "msg_1",
        thinking=True,
    ),
    *canned.deltas("The cache key changes on every run, so **nothing is cached**.", "msg_1"),
    canned.completed("msg_1", "The cache key changes on every run."),
]


def test_thinking_collapsed(snap_compare) -> None:
    assert snap_compare(app(), terminal_size=SIZE, run_before=feeding(THINKING))


def test_thinking_expanded(snap_compare) -> None:
    async def expand(pilot) -> None:
        await pilot.press("ctrl+t")

    assert snap_compare(app(), terminal_size=SIZE, run_before=feeding(THINKING, then=expand))


def test_tool_running_with_streamed_output(snap_compare) -> None:
    assert snap_compare(app(), terminal_size=SIZE, run_before=feeding(running_tool_events()))


def test_tools_done_and_failed(snap_compare) -> None:
    events = [
        *canned.prompt("Fix the parser"),
        canned.tool_started("call_r", "Read", file_path="parser.py"),
        make(
            ev.ToolCallCompleted,
            tool_call_id="call_r",
            tool_name="Read",
            content="...",
            display="42 lines",
            duration_ms=3.0,
        ),
        canned.tool_started("call_e", "Edit", file_path="parser.py"),
        make(
            ev.ToolCallCompleted,
            tool_call_id="call_e",
            tool_name="Edit",
            content="ok",
            display=canned.DIFF,
            display_format="diff",
            duration_ms=12.0,
        ),
        canned.tool_started("call_b", "Bash", command="pytest -q"),
        make(
            ev.ToolCallFailed,
            tool_call_id="call_b",
            tool_name="Bash",
            error="exit code 1: 1 failed, 12 passed",
            kind="tool_error",
            duration_ms=2300.0,
        ),
    ]

    async def expand_edit(pilot) -> None:
        pilot.app.query_one(Conversation).card("call_e").expanded = True

    assert snap_compare(app(), terminal_size=SIZE, run_before=feeding(events, then=expand_edit))


def test_permission_dialog_with_a_diff_preview(snap_compare) -> None:
    events = [
        *canned.prompt("Fix the parser"),
        canned.tool_started("call_e", "Edit", file_path="parser.py"),
        make(
            ev.PermissionRequested,
            request_id="perm_1",
            tool_call_id="call_e",
            tool_name="Edit",
            input={"file_path": "parser.py"},
            reason="Edit changes parser.py",
            rule="ask: Edit(src/**)",
            preview=canned.DIFF,
        ),
    ]
    assert snap_compare(app(), terminal_size=SIZE, run_before=feeding(events))


def test_two_pending_steering_messages(snap_compare) -> None:
    events = [
        *running_tool_events(),
        make(ev.SteeringQueued, steering_id="s1", text="use tabs, not spaces", kind="steer"),
        make(
            ev.SteeringQueued, steering_id="s2", text="then update the changelog", kind="follow_up"
        ),
    ]
    assert snap_compare(app(), terminal_size=SIZE, run_before=feeding(events))


def test_cancelled_run_with_synthetic_tool_results(snap_compare) -> None:
    calls = (
        ToolCallBlock(id="call_1", name="Bash", input={"command": "npm test"}),
        ToolCallBlock(id="call_2", name="Read", input={"file_path": "README.md"}),
    )
    events = [
        *canned.prompt("Run everything"),
        *canned.deltas("Starting both checks", "msg_1"),
        canned.completed("msg_1", "Starting both checks", calls, interrupted=True),
        canned.tool_started("call_1", "Bash", command="npm test"),
        make(
            ev.ToolCallFailed,
            tool_call_id="call_1",
            tool_name="Bash",
            error="cancelled by user",
            kind="cancelled",
            duration_ms=1500.0,
        ),
        make(
            ev.ToolCallFailed,
            tool_call_id="call_2",
            tool_name="Read",
            error="cancelled by user",
            kind="cancelled",
            duration_ms=0.0,
        ),
        make(ev.RunCancelled, turns=1, duration_ms=1600.0),
    ]
    assert snap_compare(app(), terminal_size=SIZE, run_before=feeding(events))


def test_model_picker(snap_compare) -> None:
    rows = [
        ModelRow("demo", "scripted", 200_000, "free", True, "offline demo"),
        ModelRow("anthropic/claude-sonnet", "anthropic", 200_000, "$3/$15", False),
        ModelRow("deepseek/deepseek-chat", "openai_compat", 64_000, "$0.27/$1.10", True),
    ]

    async def open_picker(pilot) -> None:
        await pilot.app.push_screen(ModelPicker(rows, "demo", lambda name: None))

    assert snap_compare(
        app(), terminal_size=SIZE, run_before=feeding(canned.welcome(), then=open_picker)
    )


def test_plan_pane_with_mixed_statuses(snap_compare) -> None:
    entries = (
        ev.PlanEntry(content="Read the parser", status="completed"),
        ev.PlanEntry(
            content="Split tokenizer", status="in_progress", active_form="Splitting the tokenizer"
        ),
        ev.PlanEntry(content="Add tests", status="pending"),
    )
    events = [*canned.prompt(), make(ev.PlanGenerated, entries=entries, tool_call_id="call_p")]
    assert snap_compare(app(), terminal_size=SIZE, run_before=feeding(events))


def test_hooks_pane_with_a_denial(snap_compare) -> None:
    events = [
        *canned.prompt("Clean up"),
        make(
            ev.HookExecuted,
            hook_event="UserPromptSubmit",
            hook="./hooks/log.sh",
            decision="allow",
            exit_code=0,
            duration_ms=8.0,
        ),
        make(
            ev.HookDenied,
            hook_event="PreToolUse",
            hook="./hooks/no-rm.sh",
            matcher="Bash",
            tool_call_id="call_1",
            reason="rm -rf is not allowed here",
            exit_code=2,
            duration_ms=14.0,
        ),
    ]
    assert snap_compare(app(), terminal_size=SIZE, run_before=feeding(events))


def test_an_error_with_a_retry(snap_compare) -> None:
    events = [
        *canned.prompt(),
        make(
            ev.Retrying,
            attempt=1,
            max_attempts=3,
            delay_s=2.0,
            reason="overloaded",
            status_code=529,
        ),
        *canned.deltas("Partial answer before the", "msg_1"),
        make(
            ev.Error,
            message="the stream broke: connection reset by peer",
            code="connection",
            hint="check the network and send the prompt again",
            fatal=True,
        ),
    ]
    assert snap_compare(app(), terminal_size=SIZE, run_before=feeding(events))


def test_main_screen_at_80x24(snap_compare) -> None:
    events = [*canned.welcome(), *running_tool_events(), canned.usage()]
    assert snap_compare(app(), terminal_size=(80, 24), run_before=feeding(events))


@pytest.mark.parametrize("size", [(40, 12)])
def test_tiny_terminal_does_not_break(snap_compare, size) -> None:
    events = [*canned.welcome(), *running_tool_events()]
    assert snap_compare(app(), terminal_size=size, run_before=feeding(events))


@pytest.mark.parametrize("mode", ev.PERMISSION_MODES)
def test_status_bar_colours_each_permission_mode(snap_compare, mode: str) -> None:
    """Each mode in its own colour (styles/app.tcss): plan stands apart from the default,
    bypassPermissions alarms (and carries a warning sign, not colour alone)."""
    events = [
        *canned.welcome(),
        make(ev.ModeChanged, run=None, mode=mode, previous_mode="default"),
        canned.usage(),
    ]
    assert snap_compare(app(), terminal_size=(100, 12), run_before=feeding(events))


async def test_each_permission_mode_has_its_own_colour() -> None:
    """The mode's label on the status bar, as painted: a background of its own for each
    mode, none the bar's own; bypassPermissions in the theme's error colour."""
    from textual.color import Color

    from harness_tui.widgets.status_bar import MODE_CLASS, StatusBar

    harness = app()
    async with harness.run_test(size=(100, 12)) as pilot:
        bar = harness.query_one(StatusBar)
        backgrounds = {}
        for mode in ev.PERMISSION_MODES:
            bar.mode = mode
            await pilot.pause()
            assert bar.has_class(f"-mode-{MODE_CLASS[mode]}")
            strip = bar.render_line(0)
            label = next(s for s in strip if mode in s.text)
            backgrounds[mode] = label.style.bgcolor
            bar_background = next(s for s in strip if s.text.startswith("demo")).style.bgcolor
            assert label.style.bgcolor != bar_background
        assert len(set(backgrounds.values())) == len(ev.PERMISSION_MODES)
        error = Color.parse(harness.current_theme.error)
        painted = backgrounds["bypassPermissions"].triplet  # type: ignore[union-attr]
        assert all(abs(a - b) <= 2 for a, b in zip(painted, error.rgb, strict=True))
