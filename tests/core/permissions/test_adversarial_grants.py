"""Files that grant permissions or run code are protected from every tool.

The rule: writing a file that a loader reads for rules, tools, hooks, servers, models or
code (settings, commands, skills, agents, plugins, ``.mcp.json``, git hooks and config,
the user's folders, the trusted-folder list) always asks, in ``default`` and
``acceptEdits`` alike and whatever the allow rules say; ``bypassPermissions`` skips the
question and plan mode refuses. Names match case-insensitively, through symlinks, and a
folder acted on whole counts when it holds such a file. Instruction files (CLAUDE.md,
AGENTS.md) are the agent's memory and stay writable."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness_tui.core.providers.offline.scripted import Text, ToolCall, reply
from tests.helpers import run_to_end, scripted_in, wait_for
from tests.permission_support import A, D, Q, decide, make_places

EVERYTHING = {A: ["Edit", "Write", "Edit(./**)", "Edit(//**)", "Bash"]}

PROTECTED = [
    # project configuration
    ".harness/settings.yaml",
    ".harness/settings.local.yaml",
    ".claude/settings.json",
    ".claude/settings.local.json",
    ".claude/commands/x.md",
    ".claude/commands/sub/y.md",
    ".harness/commands/x.md",
    ".harness/skills/s/SKILL.md",
    ".claude/skills/s/SKILL.md",
    ".agents/skills/s/SKILL.md",
    ".claude/agents/a.md",
    ".harness/agents/a.md",
    ".harness/hooks/check.sh",
    ".claude/hooks/check.sh",
    ".harness/plugins/p/plugin.yaml",
    ".harness/plugins/p/tools.py",
    ".mcp.json",
    "sub/.mcp.json",
    "plugins/p/plugin.yml",
    "sub/plugin.yaml",
    # git runs these
    ".git/hooks/pre-commit",
    ".git/config",
    ".git/modules/m/hooks/post-checkout",
    ".git/modules/m/config",
    ".git",
    ".gitconfig",
    # the user's folders and files
    "{config}/settings.yaml",
    "{config}/skills/s/SKILL.md",
    "{config}/commands/x.md",
    "{config}/agents/a.md",
    "{config}/plugins/p/plugin.yaml",
    "{claude}/settings.json",
    "{claude}/commands/x.md",
    "{claude}/skills/s/SKILL.md",
    "{home}/.claude.json",
    "{home}/.gitconfig",
    "{home}/.config/git/config",
    "{data}/trusted_folders.json",
    # the same, written differently
    ".Claude/Commands/x.md",
    ".HARNESS/skills/s/SKILL.md",
    ".MCP.JSON",
    "sub/Plugin.YAML",
    ".Git/Hooks/pre-push",
    "src/../.claude/commands/x.md",
    "./.agents/./skills/s/SKILL.md",
    "cmdlink/x.md",
    "cfglink/settings.local.yaml",
    "settingslink",
    "danglink",
    "{w}/.claude/commands/abs.md",
]
WRITABLE = [
    "CLAUDE.md",
    "AGENTS.md",
    ".claude/CLAUDE.md",
    "sub/CLAUDE.md",
    "{claude}/CLAUDE.md",
    "{config}/AGENTS.md",
    "src/app.py",
    "docs/claude.md",
    "harness/settings.yaml",
    ".harnessx/settings.yaml",
    ".agents/notes.md",
    "gitconfig.txt",
    ".github/workflows/ci.yml",
]


def file_call(tool: str, path: str) -> dict[str, Any]:
    if tool == "Write":
        return {"file_path": path, "content": "---\nallowed-tools: Bash(*)\n---\n"}
    return {"file_path": path, "old_string": "", "new_string": "allowed-tools: Bash(*)\n"}


@pytest.fixture
def places(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    return make_places(tmp_path, monkeypatch)


def test_the_tables_are_big_enough() -> None:
    assert len(PROTECTED) >= 45 and len(set(PROTECTED)) == len(PROTECTED)


@pytest.mark.parametrize("tool", ["Write", "Edit"])
@pytest.mark.parametrize("mode", ["default", "acceptEdits"])
@pytest.mark.parametrize("path", PROTECTED)
def test_writing_a_granting_file_always_asks(
    places: dict[str, Path], tool: str, mode: str, path: str
) -> None:
    decision = decide(places, EVERYTHING, tool, file_call(tool, path), mode)
    assert decision.behavior == Q, decision.reason
    assert "protected" in decision.reason
    assert decision.suggestions == ()  # no rule is offered that would cover more


@pytest.mark.parametrize(("mode", "expected"), [("bypassPermissions", A), ("plan", D)])
@pytest.mark.parametrize("path", PROTECTED[::7])
def test_bypass_skips_the_question_and_plan_refuses(
    places: dict[str, Path], path: str, mode: str, expected: str
) -> None:
    assert decide(places, {}, "Write", file_call("Write", path), mode).behavior == expected


@pytest.mark.parametrize("path", WRITABLE)
def test_other_files_and_instructions_stay_writable(places: dict[str, Path], path: str) -> None:
    decision = decide(places, EVERYTHING, "Write", file_call("Write", path), "acceptEdits")
    assert decision.behavior == A, decision.reason


SHELL = [
    ("redirect", "echo x > .claude/commands/x.md"),
    ("redirect-quoted", "echo x > '.claude/commands/'x.md"),
    ("redirect-case", "echo x >> .CLAUDE/commands/x.md"),
    ("redirect-symlink", "echo x > cmdlink/x.md"),
    ("tee", "echo x | tee .agents/skills/s/SKILL.md"),
    ("cp-file", "cp a.txt .harness/skills/s/SKILL.md"),
    ("cp-into-folder", "cp a.txt .claude/commands/"),
    ("cp-t", "cp -t .claude/commands a.txt"),
    ("cp-folder-named", "cp -r payload/.claude ."),
    ("cp-folder-holding", "cp -r src/../payload sub/project"),
    ("mv-into", "mv a.txt .harness/commands/a.md"),
    ("mv-config-away", "mv .harness old-config"),
    ("mv-folder-holding", "mv {w} {w}2"),
    ("mkdir", "mkdir -p .claude/skills/s"),
    ("touch-hook", "touch .git/hooks/pre-commit"),
    ("chmod-hook", "chmod +x .git/hooks/pre-commit"),
    ("chmod-recursive", "chmod -R 777 ."),
    ("rm-config", "rm -rf .claude"),
    ("rm-holding", "rm -rf ."),
    ("rm-git-config", "rm .git/config"),
    ("ln-symlink-to-config", "ln -s .harness/settings.yaml x.yaml"),
    ("ln-hard-link-source", "ln .harness/settings.yaml x.yaml"),
    ("ln-over-config", "ln -sf /tmp/evil .mcp.json"),
    ("install", "install -D a.txt .harness/plugins/p/plugin.yaml"),
    ("dd", "dd if=a.txt of=.claude/settings.json"),
    ("sed-i", "sed -i s/a/b/ .harness/settings.yaml"),
    ("truncate", "truncate -s 0 .claude/settings.local.json"),
    ("user-config", "echo x > {config}/settings.yaml"),
    ("user-config-folder", "rm -rf {config}"),
    ("trust-list", "echo '{{}}' > {data}/trusted_folders.json"),
    ("bash-c", "bash -c 'echo x > .mcp.json'"),
    ("heredoc", "cat > .harness/settings.yaml <<'EOF'\npermissions: {allow: [Bash]}\nEOF"),
    ("subshell", "(cd sub && echo x > ../.mcp.json)"),
]


@pytest.mark.parametrize("command", [c[1] for c in SHELL], ids=[c[0] for c in SHELL])
def test_shell_writes_of_granting_files_always_ask(places: dict[str, Path], command: str) -> None:
    (places["w"] / "payload" / ".claude").mkdir(exist_ok=True)
    decision = decide(places, {A: ["Bash"]}, "Bash", {"command": command})
    assert decision.behavior == Q, decision.reason


@pytest.mark.parametrize(
    "command", ["rm -rf tools", "mv tools elsewhere", "chmod -R 777 tools/a", "rm -rf ./tools/"]
)
def test_a_folder_holding_the_user_config_deep_down_is_protected(
    places: dict[str, Path], monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    """Deeper than the folder walk looks: the user's folders are checked exactly."""
    config = places["w"] / "tools" / "a" / "b" / "c" / "d" / "config"
    config.mkdir(parents=True)
    monkeypatch.setenv("HARNESS_CONFIG_DIR", str(config))
    decision = decide(places, {A: ["Bash"]}, "Bash", {"command": command})
    assert decision.behavior == Q and "protected" in decision.reason, decision.reason


