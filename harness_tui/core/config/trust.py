"""Workspace trust: which folders may configure the harness.

Project-level settings, hooks (and later MCP servers and plugins) found in a folder take
effect only once the user has trusted that folder: a repository cloned from anywhere
must not start processes or loosen permissions by itself. Trust is asked once (a
``TRUST_REQUESTED`` event the TUI answers; ``--trust`` on the command line) and
remembered in ``<data dir>/trusted_folders.json``. Trusting a folder trusts its
subfolders.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from harness_tui.core.config import paths
from harness_tui.core.config.files import ConfigFileError, load_config_file

log = logging.getLogger(__name__)

FILE_NAME = "trusted_folders.json"

#: Project files that take effect only in a trusted folder (relative to the folder).
PROJECT_CONFIG = (
    ".claude/settings.json",
    ".claude/settings.local.json",
    ".harness/settings.yaml",
    ".harness/settings.local.yaml",
    ".mcp.json",
    ".harness/plugins",
)


class TrustStore:
    """The remembered trusted folders (real paths)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or paths.data_dir() / FILE_NAME

    def folders(self) -> list[Path]:
        try:
            data = load_config_file(self.path, json_format=True)
        except FileNotFoundError:
            return []
        except ConfigFileError as exc:
            log.warning("%s; no folder is trusted", exc)
            return []
        entries = data.get("trusted") if isinstance(data, dict) else None
        if not isinstance(entries, list):
            return []
        return [Path(e) for e in entries if isinstance(e, str) and e]

    def is_trusted(self, folder: Path) -> bool:
        real = Path(os.path.realpath(folder))
        return any(real == f or real.is_relative_to(f) for f in self.folders())

    def trust(self, folder: Path) -> None:
        """Remember ``folder`` as trusted (written atomically)."""
        real = Path(os.path.realpath(folder))
        known = self.folders()
        if real in known:
            return
        entries = sorted({str(f) for f in known} | {str(real)})
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps({"trusted": entries}, indent=2) + "\n", encoding="utf-8")
        os.replace(temporary, self.path)


def project_config_found(folder: Path) -> list[str]:
    """The project files in ``folder`` that trust would enable."""
    return [name for name in PROJECT_CONFIG if (folder / name).exists()]
