"""The TUI's session commands, driven with Pilot: the /resume picker, /fork, and the
rest of the session commands."""

from __future__ import annotations

import json
from pathlib import Path

from harness_tui.core.session.session import Session
from harness_tui.core.storage.saved import load_session
from harness_tui.tui.app import HarnessApp
from harness_tui.widgets.conversation import AssistantEntry, NoticeEntry, UserEntry
from harness_tui.widgets.prompt_input import PromptInput
from harness_tui.widgets.screens.session_picker import SessionPicker
from harness_tui.widgets.status_bar import StatusBar
from tests.helpers import run_to_end, wait_for
from tests.tui.test_tui import tui, type_text, until


def script(folder: Path, *texts: str) -> str:
    path = folder / f"replies-{len(list(folder.glob('replies-*')))}.yaml"
    path.write_text(json.dumps([{"text": t} for t in texts]))
    return f"scripted:{path}"


async def saved_session(folder: Path, prompts: list[str], answers: list[str]) -> str:
    async with Session(model=script(folder, *answers), cwd=folder, tools=[]) as session:
        for prompt in prompts:
            await run_to_end(session, prompt)
        await session.set_mode("plan")
    return session.id


def shown(app: HarnessApp) -> list[tuple[str, str]]:
    entries = [(w, "you") for w in app.query(UserEntry)] + [
        (w, "model") for w in app.query(AssistantEntry)
    ]
    entries.sort(key=lambda pair: pair[0].region.y)
    return [(who, widget.text) for widget, who in entries]


async def test_resume_picker_restores_the_conversation_on_screen(tmp_path: Path) -> None:
    older = await saved_session(tmp_path, ["old question"], ["old answer"])
    newer = await saved_session(tmp_path, ["fix the bug", "and test it"], ["fixed", "tested"])
    session = Session(model=script(tmp_path, "fresh"), cwd=tmp_path, tools=[])
    async with tui(session) as (app, pilot):
        await type_text(pilot, "/resume")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, SessionPicker))
        picker = app.screen
        labels = [str(o.prompt) for o in picker.query_one("OptionList")._options]
        assert len(labels) == 2 and "fix the bug" in labels[0] and "old question" in labels[1]
        await type_text(pilot, "old")  # the filter
        await until(pilot, lambda: picker.query_one("OptionList").option_count == 1)
        await pilot.press("backspace", "backspace", "backspace")
        await pilot.press("enter")  # the newest, highlighted first
        await until(pilot, lambda: app.session.id == newer and app.session.is_open)
        resumed = app.session
        await wait_for(resumed.store, lambda e: e.type == "SESSION_STARTED")
        await until(pilot, lambda: len(app.query(AssistantEntry)) == 2)
        await app.settle()
        assert shown(app) == [
            ("you", "fix the bug"),
            ("model", "fixed"),
            ("you", "and test it"),
            ("model", "tested"),
        ]
        assert resumed.mode == "plan" and resumed.model.name.startswith("scripted:")
        status = app.query_one(StatusBar)
        await until(pilot, lambda: status.mode == "plan")
        assert status.state == "idle"  # a transcript on screen, no run in progress
        assert not session.is_open  # the session it replaced was closed
        # The resumed session goes on in the same file.
        await type_text(pilot, "one more")
        await pilot.press("enter")
        await wait_for(resumed.store, lambda e: e.type == "RUN_COMPLETED")
    saved = load_session(newer)
    assert [m.text for m in saved.context().messages][-2:] == ["one more", "fixed"]
    assert older != newer


async def test_resume_flag_without_an_id_opens_the_picker_first(tmp_path: Path) -> None:
    await saved_session(tmp_path, ["earlier"], ["yes"])
    session = Session(model=script(tmp_path, "hello"), cwd=tmp_path, tools=[])
    app = HarnessApp(session, frozen_clock=True, pick_session=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, SessionPicker))
        assert not session.is_open  # nothing started behind the picker
        await pilot.press("escape")  # a new session instead
        await until(pilot, lambda: session.is_open)
        assert app.session is session and not app.query(UserEntry)


async def test_fork_picker_branches_before_a_message_and_hands_it_back(tmp_path: Path) -> None:
    session = Session(model=script(tmp_path, "A1", "A2", "B2"), cwd=tmp_path, tools=[])
    async with tui(session) as (app, pilot):
        for count, prompt in ((2, "one"), (4, "two")):
            await type_text(pilot, prompt)
            await pilot.press("enter")
            await until(pilot, lambda n=count: len(session.messages) == n and not session.running)
        await type_text(pilot, "/fork")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, SessionPicker))
        options = app.screen.query_one("OptionList")
        assert "two" in str(options.get_option_at_index(0).prompt)  # newest first
        await pilot.press("enter")
        prompt = app.query_one(PromptInput)
        await until(pilot, lambda: prompt.text == "two")
        await until(pilot, lambda: len(app.query(AssistantEntry)) == 1)
        await app.settle()
        assert shown(app) == [("you", "one"), ("model", "A1")]
        assert [m.text for m in session.messages] == ["one", "A1"]
        prompt.load_text("")
        await type_text(pilot, "/tree")
        await pilot.press("enter")
        await until(
            pilot, lambda: any("Conversation tree" in n.text for n in app.query(NoticeEntry))
        )
        tree = next(n.text for n in app.query(NoticeEntry) if "Conversation tree" in n.text)
        assert tree.count("end of branch") == 1 and "@" in tree


