"""Plugins: folders with a ``plugin.yaml`` that add tools (Python functions and shell
commands), hooks, sub-agents, models, MCP servers and skills to every session.

``loader`` finds and loads them, ``manifest`` validates the file, ``function_tool`` and
``command_tool`` turn entries into tools, ``plugin_hooks`` into hook matchers and
``plugin_models`` into catalogue entries.
"""

from __future__ import annotations

from harness_tui.core.extensions.plugins.loader import (
    LoadedPlugin,
    PluginFailure,
    PluginSet,
    discover_plugins,
    plugin_model_sources,
    plugin_roots,
)
from harness_tui.core.extensions.plugins.manifest import PluginError, PluginManifest
from harness_tui.core.extensions.plugins.plugin_models import with_plugin_models

__all__ = [
    "LoadedPlugin",
    "PluginError",
    "PluginFailure",
    "PluginManifest",
    "PluginSet",
    "discover_plugins",
    "plugin_model_sources",
    "plugin_roots",
    "with_plugin_models",
]
