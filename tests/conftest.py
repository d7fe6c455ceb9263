"""Every async test runs on asyncio through anyio's pytest plugin; shared fixtures."""

from __future__ import annotations

import inspect
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.hookimpl(tryfirst=True)
def pytest_pycollect_makeitem(collector: pytest.Collector, name: str, obj: Any) -> None:
    """Mark coroutine tests for anyio before its plugin (and parametrize) sees them."""
    if inspect.iscoroutinefunction(obj) and collector.istestfunction(obj, name):  # type: ignore[attr-defined]
        pytest.mark.anyio(obj)


@pytest.fixture(autouse=True)
def _no_demo_pace(monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo model streams without pauses in tests."""
    monkeypatch.setenv("HARNESS_DEMO_PACE", "0")


@pytest.fixture(autouse=True)
def _isolated_user_folders(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No test reads or writes the real ~/.config, ~/.local/share or ~/.claude."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HARNESS_CONFIG_DIR", str(home / "config"))
    monkeypatch.setenv("HARNESS_DATA_DIR", str(home / "data"))
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(home / "claude"))
    monkeypatch.setenv("CODEX_HOME", str(home / "codex"))


@pytest.fixture(autouse=True)
def _no_plugins(monkeypatch: pytest.MonkeyPatch) -> None:
    """Sessions start without plugins (the bundled git plugin would add tools and a Bash
    hook to every test's events); plugin tests opt in with the ``plugins_on`` fixture."""
    monkeypatch.setenv("HARNESS_PLUGINS", "off")


@pytest.fixture
def plugins_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HARNESS_PLUGINS", raising=False)


@pytest.fixture(autouse=True)
def _no_language_servers(monkeypatch: pytest.MonkeyPatch) -> None:
    """No session starts a language server (basedpyright is installed for the LSP tests
    and would check every Python file a test writes); LSP tests opt in with ``lsp_on``."""
    monkeypatch.setenv("HARNESS_LSP", "off")


@pytest.fixture
def lsp_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HARNESS_LSP", raising=False)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """Name every skipped test loudly; under ``HARNESS_STRICT_SKIPS=1`` (set by ``.ci/run``)
    a skip fails the run, because CI installs every part the tests need."""
    import os

    skipped = terminalreporter.stats.get("skipped", [])
    if not skipped:
        return
    terminalreporter.write_sep("!", f"{len(skipped)} test(s) SKIPPED: a part they need is missing")
    for report in skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        terminalreporter.write_line(f"  {report.nodeid}: {reason}")
    if os.environ.get("HARNESS_STRICT_SKIPS") == "1":
        terminalreporter.write_line(
            "HARNESS_STRICT_SKIPS=1: skipped tests fail this run (.ci/run installs their parts)"
        )


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    import os

    if os.environ.get("HARNESS_STRICT_SKIPS") != "1":
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter is not None else []
    if skipped and exitstatus == 0:
        session.exitstatus = 1


@pytest.fixture
def tmux(tmp_path: Path) -> Iterator[list[str]]:
    """``tmux`` on a server of this test's own: a real terminal for harness-tui."""
    binary = shutil.which("tmux")
    if binary is None:
        pytest.skip(
            "NOT TESTED: tmux is not installed, so harness-tui cannot be tried in a real "
            "terminal; install it (apt-get install tmux), as CI does"
        )
    base = [binary, "-S", str(tmp_path / "tmux.sock"), "-f", "/dev/null"]
    yield base
    subprocess.run([*base, "kill-server"], capture_output=True, timeout=10)


@pytest.fixture
def git_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A real git repository (``tmp_path/repo``) with one commit: see worktree_support."""
    from tests.worktree_support import make_repo

    return make_repo(tmp_path / "repo", monkeypatch)
