"""What a browser (or a script holding the token) cannot make the server hold without
limit: live sessions (a cap, 429 with the limit and how to free or raise it; a closed
session frees its slot), queued messages per session, request bodies."""

from __future__ import annotations

import anyio
import pytest

from harness_tui.core.providers.offline.scripted import Text, Wait, reply
from harness_tui.web.api import MAX_BODY_BYTES, MAX_QUEUED_MESSAGES
from harness_tui.web.sessions import DEFAULT_MAX_SESSIONS
from tests.cli.test_cli import harness
from tests.web_support import scripted, web_server


def assert_too_many(response, limit: int) -> None:
    assert response.status_code == 429, response.text
    error = response.json()["error"]
    assert error["code"] == "too_many_sessions" and error["limit"] == limit
    assert f"{limit} sessions" in error["message"]
    assert "DELETE /api/session/" in error["hint"] and "--max-sessions" in error["hint"]


async def live(srv) -> int:
    return len((await srv.http.get("/api/sessions")).json()["sessions"])


@pytest.mark.parametrize("limit", [1, 3])
async def test_sessions_are_capped_and_a_closed_one_frees_its_slot(limit: int) -> None:
    async with web_server(max_sessions=limit) as srv:
        made = [await srv.new_session() for _ in range(limit)]
        assert_too_many(await srv.http.post("/api/session", json={}), limit)
        assert_too_many(await srv.http.post("/api/session", json={"mode": "plan"}), limit)
        assert await live(srv) == limit

        session, _ = made[0]
        closed = await srv.http.delete(f"/api/session/{session.id}")
        assert closed.status_code == 200
        again = await srv.http.post("/api/session", json={})
        assert again.status_code == 201
        assert_too_many(await srv.http.post("/api/session", json={}), limit)


async def test_a_session_ended_by_the_server_frees_its_slot() -> None:
    async with web_server(max_sessions=1) as srv:
        session, _ = await srv.new_session()
        assert_too_many(await srv.http.post("/api/session"), 1)
        assert srv.manager is not None
        await srv.manager.close(session.id)
        assert (await srv.http.post("/api/session")).status_code == 201


async def test_concurrent_creates_never_pass_the_cap() -> None:
    statuses: list[int] = []
    async with web_server(max_sessions=3) as srv:

        async def create() -> None:
            statuses.append((await srv.http.post("/api/session", json={})).status_code)

        async with anyio.create_task_group() as group:
            for _ in range(12):
                group.start_soon(create)
        assert sorted(statuses) == [201] * 3 + [429] * 9
        assert await live(srv) == 3


async def test_the_default_cap() -> None:
    async with web_server() as srv:
        for _ in range(DEFAULT_MAX_SESSIONS):
            await srv.new_session()
        assert_too_many(await srv.http.post("/api/session"), DEFAULT_MAX_SESSIONS)


async def test_an_oversized_create_body_is_413_and_creates_nothing() -> None:
    async with web_server(max_sessions=2) as srv:
        huge = await srv.http.post(
            "/api/session",
            content=b'{"model": "' + b"x" * MAX_BODY_BYTES + b'"}',
            headers={"content-type": "application/json"},
        )
        assert huge.status_code == 413
        long_name = await srv.http.post("/api/session", json={"model": "m" * 5000})
        assert long_name.status_code == 422
        assert await live(srv) == 0


@pytest.mark.parametrize("kind", ["steer", "follow_up"])
async def test_queued_messages_are_capped_per_session(kind: str) -> None:
    gate, reached = anyio.Event(), anyio.Event()
    replies = (reply(Text("working"), Wait(gate, reached)), *[reply(Text("ok"))] * 3)
    async with web_server(scripted(*replies)) as srv:
        session, _ = await srv.new_session()
        await srv.http.post(f"/api/query/{session.id}", json={"text": "start"})
        await reached.wait()
        steer = f"/api/steer/{session.id}"
        for number in range(MAX_QUEUED_MESSAGES):
            queued = await srv.http.post(steer, json={"text": f"m{number}", "kind": kind})
            assert queued.status_code == 202 and queued.json()["queued"] is True
        full = await srv.http.post(steer, json={"text": "one too many", "kind": kind})
        assert full.status_code == 429
        error = full.json()["error"]
        assert error["code"] == "queue_full" and error["limit"] == MAX_QUEUED_MESSAGES
        assert "pullback" in error["hint"]
        assert len(session.steering) == MAX_QUEUED_MESSAGES
        pulled = await srv.http.post(f"/api/pullback/{session.id}")
        assert pulled.status_code == 200
        assert (
            await srv.http.post(steer, json={"text": "fits now", "kind": kind})
        ).status_code == 202
        await srv.http.post(f"/api/cancel/{session.id}")


@pytest.mark.parametrize("value", ["0", "-1", "many", "1.5"])
def test_a_bad_max_sessions_is_one_clear_error(value: str) -> None:
    result = harness("serve", "--max-sessions", value, "--port", "0")
    assert result.returncode == 2
    assert "argument --max-sessions: " in result.stderr and "Traceback" not in result.stderr
    assert "at least 1" in result.stderr or "not a whole number" in result.stderr
