# Over 500 lines as one unit: every endpoint against one real uvicorn server fixture.
"""Every endpoint of the web sidecar, against a real uvicorn on a loopback port."""

from __future__ import annotations

import json

import anyio
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from harness_tui.core.providers.models import available_models
from harness_tui.core.providers.offline.scripted import Text, ToolCall, Wait, reply
from harness_tui.core.session.session import Session
from harness_tui.web.api import MAX_BODY_BYTES, MAX_PROMPT_BODY_BYTES
from harness_tui.web.bodies import MAX_PROMPT_CHARS
from harness_tui.web.stream import MAX_BAD_MESSAGES
from tests.helpers import ONE_TOOL_RUN, EchoTool, WriteLikeTool, squeeze, wait_for
from tests.web_support import mirror, receive_until, run_ended, scripted, web_server


def event_types(items: list[dict]) -> list[str]:
    return squeeze([item["type"] for item in items])


async def test_create_list_and_close_sessions() -> None:
    async with web_server(scripted(reply(Text("hi")))) as srv:
        empty = (await srv.http.get("/api/sessions")).json()
        assert empty == {"scope": "all", "can_create": True, "sessions": []}

        made = await srv.http.post("/api/session", json={"mode": "plan"})
        assert made.status_code == 201
        body = made.json()
        session = body["session"]
        assert session["mode"] == "plan" and session["running"] is False
        assert body["url"] == f"/?token={body['token']}" and body["token"] != srv.token

        by_name = await srv.http.post("/api/session", json={"model": "demo"})
        assert by_name.json()["session"]["model"] == "demo"
        no_body = await srv.http.post("/api/session")
        assert no_body.status_code == 201

        listed = (await srv.http.get("/api/sessions")).json()["sessions"]
        assert [s["id"] for s in listed] == [
            session["id"],
            by_name.json()["session"]["id"],
            no_body.json()["session"]["id"],
        ]

        closed = await srv.http.delete(f"/api/session/{session['id']}")
        assert closed.json() == {"closed": session["id"]}
        gone = await srv.http.delete(f"/api/session/{session['id']}")
        assert gone.status_code == 404 and gone.json()["error"]["code"] == "unknown_session"
        assert len((await srv.http.get("/api/sessions")).json()["sessions"]) == 2


async def test_creating_a_session_with_bad_options_says_what_is_wrong() -> None:
    async with web_server() as srv:
        unknown = await srv.http.post("/api/session", json={"model": "gpt-17-imaginary"})
        assert unknown.status_code == 422
        assert "unknown model 'gpt-17-imaginary'" in unknown.json()["error"]["message"]
        assert "providers: anthropic" in unknown.json()["error"]["hint"]

        mode = await srv.http.post("/api/session", json={"mode": "yolo"})
        assert mode.status_code == 422
        assert mode.json()["error"]["message"].startswith("body.mode: Input should be")

        extra = await srv.http.post("/api/session", json={"cwd": "/"})
        assert extra.status_code == 422 and "body.cwd" in extra.json()["error"]["message"]
        assert (await srv.http.get("/api/sessions")).json()["sessions"] == []


async def test_query_streams_the_run_over_the_websocket() -> None:
    replies = (reply(Text("Hello there"), ToolCall("Echo", {"text": "x"})), reply(Text("Done.")))
    async with web_server(scripted(*replies, tools=[EchoTool()])) as srv:
        session, _ = await srv.new_session()
        started = await srv.http.post(f"/api/query/{session.id}", json={"text": "hi"})
        assert started.status_code == 202
        run_id = started.json()["run_id"]
        async with srv.socket(session.id) as ws:
            items = await receive_until(ws, run_ended)
        assert [item["seq"] for item in items] == list(range(1, len(items) + 1))
        assert all(item["run_id"] == run_id for item in items[1:])
        assert event_types(items) == ["SESSION_STARTED", *ONE_TOOL_RUN]
        text = "".join(i["text"] for i in items if i["type"] == "TOKEN_DELTA")
        assert text == "Hello thereDone."
        assert items[-1]["result"] == "Done."


