"""``/rename`` from an editor: the session gets its name, the editor is told with a
``session_info_update``, and ``session/list`` titles the session by its name."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from tests.acp.test_acp_agent import TIMEOUT_S, Editor, script, spawn

acp = pytest.importorskip("acp", reason="the [acp] extra (agent-client-protocol) is not installed")


async def test_rename_from_the_editor(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    model = script(tmp_path, [{"text": "Hello."}])
    editor = Editor()
    with anyio.fail_after(TIMEOUT_S):
        async with spawn(editor, tmp_path, "--model", model) as (conn, _):
            await conn.initialize(protocol_version=acp.PROTOCOL_VERSION)
            sid = (await conn.new_session(cwd=str(project), mcp_servers=[])).session_id
            commands = await editor.until(lambda u: u.session_update == "available_commands_update")
            assert "rename" in [c.name for c in commands.available_commands]
            await conn.prompt(session_id=sid, prompt=[acp.text_block("say hello")])
            done = await conn.prompt(session_id=sid, prompt=[acp.text_block("/rename greeting")])
            assert done.stop_reason == "end_turn"
            info = await editor.until(lambda u: u.session_update == "session_info_update")
            assert info.title == "greeting"
    # Another process (the first one gone, its file complete) lists it by its name.
    with anyio.fail_after(TIMEOUT_S):
        async with spawn(Editor(), tmp_path) as (conn, _):
            await conn.initialize(protocol_version=acp.PROTOCOL_VERSION)
            listed = await conn.list_sessions(cwd=str(project))
    assert [(s.session_id, s.title) for s in listed.sessions] == [(sid, "greeting")]
