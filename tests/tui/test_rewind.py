"""Rewind in the TUI, driven with Pilot against real sessions: a scripted model writes
files with the Write tool in a temporary folder, then /rewind (or Esc Esc) puts the
code, the conversation or both back, and /redo undoes it."""

from __future__ import annotations

from pathlib import Path

from harness_tui.core import events as ev
from harness_tui.core.providers.models import ModelChoice
from harness_tui.core.providers.offline.scripted import (
    ScriptedProvider,
    Text,
    ToolCall,
    Wait,
    reply,
)
from harness_tui.core.session.session import Session
from harness_tui.widgets.conversation import NoticeEntry, UserEntry
from harness_tui.widgets.event_notices import checkpoint_notice, rewound_notice
from harness_tui.widgets.prompt_input import PromptInput
from harness_tui.widgets.screens.rewind import HandEditsDialog, RewindPicker
from tests.helpers import wait_for
from tests.tui.test_tui import tui, type_text, until
from tests.tui_events import make


def writing_session(cwd: Path, *extra) -> Session:
    """Two prompts: the first rewrites notes.txt, the second creates hello.py."""
    provider = ScriptedProvider(
        [
            reply(ToolCall("Write", {"file_path": "notes.txt", "content": "agent v1\n"})),
            reply(Text("Wrote the notes.")),
            reply(ToolCall("Write", {"file_path": "hello.py", "content": "print('hi')\n"})),
            reply(Text("Added the greeting.")),
            *extra,
        ]
    )
    model = ModelChoice("scripted", "scripted", lambda: provider)
    return Session(model=model, cwd=cwd, mode="acceptEdits")


async def two_prompts(app, pilot, session: Session) -> None:
    for count, prompt in ((4, "write the notes"), (8, "add a greeting")):
        await type_text(pilot, prompt)
        await pilot.press("enter")
        await until(pilot, lambda n=count: len(session.messages) == n and not session.running)


async def open_picker(app, pilot) -> RewindPicker:
    await type_text(pilot, "/rewind")
    await pilot.press("enter")
    await until(pilot, lambda: isinstance(app.screen, RewindPicker))
    return app.screen


async def previewed(pilot, picker: RewindPicker, number: int) -> str:
    """The preview's text once it shows the plan for prompt ``number``."""
    await until(pilot, lambda: picker.plan is not None and picker.plan.point.number == number)
    return picker.query_one("#preview").content.plain


def notices(app) -> list[str]:
    return [n.text for n in app.query(NoticeEntry)]


def folder(tmp_path: Path) -> Path:
    (tmp_path / "notes.txt").write_bytes(b"original\n")
    return tmp_path


async def test_the_picker_lists_the_prompts_previews_and_rewinds_the_code(
    tmp_path: Path,
) -> None:
    cwd = folder(tmp_path)
    session = writing_session(cwd)
    async with tui(session) as (app, pilot):
        await two_prompts(app, pilot, session)
        assert (cwd / "hello.py").exists()
        picker = await open_picker(app, pilot)
        options = picker.query_one("#points")
        rows = [
            "\n".join(line.plain for line in options.get_option_at_index(i).prompt.renderables)
            for i in range(options.option_count)
        ]
        assert len(rows) == 2
        assert "1" in rows[0] and "write the notes" in rows[0] and "notes.txt" in rows[0]
        assert "2" in rows[1] and "add a greeting" in rows[1] and "hello.py" in rows[1]
        assert options.highlighted == 1  # the newest, at the bottom
        shown = await previewed(pilot, picker, 2)
        assert "remove" in shown and "hello.py" in shown and "notes.txt" not in shown
        await pilot.press("up")
        shown = await previewed(pilot, picker, 1)
        assert "restore" in shown and "notes.txt" in shown
        assert "-agent v1" in shown and "+original" in shown  # the diff, now -> then
        picker.query_one("#mode-code").focus()  # as Tab reaches it
        await pilot.press("enter")  # the focused button: code only
        await until(pilot, lambda: not (cwd / "hello.py").exists())
        assert (cwd / "notes.txt").read_bytes() == b"original\n"
        await until(pilot, lambda: any("Rewound" in n for n in notices(app)))
        told = next(n for n in notices(app) if "Rewound" in n)
        assert "write the notes" in told and "code only" in told
        assert "1 file restored, 1 removed" in told
        # The conversation is as it was: both prompts still on screen and in context.
        assert [e.text for e in app.query(UserEntry)] == ["write the notes", "add a greeting"]
        assert len(session.messages) == 8
        assert app.query_one(PromptInput).text == ""


