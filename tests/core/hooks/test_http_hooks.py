"""HTTP hooks against a loopback server, ``if`` conditions in permission-rule syntax, and
the settings problems both can have."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest

from harness_tui.core.providers.offline.scripted import Text, ToolCall, reply
from harness_tui.core.tools import builtin_tools
from tests.core.hooks.hook_support import HookServer, record_script, recorded, write_settings
from tests.fakes.loopback import End, JSONResponse, SSEResponse, Stall
from tests.helpers import EchoTool, run_to_end, scripted_in


def http_hook(url: str, **fields: Any) -> dict[str, Any]:
    return {"type": "http", "url": url, **fields}


def on(event: str, *hooks: dict[str, Any], matcher: str | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {"hooks": list(hooks)}
    if matcher is not None:
        entry["matcher"] = matcher
    return {event: [entry]}


def echo_session(project: Path, *replies: Any, **options: Any) -> Any:
    options.setdefault("tools", [EchoTool()])
    session, provider = scripted_in(
        project, list(replies), mode="bypassPermissions", trusted=True, **options
    )
    return session, provider


def hook_runs(session: Any) -> list[Any]:
    return [e for e in session.store.replay(0) if e.type in ("HOOK_EXECUTED", "HOOK_DENIED")]


async def test_an_http_hook_denies_a_tool_call_and_the_model_reads_why(tmp_path: Path) -> None:
    deny = {
        "hookSpecificOutput": {
            "hookEventName": "PreToolUse",
            "permissionDecision": "deny",
            "permissionDecisionReason": "echo is closed today",
        }
    }
    with HookServer({"/pre": JSONResponse(200, deny)}) as server:
        write_settings(
            tmp_path, {"hooks": on("PreToolUse", http_hook(f"{server.url}/pre"), matcher="Echo")}
        )
        session, provider = echo_session(
            tmp_path, reply(ToolCall("Echo", {"text": "x"})), reply(Text("ok"))
        )
        async with session:
            run = await run_to_end(session, "echo")
        [request] = server.requests
    assert request.method == "POST" and request.headers["content-type"] == "application/json"
    assert request.json()["tool_input"] == {"text": "x"}
    [failed] = [e for e in run if e.type == "TOOL_CALL_FAILED"]
    assert "echo is closed today" in failed.error
    [denied] = hook_runs(session)
    assert denied.type == "HOOK_DENIED" and denied.hook == f"{server.url}/pre"
    assert "echo is closed today" in provider.requests[1].messages[-1].content


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (JSONResponse(503, {"decision": "block", "reason": "no"}), "HTTP 503"),
        (SSEResponse([Stall(5)]), "timed out after 0.5 s"),
        (None, "request failed"),
    ],
    ids=["non-2xx", "timeout", "connection-refused"],
)
async def test_http_failures_are_non_blocking_errors(
    tmp_path: Path, answer: Any, expected: str
) -> None:
    with HookServer({"/pre": answer} if answer else {}) as server:
        url = f"{server.url}/pre" if answer else f"http://127.0.0.1:{closed_port()}/pre"
        write_settings(tmp_path, {"hooks": on("PreToolUse", http_hook(url, timeout=0.5))})
        session, _ = echo_session(
            tmp_path, reply(ToolCall("Echo", {"text": "x"})), reply(Text("ok"))
        )
        async with session:
            run = await run_to_end(session, "echo")
    [executed] = hook_runs(session)
    assert executed.decision == "error" and expected in executed.error
    assert "TOOL_CALL_COMPLETED" in [e.type for e in run]  # the call went ahead


async def test_a_plain_text_answer_is_context_for_the_prompt(tmp_path: Path) -> None:
    text = SSEResponse(
        [b"The deploy freeze ends on Monday.", End()], headers={"content-type": "text/plain"}
    )
    with HookServer({"/prompt": text}) as server:
        write_settings(
            tmp_path, {"hooks": on("UserPromptSubmit", http_hook(f"{server.url}/prompt"))}
        )
        session, provider = echo_session(tmp_path, reply(Text("ok")))
        async with session:
            await run_to_end(session, "when can I deploy?")
    sent = "\n".join(str(m.content) for m in provider.requests[0].messages)
    assert "The deploy freeze ends on Monday." in sent


async def test_headers_name_only_allowed_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOOK_TOKEN", "t0ken")
    monkeypatch.setenv("HOOK_SECRET", "s3cret")
    with HookServer() as server:
        hook = http_hook(
            f"{server.url}/start",
            headers={"Authorization": "Bearer $HOOK_TOKEN", "X-Other": "[${HOOK_SECRET}]"},
            allowedEnvVars=["HOOK_TOKEN"],
        )
        write_settings(tmp_path, {"hooks": on("SessionStart", hook)})
        session, _ = echo_session(tmp_path, reply(Text("ok")))
        async with session:
            await run_to_end(session, "hi")
        [request] = server.requests
    assert request.headers["authorization"] == "Bearer t0ken"
    assert request.headers["x-other"] == "[]"


async def test_if_conditions_pick_the_calls_a_hook_runs_for(tmp_path: Path) -> None:
    command = record_script(tmp_path)
    with HookServer() as server:
        hooks = on(
            "PreToolUse",
            {"type": "command", "command": command, "if": "Bash(echo one*)"},
            http_hook(f"{server.url}/PreToolUse", **{"if": "Bash(echo one*)"}),
            matcher="Bash",
        )
        write_settings(tmp_path, {"hooks": hooks})
        session, _ = echo_session(
            tmp_path,
            reply(ToolCall("Bash", {"command": "echo two"}, id="b1")),
            reply(ToolCall("Bash", {"command": "echo one"}, id="b2")),
            reply(ToolCall("Bash", {"command": "echo two && echo one more"}, id="b3")),
            reply(Text("ok")),
            tools=builtin_tools(),
        )
        async with session:
            await run_to_end(session, "run them")
        by_http = [d["tool_use_id"] for d in server.inputs("PreToolUse")]
    assert [d["tool_use_id"] for d in recorded(tmp_path, "PreToolUse")] == ["b2", "b3"]
    assert by_http == ["b2", "b3"]


async def test_bad_http_and_if_settings_are_reported(tmp_path: Path) -> None:
    command = record_script(tmp_path)
    hooks = {
        "PreToolUse": [
            {"hooks": [{"type": "http", "url": "ftp://example.com/x"}]},
            {"hooks": [{"type": "http", "url": "http://x", "headers": {"A": 1}}]},
            {"hooks": [{"type": "command", "command": command, "if": "Bash("}]},
        ],
        "Stop": [{"hooks": [{"type": "command", "command": command, "if": "Bash(git *)"}]}],
        # No matcher field: the matcher is ignored and the hook runs.
        **on("UserPromptSubmit", {"type": "command", "command": command}, matcher="nothing"),
    }
    write_settings(tmp_path, {"hooks": hooks})
    session, _ = echo_session(tmp_path, reply(Text("hi")))
    async with session:
        await run_to_end(session, "go")
    notices = "\n".join(e.message for e in session.store.replay(0) if e.type == "NOTICE")
    where = f"{tmp_path / '.claude' / 'settings.json'}: hooks"
    assert f"{where}.PreToolUse[0].hooks[0].url: must be an http:// or https:// URL" in notices
    assert f"{where}.PreToolUse[1].hooks[0].headers: must map header names" in notices
    assert f"{where}.PreToolUse[2].hooks[0].if: 'Bash(' is not a permission rule" in notices
    assert f"{where}.Stop[0].hooks[0].if: only tool events" in notices
    assert recorded(tmp_path, "Stop") == []
    assert [d["prompt"] for d in recorded(tmp_path, "UserPromptSubmit")] == ["go"]


async def test_post_tool_use_replaces_the_output_the_model_reads(tmp_path: Path) -> None:
    redact = {
        "hookSpecificOutput": {
            "hookEventName": "PostToolUse",
            "updatedToolOutput": {"content": "[redacted]"},
        }
    }
    with HookServer({"/post": JSONResponse(200, redact)}) as server:
        write_settings(tmp_path, {"hooks": on("PostToolUse", http_hook(f"{server.url}/post"))})
        session, provider = echo_session(
            tmp_path, reply(ToolCall("Echo", {"text": "password=hunter2"})), reply(Text("ok"))
        )
        async with session:
            await run_to_end(session, "echo")
    assert provider.requests[1].messages[-1].content == "[redacted]"


async def test_a_post_tool_batch_block_ends_the_run_and_its_context_is_sent(
    tmp_path: Path,
) -> None:
    context = {
        "hookSpecificOutput": {"hookEventName": "PostToolBatch", "additionalContext": "lint: ok"}
    }
    block = {"decision": "block", "reason": "the build is red"}
    with HookServer(
        {"/ctx": JSONResponse(200, context), "/block": JSONResponse(200, block)}
    ) as server:
        write_settings(tmp_path, {"hooks": on("PostToolBatch", http_hook(f"{server.url}/ctx"))})
        session, provider = echo_session(
            tmp_path, reply(ToolCall("Echo", {"text": "x"})), reply(Text("ok"))
        )
        async with session:
            await run_to_end(session, "echo")
            write_settings(
                tmp_path, {"hooks": on("PostToolBatch", http_hook(f"{server.url}/block"))}
            )
        assert "lint: ok" in str(provider.requests[1].messages[-1].content)
        session, provider = echo_session(tmp_path, reply(ToolCall("Echo", {"text": "x"})))
        async with session:
            run = await run_to_end(session, "echo")
    assert run[-1].type == "RUN_COMPLETED" and run[-1].stop_reason == "stopped_by_hook"
    assert len(provider.requests) == 1  # no request after the batch
