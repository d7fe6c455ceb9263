"""The permission engine in a session: questions and their answers, protected files,
rules from settings, and bad settings reported without stopping the session."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from harness_tui.core.providers.models import ModelChoice
from harness_tui.core.providers.offline.scripted import ScriptedProvider, Text, ToolCall, reply
from harness_tui.core.session.session import Session
from tests.helpers import run_to_end, types, wait_for


def session_in(
    folder: Path, *replies, mode: str = "default", **options
) -> tuple[Session, ScriptedProvider]:
    provider = ScriptedProvider(list(replies))
    model = ModelChoice("scripted", "scripted", lambda: provider)
    return Session(model=model, cwd=folder, mode=mode, trusted=True, **options), provider


@pytest.mark.parametrize("mode", ["default", "acceptEdits"])
@pytest.mark.parametrize(
    ("tool", "input"),
    [
        (
            "Write",
            {
                "file_path": ".claude/settings.json",
                "content": '{"permissions": {"allow": ["Bash"]}}',
            },
        ),
        ("Edit", {"file_path": ".mcp.json", "old_string": "", "new_string": '{"mcpServers": {}}'}),
        (
            "Write",
            {"file_path": ".harness/settings.yaml", "content": "permissions: {allow: [Bash]}"},
        ),
    ],
    ids=["claude-settings", "mcp-json", "harness-settings"],
)
async def test_the_agent_cannot_write_configuration_without_a_question(
    tmp_path: Path, mode: str, tool: str, input: dict
) -> None:
    (tmp_path / ".harness").mkdir(exist_ok=True)
    (tmp_path / ".harness" / "settings.local.yaml").write_text(
        "permissions: {allow: ['Edit(./**)']}\n"
    )
    target = tmp_path / input["file_path"]
    assert not target.exists()
    session, provider = session_in(
        tmp_path, reply(ToolCall(tool, input)), reply(Text("ok")), mode=mode
    )
    async with session:
        run_id = await session.submit("loosen the rules")
        asked = await wait_for(session.store, lambda e: e.type == "PERMISSION_REQUESTED")
        assert "is protected: writing it always asks" in asked.reason
        assert asked.preview and "+++ b/" in asked.preview
        await session.resolve_permission(asked.request_id, "deny", "leave my settings alone")
        await wait_for(session.store, lambda e: e.type == "RUN_COMPLETED")
    assert not target.exists()
    events = [e for e in session.store.replay(0) if e.run_id == run_id]
    failed = next(e for e in events if e.type == "TOOL_CALL_FAILED")
    assert failed.kind == "denied" and "leave my settings alone" in failed.error
    assert "leave my settings alone" in provider.requests[1].messages[-1].content


async def test_allow_for_the_session_and_always_allow(tmp_path: Path) -> None:
    call = ToolCall("Bash", {"command": "echo hi && echo there"})
    session, _ = session_in(tmp_path, reply(call), reply(call), reply(Text("ok")))
    async with session:
        run_id = await session.submit("go")
        asked = await wait_for(session.store, lambda e: e.type == "PERMISSION_REQUESTED")
        assert asked.rule == "Bash(echo hi), Bash(echo there)"
        assert asked.preview == "$ echo hi && echo there"
        await session.resolve_permission(asked.request_id, "allow_session")
        await wait_for(session.store, lambda e: e.type == "RUN_COMPLETED")
    events = [e for e in session.store.replay(0) if e.run_id == run_id]
    assert types(events).count("PERMISSION_REQUESTED") == 1  # the second call was allowed
    assert types(events).count("TOOL_CALL_COMPLETED") == 2
    assert not (tmp_path / ".harness" / "settings.local.yaml").exists()

    session, _ = session_in(
        tmp_path, reply(ToolCall("Bash", {"command": "echo hi"})), reply(Text("ok"))
    )
    async with session:
        await session.submit("go")
        asked = await wait_for(session.store, lambda e: e.type == "PERMISSION_REQUESTED")
        await session.resolve_permission(asked.request_id, "allow_always")
        await wait_for(session.store, lambda e: e.type == "RUN_COMPLETED")
    saved = yaml.safe_load((tmp_path / ".harness" / "settings.local.yaml").read_text())
    assert saved == {"permissions": {"allow": ["Bash(echo hi)"]}}

    session, _ = session_in(
        tmp_path, reply(ToolCall("Bash", {"command": "echo hi"})), reply(Text("ok"))
    )
    async with session:
        events = await run_to_end(session, "go")
    assert "PERMISSION_REQUESTED" not in types(events)


async def test_allow_for_the_session_covers_a_write_outside_the_workspace(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The grant names the outside file as well as the command, so the same call is not
    asked about again (a Bash rule alone cannot let a write outside through)."""
    outside = tmp_path_factory.mktemp("outside") / "log.txt"
    call = ToolCall("Bash", {"command": f"echo hi >> {outside}"})
    session, _ = session_in(tmp_path, reply(call), reply(call), reply(Text("ok")))
    async with session:
        run_id = await session.submit("go")
        asked = await wait_for(session.store, lambda e: e.type == "PERMISSION_REQUESTED")
        assert asked.rule == f"Bash(echo hi), Edit(/{outside})"
        await session.resolve_permission(asked.request_id, "allow_session")
        await wait_for(session.store, lambda e: e.type == "RUN_COMPLETED")
    events = [e for e in session.store.replay(0) if e.run_id == run_id]
    assert types(events).count("PERMISSION_REQUESTED") == 1
    assert outside.read_text() == "hi\nhi\n"


