"""More of ``harness-tui acp`` through the SDK's client side: workspace trust asked in
the editor, steering and follow-ups (our extension methods), an MCP server the editor
passes, images and file mentions in a prompt, custom slash commands, and the errors a
client gets for what it cannot do."""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest

from tests.acp.test_acp_agent import TIMEOUT_S, Editor, script, spawn
from tests.helpers import png

acp = pytest.importorskip("acp", reason="the [acp] extra (agent-client-protocol) is not installed")
from acp.schema import McpServerStdio  # noqa: E402


def write_once() -> dict[str, Any]:
    return {"tool_calls": [{"name": "Write", "input": {"file_path": "a.txt", "content": "a"}}]}


def project_with_settings(tmp_path: Path) -> Path:
    """A folder whose own settings allow Write without asking (they apply only once
    the folder is trusted)."""
    project = tmp_path / "project"
    (project / ".claude").mkdir(parents=True)
    settings = {"permissions": {"allow": ["Write"]}}
    (project / ".claude" / "settings.json").write_text(json.dumps(settings))
    return project


@pytest.mark.parametrize(("answer", "asked_for_write"), [("trust_once", False), ("no", True)])
async def test_workspace_trust_is_asked_in_the_editor(
    tmp_path: Path, answer: str, asked_for_write: bool
) -> None:
    project = project_with_settings(tmp_path)
    model = script(tmp_path, [write_once(), {"text": "ok"}])
    editor = Editor(answers=[answer, "allow_once"])
    with anyio.fail_after(TIMEOUT_S):
        async with spawn(editor, tmp_path, "--model", model) as (conn, _):
            await conn.initialize(protocol_version=acp.PROTOCOL_VERSION)
            sid = (await conn.new_session(cwd=str(project), mcp_servers=[])).session_id
            await conn.prompt(session_id=sid, prompt=[acp.text_block("write a.txt")])
    trust_call, trust_options = editor.asked[0]
    assert trust_call.title.startswith(f"Trust {project}?")
    assert ".claude/settings.json" in trust_call.title
    assert [o.option_id for o in trust_options] == ["trust_always", "trust_once", "no"]
    # Trusted, the folder's allow rule applies: the Write is not asked about.
    assert (len(editor.asked) == 2) is asked_for_write
    assert (project / "a.txt").read_text() == "a"
    status = [u.status for u in editor.of("tool_call_update") if u.tool_call_id.startswith("trust")]
    assert status == ["failed" if answer == "no" else "completed"]


async def test_steering_and_a_follow_up(tmp_path: Path) -> None:
    """A steer reaches the running prompt at its next turn; a follow-up runs after it
    and streams without a prompt request of its own."""
    project = tmp_path / "project"
    project.mkdir()
    wait = "while [ ! -e go ]; do sleep 0.02; done; echo released"
    model = script(
        tmp_path,
        [
            {"tool_calls": [{"name": "Bash", "input": {"command": wait}}]},
            {"text": "Steered answer."},
            {"text": "Follow-up answer."},
        ],
    )
    editor = Editor()
    with anyio.fail_after(TIMEOUT_S):
        async with spawn(editor, tmp_path, "--model", model, "--mode", "bypassPermissions") as (
            conn,
            _,
        ):
            await conn.initialize(protocol_version=acp.PROTOCOL_VERSION)
            sid = (await conn.new_session(cwd=str(project), mcp_servers=[])).session_id
            result: dict[str, Any] = {}
            async with anyio.create_task_group() as group:

                async def first() -> None:
                    result["r"] = await conn.prompt(
                        session_id=sid, prompt=[acp.text_block("wait for go")]
                    )

                group.start_soon(first)
                await editor.until(lambda u: u.session_update == "tool_call")
                steer = await conn.ext_method("harness/steer", {"sessionId": sid, "text": "hurry"})
                follow = await conn.ext_method(
                    "harness/follow_up", {"sessionId": sid, "text": "and then this"}
                )
                assert steer == {"queued": True} and follow == {"queued": True}
                (project / "go").touch()
            assert result["r"].stop_reason == "end_turn"
            await editor.until(
                lambda u: (
                    u.session_update == "agent_message_chunk" and "Follow-up" in u.content.text
                )
            )
            with pytest.raises(acp.RequestError, match="needs sessionId and a non-empty text"):
                await conn.ext_method("harness/steer", {"sessionId": sid})
            with pytest.raises(acp.RequestError):
                await conn.ext_method("harness/nothing", {})
            listed = await conn.list_sessions(cwd=str(project))
            assert [s.session_id for s in listed.sessions] == [sid]
    text = editor.text()
    assert text.index("Steered answer.") < text.index("Follow-up answer.")
    from harness_tui.core.storage.saved import load_session

    saved = load_session(str(tmp_path / "data" / "sessions" / f"{sid}.jsonl"))
    messages = saved.tree.context(saved.head).messages
    sources = [(m.source, m.content[0].text) for m in messages if m.role == "user"]
    assert ("steering", "hurry") in sources and ("follow_up", "and then this") in sources


