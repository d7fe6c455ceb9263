"""The harness's own MCP setting ``mcp.logLevel``: how much servers should log.

``mcpServers`` entries keep Claude Code's format, so the level lives elsewhere, in our
settings files (``.harness/settings.yaml``, ``~/.config/harness-tui/settings.yaml``)::

    mcp:
      logLevel: warning          # every server that offers logging
      servers:
        github: {logLevel: debug}

After a server connects, the level is sent with ``logging/setLevel`` when the server
declares the ``logging`` capability. Its log messages go to its log lines in ``/mcp``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness_tui.core.config.settings import Settings

#: RFC 5424 severities, least severe first (MCP's ``LoggingLevel``).
LEVELS = ("debug", "info", "notice", "warning", "error", "critical", "alert", "emergency")


@dataclass
class LogLevels:
    """The level for every server, and for named servers."""

    default: str | None = None
    servers: dict[str, str] = field(default_factory=dict)

    def of(self, server: str) -> str | None:
        return self.servers.get(server, self.default)


def log_levels(settings: Settings) -> tuple[LogLevels, list[str]]:
    """``mcp.logLevel`` from every settings file (a later file wins); the problems."""
    levels = LogLevels()
    problems: list[str] = []
    for section, source in settings.sections("mcp"):
        where = f"{source.label}: mcp"
        if not isinstance(section, dict):
            problems.append(f"{where} should be a mapping (ignored)")
            continue
        unknown = sorted(map(str, set(section) - {"logLevel", "servers"}))
        if unknown:
            problems.append(f"{where}: unknown key {', '.join(unknown)} (known: logLevel, servers)")
        if "logLevel" in section:
            levels.default = _level(section["logLevel"], f"{where}.logLevel", problems)
        servers = section.get("servers", {})
        if not isinstance(servers, dict):
            problems.append(f"{where}.servers should be a mapping of server names (ignored)")
            continue
        for name, entry in servers.items():
            if isinstance(entry, dict) and "logLevel" in entry:
                level = _level(entry["logLevel"], f"{where}.servers.{name}.logLevel", problems)
                if level is not None:
                    levels.servers[str(name)] = level
            else:
                problems.append(f"{where}.servers.{name} should be {{logLevel: LEVEL}} (ignored)")
    return levels, problems


def _level(value: Any, where: str, problems: list[str]) -> str | None:
    if isinstance(value, str) and value.lower() in LEVELS:
        return value.lower()
    problems.append(f"{where}: {value!r} is not a log level (use one of {', '.join(LEVELS)})")
    return None