async def test_escape_twice_on_an_empty_input_opens_the_picker(tmp_path: Path) -> None:
    session = writing_session(folder(tmp_path))
    async with tui(session) as (app, pilot):
        await two_prompts(app, pilot, session)
        await pilot.press("escape", "escape")
        await until(pilot, lambda: isinstance(app.screen, RewindPicker))
        await pilot.press("escape")  # closes it, and does nothing else
        await until(pilot, lambda: not isinstance(app.screen, RewindPicker))
        assert (tmp_path / "hello.py").exists()
        await type_text(pilot, "draft")  # not on an empty input
        await pilot.press("escape", "escape")
        await pilot.pause()
        assert not isinstance(app.screen, RewindPicker)
        assert app.query_one(PromptInput).text == "draft"


async def test_a_conversation_rewind_puts_the_prompt_back_in_the_input(tmp_path: Path) -> None:
    cwd = folder(tmp_path)
    session = writing_session(cwd, reply(Text("Added it again.")))
    async with tui(session) as (app, pilot):
        await two_prompts(app, pilot, session)
        await pilot.press("escape", "escape")
        await until(pilot, lambda: isinstance(app.screen, RewindPicker))
        await pilot.press("2")  # conversation only, to before the newest prompt
        prompt = app.query_one(PromptInput)
        await until(pilot, lambda: prompt.text == "add a greeting")
        assert len(session.messages) == 4
        await until(pilot, lambda: [e.text for e in app.query(UserEntry)] == ["write the notes"])
        await until(pilot, lambda: any("Rewound" in n for n in notices(app)))
        assert (cwd / "hello.py").read_bytes() == b"print('hi')\n"  # the code stays
        # Sent again, it goes on from just before the prompt it replaces.
        await pilot.press("enter")
        await until(pilot, lambda: len(session.messages) == 6 and not session.running)
        assert [m.text for m in list(session.messages)[-2:]] == [
            "add a greeting",
            "Added it again.",
        ]


async def test_both_then_redo_puts_everything_back(tmp_path: Path) -> None:
    cwd = folder(tmp_path)
    session = writing_session(cwd)
    async with tui(session) as (app, pilot):
        await two_prompts(app, pilot, session)
        picker = await open_picker(app, pilot)
        await pilot.press("up")
        await previewed(pilot, picker, 1)
        await pilot.press("enter")  # code and conversation, to before the first prompt
        prompt = app.query_one(PromptInput)
        await until(pilot, lambda: prompt.text == "write the notes")
        assert (cwd / "notes.txt").read_bytes() == b"original\n"
        assert not (cwd / "hello.py").exists()
        assert len(session.messages) == 0
        await until(pilot, lambda: not app.query(UserEntry))
        prompt.load_text("")
        await type_text(pilot, "/redo")
        await pilot.press("enter")
        await until(pilot, lambda: (cwd / "hello.py").exists())
        assert (cwd / "notes.txt").read_bytes() == b"agent v1\n"
        assert len(session.messages) == 8
        await until(pilot, lambda: len(app.query(UserEntry)) == 2)
        await until(pilot, lambda: any("Redo: undid" in n for n in notices(app)))
        await type_text(pilot, "/redo")
        await pilot.press("enter")
        await until(pilot, lambda: any("Nothing to redo" in n for n in notices(app)))


async def test_a_rewind_asked_for_elsewhere_shows_the_branch_it_went_back_to(
    tmp_path: Path,
) -> None:
    """A browser on the mirror (or the API) rewinds: the TUI's conversation follows."""
    session = writing_session(folder(tmp_path))
    async with tui(session) as (app, pilot):
        await two_prompts(app, pilot, session)
        await session.rewind(2, "conversation")
        await until(pilot, lambda: [e.text for e in app.query(UserEntry)] == ["write the notes"])
        await until(pilot, lambda: any("Rewound" in n for n in notices(app)))
        assert app.query_one(PromptInput).text == ""  # only a rewind asked for here fills it
        await session.redo()
        await until(pilot, lambda: len(app.query(UserEntry)) == 2)


