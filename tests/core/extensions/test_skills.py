"""Agent Skills: discovery, validation, progressive disclosure, the Skill tool, /name."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from harness_tui.core.config import paths
from harness_tui.core.extensions.skills import discover_skills, skill_folders
from harness_tui.core.messages import ToolResultMessage
from harness_tui.core.providers.offline.scripted import ScriptedProvider, Text, ToolCall, reply
from harness_tui.core.session.session import Session
from tests.helpers import run_to_end, scripted_in, types

BODY = "# Steps\nDo the secret thing: BODY-MARKER. Target: $ARGUMENTS"


def write_skill(root: Path, name: str, *, folder: str | None = None, **fields: str) -> Path:
    path = root / (folder or name) / "SKILL.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {"name": name, "description": f"Use for {name} tasks.", **fields}
    head = "".join(f"{k}: {v}\n" for k, v in meta.items() if v is not None)
    path.write_text(f"---\n{head}---\n{BODY}\n")
    return path


def test_skills_are_found_in_every_location(tmp_path: Path) -> None:
    write_skill(tmp_path / ".harness" / "skills", "from-harness")
    write_skill(tmp_path / ".claude" / "skills", "from-claude")
    write_skill(tmp_path / ".agents" / "skills", "from-agents")
    write_skill(paths.config_dir() / "skills", "from-user")
    write_skill(paths.claude_user_dir() / "skills", "from-claude-user")
    write_skill(tmp_path / "plugin" / "skills", "from-plugin")
    folders = [*skill_folders(tmp_path), (tmp_path / "plugin" / "skills", "plugin demo")]
    catalog = discover_skills(folders)
    assert {name: s.source for name, s in catalog.skills.items()} == {
        "from-harness": "project",
        "from-claude": "project",
        "from-agents": "project",
        "from-user": "user",
        "from-claude-user": "user",
        "from-plugin": "plugin demo",
    }
    assert catalog.problems == []


def test_the_first_skill_of_a_name_wins_and_the_other_is_reported(tmp_path: Path) -> None:
    write_skill(tmp_path / ".harness" / "skills", "lint")
    write_skill(paths.config_dir() / "skills", "lint")
    catalog = discover_skills(skill_folders(tmp_path))
    assert catalog.skills["lint"].source == "project"
    assert len(catalog.problems) == 1 and "shadowed" in catalog.problems[0]


@pytest.mark.parametrize(
    ("fields", "folder", "needle"),
    [
        ({"name": "Bad_Name"}, "Bad_Name", "name: 'Bad_Name' is not allowed"),
        ({"name": "-lead"}, "-lead", "not allowed"),
        ({"name": "two--hyphens"}, "two--hyphens", "not allowed"),
        ({"name": "x" * 65}, "x" * 65, "1 to 64 characters"),
        ({"name": "mismatch"}, "other-folder", "must equal the folder name 'other-folder'"),
        ({"name": "no-description", "description": None}, None, "description: required"),
    ],
)
def test_frontmatter_errors_skip_the_skill_with_a_clear_message(
    tmp_path: Path, fields: dict, folder: str | None, needle: str
) -> None:
    root = tmp_path / ".claude" / "skills"
    name = fields.pop("name")
    path = write_skill(root, name, folder=folder, **fields)
    catalog = discover_skills([(root, "project")])
    assert catalog.skills == {}
    assert len(catalog.problems) == 1
    assert str(path) in catalog.problems[0] and needle in catalog.problems[0]


def test_bad_yaml_and_odd_fields(tmp_path: Path) -> None:
    root = tmp_path / "skills"
    (root / "broken").mkdir(parents=True)
    (root / "broken" / "SKILL.md").write_text("---\nname: broken\nmetadata: {a: [\n---\nbody\n")
    write_skill(root, "lenient", extra_field="x", metadata="{author: me, version: 2}")
    (root / "colons").mkdir()
    (root / "colons" / "SKILL.md").write_text(
        "---\nname: colons\ndescription: Use when: the user asks\n---\nbody\n"
    )
    catalog = discover_skills([(root, "project")])
    assert set(catalog.skills) == {"lenient", "colons"}
    assert catalog.skills["lenient"].metadata == {"author": "me", "version": "2"}
    assert catalog.skills["colons"].description == "Use when: the user asks"
    problems = "\n".join(catalog.problems)
    assert "broken/SKILL.md: front matter is not valid YAML (line 3:" in problems
    assert "broken/SKILL.md: description: required" in problems
    assert "unknown field 'extra_field' ignored" in problems
    assert "read as plain 'key: value' lines" in problems


def scripted_session(tmp_path: Path, *replies, **options) -> tuple[Session, ScriptedProvider]:
    return scripted_in(tmp_path, list(replies), **options)


async def test_only_names_and_descriptions_reach_the_prompt_and_the_skill_tool_loads_the_body(
    tmp_path: Path,
) -> None:
    path = write_skill(tmp_path / ".claude" / "skills", "deploy")
    (path.parent / "scripts").mkdir()
    (path.parent / "scripts" / "run.py").write_text("print('hi')\n")
    write_skill(
        tmp_path / ".claude" / "skills", "manual-only", **{"disable-model-invocation": "true"}
    )
    session, provider = scripted_session(
        tmp_path,
        reply(
            ToolCall("Skill", {"skill": "deploy", "args": "staging"}, id="s1"),
            ToolCall("Skill", {"skill": "manual-only"}, id="s2"),
        ),
        reply(Text("done")),
    )
    async with session:
        events = await run_to_end(session, "ship it")
    first = provider.requests[0]
    assert "- deploy: Use for deploy tasks." in first.system
    assert "BODY-MARKER" not in first.system and "manual-only" not in first.system
    assert "Skill" in {t.name for t in first.tools}
    results = {
        m.tool_call_id: m for m in provider.requests[1].messages if isinstance(m, ToolResultMessage)
    }
    loaded = results["s1"].content
    assert "BODY-MARKER" in loaded and "Target: staging" in loaded
    assert "scripts/run.py" in loaded and str(path.parent) in loaded
    assert results["s2"].is_error and "/manual-only" in results["s2"].content
    assert types(events).count("TOOL_CALL_COMPLETED") == 1


async def test_no_skill_tool_without_skills(tmp_path: Path) -> None:
    session, _ = scripted_session(tmp_path, reply(Text("hi")))
    assert "Skill" not in session.executor.tools
    assert "# Skills" not in session.system_prompt


async def test_slash_skill_name_invokes_it_from_the_input(tmp_path: Path) -> None:
    write_skill(tmp_path / ".harness" / "skills", "deploy", **{"argument-hint": "<env>"})
    write_skill(tmp_path / ".harness" / "skills", "hidden", **{"user-invocable": "false"})
    session, provider = scripted_session(tmp_path, reply(Text("deploying")))
    assert ("deploy", "skill: Use for deploy tasks. <env>") in session.extensions.slash_entries()
    assert "hidden" not in [n for n, _ in session.extensions.slash_entries()]
    async with session:
        run_id = await session.invoke_command("deploy", "production")
        events = await run_to_end_of(session, run_id)
    prompt = events[0]
    assert prompt.type == "PROMPT_RECEIVED"
    assert "Use the skill deploy" in prompt.text and "Target: production" in prompt.text
    assert provider.requests[0].messages[0].text == prompt.text


async def run_to_end_of(session: Session, run_id: str | None) -> list:
    from tests.helpers import wait_for

    await wait_for(session.store, lambda e: e.run_id == run_id and e.type == "RUN_COMPLETED")
    return [e for e in session.store.replay(0) if e.run_id == run_id]


@pytest.mark.parametrize("trusted", [True, False])
async def test_a_skills_allowed_tools_apply_during_its_run_only_and_only_when_trusted(
    tmp_path: Path, trusted: bool
) -> None:
    write_skill(tmp_path / ".claude" / "skills", "touchy", **{"allowed-tools": "Bash(touch:*)"})
    session, _ = scripted_session(
        tmp_path,
        reply(ToolCall("Skill", {"skill": "touchy"}), ToolCall("Bash", {"command": "touch made"})),
        reply(Text("done")),
        reply(ToolCall("Bash", {"command": "touch again"})),
        reply(Text("done")),
        trusted=trusted,
        ask_policy="deny",
    )
    async with session:
        first = await run_to_end(session, "go")
        second = await run_to_end(session, "again")
    assert (tmp_path / "made").exists() == trusted
    assert ("PERMISSION_REQUESTED" in types(first)) != trusted
    # The grant ended with its run.
    assert "PERMISSION_REQUESTED" in types(second) and not (tmp_path / "again").exists()
    assert session.permission_engine.session_rules == []


def test_skill_files_list_skips_caches(tmp_path: Path) -> None:
    path = write_skill(tmp_path, "x")
    (path.parent / "__pycache__").mkdir()
    (path.parent / "__pycache__" / "a.pyc").write_bytes(b"")
    (path.parent / "references").mkdir()
    (path.parent / "references" / "api.md").write_text("api")
    skill = discover_skills([(tmp_path, "user")]).skills["x"]
    assert skill.files() == ["references/api.md"]
    assert os.fspath(skill.folder) == os.fspath(path.parent)
