"""Files that grant permissions or run code: writing them always asks, whatever the
rules say (only ``bypassPermissions`` skips the question; plan mode refuses).

The set, from what the loaders in core (and git) read:

- a ``.harness`` or ``.claude`` folder anywhere, and all it holds: settings (rules,
  hooks, models, servers), ``commands/`` and ``skills/`` (``allowed-tools``),
  ``agents/`` (tools, models), ``plugins/`` (code), hook scripts;
- ``.agents/skills/`` (skills);
- ``.mcp.json`` (servers it starts), ``plugin.yaml``/``plugin.yml`` (plugins) and
  ``.claude.json`` (Claude Code's user file, with servers), wherever they are;
- ``.git`` itself, every ``hooks`` folder and ``config``/``config.worktree`` file in it,
  and git's user config (``.gitconfig``, ``~/.config/git/config``): git runs what they name;
- the user config folder (``paths.config_dir()``) and Claude's user folder
  (``paths.claude_user_dir()``), whole;
- the trusted-folder list in ``paths.data_dir()``;
- the scripts the hooks in settings run and the files stdio MCP servers run (given by
  the session, see ``files.regular.files_named``).

Instruction files (``CLAUDE.md``, ``AGENTS.md``, ``HARNESS.md``) grant nothing and are
the agent's memory: they may be edited where the instructions loader reads them, also
in ``.claude/`` and the user folders.

Names are compared case-insensitively (a case-insensitive file system opens
``.Claude/Settings.json`` as ``.claude/settings.json``); callers check the path as
written and as really resolved. A folder that a command acts on whole (``rm -r``, ``mv``,
``chmod -R``) is protected when it holds such a path.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from harness_tui.core.config import paths

_CONFIG_FOLDERS = frozenset({".harness", ".claude"})
_CONFIG_FILES = frozenset({".mcp.json", "plugin.yaml", "plugin.yml", ".claude.json", ".gitconfig"})
_INSTRUCTIONS = frozenset({"claude.md", "agents.md", "harness.md"})
_GIT_CONFIG = frozenset({"config", "config.worktree"})
#: How much of a folder is looked through for protected files before it is let go.
_WALK_DEPTH = 3
_WALK_ENTRIES = 2000


def is_protected(path: Path, places: set[PurePosixPath] | None = None) -> bool:
    """Is ``path`` (absolute, ``..`` folded) a file that grants something or runs code?
    ``places``: the user's places, lowered (computed when not given)."""
    lowered = _lower(path)
    parts = lowered.parts
    if places is None:
        places = {_lower(p) for p in _user_places()}
    if not _by_name(parts) and not any(lowered.is_relative_to(p) for p in places):
        return False
    return not _is_instructions(parts, lowered, places)


def _by_name(parts: tuple[str, ...]) -> bool:
    if parts and parts[-1] in _CONFIG_FILES:
        return True
    for i, part in enumerate(parts):
        rest = parts[i + 1 :]
        if part in _CONFIG_FOLDERS:
            return True
        if part == ".agents" and rest[:1] == ("skills",):
            return True
        if part == ".git" and (not rest or "hooks" in rest or rest[-1] in _GIT_CONFIG):
            return True
        if part == "git" and rest == ("config",) and parts[i - 1 : i] == (".config",):
            return True
    return False


def _is_instructions(
    parts: tuple[str, ...], lowered: PurePosixPath, places: set[PurePosixPath]
) -> bool:
    """An instruction file right where the loader reads it (``.claude/CLAUDE.md``,
    ``<config>/AGENTS.md``), with nothing else protected above it."""
    if len(parts) < 2 or parts[-1] not in _INSTRUCTIONS:
        return False
    if lowered.parent in places:
        return True
    return parts[-2] == ".claude" and not _by_name(parts[:-2])


def _user_places() -> set[Path]:
    """The user's configuration folders and files, as configured and as resolved."""
    places = [
        paths.config_dir(),
        paths.claude_user_dir(),
        paths.data_dir() / "trusted_folders.json",
        paths.data_dir() / "trusted_folders.tmp",
    ]
    return {Path(form(place)) for place in places for form in (os.path.normpath, os.path.realpath)}


def _lower(path: Path | str) -> PurePosixPath:
    return PurePosixPath(str(path).lower())


def holds_protected(folder: Path, extra: Iterable[Path] = ()) -> bool:
    """Does the folder hold a protected path (or one of ``extra``)? The user's places
    and ``extra`` are checked exactly; the folder's content is looked through to
    ``_WALK_DEPTH`` levels and ``_WALK_ENTRIES`` entries (the project folder's own
    configuration is one level down)."""
    if not folder.is_dir():
        return False
    top = _lower(folder)
    user = _user_places()
    if any(_lower(a).is_relative_to(top) and os.path.lexists(a) for a in [*user, *extra]):
        return True
    places = {_lower(p) for p in user}
    queue = deque([(str(folder), 0)])
    seen = 0
    while queue and seen < _WALK_ENTRIES:
        current, depth = queue.popleft()
        try:
            entries = list(os.scandir(current))
        except OSError:
            continue
        for entry in entries:
            seen += 1
            if is_protected(Path(entry.path), places):
                return True
            if depth + 1 < _WALK_DEPTH and entry.is_dir(follow_symlinks=False):
                queue.append((entry.path, depth + 1))
    return False
