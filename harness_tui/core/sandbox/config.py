"""The ``sandbox`` settings, read unchanged from Claude Code's files and from ours.

Claude Code's keys (``SandboxSettingsSchema`` in its ``entrypoints/sandboxTypes.ts``, and
https://code.claude.com/docs/en/sandboxing)::

    "sandbox": {
      "enabled": true,
      "autoAllowBashIfSandboxed": true,        # default true
      "allowUnsandboxedCommands": true,        # the model may ask to run one outside
      "excludedCommands": ["docker"],          # run outside, under the usual rules
      "network": {"allowedDomains": ["github.com", "*.npmjs.org"],
                  "deniedDomains": ["evil.example"],          # ours
                  "allowAllUnixSockets": false},
      "filesystem": {"allowWrite": ["~/.cache/pip"], "denyWrite": ["./secrets"],
                     "denyRead": ["~/.aws"]}
    }

Single values come from the file with the highest precedence; lists are combined from
every file (as Claude Code merges arrays across scopes). Permission rules add to them:
``Edit(...)`` allow rules make paths writable, ``Read(...)`` deny rules hide paths,
``WebFetch(domain:...)`` allow and deny rules add domains. Path prefixes as in Claude
Code: ``//`` absolute, ``~/`` the home folder, ``/`` and ``./`` (or none) the project.
A bad value is a problem naming the file and the key, and is left out; a sandbox that
is on stays on (it fails closed rather than open).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness_tui.core.config.settings import Settings
from harness_tui.core.permissions.rules import RuleSet

_BOOLS = {
    "enabled": False,
    "autoAllowBashIfSandboxed": True,
    "allowUnsandboxedCommands": True,
    "failIfUnavailable": True,
}
_KNOWN = {
    *_BOOLS,
    "excludedCommands",
    "network",
    "filesystem",
    "ignoreViolations",
    "enableWeakerNestedSandbox",
}
_GLOB = frozenset("*?[{")


@dataclass
class SandboxConfig:
    """What the settings say about the sandbox, paths resolved."""

    enabled: bool = False
    auto_allow: bool = True
    allow_unsandboxed: bool = True
    excluded_commands: list[str] = field(default_factory=list)
    allowed_domains: list[str] = field(default_factory=list)
    denied_domains: list[str] = field(default_factory=list)
    all_unix_sockets: bool = False
    allow_write: list[Path] = field(default_factory=list)
    deny_write: list[Path] = field(default_factory=list)
    deny_read: list[Path] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def sandbox_config(settings: Settings, ruleset: RuleSet, cwd: Path) -> SandboxConfig:
    """The sandbox of a session in ``cwd`` from its settings and permission rules."""
    config = SandboxConfig()
    home = Path.home()
    seen_bools: dict[str, bool] = {}
    for section, source in settings.sections("sandbox"):
        where = f"{source.label}: sandbox"
        if not isinstance(section, dict):
            config.problems.append(f"{where}: must be a mapping such as {{enabled: true}}; ignored")
            continue
        for key in sorted(set(map(str, section)) - _KNOWN):
            config.problems.append(f"{where}.{key}: unknown key (ignored)")
        for key in _BOOLS:
            if key in section:
                value = section[key]
                if isinstance(value, bool):
                    seen_bools[key] = value
                else:
                    config.problems.append(
                        f"{where}.{key}: must be true or false, not {value!r}; ignored"
                    )
        config.excluded_commands += _strings(section, "excludedCommands", where, config.problems)
        network = _mapping(section, "network", where, config.problems)
        net_where = f"{where}.network"
        config.allowed_domains += _domains(network, "allowedDomains", net_where, config.problems)
        config.denied_domains += _domains(network, "deniedDomains", net_where, config.problems)
        if "allowAllUnixSockets" in network:
            value = network["allowAllUnixSockets"]
            if isinstance(value, bool):
                config.all_unix_sockets = value
            else:
                config.problems.append(f"{where}.network.allowAllUnixSockets: must be true/false")
        filesystem = _mapping(section, "filesystem", where, config.problems)
        base = cwd if source.scope != "user" else home
        for key, target in (
            ("allowWrite", config.allow_write),
            ("denyWrite", config.deny_write),
            ("denyRead", config.deny_read),
        ):
            fs_where = f"{where}.filesystem"
            for index, text in enumerate(_strings(filesystem, key, fs_where, config.problems)):
                path = _path(text, cwd, base, home)
                if path is None:
                    config.problems.append(
                        f"{fs_where}.{key}[{index}]: {text!r} is a pattern; the "
                        "sandbox takes folders and files, not patterns (ignored)"
                    )
                else:
                    target.append(path)
    config.enabled = seen_bools.get("enabled", _BOOLS["enabled"])
    config.auto_allow = seen_bools.get("autoAllowBashIfSandboxed", True)
    config.allow_unsandboxed = seen_bools.get("allowUnsandboxedCommands", True)
    _from_rules(config, ruleset, cwd, home)
    for name in ("excluded_commands", "allowed_domains", "denied_domains"):
        setattr(config, name, list(dict.fromkeys(getattr(config, name))))
    for name in ("allow_write", "deny_write", "deny_read"):
        setattr(config, name, list(dict.fromkeys(getattr(config, name))))
    return config


def _from_rules(config: SandboxConfig, ruleset: RuleSet, cwd: Path, home: Path) -> None:
    """``Edit``/``Write`` allow rules are writable, ``Read`` deny rules hidden, and
    ``WebFetch(domain:...)`` rules allow or deny hosts (a domain rule also covers its
    subdomains, as it does for WebFetch)."""
    for rule in ruleset.rules:
        if rule.content is None:
            continue
        if rule.tool == "WebFetch":
            domain = rule.content.removeprefix("domain:").strip().lower().rstrip(".")
            names = [domain] if domain.startswith("*.") else [domain, f"*.{domain}"]
            if rule.behavior == "allow":
                config.allowed_domains += names
            elif rule.behavior == "deny":
                config.denied_domains += names
            continue
        if rule.tool in ("Edit", "Write") and rule.behavior == "allow":
            path = _path(rule.content, cwd, cwd, home)
            if path is not None:
                config.allow_write.append(path)
        elif rule.tool == "Read" and rule.behavior == "deny":
            path = _path(rule.content, cwd, cwd, home)
            if path is not None:
                config.deny_read.append(path)


def _path(text: str, cwd: Path, base: Path, home: Path) -> Path | None:
    """A concrete path from a rule-style path (a trailing ``/**`` names the folder);
    None for a pattern the sandbox cannot bind."""
    text = text.strip()
    if text.endswith("/**"):
        text = text[:-3] or "/"
    if _GLOB & set(text):
        return None
    if text.startswith("//"):
        path = Path("/" + text[2:].lstrip("/"))
    elif text == "~" or text.startswith("~/"):
        path = home / text[2:]
    elif text.startswith("/"):
        path = base / text[1:]
    else:
        path = cwd / text.removeprefix("./")
    return Path(os.path.normpath(path))


def _mapping(section: dict[str, Any], key: str, where: str, problems: list[str]) -> dict[str, Any]:
    value = section.get(key, {})
    if isinstance(value, dict):
        return value
    problems.append(f"{where}.{key}: must be a mapping; ignored")
    return {}


def _strings(section: dict[str, Any], key: str, where: str, problems: list[str]) -> list[str]:
    value = section.get(key, [])
    if not isinstance(value, list):
        problems.append(f"{where}.{key}: must be a list of strings; ignored")
        return []
    kept = []
    for index, item in enumerate(value):
        if isinstance(item, str) and item.strip() and "\0" not in item:
            kept.append(item.strip())
        else:
            problems.append(f"{where}.{key}[{index}]: {item!r} is not a usable string; ignored")
    return kept


def _domains(section: dict[str, Any], key: str, where: str, problems: list[str]) -> list[str]:
    out = []
    for index, name in enumerate(_strings(section, key, where, problems)):
        name = name.lower().rstrip(".")
        bare = name.removeprefix("*.")
        if not bare or any(c in bare for c in "/ *@"):
            problems.append(
                f"{where}.{key}[{index}]: {name!r} is not a host name such as "
                "example.com or *.example.com; ignored"
            )
            continue
        out.append(name)
    return out