async def test_websocket_replays_from_since_then_goes_live() -> None:
    gate = anyio.Event()
    async with web_server(scripted(reply(Text("one two"), Wait(gate), Text(" three")))) as srv:
        session, _ = await srv.new_session()
        await srv.http.post(f"/api/query/{session.id}", json={"text": "go"})
        await wait_for(session.store, lambda e: e.type == "TOKEN_DELTA" and e.text == "two")
        seen = session.store.last_seq
        async with srv.socket(session.id, since=2) as ws:
            replayed = await receive_until(ws, lambda i: i["seq"] == seen)
            assert [i["seq"] for i in replayed] == list(range(3, seen + 1))
            gate.set()
            live = await receive_until(ws, run_ended)
        assert live[0]["seq"] == seen + 1
        assert [i["text"] for i in live if i["type"] == "TOKEN_DELTA"] == [" three"]


async def test_a_second_query_during_a_run_is_409_and_steer_queues_instead() -> None:
    gate, reached = anyio.Event(), anyio.Event()
    replies = (reply(Text("working"), Wait(gate, reached)), reply(Text("steered")))
    async with web_server(scripted(*replies)) as srv:
        session, _ = await srv.new_session()
        await srv.http.post(f"/api/query/{session.id}", json={"text": "start"})
        await reached.wait()

        busy = await srv.http.post(f"/api/query/{session.id}", json={"text": "again"})
        assert busy.status_code == 409
        assert busy.json()["error"]["code"] == "busy"
        assert "steer it" in busy.json()["error"]["hint"]

        steered = await srv.http.post(f"/api/steer/{session.id}", json={"text": "also this"})
        assert steered.status_code == 202
        body = steered.json()
        assert body["queued"] is True and body["run_id"] == session.run_id
        gate.set()
        delivered = await wait_for(session.store, lambda e: e.type == "STEERING_DELIVERED")
        assert delivered.steering_id == body["steering_id"] and delivered.turn == 2
        await wait_for(session.store, lambda e: e.type == "RUN_COMPLETED")


async def test_follow_up_runs_after_the_current_run_and_steer_when_idle_starts_one() -> None:
    gate, reached = anyio.Event(), anyio.Event()
    replies = (reply(Text("first"), Wait(gate, reached)), reply(Text("second")), reply(Text("3")))
    async with web_server(scripted(*replies)) as srv:
        session, _ = await srv.new_session()
        await srv.http.post(f"/api/query/{session.id}", json={"text": "start"})
        await reached.wait()
        queued = await srv.http.post(
            f"/api/steer/{session.id}", json={"text": "later", "kind": "follow_up"}
        )
        assert queued.json()["queued"] is True
        gate.set()
        follow = await wait_for(
            session.store, lambda e: e.type == "PROMPT_RECEIVED" and e.source == "follow_up"
        )
        assert follow.text == "later"
        await wait_for(
            session.store, lambda e: e.type == "RUN_COMPLETED" and e.run_id == follow.run_id
        )

        idle = await srv.http.post(f"/api/steer/{session.id}", json={"text": "now"})
        assert idle.status_code == 202
        assert idle.json()["queued"] is False and idle.json()["run_id"] is not None


async def test_cancel_stops_the_run_and_returns_queued_messages() -> None:
    gate, reached = anyio.Event(), anyio.Event()
    async with web_server(scripted(reply(Text("slow"), Wait(gate, reached)))) as srv:
        session, _ = await srv.new_session()
        idle = await srv.http.post(f"/api/cancel/{session.id}")
        assert idle.json() == {"cancelled": False, "returned": []}

        await srv.http.post(f"/api/query/{session.id}", json={"text": "start"})
        await reached.wait()
        await srv.http.post(f"/api/steer/{session.id}", json={"text": "never delivered"})
        cancelled = await srv.http.post(f"/api/cancel/{session.id}")
        assert cancelled.status_code == 200
        body = cancelled.json()
        assert body["cancelled"] is True
        assert [m["text"] for m in body["returned"]] == ["never delivered"]
        assert session.store.replay(session.store.last_seq - 1)[-1].type == "RUN_CANCELLED"
        assert not session.running


