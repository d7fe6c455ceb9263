"""Finding and loading plugins: folders with a ``plugin.yaml``.

Searched, highest precedence first: the project's ``.harness/plugins/`` (only in a
trusted folder: a plugin runs code), the user's ``<config>/plugins/`` and the plugins
bundled with harness-tui. A plugin whose name an earlier one took is skipped (so a user
can replace a bundled plugin by name). Each plugin loads whole or not at all: any
problem — bad YAML, an unknown section, a module path that does not resolve, a missing
function, a tool name already taken — skips it with one message naming the manifest, the
line and the field, and the other plugins still load.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any, Literal

from harness_tui.core.config import paths
from harness_tui.core.config.yaml_source import YamlDocument
from harness_tui.core.errors import HarnessError
from harness_tui.core.extensions.agents import AgentDefinition, load_agent_file, make_agent
from harness_tui.core.extensions.plugins.command_tool import CommandTool
from harness_tui.core.extensions.plugins.function_tool import FunctionTool
from harness_tui.core.extensions.plugins.manifest import (
    MANIFEST_NAMES,
    AgentEntry,
    PluginError,
    PluginManifest,
    at,
    location_text,
    read_manifest,
)
from harness_tui.core.extensions.plugins.module_ref import load_callable
from harness_tui.core.extensions.plugins.plugin_hooks import hook_matcher
from harness_tui.core.extensions.plugins.plugin_models import catalogue_entries
from harness_tui.core.hooks.config import HookMatcher
from harness_tui.core.tools.base import Tool

Source = Literal["project", "user", "bundled"]


@dataclass
class LoadedPlugin:
    name: str
    version: str | None
    description: str | None
    folder: Path
    manifest_path: Path
    source: Source
    tools: list[Tool] = field(default_factory=list)
    hook_matchers: list[HookMatcher] = field(default_factory=list)
    agents: list[AgentDefinition] = field(default_factory=list)
    #: ``mcpServers``-shaped configurations, for the MCP client.
    mcp_servers: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Catalogue entries (providers and models).
    models: dict[str, Any] = field(default_factory=dict)
    #: Problems that did not stop the plugin (a wrong field in one of its agent files).
    warnings: list[str] = field(default_factory=list)

    @property
    def skill_folder(self) -> Path:
        """Where the plugin's ``SKILL.md`` folders are (``skills/<name>/SKILL.md``)."""
        return self.folder / "skills"

    def summary(self) -> str:
        parts = [f"{len(self.tools)} tools"] if self.tools else []
        if self.hook_matchers:
            parts.append(f"{len(self.hook_matchers)} hooks")
        if self.agents:
            parts.append("agents " + ", ".join(a.name for a in self.agents))
        if self.models:
            models = sum("/" in key for key in self.models)
            parts.append(f"{len(self.models) - models} providers, {models} models")
        if self.mcp_servers:
            parts.append("MCP " + ", ".join(self.mcp_servers))
        version = f" {self.version}" if self.version else ""
        return f"{self.name}{version} ({self.source}, {self.folder}): " + (
            "; ".join(parts) or "nothing to add"
        )


@dataclass(frozen=True)
class PluginFailure:
    path: Path
    message: str


@dataclass
class PluginSet:
    plugins: list[LoadedPlugin] = field(default_factory=list)
    failures: list[PluginFailure] = field(default_factory=list)
    #: Things worth knowing that are not failures (a plugin replaced by another).
    notes: list[str] = field(default_factory=list)

    def extend(self, other: PluginSet) -> None:
        self.plugins += other.plugins
        self.failures += other.failures
        self.notes += other.notes

    @property
    def problems(self) -> list[str]:
        skipped = [f"plugin skipped: {f.message}" for f in self.failures]
        return skipped + [w for p in self.plugins for w in p.warnings]

    def tools(self) -> list[Tool]:
        return [t for p in self.plugins for t in p.tools]

    def hook_matchers(self) -> list[HookMatcher]:
        return [m for p in self.plugins for m in p.hook_matchers]

    def agents(self) -> list[AgentDefinition]:
        return [a for p in self.plugins for a in p.agents]

    def mcp_servers(self) -> dict[str, dict[str, Any]]:
        return {name: c for p in self.plugins for name, c in p.mcp_servers.items()}

    def model_sources(self) -> list[tuple[Path, Mapping[str, Any]]]:
        return [(p.manifest_path, p.models) for p in self.plugins if p.models]

    def skill_folders(self) -> list[tuple[Path, str]]:
        return [(p.skill_folder, f"plugin {p.name}") for p in self.plugins]

    def describe(self) -> list[str]:
        lines = [p.summary() for p in self.plugins] or ["no plugins loaded"]
        lines += [f"failed: {f.message}" for f in self.failures]
        lines += self.notes
        return lines