async def test_an_mcp_server_from_the_editor(tmp_path: Path) -> None:
    """The editor's stdio server (PyPI's mcp-server-time) joins the session's tools."""
    project = tmp_path / "project"
    project.mkdir()
    call = {"name": "mcp__time__get_current_time", "input": {"timezone": "UTC"}}
    model = script(tmp_path, [{"tool_calls": [call]}, {"text": "It is now."}])
    server = McpServerStdio(
        name="time",
        command=sys.executable,
        args=["-m", "mcp_server_time", "--local-timezone", "UTC"],
        env=[],
    )
    editor = Editor(answers=["allow_once"])
    with anyio.fail_after(TIMEOUT_S):
        async with spawn(editor, tmp_path, "--model", model) as (conn, _):
            await conn.initialize(protocol_version=acp.PROTOCOL_VERSION)
            sid = (await conn.new_session(cwd=str(project), mcp_servers=[server])).session_id
            await conn.prompt(session_id=sid, prompt=[acp.text_block("what time is it?")])
    started = editor.of("tool_call")[0]
    assert started.title == "time: get_current_time" and started.kind == "other"
    ended = editor.of("tool_call_update")[-1]
    assert ended.status == "completed"
    assert '"timezone": "UTC"' in ended.content[0].content.text


async def test_images_mentions_and_commands(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / ".claude" / "commands").mkdir(parents=True)
    (project / ".claude" / "commands" / "greet.md").write_text(
        "---\ndescription: Say hello\n---\nSay hello to $ARGUMENTS."
    )
    (project / "notes.md").write_text("remember the milk\n")
    from harness_tui.core.config.trust import FILE_NAME, TrustStore

    env_data = tmp_path / "data"
    model = script(tmp_path, [{"text": "Seen."}, {"text": "Hello, Ada."}])
    editor = Editor()
    with anyio.fail_after(TIMEOUT_S):
        async with spawn(editor, tmp_path, "--model", model) as (conn, _):
            await conn.initialize(protocol_version=acp.PROTOCOL_VERSION)
            TrustStore(env_data / FILE_NAME).trust(project)
            sid = (await conn.new_session(cwd=str(project), mcp_servers=[])).session_id
            commands = await editor.until(lambda u: u.session_update == "available_commands_update")
            assert "greet" in {c.name for c in commands.available_commands}
            picture = acp.image_block(base64.b64encode(png(8, 8)).decode(), "image/png")
            mention = acp.resource_link_block(name="notes.md", uri=f"file://{project / 'notes.md'}")
            await conn.prompt(
                session_id=sid, prompt=[acp.text_block("what is this?"), picture, mention]
            )
            await conn.prompt(session_id=sid, prompt=[acp.text_block("/greet Ada")])
            with pytest.raises(acp.RequestError, match="not valid base64"):
                await conn.prompt(session_id=sid, prompt=[acp.image_block("%%%", "image/png")])
            with pytest.raises(acp.RequestError, match="no open session 'ses_nope'"):
                await conn.prompt(session_id="ses_nope", prompt=[acp.text_block("hi")])
            with pytest.raises(acp.RequestError, match="cwd must be an absolute path"):
                await conn.new_session(cwd="relative/path", mcp_servers=[])
            with pytest.raises(acp.RequestError, match="does not exist; open a folder"):
                await conn.new_session(cwd=str(tmp_path / "gone"), mcp_servers=[])
            with pytest.raises(acp.RequestError, match="is not a folder"):
                await conn.new_session(cwd=str(project / "notes.md"), mcp_servers=[])
    from harness_tui.core.storage.saved import load_session

    saved = load_session(str(env_data / "sessions" / f"{sid}.jsonl"))
    users = [m for m in saved.tree.context(saved.head).messages if m.role == "user"]
    kinds = [b.type for b in users[0].content]
    assert "image" in kinds
    assert "remember the milk" in json.dumps(users[0].model_dump())  # the mention, read
    assert "Say hello to Ada." in json.dumps(users[1].model_dump())


