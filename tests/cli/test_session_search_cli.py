"""``--name`` and ``harness-tui sessions search`` as a user runs them: named headless
sessions, listed under their names, found by their words, as text and as JSON."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.test_cli import harness
from tests.cli.test_session_cli import replies, stream


def test_named_sessions_are_listed_and_found(tmp_path: Path) -> None:
    here, elsewhere = tmp_path / "here", tmp_path / "elsewhere"
    here.mkdir(), elsewhere.mkdir()
    model = replies(tmp_path, "The login form trims the password twice.")
    first = stream(
        harness(
            "-p", "why does login fail", "--name", "login bug", "--model", model,
            "--output-format", "stream-json", cwd=here,
        )
    )  # fmt: skip
    session_id = first[0]["session_id"]
    renamed = [e for e in first if e["type"] == "SESSION_RENAMED"]
    assert [(e["name"], e["previous_name"]) for e in renamed] == [("login bug", None)]
    other = stream(
        harness("-p", "tidy the parser", "--model", model, "--output-format", "stream-json",
                cwd=elsewhere)
    )[0]["session_id"]  # fmt: skip

    listed = harness("sessions", cwd=here)
    assert listed.returncode == 0
    (line,) = listed.stdout.splitlines()
    assert line.startswith(session_id) and "login bug" in line and "why does" not in line

    found = harness("sessions", "search", "password", cwd=here)
    assert found.returncode == 0, found.stderr
    head, match = found.stdout.splitlines()
    assert head.startswith(session_id) and "login bug" in head
    assert match.strip() == "assistant: The login form trims the password twice."

    # Only this folder's sessions, unless --all.
    assert harness("sessions", "search", "parser", cwd=here).returncode == 1
    every = harness("sessions", "search", "parser", "--all", "--json", cwd=here)
    (hit,) = json.loads(every.stdout)
    assert hit["session_id"] == other and hit["cwd"] == str(elsewhere.resolve())
    assert hit["kind"] == "you" and hit["line"] == "tidy the parser" and hit["name"] == ""
    assert hit["title"] == "tidy the parser"

    # The name is searchable too; the JSON says which line matched.
    by_name = json.loads(harness("sessions", "search", "bug", "--json", cwd=here).stdout)
    assert [(h["session_id"], h["kind"]) for h in by_name] == [(session_id, "name")]


def test_nothing_found_and_bad_names_are_said_plainly(tmp_path: Path) -> None:
    none = harness("sessions", "search", "zzz", cwd=tmp_path)
    assert none.returncode == 1 and "nothing matches 'zzz'" in none.stderr
    assert json.loads(harness("sessions", "search", "zzz", "--json", cwd=tmp_path).stdout) == []
    blank = harness("-p", "hi", "--name", "  ", cwd=tmp_path)
    assert blank.returncode == 2
    assert "a session's name needs a character other than spaces" in blank.stderr
    missing = harness("sessions", "search", cwd=tmp_path)
    assert missing.returncode == 2 and "TEXT" in missing.stderr
