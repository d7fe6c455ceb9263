"""Permission rules in Claude Code's syntax, read from the settings files.

    {"permissions": {"allow": ["Bash(npm run test:*)", "Read(./src/**)"],
                     "ask": ["Bash(git push:*)"],
                     "deny": ["Read(./.env)", "WebFetch(domain:evil.example)"],
                     "additionalDirectories": ["../shared-lib"]}}

A rule is a tool name, optionally with a specifier in parentheses:

- ``Bash(cmd)`` exact command, ``Bash(prefix:*)`` the command or the command followed
  by arguments, ``Bash(npm run *)`` a wildcard pattern (``*`` is any text; a trailing
  `` *`` also matches no arguments). Matched against each simple command of a compound
  command line (see ``command_split``).
- ``Read(pattern)``/``Edit(pattern)`` gitignore-style: ``//abs/path`` absolute, ``~/p``
  from the home folder, ``/p`` from the project root, ``./p`` from the working folder,
  ``p`` relative to the working folder (at any depth when it has no ``/``). ``Read``
  rules apply to every reading file tool (Read, Glob, Grep), ``Edit`` (and ``Write``)
  rules to every editing one (Edit, Write).
- ``WebFetch(domain:example.com)`` that host and its subdomains (``*.example.com``:
  only subdomains).
- ``mcp__server`` or ``mcp__server__*`` every tool of a server; ``mcp__server__tool``.
- Any other ``Tool(value)`` matches tools that name the input field rules apply to
  (``Tool.rule_field``), with ``*`` as a wildcard.

This module parses, matches and saves ("always allow"); ``permissions.PermissionEngine``
decides.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from harness_tui.core.config.settings import Settings
from harness_tui.core.files.patterns import compile_pattern

Behavior = Literal["allow", "ask", "deny"]
BEHAVIORS: tuple[Behavior, ...] = ("deny", "ask", "allow")

#: Rule tool names whose specifier is a path pattern, and the file-tool family they cover.
PATH_RULE_FAMILIES = {"Read": "read", "Edit": "edit", "Write": "edit"}

_TOOL_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_\-]*\Z")
_SPACES = re.compile(r"\s+")


class RuleError(ValueError):
    """A rule that cannot be used; the message says why."""


@dataclass(frozen=True, slots=True)
class PermissionRule:
    behavior: Behavior
    tool: str
    #: The specifier inside the parentheses; None for a bare tool name.
    content: str | None = None
    #: Where it came from: ``<file>: permissions.allow[2]`` or ``session``.
    source: str = ""

    def __str__(self) -> str:
        return self.tool if self.content is None else f"{self.tool}({self.content})"


def parse_rule(text: str, behavior: Behavior, source: str = "") -> PermissionRule:
    """Parse ``Tool`` or ``Tool(specifier)``; raises ``RuleError``."""
    if not isinstance(text, str):
        raise RuleError(f"a rule must be a string like 'Bash(npm test:*)', not {text!r}")
    rule = text.strip()
    if not rule:
        raise RuleError("the rule is empty")
    tool, paren, rest = rule.partition("(")
    tool = tool.strip()
    if not _TOOL_NAME.match(tool.removesuffix("__*") if tool.startswith("mcp__") else tool):
        raise RuleError(f"{tool!r} is not a tool name")
    if not paren:
        return PermissionRule(behavior, tool, None, source)
    if not rest.endswith(")"):
        raise RuleError("missing ')' at the end")
    content = rest[:-1].strip()
    if not content:
        raise RuleError(f"empty parentheses; write just {tool!r} to match every use")
    if tool == "Bash" and content in (":*", "*"):
        raise RuleError("write just 'Bash' to match every command")
    if tool == "Bash" and ":*" in content[:-2]:
        raise RuleError("':*' may appear only at the end")
    if tool == "WebFetch" and not content.startswith("domain:"):
        raise RuleError("WebFetch rules name a host: WebFetch(domain:example.com)")
    if tool == "WebFetch" and not content.removeprefix("domain:").strip():
        raise RuleError("WebFetch(domain:) needs a host name")
    if tool.startswith("mcp__"):
        raise RuleError("MCP rules take no parentheses: mcp__server or mcp__server__tool")
    if "\0" in content:
        raise RuleError("the rule contains a NUL byte")
    return PermissionRule(behavior, tool, content, source)


@dataclass
class RuleSet:
    """Rules, extra workspace folders and problems found, from all settings files."""

    rules: list[PermissionRule] = field(default_factory=list)
    additional_directories: list[Path] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def of(self, behavior: Behavior) -> list[PermissionRule]:
        return [r for r in self.rules if r.behavior == behavior]


def rules_from_settings(settings: Settings, cwd: Path) -> RuleSet:
    """Every ``permissions`` section, validated; bad entries become ``problems`` naming
    the file and the entry (never an exception)."""
    ruleset = RuleSet()
    for section, source in settings.sections("permissions"):
        where = f"{source.label}: permissions"
        if not isinstance(section, dict):
            ruleset.problems.append(f"{where}: must be a mapping (allow, ask, deny); ignored")
            continue
        for behavior in BEHAVIORS:
            entries = section.get(behavior, [])
            if not isinstance(entries, list):
                ruleset.problems.append(f"{where}.{behavior}: must be a list of rules; ignored")
                continue
            for index, text in enumerate(entries):
                label = f"{where}.{behavior}[{index}]"
                try:
                    ruleset.rules.append(parse_rule(text, behavior, label))
                except RuleError as exc:
                    ruleset.problems.append(f"{label}: invalid rule {text!r}: {exc}; ignored")
        folders = section.get("additionalDirectories", [])
        if not isinstance(folders, list):
            ruleset.problems.append(f"{where}.additionalDirectories: must be a list; ignored")
            folders = []
        for index, folder in enumerate(folders):
            if not isinstance(folder, str) or not folder.strip() or "\0" in folder:
                ruleset.problems.append(
                    f"{where}.additionalDirectories[{index}]: not a folder path; ignored"
                )
                continue
            path = Path(folder).expanduser()
            ruleset.additional_directories.append(
                Path(os.path.realpath(path if path.is_absolute() else cwd / path))
            )
    return ruleset


# --- matching -----------------------------------------------------------------------


def normalize_command(text: str) -> str:
    return _SPACES.sub(" ", text.strip())


def bash_rule_matches(content: str, command: str) -> bool:
    """Does a ``Bash(content)`` rule match one simple command?"""
    command = normalize_command(command)
    if content.endswith(":*"):
        prefix = normalize_command(content[:-2])
        return command == prefix or command.startswith(prefix + " ")
    if "*" in content:
        pattern = normalize_command(content)
        optional_tail = pattern.endswith(" *")
        body = pattern[:-2] if optional_tail else pattern
        regex = ".*".join(re.escape(piece) for piece in body.split("*"))
        if optional_tail:
            regex += "(?: .*)?"
        return re.fullmatch(regex, command, re.DOTALL) is not None
    return command == normalize_command(content)


@dataclass(frozen=True, slots=True)
class PathContext:
    """What path rules are relative to."""

    cwd: Path
    project_root: Path
    home: Path


def _pattern_base(content: str, where: PathContext) -> tuple[Path, str, bool | None]:
    if content.startswith("//"):
        return Path("/"), content[2:], True
    if content == "~" or content.startswith("~/"):
        return where.home, content[2:] or "**", True
    if content.startswith("/"):
        return where.project_root, content[1:], True
    if content.startswith("./"):
        return where.cwd, content[2:], True
    return where.cwd, content, None


def path_rule_matches(content: str, target: Path, where: PathContext) -> bool:
    """Does a gitignore-style rule match ``target``? Both the path as written and its
    real path (symlinks resolved) are compared to the base as written and resolved; a
    match of either counts (callers that allow use ``real_only``)."""
    return _path_match(content, target, where, real_only=False)


def path_rule_matches_real(content: str, target: Path, where: PathContext) -> bool:
    """As ``path_rule_matches``, but only the real path counts: what an *allow* rule
    uses, so a symlink inside an allowed folder cannot reach outside it."""
    return _path_match(content, target, where, real_only=True)


def _path_match(content: str, target: Path, where: PathContext, real_only: bool) -> bool:
    base, pattern, anchored = _pattern_base(content, where)
    compiled = compile_pattern(pattern or "**", anchored=anchored, braces=True)
    # "src/**" names a folder's contents; a search of the folder itself reads them too.
    folder = pattern[:-3] if pattern.endswith("/**") else None
    folder_pattern = compile_pattern(folder, anchored=anchored, braces=True) if folder else None
    pairs = [(Path(os.path.realpath(base)), Path(os.path.realpath(target)))]
    if not real_only:
        pairs.append((Path(os.path.normpath(base)), Path(os.path.normpath(target))))
    for base_path, path in pairs:
        try:
            rel = path.relative_to(base_path)
        except ValueError:
            continue
        text = rel.as_posix()
        if text == ".":
            if pattern in ("", "**"):
                return True
            continue
        is_dir = path.is_dir()
        if compiled.matches(text, is_dir):
            return True
        if folder_pattern is not None and is_dir and folder_pattern.matches(text, True):
            return True
    return False


def domain_rule_matches(content: str, url: str) -> bool:
    """Does ``WebFetch(domain:...)`` match the host of ``url``?"""
    domain = content.removeprefix("domain:").strip().lower().rstrip(".")
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    if not host:
        return False
    if domain.startswith("*."):
        return host.endswith(domain[1:])
    return host == domain or host.endswith("." + domain)


def tool_rule_matches(rule: PermissionRule, tool_name: str) -> bool:
    """Does a rule's tool part name this tool (bare names and MCP server rules)?"""
    if rule.tool == tool_name:
        return True
    if rule.tool.startswith("mcp__") and tool_name.startswith("mcp__"):
        server = rule.tool.removesuffix("__*")
        return server.count("__") == 1 and tool_name.startswith(server + "__")
    return False


