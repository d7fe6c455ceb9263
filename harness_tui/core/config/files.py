"""JSON and YAML files read the one bounded way: a regular file (``regular_files``) of at
most ``MAX_CONFIG_BYTES``, UTF-8 (a BOM is allowed), parsed within ``parse_limits``.

Settings, ``.mcp.json``, the trust and tool-usage files, the model catalogue and
scripted-model scripts all come through ``load_config_file``; a file that breaks a rule
raises ``ConfigFileError`` naming the file, the line where known, and what to do.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness_tui.core.config.yaml_source import YamlError, parse_yaml
from harness_tui.core.files.parse_limits import MAX_CONFIG_BYTES, MAX_NODES, JsonError, parse_json
from harness_tui.core.files.regular import NotUtf8, describe_read_error, read_regular_text


class ConfigFileError(ValueError):
    """A file that cannot be used; ``str()`` is ``<path>: <reason>``."""

    def __init__(self, path: Path, reason: str, line: int | None = None) -> None:
        super().__init__(f"{path}: {reason}")
        self.path, self.reason, self.line = path, reason, line


def read_config_text(path: Path, *, limit: int = MAX_CONFIG_BYTES) -> str:
    """The text of a configuration file; ``FileNotFoundError`` when there is none,
    ``ConfigFileError`` when it cannot be read (not a regular file, too large, not UTF-8)."""
    try:
        return read_regular_text(path, limit)
    except FileNotFoundError:
        raise
    except (OSError, NotUtf8) as exc:
        raise ConfigFileError(path, describe_read_error(exc)) from None


def parse_config_text(
    path: Path, text: str, *, json_format: bool | None = None, max_nodes: int = MAX_NODES
) -> Any:
    """``text`` parsed as JSON (``json_format``, or by default a ``.json`` name) or YAML;
    None for a blank text; ``ConfigFileError`` naming the line of a problem."""
    if not text.strip():
        return None
    if json_format is None:
        json_format = path.suffix.lower() == ".json"
    try:
        if json_format:
            return parse_json(text, max_nodes=max_nodes)
        return parse_yaml(text, max_nodes=max_nodes).data
    except (JsonError, YamlError) as exc:
        raise ConfigFileError(path, str(exc), exc.line) from None


def load_config_file(
    path: Path,
    *,
    json_format: bool | None = None,
    limit: int = MAX_CONFIG_BYTES,
    max_nodes: int = MAX_NODES,
) -> Any:
    """Read and parse a JSON or YAML file (None when it is blank); ``FileNotFoundError``
    when it does not exist, ``ConfigFileError`` for anything else wrong with it."""
    text = read_config_text(path, limit=limit)
    return parse_config_text(path, text, json_format=json_format, max_nodes=max_nodes)
