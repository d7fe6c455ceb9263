"""Where harness-tui keeps its files. Each folder can be moved with an environment
variable (tests point them at temporary folders)."""

from __future__ import annotations

import os
from pathlib import Path

APP = "harness-tui"


def _from_env(variable: str, default: str) -> Path:
    value = os.environ.get(variable)
    return Path(value).expanduser() if value else Path(default)


def config_dir() -> Path:
    """User settings, skills, plugins: ``~/.config/harness-tui`` (``HARNESS_CONFIG_DIR``)."""
    from platformdirs import user_config_dir

    return _from_env("HARNESS_CONFIG_DIR", user_config_dir(APP))


def data_dir() -> Path:
    """Sessions and the trusted-folder list: ``~/.local/share/harness-tui``
    (``HARNESS_DATA_DIR``)."""
    from platformdirs import user_data_dir

    return _from_env("HARNESS_DATA_DIR", user_data_dir(APP))


def claude_user_dir() -> Path:
    """Claude Code's user folder, whose settings we read too (``CLAUDE_CONFIG_DIR``)."""
    return _from_env("CLAUDE_CONFIG_DIR", str(Path.home() / ".claude"))
