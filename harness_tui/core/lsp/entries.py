"""One language-server entry as written, checked field by field.

The same reader takes the three places a server is declared, so every one accepts the
same words:

- the table ``known_servers.json`` (``command`` as an argv list, ``extensions``);
- our settings (``lsp: {servers: {name: {...}}}``), in either spelling;
- Claude Code's plugin declarations, unchanged: ``.lsp.json`` at a plugin's root and
  ``lspServers`` in ``.claude-plugin/plugin.json``. Their fields, from Claude Code's
  plugins reference (https://code.claude.com/docs/en/plugins-reference, "LSP servers"):
  ``command`` (required), ``extensionToLanguage`` (required), ``args``, ``transport``
  (``stdio`` or ``socket``), ``env``, ``initializationOptions``, ``settings``,
  ``workspaceFolder``, ``startupTimeout`` and ``shutdownTimeout`` (milliseconds),
  ``restartOnCrash``, ``maxRestarts``.

An entry gives only some fields (a settings entry may change one field of a known
server); ``read_entry`` returns those it gives, under our names, or None with the
problem (``<file>: <key>.<field>: ...``) when a field is wrong: a server with a wrong
field is skipped whole rather than started half right.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: Claude Code's name (or our other spelling) -> our field name.
ALIASES = {
    "extensionToLanguage": "extensions",
    "initializationOptions": "initialization_options",
    "rootMarkers": "root_markers",
    "workspaceFolder": "workspace_folder",
    "startupTimeout": "startup_timeout",
    "shutdownTimeout": "shutdown_timeout",
    "restartOnCrash": "restart_on_crash",
    "maxRestarts": "max_restarts",
}
#: Accepted and not used: ``install`` (the table's hint), ``loggingConfig`` (Claude Code
#: plugins' debug logging, which has no meaning here).
IGNORED = frozenset({"install", "loggingConfig"})
KNOWN_FIELDS = (
    "command",
    "args",
    "extensions",
    "extensionToLanguage",
    "languages",
    "initializationOptions",
    "settings",
    "env",
    "rootMarkers",
    "transport",
    "workspaceFolder",
    "startupTimeout",
    "shutdownTimeout",
    "restartOnCrash",
    "maxRestarts",
    "enabled",
)


class EntryError(ValueError):
    """A field that cannot be used; the message is ``<field>: <what is wrong>``."""


def read_entry(
    raw: Any, where: str, *, may_disable: bool = False
) -> tuple[dict[str, Any] | None, list[str]]:
    """The fields ``raw`` gives, checked, under our names: ``program`` (from
    ``command``; and ``command_args`` when it is a list: a string changes only the
    program, keeping a known server's arguments), ``extra_args`` (from ``args``), ``extensions``,
    ``languages``, ``initialization_options``, ``settings``, ``env``, ``root_markers``,
    ``workspace_folder``, ``startup_timeout`` and ``shutdown_timeout`` (in seconds),
    ``restart_on_crash``, ``max_restarts``, ``enabled``; and the problems.
    ``may_disable``: ``false`` for the entry, or ``enabled: false``, turns a server off
    (settings only)."""
    if raw is False and may_disable:
        return {"enabled": False}, []
    if not isinstance(raw, Mapping):
        shape = "a mapping such as {command: [gopls], extensions: {.go: go}}"
        if may_disable:
            shape += ", or false to turn the server off"
        return None, [f"{where}: must be {shape}, not {_kind(raw)}; skipped"]
    fields: dict[str, Any] = {}
    warnings: list[str] = []
    try:
        for key, value in raw.items():
            key = str(key)
            if key in IGNORED:
                continue
            if key not in KNOWN_FIELDS or (key == "enabled" and not may_disable):
                warnings.append(
                    f"{where}.{key}: unknown field, ignored (known: {', '.join(_shown())})"
                )
                continue
            _read_field(fields, key, value)
    except EntryError as exc:
        return None, [f"{where}.{exc}; the server is skipped", *warnings]
    if "languages" in fields and "extensions" in fields:
        missing = [x for x in fields["languages"] if x not in fields["extensions"].values()]
        if missing:
            return None, [
                f"{where}.languages: {', '.join(missing)} has no file extension in "
                f"extensions; the server is skipped",
                *warnings,
            ]
    return fields, warnings


def _shown() -> list[str]:
    return [k for k in KNOWN_FIELDS if k != "enabled"]


def _read_field(fields: dict[str, Any], key: str, value: Any) -> None:
    name = ALIASES.get(key, key)
    if key == "command":
        argv = [value] if isinstance(value, str) else value
        argv = _strings(key, argv, "a program name or an argv list such as [gopls, serve]")
        if not argv or not argv[0].strip():
            raise EntryError(f"{key}: must name a program")
        fields["program"] = argv[0]
        if not isinstance(value, str):  # a whole argv; a string names the program only
            fields["command_args"] = argv[1:]
    elif key == "args":
        fields["extra_args"] = _strings(key, value, "a list of strings")
    elif key in ("extensions", "extensionToLanguage"):
        fields["extensions"] = _extensions(key, value)
    elif key in ("languages", "rootMarkers"):
        fields[name] = _strings(key, value, "a list of strings")
    elif key in ("initializationOptions", "settings"):
        if value is not None and not isinstance(value, Mapping):
            raise EntryError(f"{key}: must be a mapping (or null), not {_kind(value)}")
        fields[name] = None if value is None else dict(value)
    elif key == "env":
        if not isinstance(value, Mapping) or not all(
            isinstance(v, str | int | float) and not isinstance(v, bool) for v in value.values()
        ):
            raise EntryError(f"{key}: must map variable names to strings")
        fields["env"] = {str(k): str(v) for k, v in value.items()}
    elif key == "transport":
        if value != "stdio":
            raise EntryError(
                f"{key}: only 'stdio' is supported here, not {value!r} (harness-tui starts "
                f"the server and speaks to it on its standard input and output)"
            )
    elif key == "workspaceFolder":
        if not isinstance(value, str) or not value:
            raise EntryError(f"{key}: must be a folder path")
        fields[name] = value
    elif key in ("startupTimeout", "shutdownTimeout"):
        if not _number(value) or not 0 < value <= 600_000:
            raise EntryError(f"{key}: must be milliseconds above 0 and at most 600000")
        fields[name] = value / 1000
    elif key == "maxRestarts":
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 100:
            raise EntryError(f"{key}: must be a whole number from 0 to 100")
        fields[name] = value
    elif key in ("restartOnCrash", "enabled"):
        if not isinstance(value, bool):
            raise EntryError(f"{key}: must be true or false, not {_kind(value)}")
        fields[name] = value


def combine_args(fields: dict[str, Any]) -> list[str]:
    """The arguments after the program: the command's own, then ``args``."""
    return [*fields.get("command_args", ()), *fields.get("extra_args", ())]


def _strings(key: str, value: Any, shape: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise EntryError(f"{key}: must be {shape}, not {_kind(value)}")
    return list(value)


def _extensions(key: str, value: Any) -> dict[str, str]:
    example = '{".py": "python"}'
    if not isinstance(value, Mapping) or not value:
        raise EntryError(f"{key}: must map file extensions to language ids, as in {example}")
    mapping: dict[str, str] = {}
    for ext, language in value.items():
        if not isinstance(ext, str) or not ext.startswith(".") or len(ext) < 2 or "/" in ext:
            raise EntryError(f"{key}: {ext!r} is not a file extension (write it as '.py')")
        if not isinstance(language, str) or not language.strip():
            raise EntryError(f"{key}.{ext}: the language id must be a string such as 'python'")
        mapping[ext] = language
    return mapping


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _kind(value: Any) -> str:
    return "null" if value is None else f"{type(value).__name__} {value!r}"[:80]
