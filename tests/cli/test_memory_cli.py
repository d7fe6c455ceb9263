"""``harness-tui memory``: add (project and user), list (text and JSON), forget, edit with
$EDITOR; a secret-looking fact and an unknown id are refused with exit 2; what the CLI
adds is in the next session's prompt for this project only."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from harness_tui.core.memory.prompt import load_memory
from tests.cli.test_cli import harness


def test_add_list_forget(tmp_path: Path) -> None:
    here, there = tmp_path / "here", tmp_path / "there"
    here.mkdir(), there.mkdir()
    added = harness("memory", "add", "Deploy with `make ship`", cwd=here)
    assert added.returncode == 0 and "Kept in project memory as" in added.stdout
    assert harness("memory", "add", "Likes terse answers", "--user", cwd=here).returncode == 0
    listed = json.loads(harness("memory", "list", "--json", cwd=here).stdout)
    (entry,) = listed["project"]["entries"]
    assert entry["text"] == "Deploy with `make ship`" and entry["session"] == "cli"
    assert [e["text"] for e in listed["user"]["entries"]] == ["Likes terse answers"]
    assert "make ship" in load_memory(here).text and "make ship" not in load_memory(there).text
    text = harness("memory", "list", cwd=there).stdout
    assert "Project memory (0)" in text and "Likes terse answers" in text
    forgot = harness("memory", "forget", entry["id"], cwd=here)
    assert forgot.returncode == 0 and "Forgot" in forgot.stdout
    assert "make ship" not in load_memory(here).text


def test_refusals_exit_2(tmp_path: Path) -> None:
    secret = harness("memory", "add", "token ghp_" + "A" * 36, cwd=tmp_path)
    assert secret.returncode == 2 and "looks like a GitHub token" in secret.stderr
    unknown = harness("memory", "forget", "nope", cwd=tmp_path)
    assert unknown.returncode == 2 and "no memory entry 'nope'" in unknown.stderr


def test_edit_opens_the_editor_on_the_index(tmp_path: Path, monkeypatch) -> None:
    script = tmp_path / "fake-editor.py"
    script.write_text("import sys\nopen(sys.argv[1], 'a').write('- added by hand\\n')\n")
    monkeypatch.setenv("EDITOR", f"{sys.executable} {script}")
    assert harness("memory", "edit", cwd=tmp_path).returncode == 0
    assert "- added by hand" in load_memory(tmp_path).text
