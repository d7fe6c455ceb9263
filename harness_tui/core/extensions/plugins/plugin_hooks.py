"""A manifest's ``hooks`` entries as matchers of the session's hook pipeline.

A Python hook gets the same JSON object a command hook reads on stdin and returns what
a command hook would print as JSON (or None for "no opinion"); it may be sync or async.
A command hook is a Claude Code command hook; ``${CLAUDE_PLUGIN_ROOT}`` (or
``${PLUGIN_DIR}``) in it is the plugin's folder.
"""

from __future__ import annotations

import inspect
import re
import shlex
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio

from harness_tui.core.extensions.plugins.manifest import HookEntry, PluginError
from harness_tui.core.extensions.plugins.module_ref import load_callable
from harness_tui.core.hooks.config import CallbackHook, CommandHook, HookCallback, HookMatcher

#: Where a plugin's hooks come from, in ``Hook.source`` (the session keeps them when the
#: settings' hooks are reloaded).
SOURCE_PREFIX = "plugin "
_ROOT = re.compile(r"\$\{(CLAUDE_PLUGIN_ROOT|PLUGIN_DIR)\}")


def hook_matcher(entry: HookEntry, index: int, plugin: str, folder: Path) -> HookMatcher:
    """Raises ``PluginError`` for a module path that does not resolve or a bad matcher."""
    source = f"{SOURCE_PREFIX}{plugin}: hooks[{index}]"
    if entry.module is not None:
        func = load_callable(entry.module, plugin, folder)
        label = f"{plugin}:{entry.module.rpartition(':')[2]}"
        hook: Any = CallbackHook(as_callback(func), label, entry.timeout, source)
    else:
        assert entry.command is not None
        command = _ROOT.sub(lambda _m: shlex.quote(str(folder)), entry.command)
        hook = CommandHook(command, entry.timeout, source)
    try:
        return HookMatcher.build(entry.event, entry.matcher, (hook,))
    except re.error as exc:
        raise PluginError(f"matcher {entry.matcher!r} is not a valid regex ({exc})") from None


def as_callback(func: Callable[..., Any]) -> HookCallback:
    """An async hook callback for a sync or async function."""
    if inspect.iscoroutinefunction(func):
        return func

    async def call(payload: dict[str, Any]) -> dict[str, Any] | None:
        return await anyio.to_thread.run_sync(func, payload, abandon_on_cancel=True)

    call.__qualname__ = getattr(func, "__qualname__", "hook")
    return call


def is_plugin_hook(hook: Any) -> bool:
    return str(getattr(hook, "source", "")).startswith(SOURCE_PREFIX)
