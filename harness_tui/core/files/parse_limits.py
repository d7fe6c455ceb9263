"""Bounds on parsing text from files: nothing a folder holds can stop or swamp start-up.

Settings, ``.mcp.json``, front matter, plugin manifests, the trust and usage files are
read from folders nobody checked (a cloned repository) as well as the user's own. One
rule for all of them:

- size: ``MAX_CONFIG_BYTES`` (1 MiB) per file (``regular_files`` enforces it);
- nesting: at most ``MAX_DEPTH`` (64) levels of lists and mappings, checked *before*
  the recursive parsers run, so ``RecursionError`` cannot happen;
- expansion: at most ``MAX_NODES`` (20,000) keys and values, YAML aliases counted each
  time they are used, so an alias bomb ("billion laughs", merge keys ``<<``) is refused
  while it is still small; an alias that refers to itself is refused too;
- values Python refuses to build (an integer of more than 4,300 digits, a date with
  month 13) are reported like syntax errors, never raised as a bare ``ValueError``.

A refused file is a problem naming the file and line; the caller skips it and goes on.
(The scripted model's scripts, chosen by the user, get larger bounds of the same kind.)
"""

from __future__ import annotations

import json
import re
from typing import Any

#: Largest settings, manifest, front matter, trust or usage file read.
MAX_CONFIG_BYTES = 1 << 20
#: Deepest nesting of lists and mappings.
MAX_DEPTH = 64
#: Most keys and values in one document (YAML aliases counted at every use).
MAX_NODES = 20_000

#: What to do about a file refused for its size or shape.
LIMITS_HINT = "make it smaller and simpler"


class ParseLimitError(ValueError):
    """Text refused for its shape: too deep, too many values, a recursive alias."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None) -> None:
        super().__init__(message)
        self.message, self.line, self.column = message, line, column

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line is not None else ""
        return f"{where}{self.message}"


def too_deep(max_depth: int = MAX_DEPTH) -> str:
    """The notice for a document nested too deep."""
    return f"nested more than {max_depth} levels deep (the most harness-tui reads); {LIMITS_HINT}"


def too_many(max_nodes: int = MAX_NODES, *, aliases: bool = False) -> str:
    """The notice for a document with too many keys and values."""
    counted = " once its aliases are expanded" if aliases else ""
    return (
        f"more than {max_nodes:,} keys and values{counted} (the most harness-tui reads); "
        f"{LIMITS_HINT}"
    )


def unreadable_value(exc: Exception) -> str:
    """A value the parser found but Python will not build (a huge integer, month 13)."""
    if "integer string conversion" in str(exc):
        return "a number of more than 4,300 digits (the most Python reads); shorten it"
    return f"a value cannot be read ({exc})"


# --- JSON ---------------------------------------------------------------------------------


class JsonError(ValueError):
    """Text that is not JSON harness-tui reads; ``line``/``column`` where known."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None) -> None:
        super().__init__(message)
        self.msg, self.line, self.column = message, line, column

    def __str__(self) -> str:
        if self.line is None:
            return self.msg
        column = f", column {self.column}" if self.column is not None else ""
        return f"line {self.line}{column}: {self.msg}"


# A string (escapes included) or one structural character; the rest is skipped.
_JSON_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[{\]},:]', re.DOTALL)


def parse_json(text: str, *, max_depth: int = MAX_DEPTH, max_nodes: int = MAX_NODES) -> Any:
    """``json.loads`` within the bounds (a leading BOM is allowed); raises ``JsonError``."""
    text = text.removeprefix("\ufeff")
    shape = _json_shape_problem(text, max_depth, max_nodes)
    if shape is not None:
        position, message = shape
        line, column = _line_column(text, position)
        raise JsonError(message, line, column)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise JsonError(exc.msg, exc.lineno, exc.colno) from None
    except ValueError as exc:  # a number of more than 4,300 digits
        raise JsonError(unreadable_value(exc)) from None


def _json_shape_problem(text: str, max_depth: int, max_nodes: int) -> tuple[int, str] | None:
    """Where the text goes deeper or holds more than allowed, and what; None if it does not."""
    opens = text.count("[") + text.count("{")
    if opens <= max_depth and opens + text.count(",") + text.count(":") <= max_nodes:
        return None  # cannot be too deep or too big (strings may only make these larger)
    depth = nodes = 0
    for match in _JSON_TOKEN.finditer(text):
        char = match.group()[0]
        if char in "[{":
            depth += 1
            nodes += 1
            if depth > max_depth:
                return match.start(), too_deep(max_depth)
        elif char in "]}":
            depth -= 1
        elif char != '"':
            nodes += 1
        if nodes > max_nodes:
            return match.start(), too_many(max_nodes)
    return None


def _line_column(text: str, position: int) -> tuple[int, int]:
    line = text.count("\n", 0, position) + 1
    return line, position - (text.rfind("\n", 0, position) + 1) + 1


# --- YAML ---------------------------------------------------------------------------------


def check_yaml_shape(
    loader: Any, *, max_depth: int = MAX_DEPTH, max_nodes: int = MAX_NODES
) -> None:
    """Read the event stream of a fresh PyYAML loader (the parser is not recursive) and
    raise ``ParseLimitError`` when the document nests too deep, holds too many values
    (aliases expanded) or has an alias inside its own anchor. YAML syntax errors are
    left to the caller's parse."""
    import yaml

    # Per open list or mapping: [anchor, nodes before it, its height so far].
    frames: list[list[Any]] = []
    #: Per finished anchor: (nodes it expands to, its height).
    anchors: dict[str, tuple[int, int]] = {}
    nodes = 0

    def add(size: int, height: int, mark: Any) -> None:
        nonlocal nodes
        nodes += size
        if nodes > max_nodes:
            raise ParseLimitError(too_many(max_nodes, aliases=bool(anchors)), _line(mark))
        if len(frames) + height > max_depth:
            raise ParseLimitError(too_deep(max_depth), _line(mark))
        if frames:
            frames[-1][2] = max(frames[-1][2], height)

    while loader.check_event():
        event = loader.get_event()
        if isinstance(event, yaml.ScalarEvent):
            add(1, 0, event.start_mark)
            if event.anchor is not None:
                anchors[event.anchor] = (1, 0)
        elif isinstance(event, yaml.AliasEvent):
            if any(frame[0] == event.anchor for frame in frames):
                raise ParseLimitError(
                    f"the alias *{event.anchor} is inside its own anchor (a recursive "
                    "structure harness-tui does not read)",
                    _line(event.start_mark),
                )
            # An undefined alias counts as one value: the parse that follows says so.
            size, height = anchors.get(event.anchor or "", (1, 0))
            add(size, height, event.start_mark)
        elif isinstance(event, yaml.CollectionStartEvent):
            add(1, 1, event.start_mark)
            frames.append([event.anchor, nodes - 1, 0])
        elif isinstance(event, yaml.CollectionEndEvent):
            anchor, before, inner = frames.pop()
            height = inner + 1
            if frames:
                frames[-1][2] = max(frames[-1][2], height)
            if anchor is not None:
                anchors[anchor] = (nodes - before, height)


def _line(mark: Any) -> int | None:
    return mark.line + 1 if mark is not None else None