async def test_rules_from_claude_settings_apply_and_a_bare_deny_hides_the_tool(
    tmp_path: Path,
) -> None:
    (tmp_path / ".claude").mkdir()
    (tmp_path / ".claude" / "settings.json").write_text(
        json.dumps(
            {"permissions": {"allow": ["Bash(echo:*)"], "deny": ["WebFetch", "Read(./.env)"]}}
        )
    )
    (tmp_path / ".env").write_text("KEY=secret\n")
    session, provider = session_in(
        tmp_path,
        reply(
            ToolCall("Bash", {"command": "echo allowed"}), ToolCall("Read", {"file_path": ".env"})
        ),
        reply(Text("ok")),
    )
    async with session:
        events = await run_to_end(session, "go")
    assert "PERMISSION_REQUESTED" not in types(events)
    offered = [spec.name for spec in provider.requests[0].tools]
    assert "WebFetch" not in offered and {"Read", "Write", "Edit", "Bash", "Glob", "Grep"} <= set(
        offered
    )
    failed = next(e for e in events if e.type == "TOOL_CALL_FAILED")
    assert failed.tool_name == "Read" and "Read(./.env)" in failed.error
    assert "secret" not in str(provider.requests[1].messages)


@pytest.mark.parametrize("backend", ["python", "rg"])
async def test_read_deny_rules_hide_files_from_grep_and_glob(
    tmp_path: Path, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A deny on Read must not leak through the search tools: Grep does not show the
    lines of a denied file and Glob does not list it; other files are found as before."""
    if backend == "python":
        monkeypatch.setenv("HARNESS_NO_RIPGREP", "1")
    elif shutil.which("rg") is None:
        pytest.skip("rg is not installed")
    else:
        monkeypatch.delenv("HARNESS_NO_RIPGREP", raising=False)
    (tmp_path / ".claude").mkdir()
    (tmp_path / ".claude" / "settings.json").write_text(
        json.dumps({"permissions": {"deny": ["Read(./.env)", "Read(./keys/**)"]}})
    )
    (tmp_path / ".env").write_text("TOKEN=hunter2\n")
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "id.txt").write_text("TOKEN=hunter3\n")
    (tmp_path / "app.py").write_text("TOKEN = os.environ['TOKEN']\n")
    session, provider = session_in(
        tmp_path,
        reply(
            ToolCall("Grep", {"pattern": "TOKEN", "output_mode": "content", "-i": True}),
            ToolCall("Grep", {"pattern": "TOKEN"}),
            ToolCall("Glob", {"pattern": "**/*"}),
            ToolCall("Grep", {"pattern": "TOKEN", "path": "keys"}),
        ),
        reply(Text("ok")),
    )
    async with session:
        events = await run_to_end(session, "go")
    done = {e.tool_call_id: e.content for e in events if e.type == "TOOL_CALL_COMPLETED"}
    calls = [e.tool_call_id for e in events if e.type == "TOOL_CALL_STARTED"]
    content, files, listed = (done[call] for call in calls[:3])
    assert "app.py:1:TOKEN" in content and "hunter" not in content
    assert files.strip() == "app.py"
    assert "app.py" in listed and ".env" not in listed and "id.txt" not in listed
    # Searching the denied folder itself is refused by the rule, like a Read.
    failed = next(e for e in events if e.type == "TOOL_CALL_FAILED")
    assert failed.tool_name == "Grep" and "Read(./keys/**)" in failed.error
    assert "hunter" not in str(provider.requests[1].messages)


async def test_bad_settings_and_invalid_rules_are_named_and_the_session_starts(
    tmp_path: Path,
) -> None:
    (tmp_path / ".claude").mkdir()
    (tmp_path / ".claude" / "settings.json").write_text('{"permissions": {"allow": ["Bash(ls"]')
    (tmp_path / ".harness").mkdir()
    (tmp_path / ".harness" / "settings.yaml").write_text(
        "permissions:\n  allow: ['Bash(git status:*)', 'Bash()']\n  deny: Read\n"
        "  additionalDirectories: [42]\n"
    )
    session, _ = session_in(tmp_path, reply(Text("still here")))
    async with session:
        events = await run_to_end(session, "go")
    notices = [e.message for e in session.store.replay(0) if e.type == "NOTICE"]
    claude = session.cwd / ".claude" / "settings.json"
    ours = session.cwd / ".harness" / "settings.yaml"
    assert any(n.startswith(f"{claude}: line 1") for n in notices)
    assert (
        f"{ours}: permissions.allow[1]: invalid rule 'Bash()': empty parentheses; "
        "write just 'Bash' to match every use; ignored" in notices
    )
    assert f"{ours}: permissions.deny: must be a list of rules; ignored" in notices
    assert f"{ours}: permissions.additionalDirectories[0]: not a folder path; ignored" in notices
    assert events[-1].type == "RUN_COMPLETED" and events[-1].result == "still here"
    assert [str(r) for r in session.permission_engine.ruleset.rules] == ["Bash(git status:*)"]
