"""Which language servers a session may start, and the ``lsp`` settings.

In our settings files (``~/.config/harness-tui/settings.yaml``, ``.harness/settings.yaml``
and their ``.local`` forms)::

    lsp:
      enabled: true                 # false: no language server at all
      diagnosticsTimeoutMs: 2000    # how long to wait for diagnostics after an edit
      warnings: false               # true: warnings go to the model too, not only errors
      servers:
        ty:                         # a server of your own: command and extensions
          command: [ty, server]
          extensions: {.py: python} # or extensionToLanguage, as in Claude Code
        basedpyright:               # a known (or plugin) server: only what changes
          settings: {basedpyright: {analysis: {typeCheckingMode: strict}}}
        clangd: false               # turned off (or enabled: false)

Every field of an entry is in ``entries``. Servers come in this priority, highest first:
servers of the settings files with a name no plugin or known server has, then the
plugins' servers (``plugin_servers``), then the known ones (``servers``). A settings
entry with the name of a plugin or known server changes that server in its place
(the fields it gives replace those fields; a later settings file wins). Then one server
per language: each language goes to the first server, in that order, whose program is
found; a server left with no language is not used (a known server silently; any other
with a note).

Trust, as for MCP servers: in an untrusted folder the project's settings files and
plugins add nothing and its ``.venv/bin`` and ``node_modules/.bin`` are not searched
(their programs are the project's code). In a trusted one, a server that a project
file defined or changed is ``project=True``. Call ``load_servers`` again once the
folder becomes trusted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from harness_tui.core.config.settings import Settings
from harness_tui.core.lsp.entries import combine_args, read_entry
from harness_tui.core.lsp.plugin_servers import plugin_declarations
from harness_tui.core.lsp.servers import (
    KNOWN_SERVERS_FILE,
    find_program,
    known_server_table,
    search_dirs,
)

LSP_KEYS = ("enabled", "diagnosticsTimeoutMs", "warnings", "servers")
BUILT_IN = "built-in"


@dataclass(frozen=True)
class ServerSpec:
    """A language server ready to start: its program found, its languages its own."""

    name: str
    #: argv; the program as an absolute path.
    command: tuple[str, ...]
    #: LSP language ids, each served by this server only.
    languages: tuple[str, ...]
    #: ``".py" -> "python"``, for the languages above.
    extensions: dict[str, str]
    initialization_options: dict[str, Any] | None
    #: The answers to ``workspace/configuration`` (and ``didChangeConfiguration``).
    settings: dict[str, Any] | None
    #: Added to the environment the server starts in.
    env: dict[str, str]
    #: ``built-in``, ``<file>: lsp.servers.<name>`` or ``plugin <p> (<file>: <name>)``;
    #: a settings file that changed it is added after a comma.
    source: str
    #: Defined or changed by the project (settings or plugin): needs workspace trust.
    project: bool
    root_markers: tuple[str, ...] = ()
    workspace_folder: str | None = None
    #: Seconds; None: the manager's default.
    startup_timeout: float | None = None
    shutdown_timeout: float | None = None
    restart_on_crash: bool = True
    max_restarts: int | None = None

    def language_of(self, path: str | Path) -> str | None:
        """The language id of ``path`` for this server (by its extension), or None."""
        return language_for(self.extensions, path)


@dataclass(frozen=True)
class LspOptions:
    """The scalar ``lsp`` settings."""

    #: Seconds to wait for a server's diagnostics after an edit.
    timeout: float = 2.0
    include_warnings: bool = False
    enabled: bool = True


@dataclass
class _Candidate:
    name: str
    fields: dict[str, Any]
    source: str
    project: bool
    #: Relative program paths start here.
    base: Path
    built_in: bool
    changed: bool = False


def load_servers(
    cwd: Path,
    settings: Settings,
    plugin_roots: Iterable[tuple[Path, str]],
    trusted: bool,
    *,
    path: str | None = None,
) -> tuple[list[ServerSpec], list[str]]:
    """The servers to use in ``cwd``, in priority order, one per language; and the
    problems, each naming its file and key. ``plugin_roots``: ``plugin_roots()``'s
    folders (a ``"project"`` one is read only when ``trusted``); ``path``: the ``PATH``
    to search (default: the environment's)."""
    problems: list[str] = []
    candidates: list[_Candidate] = []
    declarations, plugin_problems = plugin_declarations(
        (root, source) for root, source in plugin_roots if trusted or source != "project"
    )
    problems += plugin_problems
    for d in declarations:
        source = f"plugin {d.plugin} ({d.where})"
        candidate = _Candidate(d.name, {}, source, d.project, d.folder, built_in=False)
        _add(candidates, candidate, d.raw, d.where, problems)
    for index, raw in enumerate(known_server_table()):
        name = str(raw.get("name", f"servers[{index}]"))
        entry = {k: v for k, v in raw.items() if k != "name"}
        candidate = _Candidate(name, {}, BUILT_IN, False, cwd, built_in=True)
        _add(
            candidates,
            candidate,
            entry,
            f"{KNOWN_SERVERS_FILE}: servers[{index}] ({name})",
            problems,
        )
    candidates = _apply_settings(candidates, settings, cwd, trusted, problems)
    dirs = search_dirs(cwd, trusted=trusted, path=path)
    specs: list[ServerSpec] = []
    for candidate in candidates:
        spec = _spec(candidate, dirs, problems)
        if spec is not None:
            specs.append(spec)
    return _one_per_language(specs, problems), problems


def _add(
    candidates: list[_Candidate], candidate: _Candidate, raw: Any, where: str, problems: list[str]
) -> None:
    """Append a plugin or known server (a name already taken is passed over)."""
    if any(c.name == candidate.name for c in candidates):
        return
    fields, found = read_entry(raw, where)
    problems += found
    if fields is not None:
        candidate.fields = fields
        candidates.append(candidate)


def _apply_settings(
    candidates: list[_Candidate],
    settings: Settings,
    cwd: Path,
    trusted: bool,
    problems: list[str],
) -> list[_Candidate]:
    """Settings entries: new servers first, changes in place, ``false`` removes."""
    mine: list[_Candidate] = []
    by_name = {c.name: c for c in candidates}
    sections = [(d, f) for d, f in settings.sections("lsp") if trusted or f.scope == "user"]
    for data, source in sections:
        servers = data.get("servers") if isinstance(data, Mapping) else None
        if servers is None:
            continue
        if not isinstance(servers, Mapping):
            problems.append(f"{source.label}: lsp.servers: must map server names to settings")
            continue
        added: list[_Candidate] = []
        for name, raw in servers.items():
            name = str(name)
            where = f"{source.label}: lsp.servers.{name}"
            fields, found = read_entry(raw, where, may_disable=True)
            problems += found
            if fields is None:
                continue
            target = by_name.get(name)
            if target is None:
                target = by_name[name] = _Candidate(name, {}, where, False, cwd, False)
                added.append(target)
            else:
                target.source += f", {where}"
            if "extensions" in fields and "languages" not in fields:
                target.fields.pop("languages", None)
            target.fields.update(fields)
            target.changed = True
            target.project |= source.scope != "user"
        mine[0:0] = added  # a later file has the higher precedence
    kept = []
    for candidate in [*mine, *candidates]:
        if candidate.fields.get("enabled", True) is False:
            continue
        missing = [f for f in ("program", "extensions") if f not in candidate.fields]
        if missing:
            what = " and ".join("command" if f == "program" else f for f in missing)
            problems.append(
                f"{candidate.source}: needs {what} (no plugin or known server has this "
                f"name to take them from); the server is skipped"
            )
            continue
        kept.append(candidate)
    return kept


def _spec(candidate: _Candidate, dirs: list[Path], problems: list[str]) -> ServerSpec | None:
    fields = candidate.fields
    program = find_program(fields["program"], dirs, candidate.base)
    if program is None:
        if not candidate.built_in or candidate.changed:
            problems.append(
                f"{candidate.source}: the program {fields['program']!r} was not found "
                f"(looked in {', '.join(str(d) for d in dirs)}); the server is not used"
            )
        return None
    extensions = dict(fields["extensions"])
    # Listed languages first (their order), each only with a file extension of its own.
    listed = [x for x in fields.get("languages", ()) if x in extensions.values()]
    languages = list(dict.fromkeys([*listed, *extensions.values()]))
    return ServerSpec(
        name=candidate.name,
        command=(str(program), *combine_args(fields)),
        languages=tuple(languages),
        extensions=extensions,
        initialization_options=fields.get("initialization_options"),
        settings=fields.get("settings"),
        env=dict(fields.get("env", {})),
        source=candidate.source,
        project=candidate.project,
        root_markers=tuple(fields.get("root_markers", ())),
        workspace_folder=fields.get("workspace_folder"),
        startup_timeout=fields.get("startup_timeout"),
        shutdown_timeout=fields.get("shutdown_timeout"),
        restart_on_crash=fields.get("restart_on_crash", True),
        max_restarts=fields.get("max_restarts"),
    )


def _one_per_language(specs: list[ServerSpec], problems: list[str]) -> list[ServerSpec]:
    """Each language to the first server that serves it; the others keep the rest."""
    owner: dict[str, str] = {}
    kept: list[ServerSpec] = []
    for spec in specs:
        free = tuple(language for language in spec.languages if language not in owner)
        if not free:
            if spec.source != BUILT_IN:
                taken = ", ".join(f"{x} by {owner[x]}" for x in spec.languages)
                problems.append(
                    f"{spec.source}: not used: its languages are served first ({taken})"
                )
            continue
        owner.update(dict.fromkeys(free, spec.name))
        if free != spec.languages:
            extensions = {e: x for e, x in spec.extensions.items() if x in free}
            spec = replace(spec, languages=free, extensions=extensions)
        kept.append(spec)
    return kept


def language_for(extensions: Mapping[str, str], path: str | Path) -> str | None:
    """The language id ``extensions`` gives ``path``'s extension (exact case first:
    ``.C`` is C++ to some; then lower case), or None."""
    suffix = Path(path).suffix
    if not suffix:
        return None
    return extensions.get(suffix) or extensions.get(suffix.lower())


def server_for(specs: Iterable[ServerSpec], path: str | Path) -> tuple[ServerSpec, str] | None:
    """The server for ``path`` and the file's language id; None when no server has it."""
    for spec in specs:
        language = spec.language_of(path)
        if language is not None:
            return spec, language
    return None


def lsp_options(settings: Settings) -> tuple[LspOptions, list[str]]:
    """``enabled``, ``diagnosticsTimeoutMs`` and ``warnings`` of the ``lsp`` settings
    (a higher-precedence file wins per key); a wrong value is reported and the default
    kept."""
    problems: list[str] = []
    found: dict[str, Any] = {}
    for data, source in settings.sections("lsp"):
        if not isinstance(data, Mapping):
            problems.append(
                f"{source.label}: lsp: must be a mapping of {', '.join(LSP_KEYS)}; ignored"
            )
            continue
        unknown = sorted(str(k) for k in data if k not in LSP_KEYS)
        if unknown:
            problems.append(
                f"{source.label}: lsp: unknown {', '.join(unknown)} (ignored; known: "
                f"{', '.join(LSP_KEYS)})"
            )
        for key in ("enabled", "warnings"):
            if key in data:
                if isinstance(data[key], bool):
                    found[key] = data[key]
                else:
                    problems.append(f"{source.label}: lsp.{key}: must be true or false; ignored")
        if "diagnosticsTimeoutMs" in data:
            value = data["diagnosticsTimeoutMs"]
            if (
                isinstance(value, int | float)
                and not isinstance(value, bool)
                and 0 < value <= 60_000
            ):
                found["timeout"] = value / 1000
            else:
                problems.append(
                    f"{source.label}: lsp.diagnosticsTimeoutMs: must be milliseconds above 0 "
                    f"and at most 60000, not {value!r}; ignored"
                )
    options = LspOptions(
        timeout=found.get("timeout", LspOptions.timeout),
        include_warnings=found.get("warnings", LspOptions.include_warnings),
        enabled=found.get("enabled", LspOptions.enabled),
    )
    return options, problems
