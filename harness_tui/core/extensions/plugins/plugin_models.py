"""A manifest's ``models`` section, added to the model catalogue through the same path as
the settings' ``models`` sections: each plugin becomes a settings source of the lowest
precedence (the user's settings still override it).

Two spellings are accepted:

- the catalogue's own mapping (``lmstudio: {protocol: ..., base_url: ...}``,
  ``lmstudio/qwen3-coder: {context_window: ...}``), see ``providers/catalogue.py``;
- the original design's list::

      models:
        - {provider: anthropic, model: claude-sonnet-4-6}
        - {provider: openai_compat, name: my-model, base_url: https://host/v1,
           api_key_env: HOST_API_KEY}

  ``provider`` is a provider of the catalogue, or a protocol (``openai_compat``,
  ``anthropic``) with a ``base_url``: a provider named ``provider_name`` (by default
  after the host) is added for it, or the catalogue's own when the host is one it knows.

A plugin adds providers and models; it may not change the ones harness-tui ships (a
plugin re-pointing ``anthropic`` would send the user's key elsewhere).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from harness_tui.core.config.settings import Settings, SettingsFile
from harness_tui.core.extensions.plugins.manifest import PluginError
from harness_tui.core.providers.catalogue import load_catalogue

PROTOCOLS = {"openai_compat": "openai_compat", "openai": "openai_compat", "anthropic": "anthropic"}
_LIST_FIELDS = {"provider", "model", "name", "base_url", "api_key_env", "key_env", "provider_name"}


def catalogue_entries(models: Any, plugin: str) -> dict[str, Any]:
    """The section as catalogue entries, checked against the shipped catalogue; raises
    ``PluginError`` naming the entry and field."""
    entries = dict(models) if isinstance(models, Mapping) else _from_list(models, plugin)
    shipped = load_catalogue()
    for key in entries:
        if key in shipped.providers:
            raise PluginError(
                f"models.{key}: a plugin cannot change the provider {key!r} that harness-tui "
                "ships; add a provider with a name of its own"
            )
    trial = shipped.with_settings(Settings([plugin_settings_file(Path(plugin), entries)]))
    if trial.problems:
        raise PluginError(trial.problems[0].split(": ", 1)[-1].removesuffix("; ignored"))
    return entries


def _from_list(models: list[Any], plugin: str) -> dict[str, Any]:
    shipped = load_catalogue()
    entries: dict[str, Any] = {}
    for index, raw in enumerate(models):
        where = f"models[{index}]"
        item = dict(raw)
        provider = item.get("provider")
        model_id = item.get("model") or item.get("name")
        if not isinstance(provider, str) or not provider:
            raise PluginError(f"{where}.provider: required (a provider name, or openai_compat)")
        if not isinstance(model_id, str) or not model_id:
            raise PluginError(f"{where}.model: required (the model's id)")
        base_url = item.get("base_url")
        key_env = item.get("api_key_env") or item.get("key_env")
        rest = {k: v for k, v in item.items() if k not in _LIST_FIELDS}
        if provider in shipped.providers and not base_url:
            known_key = shipped.providers[provider].key_env
            if key_env and key_env != known_key:
                raise PluginError(
                    f"{where}.api_key_env: {provider} reads {known_key}; a plugin cannot change it"
                )
        else:
            protocol = PROTOCOLS.get(provider)
            if protocol is None:
                known = ", ".join([*PROTOCOLS, *sorted(shipped.providers)])
                raise PluginError(f"{where}.provider: unknown provider {provider!r} ({known})")
            if not isinstance(base_url, str) or not base_url:
                raise PluginError(f"{where}.base_url: required for a {provider} provider")
            provider = _provider_for(item, base_url, plugin, shipped.providers)
            if provider not in shipped.providers:
                spec: dict[str, Any] = {"protocol": protocol, "base_url": base_url}
                if key_env:
                    spec["key_env"] = key_env
                else:
                    spec["key_required"] = False
                entries.setdefault(provider, spec)
        entries[f"{provider}/{model_id}"] = rest
    return entries


def _provider_for(
    item: dict[str, Any], base_url: str, plugin: str, known: Mapping[str, Any]
) -> str:
    if item.get("provider_name"):
        return str(item["provider_name"])
    host = urlsplit(base_url).hostname or ""
    for name, spec in known.items():
        if host and urlsplit(spec.base_url).hostname == host:
            return name  # the catalogue already knows this API
    words = [w for w in host.split(".") if w not in ("api", "www")]
    word = re.sub(r"[^a-z0-9-]", "-", (words[-2] if len(words) > 1 else words[0]).lower())
    return word if word not in known else f"{plugin}-{word}"


def plugin_settings_file(manifest: Path, entries: Mapping[str, Any]) -> SettingsFile:
    """A plugin's models as a settings source (named by its manifest in messages)."""
    return SettingsFile(manifest, "user", False, {"models": dict(entries)})


def with_plugin_models(
    settings: Settings, plugins: Iterable[tuple[Path, Mapping[str, Any]]]
) -> Settings:
    """``settings`` with each plugin's models laid under them (lowest precedence).
    Idempotent: plugin sources already there are replaced, not repeated."""
    files = [plugin_settings_file(path, entries) for path, entries in plugins if entries]
    own = [f for f in settings.files if f.path.name not in ("plugin.yaml", "plugin.yml")]
    return Settings(files + own, list(settings.problems))
