"""A whole session that changes files with Write, Edit and Bash (rm, mv, a file in a new
folder, chmod), then rewinds its code, its conversation and both, and redoes — in a git
repository and in a plain folder, with inotify and with the walk that replaces it where
inotify is missing. What is checked is the bytes and modes on disk."""

from __future__ import annotations

import shutil
import stat
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import pytest

from harness_tui.core.checkpoints import RewindConflict
from harness_tui.core.errors import HarnessError, SessionBusyError
from harness_tui.core.providers.offline.scripted import Text, ToolCall, Wait, reply
from harness_tui.core.session.session import Session
from tests.helpers import scripted_in

BASH = (
    "rm gone.txt && mv old_name.txt new_name.txt && mkdir -p made/deeper && "
    "printf 'deep\\n' > made/deeper/file.txt && chmod 600 script.sh && "
    "printf 'appended\\n' >> edited.txt"
)


Snapshot = dict[str, tuple[bytes, int] | None]


def snapshot(root: Path) -> Snapshot:
    """Every file under ``root`` (but .git) with its bytes and mode; folders as None."""
    found: Snapshot = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if rel == ".git" or rel.startswith(".git/"):
            continue
        if path.is_dir():
            found[rel + "/"] = None
        else:
            found[rel] = (path.read_bytes(), stat.S_IMODE(path.stat().st_mode))
    return found


def workspace(root: Path, git: bool) -> None:
    (root / "edited.txt").write_text("line one\nline two\n")
    (root / "gone.txt").write_text("to be removed\n")
    (root / "old_name.txt").write_text("moved\n")
    (root / "script.sh").write_text("#!/bin/sh\necho hi\n")
    (root / "script.sh").chmod(0o755)
    (root / "ignored.log").write_text("never tracked\n")
    (root / ".gitignore").write_text("*.log\n")
    if git:
        if shutil.which("git") is None:
            pytest.fail("git is not installed: .ci/run installs it (apt-get install git)")
        run = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
        subprocess.run(["git", "init", "-q", str(root)], check=True)
        subprocess.run([*run, "-C", str(root), "add", "-A"], check=True)
        subprocess.run([*run, "-C", str(root), "commit", "-qm", "start"], check=True)


SCRIPT = [
    reply(ToolCall("Write", {"file_path": "written.txt", "content": "by Write\n"})),
    reply(ToolCall("Edit", {"file_path": "edited.txt", "old_string": "two", "new_string": "2"})),
    reply(ToolCall("Bash", {"command": BASH})),
    reply(Text("First done.")),
    reply(ToolCall("Bash", {"command": "printf 'second\\n' > second.txt && rm written.txt"})),
    reply(Text("Second done.")),
]


