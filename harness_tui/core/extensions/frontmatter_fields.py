"""Typed reads of front-matter fields, shared by skills, sub-agents and slash commands.

A field of the wrong type is never used as if it were right (``str([...])`` as a model
name, a mapping as a tool list). Each one is a notice of the form
``FILE: line N: FIELD: expected ..., not ...; ignored`` (or, for a field whose loss would
change what the file means, ``...; skipped`` with why: the caller decides which). Values
Claude Code accepts are accepted: text or a YAML list for tool lists, and a YAML list for
``argument-hint`` (``argument-hint: [name]`` is a list to YAML, and shown as written).
"""

from __future__ import annotations

import datetime
from typing import Any

from harness_tui.core.extensions.frontmatter import MarkdownDoc, as_name_list


class Fields:
    """The fields of one document. Wrong ones are reported in ``problems``; those the
    caller marked as stopping the file are also kept in ``stops``."""

    def __init__(self, doc: MarkdownDoc, problems: list[str]) -> None:
        self.doc = doc
        self.problems = problems
        self.stops: list[str] = []

    def where(self, key: str) -> str:
        """``FILE: line N: KEY`` (without the line when it is not known)."""
        line = self.doc.field_lines.get(key)
        return f"{self.doc.path}: line {line}: {key}" if line else f"{self.doc.path}: {key}"

    def wrong(
        self, key: str, expected: str, value: Any, outcome: str = "ignored", *, stop: bool = False
    ) -> None:
        """Report ``key`` as not ``expected`` and what happens (``outcome``); ``stop``:
        the caller skips the file for it (kept in ``stops`` too)."""
        message = f"{self.where(key)}: expected {expected}, not {kind_of(value)}; {outcome}"
        self.problems.append(message)
        if stop:
            self.stops.append(message)

    def _wrong(self, key: str, expected: str, value: Any, skip: str | None) -> None:
        if skip is None:
            self.wrong(key, expected, value)
        else:
            self.wrong(key, expected, value, skip, stop=True)

    def text(self, key: str, *, lists: bool = False, skip: str | None = None) -> str | None:
        """A text field (None when absent, empty or wrong). ``lists``: a YAML list of
        plain values is text written with brackets (``[name]``), as Claude Code shows it.
        ``skip``: a wrong value stops the file, for this reason (else it is ignored)."""
        value = self.doc.meta.get(key)
        if value is None:
            return None
        if isinstance(value, str):
            return value.strip() or None
        if lists and isinstance(value, list) and all(_plain(v) for v in value):
            return "[" + ", ".join(str(v) for v in value) + "]"
        self._wrong(key, "text", value, skip)
        return None

    def names(self, key: str, *, skip: str | None = None) -> tuple[str, ...] | None:
        """A list of tool names or permission rules: text (``Read, Grep`` or ``Read
        Grep``) or a YAML list of texts. None when absent or wrong; ``skip`` as for
        ``text``."""
        value = self.doc.meta.get(key)
        if value is None:
            return None
        if isinstance(value, str) or (
            isinstance(value, list) and all(isinstance(v, str) for v in value)
        ):
            return as_name_list(value)
        self._wrong(key, "tool names (text such as 'Read, Grep', or a list of them)", value, skip)
        return None

    def flag(self, key: str, default: bool) -> bool:
        """``true`` or ``false`` (also as text); ``default`` when absent or wrong."""
        value = self.doc.meta.get(key, default)
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        self.wrong(key, "true or false", value, f"using {default}")
        return default

    def mapping(self, key: str) -> dict[str, str]:
        """A mapping, its keys and values as text; empty when absent or wrong."""
        value = self.doc.meta.get(key)
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.wrong(key, "a mapping of names to text", value)
            return {}
        return {str(k): str(v) for k, v in value.items()}


def _plain(value: Any) -> bool:
    return isinstance(value, str | int | float) and not isinstance(value, bool)


def kind_of(value: Any) -> str:
    """What a YAML value is, for a message: ``a number (12)``, ``a list``..."""
    if isinstance(value, bool):
        return f"true/false ({str(value).lower()})"
    if isinstance(value, int | float):
        return f"a number ({value})"
    if isinstance(value, str):
        return f"text ({value!r})"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, datetime.date):
        return f"a date ({value})"
    return type(value).__name__
