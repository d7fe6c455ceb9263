"""Where memory lives.

- The user's: ``<data dir>/memory/user/``.
- A project's: ``<data dir>/memory/projects/<key>/``, where the key names the project's
  repository (the main checkout's folder, so every worktree of it shares one memory) or,
  outside git, the folder itself: its path with every other character than letters and
  digits made ``-`` (as Claude Code names its project folders), plus 8 hex digits of its
  hash, so two paths that read alike never share.
- Claude Code's auto memory of the same project, read (never written) when present:
  ``~/.claude/projects/<path, non-alphanumerics as "-">/memory/MEMORY.md``.

Finding the repository runs ``git rev-parse --git-common-dir`` once (with a short
timeout); without git, or outside a repository, the folder is the project.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
from pathlib import Path

from harness_tui.core.config import paths

GIT_TIMEOUT_S = 5.0
_NOT_ALNUM = re.compile(r"[^A-Za-z0-9]")


def project_root(cwd: Path) -> Path:
    """The main checkout of the repository ``cwd`` is in, else ``cwd`` itself."""
    cwd = cwd.resolve()
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--path-format=absolute", "--git-common-dir"],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT_S,
        )
    except (OSError, subprocess.SubprocessError):
        return cwd
    common = done.stdout.strip()
    if done.returncode != 0 or not common:
        return cwd
    git_dir = Path(common)
    # A normal repository's common dir is <root>/.git; a bare one has no checkout.
    return git_dir.parent.resolve() if git_dir.name == ".git" else cwd


def project_key(root: Path) -> str:
    digest = hashlib.sha256(str(root).encode()).hexdigest()[:8]
    return f"{_NOT_ALNUM.sub('-', str(root)).strip('-')[-80:]}-{digest}"


def user_folder() -> Path:
    return paths.data_dir() / "memory" / "user"


def project_folder(cwd: Path) -> Path:
    return paths.data_dir() / "memory" / "projects" / project_key(project_root(cwd))


def claude_memory_index(cwd: Path) -> Path:
    """Claude Code's auto memory index for the project of ``cwd`` (it may not exist)."""
    name = _NOT_ALNUM.sub("-", str(project_root(cwd)))
    return paths.claude_user_dir() / "projects" / name / "memory" / "MEMORY.md"
