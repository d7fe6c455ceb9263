"""Temporary stand-in for the lspkit branch's config module (ServerSpec only)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ServerSpec:
    name: str
    command: tuple[str, ...]
    languages: tuple[str, ...]
    extensions: dict[str, str]
    initialization_options: dict[str, Any] | None = None
    settings: dict[str, Any] | None = None
    env: dict[str, str] = field(default_factory=dict)
    source: str = "built-in"
    project: bool = False


def load_servers(cwd, settings, plugin_roots, trusted):  # type: ignore[no-untyped-def]
    """Stand-in: basedpyright from this Python's environment or PATH."""
    import shutil
    import sys
    from pathlib import Path

    found = shutil.which("basedpyright-langserver") or (
        str(Path(sys.prefix) / "bin" / "basedpyright-langserver")
        if (Path(sys.prefix) / "bin" / "basedpyright-langserver").exists()
        else None
    )
    specs = []
    if found:
        specs.append(
            ServerSpec(
                "basedpyright", (found, "--stdio"), ("python",), {".py": "python", ".pyi": "python"}
            )
        )
    return specs, []