async def test_cost_context_compact_and_export(tmp_path: Path) -> None:
    session = Session(
        model=script(tmp_path, "first answer", "The summary.", "after"), cwd=tmp_path, tools=[]
    )
    async with tui(session) as (app, pilot):
        app.query_one(PromptInput).load_text("a long question " + "x" * 400)
        await pilot.press("enter")
        await wait_for(session.store, lambda e: e.type == "RUN_COMPLETED")

        async def command(text: str, expect: str) -> str:
            app.query_one(PromptInput).load_text("")
            await type_text(pilot, text)
            await pilot.press("enter")
            await until(pilot, lambda: any(expect in n.text for n in app.query(NoticeEntry)))
            return next(n.text for n in app.query(NoticeEntry) if expect in n.text)

        cost = await command("/cost", "Tokens so far")
        assert "Cost: unknown" in cost
        context = await command("/context", "Context:")
        assert "system prompt" in context and "tool definitions" in context
        assert "messages (2)" in context and "total" in context
        await command("/compact", "Context compacted (manual)")
        assert session.messages[0].text.endswith("The summary.")
        exported = await command("/export notes", "Exported to")
        assert (tmp_path / "notes.md").is_file() and (tmp_path / "notes.json").is_file()
        assert str(tmp_path / "notes.md") in exported
        markdown = (tmp_path / "notes.md").read_text()
        assert "a long question" in markdown and "Context compacted" in markdown


async def test_another_session_on_screen_leaves_no_folded_entries_behind(tmp_path: Path) -> None:
    from harness_tui.core.events import Notice
    from harness_tui.widgets.conversation import Conversation

    session = Session(model=script(tmp_path, "x"), cwd=tmp_path, tools=[])
    async with tui(session) as (app, pilot):
        await app.apply_events([Notice(session_id=session.id, message=f"n{i}") for i in range(120)])
        conversation = app.query_one(Conversation)
        await until(pilot, lambda: bool(app.screen.query("#earlier")))
        await type_text(pilot, "/clear")
        await pilot.press("enter")
        await until(pilot, lambda: app.session is not session and app.session.is_open)
        await until(pilot, lambda: not app.screen.query("#earlier"))
        assert conversation._folded == [] and len(app.query(NoticeEntry)) < 5


async def test_a_session_resumed_from_the_command_line_is_shown(tmp_path: Path) -> None:
    saved = await saved_session(tmp_path, ["what is here?"], ["two files"])
    session = Session.resume(saved, cwd=tmp_path, tools=[])  # as --resume ID / -c make it
    async with tui(session) as (app, pilot):
        await until(pilot, lambda: len(app.query(AssistantEntry)) == 1)
        await app.settle()
        assert shown(app) == [("you", "what is here?"), ("model", "two files")]
        status = app.query_one(StatusBar)
        await until(pilot, lambda: status.mode == "plan")
        assert status.state == "idle"  # a transcript on screen, no run in progress


async def test_rename_and_the_pickers_search_box(tmp_path: Path) -> None:
    older = await saved_session(tmp_path, ["tidy the imports"], ["The deadlock was in the pool."])
    newer = await saved_session(tmp_path, ["write the changelog"], ["done"])
    session = Session(model=script(tmp_path, "fresh"), cwd=tmp_path, tools=[])
    async with tui(session) as (app, pilot):
        status = app.query_one(StatusBar)
        await type_text(pilot, "/rename pool fix")
        await pilot.press("enter")
        await until(pilot, lambda: status.name == "pool fix")
        assert "pool fix" in str(status.render())
        await type_text(pilot, "/resume")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, SessionPicker))
        picker = app.screen
        picker.SEARCH_DELAY = 0
        options = picker.query_one("OptionList")
        assert options.option_count == 2  # the other sessions; not this one
        # No label holds "deadlock": the search of their messages finds it, with its line.
        await type_text(pilot, "deadlock")
        await until(pilot, lambda: options.option_count == 1)
        found = str(options.get_option_at_index(0).prompt)
        assert "tidy the imports" in found and "The deadlock was in the pool." in found
        message = str(picker.query_one("#message").render())
        assert message == "0 of 2; 1 more found in their messages"
        await pilot.press("enter")
        await until(pilot, lambda: app.session.id == older and app.session.is_open)
        await until(pilot, lambda: status.name == "")  # the resumed session has no name
    assert newer != older and load_session(session.id).name == "pool fix"
