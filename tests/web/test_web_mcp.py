"""What MCP servers ask, answered over the web API: sampling approvals and elicitation
forms from the demo server (``tests/mcp_servers.py``), good and bad answers, and who may
answer."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx2
import pytest

from harness_tui.core.providers.models import ModelChoice
from harness_tui.core.providers.offline.scripted import (
    Reply,
    ScriptedProvider,
    Text,
    ToolCall,
    reply,
)
from harness_tui.core.session.session import Session
from harness_tui.web.redact import MASK
from tests.core.mcp.test_mcp_stdio import server_status
from tests.helpers import wait_for
from tests.mcp_servers import demo_server, serve_http, write_mcp_json
from tests.web_support import Served, receive_until, run_ended, web_server


def with_demo_server(
    folder: Path, url: str, *replies: Reply, sampling: list[Reply] | None = None
) -> Callable[[], dict[str, Any]]:
    """Session options: each new session in ``folder``, whose ``.mcp.json`` names the demo
    server at ``url``, plays ``replies`` (and ``sampling`` for sampling requests)."""
    write_mcp_json(folder, {"demo": {"type": "http", "url": url}})

    def options() -> dict[str, Any]:
        provider = ScriptedProvider(list(replies), sampling=sampling)
        return {
            "model": ModelChoice("scripted", "scripted", lambda: provider, 200_000),
            "cwd": folder,
            "trusted": True,
            "mode": "bypassPermissions",
        }

    return options


@asynccontextmanager
async def demo_web(
    folder: Path, *replies: Reply, sampling: list[Reply] | None = None
) -> AsyncIterator[tuple[Served, Session, str]]:
    """The web server with one session whose demo server is ready, and its token."""
    async with serve_http(demo_server()) as url:
        async with web_server(with_demo_server(folder, url, *replies, sampling=sampling)) as srv:
            session, token = await srv.new_session()
            await server_status(session, "demo", "ready")
            yield srv, session, token


def error_of(response: httpx2.Response) -> dict[str, Any]:
    return response.json()["error"]


async def test_sampling_is_approved_through_the_api(tmp_path: Path) -> None:
    async with demo_web(
        tmp_path,
        reply(ToolCall("mcp__demo__haiku", {"topic": "rain"})),
        reply(Text("Here it is.")),
        sampling=[reply(Text("Soft rain on the roof"))],
    ) as (srv, session, _):
        path = f"/api/sampling/{session.id}"
        await srv.http.post(f"/api/query/{session.id}", json={"text": "a haiku"})
        asked = await wait_for(session.store, lambda e: e.type == "SAMPLING_REQUESTED")

        for body, field in [
            ({"request_id": asked.request_id, "approved": "yes"}, "body.approved"),
            ({"request_id": asked.request_id}, "body.approved"),
            ({"request_id": "", "approved": True}, "body.request_id"),
            ({"request_id": asked.request_id, "approved": True, "model": "x"}, "body.model"),
            ({"request_id": asked.request_id, "approved": False, "reason": 3}, "body.reason"),
        ]:
            bad = await srv.http.post(path, json=body)
            assert bad.status_code == 422, body
            assert field in error_of(bad)["message"], (body, bad.text)
        unknown = await srv.http.post(path, json={"request_id": "smp_nope", "approved": True})
        assert unknown.status_code == 404 and error_of(unknown)["code"] == "unknown_request"
        # An elicitation route does not answer a sampling question.
        crossed = await srv.http.post(
            f"/api/elicitation/{session.id}",
            json={"request_id": asked.request_id, "action": "accept"},
        )
        assert crossed.status_code == 404
        assert session.mcp.questions.pending_ids == (asked.request_id,)

        ok = await srv.http.post(path, json={"request_id": asked.request_id, "approved": True})
        assert ok.status_code == 200
        assert ok.json() == {"request_id": asked.request_id, "approved": True}
        resolved = await wait_for(session.store, lambda e: e.type == "SAMPLING_RESOLVED")
        assert resolved.decision == "approved" and resolved.response == "Soft rain on the roof"
        await wait_for(session.store, lambda e: e.type == "RUN_COMPLETED")
        again = await srv.http.post(path, json={"request_id": asked.request_id, "approved": True})
        assert again.status_code == 404 and "no open sampling request" in error_of(again)["message"]


async def test_sampling_is_declined_with_a_reason(tmp_path: Path) -> None:
    async with demo_web(
        tmp_path, reply(ToolCall("mcp__demo__haiku", {"topic": "rain"})), reply(Text("ok"))
    ) as (srv, session, _):
        await srv.http.post(f"/api/query/{session.id}", json={"text": "a haiku"})
        asked = await wait_for(session.store, lambda e: e.type == "SAMPLING_REQUESTED")
        no = await srv.http.post(
            f"/api/sampling/{session.id}",
            json={"request_id": asked.request_id, "approved": False, "reason": "not now"},
        )
        assert no.json() == {"request_id": asked.request_id, "approved": False}
        resolved = await wait_for(session.store, lambda e: e.type == "SAMPLING_RESOLVED")
        assert resolved.decision == "declined" and resolved.reason == "not now"
        failed = await wait_for(session.store, lambda e: e.type == "TOOL_CALL_FAILED")
        assert "declined the sampling request: not now" in failed.error


async def test_elicitation_answers_are_checked_and_reach_the_server(tmp_path: Path) -> None:
    async with demo_web(tmp_path, reply(ToolCall("mcp__demo__who", {})), reply(Text("Hello."))) as (
        srv,
        session,
        _,
    ):
        path = f"/api/elicitation/{session.id}"
        await srv.http.post(f"/api/query/{session.id}", json={"text": "who am I"})
        asked = await wait_for(session.store, lambda e: e.type == "ELICITATION_REQUESTED")
        rid = asked.request_id

        for body, words in [
            ({"request_id": rid, "action": "maybe"}, "body.action"),
            ({"request_id": rid}, "body.action"),
            ({"request_id": rid, "action": "accept", "content": {"age": {"years": 85}}}, "'age'"),
            ({"request_id": rid, "action": "accept", "content": {"age": None}}, "'age'"),
            ({"request_id": rid, "action": "accept", "content": {"tags": [1, 2]}}, "'tags'"),
            ({"request_id": rid, "action": "accept", "content": {"": 1}}, "body.content"),
            ({"request_id": rid, "action": "accept", "content": ["Grace"]}, "body.content"),
            ({"request_id": rid, "action": "decline", "content": {"name": "x"}}, "content"),
            ({"request_id": rid, "action": "accept", "content": {"name": "x" * 10_001}}, "'name'"),
        ]:
            bad = await srv.http.post(path, json=body)
            assert bad.status_code == 422, body
            assert error_of(bad)["code"] == "invalid_request"
            assert words in error_of(bad)["message"], (body, bad.text)

        # Content the server's schema refuses: the core's check names the field, and the
        # question stays open for a corrected answer.
        wrong = await srv.http.post(
            path, json={"request_id": rid, "action": "accept", "content": {"age": "old"}}
        )
        assert wrong.status_code == 422 and error_of(wrong)["code"] == "invalid_answer"
        assert error_of(wrong)["message"].startswith("the answer does not fit the form: age:")
        assert session.mcp.questions.pending_ids == (rid,)
        unknown = await srv.http.post(path, json={"request_id": "eli_nope", "action": "cancel"})
        assert unknown.status_code == 404 and error_of(unknown)["code"] == "unknown_request"

        content = {"name": "Grace", "age": 85, "admin": True}
        ok = await srv.http.post(
            path, json={"request_id": rid, "action": "accept", "content": content}
        )
        assert ok.status_code == 200 and ok.json() == {"request_id": rid, "action": "accept"}
        resolved = await wait_for(session.store, lambda e: e.type == "ELICITATION_RESOLVED")
        assert resolved.action == "accept" and resolved.content == content
        done = await wait_for(session.store, lambda e: e.type == "TOOL_CALL_COMPLETED")
        assert done.content == "hello Grace, 85"


async def test_only_this_sessions_token_may_answer(tmp_path: Path) -> None:
    async with demo_web(
        tmp_path,
        reply(ToolCall("mcp__demo__who", {})),
        reply(ToolCall("mcp__demo__haiku", {"topic": "x"})),
        reply(Text("ok")),
        sampling=[reply(Text("a haiku"))],
    ) as (srv, session, token):
        _, other_token = await srv.new_session()
        await srv.http.post(f"/api/query/{session.id}", json={"text": "go"})
        eli = await wait_for(session.store, lambda e: e.type == "ELICITATION_REQUESTED")
        await refused_everywhere_but_here(
            srv,
            f"/api/elicitation/{session.id}",
            {"request_id": eli.request_id, "action": "cancel"},
            other_token,
        )
        assert session.mcp.questions.pending_ids == (eli.request_id,)
        own = {"Authorization": f"Bearer {token}"}
        answered = await srv.http.post(
            f"/api/elicitation/{session.id}",
            json={"request_id": eli.request_id, "action": "cancel"},
            headers=own,
        )
        assert answered.status_code == 200

        smp = await wait_for(session.store, lambda e: e.type == "SAMPLING_REQUESTED")
        body = {"request_id": smp.request_id, "approved": True}
        await refused_everywhere_but_here(srv, f"/api/sampling/{session.id}", body, other_token)
        assert session.mcp.questions.pending_ids == (smp.request_id,)
        answered = await srv.http.post(f"/api/sampling/{session.id}", json=body, headers=own)
        assert answered.status_code == 200
        await wait_for(session.store, lambda e: e.type == "RUN_COMPLETED")


async def refused_everywhere_but_here(
    srv: Served, path: str, body: dict[str, Any], other_token: str
) -> None:
    """No token, a wrong one, another session's, or a page of another site: refused."""
    async with httpx2.AsyncClient(base_url=srv.address.base_url) as anonymous:
        for headers, status, code in [
            ({}, 401, "unauthorized"),
            ({"Authorization": "Bearer wrong"}, 401, "unauthorized"),
            ({"Authorization": f"Bearer {other_token}"}, 403, "forbidden"),
            (  # the right token even, from a page of another site
                {"Authorization": f"Bearer {srv.token}", "Origin": "http://evil.test"},
                403,
                "origin_not_allowed",
            ),
        ]:
            refused = await anonymous.post(path, json=body, headers=headers)
            assert refused.status_code == status, (path, headers, refused.text)
            assert error_of(refused)["code"] == code


