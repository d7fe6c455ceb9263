"""Text from files, servers, settings and the user is shown as it is, never read as
markup: an argument hint ``[name]`` stays visible, ``[b]`` does not bolden, a
``[@click=app.quit]`` in a skill's description is no button that quits, and an
unbalanced ``[/]`` does not crash the app (Textual raises MarkupError on it).

Each surface is shown with each hostile string and the screen as painted is read back:
the string must be there literally, and nothing on screen may carry its link or action.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.app import App, ComposeResult
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widget import Widget

from harness_tui.core import events as ev
from harness_tui.core.mcp.manager import ServerView
from harness_tui.widgets.conversation import Conversation, NoticeEntry
from harness_tui.widgets.hooks_pane import HooksPane
from harness_tui.widgets.pending_queue import PendingQueue
from harness_tui.widgets.plan_pane import PlanPane
from harness_tui.widgets.screens.elicitation import ElicitationDialog
from harness_tui.widgets.screens.mcp import McpScreen
from harness_tui.widgets.screens.model_picker import ModelPicker, ModelRow
from harness_tui.widgets.screens.permission import PermissionDialog
from harness_tui.widgets.screens.sampling import SamplingDialog
from harness_tui.widgets.screens.session_picker import PickerRow, SessionPicker
from harness_tui.widgets.screens.trust import TrustDialog
from harness_tui.widgets.status_bar import StatusBar
from harness_tui.widgets.tools_pane import ToolsPane
from tests.tui.test_tui import scripted_session, tui, until
from tests.tui.test_tui_hardening import burst, paste, settle
from tests.tui_events import make

HOSTILE = [
    "[name]",
    "[b]bold?[/b]",
    "[link='https://evil.example/x']here[/link]",
    "[link=https://evil.example/x]bare[/link]",
    "[@click=app.quit]quit[/]",
    "tail [/]",
    "back\\[slash]",
    "[red on red]hidden",
    "[/b] closes nothing",
]
#: The same for file names, which cannot hold "/".
HOSTILE_NAMES = ["[name].txt", "[b]b.txt", "[@click=app.quit]q.txt", "back\\[s].txt", "[red]r.md"]


def screen_text(app: App[Any]) -> str:
    """The screen as painted, one line per row."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


def planted_actions(app: App[Any]) -> list[str]:
    """Links and click actions on screen that came from the hostile strings."""
    found = []
    for strip in app.screen._compositor.render_strips():
        for segment in strip:
            style = segment.style
            if style is None:
                continue
            if style.link and "evil" in style.link:
                found.append(f"link {style.link}")
            click = (style.meta or {}).get("@click")
            if click and "quit" in str(click):
                found.append(f"action {click}")
    return found


def squash(text: str) -> str:
    """Without white space, borders and scroll bars: text that wrapped still matches."""
    return re.sub(r"[\s\u2500-\u259f]+", "", text)


def assert_shown(app: App[Any], hostile: str) -> None:
    text = screen_text(app)
    assert squash(hostile) in squash(text), f"{hostile!r} is not on screen:\n{text}"
    assert not planted_actions(app)


class Host(App[None]):
    """A bare app showing the widgets or the screen under test."""

    def __init__(self, widgets: Callable[[], list[Widget]] = list, screen: Screen | None = None):
        super().__init__()
        self._widgets, self._screen = widgets, screen

    def compose(self) -> ComposeResult:
        yield from self._widgets()

    def on_mount(self) -> None:
        if self._screen is not None:
            self.push_screen(self._screen)


async def show(host: Host, hostile: str, then: Callable[[Host], Any] | None = None) -> None:
    async with host.run_test(size=(160, 44)) as pilot:
        await pilot.pause()
        if then is not None:
            then(host)
            await pilot.pause()
        assert_shown(host, hostile)


def views(name: str) -> list[ServerView]:
    return [
        ServerView(
            name=name,
            status="failed",
            transport="stdio",
            target=name,
            source="project",
            error=name,
            tools=((f"mcp__{name}", name),),
            resources=(),
            prompts=((name, name),),
            log_path=None,
            log_lines=(name,),
        )
    ]


def elicitation(name: str) -> ev.ElicitationRequested:
    schema = {
        "properties": {
            "a": {"type": "string", "title": name},
            "b": {"type": "boolean", "title": f"{name}!"},
            "c": {"enum": ["x"], "enumNames": [f"{name}?"], "default": "x"},
        }
    }
    return make(ev.ElicitationRequested, request_id="r", server=name, message=name,
                requested_schema=schema)  # fmt: skip


SCREENS: dict[str, Callable[[str], Screen[Any]]] = {
    "permission dialog": lambda s: PermissionDialog(
        make(
            ev.PermissionRequested,
            request_id="r",
            tool_call_id="c",
            tool_name=f"mcp__{s}",
            input={"x": s},
            reason=s,
            rule=s,
        )
    ),
    "trust dialog": lambda s: TrustDialog(f"/tmp/{s}", [s]),
    "model picker": lambda s: ModelPicker([ModelRow(s, s, note=s)], f"{s}!", lambda n: None),
    "session picker": lambda s: SessionPicker(f"Resume {s}", [PickerRow("k", f"{s} row")]),
    "sampling dialog": lambda s: SamplingDialog(
        make(
            ev.SamplingRequested,
            request_id="r",
            server=s,
            model=f"{s}@model",
            messages=({"role": "user", "text": s},),
            max_tokens=10,
        )
    ),
    "elicitation dialog": lambda s: ElicitationDialog(elicitation(s), lambda content: None),
    "mcp screen": lambda s: McpScreen(views(s)),
}