async def test_permission_answers_reach_the_waiting_tool() -> None:
    touch = WriteLikeTool()
    replies = (reply(ToolCall("Touch", {})), reply(Text("done")))
    async with web_server(scripted(*replies, tools=[touch])) as srv:
        session, _ = await srv.new_session()
        await srv.http.post(f"/api/query/{session.id}", json={"text": "touch it"})
        asked = await wait_for(session.store, lambda e: e.type == "PERMISSION_REQUESTED")

        wrong = await srv.http.post(
            f"/api/permission/{session.id}", json={"request_id": "perm_nope", "decision": "deny"}
        )
        assert wrong.status_code == 404 and wrong.json()["error"]["code"] == "unknown_request"
        bad = await srv.http.post(
            f"/api/permission/{session.id}",
            json={"request_id": asked.request_id, "decision": "sure"},
        )
        assert bad.status_code == 422 and "body.decision" in bad.json()["error"]["message"]

        ok = await srv.http.post(
            f"/api/permission/{session.id}",
            json={"request_id": asked.request_id, "decision": "allow_once"},
        )
        assert ok.json() == {"request_id": asked.request_id, "decision": "allow_once"}
        resolved = await wait_for(session.store, lambda e: e.type == "PERMISSION_RESOLVED")
        assert resolved.decision == "allow_once"
        await wait_for(session.store, lambda e: e.type == "RUN_COMPLETED")
        assert touch.runs == 1


async def test_models_are_listed_for_a_session_and_switching_applies_at_once_when_idle(
    tmp_path,
) -> None:
    async with web_server() as srv:
        session, token = await srv.new_session()
        names = [m.name for m in available_models(session.cwd, session.settings)]

        listed = (await srv.http.get("/api/models", params={"session": session.id})).json()
        assert listed["session_id"] == session.id and listed["current"] == "scripted"
        assert [m["name"] for m in listed["models"]] == names
        assert listed["models"][0] == {
            "name": "demo",
            "provider": "scripted",
            "context_window": 200_000,
            "price": "free",
            "key_present": True,
            "note": "offline demo",
        }
        # The server token without a session: the list for the server's own folder.
        anywhere = (await srv.http.get("/api/models")).json()
        assert anywhere["session_id"] is None and anywhere["current"] is None
        assert "demo" in [m["name"] for m in anywhere["models"]]
        # A session token lists for its own session.
        own = await srv.http.get("/api/models", headers={"Authorization": f"Bearer {token}"})
        assert own.json()["session_id"] == session.id

        switched = await srv.http.post(f"/api/model/{session.id}", json={"model": "demo"})
        assert switched.status_code == 200
        assert switched.json() == {"model": "demo", "provider": "scripted", "applies": "now"}
        changed = await wait_for(session.store, lambda e: e.type == "MODEL_CHANGED")
        assert (changed.model, changed.previous_model) == ("demo", "scripted")
        assert session.model.name == "demo"

        unknown = await srv.http.post(
            f"/api/model/{session.id}", json={"model": "gpt-17-imaginary"}
        )
        assert unknown.status_code == 422
        error = unknown.json()["error"]
        assert error["message"] == "unknown model 'gpt-17-imaginary'"
        assert "providers: anthropic" in error["hint"]

        for bad, problem in [
            ({}, "body.model: Field required"),
            ({"model": ""}, "body.model: String should have at least 1 character"),
            ({"model": 5}, "body.model: Input should be a valid string"),
            ({"model": "demo", "now": True}, "body.now: Extra inputs are not permitted"),
        ]:
            response = await srv.http.post(f"/api/model/{session.id}", json=bad)
            assert response.status_code == 422, bad
            assert response.json()["error"]["message"] == problem

        # A script would be a file on the server's disk, named by the browser.
        script = tmp_path / "replies.yaml"
        script.write_text("- text: from a file\n")
        scripted_file = await srv.http.post(
            f"/api/model/{session.id}", json={"model": f" scripted:{script}"}
        )
        assert scripted_file.status_code == 403
        assert scripted_file.json()["error"]["code"] == "not_supported"
        assert session.model.name == "demo"
        assert [e.type for e in session.store.replay(0)].count("MODEL_CHANGED") == 1