def bundled_plugins_dir() -> Path:
    """The plugins shipped with harness-tui (``harness_tui.plugins``)."""
    root = files("harness_tui.plugins")
    return root if isinstance(root, Path) else Path(str(root))


def plugins_disabled() -> bool:
    """``HARNESS_PLUGINS=off`` starts sessions without any plugin (to tell whether a
    plugin causes a problem; the test suite runs this way unless a test opts in)."""
    return os.environ.get("HARNESS_PLUGINS", "").strip().lower() in ("0", "off", "no", "false")


def plugin_roots(cwd: Path, *, include_project: bool) -> list[tuple[Path, Source]]:
    """The folders plugins are found in, highest precedence first."""
    if plugins_disabled():
        return []
    roots: list[tuple[Path, Source]] = []
    if include_project:
        roots.append((cwd / ".harness" / "plugins", "project"))
    roots.append((paths.config_dir() / "plugins", "user"))
    roots.append((bundled_plugins_dir(), "bundled"))
    return roots


def manifest_in(folder: Path) -> Path | None:
    """The folder's manifest. Whatever it is: a FIFO or a device named plugin.yaml is
    then refused by ``read_manifest``, with a notice, rather than passed over unsaid."""
    return next((folder / n for n in MANIFEST_NAMES if (folder / n).exists()), None)


def discover_plugins(
    roots: Iterable[tuple[Path, Source]],
    *,
    taken: Mapping[str, str] | None = None,
    loaded_names: Iterable[str] = (),
) -> PluginSet:
    """Load every plugin under ``roots``. ``taken``: tool names already in use (name ->
    owner), which no plugin may reuse; ``loaded_names``: plugins already loaded."""
    owners = dict(taken or {})
    names = set(loaded_names)
    result = PluginSet()
    for manifest_path, source in manifests(roots):
        try:
            plugin = load_plugin(manifest_path, source, owners, names)
        except PluginError as exc:
            result.failures.append(PluginFailure(manifest_path, str(exc)))
            continue
        if plugin is None:
            result.notes.append(
                f"{manifest_path}: not loaded: a plugin of the same name comes first"
            )
            continue
        names.add(plugin.name)
        for tool in plugin.tools:
            owners[tool.name] = f"the {plugin.name} plugin"
        result.plugins.append(plugin)
    return result


def manifests(roots: Iterable[tuple[Path, Source]]) -> Iterator[tuple[Path, Source]]:
    """Each plugin manifest under ``roots`` (one plugin folder deep), in order."""
    for root, source in roots:
        if root.is_dir():
            for folder in sorted(p for p in root.iterdir() if p.is_dir()):
                manifest_path = manifest_in(folder)
                if manifest_path is not None:
                    yield manifest_path, source


def plugin_model_sources(roots: Iterable[tuple[Path, Source]]) -> list[tuple[Path, dict]]:
    """The ``models`` sections of the plugins under ``roots``, read from the manifests
    alone (nothing imported): what the command line needs to resolve ``--model`` before
    the session loads the plugins (and reports their problems)."""
    found: list[tuple[Path, dict]] = []
    names: set[str] = set()
    for manifest_path, _source in manifests(roots):
        try:
            manifest, _doc = read_manifest(manifest_path)
            if manifest.name in names:
                continue
            names.add(manifest.name)
            if manifest.models is not None:
                found.append((manifest_path, catalogue_entries(manifest.models, manifest.name)))
        except PluginError:
            continue  # the session reports it
    return found


