"""One git worktree per session or sub-agent, with real git (``git worktree``).

A worktree is made from the current checkout's ``HEAD`` on a new branch
``worktree-<name>`` (Claude Code's naming), in the folder ``placement`` chooses. What it
was made from is kept next to git's own record of it (``<git dir>/harness-worktree.json``)
so ``list``, ``merge`` and the end of a session can tell what changed since.

The rules: a worktree with no change (nothing uncommitted or untracked, no commit since
it was made) is removed at the end; one with changes is kept, and the user is told how
to merge or remove it. Outside a git repository, in one without a commit, or with
staged changes that the worktree would not have, ``create_worktree`` refuses.
"""

from __future__ import annotations

import json
import re
import secrets
import subprocess
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from harness_tui.core.errors import HarnessError
from harness_tui.core.worktrees.placement import DEFAULT_DIR, copy_included

BRANCH_PREFIX = "worktree-"
META_FILE = "harness-worktree.json"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_WORDS = (
    ("bright", "calm", "quick", "quiet", "bold", "brave", "keen", "swift"),
    ("fox", "owl", "lynx", "hare", "wren", "otter", "heron", "finch"),
)
GIT_TIMEOUT_S = 60
#: Parallel sub-agents make worktrees from threads at once: one at a time in a process
#: (the checks, ``git worktree add`` and the exclude file are one step).
_MAKING = threading.Lock()


class WorktreeError(HarnessError):
    """A worktree cannot be made, merged or removed; the message says why."""


@dataclass(frozen=True)
class Worktree:
    name: str
    path: Path
    branch: str
    #: The commit it was made from.
    base: str
    #: The checkout it was made from (where ``merge`` merges into).
    origin: Path


@dataclass(frozen=True)
class WorktreeStatus:
    #: ``git status --porcelain`` lines: uncommitted and untracked changes.
    changes: tuple[str, ...]
    #: Commits on its branch since it was made.
    commits: int

    @property
    def clean(self) -> bool:
        return not self.changes and self.commits == 0

    def summary(self) -> str:
        if self.clean:
            return "no changes"
        parts = []
        if self.changes:
            parts.append(f"{len(self.changes)} uncommitted change(s)")
        if self.commits:
            parts.append(f"{self.commits} commit(s)")
        return ", ".join(parts)


