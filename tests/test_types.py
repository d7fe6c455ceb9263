"""``mypy`` passes on the core and the web mirror: their annotations hold (config in
pyproject)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.timeout(600)  # a first run, with no .mypy_cache, checks every import
def test_mypy_passes_on_the_core_and_the_web_mirror() -> None:
    checked = subprocess.run(
        [sys.executable, "-m", "mypy", "harness_tui/core", "harness_tui/web"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert checked.returncode == 0, (
        f"mypy harness_tui/core harness_tui/web failed:\n{checked.stdout}{checked.stderr}"
    )
