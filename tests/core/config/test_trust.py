"""Workspace trust: an untrusted folder's settings and hooks do nothing until trusted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness_tui.core.config.trust import TrustStore
from harness_tui.core.errors import HarnessError
from harness_tui.core.providers.models import ModelChoice
from harness_tui.core.providers.offline.scripted import ScriptedProvider, Text, ToolCall, reply
from harness_tui.core.session.session import Session
from tests.helpers import run_to_end, types, wait_for


def project_with_start_hook(folder: Path) -> Path:
    """A folder whose settings define a hook that would create a file."""
    (folder / ".claude").mkdir()
    hook = {"type": "command", "command": 'touch "$CLAUDE_PROJECT_DIR/created-by-hook"'}
    (folder / ".claude" / "settings.json").write_text(
        json.dumps({"hooks": {"SessionStart": [{"hooks": [hook]}]}})
    )
    return folder / "created-by-hook"


def scripted(*replies) -> ModelChoice:
    provider = ScriptedProvider(list(replies))
    return ModelChoice("scripted", "scripted", lambda: provider)


async def test_an_untrusted_folders_hook_does_not_run_until_trusted(tmp_path: Path) -> None:
    marker = project_with_start_hook(tmp_path)
    async with Session(model=scripted(), cwd=tmp_path) as session:
        asked = await wait_for(session.store, lambda e: e.type == "TRUST_REQUESTED")
        assert asked.found == (".claude/settings.json",)
    assert not marker.exists()
    assert "HOOK_EXECUTED" not in types(session.store.replay(0))

    TrustStore().trust(tmp_path)
    async with Session(model=scripted(), cwd=tmp_path) as session:
        pass
    assert marker.exists()
    assert "TRUST_REQUESTED" not in types(session.store.replay(0))


async def test_answering_the_trust_question_applies_the_project_at_once(tmp_path: Path) -> None:
    marker = project_with_start_hook(tmp_path)
    (tmp_path / ".harness").mkdir()
    (tmp_path / ".harness" / "settings.yaml").write_text("permissions: {allow: [Bash]}\n")
    session = Session(model=scripted(reply(Text("hi"))), cwd=tmp_path)
    async with session:
        bash = session.executor.tools["Bash"]
        engine = session.permission_engine
        assert engine.decide(bash, {"command": "true"}, "default").behavior == "ask"
        await session.resolve_trust(True)
        assert marker.exists()
        assert engine.decide(bash, {"command": "true"}, "default").behavior == "allow"
        with pytest.raises(HarnessError, match="no open trust question"):
            await session.resolve_trust(True)
        await run_to_end(session, "go")
    resolved = next(e for e in session.store.replay(0) if e.type == "TRUST_RESOLVED")
    assert resolved.trusted and resolved.remembered
    assert TrustStore().is_trusted(tmp_path / "any" / "subfolder")


async def test_declining_trust_keeps_the_project_out(tmp_path: Path) -> None:
    marker = project_with_start_hook(tmp_path)
    async with Session(model=scripted(), cwd=tmp_path) as session:
        await session.resolve_trust(False)
    assert not marker.exists() and not TrustStore().is_trusted(tmp_path)


async def test_without_anyone_to_ask_an_untrusted_folder_gets_a_notice(tmp_path: Path) -> None:
    project_with_start_hook(tmp_path)
    (tmp_path / ".harness").mkdir()
    (tmp_path / ".harness" / "settings.yaml").write_text("permissions: {allow: [Bash]}\n")
    session = Session(
        model=scripted(reply(ToolCall("Bash", {"command": "true"})), reply(Text("ok"))),
        cwd=tmp_path,
        ask_policy="deny",
    )
    async with session:
        events = await run_to_end(session, "go")
    notices = [e.message for e in session.store.replay(0) if e.type == "NOTICE"]
    assert any("not trusted" in n and "--trust" in n for n in notices)
    # The project's allow rule did not apply: Bash was asked about, and denied.
    assert "PERMISSION_REQUESTED" in types(events)


async def test_a_folder_without_project_configuration_is_not_asked_about(tmp_path: Path) -> None:
    async with Session(model=scripted(), cwd=tmp_path) as session:
        pass
    assert "TRUST_REQUESTED" not in types(session.store.replay(0))


def test_a_broken_trust_file_trusts_nothing(tmp_path: Path) -> None:
    store = TrustStore(tmp_path / "trusted.json")
    store.path.write_text("{not json")
    assert store.folders() == [] and not store.is_trusted(tmp_path)
    store.trust(tmp_path / "a")
    assert store.is_trusted(tmp_path / "a" / "b") and not store.is_trusted(tmp_path / "a_evil")


async def test_an_untrusted_folders_deny_and_ask_rules_hold_before_trust(tmp_path: Path) -> None:
    """Deny and ask rules only restrict the agent, so they apply before the folder is
    trusted; its allow rules (and hooks) wait for trust."""
    (tmp_path / ".claude").mkdir()
    (tmp_path / ".claude" / "settings.json").write_text(
        json.dumps(
            {
                "permissions": {
                    "deny": ["Read(./.env)"],
                    "ask": ["Glob"],
                    "allow": ["Bash(echo:*)"],
                }
            }
        )
    )
    (tmp_path / ".env").write_text("TOKEN=hunter2\n")
    session = Session(
        model=scripted(
            reply(ToolCall("Read", {"file_path": ".env"}), ToolCall("Glob", {"pattern": "*"})),
            reply(Text("ok")),
        ),
        cwd=tmp_path,
        ask_policy="deny",  # nobody to ask: an ask is a refusal
    )
    async with session:
        events = await run_to_end(session, "go")
    assert not session.trusted
    failed = {e.tool_name: e.error for e in events if e.type == "TOOL_CALL_FAILED"}
    assert "Read(./.env)" in failed["Read"] and "hunter2" not in str(events)
    asked = [e.tool_name for e in events if e.type == "PERMISSION_REQUESTED"]
    assert asked == ["Glob"]  # Glob reads only: it is asked about because of the rule
    # The project's allow rule does not count yet: echo still asks in default mode.
    bash = session.executor.tools["Bash"]
    assert session.permission_engine.decide(bash, {"command": "echo hi"}, "default").behavior == (
        "ask"
    )