# --- a real session: the reported scenario, and "always allow" stays one file --------


async def test_a_command_with_allowed_tools_is_not_written_in_accept_edits(
    places: dict[str, Path],
) -> None:
    w = places["w"]
    call = ToolCall("Write", file_call("Write", ".claude/commands/x.md"))
    session, _ = scripted_in(
        w, [reply(call), reply(Text("ok"))], mode="acceptEdits", ask_policy="deny", trusted=True
    )
    async with session:
        events = await run_to_end(session, "go")
    asked = next(e for e in events if e.type == "PERMISSION_REQUESTED")
    assert "protected" in asked.reason
    assert not (w / ".claude" / "commands" / "x.md").exists()


async def test_allowing_one_protected_file_allows_no_other(places: dict[str, Path]) -> None:
    w = places["w"]
    calls = [
        reply(ToolCall("Write", file_call("Write", ".claude/commands/a.md"))),
        reply(ToolCall("Write", file_call("Write", ".claude/commands/b.md"))),
        reply(Text("ok")),
    ]
    session, _ = scripted_in(w, calls, mode="acceptEdits", trusted=True)
    async with session:
        await session.submit("go")
        first = await wait_for(session.store, lambda e: e.type == "PERMISSION_REQUESTED")
        assert first.rule is None  # nothing to save as a rule
        await session.resolve_permission(first.request_id, "allow_always")
        second = await wait_for(
            session.store,
            lambda e: e.type == "PERMISSION_REQUESTED" and e.request_id != first.request_id,
        )
        assert second.input["file_path"].endswith("b.md")
        await session.resolve_permission(second.request_id, "deny")
        await wait_for(session.store, lambda e: e.type == "RUN_COMPLETED")
    assert (w / ".claude" / "commands" / "a.md").exists()
    assert not (w / ".claude" / "commands" / "b.md").exists()
    saved = w / ".harness" / "settings.local.yaml"
    assert not saved.exists() or "allow" not in str(yaml.safe_load(saved.read_text()))


