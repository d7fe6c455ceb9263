"""The README's two set-up commands, and CI running exactly its test command."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def setup_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```sh\n(.*?)```", readme, re.S)
    return [b.strip() for b in blocks if b.strip().startswith("python3 -m venv")]


def test_readme_has_exactly_two_setup_commands() -> None:
    run, test = setup_commands()
    assert "pip install" in run and "harness-tui" in run
    assert "pip install" in test and "pytest" in test


def test_ci_runs_the_readme_test_command() -> None:
    _, test = setup_commands()
    ci = (ROOT / ".ci" / "run").read_text()
    assert test in ci.splitlines()


def test_every_name_the_core_exports_resolves() -> None:
    """The Python API section imports ``Session`` from ``harness_tui.core``: each of the
    package's lazy exports must still name a real module and attribute after a move."""
    import harness_tui.core as core

    missing = []
    for name in core.__all__:
        try:
            getattr(core, name)
        except (AttributeError, ImportError) as error:
            missing.append(f"{name}: {error}")
    assert missing == []
    assert "from harness_tui.core import Session" in (ROOT / "README.md").read_text()