def wildcard_matches(content: str, value: str) -> bool:
    regex = ".*".join(re.escape(piece) for piece in content.split("*"))
    return re.fullmatch(regex, value, re.DOTALL) is not None


def rule_texts(rules: Iterable[PermissionRule]) -> list[str]:
    return [str(r) for r in rules]


def save_allow_rules(path: Path, rules: list[str]) -> str | None:
    """Add ``rules`` to ``permissions.allow`` of a YAML settings file; a message on
    failure (the file is then left alone)."""
    import yaml

    from harness_tui.core.config.files import ConfigFileError, load_config_file

    try:
        data = load_config_file(path, json_format=False)  # bounded like every settings read
    except FileNotFoundError:
        data = None
    except ConfigFileError as exc:
        return f"could not save the rule to {path}: {exc.reason}; it applies to this session only"
    if data is None:
        data = {}
    if not isinstance(data, dict):
        return f"could not save the rule to {path}: the file is not a mapping"
    section = data.setdefault("permissions", {})
    if not isinstance(section, dict):
        return f"could not save the rule to {path}: permissions is not a mapping"
    allow = section.setdefault("allow", [])
    if not isinstance(allow, list):
        return f"could not save the rule to {path}: permissions.allow is not a list"
    allow.extend(r for r in rules if r not in allow)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        os.replace(temporary, path)
    except OSError as exc:
        return f"could not save the rule to {path}: {exc.strerror}; it applies to this session only"
    return None
