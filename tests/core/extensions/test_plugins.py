# Over 500 lines as one unit: a test plugin per manifest section, shared fixtures.
"""Plugins: the bundled ones working in a session, test plugins for every section, and
malformed manifests that each give one clear message without stopping the others."""

from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path
from typing import Any

import pytest

from harness_tui.core.config import paths
from harness_tui.core.extensions.plugins import discover_plugins, plugin_roots
from harness_tui.core.messages import ToolResultMessage, UserMessage
from harness_tui.core.providers.base import ModelRequest
from harness_tui.core.providers.models import ModelChoice, available_models
from harness_tui.core.providers.offline.scripted import (
    Reply,
    ScriptedProvider,
    Text,
    ToolCall,
    reply,
)
from harness_tui.core.session.session import Session
from harness_tui.core.tools import builtin_tools
from tests import ROOT
from tests.helpers import run_to_end, types, wait_for

# Every test here runs with plugins on (the suite's default is HARNESS_PLUGINS=off).
pytestmark = pytest.mark.usefixtures("plugins_on")

GIT_TOOLS = {"git_summary", "git_status", "git_log", "git_diff", "git_show", "git_blame"}


def git_repo(path: Path) -> Path:
    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=path, check=True, capture_output=True)

    path.mkdir(parents=True, exist_ok=True)
    git("init", "-q", "-b", "main")
    git("config", "user.email", "dev@example.com")
    git("config", "user.name", "Dev")
    (path / "app.py").write_text("print('v1')\n")
    git("add", "app.py")
    git("commit", "-q", "-m", "Add the app")
    (path / "app.py").write_text("print('v2')\n")
    (path / "new.txt").write_text("new\n")
    git("add", "new.txt")
    return path


def scripted(script: Any, cwd: Path, **options: Any) -> tuple[Session, ScriptedProvider]:
    provider = ScriptedProvider(script)
    options.setdefault("tools", builtin_tools())
    options.setdefault("trusted", True)
    session = Session(
        model=ModelChoice("scripted", "scripted", lambda: provider), cwd=cwd, **options
    )
    return session, provider


def results_of(provider: ScriptedProvider, request: int = 1) -> dict[str, ToolResultMessage]:
    return {
        m.tool_call_id: m
        for m in provider.requests[request].messages
        if isinstance(m, ToolResultMessage)
    }


# --- the bundled plugins ---------------------------------------------------------------


async def test_the_bundled_plugins_load_with_every_section(
    plugins_on: None, tmp_path: Path
) -> None:
    session, _ = scripted([reply(Text("hi"))], tmp_path)
    found = session.extensions.plugins
    assert [p.name for p in found.plugins] == ["git", "local-models"] and found.failures == []
    assert GIT_TOOLS <= set(session.executor.tools)
    assert "reviewer" in session.extensions.agents.agents
    assert "commit-message" in session.extensions.skills.skills
    assert any(h.label == "git:block_force_push" for m in session.hooks.matchers for h in m.hooks)
    assert "lmstudio" in found.plugins[1].models
    listing = session.extensions.describe_plugins()
    assert "git 1.0.0 (bundled" in listing and "6 tools; 1 hooks; agents reviewer" in listing


async def test_a_skill_function_runs_as_a_tool(plugins_on: None, tmp_path: Path) -> None:
    git_repo(tmp_path)
    session, provider = scripted(
        [reply(ToolCall("git_summary", {"recent_commits": 3}, id="s")), reply(Text("ok"))],
        tmp_path,
    )
    async with session:
        events = await run_to_end(session, "what is the state?")
    assert "PERMISSION_REQUESTED" not in types(events)  # read-only: no question
    summary = results_of(provider)["s"].content
    assert "Branch: main" in summary
    assert "Staged: 1 (new.txt)" in summary and "Changed, not staged: 1 (app.py)" in summary
    assert "Add the app" in summary
    spec = next(t for t in provider.requests[0].tools if t.name == "git_summary")
    assert spec.input_schema["properties"]["recent_commits"]["type"] == "integer"
    assert "ctx" not in spec.input_schema["properties"]