@pytest.mark.parametrize("hostile", HOSTILE)
@pytest.mark.parametrize("surface", list(SCREENS))
async def test_dialogs_and_screens_show_names_as_they_are(surface: str, hostile: str) -> None:
    await show(Host(screen=SCREENS[surface](hostile)), hostile)


def _status(s: str) -> tuple[Widget, list[ev.Event]]:
    bar = StatusBar(model=s)
    bar.provider = f"{s}-provider"
    return bar, []


#: A widget, and the events it is then given.
WIDGETS: dict[str, Callable[[str], tuple[Widget, list[ev.Event]]]] = {
    "status bar": _status,
    "pending queue": lambda s: (
        PendingQueue(),
        [make(ev.SteeringQueued, steering_id="q", text=s, kind="steer")],
    ),
    "plan pane": lambda s: (PlanPane(), [make(ev.PlanUpdated, entries=(ev.PlanEntry(content=s),))]),
    "tools pane": lambda s: (
        ToolsPane(),
        [make(ev.ToolCallStarted, tool_call_id="c", tool_name=f"mcp__{s}", input={})],
    ),
    "hooks pane": lambda s: (
        HooksPane(),
        [make(ev.HookExecuted, hook_event="PreToolUse", hook="x.sh", matcher=s, duration_ms=1)],
    ),
}


@pytest.mark.parametrize("hostile", HOSTILE)
@pytest.mark.parametrize("surface", list(WIDGETS))
async def test_panes_and_the_status_bar_show_text_as_it_is(surface: str, hostile: str) -> None:
    widget, events = WIDGETS[surface](hostile)

    def feed(app: Host) -> None:
        for event in events:
            widget.apply(event)  # type: ignore[attr-defined]

    await show(Host(lambda: [widget]), hostile, then=feed)


@pytest.mark.parametrize("hostile", HOSTILE)
async def test_a_toast_shows_text_as_it_is(hostile: str) -> None:
    session = scripted_session()
    async with tui(session, size=(160, 44), notifications=True) as (app, pilot):
        app.notify(f"about {hostile}")
        # The toast is drawn a frame or more later (more on a busy machine).
        await until(pilot, lambda: squash(hostile) in squash(screen_text(app)))
        assert_shown(app, hostile)


@pytest.mark.parametrize("hostile", HOSTILE)
async def test_conversation_cards_show_tool_names_and_notices_as_they_are(hostile: str):
    session = scripted_session()
    async with tui(session, size=(160, 44)) as (app, pilot):
        await app.apply_events(
            [
                make(ev.Notice, message=hostile),
                make(ev.ToolCallStarted, tool_call_id="c", tool_name=f"mcp__{hostile}", input={}),
            ]
        )
        await app.query_one(Conversation).settle()
        await pilot.pause()
        assert_shown(app, hostile)


def project(tmp_path: Path, hostile: str) -> Path:
    """A command and a skill whose descriptions (and argument hints) are ``hostile``."""
    commands = tmp_path / ".claude" / "commands"
    commands.mkdir(parents=True)
    front = {"description": f"cmd {hostile}", "argument-hint": "[name]"}
    (commands / "hx.md").write_text(
        "---\n" + "".join(f"{k}: {json.dumps(v)}\n" for k, v in front.items()) + "---\nDo $1\n"
    )
    skill = tmp_path / ".claude" / "skills" / "hy"
    skill.mkdir(parents=True)
    (skill / "SKILL.md").write_text(
        f"---\nname: hy\ndescription: {json.dumps('skill ' + hostile)}\n---\nGo\n"
    )
    return tmp_path


@pytest.mark.parametrize("hostile", HOSTILE)
async def test_slash_completion_shows_descriptions_and_hints(tmp_path: Path, hostile: str):
    session = scripted_session(cwd=project(tmp_path, hostile), trusted=True)
    async with tui(session, size=(160, 44)) as (app, pilot):
        burst(app, "/h")
        await settle(app, pilot)
        assert_shown(app, f"cmd {hostile} [name]")
        assert_shown(app, f"skill {hostile}")


@pytest.mark.parametrize("hostile", HOSTILE)
async def test_f1_help_shows_descriptions_and_hints(tmp_path: Path, hostile: str) -> None:
    session = scripted_session(cwd=project(tmp_path, hostile), trusted=True)
    async with tui(session, size=(160, 60)) as (app, pilot):
        await pilot.press("f1")
        await settle(app, pilot)
        assert_shown(app, "/model".ljust(22) + " switch model: /model [name]")
        app.screen.query_one(VerticalScroll).scroll_end(animate=False)  # custom ones: last
        await settle(app, pilot)
        assert_shown(app, f"cmd {hostile} [name]")


@pytest.mark.parametrize("name", HOSTILE_NAMES)
async def test_at_completion_shows_file_names(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_text("x")
    session = scripted_session(cwd=tmp_path)
    async with tui(session, size=(160, 44)) as (app, pilot):
        burst(app, "@")
        await settle(app, pilot)
        assert_shown(app, f"@{name}")


@pytest.mark.parametrize("hostile", HOSTILE)
async def test_errors_about_what_was_typed_show_it_as_typed(hostile: str) -> None:
    """An unknown model, named in a toast and in the conversation."""
    session = scripted_session()
    async with tui(session, size=(160, 44), notifications=True) as (app, pilot):
        paste(app, f"/model {hostile}")
        burst(app, "\n")
        await settle(app, pilot)
        await until(pilot, lambda: len(app.query(NoticeEntry)) > 1)
        error = app.query(NoticeEntry).last().text
        assert "model" in error
        from textual.widgets._toast import Toast

        await until(pilot, lambda: bool(app.screen.query(Toast)))
        toast = app.screen.query(Toast).last().render()
        assert squash(error) in squash(getattr(toast, "plain", str(toast)))
        assert not planted_actions(app)
        assert app.is_running
