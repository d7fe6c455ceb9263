"""The core imports no UI, no web framework and no provider SDK (SPEC 2, rule 4)."""

from __future__ import annotations

import ast
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import harness_tui.core

CORE = Path(harness_tui.core.__file__).parent
UI_AND_WEB = (
    "textual",
    "fastapi",
    "starlette",
    "uvicorn",
    "rich",
    "widgets",
    "harness_tui.widgets",
    "harness_tui.web",
    "harness_tui.tui.app",
)
SDKS = ("anthropic", "openai", "mcp", "google.genai")


def loaded_after(code: str) -> set[str]:
    probe = f"import sys, json\n{code}\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    return set(json.loads(out.stdout))


def top_names(modules: set[str]) -> set[str]:
    return {name.split(".")[0] for name in modules} | modules


def test_importing_the_whole_core_loads_no_ui_web_or_sdk() -> None:
    every_module = [m.name for m in pkgutil.walk_packages([str(CORE)], "harness_tui.core.")]
    assert "harness_tui.core.session.session" in every_module
    code = "\n".join(f"import {name}" for name in ["harness_tui.core", *every_module])
    loaded = top_names(loaded_after(code))
    assert not loaded & set(UI_AND_WEB), loaded & set(UI_AND_WEB)
    assert not loaded & set(SDKS), loaded & set(SDKS)


def test_no_core_module_mentions_ui_or_web_imports_even_lazily() -> None:
    offenders = []
    for path in CORE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [
                f"{path.name}: {n}"
                for n in names
                if n.split(".")[0] in UI_AND_WEB or n.startswith(UI_AND_WEB)
            ]
    assert offenders == []


def test_version_and_help_do_not_load_the_core() -> None:
    loaded = loaded_after("import harness_tui.cli")
    assert "harness_tui.core" not in loaded
    assert "pydantic" not in top_names(loaded)
