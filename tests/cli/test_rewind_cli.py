"""``harness-tui rewind``, run as a user runs it: two headless sessions change files,
then ``--list``, a code rewind, a hand edit that stops a rewind, ``--keep-hand-edits``,
``--both`` and ``--redo`` — each a real process, the files checked on disk."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.test_cli import harness


def script(folder: Path, name: str, command: str) -> str:
    path = folder / name
    replies = [
        {"tool_calls": [{"name": "Bash", "input": {"command": command}}]},
        {"text": "done"},
    ]
    path.write_text(json.dumps({"responses": replies}))
    return f"scripted:{path}"


def test_list_rewind_conflict_and_redo_from_the_command_line(tmp_path: Path) -> None:
    ws, data = tmp_path / "ws", tmp_path / "data"
    ws.mkdir()
    env = {"HARNESS_DATA_DIR": str(data)}
    (ws / "a.txt").write_text("one\n")
    first = script(tmp_path, "s1.json", "printf 'new\\n' > b.txt")
    second = script(
        tmp_path, "s2.json", "printf 'two\\n' >> a.txt && rm b.txt && mkdir d && : > d/z"
    )
    for args in (["-p", "make b", "--model", first], ["-c", "-p", "more", "--model", second]):
        done = harness(*args, "--mode", "bypassPermissions", cwd=ws, env=env)
        assert done.returncode == 0, done.stderr

    listed = harness("rewind", "--list", cwd=ws, env=env)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[1].split()[0] == "1" and lines[1].endswith("make b")
    assert lines[2].split() == ["b.txt"]
    assert lines[3].split()[0] == "2" and lines[3].endswith("more")
    assert [line.strip() for line in lines[4:]] == ["a.txt", "b.txt", "d/z"]

    done = harness("rewind", "2", "--code", cwd=ws, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Rewound (files): 1 restored, 1 recreated, 1 removed.")
    assert sorted(p.name for p in ws.iterdir()) == ["a.txt", "b.txt"]
    assert (ws / "a.txt").read_text() == "one\n" and (ws / "b.txt").read_text() == "new\n"

    (ws / "b.txt").write_text("mine\n")
    refused = harness("rewind", "1", cwd=ws, env=env)
    assert refused.returncode == 1
    assert "nothing was rewound" in refused.stderr and "changed by hand: b.txt" in refused.stderr
    assert (ws / "b.txt").read_text() == "mine\n"

    kept = harness("rewind", "1", "--both", "--keep-hand-edits", cwd=ws, env=env)
    assert kept.returncode == 0, kept.stderr
    assert "left alone: b.txt (changed by hand (kept))" in kept.stdout
    assert "goes on from before: make b" in kept.stdout
    assert harness("rewind", "--list", cwd=ws, env=env).stderr.endswith(
        "no prompt with a checkpoint yet\n"
    )

    redone = harness("rewind", "--redo", cwd=ws, env=env)
    assert redone.returncode == 0, redone.stderr
    assert redone.stdout.startswith("Undid the last rewind (files and conversation)")
    assert "2  " in harness("rewind", "--list", cwd=ws, env=env).stdout


def test_bad_rewind_arguments_each_give_one_clear_message(tmp_path: Path) -> None:
    env = {"HARNESS_DATA_DIR": str(tmp_path / "data")}
    none = harness("rewind", "--list", cwd=tmp_path, env=env)
    assert none.returncode == 2 and "no saved session in this folder" in none.stderr
    both = harness("rewind", "--list", "--redo", cwd=tmp_path, env=env)
    assert both.returncode == 2 and "say what to do" in both.stderr
    done = harness("-p", "hi", "--model", "demo", cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    far = harness("rewind", "9", cwd=tmp_path, env=env)
    assert far.returncode == 2 and "no prompt 9 to rewind to" in far.stderr
    nothing = harness("rewind", "--redo", cwd=tmp_path, env=env)
    assert nothing.returncode == 2 and "nothing to redo" in nothing.stderr


async def test_a_session_open_elsewhere_is_not_rewound_behind_its_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import anyio

    from harness_tui.core.session.session import Session

    ws, data = tmp_path / "ws", tmp_path / "data"
    ws.mkdir()
    env = {"HARNESS_DATA_DIR": str(data)}
    model = script(tmp_path, "s.json", "printf 'x\\n' > made.txt")
    done = harness("-p", "make", "--model", model, "--mode", "bypassPermissions", cwd=ws, env=env)
    assert done.returncode == 0, done.stderr
    monkeypatch.setenv("HARNESS_DATA_DIR", str(data))
    (found,) = (data / "sessions").glob("*.jsonl")
    async with Session.resume(found.stem, cwd=ws):  # holds the file, as a running TUI does
        refused = await anyio.to_thread.run_sync(
            lambda: harness("rewind", "1", "--code", cwd=ws, env=env)
        )
    assert refused.returncode == 2 and "open in another harness-tui process" in refused.stderr
    assert (ws / "made.txt").exists()