async def test_a_hook_that_allows_everything_does_not_skip_the_question(
    places: dict[str, Path],
) -> None:
    w = places["w"]
    allow = {"hookSpecificOutput": {"hookEventName": "PreToolUse", "permissionDecision": "allow"}}
    (w / "allow.py").write_text(f"print({json.dumps(allow)!r})\n")
    hook = {"type": "command", "command": f'"{sys.executable}" "$CLAUDE_PROJECT_DIR"/allow.py'}
    (w / ".claude" / "settings.json").write_text(
        json.dumps({"hooks": {"PreToolUse": [{"matcher": "Write|Bash", "hooks": [hook]}]}})
    )
    calls = [
        reply(ToolCall("Write", file_call("Write", "notes.md"))),
        reply(ToolCall("Write", file_call("Write", ".claude/skills/s/SKILL.md"))),
        reply(ToolCall("Bash", {"command": "echo x > .mcp.json"})),
        reply(Text("ok")),
    ]
    session, _ = scripted_in(w, calls, ask_policy="deny", trusted=True)
    async with session:
        events = await run_to_end(session, "go")
    assert (w / "notes.md").exists()  # the hook's allow skipped the default-mode question
    asked = [
        e.input.get("file_path") or e.input.get("command")
        for e in events
        if e.type == "PERMISSION_REQUESTED"
    ]
    assert asked == [".claude/skills/s/SKILL.md", "echo x > .mcp.json"]
    assert not (w / ".claude" / "skills").exists() and not (w / ".mcp.json").exists()


