"""Wrong types in the front matter of sub-agents, slash commands and skills: each wrong
field is a notice that names the file, the line and the field and what is expected, and
says what happens — the field is ignored, or (for a field that restricts, such as an
agent's ``tools``, or one that is required) the file is skipped. Lists are accepted
where Claude Code accepts them (``argument-hint: [name]``, tool lists)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from harness_tui.core.extensions.agents import discover_agents
from harness_tui.core.extensions.commands import discover_commands
from harness_tui.core.extensions.skills import discover_skills


def write(path: Path, front: str, body: str = "The body.") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"---\n{front}---\n{body}\n")
    return path


def problem_for(problems: list[str], path: Path, field: str) -> str:
    """The one problem about ``field`` of ``path``, which must name its line."""
    found = [p for p in problems if str(path) in p and f" {field}:" in p]
    assert len(found) == 1, problems
    assert re.search(rf"{re.escape(str(path))}: line \d+: {re.escape(field)}: ", found[0]), found
    return found[0]


def line_of(path: Path, field: str) -> int:
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if line.startswith(f"{field}:"):
            return number
    raise AssertionError(field)


# --- sub-agents ------------------------------------------------------------------------

AGENT_BASE = {"name": "helper", "description": "Helps.", "tools": "Read, Grep", "model": "inherit"}

#: field, YAML value, expected words in the notice, whether the agent is skipped.
AGENT_CASES = [
    ("tools", "5", "expected", True),
    ("tools", "{x: 1}", "expected", True),
    ("tools", "true", "expected", True),
    ("tools", "[Read, 5]", "expected", True),
    ("tools", "[Read, [Grep]]", "expected", True),
    ("tools", "[{Bash: ls}]", "expected", True),
    ("model", "[a]", "expected text", False),
    ("model", "{name: x}", "expected text", False),
    ("model", "5", "expected text", False),
    ("model", "true", "expected text", False),
    ("description", "12", "expected text", True),
    ("description", "[a, b]", "expected text", True),
    ("description", "{a: b}", "expected text", True),
    ("name", "12", "name", True),
    ("name", "[helper]", "name", True),
    ("color", "[red]", "expected text", False),
    ("color", "5", "expected text", False),
]


@pytest.mark.parametrize(
    ("field", "value", "words", "skipped"),
    AGENT_CASES,
    ids=[f"{c[0]}={c[1]}" for c in AGENT_CASES],
)
def test_a_wrong_agent_field_is_named_with_its_line(
    tmp_path: Path, field: str, value: str, words: str, skipped: bool
) -> None:
    fields = {**AGENT_BASE, field: value}
    front = "".join(f"{k}: {v}\n" for k, v in fields.items())
    path = write(tmp_path / ".claude" / "agents" / "helper.md", front)
    found = discover_agents(tmp_path, folders=[path.parent])
    problem = problem_for(found.problems, path, field)
    assert f"line {line_of(path, field)}: {field}:" in problem and words in problem
    if skipped:
        assert "helper" not in found.agents and "skipped" in problem
    else:
        assert "ignored" in problem
        agent = found.agents["helper"]
        assert agent.tools == ("Read", "Grep")
        if field == "model":
            assert agent.model is None  # the parent's model


@pytest.mark.parametrize(
    ("value", "tools"),
    [
        ("Read, Grep", ("Read", "Grep")),
        ("Read Grep", ("Read", "Grep")),
        ("[Read, Grep]", ("Read", "Grep")),
        ("\n  - Read\n  - Bash(git diff:*)", ("Read", "Bash(git diff:*)")),
    ],
)
def test_agent_tool_lists_as_claude_code_writes_them(
    tmp_path: Path, value: str, tools: tuple
) -> None:
    front = f"name: helper\ndescription: Helps.\ntools: {value}\n"
    path = write(tmp_path / ".claude" / "agents" / "helper.md", front)
    found = discover_agents(tmp_path, folders=[path.parent])
    assert found.problems == [] and found.agents["helper"].tools == tools


# --- slash commands --------------------------------------------------------------------

#: field, YAML value, expected words, the value the command ends with.
COMMAND_CASES = [
    ("allowed-tools", "{x: 1}", "expected", ()),
    ("allowed-tools", "5", "expected", ()),
    ("allowed-tools", "[Read, {x: 1}]", "expected", ()),
    ("allowed-tools", "true", "expected", ()),
    ("model", "[a]", "expected text", None),
    ("model", "{a: b}", "expected text", None),
    ("model", "5", "expected text", None),
    ("description", "12", "expected text", "First line of the body"),
    ("description", "[a]", "expected text", "First line of the body"),
    ("description", "true", "expected text", "First line of the body"),
    ("argument-hint", "{name: x}", "expected text", None),
    ("argument-hint", "5", "expected text", None),
    ("argument-hint", "[[a]]", "expected text", None),
]
_ATTRIBUTE = {
    "allowed-tools": "allowed_tools",
    "model": "model",
    "description": "description",
    "argument-hint": "argument_hint",
}


@pytest.mark.parametrize(
    ("field", "value", "words", "result"),
    COMMAND_CASES,
    ids=[f"{c[0]}={c[1]}" for c in COMMAND_CASES],
)
def test_a_wrong_command_field_is_named_and_ignored(
    tmp_path: Path, field: str, value: str, words: str, result: object
) -> None:
    folder = tmp_path / ".claude" / "commands"
    path = write(folder / "review.md", f"{field}: {value}\n", "First line of the body\nMore.")
    found = discover_commands(tmp_path, folders=[(folder, "project")])
    problem = problem_for(found.problems, path, field)
    assert f"line 2: {field}:" in problem and words in problem and "ignored" in problem
    command = found.commands["review"]
    assert getattr(command, _ATTRIBUTE[field]) == result


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("[name]", "[name]"),
        ("[file, focus]", "[file, focus]"),
        ("<file> [focus]", "<file> [focus]"),
        ("'[pr-number] [priority]'", "[pr-number] [priority]"),
        ("add [tagId] | remove [tagId] | list", "add [tagId] | remove [tagId] | list"),
        # Claude Code's documentation writes several bracketed words unquoted (not YAML)
        ("[pr-number] [priority] [assignee]", "[pr-number] [priority] [assignee]"),
        ("[message]  [it's]", "[message]  [it's]"),
    ],
)
def test_an_argument_hint_as_claude_code_users_write_it(
    tmp_path: Path, value: str, shown: str
) -> None:
    folder = tmp_path / ".claude" / "commands"
    write(folder / "tag.md", f"argument-hint: {value}\n")
    found = discover_commands(tmp_path, folders=[(folder, "project")])
    assert found.problems == [] and found.commands["tag"].argument_hint == shown


@pytest.mark.parametrize(
    ("value", "tools"),
    [
        ("Read, Bash(git diff:*)", ("Read", "Bash(git diff:*)")),
        ("[Read, 'Bash(git diff:*)']", ("Read", "Bash(git diff:*)")),
    ],
)
def test_allowed_tools_as_a_string_or_a_list(tmp_path: Path, value: str, tools: tuple) -> None:
    folder = tmp_path / ".claude" / "commands"
    write(folder / "diff.md", f"allowed-tools: {value}\n")
    found = discover_commands(tmp_path, folders=[(folder, "project")])
    assert found.problems == [] and found.commands["diff"].allowed_tools == tools


# --- skills: the same checks, with lines ---------------------------------------------------

SKILL_CASES = [
    ("allowed-tools", "{x: 1}", "ignored"),
    ("license", "[MIT]", "ignored"),
    ("model", "[a]", "ignored"),
    ("user-invocable", "maybe", "using True"),
    ("metadata", "[a]", "ignored"),
]


@pytest.mark.parametrize(("field", "value", "outcome"), SKILL_CASES)
def test_a_wrong_skill_field_names_its_line(
    tmp_path: Path, field: str, value: str, outcome: str
) -> None:
    root = tmp_path / "skills"
    path = write(
        root / "tidy" / "SKILL.md", f"name: tidy\ndescription: Tidies.\n{field}: {value}\n"
    )
    catalog = discover_skills([(root, "project")])
    problem = problem_for(catalog.problems, path, field)
    assert f"line 4: {field}:" in problem and outcome in problem
    assert "tidy" in catalog.skills
