"""``--continue``, ``--resume ID``, ``sessions`` and ``export`` as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.test_cli import harness


def replies(folder: Path, *texts: str) -> str:
    path = folder / "replies.yaml"
    path.write_text(json.dumps([{"text": t} for t in texts]))
    return f"scripted:{path}"


def stream(result) -> list[dict]:
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_continue_and_resume_go_on_with_the_saved_conversation(tmp_path: Path) -> None:
    model = replies(tmp_path, "first answer", "second answer")
    first = stream(
        harness("-p", "one", "--model", model, "--output-format", "stream-json", cwd=tmp_path)
    )
    session_id = first[0]["session_id"]
    listed = harness("sessions", cwd=tmp_path)
    assert listed.returncode == 0 and session_id in listed.stdout and "one" in listed.stdout

    # --continue: the model and the conversation come from the file.
    second = stream(harness("-p", "two", "-c", "--output-format", "stream-json", cwd=tmp_path))
    assert second[0]["type"] == "SESSION_STARTED" and second[0]["source"] == "resume"
    assert second[0]["session_id"] == session_id and second[0]["model"] == model
    assert second[-1]["type"] == "RUN_COMPLETED" and not second[-1]["is_error"]

    # --resume ID (a prefix will do), in text mode.
    third = harness("-p", "three", "--resume", session_id[:12], cwd=tmp_path)
    assert third.returncode == 0, third.stderr
    assert third.stdout.strip() == "first answer"  # the script starts over; the file does not

    exported = harness("export", session_id, "-f", "json", cwd=tmp_path)
    assert exported.returncode == 0, exported.stderr
    data = json.loads(exported.stdout)
    assert [m.get("content", [{}])[0].get("text") for m in data["context"]] == [
        "one",
        "first answer",
        "two",
        "first answer",
        "three",
        "first answer",
    ]
    assert data["session"]["id"] == session_id and data["events"][0]["type"] == "SESSION_STARTED"


def test_export_writes_markdown(tmp_path: Path) -> None:
    model = replies(tmp_path, "Here is `code` and ```fences```.")
    first = stream(
        harness("-p", "explain", "--model", model, "--output-format", "stream-json", cwd=tmp_path)
    )
    session_id = first[0]["session_id"]
    out = tmp_path / "out.md"
    result = harness("export", session_id, "-o", str(out), cwd=tmp_path)
    assert result.returncode == 0 and f"wrote {out}" in result.stderr
    text = out.read_text()
    assert text.startswith("# explain\n") and f"`{session_id}`" in text
    assert "## You\n\nexplain\n" in text and "## Assistant\n\nHere is `code`" in text
    as_json = harness("export", session_id, "-o", str(tmp_path / "out.json"), cwd=tmp_path)
    assert as_json.returncode == 0
    assert json.loads((tmp_path / "out.json").read_text())["session"]["title"] == "explain"


def test_bad_session_arguments_each_give_one_clear_message(tmp_path: Path) -> None:
    cases = [
        (("-p", "hi", "--resume"), "--resume needs a session id with -p"),
        (("-p", "hi", "--resume", "ses_nope"), "no saved session 'ses_nope'"),
        (("-p", "hi", "--continue"), "no saved session in this folder"),
        (("export", "ses_nope"), "no saved session 'ses_nope'"),
        (("-p", "hi", "-c", "--resume", "x"), "--continue and --resume cannot be used together"),
    ]
    for args, message in cases:
        result = harness(*args, cwd=tmp_path)
        assert result.returncode == 2, (args, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert message in lines[-1] and "Traceback" not in result.stderr, result.stderr


def test_a_newer_file_and_an_unusable_data_folder(tmp_path: Path) -> None:
    import os

    from harness_tui.core.storage.saved import session_path

    future = session_path("ses_future")
    future.parent.mkdir(parents=True, exist_ok=True)
    header = {"type": "session", "format": 99, "session_id": "ses_future", "cwd": "/"}
    future.write_text(json.dumps({**header, "created": 0, "version": "9"}) + "\n")
    result = harness("-p", "hi", "--resume", "ses_future", cwd=tmp_path)
    assert result.returncode == 2
    assert "written by a newer harness-tui (format 99" in result.stderr
    assert "upgrade harness-tui" in result.stderr and "Traceback" not in result.stderr

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    env = {"HARNESS_DATA_DIR": str(blocker)}
    listed = harness("sessions", cwd=tmp_path, env=env)
    assert listed.returncode == 2 and "cannot read the session folder" in listed.stderr
    ran = harness("-p", "hi", "--model", replies(tmp_path, "fine"), cwd=tmp_path, env=env)
    assert ran.returncode == 0 and ran.stdout.strip() == "fine"
    assert "This session is not saved" in ran.stderr and "HARNESS_DATA_DIR" in ran.stderr
    assert os.path.isfile(blocker)