async def test_questions_reach_the_page_without_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = "sk-ant-test-0123456789abcdefSECRET"
    monkeypatch.setenv("ANTHROPIC_API_KEY", key)
    async with demo_web(
        tmp_path,
        reply(ToolCall("mcp__demo__haiku", {"topic": key})),
        reply(Text("ok")),
        sampling=[reply(Text(f"a haiku about {key}"))],
    ) as (srv, session, _):
        await srv.http.post(f"/api/query/{session.id}", json={"text": "a haiku"})
        asked = await wait_for(session.store, lambda e: e.type == "SAMPLING_REQUESTED")
        assert key in asked.messages[0]["text"]  # the store keeps it; the page must not
        async with srv.socket(session.id) as ws:
            frames = await receive_until(ws, lambda item: item["type"] == "SAMPLING_REQUESTED")
            await srv.http.post(
                f"/api/sampling/{session.id}",
                json={"request_id": asked.request_id, "approved": True},
            )
            frames += await receive_until(ws, run_ended)
        events = (await srv.http.get(f"/api/session/{session.id}/events")).text
    sent = json.dumps(frames) + events
    assert key not in sent and MASK in sent
    shown = next(f for f in frames if f["type"] == "SAMPLING_RESOLVED")
    assert shown["response"] == f"a haiku about {MASK}"