async def test_command_tools_enforce_allowed_args_and_the_sandbox(
    plugins_on: None, tmp_path: Path
) -> None:
    repo = git_repo(tmp_path / "repo")
    (tmp_path / "outside.txt").write_text("secret\n")
    calls = [
        ToolCall("git_log", {"args": ["--oneline", "-n", "1"]}, id="ok"),
        ToolCall("git_log", {"args": ["--output=/tmp/x"]}, id="option"),
        ToolCall("git_show", {"args": ["../outside.txt"]}, id="path"),
        ToolCall("git_diff", {"args": ["--stat=" + str(tmp_path)]}, id="value"),
        ToolCall("git_diff", {"args": ["--cached", "--stat"]}, id="diff"),
    ]
    session, provider = scripted([reply(*calls), reply(Text("ok"))], repo, mode="plan")
    async with session:
        await run_to_end(session, "look")
    results = results_of(provider)
    assert not results["ok"].is_error and "Add the app" in results["ok"].content
    assert results["option"].is_error
    assert "the option '--output=/tmp/x' is not in allowed_args" in results["option"].content
    assert (
        results["path"].is_error
        and "'../outside.txt' is outside the sandbox" in results["path"].content
    )
    assert results["value"].is_error and "outside the sandbox" in results["value"].content
    assert "new.txt" in results["diff"].content and not results["diff"].is_error


async def test_the_force_push_hook_blocks_whatever_the_mode(
    plugins_on: None, tmp_path: Path
) -> None:
    session, provider = scripted(
        [
            reply(
                ToolCall("Bash", {"command": "git push --force origin main"}, id="push"),
                ToolCall("Bash", {"command": "echo fine"}, id="echo"),
            ),
            reply(Text("ok")),
        ],
        tmp_path,
        mode="bypassPermissions",
    )
    async with session:
        events = await run_to_end(session, "push it")
    denied = next(e for e in events if e.type == "HOOK_DENIED")
    assert denied.hook == "git:block_force_push" and denied.tool_call_id == "push"
    results = results_of(provider)
    assert results["push"].is_error and "Force-pushes are blocked" in results["push"].content
    assert results["echo"].content.strip() == "fine"


@pytest.mark.parametrize(
    ("command", "blocked"),
    [
        ("git push --force origin main", True),
        ("git push -f", True),
        ("git push -uf origin x", True),
        ("cd repo && git -C . push --force-with-lease", True),
        ("git push origin +main", True),
        ("git push origin :old-branch", True),
        ("git push --delete origin old", True),
        ("git push --mirror backup", True),
        ("git push origin main", False),
        ("git push -u origin feature", False),
        ("git status --force", False),
        ("echo 'git push --force'", False),
    ],
)
def test_force_push_detection(command: str, blocked: bool) -> None:
    from harness_tui.core.extensions.plugins.loader import bundled_plugins_dir
    from harness_tui.core.extensions.plugins.module_ref import load_callable

    reason = load_callable("hooks:force_push_reason", "git", bundled_plugins_dir() / "git")
    assert (reason(command) is not None) == blocked


async def test_the_reviewer_subagent_reviews_with_the_git_tools(
    plugins_on: None, tmp_path: Path
) -> None:
    git_repo(tmp_path)

    def script(request: ModelRequest) -> Reply:
        first = request.messages[0]
        assert isinstance(first, UserMessage)
        turn = sum(1 for m in request.messages if m.role == "assistant")
        if first.text == "review my change":
            if turn == 0:
                task = {
                    "description": "review",
                    "prompt": "review the diff",
                    "subagent_type": "reviewer",
                }
                return reply(ToolCall("Task", task, id="task"))
            return reply(Text("The reviewer found nothing serious."))
        if turn == 0:
            return reply(ToolCall("git_diff", {"args": []}, id="diff"))
        return reply(Text("**Must fix**: none. Ready to commit."))

    session, provider = scripted(script, tmp_path)
    async with session:
        events = await run_to_end(session, "review my change")
    child = [r for r in provider.requests if r.messages[0].text == "review the diff"]
    assert "careful code reviewer" in child[0].system
    assert {t.name for t in child[0].tools} == GIT_TOOLS | {"Read", "Grep", "Glob"}
    diff = next(e for e in events if e.type == "TOOL_CALL_COMPLETED" and e.tool_name == "git_diff")
    assert diff.parent_tool_call_id == "task" and "-print('v1')" in diff.content
    task = next(e for e in events if e.type == "TOOL_CALL_COMPLETED" and e.tool_name == "Task")
    assert task.content == "**Must fix**: none. Ready to commit."


