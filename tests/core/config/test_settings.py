"""Settings files: precedence, Claude Code's files, and bad files reported, not fatal."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from harness_tui.core.config import paths
from harness_tui.core.config.settings import load_settings


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_precedence_and_claude_files(tmp_path: Path) -> None:
    write(paths.config_dir() / "settings.yaml", "model: demo\npermissions: {allow: [Read]}\n")
    write(
        paths.claude_user_dir() / "settings.json",
        json.dumps({"model": "opus", "permissions": {"deny": ["Bash(rm:*)"]}}),
    )
    write(tmp_path / ".harness" / "settings.yaml", "model: scripted:x.yaml\n")
    write(
        tmp_path / ".claude" / "settings.local.json",
        json.dumps({"permissions": {"allow": ["Bash(ls)"]}, "hooks": {}}),
    )
    settings = load_settings(tmp_path)
    value, source = settings.value("model")
    assert value == "scripted:x.yaml" and source.scope == "project"
    # Claude Code's own keys such as its model names are not ours to read.
    assert all("opus" != f.data.get("model") for f in settings.files)
    rules = [section for section, _ in settings.sections("permissions")]
    assert rules == [{"deny": ["Bash(rm:*)"]}, {"allow": ["Read"]}, {"allow": ["Bash(ls)"]}]
    assert settings.problems == []
    user_only = load_settings(tmp_path, include_project=False)
    assert user_only.value("model")[0] == "demo"


def test_bad_files_are_reported_with_path_and_line(tmp_path: Path) -> None:
    write(tmp_path / ".harness" / "settings.yaml", "model: demo\npermissions: [unclosed\n")
    write(tmp_path / ".claude" / "settings.json", '{"permissions": {"allow": [}}')
    write(tmp_path / ".harness" / "settings.local.yaml", "- just a list\n")
    write(paths.config_dir() / "settings.yaml", "modle: demo\n")
    settings = load_settings(tmp_path)
    problems = "\n".join(settings.problems)
    assert f"{tmp_path / '.harness' / 'settings.yaml'}: line 2" in problems
    assert f"{tmp_path / '.claude' / 'settings.json'}: line 1" in problems
    assert "top level must be a mapping" in problems
    assert "unknown setting 'modle'" in problems
    assert settings.value("model") is None  # the broken file was skipped entirely


def test_cli_takes_model_and_mode_from_settings_and_warns_on_bad_ones(tmp_path: Path) -> None:
    script = write(tmp_path / "s.yaml", "- text: from the settings model\n")
    write(
        tmp_path / ".harness" / "settings.yaml",
        f"model: scripted:{script}\npermissions: {{defaultMode: plan}}\n",
    )

    def run(*extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "harness_tui",
                "-p",
                "hi",
                "--output-format",
                "stream-json",
                *extra,
            ],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
            env={**os.environ},
        )

    # An untrusted folder's settings do not apply: a cloned repository must not be able
    # to pick the model or loosen the mode by itself.
    untrusted = [json.loads(line) for line in run().stdout.splitlines()]
    assert untrusted[0]["permission_mode"] == "default" and untrusted[0]["model"] == "demo"
    assert any(
        e["type"] == "NOTICE" and "not trusted" in e["message"] and "--trust" in e["message"]
        for e in untrusted
    )
    result = run("--trust")
    first = json.loads(result.stdout.splitlines()[0])
    assert first["permission_mode"] == "plan" and first["model"].endswith("s.yaml")
    write(
        tmp_path / ".harness" / "settings.yaml",
        "model: no-such-model\npermissions: {defaultMode: yolo}\n",
    )
    result = run()
    assert result.returncode == 0
    events = [json.loads(line) for line in result.stdout.splitlines()]
    warnings = [e["message"] for e in events if e["type"] == "NOTICE"]
    assert any("model: unknown model 'no-such-model'" in w for w in warnings)
    assert any("defaultMode: unknown mode 'yolo'" in w for w in warnings)
    assert events[0]["model"] == "demo"
