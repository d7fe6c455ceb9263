"""Path patterns: globs (``Glob``, ``Grep --glob``), ``.gitignore`` files, and the
gitignore-style patterns of ``Read(...)``/``Edit(...)`` permission rules.

All of them work on ``/``-separated paths relative to a base folder.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from harness_tui.core.files.parse_limits import MAX_CONFIG_BYTES
from harness_tui.core.files.regular import read_regular


def _glob_body(pattern: str, braces: bool) -> str:
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if c == "\\" and i + 1 < n:
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            end = pattern.find("]", i + 2)
            if end == -1:
                out.append(re.escape(c))
            else:
                body = pattern[i + 1 : end].replace("\\", "\\\\")
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append(f"[{body}]")
                i = end
        elif c == "{" and braces:
            end = pattern.find("}", i + 1)
            if end == -1:
                out.append(re.escape(c))
            else:
                options = pattern[i + 1 : end].split(",")
                out.append("(?:" + "|".join(_glob_body(o, braces) for o in options) + ")")
                i = end
        else:
            out.append(re.escape(c))
        i += 1
    return "".join(out)


@lru_cache(maxsize=512)
def glob_regex(pattern: str, braces: bool = True) -> re.Pattern[str]:
    """A glob (``*``, ``?``, ``[..]``, ``**``, ``{a,b}``) as a regex over a whole
    ``/``-separated relative path."""
    return re.compile(_glob_body(pattern, braces) + r"\Z")


@dataclass(frozen=True, slots=True)
class IgnorePattern:
    """One gitignore-style pattern. ``matches`` is also true for paths inside a folder
    the pattern matches (as git ignores a folder's contents with it)."""

    regex: re.Pattern[str]
    negated: bool = False
    dir_only: bool = False
    source: str = ""

    def matches(self, rel: str, is_dir: bool = False) -> bool:
        match = self.regex.match(rel)
        if match is None:
            return False
        # Matched a parent folder (the tail is "/..."): a folder, whatever the path is.
        inside = match.group("inside") is not None
        return inside or is_dir or not self.dir_only


@lru_cache(maxsize=1024)
def compile_pattern(
    pattern: str, *, anchored: bool | None = None, braces: bool = False
) -> IgnorePattern:
    """Compile one gitignore-style pattern (no comment or ``!`` handling here).

    A pattern with a ``/`` before its end is anchored to the base folder; one without
    matches at any depth. ``anchored`` overrides that (permission rules written as
    ``./p``, ``/p``, ``~/p`` or ``//p`` are anchored)."""
    source = pattern
    dir_only = pattern.endswith("/") and len(pattern) > 1
    pattern = pattern.rstrip("/") if dir_only else pattern
    if anchored is None:
        anchored = "/" in pattern
    pattern = pattern.lstrip("/")
    if pattern in ("", "**"):
        body = ".*" if pattern else ""
    else:
        body = _glob_body(pattern, braces)
    lead = "" if anchored else "(?:.*/)?"
    regex = re.compile(f"{lead}{body}(?P<inside>/.*)?\\Z", re.DOTALL)
    return IgnorePattern(regex, False, dir_only, source)


def parse_ignore_line(line: str) -> IgnorePattern | None:
    """A ``.gitignore`` line as a pattern; None for blank lines and comments."""
    line = line.rstrip("\n").rstrip("\r")
    if not line or line.startswith("#"):
        return None
    # Trailing spaces are dropped unless escaped.
    stripped = line.rstrip(" ")
    if stripped.endswith("\\") and len(stripped) < len(line):
        stripped += " "
    line = stripped
    negated = line.startswith("!")
    if negated:
        line = line[1:]
    elif line.startswith("\\!") or line.startswith("\\#"):
        line = line[1:]
    if not line:
        return None
    compiled = compile_pattern(line)
    return IgnorePattern(compiled.regex, negated, compiled.dir_only, compiled.source)


class IgnoreRules:
    """The patterns of one ignore file, relative to the folder it is in.

    ``base`` is that folder relative to the walk's top ("" = the top itself);
    ``prefix`` is the walk's top relative to that folder, for ignore files *above* the
    top (a ``.gitignore`` at the repository root while a subfolder is searched)."""

    def __init__(self, patterns: list[IgnorePattern], base: str = "", prefix: str = "") -> None:
        self.patterns = patterns
        self.base = base
        self.prefix = prefix

    @classmethod
    def read(cls, path: Path, base: str = "", prefix: str = "") -> IgnoreRules | None:
        try:
            # Only a regular file, of at most 1 MiB: a FIFO or a symlink to /dev/zero
            # in a cloned repository is skipped, as if it were not there.
            text = read_regular(path, MAX_CONFIG_BYTES).decode("utf-8", errors="replace")
        except OSError:
            return None
        patterns = [p for p in map(parse_ignore_line, text.splitlines()) if p is not None]
        return cls(patterns, base, prefix) if patterns else None

    def decide(self, rel: str, is_dir: bool) -> bool | None:
        """True (ignored), False (re-included by ``!``) or None (no pattern matched);
        ``rel`` is relative to the walk's top."""
        if self.base:
            if not rel.startswith(self.base + "/"):
                return None
            rel = rel[len(self.base) + 1 :]
        if self.prefix:
            rel = f"{self.prefix}/{rel}"
        verdict: bool | None = None
        for pattern in self.patterns:
            if pattern.matches(rel, is_dir):
                verdict = not pattern.negated
        return verdict


def is_ignored(rules: list[IgnoreRules], rel: str, is_dir: bool) -> bool:
    """Whether the deepest ignore file with an opinion ignores ``rel``."""
    verdict: bool | None = None
    for ruleset in rules:
        decided = ruleset.decide(rel, is_dir)
        if decided is not None:
            verdict = decided
    return bool(verdict)
