"""Language servers that plugins declare, read from their files alone (nothing imported).

A plugin folder in one of the plugin roots (``plugin_roots()``: the project's
``.harness/plugins/`` in a trusted folder, the user's, the bundled ones) declares servers
in any of these, all read:

- ``lsp_servers:`` in our ``plugin.yaml`` (Claude Code's entry shape);
- ``lspServers`` in Claude Code's ``.claude-plugin/plugin.json``: a mapping of servers,
  the path of a file shaped like ``.lsp.json`` (``"./.lsp.json"``), or a list of either;
- ``.lsp.json`` at the plugin's root: ``{"go": {"command": "gopls", ...}}``.

So a Claude Code language-server plugin copied (or linked) into a plugin root works
unchanged, with or without a ``plugin.yaml``. ``${CLAUDE_PLUGIN_ROOT}`` and
``${PLUGIN_DIR}`` become the plugin's folder. As with the plugin loader, a plugin whose
name an earlier root already gave is passed over; a broken ``plugin.yaml`` is passed
over too (the plugin loader reports it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness_tui.core.config.files import ConfigFileError, load_config_file
from harness_tui.core.extensions.plugins.loader import manifest_in, with_plugin_root
from harness_tui.core.extensions.plugins.manifest import PluginError, read_manifest

LSP_JSON = ".lsp.json"
CLAUDE_MANIFEST = Path(".claude-plugin") / "plugin.json"


@dataclass(frozen=True)
class Declaration:
    """One server as a plugin wrote it."""

    plugin: str
    name: str
    raw: Any
    #: ``<file>: <key>``, for problems.
    where: str
    #: The plugin's folder: relative program paths start there.
    folder: Path
    #: From the project's plugin folder.
    project: bool


def plugin_declarations(
    roots: Iterable[tuple[Path, str]],
) -> tuple[list[Declaration], list[str]]:
    """Every server the plugins under ``roots`` (highest precedence first; a root's
    source ``"project"`` marks its servers) declare, in order; and the problems."""
    found: list[Declaration] = []
    problems: list[str] = []
    names: set[str] = set()
    for root, source in roots:
        try:
            folders = sorted(p for p in root.iterdir() if p.is_dir())
        except OSError:  # no such root, or one that cannot be listed
            continue
        for folder in folders:
            declared = _folder(folder, source == "project", problems)
            if declared is None:
                continue
            plugin, entries = declared
            if plugin in names:
                continue
            names.add(plugin)
            found += entries
    return found, problems


def _folder(
    folder: Path, project: bool, problems: list[str]
) -> tuple[str, list[Declaration]] | None:
    """The plugin's name and its declarations; None when it is no plugin (or a broken
    ``plugin.yaml``)."""
    manifest_path = manifest_in(folder)
    claude_path = folder / CLAUDE_MANIFEST
    lsp_path = folder / LSP_JSON
    if manifest_path is None and not claude_path.exists() and not lsp_path.exists():
        return None
    name = folder.name
    groups: list[tuple[Any, str]] = []  # (mapping of servers, "<file>: <prefix>")
    if manifest_path is not None:
        try:
            manifest, _doc = read_manifest(manifest_path)
        except PluginError:
            return None
        name = manifest.name
        groups.append((manifest.lsp_servers, f"{manifest_path}: lsp_servers."))
    read_files: set[Path] = set()
    if claude_path.exists():
        data = _load(claude_path, problems)
        if isinstance(data, dict):
            if manifest_path is None and isinstance(data.get("name"), str):
                name = data["name"]
            if "lspServers" in data:
                groups += _claude_field(
                    data["lspServers"], claude_path, folder, read_files, problems
                )
    if lsp_path.resolve() not in read_files and lsp_path.exists():
        groups.append((_load(lsp_path, problems), f"{lsp_path}: "))
    entries: list[Declaration] = []
    for servers, where in groups:
        if servers is None:
            continue
        if not isinstance(servers, Mapping):
            problems.append(
                f"{where.rstrip(': .')}: must map server names to their settings, as in "
                f'{{"go": {{"command": "gopls", "extensionToLanguage": {{".go": "go"}}}}}}'
            )
            continue
        for server, raw in servers.items():
            filled = with_plugin_root({"raw": raw}, folder)["raw"]
            entries.append(
                Declaration(name, str(server), filled, where + str(server), folder, project)
            )
    return name, entries


def _claude_field(
    value: Any, path: Path, folder: Path, read_files: set[Path], problems: list[str]
) -> list[tuple[Any, str]]:
    """``lspServers`` of a ``plugin.json``: servers inline, a file path, or a list."""
    groups: list[tuple[Any, str]] = []
    items = value if isinstance(value, list) else [value]
    for index, item in enumerate(items):
        key = f"lspServers[{index}]" if isinstance(value, list) else "lspServers"
        if not isinstance(item, str):
            groups.append((item, f"{path}: {key}."))
            continue
        target = (folder / with_plugin_root({"p": item}, folder)["p"]).resolve()
        if not target.is_relative_to(folder.resolve()):
            problems.append(f"{path}: {key}: {item!r} is outside the plugin folder; skipped")
            continue
        read_files.add(target)
        groups.append((_load(target, problems), f"{target}: "))
    return groups


def _load(path: Path, problems: list[str]) -> Any:
    """A JSON file's data; None (and a problem) when it cannot be read."""
    try:
        data = load_config_file(path, json_format=True)
    except FileNotFoundError:
        problems.append(f"{path}: no such file")
        return None
    except ConfigFileError as exc:
        problems.append(f"{exc}; its language servers are skipped")
        return None
    # Some plugins wrap the servers as in plugin.json: {"lspServers": {...}}.
    if isinstance(data, dict) and set(data) == {"lspServers"}:
        return data["lspServers"]
    return data