def load_plugin(
    manifest_path: Path, source: Source, taken: Mapping[str, str], names: set[str]
) -> LoadedPlugin | None:
    """One plugin, whole; None when its name is already loaded. Raises ``PluginError``."""
    manifest, doc = read_manifest(manifest_path)
    if manifest.name in names:
        return None
    builder = _Builder(manifest_path, doc, manifest)
    plugin = LoadedPlugin(
        name=manifest.name,
        version=manifest.version,
        description=manifest.description,
        folder=manifest_path.parent,
        manifest_path=manifest_path,
        source=source,
    )
    if manifest.models is not None:
        plugin.models = builder.step(["models"], catalogue_entries, manifest.models, manifest.name)
    plugin.tools = builder.tools(taken)
    plugin.hook_matchers = [
        builder.step(["hooks", i], hook_matcher, entry, i, manifest.name, plugin.folder)
        for i, entry in enumerate(manifest.hooks)
    ]
    plugin.agents = [
        builder.step(["agents", i], builder.agent, entry, i)
        for i, entry in enumerate(manifest.agents)
    ]
    seen: set[str] = set()
    for index, server in enumerate(manifest.mcp_servers):
        if server.name in seen:
            raise PluginError(
                builder.where(["mcp_servers", index, "name"], f"{server.name!r} twice")
            )
        seen.add(server.name)
        plugin.mcp_servers[server.name] = with_plugin_root(server.config(), plugin.folder)
    plugin.warnings = builder.warnings
    return plugin


class _Builder:
    """Turns manifest entries into live objects, naming the line of any failure."""

    def __init__(self, path: Path, doc: YamlDocument, manifest: PluginManifest) -> None:
        self.path = path
        self.doc = doc
        self.manifest = manifest
        self.folder = path.parent
        self.warnings: list[str] = []

    def where(self, loc: list[Any], message: str) -> str:
        field = location_text(loc)
        if message.startswith(field + "."):  # the message names a field inside it
            return f"{at(self.path, self.doc, loc)}{message}"
        return f"{at(self.path, self.doc, loc)}{field}: {message}"

    def step(self, loc: list[Any], make: Any, *args: Any) -> Any:
        try:
            return make(*args)
        except (PluginError, HarnessError) as exc:
            raise PluginError(self.where(loc, str(exc))) from None

    def tools(self, taken: Mapping[str, str]) -> list[Tool]:
        name = self.manifest.name
        tools: list[tuple[list[Any], Tool]] = []
        for i, skill in enumerate(self.manifest.skills):

            def make(entry: Any = skill) -> Tool:
                func = load_callable(entry.module, name, self.folder)
                return FunctionTool(
                    func,
                    name=entry.name or func.__name__,
                    description=entry.description,
                    read_only=entry.read_only,
                    plugin=name,
                )

            tools.append((["skills", i, "module"], self.step(["skills", i, "module"], make)))
        for i, command in enumerate(self.manifest.commands):
            tools.append((["commands", i, "name"], CommandTool(command, name)))
        mine: dict[str, str] = {}
        for loc, tool in tools:
            owner = taken.get(tool.name) or mine.get(tool.name)
            if owner is not None:
                raise PluginError(
                    self.where(loc, f"the tool name {tool.name!r} is already used by {owner}")
                )
            mine[tool.name] = f"{location_text(loc[:2])} of this plugin"
        return [tool for _, tool in tools]

    def agent(self, entry: AgentEntry, index: int) -> AgentDefinition:
        source = f"plugin {self.manifest.name}"
        if entry.file is not None:
            path = (self.folder / entry.file).resolve()
            if not path.is_relative_to(self.folder.resolve()):
                raise PluginError(f"file: {entry.file!r} is outside the plugin folder")
            if not path.is_file():
                raise PluginError(f"file: {entry.file!r} does not exist in {self.folder}")
            agent, warnings = load_agent_file(path, source)
            self.warnings += warnings
            model = entry.model or entry.model_override
            return agent if model is None else _replace_model(agent, model)
        return make_agent(
            entry.name,
            entry.description,
            entry.system_prompt,
            tools=entry.tools,
            model=entry.model or entry.model_override,
            where=f"agents[{index}]",
            source=source,
        )


def _replace_model(agent: AgentDefinition, model: str) -> AgentDefinition:
    from dataclasses import replace

    return replace(agent, model=None if model == "inherit" else model)


def with_plugin_root(config: dict[str, Any], folder: Path) -> dict[str, Any]:
    """``${CLAUDE_PLUGIN_ROOT}`` / ``${PLUGIN_DIR}`` -> the plugin folder; other
    ``${VAR}`` references are left for the MCP client to expand."""

    def fill(value: Any) -> Any:
        if isinstance(value, str):
            return value.replace("${CLAUDE_PLUGIN_ROOT}", str(folder)).replace(
                "${PLUGIN_DIR}", str(folder)
            )
        if isinstance(value, list):
            return [fill(v) for v in value]
        if isinstance(value, dict):
            return {k: fill(v) for k, v in value.items()}
        return value

    return fill(config)
