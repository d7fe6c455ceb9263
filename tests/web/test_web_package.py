"""The web sidecar imports only the core, and its page ships inside the wheel."""

from __future__ import annotations

import ast
import subprocess
import sys
import zipfile
from importlib.resources import files
from pathlib import Path

import pytest

import harness_tui.web
from tests import ROOT

WEB = Path(harness_tui.web.__file__).parent
STATIC = (
    "index.html",
    "app.js",
    "attachments.js",
    "markdown.js",
    "questions.js",
    "rewind.js",
    "tasks.js",
    "agents.js",
    "style.css",
)


def imported_names(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def test_the_web_package_imports_only_the_core_of_harness_tui() -> None:
    offenders = []
    for path in WEB.rglob("*.py"):
        for name in imported_names(path):
            top = name.split(".")[0]
            if top in ("textual", "rich", "widgets"):
                offenders.append(f"{path.name}: {name}")
            if top == "harness_tui" and not name.startswith(
                ("harness_tui.core", "harness_tui.web")
            ):
                offenders.append(f"{path.name}: {name}")
    assert offenders == []


def test_the_page_files_are_package_data() -> None:
    static = files("harness_tui.web") / "static"
    assert sorted(p.name for p in static.iterdir()) == sorted(STATIC)


@pytest.mark.slow
def test_the_wheel_carries_the_page(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        check=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("harness_tui-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in STATIC:
        assert f"harness_tui/web/static/{name}" in names
    assert "harness_tui/web/server.py" in names
