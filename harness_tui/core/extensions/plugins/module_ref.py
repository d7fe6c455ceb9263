"""Module paths in a manifest (``tools:git_summary``, ``plugins.git.tools:git_summary``)
resolve inside the plugin's own folder.

Each plugin folder becomes a package of its own in ``sys.modules`` (named after the
plugin and its folder, so two folders never collide), whose only search path is the
plugin folder: a plugin imports its own modules with relative imports
(``from .helpers import x``) and can never shadow or be shadowed by another plugin's
modules or the standard library. Nothing is added to ``sys.path``.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.machinery
import importlib.util
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness_tui.core.extensions.plugins.manifest import PluginError

_PREFIXES = (("harness_tui", "plugins"), ("plugins",))


def plugin_package(name: str, folder: Path) -> str:
    """The package a plugin's modules are imported under (created on first use)."""
    digest = hashlib.sha1(str(folder.resolve()).encode()).hexdigest()[:10]
    package = f"_harness_plugin_{re.sub(r'[^A-Za-z0-9_]', '_', name)}_{digest}"
    if package not in sys.modules:
        spec = importlib.machinery.ModuleSpec(package, None, is_package=True)
        spec.submodule_search_locations = [str(folder)]
        module = importlib.util.module_from_spec(spec)
        sys.modules[package] = module
    return package


def module_parts(ref: str, plugin: str, folder: Path) -> tuple[list[str], str]:
    """``plugins.<plugin>.mod.sub:attr`` or ``mod.sub:attr`` -> (``[mod, sub]``, attr)."""
    module, _, attr = ref.partition(":")
    parts = module.split(".")
    for prefix in _PREFIXES:
        n = len(prefix)
        if tuple(parts[:n]) == prefix and len(parts) > n + 1:
            named = parts[n]
            if named not in {folder.name, plugin, plugin.replace("-", "_")}:
                raise PluginError(
                    f"{ref!r} names the plugin {named!r}, but this is {plugin!r}: module "
                    "paths resolve inside the plugin's own folder"
                )
            parts = parts[n + 1 :]
            break
    return parts, attr


def load_callable(ref: str, plugin: str, folder: Path) -> Callable[..., Any]:
    """Import ``ref`` from the plugin folder; raises ``PluginError`` saying what is
    missing (the file, the function) or how the import failed."""
    parts, attr = module_parts(ref, plugin, folder)
    relative = Path(*parts)
    candidates = [folder / relative.with_suffix(".py"), folder / relative / "__init__.py"]
    if not any(c.is_file() for c in candidates):
        raise PluginError(
            f"{ref!r}: there is no {relative.with_suffix('.py')} in the plugin folder {folder}"
        )
    name = f"{plugin_package(plugin, folder)}.{'.'.join(parts)}"
    try:
        module = importlib.import_module(name)
    except SyntaxError as exc:
        where = f"{Path(exc.filename or '').name}, line {exc.lineno}" if exc.lineno else ""
        raise PluginError(f"{ref!r}: the module has a syntax error ({where}: {exc.msg})") from None
    except Exception as exc:
        raise PluginError(
            f"{ref!r}: importing the module failed: {type(exc).__name__}: {exc}"
        ) from None
    if not hasattr(module, attr):
        raise PluginError(f"{ref!r}: the module {'.'.join(parts)} has no {attr!r}")
    value = getattr(module, attr)
    if not callable(value):
        raise PluginError(f"{ref!r}: {attr!r} is not a function (it is {type(value).__name__})")
    return value
