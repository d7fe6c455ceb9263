"""``/api/agents`` (the agent view over HTTP) against a real server and real sessions
opened beside it (their control sockets): the list with every front end and no socket
paths, only for the server's token; answering a waiting question goes through its
socket and the run goes on; stop; what cannot be done is a 404 or 409 in the one error
shape."""

from __future__ import annotations

from pathlib import Path

import httpx2

from tests.core.live.test_registry import asking_session
from tests.tui.test_agents_view import until_state
from tests.web_support import web_server


async def test_the_list_answers_and_stops(tmp_path: Path) -> None:
    asking = asking_session(tmp_path)
    asking.front_end = "print"
    async with web_server() as srv, asking:
        await until_state(asking, "starting")
        await asking.submit("clean up\nthe rest")
        await until_state(asking, "waiting")
        own, token = await srv.new_session()
        await until_state(own, "starting")

        listed = await srv.http.get("/api/agents")
        assert listed.status_code == 200
        rows = {row["session_id"]: row for row in listed.json()["agents"]}
        assert set(rows) >= {asking.id, own.id}
        row = rows[asking.id]
        assert row["front_end"] == "print" and row["state"] == "waiting"
        assert row["question"]["summary"] == "Bash(echo hi)" and row["detail"] == "clean up"
        assert "control" not in row and "attach" not in row  # no socket paths
        assert row["here"] is False and rows[own.id]["here"] is True

        # A session's own token sees its session, not everyone's.
        with_session_token = {"Authorization": f"Bearer {token}"}
        refused = await srv.http.get("/api/agents", headers=with_session_token)
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "forbidden"

        bad = await srv.http.post(
            f"/api/agents/{asking.id}/answer", json={"request_id": "x", "decision": "maybe"}
        )
        assert bad.status_code == 422
        question = row["question"]["request_id"]
        wrong = await srv.http.post(
            f"/api/agents/{asking.id}/answer", json={"request_id": "perm_nope", "decision": "deny"}
        )
        assert wrong.status_code == 409 and "no open permission request" in wrong.text
        answered = await srv.http.post(
            f"/api/agents/{asking.id}/answer",
            json={"request_id": question, "decision": "allow_once"},
        )
        assert answered.status_code == 200, answered.text
        await until_state(asking, "idle")
        assert any(m.role == "tool" for m in asking.messages), "the tool ran"

        stopped = await srv.http.post(f"/api/agents/{asking.id}/stop")
        assert stopped.status_code == 200 and stopped.json()["was_running"] is False
        gone = await srv.http.post("/api/agents/ses_nothere/stop")
        assert gone.status_code == 404 and gone.json()["error"]["code"] == "unknown_session"


async def test_without_a_token_nothing(tmp_path: Path) -> None:
    async with web_server() as srv:
        bare = await httpx2.AsyncClient(base_url=srv.http.base_url).get("/api/agents")
        assert bare.status_code == 401
