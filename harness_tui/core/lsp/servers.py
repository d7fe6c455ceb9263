"""The language servers found without setup, and where their programs are looked for.

The table is data, ``known_servers.json`` beside this module (shipped as package data):
basedpyright, pyright and ``ruff server`` for Python, typescript-language-server for
TypeScript and JavaScript (with their JSX forms), gopls, rust-analyzer and clangd. Its
order is priority: one server serves a language in a workspace, the first one whose
program is installed (so Python gets basedpyright, else pyright, else ruff).

A bare program name (``gopls``) is looked for, first found wins, in:

1. ``<workspace>/.venv/bin`` and ``<workspace>/node_modules/.bin`` (only in a trusted
   folder: what is there is the project's own code);
2. every folder of ``PATH``, in order;
3. the folder of the Python that runs harness-tui (its venv's ``bin``, where
   ``pip install basedpyright`` puts the server even when that venv is not activated).

A name with a ``/`` is a path (relative: to the folder the configuration came from).
Nothing here imports the LSP libraries or starts a process.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Sequence
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

from harness_tui.core.files.parse_limits import JsonError, parse_json

KNOWN_SERVERS_FILE = "known_servers.json"
#: Workspace folders searched for a program before ``PATH`` (trusted folders only).
WORKSPACE_BIN_DIRS = (Path(".venv") / "bin", Path("node_modules") / ".bin")


def own_bin_dir() -> Path:
    """The folder of the Python running harness-tui (its venv's scripts)."""
    return Path(sys.executable).parent


@cache
def known_server_table() -> tuple[dict[str, Any], ...]:
    """The entries of ``known_servers.json``, in priority order (raw: ``config``
    validates them like any other entry, so a broken table is reported, not raised)."""
    text = files("harness_tui.core.lsp").joinpath(KNOWN_SERVERS_FILE).read_text("utf-8")
    try:
        data = parse_json(text)
    except JsonError:
        return ()
    servers = data.get("servers") if isinstance(data, dict) else None
    return tuple(s for s in servers if isinstance(s, dict)) if isinstance(servers, list) else ()


def install_hint(language: str) -> str | None:
    """What to install for ``language`` (``"python"``), from the table; None when no
    known server serves it."""
    hints = [
        f"{entry['name']} ({entry['install']})" if entry.get("install") else str(entry["name"])
        for entry in known_server_table()
        if language in entry.get("languages", ())
    ]
    return " or ".join(hints) or None


def search_dirs(cwd: Path, *, trusted: bool, path: str | None = None) -> list[Path]:
    """Where a bare program name is looked for, in order (see the module docstring).
    ``path``: the ``PATH`` to use (default: the environment's)."""
    dirs = [cwd / d for d in WORKSPACE_BIN_DIRS] if trusted else []
    search = os.environ.get("PATH", os.defpath) if path is None else path
    dirs += [Path(p) for p in search.split(os.pathsep) if p]
    dirs.append(own_bin_dir())
    return list(dict.fromkeys(dirs))


def find_program(program: str, dirs: Sequence[Path], base: Path) -> Path | None:
    """The executable file ``program`` names: a path (relative to ``base``) when it has
    a ``/``, else the first match in ``dirs``; None when there is none."""
    if "/" in program or (os.altsep and os.altsep in program):
        candidate = Path(program).expanduser()
        candidate = candidate if candidate.is_absolute() else base / candidate
        found = shutil.which(str(candidate))
        return Path(found) if found else None
    found = shutil.which(program, path=os.pathsep.join(str(d) for d in dirs))
    return Path(found) if found else None