async def test_files_changed_by_hand_are_asked_about(tmp_path: Path) -> None:
    cwd = folder(tmp_path)
    session = writing_session(cwd)
    async with tui(session) as (app, pilot):
        await two_prompts(app, pilot, session)
        (cwd / "notes.txt").write_bytes(b"mine\n")

        async def rewind_code_to_the_first_prompt() -> HandEditsDialog:
            picker = await open_picker(app, pilot)
            await pilot.press("up")
            shown = await previewed(pilot, picker, 1)
            assert "changed by hand" in shown
            await pilot.press("3")
            await until(pilot, lambda: isinstance(app.screen, HandEditsDialog))
            return app.screen

        dialog = await rewind_code_to_the_first_prompt()
        assert dialog.paths == ["notes.txt"]
        await pilot.press("escape")  # cancel: nothing changes
        await until(pilot, lambda: any("cancelled" in n for n in notices(app)))
        assert (cwd / "hello.py").exists() and (cwd / "notes.txt").read_bytes() == b"mine\n"

        await rewind_code_to_the_first_prompt()
        await pilot.press("enter")  # the default: keep them, rewind the rest
        await until(pilot, lambda: not (cwd / "hello.py").exists())
        assert (cwd / "notes.txt").read_bytes() == b"mine\n"

        await rewind_code_to_the_first_prompt()
        await pilot.press("o")  # overwrite them
        await until(pilot, lambda: (cwd / "notes.txt").read_bytes() == b"original\n")
        # The hand edits were kept for a redo.
        await type_text(pilot, "/redo")
        await pilot.press("enter")
        await until(pilot, lambda: (cwd / "notes.txt").read_bytes() == b"mine\n")


async def test_rewind_is_refused_while_a_run_is_active_and_when_there_is_nothing(
    tmp_path: Path,
) -> None:
    import anyio

    hold, reached = anyio.Event(), anyio.Event()
    provider = ScriptedProvider([reply(Text("thinking it over"), Wait(hold, reached))])
    session = Session(model=ModelChoice("scripted", "scripted", lambda: provider), cwd=tmp_path)
    async with tui(session) as (app, pilot):
        await type_text(pilot, "/rewind")
        await pilot.press("enter")
        await until(pilot, lambda: any("Nothing to rewind" in n for n in notices(app)))
        app.query_one(PromptInput).load_text("")
        await type_text(pilot, "take your time")
        await pilot.press("enter")
        await reached.wait()
        await type_text(pilot, "/rewind")
        await pilot.press("enter")
        await until(pilot, lambda: any("rewind once the run has ended" in n for n in notices(app)))
        assert not isinstance(app.screen, RewindPicker)
        await pilot.press("escape")  # during a run, Esc cancels it (and opens nothing)
        await wait_for(session.store, lambda e: e.type == "RUN_CANCELLED")
        assert not isinstance(app.screen, RewindPicker)


# --- the notices, from canned events ---------------------------------------------------


def file(path: str, change: str, by_hand: bool = False, not_kept: str | None = None):
    state = ev.FileState(sha256=None if not_kept else "0" * 64, size=3, mode=0o644)
    before = state.model_copy(update={"not_kept": not_kept}) if change != "created" else None
    after = state if change != "deleted" else None
    return ev.CheckpointFile(path=path, change=change, before=before, after=after, by_hand=by_hand)


def test_the_rewound_notice_counts_the_files_and_names_the_skipped() -> None:
    event = make(
        ev.Rewound,
        rewind_id="rw_1",
        checkpoint_id="cp_1",
        mode="both",
        prompt="fix the parser\nand add tests",
        files=(
            file("a.py", "modified"),
            file("b.py", "created"),
            file("c.py", "mode"),
            file("new.py", "deleted"),
            file("mine.py", "modified", by_hand=True),  # noticed on the way, not restored
        ),
        skipped=(ev.SkippedFile(path="x.bin", reason="not kept: binary"),),
    )
    text, level = rewound_notice(event)
    assert text == (
        "⟲ Rewound to before “fix the parser and add tests” (code and conversation): "
        "3 files restored, 1 removed; skipped: x.bin (not kept: binary)"
    )
    assert level == "warning"
    redo = make(ev.Rewound, rewind_id="rw_2", checkpoint_id="cp_1", mode="code", undoes="rw_1")
    assert rewound_notice(redo) == (
        "↷ Redo: undid the rewind (code only): no file needed changing",
        "info",
    )