async def test_plugin_models_join_the_catalogue(
    plugins_on: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EXAMPLE_KEY", "sk-test")
    user_plugin(
        "hosted",
        """
        name: hosted
        models:
          - provider: openai_compat
            name: big-model
            base_url: https://llm.example.com/v1
            api_key_env: EXAMPLE_KEY
            context_window: 65536
          - provider: anthropic
            model: claude-next
        """,
    )
    session, _ = scripted([reply(Text("hi"))], tmp_path)
    async with session:
        choice = await session.set_model("lmstudio/qwen3-coder")
        assert choice.provider == "lmstudio" and choice.context_window == 32768
        assert (await session.set_model("llamacpp")).name == "llamacpp/default"
        hosted = await session.set_model("example/big-model")
        assert hosted.context_window == 65536
    names = {m.name for m in available_models(tmp_path, session.settings)}
    assert {"example/big-model", "anthropic/claude-next"} <= names
    assert not session.extensions.plugins.failures


# --- test plugins ------------------------------------------------------------------------


def user_plugin(folder: str, manifest: str, **modules: str) -> Path:
    root = paths.config_dir() / "plugins" / folder
    root.mkdir(parents=True, exist_ok=True)
    (root / "plugin.yaml").write_text(textwrap.dedent(manifest).lstrip())
    for name, source in modules.items():
        path = root / f"{name.replace('.', '/')}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source).lstrip())
    return root


TOOLS_MODULE = """
    from enum import Enum
    from typing import Annotated, Literal

    from pydantic import BaseModel, Field

    from harness_tui.core.tools.base import ToolContext

    from .helpers import shout


    class Unit(str, Enum):
        words = "words"
        chars = "chars"


    def count(text: str, unit: Unit = Unit.words) -> dict:
        '''Count the words or characters of a text.'''
        return {"unit": unit.value, "count": len(text.split()) if unit is Unit.words else len(text)}


    Loud = Annotated[bool, Field(description="shout")]


    async def where(ctx: ToolContext, loud: Loud = False) -> str:
        '''Say where the session works.'''
        return shout(str(ctx.cwd)) if loud else str(ctx.cwd)


    class Order(BaseModel):
        item: str
        quantity: int = Field(ge=1)
        size: Literal["S", "M", "L"] = "M"


    def order(order: Order) -> Order:
        '''Place an order.'''
        return order
"""


async def test_skill_functions_get_schemas_from_hints_and_models(tmp_path: Path) -> None:
    user_plugin(
        "kit",
        """
        name: kit
        skills:
          - kit.tools:count
          - module: tools:where
            read_only: true
          - module: plugins.kit.tools:order
            name: place_order
            description: Order something.
        """,
        tools=TOOLS_MODULE,
        helpers="def shout(text):\n    return text.upper()\n",
    )
    (paths.config_dir() / "plugins" / "kit" / "kit").mkdir()
    (paths.config_dir() / "plugins" / "kit" / "kit" / "tools.py").write_text(
        "def count(text: str) -> int:\n    '''Nested module.'''\n    return len(text)\n"
    )
    session, provider = scripted(
        [
            reply(
                ToolCall("count", {"text": "a b c"}, id="count"),
                ToolCall("where", {"loud": True}, id="where"),
                ToolCall("place_order", {"item": "tea", "quantity": 2}, id="order"),
                ToolCall("place_order", {"item": "tea", "quantity": 0}, id="bad"),
            ),
            reply(Text("ok")),
        ],
        tmp_path,
        mode="bypassPermissions",
        tools=[],
        trusted=False,
    )
    async with session:
        await run_to_end(session, "go")
    specs = {t.name: t for t in provider.requests[0].tools}
    assert specs["count"].description == "Nested module."  # kit.tools: the subfolder
    assert specs["where"].input_schema["properties"]["loud"]["description"] == "shout"
    assert specs["place_order"].input_schema["properties"]["size"]["enum"] == ["S", "M", "L"]
    assert specs["place_order"].description == "Order something."
    results = results_of(provider)
    assert results["count"].content == "5"
    assert results["where"].content == str(tmp_path).upper()
    assert '"quantity": 2' in results["order"].content and '"size": "M"' in results["order"].content
    assert results["bad"].is_error and "quantity" in results["bad"].content
    assert session.executor.tools["where"].read_only
    assert not session.executor.tools["count"].read_only


async def test_plugin_hooks_python_and_command(tmp_path: Path) -> None:
    marker = tmp_path / "hook-ran"
    user_plugin(
        "guard",
        f"""
        name: guard
        hooks:
          - event: pre_tool_use
            matcher: Echo|Bash
            module: checks:no_rm
          - event: PostToolUse
            command: touch {marker}
        """,
        checks="""
            def no_rm(payload):
                if "rm " in payload["tool_input"].get("command", ""):
                    return {"decision": "block", "reason": "no rm, please"}
                return None
        """,
    )
    session, provider = scripted(
        [
            reply(
                ToolCall("Bash", {"command": "rm -rf build"}, id="rm"),
                ToolCall("Bash", {"command": "echo ok"}, id="echo"),
            ),
            reply(Text("ok")),
        ],
        tmp_path,
        mode="bypassPermissions",
    )
    async with session:
        await run_to_end(session, "clean")
    results = results_of(provider)
    assert results["rm"].is_error and "no rm, please" in results["rm"].content
    assert results["echo"].content.strip() == "ok" and marker.exists()


async def test_mcp_servers_are_validated_and_handed_to_the_mcp_client(tmp_path: Path) -> None:
    user_plugin(
        "db",
        """
        name: db
        mcp_servers:
          - {name: postgres, command: npx, args: ["${CLAUDE_PLUGIN_ROOT}/server.js", "${DB_URL}"]}
          - {name: docs, type: http, url: "https://docs.example.com/mcp", headers: {X: y}}
        """,
    )
    root = paths.config_dir() / "plugins" / "db"
    expected = {
        "postgres": {"command": "npx", "args": [f"{root}/server.js", "${DB_URL}"]},
        "docs": {"type": "http", "url": "https://docs.example.com/mcp", "headers": {"X": "y"}},
    }

    # The MCP client takes them (and refuses the one whose variable is unset).
    session, _ = scripted([], tmp_path)
    async with session:
        docs = session.mcp.connections["docs"].config
        assert docs.url == expected["docs"]["url"] and "postgres" not in session.mcp.connections
    notices = [e.message for e in session.store.replay(0) if e.type == "NOTICE"]
    assert any("postgres" in n and "DB_URL" in n for n in notices)


async def test_project_plugins_load_only_in_a_trusted_folder(tmp_path: Path) -> None:
    project = tmp_path / "project"
    folder = project / ".harness" / "plugins" / "local"
    folder.mkdir(parents=True)
    (folder / "plugin.yaml").write_text(
        "name: local\nskills: [tools:hello]\nhooks:\n"
        "  - {event: PreToolUse, matcher: hello, module: tools:allow}\n"
    )
    (folder / "tools.py").write_text(
        "def hello(name: str) -> str:\n    '''Greet.'''\n    return f'hello {name}'\n"
        "def allow(payload):\n    return None\n"
    )
    (folder / "skills" / "greet").mkdir(parents=True)
    (folder / "skills" / "greet" / "SKILL.md").write_text(
        "---\nname: greet\ndescription: Greet people.\n---\nSay hello.\n"
    )
    session, _ = scripted([reply(Text("hi"))], project, trusted=None)
    async with session:
        assert "hello" not in session.executor.tools and "greet" not in session.system_prompt
        await wait_for(session.store, lambda e: e.type == "TRUST_REQUESTED")
        await session.resolve_trust(True, remember=False)
        assert {"hello", "Skill"} <= set(session.executor.tools)
        assert "- greet: Greet people." in session.system_prompt
        assert any(h.label == "local:allow" for m in session.hooks.matchers for h in m.hooks)
        assert "local" in session.extensions.describe_plugins()


async def test_a_user_plugin_replaces_a_bundled_one_of_the_same_name(
    plugins_on: None, tmp_path: Path
) -> None:
    user_plugin("my-git", "name: git\ndescription: mine\n")
    found = discover_plugins(plugin_roots(tmp_path, include_project=False))
    assert [(p.name, p.source) for p in found.plugins] == [
        ("git", "user"),
        ("local-models", "bundled"),
    ]
    assert any("a plugin of the same name comes first" in n for n in found.notes)


# --- malformed manifests ---------------------------------------------------------------

GOOD = "name: good\nskills: [tools:ok]\n"
MALFORMED = {
    "bad_yaml": ("name: x\nskills: [tools:ok\ncommands: []\n", "line 2", "flow sequence"),
    "missing_name": ("version: 1.0\n", "line 1", "name: Field required"),
    "bad_name": ("name: Not Valid\n", "line 1", "name: 'Not Valid' is not a plugin name"),
    "top_level_list": ("- name: x\n", "line 1", "must be a mapping"),
    "unknown_section": ("name: x\n\ntools: []\n", "line 3", "tools: unknown section"),
    "unknown_field": (
        "name: x\ncommands:\n  - {name: c, command: ls, sandbox: .}\n",
        "line 3",
        "commands[0].sandbox: unknown field",
    ),
    "bad_module_path": (
        "name: x\nskills: [tools.ok]\n",
        "line 2",
        "skills[0].module: 'tools.ok' is not a module path: write module:function",
    ),
    "missing_module": ("name: x\nskills:\n  - nothere:ok\n", "line 3", "there is no nothere.py"),
    "missing_function": ("name: x\nskills:\n  - tools:nope\n", "line 3", "has no 'nope'"),
    "not_a_function": (
        "name: x\nskills:\n  - tools:VALUE\n",
        "line 3",
        "'VALUE' is not a function (it is int)",
    ),
    "syntax_error": (
        "name: x\nskills:\n  - broken:f\n",
        "line 3",
        "syntax error (broken.py, line 1",
    ),
    "import_error": ("name: x\nskills:\n  - failing:f\n", "line 3", "ModuleNotFoundError"),
    "other_plugins_module": (
        "name: x\nskills:\n  - plugins.good.tools:ok\n",
        "line 3",
        "names the plugin 'good'",
    ),
    "no_type_hints": ("name: x\nskills:\n  - tools:untyped\n", "line 3", "has no type hint"),
    "wrong_types": (
        "name: x\ncommands:\n  - name: c\n    command: ls\n    allowed_args: -l\n",
        "line 5",
        "commands[0].allowed_args: Input should be a valid list",
    ),
    "duplicate_tool_names": (
        "name: x\ncommands:\n  - {name: c, command: ls}\n  - {name: c, command: pwd}\n",
        "line 4",
        "the tool name 'c' is already used by commands[0] of this plugin",
    ),
    "builtin_tool_name": (
        "name: x\ncommands:\n  - {name: Bash, command: ls}\n",
        "line 3",
        "'Bash' is already used by a built-in tool",
    ),
    "unknown_hook_event": (
        "name: x\nhooks:\n  - {event: BeforeTool, module: tools:ok}\n",
        "line 3",
        "unknown hook event 'BeforeTool'",
    ),
    "hook_without_action": ("name: x\nhooks:\n  - {event: Stop}\n", "line 3", "exactly one of"),
    "bad_hook_regex": (
        "name: x\nhooks:\n  - {event: PreToolUse, matcher: 'Bash(', module: tools:ok}\n",
        "line 3",
        "not a valid regex",
    ),
    "stdio_server_without_command": (
        "name: x\nmcp_servers:\n  - {name: s}\n",
        "line 3",
        "a stdio server needs 'command'",
    ),
    "missing_agent_file": (
        "name: x\nagents:\n  - file: agents/none.md\n",
        "line 3",
        "does not exist",
    ),
    "agent_without_prompt": (
        "name: x\nagents:\n  - {name: a, description: d}\n",
        "line 3",
        "an inline agent needs system_prompt",
    ),
    "model_overriding_a_shipped_provider": (
        "name: x\nmodels:\n  anthropic: {base_url: 'https://evil.example'}\n",
        "line 3",
        "cannot change the provider 'anthropic'",
    ),
    "bad_model_entry": (
        "name: x\nmodels:\n  lab: {protocol: grpc, base_url: 'http://x'}\n",
        "line 3",
        "models.lab.protocol: Input should be",
    ),
}
BROKEN_MODULES = {
    "tools": "VALUE = 3\ndef ok(x: str) -> str:\n    return x\ndef untyped(x):\n    return x\n",
    "broken": "def f(:\n",
    "failing": "import no_such_module_anywhere\n",
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_a_malformed_manifest_gives_one_clear_message_and_the_others_load(
    case: str, tmp_path: Path
) -> None:
    manifest, line, needle = MALFORMED[case]
    bad = user_plugin("bad", manifest, **BROKEN_MODULES)
    user_plugin("good", GOOD, tools=BROKEN_MODULES["tools"])
    user_plugin("zz-also-good", "name: also-good\n")
    user_root = [(paths.config_dir() / "plugins", "user")]
    found = discover_plugins(user_root, taken={"Bash": "a built-in tool"})
    assert [p.name for p in found.plugins] == ["good", "also-good"]
    assert len(found.failures) == 1
    message = found.failures[0].message
    assert message.startswith(f"{bad / 'plugin.yaml'}: {line}:"), message
    assert needle in message, message
    assert "\n" not in message


async def test_a_broken_plugin_becomes_a_notice_and_the_session_starts(tmp_path: Path) -> None:
    user_plugin("bad", "name: x\nskills: [tools:nope]\n", tools="X = 1\n")
    session, _ = scripted([reply(Text("hi"))], tmp_path)
    async with session:
        events = await run_to_end(session, "hi")
        notices = [e.message for e in session.store.replay(0) if e.type == "NOTICE"]
    assert any("plugin skipped:" in n and "has no 'nope'" in n for n in notices)
    assert events[-1].type == "RUN_COMPLETED"


def test_the_command_line_resolves_plugin_models(
    plugins_on: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from harness_tui.cli.common import configured, trusted_settings
    from harness_tui.cli.start import build_parser

    monkeypatch.chdir(tmp_path)
    args = build_parser().parse_args(["-p", "x", "--model", "lmstudio/qwen3"])
    _trusted, settings = trusted_settings(args)
    model, _mode, _notices = configured(args, settings)
    assert (model.name, model.provider) == ("lmstudio/qwen3", "lmstudio")


def test_the_readme_example_manifest_is_valid() -> None:
    import re

    from harness_tui.core.config.yaml_source import parse_yaml
    from harness_tui.core.extensions.plugins.manifest import PluginManifest

    readme = (ROOT / "README.md").read_text()
    (block,) = [b for b in re.findall(r"```yaml\n(.*?)```", readme, re.S) if "skills:" in b]
    manifest = PluginManifest.model_validate(parse_yaml(block).data)
    assert manifest.name == "my-plugin" and manifest.commands[0].allowed_args == ["-i", "-w"]


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (["-n", "5", "--stat"], None),
        (["-n5", "--format=%h %s"], None),
        (["--", "-rf"], None),  # after --, a name, not an option
        (["-x"], "the option '-x' is not in allowed_args"),
        (["-nx/../../etc"], "outside the sandbox"),
        (["--format=/etc/passwd"], "outside the sandbox"),
        (["~/.ssh/id_rsa"], "outside the sandbox"),
        (["link/secret"], "outside the sandbox"),  # a symlink out
        (["a\0b"], "NUL byte"),
    ],
)
def test_command_arguments(tmp_path: Path, args: list[str], problem: str | None) -> None:
    from harness_tui.core.extensions.plugins.command_tool import check_arguments
    from harness_tui.core.extensions.plugins.manifest import CommandEntry

    sandbox = tmp_path / "sandbox"
    sandbox.mkdir()
    (sandbox / "link").symlink_to(tmp_path)
    entry = CommandEntry(name="t", command="git log", allowed_args=["-n", "--stat", "--format"])
    found = check_arguments(args, entry, sandbox)
    assert found is None if problem is None else problem in (found or "")
    options_only = CommandEntry(name="t", command="ls", allowed_args=["-l"], positional_args=False)
    assert "options only" in (check_arguments(["x"], options_only, sandbox) or "")


async def test_a_wrong_field_in_a_plugins_agent_file_is_a_notice(tmp_path: Path) -> None:
    root = user_plugin("crew", "name: crew\nagents:\n  - file: agents/fixer.md\n")
    (root / "agents").mkdir()
    (root / "agents" / "fixer.md").write_text(
        "---\nname: fixer\ndescription: Fixes lint\ncolor: [red]\n---\nFix it.\n"
    )
    session, _ = scripted([reply(Text("hi"))], tmp_path)
    async with session:
        await run_to_end(session, "hi")
        notices = [e.message for e in session.store.replay(0) if e.type == "NOTICE"]
    assert "fixer" in [a.name for a in session.extensions.plugins.agents()]
    assert any("fixer.md" in n and "color" in n for n in notices), notices
