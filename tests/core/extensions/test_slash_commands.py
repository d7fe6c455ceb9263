"""Custom slash commands: discovery, argument substitution, and running one."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness_tui.core.config import paths
from harness_tui.core.errors import HarnessError
from harness_tui.core.extensions.commands import discover_commands, substitute_arguments
from harness_tui.core.providers.offline.scripted import ScriptedProvider, Text, ToolCall, reply
from harness_tui.core.session.session import Session
from tests.helpers import scripted_in, types, wait_for


def write_command(folder: Path, name: str, body: str, **fields: str) -> Path:
    path = folder / f"{name}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    head = "".join(f"{k}: {v}\n" for k, v in fields.items())
    path.write_text(f"---\n{head}---\n{body}\n" if fields else body + "\n")
    return path


@pytest.mark.parametrize(
    ("body", "arguments", "expected"),
    [
        ("Review $ARGUMENTS now", "src/app.py  carefully", "Review src/app.py  carefully now"),
        ("Fix issue #$1 in $2", "123 'the parser'", "Fix issue #123 in the parser"),
        ("Only $1 and $3", "a", "Only a and "),
        ("No placeholder", "extra words", "No placeholder\n\nARGUMENTS: extra words"),
        ("No placeholder", "", "No placeholder"),
        ("Both $1 / $ARGUMENTS", "x y", "Both x / x y"),
        ("Quote $1", "'unbalanced", "Quote 'unbalanced"),
        ("Literal $ARGUMENTS", "$1 stays", "Literal $1 stays"),
    ],
)
def test_arguments_are_substituted(body: str, arguments: str, expected: str) -> None:
    assert substitute_arguments(body, arguments) == expected


def test_commands_are_found_with_their_frontmatter(tmp_path: Path) -> None:
    write_command(
        tmp_path / ".claude" / "commands",
        "review",
        "Review $ARGUMENTS",
        description="Review a file",
        **{"argument-hint": "<file>", "allowed-tools": "Read, Bash(git diff:*)", "model": "sonnet"},
    )
    write_command(tmp_path / ".harness" / "commands" / "team", "standup", "# Standup\nSummarise.")
    write_command(paths.config_dir() / "commands", "mine", "Mine")
    write_command(paths.claude_user_dir() / "commands", "review", "Shadowed by the project")
    write_command(tmp_path / ".claude" / "commands", "help", "Not allowed")
    write_command(tmp_path / ".claude" / "commands", "empty", "", description="nothing")
    found = discover_commands(tmp_path)
    assert set(found.commands) == {"review", "standup", "mine"}
    review = found.commands["review"]
    assert (review.description, review.argument_hint, review.model) == (
        "Review a file",
        "<file>",
        "sonnet",
    )
    assert review.allowed_tools == ("Read", "Bash(git diff:*)")
    assert found.commands["standup"].description == "Standup"  # from the body's first line
    assert found.commands["mine"].source == "user"
    problems = "\n".join(found.problems)
    assert "/review is already defined by" in problems
    assert "/help is a built-in command" in problems
    assert "empty.md: the command has no prompt" in problems


def scripted_session(tmp_path: Path, *replies, **options) -> tuple[Session, ScriptedProvider]:
    return scripted_in(tmp_path, list(replies), trusted=True, **options)


async def run_of(session: Session, run_id: str | None) -> list:
    await wait_for(session.store, lambda e: e.run_id == run_id and e.type == "RUN_COMPLETED")
    return [e for e in session.store.replay(0) if e.run_id == run_id]


async def test_invoking_a_command_sends_its_expanded_prompt(tmp_path: Path) -> None:
    write_command(tmp_path / ".claude" / "commands", "fix", "Fix issue $1: $ARGUMENTS")
    session, provider = scripted_session(tmp_path, reply(Text("fixing")))
    assert ("fix", "Fix issue $1: $ARGUMENTS (project)") in session.extensions.slash_entries()
    async with session:
        run_id = await session.invoke_command("fix", "42 crash on start")
        events = await run_of(session, run_id)
        with pytest.raises(HarnessError, match="unknown command /nope"):
            await session.invoke_command("nope")
    assert events[0].text == "Fix issue 42: 42 crash on start"
    assert provider.requests[0].messages[0].text == "Fix issue 42: 42 crash on start"


async def test_a_commands_model_and_allowed_tools_apply_to_its_run_only(tmp_path: Path) -> None:
    script = tmp_path / "other.yaml"
    script.write_text(
        "responses:\n"
        "  - tool_calls: [{name: Bash, input: {command: touch granted}}]\n"
        "  - text: done on the other model\n"
    )
    write_command(
        tmp_path / ".claude" / "commands",
        "make",
        "Make it",
        model=f"scripted:{script}",
        **{"allowed-tools": "Bash(touch:*)"},
    )
    session, provider = scripted_session(
        tmp_path,
        reply(ToolCall("Bash", {"command": "touch later"})),
        reply(Text("ok")),
        ask_policy="deny",
    )
    async with session:
        events = await run_of(session, await session.invoke_command("make"))
        assert session.model.name == "scripted"  # back after the run
        later = await run_of(session, await session.submit("plain prompt"))
    assert (tmp_path / "granted").exists() and "PERMISSION_REQUESTED" not in types(events)
    assert events[-1].result == "done on the other model"
    changes = [e.model for e in session.store.replay(0) if e.type == "MODEL_CHANGED"]
    assert changes == [f"scripted:{script}", "scripted"]
    # The next run asks again: the grant was for the command's run only.
    assert "PERMISSION_REQUESTED" in types(later) and not (tmp_path / "later").exists()
    assert len(provider.requests) == 2


async def test_an_untrusted_projects_command_grants_nothing(tmp_path: Path) -> None:
    write_command(tmp_path / ".claude" / "commands", "make", "Make it", **{"allowed-tools": "Bash"})
    session, _ = scripted_in(
        tmp_path,
        [reply(ToolCall("Bash", {"command": "touch x"})), reply(Text("ok"))],
        trusted=False,
        ask_policy="deny",
    )
    async with session:
        events = await run_of(session, await session.invoke_command("make"))
    assert "PERMISSION_REQUESTED" in types(events) and not (tmp_path / "x").exists()
