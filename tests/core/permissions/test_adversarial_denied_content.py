"""A file a ``Read`` deny rule covers reveals nothing, through any tool.

The rule: a path covered by a ``Read`` deny rule is denied for every tool that would
read or reveal its content. The editing tools (Edit, Write) get one refusal, the same
whatever the file holds and whether it exists, before the file is opened; no diff or
preview of its old content is ever built, so none reaches an event, the model or the
session file. Each case runs a real session on the scripted model and compares what the
model is told for a call that would match the secret and one that would not."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness_tui.core.providers.offline.scripted import Text, ToolCall, reply
from harness_tui.core.storage.saved import session_path
from tests.helpers import run_to_end, scripted_in
from tests.permission_support import A, D, Q, decide, make_places

SECRET = "hunter2-SECRET-7f3a"  # what the model guesses
#: Never in any call: it would appear only if the file's content leaked.
UNSEEN = "zeta-PRIVATE-91c"
RULES = {"permissions": {"deny": ["Read(.env)", "Read(./secrets/**)"]}}


def edit(path: str, old: str, **extra: Any) -> dict[str, Any]:
    return {"file_path": path, "old_string": old, "new_string": "changed", **extra}


# (id, call when the guess is right / the file exists, call when it is not)
PAIRS: list[tuple[str, tuple[str, dict[str, Any]], tuple[str, dict[str, Any]]]] = [
    ("edit-guess", ("Edit", edit(".env", SECRET)), ("Edit", edit(".env", "not-in-it"))),
    ("edit-prefix", ("Edit", edit(".env", "TOKEN=h")), ("Edit", edit(".env", "TOKEN=x"))),
    ("edit-whitespace", ("Edit", edit(".env", f" {SECRET} ")), ("Edit", edit(".env", " z "))),
    (
        "edit-replace-all",
        ("Edit", edit(".env", "E", replace_all=True)),
        ("Edit", edit(".env", "Q", replace_all=True)),
    ),
    (
        "edit-count",
        (
            "Edit",
            edit(".env", "="),
        ),
        ("Edit", edit(".env", "#")),
    ),
    ("edit-empty-old", ("Edit", edit(".env", "")), ("Edit", edit("sub/.env", ""))),
    ("edit-exists", ("Edit", edit(".env", "x")), ("Edit", edit("sub/.env", "x"))),
    ("edit-symlink", ("Edit", edit("envlink", SECRET)), ("Edit", edit("envlink", "nope"))),
    ("edit-dotdot", ("Edit", edit("sub/../.env", SECRET)), ("Edit", edit("sub/../.env", "no"))),
    ("edit-absolute", ("Edit", edit("{w}/.env", SECRET)), ("Edit", edit("{w}/.env", "no"))),
    (
        "edit-folder-rule",
        ("Edit", edit("secrets/key.txt", SECRET)),
        ("Edit", edit("secrets/key.txt", "no")),
    ),
    (
        "edit-folder-rule-exists",
        ("Edit", edit("secrets/key.txt", "k")),
        ("Edit", edit("secrets/none.txt", "k")),
    ),
    (
        "write-exists",
        ("Write", {"file_path": ".env", "content": "x"}),
        ("Write", {"file_path": "sub/.env", "content": "x"}),
    ),
    (
        "write-symlink",
        ("Write", {"file_path": "envlink", "content": "x"}),
        ("Write", {"file_path": "sub/.env", "content": "x"}),
    ),
    (
        "write-folder-rule",
        ("Write", {"file_path": "secrets/key.txt", "content": "x"}),
        ("Write", {"file_path": "secrets/none.txt", "content": "x"}),
    ),
    (
        "read-exists",
        ("Read", {"file_path": ".env"}),
        ("Read", {"file_path": "sub/.env"}),
    ),
]
MODES = ["default", "acceptEdits", "bypassPermissions"]


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    w = tmp_path.resolve() / "w"
    (w / ".claude").mkdir(parents=True)
    (w / ".claude" / "settings.json").write_text(json.dumps(RULES))
    (w / ".env").write_text(f"TOKEN={SECRET}\nOTHER={UNSEEN}\n")
    (w / "sub").mkdir()
    (w / "secrets").mkdir()
    (w / "secrets" / "key.txt").write_text(f"key {SECRET} {UNSEEN}\n")
    (w / "envlink").symlink_to(w / ".env")
    return w


async def answer_to(workspace: Path, mode: str, tool: str, input: dict[str, Any]) -> str:
    """Run one call in a real session; what the model is told. Also asserts that the
    file's content reached no event, no request to the model and no line of the session
    file, and that the file is unchanged."""
    before = {p: p.read_bytes() for p in (workspace / ".env", workspace / "secrets" / "key.txt")}
    input = {
        k: v.replace("{w}", str(workspace)) if isinstance(v, str) else v for k, v in input.items()
    }
    session, provider = scripted_in(
        workspace,
        [reply(ToolCall(tool, input)), reply(Text("ok"))],
        mode=mode,
        ask_policy="deny",
        trusted=True,
    )
    async with session:
        events = await run_to_end(session, "go")
    for event in session.store.replay(0):
        assert UNSEEN not in event.model_dump_json(), event.type
    assert UNSEEN not in session_path(session.id).read_text()
    assert UNSEEN not in str(provider.requests)
    assert not any(e.type == "PERMISSION_REQUESTED" for e in events)
    assert {p: p.read_bytes() for p in before} == before
    failed = [e for e in events if e.type == "TOOL_CALL_FAILED"]
    assert len(failed) == 1 and failed[0].kind == "denied", [e.type for e in events]
    told = provider.requests[1].messages[-1].content
    return str(told)


def test_the_table_is_big_enough() -> None:
    assert len(PAIRS) * len(MODES) >= 45


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("hit", "miss"), [p[1:] for p in PAIRS], ids=[p[0] for p in PAIRS])
async def test_a_denied_file_answers_the_same_whatever_it_holds(
    workspace: Path, mode: str, hit: tuple[str, dict[str, Any]], miss: tuple[str, dict[str, Any]]
) -> None:
    first = await answer_to(workspace, mode, *hit)
    second = await answer_to(workspace, mode, *miss)
    assert first == second
    assert "denies this" in first


@pytest.mark.parametrize("prompt", ["look at @.env", "look at @envlink", "see @secrets/key.txt"])
async def test_mentions_of_a_denied_file_attach_nothing(workspace: Path, prompt: str) -> None:
    session, provider = scripted_in(workspace, [reply(Text("ok"))], trusted=True)
    async with session:
        await run_to_end(session, prompt)
    assert UNSEEN not in str(provider.requests)
    for event in session.store.replay(0):
        assert UNSEEN not in event.model_dump_json()


@pytest.mark.parametrize(
    ("tool", "input"),
    [
        ("Grep", {"pattern": "hunter2", "path": "."}),
        ("Grep", {"pattern": "TOKEN", "output_mode": "content"}),
        ("Glob", {"pattern": "**/*.txt"}),
    ],
)
async def test_the_search_tools_reveal_nothing(
    workspace: Path, tool: str, input: dict[str, Any]
) -> None:
    session, provider = scripted_in(
        workspace, [reply(ToolCall(tool, input)), reply(Text("ok"))], trusted=True
    )
    async with session:
        await run_to_end(session, "go")
    assert UNSEEN not in str(provider.requests)
    assert "key.txt" not in str(provider.requests[1].messages[-1].content)


@pytest.mark.parametrize(
    ("rules", "tool", "input", "expected"),
    [
        ({D: ["Read(./a.txt)"], A: ["Edit"]}, "Edit", edit("a.txt", "a"), D),
        ({D: ["Read(./a.txt)"], A: ["Write"]}, "Write", {"file_path": "a.txt", "content": ""}, D),
        ({Q: ["Read(./a.txt)"], A: ["Edit"]}, "Edit", edit("a.txt", "a"), Q),
        ({D: ["Read(./a.txt)"]}, "Bash", {"command": "echo x >> a.txt"}, Q),  # no reveal
    ],
    ids=["deny-edit", "deny-write", "ask-edit", "bash-append"],
)
def test_read_rules_and_the_editing_tools(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    rules: dict[str, list[str]],
    tool: str,
    input: dict[str, Any],
    expected: str,
) -> None:
    places = make_places(tmp_path, monkeypatch)
    assert decide(places, rules, tool, input, "acceptEdits").behavior == expected