async def test_a_budget_stops_the_prompt(tmp_path: Path) -> None:
    """``--max-budget-usd``: the prompt ends before the request that would pass it, with
    ACP's max_turn_requests and the reason shown in the editor."""
    project = tmp_path / "project"
    project.mkdir()
    priced = {"input_tokens": 1000, "output_tokens": 20, "cost_usd": 0.10}
    look = {"tool_calls": [{"name": "Glob", "input": {"pattern": "*"}}], "usage": priced}
    model = script(tmp_path, [look, look, look, {"text": "never reached"}])
    editor = Editor()
    with anyio.fail_after(TIMEOUT_S):
        async with spawn(editor, tmp_path, "--model", model, "--max-budget-usd", "0.25") as (
            conn,
            _,
        ):
            await conn.initialize(protocol_version=acp.PROTOCOL_VERSION)
            sid = (await conn.new_session(cwd=str(project), mcp_servers=[])).session_id
            done = await conn.prompt(session_id=sid, prompt=[acp.text_block("look around")])
    assert done.stop_reason == "max_turn_requests"
    assert len(editor.of("tool_call")) == 2  # $0.20 spent; a third would make $0.30
    assert "budget" in editor.text() and "never reached" not in editor.text()


async def test_an_mcp_servers_questions_reach_the_editor(tmp_path: Path) -> None:
    """A server's sampling request is asked in the editor; its form (elicitation), which
    ACP cannot show, is declined and named."""
    from acp.schema import HttpMcpServer

    from tests.mcp_servers import demo_server, serve_http

    project = tmp_path / "project"
    project.mkdir()
    path = tmp_path / "script.json"
    path.write_text(
        json.dumps(
            {
                "responses": [
                    {"tool_calls": [{"name": "mcp__demo__haiku", "input": {"topic": "rain"}}]},
                    {"tool_calls": [{"name": "mcp__demo__who", "input": {}}]},
                    {"text": "done"},
                ],
                "sampling": [{"text": "Soft rain on the roof"}],
            }
        )
    )
    editor = Editor(answers=["approve"])
    async with serve_http(demo_server()) as url:
        server = HttpMcpServer(name="demo", url=url, headers=[], type="http")
        with anyio.fail_after(TIMEOUT_S):
            async with spawn(
                editor, tmp_path, "--model", f"scripted:{path}", "--mode", "bypassPermissions"
            ) as (conn, _):
                await conn.initialize(protocol_version=acp.PROTOCOL_VERSION)
                sid = (await conn.new_session(cwd=str(project), mcp_servers=[server])).session_id
                await conn.prompt(session_id=sid, prompt=[acp.text_block("a haiku, then who")])
    ((question, offered),) = editor.asked
    assert question.title.startswith("MCP server demo asks to use the model")
    assert [o.option_id for o in offered] == ["approve", "decline"]
    results = {
        u.tool_call_id: u.content[0].content.text
        for u in editor.of("tool_call_update")
        if u.status in ("completed", "failed") and u.content
    }
    assert any("wrote: Soft rain on the roof" in text for text in results.values())
    assert any("no answer (decline)" in text for text in results.values())
    assert "asked for input: Who are you?" in editor.text()