@pytest.fixture(params=["git", "plain"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(params=["inotify", "walk"])
def watch(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("HARNESS_CHECKPOINT_WATCH", "1" if request.param == "inotify" else "0")
    return str(request.param)


@asynccontextmanager
async def two_prompts(root: Path) -> AsyncIterator[tuple[Session, list[Snapshot]]]:
    """A session that ran both prompts; the snapshots before each and at the end."""
    session, _ = scripted_in(root, SCRIPT, mode="bypassPermissions")
    states = [snapshot(root)]
    async with session:
        async for _ in session.run("change things"):
            pass
        states.append(snapshot(root))
        async for _ in session.run("more changes"):
            pass
        states.append(snapshot(root))
        yield session, states


async def test_rewinding_code_restores_the_exact_earlier_bytes(
    tmp_path: Path, kind: str, watch: str
) -> None:
    workspace(tmp_path, kind == "git")
    async with two_prompts(tmp_path) as (session, (before_1, before_2, end)):
        assert end != before_2 != before_1
        assert "made/deeper/file.txt" in before_2 and "gone.txt" not in before_2
        assert before_2["script.sh"] == (b"#!/bin/sh\necho hi\n", 0o600)
        points = session.rewind_points()
        assert [(p.number, p.text) for p in points] == [(1, "change things"), (2, "more changes")]
        assert set(points[0].files) == {
            "written.txt",
            "edited.txt",
            "gone.txt",
            "old_name.txt",
            "new_name.txt",
            "made/deeper/file.txt",
            "script.sh",
        }
        assert set(points[1].files) == {"second.txt", "written.txt"}

        heads = len(session.messages)
        event = await session.rewind(2, "code")
        assert snapshot(tmp_path) == before_2
        assert len(session.messages) == heads  # the conversation is as it was
        assert event.mode == "code" and event.entry_id is None

        event = await session.rewind(1, "code")
        assert snapshot(tmp_path) == before_1  # the new folder is gone, modes are back
        assert "ignored.log" not in {f.path for f in event.files}

        redo = await session.redo()
        assert redo.undoes == event.rewind_id
        assert snapshot(tmp_path) == before_2


async def test_rewinding_the_conversation_forks_and_leaves_the_files(tmp_path: Path) -> None:
    workspace(tmp_path, git=False)
    async with two_prompts(tmp_path) as (session, (_, _, end)):
        tree_size = len(session.tree)
        second_entry = session.rewind_points()[1].entry_id
        event = await session.rewind(2, "conversation")
        assert snapshot(tmp_path) == end
        assert event.prompt == "more changes" and event.files == ()
        assert session.messages.head == session.tree.get(second_entry).parent_id
        assert len(session.tree) == tree_size  # a fork: nothing deleted
        assert [p.number for p in session.rewind_points()] == [1]
        await session.redo()
        assert session.messages.head == event.previous_entry_id
        assert [p.number for p in session.rewind_points()] == [1, 2]


async def test_rewinding_both_restores_files_and_goes_on_from_before_the_prompt(
    tmp_path: Path,
) -> None:
    workspace(tmp_path, git=True)
    async with two_prompts(tmp_path) as (session, (before_1, _, _)):
        event = await session.rewind(1, "both")
        assert snapshot(tmp_path) == before_1
        assert session.messages == [] and event.entry_id is None
        assert session.rewind_points() == []
        kinds = [e.type for e in session.store.replay(0)][-2:]
        assert kinds == ["BRANCH_CHANGED", "REWOUND"]


async def test_hand_edits_since_the_checkpoint_are_not_overwritten_unasked(
    tmp_path: Path, watch: str
) -> None:
    workspace(tmp_path, git=False)
    async with two_prompts(tmp_path) as (session, (before_1, _, _)):
        (tmp_path / "edited.txt").write_text("my own edit\n")  # after the agent's
        plan = await session.preview_rewind(1)
        assert [f.path for f in plan.conflicts] == ["edited.txt"]
        untouched = snapshot(tmp_path)
        with pytest.raises(RewindConflict) as caught:
            await session.rewind(1, "code")
        assert caught.value.files == ("edited.txt",)
        assert snapshot(tmp_path) == untouched  # nothing was changed

        event = await session.rewind(1, "code", hand_edits="keep")
        assert (tmp_path / "edited.txt").read_text() == "my own edit\n"
        assert [(s.path, s.reason) for s in event.skipped] == [
            ("edited.txt", "changed by hand (kept)")
        ]
        assert snapshot(tmp_path) == {**before_1, "edited.txt": untouched["edited.txt"]}

        await session.redo()
        event = await session.rewind(1, "code", hand_edits="overwrite")
        assert snapshot(tmp_path) == before_1


async def test_a_hand_edit_between_two_tool_calls_is_flagged_in_the_next_checkpoint(
    tmp_path: Path, watch: str
) -> None:
    (tmp_path / "notes.txt").write_text("v1\n")
    edited, go_on = anyio.Event(), anyio.Event()

    script = [
        reply(ToolCall("Write", {"file_path": "notes.txt", "content": "v2\n"})),
        reply(Wait(go_on), ToolCall("Bash", {"command": "printf 'v4\\n' > notes.txt"})),
        reply(Text("done")),
    ]
    session, _ = scripted_in(tmp_path, script, mode="bypassPermissions")
    async with session:
        sub = session.store.subscribe("t")
        await session.submit("go")
        async for event in session.store.stream(sub):
            if event.type == "TOOL_CALL_COMPLETED" and not edited.is_set():
                (tmp_path / "notes.txt").write_text("v3 by hand\n")
                edited.set()
                go_on.set()
            if event.type == "RUN_COMPLETED":
                break
        checkpoints = [e for e in session.store.replay(0) if e.type == "CHECKPOINT_CREATED"]
        bash = checkpoints[-1]
        assert [(f.path, f.by_hand) for f in bash.files] == [
            ("notes.txt", True),
            ("notes.txt", False),
        ]
        plan = await session.preview_rewind(1)
        assert [(f.path, f.by_hand) for f in plan.files] == [("notes.txt", True)]
        await session.rewind(1, "code", hand_edits="overwrite")
        assert (tmp_path / "notes.txt").read_text() == "v1\n"


async def test_rewind_refuses_during_a_run_and_names_bad_targets(tmp_path: Path) -> None:
    hold = anyio.Event()
    session, _ = scripted_in(tmp_path, [reply(Wait(hold), Text("ok"))])
    async with session:
        with pytest.raises(HarnessError, match="nothing to rewind"):
            await session.rewind(1)
        await session.submit("first")
        with pytest.raises(SessionBusyError):
            await session.rewind(1)
        hold.set()
        await session.runs._runner_done.wait()
        with pytest.raises(HarnessError, match="no prompt 5"):
            await session.rewind(5)
        with pytest.raises(HarnessError, match="unknown rewind mode"):
            await session.rewind(1, "files")  # type: ignore[arg-type]
        with pytest.raises(HarnessError, match="nothing to redo"):
            await session.redo()


async def test_a_resumed_session_rewinds_what_an_earlier_process_did(tmp_path: Path) -> None:
    workspace(tmp_path, git=False)
    async with two_prompts(tmp_path) as (session, (before_1, _, _)):
        pass
    resumed = Session.resume(session.id, cwd=tmp_path)
    async with resumed:
        assert [p.text for p in resumed.rewind_points()] == ["change things", "more changes"]
        await resumed.rewind(1, "both")
    assert snapshot(tmp_path) == before_1
    folder = session.checkpoints.blobs.folder
    assert folder is not None and (folder / "pack").is_file()
    assert not any(p.name.endswith(".txt") for p in folder.rglob("*"))  # one pack, no copies


async def test_a_cancelled_bash_call_still_has_its_checkpoint(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("before\n")
    command = "printf 'after\\n' > a.txt && echo written && sleep 30"
    session, _ = scripted_in(
        tmp_path, [reply(ToolCall("Bash", {"command": command}))], mode="bypassPermissions"
    )
    async with session:
        sub = session.store.subscribe("t")
        await session.submit("go")
        async for event in session.store.stream(sub):
            if event.type == "TOOL_CALL_PROGRESS" and "written" in event.output:
                break
        await session.cancel()
        assert (tmp_path / "a.txt").read_text() == "after\n"
        await session.rewind(1, "code")
        assert (tmp_path / "a.txt").read_text() == "before\n"
