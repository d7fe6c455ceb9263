"""Listing the files of a folder the way ``git`` and ``rg`` see it.

``ripgrep`` (``rg``) is used when it is on the PATH; otherwise a pure-Python walk does
the same job: ``.gitignore`` files of the folder, its subfolders and its parents up to
the repository root (and ``.git/info/exclude``) are respected, hidden files are
included, symlinks are not followed, and the usual vendor folders are skipped. Both list
paths in the same order (by path, component by component), so results do not depend on
which one ran. Set ``HARNESS_NO_RIPGREP=1`` to force the Python walk.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from harness_tui.core.path_patterns import IgnoreRules, is_ignored
from harness_tui.core.tools.base import Tool, ToolContext, input_path

#: Folders that are never worth walking into, ignored by a .gitignore or not.
SKIPPED_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "node_modules",
        "__pycache__",
        ".venv",
        "venv",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".tox",
    }
)
#: Stop after this many files, so a search from a huge folder stays quick.
MAX_SCANNED = 100_000
#: How far up to look for the repository root's ignore files.
MAX_PARENT_LEVELS = 32


def ripgrep() -> str | None:
    """The ``rg`` program, or None (not installed, or ``HARNESS_NO_RIPGREP`` is set)."""
    if os.environ.get("HARNESS_NO_RIPGREP"):
        return None
    return shutil.which("rg")


def rg_common_args() -> list[str]:
    """Options that make ``rg`` walk like ``walk_files``."""
    args = ["--no-config", "--hidden", "--no-require-git", "--color=never", "--sort=path"]
    for name in sorted(SKIPPED_DIRS):
        args += ["--glob", f"!{name}/"]
    return args


def _parent_rules(root: Path) -> list[IgnoreRules]:
    """Ignore files above ``root`` up to its repository's root, outermost first."""
    found: list[IgnoreRules] = []
    parts: list[str] = []
    folder = root
    for _ in range(MAX_PARENT_LEVELS):
        if (folder / ".git").exists():
            exclude = IgnoreRules.read(folder / ".git" / "info" / "exclude", prefix="/".join(parts))
            if exclude is not None:
                found.append(exclude)
            break
        parent = folder.parent
        if parent == folder:
            return []  # not in a repository: only the folder's own .gitignore files count
        parts.insert(0, folder.name)
        rules = IgnoreRules.read(parent / ".gitignore", prefix="/".join(parts))
        if rules is not None:
            found.append(rules)
        folder = parent
    return list(reversed(found))


def walk_files(root: Path, max_scanned: int = MAX_SCANNED) -> tuple[list[str], bool]:
    """Relative ``/``-separated paths of the files under ``root``, in path order, and
    whether the walk stopped early at ``max_scanned`` files."""
    rules = _parent_rules(root)
    own = IgnoreRules.read(root / ".gitignore")
    if own is not None:
        rules.append(own)
    files: list[str] = []
    # Depth first, in name order, files and folders interleaved (as `rg --sort=path`).
    # Items: (relative path, folder to scan or None for a file, rules active inside).
    stack: list[tuple[str, Path | None, list[IgnoreRules]]] = [("", root, rules)]
    while stack:
        rel_folder, folder, active = stack.pop()
        if folder is None:
            files.append(rel_folder)
            if len(files) >= max_scanned:
                return files, True
            continue
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            continue
        children: list[tuple[str, Path | None, list[IgnoreRules]]] = []
        for entry in entries:
            rel = f"{rel_folder}/{entry.name}" if rel_folder else entry.name
            try:
                if entry.is_symlink():
                    continue
                is_dir = entry.is_dir()
            except OSError:
                continue
            if is_dir and entry.name in SKIPPED_DIRS:
                continue
            if is_ignored(active, rel, is_dir):
                continue
            if is_dir:
                inner = IgnoreRules.read(Path(entry.path) / ".gitignore", base=rel)
                children.append((rel, Path(entry.path), [*active, inner] if inner else active))
            else:
                children.append((rel, None, active))
        stack.extend(reversed(children))
    return files, False


class SearchTool(Tool):
    """Base of the read-only tools that search under an optional ``path``."""

    read_only = True
    concurrency_safe = True
    path_fields = ("path",)

    @staticmethod
    def search_path(input: dict, ctx: ToolContext) -> Path:
        """The ``path`` input resolved (default: the working folder); ``ValueError``
        with a message for the model when it does not exist."""
        target = input_path(ctx.cwd, input.get("path", "."))
        if not target.exists():
            raise ValueError(f"{target} does not exist")
        return target
