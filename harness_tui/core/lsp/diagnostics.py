"""Diagnostics as the model reads them after an edit, and as events carry them.

A diagnostic is kept as a plain ``Problem`` (no ``lsprotocol`` object leaves the client).
After an edit, the problems of each changed file are compared with the ones the file had
before it: those already there are marked ``preexisting`` and only counted in the text
the model reads, so it is not sent chasing old problems. Errors always count; warnings
only when the settings ask. The list is deduplicated and capped per file and per call.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

#: Most problems listed per file, and per tool call, in what the model reads.
MAX_PER_FILE = 20
MAX_PER_CALL = 50
SEVERITIES = {1: "error", 2: "warning", 3: "info", 4: "hint"}


@dataclass(frozen=True, slots=True)
class Problem:
    """One diagnostic: 1-based line and column, as editors show them."""

    line: int
    column: int
    severity: str
    message: str
    code: str | None = None
    source: str | None = None
    #: The text of its line (how it is recognized after lines moved).
    text: str = ""
    preexisting: bool = False

    @property
    def key(self) -> tuple[str, str | None, str, str]:
        return (self.severity, self.code, self.message, self.text.strip())

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def problems_of(diagnostics: list[Any], text: str) -> list[Problem]:
    """``lsprotocol`` diagnostics of a document whose content is ``text``."""
    lines = text.splitlines()
    found = []
    for diagnostic in diagnostics:
        start = diagnostic.range.start
        line_text = lines[start.line] if 0 <= start.line < len(lines) else ""
        severity = SEVERITIES.get(int(diagnostic.severity or 1), "error")
        code = diagnostic.code
        found.append(
            Problem(
                line=start.line + 1,
                column=start.character + 1,
                severity=severity,
                message=" ".join(str(diagnostic.message).split()),
                code=str(code) if code is not None else None,
                source=diagnostic.source,
                text=line_text,
            )
        )
    return found


def compare(after: list[Problem], before: list[Problem] | None, warnings: bool) -> list[Problem]:
    """The problems worth telling, deduplicated, in line order, each marked when the
    file had it before the edit (``before`` None: unknown, nothing is marked)."""
    wanted = ("error", "warning") if warnings else ("error",)
    old = {p.key for p in before or ()}
    seen: set[tuple[int, str]] = set()
    kept = []
    for problem in sorted(after, key=lambda p: (p.line, p.column)):
        if problem.severity not in wanted or (problem.line, problem.message) in seen:
            continue
        seen.add((problem.line, problem.message))
        kept.append(_marked(problem, problem.key in old))
    return kept


def _marked(problem: Problem, preexisting: bool) -> Problem:
    return Problem(**{**problem.as_dict(), "preexisting": preexisting})


def for_model(found: dict[Path, list[Problem]], cwd: Path) -> str:
    """The text added to the tool result: the new problems of each file, capped, and a
    count of those that were already there. Empty when there is nothing new."""
    parts: list[str] = []
    budget = MAX_PER_CALL
    for path, problems in found.items():
        new = [p for p in problems if not p.preexisting]
        old = len(problems) - len(new)
        if not new:
            continue
        shown = new[: min(MAX_PER_FILE, budget)]
        budget -= len(shown)
        name = _relative(path, cwd)
        lines = [
            f"{name}:{p.line}:{p.column}: {p.severity}: {p.message}"
            + (f" [{p.code}]" if p.code else "")
            for p in shown
        ]
        if len(new) > len(shown):
            lines.append(f"... and {len(new) - len(shown)} more in {name}")
        if old:
            lines.append(f"({old} more in {name} were there before this edit: not listed)")
        parts.append("\n".join(lines))
        if budget <= 0:
            break
    if not parts:
        return ""
    return (
        "\n\n<diagnostics>\nThe language server reports new problems after this change:\n"
        + "\n".join(parts)
        + "\n</diagnostics>"
    )


def _relative(path: Path, cwd: Path) -> str:
    try:
        return str(path.relative_to(cwd))
    except ValueError:
        return str(path)
