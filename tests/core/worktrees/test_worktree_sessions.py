"""Sessions and sub-agents in worktrees, with scripted models and real git: a ``Task``
with ``isolation: worktree`` (or an agent defined so) edits its own copy and reports its
branch; the keep/remove rule at their end; ``WorktreeCreate``/``WorktreeRemove`` hooks
get Claude Code's input fields."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import anyio

from harness_tui.core.config import paths
from harness_tui.core.events import Event
from harness_tui.core.extensions.agents import discover_agents
from harness_tui.core.providers.offline.scripted import Text, ToolCall, Wait, reply
from harness_tui.core.tools import builtin_tools
from harness_tui.core.worktrees.git_worktrees import list_worktrees
from harness_tui.core.worktrees.lifecycle import WorktreeUse, make_worktree
from tests.core.hooks.claude_code_inputs import check_input
from tests.core.hooks.hook_support import HookServer
from tests.core.run.test_subagents import Router, agent_file, session_with
from tests.helpers import run_to_end, wait_for
from tests.worktree_support import git

WRITE_SUB = ToolCall("Write", {"file_path": "app.py", "content": "print('sub')\n"}, id="w1")


def _task(
    isolation: str | None = None,
    agent: str = "general-purpose",
    prompt: str = "sub job",
    call_id: str = "task_1",
) -> ToolCall:
    input: dict[str, Any] = {"description": "a job", "prompt": prompt, "subagent_type": agent}
    if isolation:
        input["isolation"] = isolation
    return ToolCall("Task", input, id=call_id)


def _task_done(events: list[Event]) -> Any:
    return next(e for e in events if e.type == "TOOL_CALL_COMPLETED" and e.tool_name == "Task")


#: A command hook that notes whether the worktree it is told of still exists.
SEEN = (
    "import json, os, sys; path = json.load(sys.stdin)['worktree_path']; "
    "open(sys.argv[1], 'a').write(str(os.path.isdir(path)) + chr(10))"
)


def _user_hooks(url: str, *events: str, seen: Path | None = None) -> None:
    """HTTP hooks in the user's settings (a project file would be a change in the
    worktree, and keep it); with ``seen``, a command hook on WorktreeRemove too."""
    hooks: dict[str, Any] = {
        event: [{"hooks": [{"type": "http", "url": f"{url}/{event}"}]}] for event in events
    }
    if seen is not None:
        command = f'"{sys.executable}" -c "{SEEN}" "{seen}"'
        hooks["WorktreeRemove"][0]["hooks"].append({"type": "command", "command": command})
    path = paths.config_dir() / "settings.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"hooks": hooks}))


async def test_a_task_with_isolation_worktree_edits_its_own_copy_and_names_its_branch(
    git_repo: Path,
) -> None:
    router = Router(
        {
            "user task": [reply(_task("worktree")), reply(Text("merged later"))],
            "sub job": [reply(WRITE_SUB), reply(Text("sub done"))],
        }
    )
    session = session_with(router, git_repo, tools=builtin_tools(), mode="bypassPermissions")
    async with session:
        events = await run_to_end(session, "user task")
    done = _task_done(events)
    branch = done.details["worktree_branch"]
    path = Path(done.details["worktree_path"])
    assert branch.startswith("worktree-general-purpose-") and done.details["worktree_kept"]
    assert f"on branch {branch}" in done.content and "sub done" in done.content
    assert "`harness-tui worktree merge general-purpose-" in done.content
    assert (path / "app.py").read_text() == "print('sub')\n"
    assert (git_repo / "app.py").read_text() == "print('v1')\n"  # the parent's copy
    assert git(path, "branch", "--show-current").strip() == branch
    [kept] = list_worktrees(git_repo)
    assert kept.path == path
    # The sub-agent's system prompt and tools were in the worktree.
    [first, _] = router.requests["sub job"]
    assert str(path) in first.system


async def test_two_isolated_tasks_at_once_write_the_same_file_in_their_own_copies(
    git_repo: Path,
) -> None:
    def work(text: str, call: str) -> list[Any]:
        write = ToolCall("Write", {"file_path": "app.py", "content": text}, id=f"w_{call}")
        return [reply(write, ToolCall("Bash", {"command": "pwd"}, id=f"pwd_{call}")), reply()]

    router = Router(
        {
            "user task": [
                reply(
                    _task("worktree", prompt="job A", call_id="a"),
                    _task("worktree", prompt="job B", call_id="b"),
                ),
                reply(Text("both done")),
            ],
            "job A": work("A\n", "a"),
            "job B": work("B\n", "b"),
        }
    )
    session = session_with(router, git_repo, tools=builtin_tools(), mode="bypassPermissions")
    async with session:
        events = await run_to_end(session, "user task")
    done = {
        e.tool_call_id: e
        for e in events
        if e.type == "TOOL_CALL_COMPLETED" and e.tool_name == "Task"
    }
    paths = {call: Path(done[call].details["worktree_path"]) for call in ("a", "b")}
    assert paths["a"] != paths["b"]
    assert [(paths[c] / "app.py").read_text() for c in ("a", "b")] == ["A\n", "B\n"]
    assert (git_repo / "app.py").read_text() == "print('v1')\n"
    for call in ("a", "b"):  # each Bash started in its own worktree
        pwd = next(
            e for e in events if e.type == "TOOL_CALL_COMPLETED" and e.tool_call_id == f"pwd_{call}"
        )
        assert pwd.content.strip() == str(paths[call])
    assert {w.path for w in list_worktrees(git_repo)} == set(paths.values())


async def test_a_task_that_changes_nothing_leaves_no_worktree(git_repo: Path) -> None:
    router = Router(
        {
            "user task": [reply(_task("worktree")), reply(Text("fine"))],
            "sub job": [reply(Text("nothing to change"))],
        }
    )
    session = session_with(router, git_repo, tools=builtin_tools(), mode="bypassPermissions")
    async with session:
        events = await run_to_end(session, "user task")
    done = _task_done(events)
    assert done.details["worktree_kept"] is False
    assert "had no changes: removed" in done.content
    assert list_worktrees(git_repo) == []
    assert git(git_repo, "branch", "--list", "worktree-*") == ""


async def test_an_agent_defined_with_isolation_worktree_gets_one(git_repo: Path) -> None:
    agent_file(
        git_repo, ".harness", "iso", "Edit files.", description="edits", isolation="worktree"
    )
    router = Router(
        {
            "user task": [reply(_task(agent="iso")), reply(Text("ok"))],
            "sub job": [reply(WRITE_SUB), reply(Text("edited"))],
        }
    )
    session = session_with(router, git_repo, tools=builtin_tools(), mode="bypassPermissions")
    async with session:
        events = await run_to_end(session, "user task")
    done = _task_done(events)
    assert done.details["worktree_branch"].startswith("worktree-iso-")
    assert (git_repo / "app.py").read_text() == "print('v1')\n"


async def test_outside_a_repository_the_task_says_why_it_cannot_start(tmp_path: Path) -> None:
    router = Router({"user task": [reply(_task("worktree")), reply(Text("ok"))]})
    session = session_with(router, tmp_path, tools=builtin_tools(), mode="bypassPermissions")
    async with session:
        events = await run_to_end(session, "user task")
    failed = next(e for e in events if e.type == "TOOL_CALL_FAILED")
    assert "cannot start in a worktree" in failed.error
    assert "is not in a git repository" in failed.error
    assert router.requests.get("sub job") is None


async def test_a_session_in_a_worktree_fires_its_hooks_and_keeps_or_removes_it(
    git_repo: Path,
) -> None:
    with HookServer() as server:
        seen = git_repo.parent / "seen.txt"
        _user_hooks(server.url, "WorktreeCreate", "WorktreeRemove", seen=seen)
        uses = [WorktreeUse(*make_worktree(git_repo, name, None)) for name in ("a", "b")]
        for use, write in zip(uses, (False, True), strict=True):
            script = [reply(WRITE_SUB if write else Text("nothing")), reply(Text("done"))]
            router = Router({"go": script[: 2 if write else 1]})
            session = session_with(
                router,
                use.worktree.path,
                tools=builtin_tools(),
                mode="bypassPermissions",
                worktree=use,
            )
            async with session:
                events = await run_to_end(session, "go")
            notices = [e.message for e in session.store.replay(0) if e.type == "NOTICE"]
            assert use.message in notices
        created, removed = server.inputs("WorktreeCreate"), server.inputs("WorktreeRemove")
    assert [d["name"] for d in created] == ["a", "b"]
    assert [d["worktree_path"] for d in removed] == [str(uses[0].worktree.path)]
    assert seen.read_text() == "True\n"  # the hook ran before it was removed
    for event, inputs in (("WorktreeCreate", created), ("WorktreeRemove", removed)):
        for data in inputs:
            assert check_input(event, data) == []
    assert (uses[0].kept, uses[1].kept) == (False, True)
    assert not uses[0].worktree.path.exists()
    assert (uses[1].worktree.path / "app.py").read_text() == "print('sub')\n"
    assert "harness-tui worktree merge b" in uses[1].message
    assert events  # the second session ran


def test_an_unknown_isolation_names_the_file_and_field(tmp_path: Path) -> None:
    agent_file(tmp_path, ".harness", "odd", "Body.", description="d", isolation="docker")
    found = discover_agents(tmp_path, folders=[tmp_path / ".harness" / "agents"])
    assert "odd" not in found.agents
    [problem] = found.problems
    assert "odd.md: line 4: isolation: 'docker' is not known (use 'worktree'" in problem


async def test_a_cancelled_isolated_task_ends_its_worktree_by_the_same_rule(
    git_repo: Path,
) -> None:
    never, reached = anyio.Event(), anyio.Event()
    router = Router(
        {
            "user task": [reply(_task("worktree"))],
            "sub job": [reply(WRITE_SUB), reply(Wait(never, reached))],
        }
    )
    session = session_with(router, git_repo, tools=builtin_tools(), mode="bypassPermissions")
    async with session:
        await session.submit("user task")
        with anyio.fail_after(10):
            await reached.wait()
        [inside] = list_worktrees(git_repo)
        await session.cancel()
        await wait_for(session.store, lambda e: e.type == "RUN_CANCELLED")
        notices = [e.message for e in session.store.replay(0) if e.type == "NOTICE"]
    assert any("has 1 uncommitted change(s): kept" in n for n in notices)
    assert (inside.path / "app.py").read_text() == "print('sub')\n"  # its work is not lost
