"""How MCP looks in the TUI: canned events through the real widgets, compared as SVG."""

from __future__ import annotations

from harness_tui.core import events as ev
from harness_tui.core.mcp import ServerView
from harness_tui.widgets.screens.mcp import McpScreen
from tests import tui_events as canned
from tests.tui.test_tui_snapshots import SIZE, app, feeding
from tests.tui_events import make

FORM = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "title": "Name", "default": "Ada", "description": "Your name"},
        "age": {"type": "integer", "title": "Age", "default": 36},
        "plan": {
            "type": "string",
            "title": "Plan",
            "enum": ["free", "pro", "team"],
            "default": "pro",
        },
        "subscribe": {"type": "boolean", "title": "Subscribe", "default": True},
    },
    "required": ["name", "plan"],
}


def status(server: str, state: str, **fields) -> ev.Event:
    return make(
        ev.McpServerStatus, run=None, server=server, status=state, transport="stdio", **fields
    )


def test_server_status_notices(snap_compare) -> None:
    events = [
        *canned.welcome(),
        status("time", "ready", tools=2),
        status("notes", "ready", tools=12, resources=3, prompts=1),
        status("github", "failed", error="command not found: github-mcp-server"),
        make(
            ev.Notice,
            run=None,
            level="warning",
            message="MCP server github did not start: command not found: github-mcp-server "
            "(its stderr is in /home/dev/.local/share/harness-tui/mcp-logs/github.log)",
        ),
        status("time", "crashed", tools=2, error="the server process exited"),
        make(
            ev.Notice,
            run=None,
            level="warning",
            message="MCP server time stopped: the server process exited; it restarts when one "
            "of its tools is next used",
        ),
        status("time", "ready", tools=2, attempt=1),
    ]
    assert snap_compare(app(), terminal_size=SIZE, run_before=feeding(events))


def test_elicitation_form(snap_compare) -> None:
    asked = make(
        ev.ElicitationRequested,
        request_id="eli_1",
        server="signup",
        message="A few details to create your account:",
        requested_schema=FORM,
    )
    assert snap_compare(app(), terminal_size=SIZE, run_before=feeding([*canned.welcome(), asked]))


def test_sampling_approval(snap_compare) -> None:
    asked = make(
        ev.SamplingRequested,
        request_id="smp_1",
        server="notes",
        messages=({"role": "user", "text": "Summarise the meeting notes in three bullets."},),
        system_prompt="You are a concise assistant.",
        max_tokens=400,
        model="anthropic/claude-sonnet-4-6",
    )
    assert snap_compare(app(), terminal_size=SIZE, run_before=feeding([*canned.welcome(), asked]))


def test_slash_mcp_screen(snap_compare) -> None:
    views = [
        ServerView(
            name="time",
            status="ready",
            transport="stdio",
            target="mcp-server-time (stdio)",
            source="/home/dev/project/.mcp.json",
            error=None,
            tools=(
                ("mcp__time__get_current_time", "Get the current time in a time zone."),
                ("mcp__time__convert_time", "Convert a time between time zones."),
            ),
            resources=(),
            prompts=(),
            log_path="/home/dev/.local/share/harness-tui/mcp-logs/time.log",
            log_lines=("info: loaded 597 time zones",),
            log_level="info",
        ),
        ServerView(
            name="notes",
            status="failed",
            transport="http",
            target="https://notes.example.com/mcp (http)",
            source="/home/dev/.config/harness-tui/settings.yaml",
            error="ConnectError: connection refused",
            tools=(),
            resources=(("notes://today", "Today's notes"),),
            prompts=(("standup", "Write the stand-up summary"),),
            log_path=None,
            log_lines=(),
            templates=(("notes://{day}/{topic}", "A note by day and topic"),),
            subscribed=("notes://today",),
        ),
    ]

    async def open_screen(pilot) -> None:
        await pilot.app.push_screen(McpScreen(views))

    assert snap_compare(
        app(), terminal_size=SIZE, run_before=feeding(canned.welcome(), then=open_screen)
    )
