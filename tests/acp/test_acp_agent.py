"""``harness-tui acp`` driven by the Agent Client Protocol SDK's own client side
(``acp.spawn_agent_process``: what an editor such as Toad uses), against a real
``harness-tui acp`` process with a scripted model: a prompt whose tool call asks
permission and is answered, a second prompt cancelled mid-stream, mode and model
switches, listing, and loading the saved session in a new process."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest

acp = pytest.importorskip("acp", reason="the [acp] extra (agent-client-protocol) is not installed")
from acp.schema import (  # noqa: E402
    AllowedOutcome,
    DeniedOutcome,
    RequestPermissionResponse,
)

TIMEOUT_S = 60


class Editor:
    """The client side: records updates, answers permission questions from a list."""

    def __init__(self, answers: list[str] | None = None) -> None:
        self.updates: list[Any] = []
        self.asked: list[Any] = []
        self.answers = list(answers or [])
        self.changed = anyio.Event()

    def on_connect(self, conn: Any) -> None:
        self.conn = conn

    async def session_update(self, session_id: str, update: Any, **_: Any) -> None:
        self.updates.append(update)
        self.changed.set()
        self.changed = anyio.Event()

    async def request_permission(
        self, session_id: str, tool_call: Any, options: list[Any], **_: Any
    ) -> RequestPermissionResponse:
        self.asked.append((tool_call, options))
        if not self.answers:
            return RequestPermissionResponse(outcome=DeniedOutcome(outcome="cancelled"))
        return RequestPermissionResponse(
            outcome=AllowedOutcome(outcome="selected", option_id=self.answers.pop(0))
        )

    async def until(self, check: Any) -> Any:
        """The first update ``check`` accepts, waiting for more as they come."""
        with anyio.fail_after(TIMEOUT_S):
            seen = 0
            while True:
                for update in self.updates[seen:]:
                    if check(update):
                        return update
                seen = len(self.updates)
                await self.changed.wait()

    def of(self, kind: str) -> list[Any]:
        return [u for u in self.updates if u.session_update == kind]

    def text(self) -> str:
        return "".join(u.content.text for u in self.of("agent_message_chunk"))


def script(folder: Path, replies: list[dict[str, Any]]) -> str:
    path = folder / "script.json"
    path.write_text(json.dumps({"responses": replies}))
    return f"scripted:{path}"


def agent_env(tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "HARNESS_DATA_DIR": str(tmp_path / "data"),
        "HARNESS_WARM": "0",
        "HARNESS_PLUGINS": "off",
    }


def spawn(editor: Editor, tmp_path: Path, *args: str) -> Any:
    return acp.spawn_agent_process(
        editor, sys.executable, "-m", "harness_tui", "acp", *args,
        env=agent_env(tmp_path), cwd=str(tmp_path),
    )  # fmt: skip


async def test_a_session_from_an_editor(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    model = script(
        tmp_path,
        [
            {
                "text": "I'll write it.",
                "usage": {"input_tokens": 1200, "output_tokens": 30},
                "tool_calls": [
                    {"name": "Write", "input": {"file_path": "hello.txt", "content": "hi\n"}}
                ],
            },
            {"text": "Done: hello.txt is written."},
            {"steps": [{"text": "Starting a long answer"}, {"sleep": 120}, {"text": "never"}]},
        ],
    )
    editor = Editor(answers=["allow_once"])
    with anyio.fail_after(TIMEOUT_S * 2):
        async with spawn(editor, tmp_path, "--model", model) as (conn, _process):
            init = await conn.initialize(protocol_version=acp.PROTOCOL_VERSION)
            assert init.protocol_version == acp.PROTOCOL_VERSION
            assert init.agent_capabilities.load_session is True
            assert init.agent_capabilities.prompt_capabilities.image is True
            assert init.agent_info.name == "harness-tui"

            new = await conn.new_session(cwd=str(project), mcp_servers=[])
            sid = new.session_id
            assert new.modes.current_mode_id == "default"
            assert {m.id for m in new.modes.available_modes} == {
                "default", "acceptEdits", "plan", "bypassPermissions",
            }  # fmt: skip
            options = {o.id: o for o in new.config_options}
            assert options["model"].current_value == model
            assert options["mode"].current_value == "default"
            # The slash commands arrive once the client knows the session.
            commands = await editor.until(lambda u: u.session_update == "available_commands_update")
            assert "compact" in {c.name for c in commands.available_commands}

            # 1. A prompt whose Write asks permission; the editor allows it once.
            done = await conn.prompt(
                session_id=sid, prompt=[acp.text_block("write hello.txt saying hi")]
            )
            assert done.stop_reason == "end_turn"
            assert (project / "hello.txt").read_text() == "hi\n"
            ((tool_call, offered),) = editor.asked
            assert tool_call.kind == "edit"
            assert [o.option_id for o in offered] == [
                "allow_once", "allow_session", "allow_always", "deny",
            ]  # fmt: skip
            assert {o.kind for o in offered} == {"allow_once", "allow_always", "reject_once"}
            started = editor.of("tool_call")[0]
            assert started.kind == "edit" and started.title == "Write hello.txt"
            diff = started.content[0]
            assert diff.type == "diff" and diff.new_text == "hi\n" and diff.old_text is None
            assert diff.path == str(project / "hello.txt")
            assert [u.status for u in editor.of("tool_call_update")][-1] == "completed"
            assert "I'll write it." in editor.text()
            usage = editor.of("usage_update")[-1]  # how full the context is, for the editor
            assert 0 < usage.used < usage.size
            assert "Done: hello.txt is written." in editor.text()

            # 2. A prompt cancelled while its answer streams.
            async with anyio.create_task_group() as group:
                result: dict[str, Any] = {}

                async def second() -> None:
                    result["r"] = await conn.prompt(
                        session_id=sid, prompt=[acp.text_block("tell me a long story")]
                    )

                group.start_soon(second)
                await editor.until(
                    lambda u: u.session_update == "agent_message_chunk" and "long" in u.content.text
                )
                await conn.cancel(session_id=sid)
            assert result["r"].stop_reason == "cancelled"
            assert "never" not in editor.text()

            # 3. Mode and model switches.
            await conn.set_session_mode(session_id=sid, mode_id="acceptEdits")
            mode = await editor.until(lambda u: u.session_update == "current_mode_update")
            assert mode.current_mode_id == "acceptEdits"
            switched = await conn.set_config_option(config_id="model", session_id=sid, value="demo")
            current = {o.id: o.current_value for o in switched.config_options}
            assert current == {"mode": "acceptEdits", "model": "demo"}
            update = await editor.until(
                lambda u: (
                    u.session_update == "config_option_update"
                    and any(o.current_value == "demo" for o in u.config_options)
                )
            )
            assert update is not None
            with pytest.raises(acp.RequestError, match=r"unknown mode 'yolo'; use one of default"):
                await conn.set_session_mode(session_id=sid, mode_id="yolo")

            listed = await conn.list_sessions(cwd=str(project))
            assert sid in [s.session_id for s in listed.sessions]
            assert listed.sessions[0].title.startswith("write hello.txt")

    # 4. Another process loads the saved session: the conversation is replayed first.
    again = Editor()
    with anyio.fail_after(TIMEOUT_S):
        async with spawn(again, tmp_path) as (conn, _process):
            await conn.initialize(protocol_version=acp.PROTOCOL_VERSION)
            loaded = await conn.load_session(cwd=str(project), session_id=sid, mcp_servers=[])
            assert loaded.modes.current_mode_id == "acceptEdits"
            users = [u.content.text for u in again.of("user_message_chunk")]
            assert users[:2] == ["write hello.txt saying hi", "tell me a long story"]
            assert [u.title for u in again.of("tool_call")] == ["Write hello.txt"]
            assert again.of("tool_call_update")[0].status == "completed"
            assert "Done: hello.txt is written." in again.text()
