"""MCP over streamable HTTP (and SSE) against servers built with the SDK's own server
class, in the test's event loop: tools, progress, a list change, a resource, a prompt,
media results, and what servers ask of the client (sampling, elicitation, roots)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import pytest

from harness_tui.core.errors import HarnessError
from harness_tui.core.events import Event
from harness_tui.core.messages import ToolResultMessage, UserMessage
from harness_tui.core.providers.offline.scripted import ScriptedProvider, Text, ToolCall, reply
from harness_tui.core.session.session import Session
from tests.core.mcp.test_mcp_stdio import mcp_session, server_status, statuses
from tests.helpers import png, run_to_end, squeeze, types, wait_for
from tests.mcp_servers import PNG_B64, demo_server, serve_http, write_mcp_json


@asynccontextmanager
async def demo_session(
    tmp_path: Path, url: str, *replies, **options
) -> AsyncIterator[tuple[Session, ScriptedProvider]]:
    """An open session whose server ``demo`` (at ``url``) is ready."""
    session, provider = mcp_session(
        tmp_path, {"demo": {"type": "http", "url": url}}, *replies, **options
    )
    async with session:
        ready = await server_status(session, "demo", "ready", "failed")
        assert ready.status == "ready", ready.error
        yield session, provider


async def test_tools_resources_and_prompts_are_listed(tmp_path: Path) -> None:
    async with serve_http(demo_server()) as url:
        async with demo_session(tmp_path, url) as (session, _):
            ready = [e for e in session.store.replay(0) if e.type == "MCP_SERVER_STATUS"][-1]
            assert (ready.transport, ready.tools, ready.resources, ready.prompts) == (
                "http",
                10,
                1,
                1,
            )
            assert ready.target == url.replace("http://", "http://") + " (http)"
            [view] = session.mcp.snapshot()
            assert view.status == "ready"
            assert ("memo://readme", "The read-me.") in view.resources
            assert view.prompts == (("review", "Review some code."),)
            assert "mcp__demo__count" in dict(view.tools)


async def test_progress_notifications_update_the_tool_card(tmp_path: Path) -> None:
    async with serve_http(demo_server()) as url:
        async with demo_session(
            tmp_path,
            url,
            reply(ToolCall("mcp__demo__count", {"steps": 3})),
            reply(Text("done")),
        ) as (session, provider):
            events = await run_to_end(session, "count")
    assert squeeze(types(events))[3:6] == [
        "TOOL_CALL_STARTED",
        "TOOL_CALL_PROGRESS",
        "TOOL_CALL_COMPLETED",
    ]
    progress = [e for e in events if e.type == "TOOL_CALL_PROGRESS"]
    assert [(p.progress, p.total, p.status) for p in progress] == [
        (1, 3, "step 1"),
        (2, 3, "step 2"),
        (3, 3, "step 3"),
    ]
    assert provider.requests[1].messages[-1].content == "counted to 3"


async def test_tools_list_changed_refreshes_the_tools(tmp_path: Path) -> None:
    async with serve_http(demo_server()) as url:
        async with demo_session(
            tmp_path,
            url,
            reply(ToolCall("mcp__demo__grow", {})),
            reply(Text("grown")),
            reply(ToolCall("mcp__demo__extra", {})),
            reply(Text("used it")),
        ) as (session, provider):
            assert "mcp__demo__extra" not in session.executor.tools
            await run_to_end(session, "grow")
            await wait_for(
                session.store,
                lambda e: e.type == "MCP_SERVER_STATUS" and e.status == "ready" and e.tools == 11,
            )
            events = await run_to_end(session, "use the new tool")
    assert "mcp__demo__extra" in {t.name for t in provider.requests[2].tools}
    assert next(e for e in events if e.type == "TOOL_CALL_COMPLETED").content == "extra!"
    notices = [e.message for e in session.store.replay(0) if e.type == "NOTICE"]
    assert "MCP server demo: its tools changed (+1)" in notices


async def test_is_error_and_media_results(tmp_path: Path) -> None:
    async with serve_http(demo_server()) as url:
        async with demo_session(
            tmp_path,
            url,
            reply(ToolCall("mcp__demo__broken", {}), ToolCall("mcp__demo__media", {})),
            reply(Text("ok")),
        ) as (session, provider):
            events = await run_to_end(session, "go")
    failed = next(e for e in events if e.type == "TOOL_CALL_FAILED")
    assert failed.kind == "tool_error" and "the widget is jammed" in failed.error
    media = next(e for e in events if e.type == "TOOL_CALL_COMPLETED")
    lines = media.content.splitlines()
    assert lines[0] == "three things:"
    assert lines[1] == f"[image: image/png, {len(png(30, 30))} bytes]"
    assert lines[2] == "[resource link: readme <memo://readme>]"
    assert lines[3:] == ["[resource memo://inline]", "inline text"]
    assert media.details["media"][0]["mime_type"] == "image/png"
    assert media.details["resource_links"] == ["memo://readme"]
    assert PNG_B64[:40] not in json.dumps(media.model_dump())  # no image bytes in events
    results = [m for m in provider.requests[1].messages if isinstance(m, ToolResultMessage)]
    assert [r.is_error for r in results] == [True, False]
    # The image itself travels with the result, for models that can see it.
    assert [(i.media_type, i.data) for i in results[1].images] == [("image/png", PNG_B64)]


async def test_a_resource_mention_is_attached_to_the_message(tmp_path: Path) -> None:
    async with serve_http(demo_server()) as url:
        async with demo_session(tmp_path, url, reply(Text("read it"))) as (session, provider):
            await run_to_end(session, "Summarise @demo:memo://readme, please. And @nobody:x")
            missing_before = [e for e in session.store.replay(0) if e.type == "NOTICE"]
    prompt = provider.requests[0].messages[0]
    assert isinstance(prompt, UserMessage)
    texts = [b.text for b in prompt.content]
    assert texts[1] == "[contents of @demo:memo://readme]\nhello from the readme"
    assert len(texts) == 2  # @nobody is not a server: left alone
    assert not [n for n in missing_before if "not attached" in n.message]


async def test_an_unreadable_mention_is_a_notice(tmp_path: Path) -> None:
    async with serve_http(demo_server()) as url:
        async with demo_session(tmp_path, url, reply(Text("hm"))) as (session, provider):
            await run_to_end(session, "look at @demo:memo://missing")
    assert len(provider.requests[0].messages[0].content) == 1
    notice = next(e for e in session.store.replay(0) if e.type == "NOTICE")
    assert notice.message.startswith("@demo:memo://missing not attached: reading memo://missing")


async def test_prompts_become_commands(tmp_path: Path) -> None:
    async with serve_http(demo_server()) as url:
        async with demo_session(tmp_path, url) as (session, _):
            assert session.mcp.prompt_commands() == [
                ("mcp__demo__review", "Review some code. <code> [style]")
            ]
            text = await session.mcp.render_prompt("mcp__demo__review", "x=1")
            assert text == "Please review (terse): x=1"
            text = await session.mcp.render_prompt("mcp__demo__review", '"a = b" very kind')
            assert text == "Please review (very kind): a = b"
            with pytest.raises(HarnessError, match="needs code"):
                await session.mcp.render_prompt("mcp__demo__review", "")
            with pytest.raises(HarnessError, match="has no prompt 'nope'"):
                await session.mcp.render_prompt("mcp__demo__nope", "")
            with pytest.raises(HarnessError, match="no MCP server named 'zz'"):
                await session.mcp.render_prompt("mcp__zz__review", "")


async def test_server_log_messages_are_events_and_kept_for_the_log_view(tmp_path: Path) -> None:
    async with serve_http(demo_server()) as url:
        async with demo_session(
            tmp_path, url, reply(ToolCall("mcp__demo__chatty", {})), reply(Text("ok"))
        ) as (session, _):
            await run_to_end(session, "log something")
            await wait_for(
                session.store, lambda e: e.type == "MCP_SERVER_LOG" and e.level == "info"
            )
            [view] = session.mcp.snapshot()
    logs = [e for e in session.store.replay(0) if e.type == "MCP_SERVER_LOG"]
    assert [(e.server, e.level, e.logger, e.message) for e in logs] == [
        ("demo", "warning", "disk", "disk almost full"),
        ("demo", "info", "disk", '{"free_gb": 2}'),
    ]
    assert view.log_lines == ("warning: disk almost full", 'info: {"free_gb": 2}')


async def test_plugins_add_servers_to_an_open_session(tmp_path: Path) -> None:
    from harness_tui.core.mcp import McpConfigError

    async with serve_http(demo_server()) as url:
        session, _ = mcp_session(tmp_path, {}, reply(ToolCall("mcp__clock__count", {"steps": 1})))
        async with session:
            warnings = session.mcp.add_server(
                "clock", {"type": "http", "url": url, "colour": "red"}, source="plugin clocks"
            )
            assert warnings == [
                "plugin clocks: server 'clock': ignored 'colour' (http servers take headers, "
                "oauth, type, url)"
            ]
            ready = await server_status(session, "clock", "ready")
            with pytest.raises(McpConfigError, match="plugin bad: server 'x', field 'command'"):
                session.mcp.add_server("x", {"args": []}, source="plugin bad")
            with pytest.raises(HarnessError, match="already configured in plugin clocks"):
                session.mcp.add_server("clock", {"command": "x"}, source="plugin other")
    assert ready.source == "plugin clocks" and ready.tools == 10


async def test_headers_reach_the_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEMO_TOKEN", "s3cret")
    async with serve_http(demo_server()) as url:
        entry = {"type": "http", "url": url, "headers": {"Authorization": "Bearer ${DEMO_TOKEN}"}}
        session, _ = mcp_session(
            tmp_path, {"demo": entry}, reply(ToolCall("mcp__demo__whoami", {})), reply(Text("k"))
        )
        async with session:
            await server_status(session, "demo", "ready")
            events = await run_to_end(session, "who")
    done = next(e for e in events if e.type == "TOOL_CALL_COMPLETED")
    assert done.content == "Bearer s3cret"
    # The header is the server's business: no other event carries it.
    others = [e for e in session.store.replay(0) if e.event_id != done.event_id]
    assert "s3cret" not in "".join(e.model_dump_json() for e in others)


async def test_sse_transport(tmp_path: Path) -> None:
    import socket

    import uvicorn

    server = demo_server()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    host = uvicorn.Server(uvicorn.Config(server.sse_app(), log_level="error"))
    async with anyio.create_task_group() as group:
        group.start_soon(lambda: host.serve(sockets=[sock]))
        while not host.started:  # noqa: ASYNC110
            await anyio.sleep(0.01)
        session, _ = mcp_session(
            tmp_path,
            {"old": {"type": "sse", "url": f"http://127.0.0.1:{port}/sse"}},
            reply(ToolCall("mcp__old__count", {"steps": 2})),
            reply(Text("ok")),
        )
        async with session:
            ready = await server_status(session, "old", "ready", "failed")
            assert ready.status == "ready", ready.error
            events = await run_to_end(session, "count")
        host.should_exit = True
    assert next(e for e in events if e.type == "TOOL_CALL_COMPLETED").content == "counted to 2"
    assert statuses(session, "old")[-1] == "stopped"


async def test_an_http_server_that_is_down_fails_visibly(tmp_path: Path) -> None:
    session, _ = mcp_session(
        tmp_path, {"down": {"type": "http", "url": "http://127.0.0.1:9/mcp"}}, reply(Text("ok"))
    )
    async with session:
        failed = await server_status(session, "down", "failed", "ready")
        events = await run_to_end(session, "still usable?")
    assert failed.status == "failed" and failed.error
    assert events[-1].type == "RUN_COMPLETED" and not events[-1].is_error


# --- roots, sampling, elicitation --------------------------------------------------------


async def test_roots_are_the_workspace(tmp_path: Path) -> None:
    async with serve_http(demo_server()) as url:
        async with demo_session(
            tmp_path, url, reply(ToolCall("mcp__demo__roots", {})), reply(Text("ok"))
        ) as (session, _):
            events = await run_to_end(session, "roots?")
    done = next(e for e in events if e.type == "TOOL_CALL_COMPLETED")
    assert json.loads(done.content) == [session.cwd.as_uri()]


async def test_roots_follow_the_workspace_when_it_changes(tmp_path: Path) -> None:
    from harness_tui.core.config import paths
    from harness_tui.core.providers.models import ModelChoice
    from harness_tui.core.providers.offline.scripted import ScriptedProvider

    project, shared = tmp_path / "project", tmp_path / "shared"
    (project / ".harness").mkdir(parents=True)
    shared.mkdir()
    (project / ".harness" / "settings.yaml").write_text(
        "permissions:\n  additionalDirectories: [../shared]\n"
    )
    server = demo_server()
    async with serve_http(server) as url:
        # A user-level server: it runs before the project folder is trusted.
        user_settings = paths.config_dir() / "settings.yaml"
        user_settings.parent.mkdir(parents=True, exist_ok=True)
        user_settings.write_text(f"mcpServers:\n  demo: {{type: http, url: '{url}'}}\n")
        provider = ScriptedProvider([reply(ToolCall("mcp__demo__roots", {})), reply(Text("ok"))])
        session = Session(
            model=ModelChoice("scripted", "scripted", lambda: provider),
            cwd=project,
            trusted=False,
            mode="bypassPermissions",
        )
        async with session:
            await server_status(session, "demo", "ready")
            await wait_for(session.store, lambda e: e.type == "TRUST_REQUESTED")
            await session.resolve_trust(True, remember=False)
            with anyio.fail_after(5):
                await server.roots_changed.wait()
            events = await run_to_end(session, "roots?")
    done = next(e for e in events if e.type == "TOOL_CALL_COMPLETED")
    assert json.loads(done.content) == [session.cwd.as_uri(), shared.resolve().as_uri()]


async def sampled_run(
    session: Session, approved: bool = True, reason: str | None = None
) -> list[Event]:
    """The events of a run whose prompt has the demo server ask for sampling, answered
    ``approved``."""
    run_id = await session.submit("write a haiku")
    asked = await wait_for(session.store, lambda e: e.type == "SAMPLING_REQUESTED")
    await session.resolve_sampling(asked.request_id, approved, reason)
    await wait_for(session.store, lambda e: e.type == "RUN_COMPLETED" and e.run_id == run_id)
    return [e for e in session.store.replay(0) if e.run_id == run_id]


async def test_sampling_goes_to_the_session_model_after_approval(tmp_path: Path) -> None:
    async with serve_http(demo_server()) as url:
        async with demo_session(
            tmp_path,
            url,
            reply(ToolCall("mcp__demo__haiku", {"topic": "rain"})),
            reply(Text("Here is your haiku.")),
            sampling=[reply(Text("Soft rain on the roof"))],
            mode="bypassPermissions",
        ) as (session, provider):
            run_id = await session.submit("write a haiku")
            asked = await wait_for(session.store, lambda e: e.type == "SAMPLING_REQUESTED")
            assert asked.server == "demo" and asked.model == "scripted"
            assert asked.messages == ({"role": "user", "text": "haiku: rain"},)
            assert asked.system_prompt == "You are a poet." and asked.max_tokens == 64
            await session.resolve_sampling(asked.request_id, True)
            await wait_for(
                session.store, lambda e: e.type == "RUN_COMPLETED" and e.run_id == run_id
            )
    [sampled] = provider.for_sampling().requests
    assert sampled.system == "You are a poet." and sampled.max_tokens == 64 and sampled.tools == ()
    assert [m.text for m in sampled.messages] == ["haiku: rain"]
    events = [e for e in session.store.replay(0) if e.run_id == run_id]
    resolved = next(e for e in events if e.type == "SAMPLING_RESOLVED")
    assert resolved.decision == "approved" and resolved.response == "Soft rain on the roof"
    done = next(e for e in events if e.type == "TOOL_CALL_COMPLETED")
    assert done.content == "scripted wrote: Soft rain on the roof"
    # The run's own replies stay in order: the sampling took none of them.
    assert len(provider.requests) == 2
    provider.assert_complete()
    assert squeeze(
        [t for t in types(events) if t not in ("USAGE_UPDATED", "TOOL_CALL_PROGRESS")]
    ) == [
        "PROMPT_RECEIVED",
        "CHECKPOINT_CREATED",
        "MESSAGE_COMPLETED",
        "TOOL_CALL_STARTED",
        "SAMPLING_REQUESTED",
        "SAMPLING_RESOLVED",
        "TOOL_CALL_COMPLETED",
        "TOKEN_DELTA",
        "MESSAGE_COMPLETED",
        "RUN_COMPLETED",
    ]
    final = [e for e in events if e.type == "MESSAGE_COMPLETED"][-1]
    assert final.message.text == "Here is your haiku."


async def test_a_script_without_sampling_replies_refuses_sampling_and_keeps_its_own(
    tmp_path: Path,
) -> None:
    async with serve_http(demo_server()) as url:
        async with demo_session(
            tmp_path,
            url,
            reply(ToolCall("mcp__demo__haiku", {"topic": "rain"})),
            reply(Text("Here is your haiku.")),
        ) as (session, provider):
            events = await sampled_run(session)
    resolved = next(e for e in events if e.type == "SAMPLING_RESOLVED")
    assert resolved.decision == "failed"
    assert "no sampling reply left" in resolved.reason
    failed = next(e for e in events if e.type == "TOOL_CALL_FAILED")
    assert "Sampling failed" in failed.error
    final = [e for e in events if e.type == "MESSAGE_COMPLETED"][-1]
    assert final.message.text == "Here is your haiku."
    assert len(provider.requests) == 2 and provider.for_sampling().requests != []
    provider.assert_complete()


async def test_a_script_file_carries_its_sampling_replies(tmp_path: Path) -> None:
    from harness_tui.core.providers.models import resolve_model

    script = tmp_path / "replies.yaml"
    script.write_text(
        "responses:\n"
        "  - tool_calls: [{name: mcp__demo__haiku, input: {topic: rain}}]\n"
        "  - text: Here is your haiku.\n"
        "sampling:\n"
        "  - text: Soft rain on the roof\n"
    )
    async with serve_http(demo_server()) as url:
        write_mcp_json(tmp_path, {"demo": {"type": "http", "url": url}})
        choice = resolve_model(f"scripted:{script}", cwd=tmp_path)
        session = Session(model=choice, cwd=tmp_path, trusted=True, mode="bypassPermissions")
        async with session:
            await server_status(session, "demo", "ready")
            events = await sampled_run(session)
    done = next(e for e in events if e.type == "TOOL_CALL_COMPLETED")
    assert done.content.endswith("wrote: Soft rain on the roof")
    final = [e for e in events if e.type == "MESSAGE_COMPLETED"][-1]
    assert final.message.text == "Here is your haiku."
    choice.create().assert_complete()  # type: ignore[attr-defined]


async def test_sampling_can_be_declined(tmp_path: Path) -> None:
    async with serve_http(demo_server()) as url:
        async with demo_session(
            tmp_path,
            url,
            reply(ToolCall("mcp__demo__haiku", {"topic": "rain"})),
            reply(Text("No haiku then.")),
        ) as (session, provider):
            events = await sampled_run(session, False, "not now")
    resolved = next(e for e in events if e.type == "SAMPLING_RESOLVED")
    assert resolved.decision == "declined" and resolved.reason == "not now"
    failed = next(e for e in events if e.type == "TOOL_CALL_FAILED")
    assert "declined the sampling request: not now" in failed.error
    assert len(provider.requests) == 2
    assert provider.for_sampling().requests == []  # the model was never asked to sample


async def test_headless_sessions_decline_sampling_and_elicitation(tmp_path: Path) -> None:
    async with serve_http(demo_server()) as url:
        async with demo_session(
            tmp_path,
            url,
            reply(ToolCall("mcp__demo__haiku", {"topic": "x"}), ToolCall("mcp__demo__who", {})),
            reply(Text("ok")),
            ask_policy="deny",
        ) as (session, _):
            events = await run_to_end(session, "go")
    kinds = types(events)
    assert "SAMPLING_REQUESTED" in kinds and "ELICITATION_REQUESTED" in kinds
    assert next(e for e in events if e.type == "SAMPLING_RESOLVED").decision == "declined"
    assert next(e for e in events if e.type == "ELICITATION_RESOLVED").action == "decline"
    assert "no answer (decline)" in [e.content for e in events if e.type == "TOOL_CALL_COMPLETED"]


@pytest.mark.parametrize(
    ("action", "content", "expected"),
    [
        ("accept", {"name": "Grace", "age": 85, "admin": True}, "hello Grace, 85"),
        ("decline", None, "no answer (decline)"),
        ("cancel", None, "no answer (cancel)"),
    ],
)
async def test_elicitation(tmp_path: Path, action: str, content, expected: str) -> None:
    async with serve_http(demo_server()) as url:
        async with demo_session(
            tmp_path, url, reply(ToolCall("mcp__demo__who", {})), reply(Text("ok"))
        ) as (session, _):
            run_id = await session.submit("who am I")
            asked = await wait_for(session.store, lambda e: e.type == "ELICITATION_REQUESTED")
            assert asked.message == "Who are you?" and asked.mode == "form"
            schema = asked.requested_schema["properties"]
            assert schema["name"]["default"] == "Ada" and schema["age"]["type"] == "integer"
            if action == "accept":
                with pytest.raises(HarnessError, match="does not fit the form: age"):
                    await session.resolve_elicitation(asked.request_id, "accept", {"age": "old"})
            await session.resolve_elicitation(asked.request_id, action, content)
            await wait_for(
                session.store, lambda e: e.type == "RUN_COMPLETED" and e.run_id == run_id
            )
    resolved = next(e for e in session.store.replay(0) if e.type == "ELICITATION_RESOLVED")
    assert resolved.action == action and resolved.content == content
    done = next(e for e in session.store.replay(0) if e.type == "TOOL_CALL_COMPLETED")
    assert done.content == expected


async def test_cancelling_the_run_withdraws_an_open_question(tmp_path: Path) -> None:
    async with serve_http(demo_server()) as url:
        async with demo_session(
            tmp_path, url, reply(ToolCall("mcp__demo__who", {})), reply(Text("ok"))
        ) as (session, _):
            await session.submit("who am I")
            asked = await wait_for(session.store, lambda e: e.type == "ELICITATION_REQUESTED")
            with anyio.fail_after(3):
                await session.cancel()
            resolved = await wait_for(session.store, lambda e: e.type == "ELICITATION_RESOLVED")
            assert resolved.request_id == asked.request_id and resolved.action == "cancel"
            assert session.mcp.questions.pending_ids == ()