async def test_a_model_switch_during_a_run_applies_at_the_next_turn() -> None:
    gate, reached = anyio.Event(), anyio.Event()
    replies = (reply(Text("first turn"), Wait(gate, reached), ToolCall("Echo", {"text": "x"})),)
    async with web_server(scripted(*replies, tools=[EchoTool()])) as srv:
        session, _ = await srv.new_session()
        started = await srv.http.post(f"/api/query/{session.id}", json={"text": "go"})
        await reached.wait()

        switched = await srv.http.post(f"/api/model/{session.id}", json={"model": "demo"})
        assert switched.json() == {"model": "demo", "provider": "scripted", "applies": "next_turn"}
        assert session.model.name == "scripted"
        assert "MODEL_CHANGED" not in [e.type for e in session.store.replay(0)]

        gate.set()
        changed = await wait_for(session.store, lambda e: e.type == "MODEL_CHANGED")
        assert changed.model == "demo" and changed.run_id == started.json()["run_id"]
        tool_done = await wait_for(session.store, lambda e: e.type == "TOOL_CALL_COMPLETED")
        assert tool_done.seq < changed.seq  # after the first turn, before the second
        turns = [e for e in session.store.replay(0) if e.type == "MESSAGE_COMPLETED"]
        assert turns[0].seq < changed.seq
        await wait_for(session.store, lambda e: e.type == "RUN_COMPLETED")
        second = [e for e in session.store.replay(changed.seq) if e.type == "MESSAGE_COMPLETED"]
        # The second turn was the demo's (its reply after one tool round).
        assert second[0].turn == 2 and second[0].message.text.startswith("Done looking")


async def test_the_mode_switches_and_bypass_only_in_a_session_that_started_in_it() -> None:
    async with web_server() as srv:
        session, _ = await srv.new_session()
        listed = (await srv.http.get("/api/sessions")).json()["sessions"][0]
        assert listed["modes"] == ["default", "acceptEdits", "plan"]

        switched = await srv.http.post(f"/api/mode/{session.id}", json={"mode": "plan"})
        assert switched.status_code == 200
        assert switched.json() == {"mode": "plan", "previous_mode": "default"}
        changed = await wait_for(session.store, lambda e: e.type == "MODE_CHANGED")
        assert (changed.mode, changed.previous_mode) == ("plan", "default")
        assert session.mode == "plan"

        bad = await srv.http.post(f"/api/mode/{session.id}", json={"mode": "yolo"})
        assert bad.status_code == 422
        message = bad.json()["error"]["message"]
        assert message.startswith("body.mode: Input should be")
        assert all(f"'{mode}'" in message for mode in ("default", "acceptEdits", "plan"))
        missing = await srv.http.post(f"/api/mode/{session.id}")
        assert missing.status_code == 422

        bypass = await srv.http.post(f"/api/mode/{session.id}", json={"mode": "bypassPermissions"})
        assert bypass.status_code == 403
        assert bypass.json()["error"]["code"] == "forbidden"
        assert "started in it" in bypass.json()["error"]["message"]
        assert session.mode == "plan"

        # A session that started in bypassPermissions may go back to it.
        started, _ = await srv.new_session(mode="bypassPermissions")
        listed = (await srv.http.get("/api/sessions")).json()["sessions"][1]
        assert listed["modes"] == ["default", "acceptEdits", "plan", "bypassPermissions"]
        for mode in ("default", "bypassPermissions"):
            again = await srv.http.post(f"/api/mode/{started.id}", json={"mode": mode})
            assert again.status_code == 200, again.text
        assert started.mode == "bypassPermissions"


