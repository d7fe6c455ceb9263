"""Where new worktrees go and which untracked files they get, from the settings::

    worktree:
      dir: ../worktrees      # default: .worktrees (in the repository, git-excluded)
      include: [".env", "config/*.local.yaml"]

``dir`` is relative to the root of the repository's main checkout (``~`` allowed), so
worktrees made from a worktree go beside it. ``include`` lists glob patterns, relative to
the current checkout's root, of untracked files to copy into each new worktree; a
``.worktreeinclude`` file at that root (Claude Code's, one pattern a line, ``#``
comments) adds to them. Only regular files are copied, none over ``MAX_COPY_BYTES``.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from harness_tui.core.errors import HarnessError

#: The default folder of worktrees, relative to the repository root. Not under
#: ``.harness/``: every file there is protected (writing it always asks).
DEFAULT_DIR = ".worktrees"
INCLUDE_FILE = ".worktreeinclude"
MAX_COPY_BYTES = 10 * 1024 * 1024
#: Bounds on reading ``.worktreeinclude`` (an untrusted file).
_MAX_INCLUDE_BYTES = 64 * 1024
_MAX_PATTERNS = 200


def worktree_setting(settings: Any) -> tuple[dict[str, Any], str]:
    """The ``worktree`` mapping of the settings and the file it came from; a value that
    is not a mapping raises ``HarnessError`` naming the file."""
    found = settings.value("worktree") if settings is not None else None
    if found is None:
        return {}, ""
    value, source = found
    if not isinstance(value, dict):
        raise HarnessError(
            f"{source.label}: worktree: must be a mapping such as "
            "{dir: .worktrees, include: ['.env']}"
        )
    return value, source.label


def worktree_folder(root: Path, settings: Any = None) -> Path:
    """The folder new worktrees of the repository at ``root`` go in."""
    value, where = worktree_setting(settings)
    folder = value.get("dir", DEFAULT_DIR)
    if not isinstance(folder, str) or not folder.strip():
        raise HarnessError(f"{where}: worktree.dir: must be a folder path, not {folder!r}")
    return (root / Path(folder).expanduser()).resolve()


def include_patterns(root: Path, settings: Any = None) -> list[str]:
    """The settings' ``worktree.include`` patterns, then ``.worktreeinclude``'s."""
    value, where = worktree_setting(settings)
    patterns = value.get("include", [])
    if isinstance(patterns, str):
        patterns = [patterns]
    if not isinstance(patterns, list) or not all(isinstance(p, str) for p in patterns):
        raise HarnessError(f"{where}: worktree.include: must be a list of glob patterns")
    return [*patterns, *_include_file(root / INCLUDE_FILE)]


def _include_file(path: Path) -> list[str]:
    if not path.is_file():
        return []
    try:
        with path.open("rb") as handle:
            text = handle.read(_MAX_INCLUDE_BYTES).decode("utf-8", "replace")
    except OSError:
        return []
    lines = (line.strip() for line in text.splitlines())
    return [line for line in lines if line and not line.startswith("#")][:_MAX_PATTERNS]


def copy_included(root: Path, dest: Path, patterns: Sequence[str]) -> list[str]:
    """Copy the files ``patterns`` match under ``root`` that ``dest`` lacks (untracked
    ones: a tracked file is already there); their paths, relative to the root."""
    copied: list[str] = []
    for source in _matches(root, patterns):
        relative = source.relative_to(root)
        target = dest / relative
        if relative.parts[:1] == (".git",) or target.exists() or dest in source.parents:
            continue
        try:
            if not source.is_file() or source.stat().st_size > MAX_COPY_BYTES:
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
        except OSError:
            continue
        copied.append(relative.as_posix())
    return copied


def _matches(root: Path, patterns: Iterable[str]) -> list[Path]:
    found: dict[Path, None] = {}
    for pattern in patterns:
        pattern = pattern.lstrip("/")
        if not pattern or ".." in Path(pattern).parts:
            continue  # never outside the repository
        try:
            for path in sorted(root.glob(pattern)):
                if path.is_symlink():
                    continue
                found[path] = None
        except (OSError, ValueError):
            continue
    return list(found)
