"""What the TUI does: keys driven with Pilot against a real session and scripted model."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import pytest

from harness_tui.core.providers.models import ModelChoice
from harness_tui.core.providers.offline.scripted import (
    ScriptedProvider,
    Text,
    ToolCall,
    Wait,
    reply,
)
from harness_tui.core.session.session import Session
from harness_tui.tui.app import HarnessApp
from harness_tui.widgets.conversation import (
    MAX_MOUNTED,
    AssistantEntry,
    Conversation,
    NoticeEntry,
    UserEntry,
)
from harness_tui.widgets.pending_queue import PendingQueue
from harness_tui.widgets.prompt_input import PromptInput
from harness_tui.widgets.screens.model_picker import ModelPicker
from harness_tui.widgets.screens.permission import PermissionDialog
from harness_tui.widgets.status_bar import StatusBar
from harness_tui.widgets.tool_card import ToolCard
from tests.helpers import GateTool, WriteLikeTool, types, wait_for


def scripted_session(*replies, tools=None, name: str = "scripted", **options) -> Session:
    provider = ScriptedProvider(list(replies))
    return Session(
        model=ModelChoice(name, "scripted", lambda: provider),
        tools=tools if tools is not None else [],
        **options,
    )


@asynccontextmanager
async def tui(
    session: Session, size=(120, 40), *, notifications: bool = False
) -> AsyncIterator[tuple[HarnessApp, object]]:
    app = HarnessApp(session, frozen_clock=True)
    async with app.run_test(size=size, notifications=notifications) as pilot:
        await until(pilot, lambda: session.is_open)
        yield app, pilot
        assert app.display_errors == 0


async def until(pilot, condition: Callable[[], bool], timeout: float = 10) -> None:
    """Let the app work until the condition holds (no fixed sleeps)."""
    with anyio.fail_after(timeout):
        while not condition():
            await pilot.pause()


async def type_text(pilot, text: str) -> None:
    await pilot.press(*[("space" if c == " " else c) for c in text])


def event_types(session: Session) -> list[str]:
    return types(session.store.replay(0))


async def test_enter_sends_and_the_answer_streams_in() -> None:
    session = scripted_session(reply(Text("Hello from the model")))
    async with tui(session) as (app, pilot):
        await type_text(pilot, "hi there")
        await pilot.press("enter")
        await wait_for(session.store, lambda e: e.type == "RUN_COMPLETED")
        conversation = app.query_one(Conversation)
        await until(pilot, lambda: bool(conversation.query(AssistantEntry)))
        await app.settle()
        assert conversation.query_one(UserEntry).text == "hi there"
        assert conversation.query_one(AssistantEntry).text == "Hello from the model"
        assert app.query_one(PromptInput).text == ""


async def test_steer_during_a_tool_call_is_delivered_after_it() -> None:
    gate = GateTool("Slow")
    session = scripted_session(
        reply(ToolCall("Slow", {"label": "x"})), reply(Text("ok")), tools=[gate]
    )
    async with tui(session) as (app, pilot):
        await type_text(pilot, "start")
        await pilot.press("enter")
        await gate.started_event("x").wait()
        await type_text(pilot, "use tabs")
        await pilot.press("enter")
        queue = app.query_one(PendingQueue)
        await until(pilot, lambda: len(queue.items) == 1)
        assert queue.items[0][1:] == ("steer", "use tabs")
        gate.release.set()
        await wait_for(session.store, lambda e: e.type == "RUN_COMPLETED")
        await until(pilot, lambda: not queue.items)
        steering = [e for e in app.query(UserEntry) if e.kind == "steering"]
        assert [e.text for e in steering] == ["use tabs"]
    order = event_types(session)
    assert order.index("TOOL_CALL_COMPLETED") < order.index("STEERING_DELIVERED")


async def test_alt_enter_queues_a_follow_up_for_after_the_run() -> None:
    hold, reached = anyio.Event(), anyio.Event()
    session = scripted_session(reply(Text("first"), Wait(hold, reached)), reply(Text("second")))
    async with tui(session) as (app, pilot):
        assert app.query_one(PendingQueue).items == ()
        await type_text(pilot, "one")
        await pilot.press("enter")
        await reached.wait()
        await type_text(pilot, "two")
        await pilot.press("alt+enter")
        queued = await wait_for(session.store, lambda e: e.type == "STEERING_QUEUED")
        assert queued.kind == "follow_up"
        hold.set()
        second = await wait_for(
            session.store, lambda e: e.type == "PROMPT_RECEIVED" and e.source == "follow_up"
        )
        assert second.text == "two"
        await wait_for(
            session.store, lambda e: e.type == "RUN_COMPLETED" and e.run_id == second.run_id
        )


async def test_alt_up_pulls_back_the_newest_queued_message() -> None:
    hold, reached = anyio.Event(), anyio.Event()
    session = scripted_session(reply(Text("x"), Wait(hold, reached)))
    async with tui(session) as (app, pilot):
        await type_text(pilot, "go")
        await pilot.press("enter")
        await reached.wait()
        await type_text(pilot, "fix typo")
        await pilot.press("enter")
        await wait_for(session.store, lambda e: e.type == "STEERING_QUEUED")
        await pilot.press("alt+up")
        prompt = app.query_one(PromptInput)
        await until(pilot, lambda: prompt.text == "fix typo")
        assert session.steering.pending == ()
        assert not app.query_one(PendingQueue).items
        hold.set()


async def test_esc_during_streaming_cancels_and_returns_queued_messages() -> None:
    hold, reached = anyio.Event(), anyio.Event()
    session = scripted_session(reply(Text("Partial answer"), Wait(hold, reached)))
    async with tui(session) as (app, pilot):
        await type_text(pilot, "go")
        await pilot.press("enter")
        await reached.wait()
        await type_text(pilot, "and then this")
        await pilot.press("enter")
        await wait_for(session.store, lambda e: e.type == "STEERING_QUEUED")
        await pilot.press("escape")
        await wait_for(session.store, lambda e: e.type == "RUN_CANCELLED")
        prompt = app.query_one(PromptInput)
        await until(pilot, lambda: prompt.text == "and then this")
        await app.settle()
        assert app.query_one(AssistantEntry).text == "Partial answer"
        assert any("Cancelled" in n.text for n in app.query(NoticeEntry))
        assert app.query_one(StatusBar).state == "idle"


async def test_esc_during_a_tool_cancels_it() -> None:
    gate = GateTool("Slow")
    session = scripted_session(reply(ToolCall("Slow", {"label": "x"})), tools=[gate])
    async with tui(session) as (app, pilot):
        await type_text(pilot, "go")
        await pilot.press("enter")
        await gate.started_event("x").wait()
        await pilot.press("escape")
        await wait_for(session.store, lambda e: e.type == "RUN_CANCELLED")
        card = app.query_one(ToolCard)
        await until(pilot, lambda: card.status == "cancelled")
        assert gate.cancelled == ["x"]


async def test_ctrl_c_cancels_a_run_and_twice_quits_when_idle() -> None:
    hold, reached = anyio.Event(), anyio.Event()
    session = scripted_session(reply(Text("x"), Wait(hold, reached)))
    async with tui(session) as (app, pilot):
        await type_text(pilot, "go")
        await pilot.press("enter")
        await reached.wait()
        await pilot.press("ctrl+c")
        await wait_for(session.store, lambda e: e.type == "RUN_CANCELLED")
        await until(pilot, lambda: not session.running)
        await pilot.press("ctrl+c")
        await pilot.pause()
        assert app.is_running  # once: only a hint
        await pilot.press("ctrl+c")
        await until(pilot, lambda: not session.is_open)
    assert app.return_code == 0 and not app.is_running
    assert event_types(session)[-1] == "SESSION_ENDED"


async def test_shift_tab_cycles_the_permission_mode() -> None:
    session = scripted_session()
    async with tui(session) as (app, pilot):
        seen: list[str] = []

        def changed() -> bool:
            return event_types(session).count("MODE_CHANGED") > len(seen)

        for _ in range(3):
            await pilot.press("shift+tab")
            await until(pilot, changed)
            seen.append(session.mode)
            await until(pilot, lambda: app.query_one(StatusBar).mode == session.mode)
        assert seen == ["acceptEdits", "plan", "default"]


async def test_model_switch_during_a_run_applies_at_the_next_turn(tmp_path: Path) -> None:
    script = tmp_path / "second.yaml"
    script.write_text("- text: from the second model\n")
    gate = GateTool("Slow")
    session = scripted_session(reply(ToolCall("Slow", {"label": "x"})), tools=[gate], cwd=tmp_path)
    async with tui(session) as (app, pilot):
        await type_text(pilot, "go")
        await pilot.press("enter")
        await gate.started_event("x").wait()
        await type_text(pilot, f"/model scripted:{script}")
        await pilot.press("enter")
        await until(pilot, lambda: session.models.pending is not None)
        assert session.model.name == "scripted"  # not during the tool call
        gate.release.set()
        done = await wait_for(session.store, lambda e: e.type == "RUN_COMPLETED")
        assert done.result == "from the second model"
        status = app.query_one(StatusBar)
        await until(pilot, lambda: status.model.endswith("second.yaml"))
    order = event_types(session)
    assert order.index("TOOL_CALL_COMPLETED") < order.index("MODEL_CHANGED")


async def test_model_picker_filters_and_refuses_unknown_names() -> None:
    session = scripted_session()
    async with tui(session) as (app, pilot):
        await type_text(pilot, "/model")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ModelPicker))
        await type_text(pilot, "nosuchmodel")
        message = app.screen.query_one("#message")
        await until(pilot, lambda: "No model in the list" in str(message.content))
        await pilot.press("enter")
        await until(pilot, lambda: "unknown model 'nosuchmodel'" in str(message.content))
        assert isinstance(app.screen, ModelPicker)  # still open, nothing changed
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, ModelPicker))
        assert session.model.name == "scripted"
        await pilot.press("enter")  # an empty input sends nothing


async def test_permission_dialog_answers_reach_the_session() -> None:
    tool = WriteLikeTool()
    session = scripted_session(
        reply(ToolCall("Touch")), reply(ToolCall("Touch")), reply(Text("done")), tools=[tool]
    )
    async with tui(session) as (app, pilot):
        await type_text(pilot, "touch twice")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, PermissionDialog))
        await pilot.press("2")  # allow for the session
        await wait_for(session.store, lambda e: e.type == "RUN_COMPLETED")
        assert tool.runs == 2
        resolved = [e for e in session.store.replay(0) if e.type == "PERMISSION_RESOLVED"]
        assert [e.decision for e in resolved] == ["allow_session"]


async def test_denying_with_a_reason_tells_the_model() -> None:
    tool = WriteLikeTool()
    session = scripted_session(reply(ToolCall("Touch")), reply(Text("ok, I won't")), tools=[tool])
    async with tui(session) as (app, pilot):
        await type_text(pilot, "touch")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, PermissionDialog))
        await pilot.press("4")
        await type_text(pilot, "not on a friday")
        await pilot.press("enter")
        failed = await wait_for(session.store, lambda e: e.type == "TOOL_CALL_FAILED")
        assert "not on a friday" in failed.error and tool.runs == 0
        await until(pilot, lambda: not isinstance(app.screen, PermissionDialog))


async def test_unknown_slash_command_and_tiny_terminal_are_handled() -> None:
    session = scripted_session()
    async with tui(session) as (app, pilot):
        await type_text(pilot, "/frobnicate now")
        await pilot.press("enter")
        await until(
            pilot,
            lambda: any("Unknown command /frobnicate" in n.text for n in app.query(NoticeEntry)),
        )
        await pilot.resize_terminal(40, 12)
        await pilot.pause()
        await pilot.resize_terminal(120, 40)
        await pilot.pause()
        assert not session.running


async def test_slash_completion_and_history() -> None:
    session = scripted_session(reply(Text("a")), reply(Text("b")))
    async with tui(session) as (app, pilot):
        await type_text(pilot, "/mo")
        await pilot.press("tab")
        prompt = app.query_one(PromptInput)
        assert prompt.text == "/model "
        prompt.clear()
        await type_text(pilot, "first prompt")
        await pilot.press("enter")
        await wait_for(session.store, lambda e: e.type == "RUN_COMPLETED")
        await pilot.press("up")
        assert prompt.text == "first prompt"
        await pilot.press("down")
        assert prompt.text == ""


@pytest.mark.parametrize("count", [MAX_MOUNTED * 3])
async def test_long_conversations_keep_only_recent_entries_mounted(count: int) -> None:
    from tests import tui_events as canned

    session = scripted_session()
    app = HarnessApp(session, frozen_clock=True, connect=False)
    async with app.run_test(size=(120, 40)) as pilot:
        for i in range(count):
            await app.apply_events(canned.prompt(f"message {i}"))
        conversation = app.query_one(Conversation)
        mounted = conversation.query(UserEntry)
        assert len(mounted) <= MAX_MOUNTED + 40
        assert mounted.last().text == f"message {count - 1}"
        before = len(mounted)
        await conversation.action_show_earlier()
        await pilot.pause()
        assert len(conversation.query(UserEntry)) > before
        texts = [e.text for e in conversation.query(UserEntry)]
        assert texts == [f"message {i}" for i in range(count - len(texts), count)]


async def test_serve_mirrors_the_tui_session_to_the_web() -> None:
    import httpx2

    session = scripted_session(reply(Text("mirrored answer")))
    app = HarnessApp(session, frozen_clock=True, serve=("127.0.0.1", 0))
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.mirror_url is not None)
        assert any(app.mirror_url in n.text for n in app.query(NoticeEntry))
        await type_text(pilot, "hi")
        await pilot.press("enter")
        await wait_for(session.store, lambda e: e.type == "RUN_COMPLETED")
        base, _, token = app.mirror_url.partition("/?token=")
        async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}) as http:
            page = await http.get(f"{base}/api/session/{session.id}/events?since=0")
        assert page.status_code == 200
        assert "mirrored answer" in page.text


async def test_the_app_paints_before_the_session_exists_and_keeps_early_input() -> None:
    made: list[Session] = []
    screen_when_made: list[str] = []

    def factory() -> Session:
        # The screen is already up, with a placeholder where the model will show.
        screen_when_made.append(str(app.query_one(StatusBar).render()))
        made.append(scripted_session(reply(Text("answer to the early bird"))))
        return made[-1]

    app = HarnessApp(factory, frozen_clock=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: bool(made) and made[0].is_open)
        await type_text(pilot, "early")
        await pilot.press("enter")
        done = await wait_for(made[0].store, lambda e: e.type == "RUN_COMPLETED")
        assert done.result == "answer to the early bird"
    assert screen_when_made and screen_when_made[0].startswith("starting…")


async def test_a_session_that_cannot_be_made_ends_the_app_with_its_reason() -> None:
    from harness_tui.core.errors import HarnessError

    def factory() -> Session:
        raise HarnessError("unknown model 'nope'", hint="known: demo")

    app = HarnessApp(factory, frozen_clock=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: not app.is_running)
    assert app.return_code == 2


async def test_tool_call_ids_that_repeat_across_models_do_not_break_the_view(
    tmp_path: Path,
) -> None:
    from tests.helpers import EchoTool

    script = tmp_path / "second.yaml"
    script.write_text("- tool_calls: [{name: Echo, input: {text: b}, id: same}]\n- text: two\n")
    session = scripted_session(
        reply(ToolCall("Echo", {"text": "a"}, id="same")),
        reply(Text("one")),
        tools=[EchoTool()],
        cwd=tmp_path,
    )
    async with tui(session) as (app, pilot):
        await type_text(pilot, "first")
        await pilot.press("enter")
        await wait_for(session.store, lambda e: e.type == "RUN_COMPLETED")
        await session.set_model(f"scripted:{script}")
        await type_text(pilot, "second")
        await pilot.press("enter")
        await wait_for(session.store, lambda e: e.type == "RUN_COMPLETED" and e.result == "two")
        await until(pilot, lambda: len(app.query(ToolCard)) == 2)


async def test_at_completes_paths_in_the_working_folder(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "parser.py").write_text("x")
    (tmp_path / "setup.cfg").write_text("x")
    session = scripted_session(cwd=tmp_path)
    async with tui(session) as (app, pilot):
        await type_text(pilot, "look at @sr")
        await pilot.press("tab")
        prompt = app.query_one(PromptInput)
        assert prompt.text == "look at @src/"
        await type_text(pilot, "pa")
        await pilot.press("tab")
        assert prompt.text == "look at @src/parser.py"


@pytest.mark.parametrize("name", ["SIGHUP", "SIGTERM"])
async def test_a_closed_terminal_or_a_kill_quits_cleanly_and_ends_tool_processes(
    tmp_path: Path, name: str
) -> None:
    """Closing the terminal (SIGHUP) or ``kill`` (SIGTERM) during a Bash call quits as
    Ctrl+C twice does: the run is cancelled, the command's whole process group ends,
    the session closes. (Before, the process died on the spot and left them running.)"""
    import os
    import re
    import signal

    from harness_tui.core.tools import BashTool
    from tests.helpers import process_group_alive

    command = "echo pgid=$$; sleep 999 & sleep 999 & wait"
    session = scripted_session(
        reply(ToolCall("Bash", {"command": command})),
        tools=[BashTool()],
        cwd=tmp_path,
        mode="bypassPermissions",
    )
    number = getattr(signal, name)
    async with tui(session) as (app, pilot):
        await session.submit("go")
        shown = await wait_for(
            session.store, lambda e: e.type == "TOOL_CALL_PROGRESS" and "pgid=" in e.output
        )
        pgid = int(re.search(r"pgid=(\d+)", shown.output).group(1))
        assert process_group_alive(pgid)
        # Only when the app handles the signal: the default action would end pytest.
        assert signal.getsignal(number) not in (signal.SIG_DFL, signal.SIG_IGN, None)
        os.kill(os.getpid(), number)
        await until(pilot, lambda: not session.is_open)
    assert not app.is_running and app.return_code == 0
    assert not process_group_alive(pgid)
    kinds = event_types(session)
    assert "RUN_CANCELLED" in kinds and kinds[-1] == "SESSION_ENDED"
    # The handlers went with the app: the signal means what it did before.
    assert signal.getsignal(number) in (signal.SIG_DFL, signal.SIG_IGN)


async def test_ctrl_c_copies_a_selection_then_clears_the_input_before_quitting() -> None:
    from textual.widgets.text_area import Selection

    session = scripted_session()
    async with tui(session) as (app, pilot):
        prompt = app.query_one(PromptInput)
        await type_text(pilot, "draft words")
        prompt.selection = Selection((0, 0), (0, 5))
        await pilot.press("ctrl+c")
        assert app.clipboard == "draft" and prompt.text == "draft words"  # copied, kept
        await pilot.press("ctrl+c")
        assert prompt.text == "" and app.is_running  # cleared, not quitting
        await pilot.press("up")
        assert prompt.text == "draft words"  # the cleared draft comes back
        await pilot.press("ctrl+c", "ctrl+c", "ctrl+c")  # clear, then twice: quit
        await until(pilot, lambda: not session.is_open)
    assert not app.is_running