async def test_pull_back_takes_a_queued_message_out_of_the_queue() -> None:
    gate, reached = anyio.Event(), anyio.Event()
    replies = (reply(Text("working"), Wait(gate, reached)), reply(Text("done")))
    async with web_server(scripted(*replies)) as srv:
        session, _ = await srv.new_session()
        url = f"/api/pullback/{session.id}"
        idle = await srv.http.post(url)
        assert idle.status_code == 404 and idle.json()["error"]["code"] == "nothing_queued"

        await srv.http.post(f"/api/query/{session.id}", json={"text": "start"})
        await reached.wait()
        first = (await srv.http.post(f"/api/steer/{session.id}", json={"text": "one"})).json()
        await srv.http.post(f"/api/steer/{session.id}", json={"text": "two", "kind": "follow_up"})

        taken = await srv.http.post(url, json={"steering_id": first["steering_id"]})
        assert taken.status_code == 200
        assert taken.json() == {
            "steering_id": first["steering_id"],
            "text": "one",
            "kind": "steer",
            "images": [],
        }
        withdrawn = await wait_for(session.store, lambda e: e.type == "STEERING_WITHDRAWN")
        assert (withdrawn.steering_id, withdrawn.text, withdrawn.reason) == (
            first["steering_id"],
            "one",
            "pulled_back",
        )
        gone = await srv.http.post(url, json={"steering_id": first["steering_id"]})
        assert gone.status_code == 404 and gone.json()["error"]["code"] == "unknown_steering"

        for bad in ({"steering_id": 5}, {"steering_id": ""}, {"id": "x"}):
            response = await srv.http.post(url, json=bad)
            assert response.status_code == 422, bad
            assert response.json()["error"]["message"].startswith("body.")

        newest = await srv.http.post(url)  # no body: the newest
        assert newest.json()["text"] == "two" and newest.json()["kind"] == "follow_up"
        assert (await srv.http.post(url, json={})).status_code == 404

        gate.set()
        await wait_for(session.store, lambda e: e.type == "RUN_COMPLETED")
        assert "STEERING_DELIVERED" not in [e.type for e in session.store.replay(0)]
        assert [e.type for e in session.store.replay(0)].count("PROMPT_RECEIVED") == 1


async def test_events_endpoint_pages_by_seq() -> None:
    async with web_server(scripted(reply(Text("a b c d e f g h")))) as srv:
        session, _ = await srv.new_session()
        await srv.http.post(f"/api/query/{session.id}", json={"text": "go"})
        await wait_for(session.store, lambda e: e.type == "RUN_COMPLETED")
        last = session.store.last_seq
        url = f"/api/session/{session.id}/events"

        everything = (await srv.http.get(url)).json()
        assert everything["session_id"] == session.id
        assert (everything["oldest_seq"], everything["last_seq"]) == (1, last)
        assert [e["seq"] for e in everything["events"]] == list(range(1, last + 1))
        assert everything["more"] is False

        middle = (await srv.http.get(url, params={"since": 2, "until": 5})).json()
        assert [e["seq"] for e in middle["events"]] == [3, 4, 5] and middle["more"] is False
        paged = (await srv.http.get(url, params={"since": 2, "limit": 2})).json()
        assert [e["seq"] for e in paged["events"]] == [3, 4] and paged["more"] is True
        beyond = (await srv.http.get(url, params={"since": last})).json()
        assert beyond["events"] == [] and beyond["more"] is False

        for bad in ({"since": -1}, {"since": "x"}, {"limit": 0}, {"limit": 10**6}):
            response = await srv.http.get(url, params=bad)
            assert response.status_code == 422, bad
            assert response.json()["error"]["message"].startswith("query.")


