"""Markdown files with a YAML front matter block, as skills (``SKILL.md``), sub-agents
(``.claude/agents/*.md``) and slash commands (``.claude/commands/*.md``) are written::

    ---
    name: code-reviewer
    description: When to use it.
    ---
    The body.

Real files are not always valid YAML (``description: Use when: X`` has a second colon);
such a block is read again as plain ``key: value`` lines, with a warning, rather than
losing the file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness_tui.core.config.yaml_source import YamlError, YamlLimitError, parse_yaml
from harness_tui.core.errors import names_listed
from harness_tui.core.files.parse_limits import MAX_CONFIG_BYTES
from harness_tui.core.files.regular import NotUtf8, describe_read_error, read_regular_text

#: Larger files are not read (a definition file, not a data file).
MAX_FILE_BYTES = MAX_CONFIG_BYTES
#: ``argument-hint: [a] [b]``: a hint of several bracketed words, unquoted.
_BARE_HINT = re.compile(r"^(argument-hint:[ \t]*)(\[[^\n]*\][ \t]+\[[^\n]*)$", re.M)
_PLAIN_LINE = re.compile(r"^([A-Za-z0-9_-]+):[ \t]*(.*)$")
_TOP_LEVEL_KEY = re.compile(r"^([A-Za-z0-9_-]+)[ \t]*:")


class FrontmatterError(ValueError):
    """A file that cannot be used; the message names the file and, where known, the line."""


@dataclass(frozen=True)
class MarkdownDoc:
    path: Path
    meta: dict[str, Any]
    body: str
    #: Problems that did not stop the file from loading.
    warnings: list[str] = field(default_factory=list)
    #: The line of the file each top-level field starts on (for messages).
    field_lines: dict[str, int] = field(default_factory=dict)


def read_markdown(path: Path) -> MarkdownDoc:
    """Read and split a Markdown file (a regular file of at most ``MAX_FILE_BYTES``);
    raises ``FrontmatterError``."""
    try:
        text = read_regular_text(path, MAX_FILE_BYTES)
    except (OSError, NotUtf8) as exc:
        raise FrontmatterError(f"{path}: {describe_read_error(exc)}; skipped") from None
    return parse_markdown(text, path)


def parse_markdown(text: str, path: Path) -> MarkdownDoc:
    """Split ``text`` into front matter (a mapping; empty when there is none) and body."""
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        return MarkdownDoc(path, {}, text)
    end = next((i for i in range(1, len(lines)) if lines[i].strip() == "---"), None)
    if end is None:
        raise FrontmatterError(
            f"{path}: line 1: the front matter starts with '---' but has no closing '---'"
        )
    block = "".join(lines[1:end])
    body = "".join(lines[end + 1 :])
    warnings: list[str] = []
    try:
        data = parse_yaml(block, line_offset=1).data
    except YamlLimitError as exc:  # too deep or too big: not read any other way either
        raise FrontmatterError(f"{path}: front matter: {exc}; skipped") from None
    except YamlError as exc:
        data = _hints_as_text(block)
        if data is None:
            data = _plain_pairs(lines[1:end])
            if data is None:
                raise FrontmatterError(f"{path}: front matter: {exc}") from None
            warnings.append(
                f"{path}: front matter is not valid YAML ({exc}); read as plain 'key: value' lines"
            )
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise FrontmatterError(f"{path}: line 2: the front matter must be a mapping of fields")
    lines_of: dict[str, int] = {}
    for number, line in enumerate(lines[1:end], start=2):
        key = _TOP_LEVEL_KEY.match(line)
        if key is not None:
            lines_of.setdefault(key.group(1), number)
    return MarkdownDoc(path, {str(k): v for k, v in data.items()}, body, warnings, lines_of)


def unknown_fields(path: Path, meta: dict[str, Any], known: frozenset[str]) -> list[str]:
    """One warning naming the fields of ``meta`` not in ``known`` (none when all are):
    a file with thousands of made-up fields gives one line, not thousands."""
    unknown = sorted(set(meta) - known)
    return [f"{path}: unknown {names_listed(unknown, 'field')} ignored"] if unknown else []


def _hints_as_text(block: str) -> dict[str, Any] | None:
    """The front matter with ``argument-hint: [a] [b]`` read as text, as Claude Code reads
    it (its documentation writes hints that way, which is not YAML); None when that is
    not what made the block invalid."""
    quoted, count = _BARE_HINT.subn(
        lambda m: f"{m.group(1)}'{m.group(2).replace(chr(39), chr(39) * 2)}'", block
    )
    if not count:
        return None
    try:
        data = parse_yaml(quoted, line_offset=1).data
    except YamlError:
        return None
    return data if isinstance(data, dict) else None


def _plain_pairs(lines: list[str]) -> dict[str, Any] | None:
    """``key: value`` lines (values taken verbatim); None when other lines are there."""
    data: dict[str, Any] = {}
    for line in lines:
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _PLAIN_LINE.match(line.rstrip("\r\n"))
        if match is None:
            return None
        value = match.group(2).strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        data[match.group(1)] = value
    return data


def as_name_list(value: Any) -> tuple[str, ...] | None:
    """A list of tool names written as ``Read, Grep``, ``Read Grep`` or a YAML list;
    None for an absent value. Parenthesised specifiers (``Bash(git:*)``) stay whole."""
    if value is None:
        return None
    if isinstance(value, list | tuple):
        items = [str(v).strip() for v in value]
    else:
        items = _split_names(str(value))
    return tuple(i for i in items if i)


def _split_names(text: str) -> list[str]:
    """Split on commas and spaces that are not inside parentheses."""
    items, current, depth = [], "", 0
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth = max(0, depth - 1)
        if depth == 0 and (char == "," or char.isspace()):
            items.append(current)
            current = ""
        else:
            current += char
    items.append(current)
    return items
