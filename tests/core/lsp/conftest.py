"""Shared fixtures of the LSP tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness_tui.core.lsp import servers


@pytest.fixture
def no_own_venv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An empty folder for harness-tui's own venv: the test venv has basedpyright (the
    dev extra), which the search would find whatever PATH a configuration test gives."""
    empty = tmp_path / "own-bin"
    empty.mkdir()
    monkeypatch.setattr(servers, "own_bin_dir", lambda: empty)
