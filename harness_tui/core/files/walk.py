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

from harness_tui.core.files.patterns import IgnoreRules, is_ignored
from harness_tui.core.processes.group import MAX_CAPTURE_CHARS, GroupResult, run_in_group
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
#: ``rg`` reads ignore files itself, through symlinks: a ``.gitignore -> /dev/zero`` in a
#: cloned repository has it read until memory runs out. Its data segment is capped, so it
#: aborts instead, and the caller walks in Python, which reads only regular files. (A
#: FIFO as an ignore file still makes rg wait, until its timeout: a clone cannot hold one.)
RG_MAX_DATA_BYTES = 512 * 1024 * 1024


def ripgrep() -> str | None:
    """The ``rg`` program, or None (not installed, or ``HARNESS_NO_RIPGREP`` is set)."""
    if os.environ.get("HARNESS_NO_RIPGREP"):
        return None
    return shutil.which("rg")


def rg_argv(rg: str, *args: str) -> list[str]:
    """The command line running ``rg`` with ``args``, its memory capped where a POSIX
    shell can cap it (``ulimit -d``)."""
    shell = shutil.which("sh") if os.name == "posix" else None
    if shell is None:
        return [rg, *args]
    cap = f'ulimit -d {RG_MAX_DATA_BYTES // 1024} 2>/dev/null; exec "$0" "$@"'
    return [shell, "-c", cap, rg, *args]


async def run_ripgrep(
    rg: str,
    args: list[str],
    *,
    cwd: Path,
    timeout_s: float,
    capture_chars: int = MAX_CAPTURE_CHARS,
) -> GroupResult | None:
    """Run ``rg`` (memory capped, see ``rg_argv``) in its own process group; None when
    it died (a signal, or an abort when memory ran out) rather than finishing: its
    output is then not the answer, and the caller walks in Python instead."""
    result = await run_in_group(
        rg_argv(rg, *args), cwd=cwd, timeout_s=timeout_s, capture_chars=capture_chars
    )
    code = result.exit_code
    crashed = not result.timed_out and code is not None and (code < 0 or code > 2)
    return None if crashed else result


def rg_common_args() -> list[str]:
    """Options that make ``rg`` walk like ``walk_files``."""
    args = ["--no-config", "--hidden", "--no-require-git", "--color=never", "--sort=path"]
    for name in sorted(SKIPPED_DIRS):
        args += ["--glob", f"!{name}/"]
    return args


def parent_rules(root: Path) -> list[IgnoreRules]:
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
    rules = parent_rules(root)
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
                # FIFOs, sockets and devices are not listed (rg leaves them out too).
                if not is_dir and not entry.is_file():
                    continue
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
