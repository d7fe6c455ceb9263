"""A workspace with places outside it, and a permission engine over it, for the
adversarial permission tests (shell paths, protected files, denied content)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from harness_tui.core.config import paths
from harness_tui.core.permissions.engine import Decision, PermissionBroker, PermissionEngine
from harness_tui.core.permissions.rules import RuleSet, parse_rule
from harness_tui.core.tools import BashTool, EditTool, GlobTool, GrepTool, ReadTool, WriteTool
from harness_tui.core.tools.base import Tool

A, Q, D = "allow", "ask", "deny"

TOOLS: dict[str, Tool] = {
    tool.name: tool
    for tool in (BashTool(), ReadTool(), EditTool(), WriteTool(), GlobTool(), GrepTool())
}


def make_places(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """``w`` the workspace (with config folders, a ``.git`` and symlinks), ``out`` a folder
    outside it, ``home`` the home folder, and the user's config, Claude and data folders."""
    root = tmp_path.resolve()
    places = {
        "w": root / "w",
        "out": root / "out",
        "home": root / "home",
        "config": Path(os.path.realpath(paths.config_dir())),
        "claude": Path(os.path.realpath(paths.claude_user_dir())),
        "data": Path(os.path.realpath(paths.data_dir())),
    }
    for folder in places.values():
        folder.mkdir(parents=True, exist_ok=True)
    w = places["w"]
    for folder in ("src", "sub", "dir", ".harness", ".claude/commands", ".git/hooks", "payload"):
        (w / folder).mkdir(parents=True, exist_ok=True)
    (w / "src" / "app.py").write_text("a\n")
    (w / "a.txt").write_text("a\n")
    (w / ".harness" / "settings.yaml").write_text("permissions: {}\n")
    (w / ".git" / "config").write_text("[core]\n")
    (places["out"] / "x").write_text("outside\n")
    os.symlink(places["out"], w / "link")
    os.symlink(w / ".harness", w / "cfglink")
    os.symlink(w / ".claude" / "commands", w / "cmdlink")
    os.symlink(w / ".harness" / "settings.yaml", w / "settingslink")
    os.symlink(w / ".claude" / "commands" / "new.md", w / "danglink")
    monkeypatch.setenv("HOME", str(places["home"]))
    return places


def fill(value: Any, places: dict[str, Path]) -> Any:
    """``{w}``, ``{out}``... in strings (also inside dicts) replaced by the places, and
    ``{{}}`` by ``{}``."""
    if isinstance(value, str):
        for key, path in places.items():
            value = value.replace("{" + key + "}", str(path))
        return value.replace("{{}}", "{}")
    if isinstance(value, dict):
        return {k: fill(v, places) for k, v in value.items()}
    return value


def make_engine(
    rules: dict[str, list[str]], places: dict[str, Path], policy: str = "ask"
) -> PermissionEngine:
    """An engine in ``w`` with ``rules`` ({behavior: [rule, ...]})."""
    ruleset = RuleSet(
        rules=[
            parse_rule(fill(text, places), behavior, "test")  # type: ignore[arg-type]
            for behavior, texts in rules.items()
            for text in texts
        ]
    )

    async def emit(*args: Any, **kwargs: Any) -> None:
        return None

    return PermissionEngine(PermissionBroker(emit, policy), ruleset, cwd=places["w"])  # type: ignore[arg-type]


def decide(
    places: dict[str, Path],
    rules: dict[str, list[str]],
    tool: str,
    input: dict[str, Any],
    mode: str = "default",
) -> Decision:
    return make_engine(rules, places).decide(TOOLS[tool], fill(input, places), mode)
