"""The language servers the LSP tests run, fake and real.

Fake: ``fake_programs`` puts executables that stand for installed servers in a folder to
use as ``PATH``; ``load`` runs ``load_servers`` with it.

Real: basedpyright (the ``dev`` extra, from
PyPI) and typescript-language-server 6.0.2 with TypeScript 6.0.3 (``tests/node``, from
npm, on the Node 22 pinned there). ``.ci/run`` installs both; a test that needs one and
does not find it skips naming what to install, and under ``HARNESS_STRICT_SKIPS=1`` (as
in CI) that skip fails the run.
"""

from __future__ import annotations

import shutil
import stat
import sys
from pathlib import Path
from typing import Any

import pytest

from harness_tui.core.config.settings import Settings, SettingsFile
from harness_tui.core.lsp.config import ServerSpec, load_servers
from tests.node_parts import BIN, INSTALL, ROOT

#: Where the dev extra puts basedpyright's server: beside the Python running the tests.
VENV_BIN = Path(sys.executable).parent
TYPESCRIPT_CLI = ROOT / "node_modules" / "typescript-language-server" / "lib" / "cli.mjs"
TSSERVER = ROOT / "node_modules" / "typescript" / "lib" / "tsserver.js"


def basedpyright_command() -> list[str] | None:
    """``[basedpyright-langserver, --stdio]`` (the venv's, else one on PATH), or None."""
    found = shutil.which("basedpyright-langserver", path=str(VENV_BIN)) or shutil.which(
        "basedpyright-langserver"
    )
    return [found, "--stdio"] if found else None


def typescript_server_command() -> list[str] | None:
    """typescript-language-server run by the pinned Node 22 (it needs Node 22.22.2 or
    later; a system Node may be older), or None when ``tests/node`` is not installed."""
    node = BIN / "node"
    if not (node.exists() and TYPESCRIPT_CLI.is_file() and TSSERVER.is_file()):
        return None
    return [str(node), str(TYPESCRIPT_CLI), "--stdio"]


def basedpyright_or_skip() -> list[str]:
    """``basedpyright_command()``; a loud skip when it is missing."""
    command = basedpyright_command()
    if command is None:
        pytest.skip(
            "NOT TESTED: basedpyright-langserver is missing, so no real Python language "
            "server runs; install the dev extra (.venv/bin/pip install -e '.[dev]'), as CI does"
        )
    return command


def typescript_server_or_skip() -> list[str]:
    """``typescript_server_command()``; a loud skip when it is missing."""
    command = typescript_server_command()
    if command is None:
        pytest.skip(
            f"NOT TESTED: typescript-language-server is missing ({TYPESCRIPT_CLI}), so no "
            f"real TypeScript language server runs; run `{INSTALL}`, as CI does"
        )
    return command


def fake_programs(folder: Path, *names: str) -> Path:
    """Executable files that stand for installed servers (never run here)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        program = folder / name
        program.write_text("#!/bin/sh\nexit 0\n")
        program.chmod(program.stat().st_mode | stat.S_IXUSR)
    return folder


def settings_of(*files: tuple[Path, str, dict[str, Any]]) -> Settings:
    """Settings files (path, scope, data), lowest precedence first."""
    return Settings(files=[SettingsFile(p, scope, False, data) for p, scope, data in files])  # type: ignore[arg-type]


def by_name(specs: list[ServerSpec]) -> dict[str, ServerSpec]:
    return {spec.name: spec for spec in specs}


def load(
    cwd: Path,
    path: Path | str,
    settings: Settings | None = None,
    roots: list[tuple[Path, str]] | None = None,
    trusted: bool = True,
) -> tuple[list[ServerSpec], list[str]]:
    return load_servers(cwd, settings or Settings(), roots or [], trusted, path=str(path))
