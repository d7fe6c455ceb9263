"""The Node programs the tests run (installed by ``.ci/run`` with ``npm ci --prefix
tests/node``, pinned in ``tests/node/package-lock.json``): Node 22, the MCP conformance
suite, the reference "everything" server and typescript-language-server with TypeScript
(``tests/lsp_support.py``). A test that needs one skips, naming the
command that installs it, when it is missing (``.ci/run`` turns that skip into a failure).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).parent / "node"
BIN = ROOT / "node_modules" / ".bin"
INSTALL = "npm ci --prefix tests/node"


def node_env() -> dict[str, str]:
    """The environment with Node 22's ``bin`` first on PATH (the packages' ``#!/usr/bin/env
    node`` scripts then run on it, not on an older system Node)."""
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


def node_program(name: str) -> Path:
    """The installed program ``name`` (``node``, ``conformance``, ``mcp-server-everything``);
    skips the test, loudly, when it is missing."""
    path = BIN / name
    if not path.exists() or shutil.which(name, path=str(BIN)) is None:
        pytest.skip(f"{path} is missing: run `{INSTALL}` (the Node parts the tests use)")
    return path