def git(cwd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run git in ``cwd``; ``WorktreeError`` when it is missing or (with ``check``) fails."""
    try:
        done = subprocess.run(
            ["git", *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT_S,
            stdin=subprocess.DEVNULL,
        )
    except FileNotFoundError:
        raise WorktreeError("git is not installed", "install git to use worktrees") from None
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise WorktreeError(f"git {args[0]} failed in {cwd}: {exc}") from None
    if check and done.returncode != 0:
        said = (done.stderr or done.stdout).strip().splitlines()
        raise WorktreeError(f"git {' '.join(args[:2])} failed in {cwd}: {' / '.join(said[-3:])}")
    return done


def repository_root(cwd: Path) -> Path:
    """The top of the checkout ``cwd`` is in; refuses outside a git repository."""
    if not cwd.is_dir():
        raise WorktreeError(f"{cwd} is not a folder")
    done = git(cwd, "rev-parse", "--show-toplevel", check=False)
    if done.returncode != 0 or not done.stdout.strip():
        raise WorktreeError(
            f"{cwd} is not in a git repository: a worktree needs one",
            "run `git init` and commit once, or start without --worktree",
        )
    return Path(done.stdout.strip()).resolve()


def main_root(cwd: Path) -> Path:
    """The top of the repository's main checkout (``cwd``'s own top in a bare one):
    worktrees made from inside a worktree go beside it, never inside it (removing one
    would take the other with it)."""
    root = repository_root(cwd)
    common = _common_dir(root)
    return common.parent.resolve() if common.name == ".git" else root


def create_worktree(
    cwd: Path,
    name: str | None = None,
    *,
    folder: Path | None = None,
    include: Sequence[str] = (),
) -> tuple[Worktree, list[str]]:
    """A new worktree of the repository ``cwd`` is in, on branch ``worktree-<name>``
    from ``HEAD``, in ``folder`` (default: ``.worktrees`` in the main checkout); the
    untracked files ``include`` matches copied into it. Returns it and the paths copied."""
    root = repository_root(cwd)
    name = name or _generated_name()
    if not _NAME.match(name) or name.endswith(".lock"):
        raise WorktreeError(
            f"{name!r} is not a usable worktree name",
            "use letters, digits, '-', '_' and '.' (at most 64)",
        )
    head = git(root, "rev-parse", "--verify", "--quiet", "HEAD^{commit}", check=False)
    if head.returncode != 0:
        raise WorktreeError(
            f"the repository at {root} has no commit yet: a worktree starts from one",
            "commit once (git add -A && git commit -m init), then start again",
        )
    if git(root, "diff", "--cached", "--quiet", check=False).returncode != 0:
        raise WorktreeError(
            f"{root} has staged changes that a new worktree (made from HEAD) would not have",
            "commit them or stash them (git stash), then start again",
        )
    with _MAKING:
        folder = folder or main_root(root) / DEFAULT_DIR
        worktree = _add(root, name, folder, head.stdout.strip())
    return worktree, copy_included(root, worktree.path, include)


def _add(root: Path, name: str, folder: Path, base: str) -> Worktree:
    path = folder / name
    branch = BRANCH_PREFIX + name
    if path.exists():
        raise WorktreeError(
            f"{path} already exists",
            f"choose another name, or remove it with `harness-tui worktree remove {name}`",
        )
    if git(root, "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}", check=False).stdout:
        raise WorktreeError(
            f"the branch {branch} already exists in {root}",
            f"choose another name, or delete the branch (git branch -D {branch})",
        )
    _exclude(root, folder)
    git(root, "worktree", "add", "-b", branch, str(path), base)
    worktree = Worktree(name, path.resolve(), branch, base, root)
    _write_meta(worktree)
    return worktree


def _generated_name() -> str:
    first, second = (words[secrets.randbelow(len(words))] for words in _WORDS)
    return f"{first}-{second}-{secrets.token_hex(2)}"


def _common_dir(cwd: Path) -> Path:
    done = git(cwd, "rev-parse", "--path-format=absolute", "--git-common-dir")
    return Path(done.stdout.strip())


def _exclude(root: Path, folder: Path) -> None:
    """Keep a worktree folder inside the repository out of its status (``info/exclude``:
    no tracked file changes)."""
    root = main_root(root)
    if not folder.resolve().is_relative_to(root):
        return
    line = "/" + folder.resolve().relative_to(root).as_posix() + "/"
    exclude = _common_dir(root) / "info" / "exclude"
    try:
        present = exclude.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        present = []
    if line in present:
        return
    exclude.parent.mkdir(parents=True, exist_ok=True)
    with exclude.open("a", encoding="utf-8") as handle:
        if present and present[-1] != "":
            handle.write("\n")
        handle.write(f"# harness-tui worktrees\n{line}\n")


def _meta_path(path: Path) -> Path:
    return Path(git(path, "rev-parse", "--absolute-git-dir").stdout.strip()) / META_FILE


def _write_meta(worktree: Worktree) -> None:
    data = {"name": worktree.name, "base": worktree.base, "origin": str(worktree.origin)}
    _meta_path(worktree.path).write_text(json.dumps(data), encoding="utf-8")


def _read_meta(path: Path, branch: str) -> Worktree | None:
    try:
        data = json.loads(_meta_path(path).read_text(encoding="utf-8"))
        return Worktree(data["name"], path, branch, data["base"], Path(data["origin"]))
    except (OSError, ValueError, KeyError, TypeError, WorktreeError):
        return None  # not one of ours, or its record is unreadable


def list_worktrees(cwd: Path) -> list[Worktree]:
    """The worktrees harness-tui made in the repository ``cwd`` is in."""
    root = repository_root(cwd)
    listed = git(root, "worktree", "list", "--porcelain").stdout
    found = []
    for block in listed.strip().split("\n\n"):
        fields = dict(line.partition(" ")[::2] for line in block.splitlines())
        branch = fields.get("branch", "").removeprefix("refs/heads/")
        path = Path(fields.get("worktree", ""))
        if branch.startswith(BRANCH_PREFIX) and path.is_dir():
            worktree = _read_meta(path.resolve(), branch)
            if worktree is not None:
                found.append(worktree)
    return found


def find_worktree(cwd: Path, name: str) -> Worktree:
    """The worktree called ``name`` (or at that path); refuses naming those there are."""
    worktrees = list_worktrees(cwd)
    for worktree in worktrees:
        if name in (worktree.name, worktree.branch) or Path(name).resolve() == worktree.path:
            return worktree
    known = ", ".join(w.name for w in worktrees) or "none"
    raise WorktreeError(
        f"no harness-tui worktree {name!r} in this repository (there are: {known})",
        "see them with `harness-tui worktree list`",
    )


def worktree_status(worktree: Worktree) -> WorktreeStatus:
    done = git(worktree.path, "status", "--porcelain=v1", "--untracked-files=all")
    counted = git(worktree.path, "rev-list", "--count", f"{worktree.base}..HEAD", check=False)
    commits = int(counted.stdout.strip() or 0) if counted.returncode == 0 else 0
    return WorktreeStatus(tuple(done.stdout.splitlines()), commits)


def remove_worktree(worktree: Worktree, *, force: bool = False) -> None:
    """Remove the worktree and its branch; refuses one with changes unless ``force``."""
    if not force:
        status = worktree_status(worktree)
        if not status.clean:
            raise WorktreeError(
                f"the worktree {worktree.name} ({worktree.path}) has {status.summary()}",
                f"merge it with `harness-tui worktree merge {worktree.name}`, or drop "
                f"them with `harness-tui worktree remove {worktree.name} --force`",
            )
    git(worktree.origin, "worktree", "remove", "--force", str(worktree.path))
    git(worktree.origin, "branch", "-D", worktree.branch, check=False)
    git(worktree.origin, "worktree", "prune", check=False)


def merge_worktree(worktree: Worktree) -> str:
    """Merge the worktree's commits into the checkout it was made from (``git merge
    --no-ff``), then remove it. Refuses uncommitted changes in the worktree, and staged
    changes in the checkout (the merge would mix them in). What was done, as a line."""
    status = worktree_status(worktree)
    if status.changes:
        raise WorktreeError(
            f"the worktree {worktree.name} has {len(status.changes)} uncommitted "
            "change(s): only commits are merged",
            f"commit them in {worktree.path} (git add -A && git commit), or drop them "
            f"with `harness-tui worktree remove {worktree.name} --force`",
        )
    origin = worktree.origin
    if status.commits == 0:
        remove_worktree(worktree)
        return f"{worktree.branch} had no commits: nothing to merge; the worktree is removed"
    if git(origin, "diff", "--cached", "--quiet", check=False).returncode != 0:
        raise WorktreeError(
            f"{origin} has staged changes that a merge would mix in",
            "commit or stash them (git stash), then merge again",
        )
    done = git(
        origin, "merge", "--no-ff", "-m", f"Merge {worktree.branch}", worktree.branch, check=False
    )
    if done.returncode != 0:
        said = (done.stdout + done.stderr).strip().splitlines()
        raise WorktreeError(
            f"git merge {worktree.branch} stopped in {origin}: {' / '.join(said[-3:])}",
            "resolve the conflicts and commit (or `git merge --abort`); the worktree is kept",
        )
    remove_worktree(worktree, force=True)
    return f"merged {worktree.branch} ({status.commits} commit(s)) into {origin}; removed it"


def finish_worktree(worktree: Worktree) -> tuple[bool, str]:
    """The end of a session or sub-agent in ``worktree``: removed when it has no change,
    else kept. Whether it was kept, and what to tell the user."""
    try:
        status = worktree_status(worktree)
        if status.clean:
            remove_worktree(worktree)
            return False, f"the worktree {worktree.name} had no changes: removed"
    except WorktreeError as exc:
        return True, f"the worktree {worktree.path} is kept: {exc}"
    return True, kept_message(worktree, status)


def kept_message(worktree: Worktree, status: WorktreeStatus) -> str:
    commit = f"commit in {worktree.path}, then " if status.changes else ""  # only commits merge
    return (
        f"the worktree {worktree.path} (branch {worktree.branch}) has {status.summary()}: "
        f"kept. To merge: {commit}`harness-tui worktree merge {worktree.name}`; to "
        f"drop it: `harness-tui worktree remove {worktree.name} --force`"
    )