def test_checkpoints_are_quiet_unless_they_kept_hand_edits_or_could_not_keep_a_file() -> None:
    quiet = make(
        ev.CheckpointCreated, checkpoint_id="cp_1", kind="tool", files=(file("a.py", "modified"),)
    )
    assert checkpoint_notice(quiet) is None
    told = make(
        ev.CheckpointCreated,
        checkpoint_id="cp_2",
        kind="prompt",
        files=(
            file("mine.md", "modified", by_hand=True),
            file("big.bin", "modified", not_kept="binary"),
        ),
    )
    text, _ = checkpoint_notice(told)
    assert "your own changes to mine.md" in text and "big.bin (binary)" in text


# --- how it looks: canned prompts and plans, compared as SVG ----------------------------

NOTES_DIFF = """\
--- a/notes.md
+++ b/notes.md
@@ -1,4 +1,3 @@
 # Notes
-The parser now reads tabs.
-Tests: 14 passed.
+The parser reads spaces only.
 Next: the tokenizer.
"""


def canned_plans() -> tuple[list, dict]:
    from harness_tui.core.checkpoints import PlannedFile, RewindPlan, RewindPoint

    points = [
        RewindPoint(1, "cp_1", "ent_1", "Set up the project", 1_795_000_000.0, ()),
        RewindPoint(
            2,
            "cp_2",
            "ent_2",
            "Make the parser read tabs,\nthen run the tests",
            1_795_000_100.0,
            ("src/parser.py", "notes.md", "tests/test_parser.py"),
        ),
        RewindPoint(3, "cp_3", "ent_3", "Add a logo", 1_795_000_200.0, ("logo.png",)),
    ]
    plan = RewindPlan(
        points[1],
        (
            PlannedFile("logo.png", "remove", "", "not kept: binary", False, None, None),
            PlannedFile("notes.md", "restore", NOTES_DIFF, None, True, None, None),
            PlannedFile(
                "tests/test_parser.py",
                "remove",
                "--- a/tests/test_parser.py\n+++ /dev/null\n@@ -1,2 +0,0 @@\n"
                "-def test_tabs():\n-    assert parse('\\ta') == ['a']\n",
                None,
                False,
                None,
                None,
            ),
        ),
    )
    plans = {2: plan, 1: RewindPlan(points[0], plan.files), 3: RewindPlan(points[2], ())}
    return points, plans


def test_snapshot_the_picker_with_a_preview(snap_compare) -> None:
    from tests import tui_events as canned
    from tests.tui.test_tui_snapshots import SIZE, app, feeding

    points, plans = canned_plans()

    async def preview(number: int):
        return plans[number]

    async def open_it(pilot) -> None:
        picker = RewindPicker(points, preview)
        pilot.app.push_screen(picker)
        await until(pilot, lambda: picker.plan is not None)
        await pilot.press("up")  # prompt 2: a diff, a file changed by hand, a skipped one
        await until(pilot, lambda: picker.plan is not None and picker.plan.point.number == 2)

    events = [*canned.welcome(), *canned.prompt("Make the parser read tabs")]
    assert snap_compare(app(), terminal_size=SIZE, run_before=feeding(events, then=open_it))


def test_snapshot_the_rewind_notices(snap_compare) -> None:
    from tests import tui_events as canned
    from tests.tui.test_tui_snapshots import SIZE, app, feeding

    events = [
        *canned.welcome(),
        make(
            ev.CheckpointCreated,
            checkpoint_id="cp_1",
            kind="prompt",
            files=(file("notes.md", "modified", by_hand=True),),
        ),
        make(
            ev.Rewound,
            rewind_id="rw_1",
            checkpoint_id="cp_1",
            mode="code",
            prompt="Make the parser read tabs, then run the tests",
            files=(file("src/parser.py", "modified"), file("tests/test_parser.py", "deleted")),
            skipped=(ev.SkippedFile(path="logo.png", reason="not kept: binary"),),
        ),
        make(
            ev.Rewound,
            rewind_id="rw_2",
            checkpoint_id="cp_1",
            mode="code",
            undoes="rw_1",
            files=(file("src/parser.py", "modified"), file("tests/test_parser.py", "created")),
        ),
    ]
    assert snap_compare(app(), terminal_size=SIZE, run_before=feeding(events))