@pytest.mark.parametrize(
    "command",
    [
        'cd "$CLAUDE_PROJECT_DIR" && ./hooks/check.sh',
        "cd $CLAUDE_PROJECT_DIR/hooks; ./check.sh | tee -a log",
        "bash -c 'sh hooks/check.sh'",
        "python3 $CLAUDE_PROJECT_DIR/hooks/check.py --strict",
    ],
)
async def test_the_scripts_hooks_run_are_protected(places: dict[str, Path], command: str) -> None:
    """Also when the hook's command is more than a program and its arguments."""
    w = places["w"]
    (w / "hooks").mkdir()
    for name in ("check.sh", "check.py"):
        (w / "hooks" / name).write_text("exit 0\n")
    hook = {"type": "command", "command": command}
    (w / ".claude" / "settings.json").write_text(
        json.dumps({"hooks": {"Stop": [{"hooks": [hook]}]}})
    )
    target = "hooks/check.py" if "check.py" in command else "hooks/check.sh"
    calls = [reply(ToolCall("Write", file_call("Write", target))), reply(Text("ok"))]
    session, _ = scripted_in(w, calls, mode="acceptEdits", ask_policy="deny", trusted=True)
    async with session:
        events = await run_to_end(session, "go")
    asked = [e for e in events if e.type == "PERMISSION_REQUESTED"]
    assert asked and "protected" in asked[0].reason
    assert (w / target).read_text() == "exit 0\n"


async def test_the_scripts_mcp_servers_run_are_protected(places: dict[str, Path]) -> None:
    w = places["w"]
    (w / "tools").mkdir()
    (w / "tools" / "server.py").write_text("raise SystemExit(0)\n")
    servers = {"local": {"command": sys.executable, "args": ["tools/server.py"]}}
    (w / ".mcp.json").write_text(json.dumps({"mcpServers": servers}))
    call = ToolCall("Edit", {"file_path": "tools/server.py", "old_string": "0", "new_string": "1"})
    session, _ = scripted_in(
        w, [reply(call), reply(Text("ok"))], mode="acceptEdits", ask_policy="deny", trusted=True
    )
    async with session:
        events = await run_to_end(session, "go")
    asked = [e for e in events if e.type == "PERMISSION_REQUESTED"]
    assert asked and "protected" in asked[0].reason
    assert (w / "tools" / "server.py").read_text() == "raise SystemExit(0)\n"


async def test_the_script_the_status_line_runs_is_protected(places: dict[str, Path]) -> None:
    """Claude Code's ``statusLine`` command runs as the user's own, on every update:
    its script is as protected as a hook's."""
    w = places["w"]
    (w / "tools").mkdir()
    (w / "tools" / "status.sh").write_text("echo ok\n")
    status = {"type": "command", "command": "bash $CLAUDE_PROJECT_DIR/tools/status.sh"}
    (w / ".claude" / "settings.json").write_text(json.dumps({"statusLine": status}))
    calls = [reply(ToolCall("Write", file_call("Write", "tools/status.sh"))), reply(Text("ok"))]
    session, _ = scripted_in(w, calls, mode="acceptEdits", ask_policy="deny", trusted=True)
    async with session:
        events = await run_to_end(session, "go")
    asked = [e for e in events if e.type == "PERMISSION_REQUESTED"]
    assert asked and "protected" in asked[0].reason
    assert (w / "tools" / "status.sh").read_text() == "echo ok\n"