async def test_bad_bodies_are_422_413_with_clear_messages() -> None:
    async with web_server() as srv:
        session, _ = await srv.new_session()
        query = f"/api/query/{session.id}"

        broken = await srv.http.post(
            query, content=b'{"text": ', headers={"content-type": "application/json"}
        )
        assert broken.status_code == 422
        assert broken.json()["error"]["message"].startswith("the body is not valid JSON")

        missing = await srv.http.post(query, json={})
        assert missing.json()["error"]["message"] == (
            "body: Value error, a message needs text, images or both"
        )
        wrong_type = await srv.http.post(query, json={"text": 5})
        assert wrong_type.status_code == 422
        blank = await srv.http.post(query, json={"text": "   "})
        assert (
            blank.status_code == 422 and blank.json()["error"]["message"] == "the prompt is empty"
        )

        too_long = await srv.http.post(query, json={"text": "x" * (MAX_PROMPT_CHARS + 1)})
        assert too_long.status_code == 422
        assert f"at most {MAX_PROMPT_CHARS} characters" in too_long.json()["error"]["message"]

        # A prompt may carry images, so its body may be larger than others.
        for path, limit in [
            (query, MAX_PROMPT_BODY_BYTES),
            (f"/api/model/{session.id}", MAX_BODY_BYTES),
        ]:
            huge = await srv.http.post(path, content=b"x" * (limit + 1))
            assert huge.status_code == 413 and huge.json()["error"]["code"] == "body_too_large"
            assert f"larger than {limit:,} bytes" in huge.json()["error"]["message"]

            async def chunks(limit: int = limit):
                for _ in range(limit // 65536 + 2):
                    yield b"y" * 65536

            streamed = await srv.http.post(path, content=chunks())
            assert streamed.status_code == 413

        # Nothing of that started a run or broke the session.
        assert not session.running
        fine = await srv.http.post(query, json={"text": "x" * MAX_PROMPT_CHARS})
        assert fine.status_code == 202


async def test_unknown_sessions_routes_and_methods_are_json_errors() -> None:
    async with web_server() as srv:
        for method, path, body in [
            ("POST", "/api/query/ses_missing", {"text": "hi"}),
            ("POST", "/api/steer/ses_missing", {"text": "hi"}),
            ("POST", "/api/cancel/ses_missing", None),
            ("POST", "/api/permission/ses_missing", {"request_id": "r", "decision": "deny"}),
            ("POST", "/api/model/ses_missing", {"model": "demo"}),
            ("POST", "/api/mode/ses_missing", {"mode": "plan"}),
            ("POST", "/api/pullback/ses_missing", None),
            ("GET", "/api/models?session=ses_missing", None),
            ("GET", "/api/session/ses_missing/events", None),
            ("DELETE", "/api/session/ses_missing", None),
        ]:
            response = await srv.http.request(method, path, json=body)
            assert response.status_code == 404, path
            error = response.json()["error"]
            assert error == {
                "code": "unknown_session",
                "message": "no session 'ses_missing'",
                "hint": "GET /api/sessions lists the open sessions",
            }
        route = await srv.http.get("/api/nothing-here")
        assert route.status_code == 404 and route.json()["error"]["code"] == "not_found"
        method = await srv.http.put("/api/sessions")
        assert method.status_code == 405
        assert method.json()["error"]["code"] == "method_not_allowed"


async def test_websocket_refusals_and_garbage() -> None:
    async with web_server(scripted(reply(Text("hi")))) as srv:
        session, _ = await srv.new_session()
        for session_id, query, status in [
            ("ses_missing", {}, 404),
            (session.id, {"since": "abc"}, 422),
            (session.id, {"since": 10_000}, 422),
        ]:
            with pytest.raises(InvalidStatus) as refused:
                async with srv.socket(session_id, **query):
                    pass
            assert refused.value.response.status_code == status
            assert json.loads(refused.value.response.body)["error"]["message"]

        async with srv.socket(session.id) as ws:
            first = json.loads(await ws.recv())
            assert first[0]["type"] == "SESSION_STARTED"
            await ws.send("not json")
            assert json.loads(await ws.recv())[0]["type"] == "PROTOCOL_ERROR"
            await ws.send(b"\x00\x01")
            assert "binary" in json.loads(await ws.recv())[0]["message"]
            await ws.send('{"type": "submit", "text": "hi"}')
            assert "only understands" in json.loads(await ws.recv())[0]["message"]
            await ws.send('{"type": "ping"}')
            assert json.loads(await ws.recv()) == [{"type": "PONG"}]
            # The stream still works after the garbage.
            await srv.http.post(f"/api/query/{session.id}", json={"text": "go"})
            assert run_ended((await receive_until(ws, run_ended))[-1])

        async with srv.socket(session.id) as ws:
            await ws.recv()
            for _ in range(MAX_BAD_MESSAGES):
                await ws.send("junk")
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    await ws.recv()
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
        # Others were not affected.
        assert (await srv.http.get("/api/sessions")).status_code == 200


async def test_the_stream_closes_with_1000_when_the_session_ends() -> None:
    async with web_server() as srv:
        session, _ = await srv.new_session()
        async with srv.socket(session.id) as ws:
            await ws.recv()
            await srv.http.delete(f"/api/session/{session.id}")
            items = []
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    items += json.loads(await ws.recv())
            assert items[-1]["type"] == "SESSION_ENDED"
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1000


async def test_mirror_serves_one_session_and_cannot_create_others() -> None:
    async with Session(model="demo") as session, mirror(session) as srv:
        listing = (await srv.http.get("/api/sessions")).json()
        assert listing["scope"] == "session" and listing["can_create"] is False
        assert [s["id"] for s in listing["sessions"]] == [session.id]

        refused = await srv.http.post("/api/session", json={})
        assert refused.status_code == 403
        assert refused.json()["error"]["message"] == "a session token cannot create sessions"
        assert (await srv.http.delete(f"/api/session/{session.id}")).status_code == 403

        await srv.http.post(f"/api/query/{session.id}", json={"text": "hello"})
        async with srv.socket(session.id) as ws:
            items = await receive_until(ws, run_ended)
        assert items[0]["type"] == "SESSION_STARTED" and items[-1]["type"] == "RUN_COMPLETED"


async def test_the_page_is_one_response_with_a_strict_policy() -> None:
    async with web_server() as srv:
        response = await srv.http.get("/")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")
        policy = response.headers["content-security-policy"]
        nonce = policy.split("'nonce-")[1].split("'")[0]
        page = response.text
        assert page.count(f'nonce="{nonce}"') == 2  # the style and the script
        assert "/*SCRIPT*/" not in page and "const Markdown" in page and "HANDLERS" in page
        assert srv.token not in page
        assert "connect-src 'self'" in policy and "default-src 'none'" in policy
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["cache-control"] == "no-store"
        again = await srv.http.get("/")
        assert again.headers["content-security-policy"] != policy  # a fresh nonce


async def test_stopping_the_server_closes_open_streams_promptly() -> None:
    async with Session(model="demo") as session:
        async with mirror(session) as srv:
            ws = await connect(srv.ws_url(session.id)).__aenter__()
            await ws.recv()
            stopping = anyio.current_time()
        # The mirror's group was cancelled, as when the TUI exits with a browser open.
        assert anyio.current_time() - stopping < 5
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await ws.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code in (1001, 1012)
        assert not session.store.closed  # the session is the TUI's: it lives on
