"""Project instructions: ``AGENTS.md`` (Codex), ``CLAUDE.md`` / ``.claude/CLAUDE.md``
(Claude Code) and our ``HARNESS.md``, found in every folder from the repository root down
to the working folder, plus the user-level ones, go into the system prompt.

The files are concatenated most general first (user, then the repository root, ..., the
working folder), so the more specific ones come last and take precedence. The whole is
capped (Codex caps at 32 KiB); when it would not fit, the budget goes to the most specific
files first and the general ones are cut, each cut said in the prompt and in ``/context``.
Files that are the same file (a symlink ``AGENTS.md -> CLAUDE.md``) or have the same text
are read once. Instruction files are text for the model and start nothing, so they are
read in untrusted folders too (as Claude Code and Codex do).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from harness_tui.core.config import paths
from harness_tui.core.files.regular import describe_read_error, open_regular

DEFAULT_MAX_BYTES = 32 * 1024
#: A file cut shorter than this is left out instead.
MIN_PIECE = 200
#: Names looked for in each folder, in this order.
FILE_NAMES = ("AGENTS.md", "CLAUDE.md", ".claude/CLAUDE.md", "HARNESS.md")

Scope = Literal["user", "project"]


@dataclass(frozen=True)
class InstructionFile:
    path: Path
    scope: Scope
    #: Size of the file and how much of it went into the prompt (bytes).
    size: int
    included: int
    text: str

    @property
    def truncated(self) -> bool:
        return self.included < self.size


@dataclass
class Instructions:
    """What was loaded, in prompt order."""

    files: list[InstructionFile] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    max_bytes: int = DEFAULT_MAX_BYTES

    @property
    def total_bytes(self) -> int:
        return sum(f.included for f in self.files)

    def prompt_section(self) -> str | None:
        if not self.files:
            return None
        parts = [
            "# Instructions from the user and the project\n"
            "Follow these; when two disagree, the later (more specific) one wins."
        ]
        for item in self.files:
            note = ""
            if item.included == 0:
                parts.append(
                    f"## {item.path}\n[left out: the instructions are capped at "
                    f"{self.max_bytes:,} bytes in all. Read the file if it matters.]"
                )
                continue
            if item.truncated:
                note = (
                    f"\n[... cut: {item.included:,} of {item.size:,} bytes kept; the "
                    f"instructions are capped at {self.max_bytes:,} bytes in all. Read the "
                    "file for the rest.]"
                )
            parts.append(f"## {item.path}\n{item.text.rstrip()}{note}")
        return "\n\n".join(parts)

    def describe(self) -> list[str]:
        """One line per file, for ``/context``."""
        lines = []
        for item in self.files:
            cut = f", cut to {item.included:,}" if item.truncated else ""
            skipped = " (left out: over the cap)" if item.included == 0 else ""
            lines.append(f"{item.path} ({item.scope}, {item.size:,} bytes{cut}){skipped}")
        return lines


def user_instruction_paths() -> list[Path]:
    """The user-level instruction files, in prompt order."""
    codex_home = Path(os.environ.get("CODEX_HOME") or "~/.codex").expanduser()
    return [
        codex_home / "AGENTS.md",
        paths.claude_user_dir() / "CLAUDE.md",
        paths.config_dir() / "AGENTS.md",
        paths.config_dir() / "HARNESS.md",
    ]


def repository_root(cwd: Path) -> Path | None:
    """The nearest folder at or above ``cwd`` with a ``.git`` (folder or file)."""
    for folder in (cwd, *cwd.parents):
        if (folder / ".git").exists():
            return folder
    return None


def project_folders(cwd: Path) -> list[Path]:
    """The repository root down to ``cwd`` (just ``cwd`` outside a repository)."""
    root = repository_root(cwd)
    if root is None:
        return [cwd]
    chain = [cwd]
    while chain[-1] != root:
        chain.append(chain[-1].parent)
    return list(reversed(chain))


def load_instructions(cwd: Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> Instructions:
    """Read every instruction file that applies to ``cwd``; never raises."""
    found: list[tuple[Path, Scope]] = [(p, "user") for p in user_instruction_paths()]
    for folder in project_folders(cwd):
        found += [(folder / name, "project") for name in FILE_NAMES]
    result = Instructions(max_bytes=max_bytes)
    seen_paths: set[str] = set()
    seen_texts: set[bytes] = set()
    texts: list[tuple[Path, Scope, bytes, int]] = []
    for path, scope in found:
        try:
            real = os.path.realpath(path)
            data, size = _read_head(path, max_bytes)
        except (FileNotFoundError, IsADirectoryError):
            continue
        except OSError as exc:  # a FIFO or device is refused, never read
            result.problems.append(f"{path}: {describe_read_error(exc)}; skipped")
            continue
        if real in seen_paths or data.strip() in seen_texts or not data.strip():
            continue
        seen_paths.add(real)
        seen_texts.add(data.strip())
        texts.append((path, scope, data, size))
    # The budget goes to the most specific files first.
    budget = max_bytes
    kept: list[bytes] = [b""] * len(texts)
    for index in range(len(texts) - 1, -1, -1):
        data, size = texts[index][2], texts[index][3]
        kept[index] = _cut(data, budget, size)
        budget -= len(kept[index])
    for (path, scope, _data, size), part in zip(texts, kept, strict=True):
        text = part.decode("utf-8", errors="replace")
        result.files.append(InstructionFile(path, scope, size, len(part), text))
    return result


def _read_head(path: Path, max_bytes: int) -> tuple[bytes, int]:
    """At most the first ``max_bytes`` of a regular file (no more can go into the
    prompt), and the file's size."""
    with open_regular(path) as handle:
        size = os.fstat(handle.fileno()).st_size
        data = handle.read(max_bytes)
    return data, max(size, len(data))


def _cut(data: bytes, budget: int, size: int) -> bytes:
    """At most ``budget`` bytes of ``data`` (the start of a file of ``size`` bytes),
    ending at a line (or character) boundary; nothing rather than a sliver too short
    to mean anything."""
    if len(data) <= budget and len(data) == size:
        return data
    if budget < MIN_PIECE:
        return b""
    part = data[:budget]
    newline = part.rfind(b"\n")
    if newline > budget // 2:
        return part[: newline + 1]
    # Never end inside a UTF-8 sequence.
    return part.decode("utf-8", errors="ignore").encode("utf-8")
