"""What the tests of the Bash sandbox share: a workspace where the real bubblewrap can
confine commands, and a settings file that turns the sandbox on.

Workspaces live under /var/tmp: inside the sandbox /tmp is a private folder, so a
workspace under /tmp would have a writable (private, thrown away) parent."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness_tui.core.sandbox import bwrap


def need_bwrap() -> None:
    """Skip, loudly and with bubblewrap's own words, where the sandbox cannot start
    (CI installs bubblewrap and fails on any skip)."""
    found = bwrap.probe()
    if not found.ok:
        pytest.skip(f"the sandbox cannot start here, so it cannot be tested: {found.reason}")


@contextmanager
def sandbox_scratch(prefix: str) -> Iterator[Path]:
    """A fresh folder under /var/tmp holding ``ws`` (the workspace); yields the folder."""
    need_bwrap()
    top = Path(tempfile.mkdtemp(prefix=prefix, dir="/var/tmp"))
    (top / "ws").mkdir()
    try:
        yield top
    finally:
        shutil.rmtree(top, ignore_errors=True)


def turn_on(ws: Path, sandbox: dict[str, Any]) -> None:
    """``.harness/settings.yaml`` with the sandbox on and ``sandbox``'s other keys."""
    (ws / ".harness").mkdir(exist_ok=True)
    data = {"sandbox": {"enabled": True, **sandbox}}
    (ws / ".harness" / "settings.yaml").write_text(yaml.safe_dump(data))
