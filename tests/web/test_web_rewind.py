"""Rewind over the web API, on real sessions whose scripted model writes files with the
Write tool in a folder of the test's own: the points, a preview, a rewind of the code
(the bytes on disk come back), of the conversation (the prompt comes back, the next
message goes on from before it), files changed by hand (409 until overwrite or keep),
redo, and the refusals: busy, unknown targets, bad bodies, the guards; the same on the
TUI's mirror of its one session."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import pytest

from harness_tui.core.providers.models import ModelChoice
from harness_tui.core.providers.offline.scripted import (
    Reply,
    ScriptedProvider,
    Text,
    ToolCall,
    Wait,
    reply,
)
from harness_tui.core.session.session import Session
from harness_tui.core.tools.files import WriteTool
from harness_tui.web.api import MAX_BODY_BYTES
from harness_tui.web.redact import MASK
from harness_tui.web.rewind import MAX_DIFF_CHARS
from tests.helpers import wait_for
from tests.web_support import Served, mirror, web_server

SECRET = "sk-ant-test-0123456789abcdefREWIND"


def writing(
    work: Path, *replies: Reply, providers: list[ScriptedProvider] | None = None
) -> Callable[[], dict[str, Any]]:
    """Session options: in ``work``, with the Write tool, playing ``replies``."""

    def options() -> dict[str, Any]:
        provider = ScriptedProvider(list(replies))
        if providers is not None:
            providers.append(provider)
        return {
            "model": ModelChoice("scripted", "scripted", lambda: provider, 200_000),
            "tools": [WriteTool()],
            "cwd": work,
        }

    return options


def write(path: str, content: str) -> Reply:
    return reply(ToolCall("Write", {"file_path": path, "content": content}))


@pytest.fixture
def work(tmp_path: Path) -> Path:
    folder = tmp_path / "work"
    folder.mkdir()
    (folder / "notes.txt").write_text("original\n")
    return folder


async def run(srv: Served, session_id: str, text: str) -> None:
    session = srv.manager.get(session_id)  # type: ignore[union-attr]
    started = await srv.http.post(f"/api/query/{session_id}", json={"text": text})
    assert started.status_code == 202, started.text
    run_id = started.json()["run_id"]
    await wait_for(session.store, lambda e: e.type == "RUN_COMPLETED" and e.run_id == run_id)


async def test_points_preview_a_code_rewind_and_redo(work: Path) -> None:
    replies = (
        write("notes.txt", "agent\n"),
        reply(ToolCall("Write", {"file_path": "new/made.txt", "content": "made\n"})),
        reply(Text("Done.")),
    )
    async with web_server(writing(work, *replies)) as srv:
        session, _ = await srv.new_session(mode="acceptEdits")
        await run(srv, session.id, "change the notes")
        assert (work / "notes.txt").read_text() == "agent\n"

        listed = await srv.http.get(f"/api/rewind/{session.id}")
        assert listed.status_code == 200, listed.text
        (point,) = listed.json()["points"]
        assert point["number"] == 1 and point["text"] == "change the notes"
        assert sorted(point["files"]) == ["new/made.txt", "notes.txt"]
        assert point["checkpoint_id"] and point["entry_id"]

        preview = await srv.http.get(f"/api/rewind/{session.id}/preview", params={"target": 1})
        assert preview.status_code == 200, preview.text
        plan = preview.json()
        assert plan["point"]["checkpoint_id"] == point["checkpoint_id"]
        actions = {f["path"]: f["action"] for f in plan["files"]}
        assert actions == {"notes.txt": "restore", "new/made.txt": "remove"}
        notes = next(f for f in plan["files"] if f["path"] == "notes.txt")
        assert "-agent" in notes["diff"] and "+original" in notes["diff"]
        assert notes["by_hand"] is False and plan["conflicts"] == []
        assert (work / "notes.txt").read_text() == "agent\n"  # a preview changes nothing

        # By checkpoint id, as well as by number.
        by_id = await srv.http.get(
            f"/api/rewind/{session.id}/preview", params={"target": point["checkpoint_id"]}
        )
        assert by_id.json()["files"] == plan["files"]

        rewound = await srv.http.post(
            f"/api/rewind/{session.id}", json={"target": 1, "mode": "code"}
        )
        assert rewound.status_code == 200, rewound.text
        event = rewound.json()
        assert event["type"] == "REWOUND" and event["mode"] == "code"
        assert event["checkpoint_id"] == point["checkpoint_id"] and event["undoes"] is None
        assert sorted(f["path"] for f in event["files"]) == ["new/made.txt", "notes.txt"]
        assert (work / "notes.txt").read_bytes() == b"original\n"
        assert not (work / "new" / "made.txt").exists()
        stored = await wait_for(session.store, lambda e: e.type == "REWOUND")
        assert stored.seq == event["seq"]  # the same event every browser gets

        redone = await srv.http.post(f"/api/redo/{session.id}")
        assert redone.status_code == 200, redone.text
        assert redone.json()["undoes"] == event["rewind_id"]
        assert (work / "notes.txt").read_bytes() == b"agent\n"
        assert (work / "new" / "made.txt").read_text() == "made\n"


async def test_files_changed_by_hand_are_a_409_until_overwrite_or_keep(work: Path) -> None:
    (work / "other.txt").write_text("other\n")
    replies = (
        write("notes.txt", "agent\n"),
        write("other.txt", "agent other\n"),
        reply(Text("Done.")),
    )
    async with web_server(writing(work, *replies)) as srv:
        session, _ = await srv.new_session(mode="acceptEdits")
        await run(srv, session.id, "change both")
        (work / "notes.txt").write_text("by hand\n")

        preview = await srv.http.get(f"/api/rewind/{session.id}/preview", params={"target": 1})
        assert preview.json()["conflicts"] == ["notes.txt"]

        refused = await srv.http.post(f"/api/rewind/{session.id}", json={"target": 1})
        assert refused.status_code == 409, refused.text
        error = refused.json()["error"]
        assert error["code"] == "rewind_conflict" and error["files"] == ["notes.txt"]
        assert "overwrite" in error["hint"] and "keep" in error["hint"]
        assert (work / "notes.txt").read_text() == "by hand\n"  # nothing was changed
        assert (work / "other.txt").read_text() == "agent other\n"

        kept = await srv.http.post(
            f"/api/rewind/{session.id}", json={"target": 1, "mode": "code", "hand_edits": "keep"}
        )
        assert kept.status_code == 200, kept.text
        assert [s["path"] for s in kept.json()["skipped"]] == ["notes.txt"]
        assert (work / "notes.txt").read_text() == "by hand\n"
        assert (work / "other.txt").read_text() == "other\n"

        overwritten = await srv.http.post(
            f"/api/rewind/{session.id}",
            json={"target": 1, "mode": "code", "hand_edits": "overwrite"},
        )
        assert overwritten.status_code == 200, overwritten.text
        assert [f["path"] for f in overwritten.json()["files"] if not f["by_hand"]] == ["notes.txt"]
        assert (work / "notes.txt").read_bytes() == b"original\n"

        # A redo puts back what that rewind replaced: the hand edit, if nobody changed
        # the file since; else it asks too.
        (work / "notes.txt").write_text("again by hand\n")
        refused = await srv.http.post(f"/api/redo/{session.id}")
        assert refused.status_code == 409, refused.text
        assert refused.json()["error"]["files"] == ["notes.txt"]
        redone = await srv.http.post(f"/api/redo/{session.id}", json={"hand_edits": "overwrite"})
        assert redone.status_code == 200, redone.text
        assert (work / "notes.txt").read_text() == "by hand\n"


async def test_a_conversation_rewind_gives_back_the_prompt_and_leaves_the_files(
    work: Path,
) -> None:
    providers: list[ScriptedProvider] = []
    replies = (reply(Text("First answer.")), write("notes.txt", "agent\n"), reply(Text("Ok.")))
    replies += (reply(Text("Again.")),)
    async with web_server(writing(work, *replies, providers=providers)) as srv:
        session, _ = await srv.new_session(mode="acceptEdits")
        await run(srv, session.id, "hello")
        await run(srv, session.id, "write the notes")
        points = (await srv.http.get(f"/api/rewind/{session.id}")).json()["points"]
        assert [p["text"] for p in points] == ["hello", "write the notes"]

        rewound = await srv.http.post(
            f"/api/rewind/{session.id}", json={"target": 2, "mode": "conversation"}
        )
        assert rewound.status_code == 200, rewound.text
        event = rewound.json()
        assert event["mode"] == "conversation" and event["prompt"] == "write the notes"
        assert event["files"] == [] and event["previous_entry_id"]
        assert (work / "notes.txt").read_text() == "agent\n"

        # The next message goes on from before the prompt: the model no longer sees it.
        await run(srv, session.id, "write them differently")
        texts = [m.typed for m in providers[0].requests[-1].messages if m.role == "user"]
        assert texts == ["hello", "write them differently"]


async def test_a_rewind_during_a_run_is_409_busy(work: Path) -> None:
    gate, reached = anyio.Event(), anyio.Event()
    replies = (write("notes.txt", "agent\n"), reply(Text("Done.")))
    replies += (reply(Text("holding"), Wait(gate, reached)),)
    async with web_server(writing(work, *replies)) as srv:
        session, _ = await srv.new_session(mode="acceptEdits")
        await run(srv, session.id, "change the notes")
        held = await srv.http.post(f"/api/query/{session.id}", json={"text": "hold on"})
        await reached.wait()
        busy = await srv.http.post(f"/api/rewind/{session.id}", json={"target": 1})
        assert busy.status_code == 409, busy.text
        assert busy.json()["error"]["code"] == "busy"
        redo = await srv.http.post(f"/api/redo/{session.id}")
        assert redo.status_code == 409 and redo.json()["error"]["code"] == "busy"
        assert (work / "notes.txt").read_text() == "agent\n"
        gate.set()
        run_id = held.json()["run_id"]
        await wait_for(session.store, lambda e: e.type == "RUN_COMPLETED" and e.run_id == run_id)


async def test_unknown_targets_and_bad_bodies_say_what_is_wrong(work: Path) -> None:
    replies = (write("notes.txt", "agent\n"), reply(Text("Done.")))
    async with web_server(writing(work, *replies)) as srv:
        session, _ = await srv.new_session(mode="acceptEdits")
        nothing = await srv.http.post(f"/api/redo/{session.id}")
        assert nothing.status_code == 409 and nothing.json()["error"]["code"] == "nothing_to_redo"
        empty = (await srv.http.get(f"/api/rewind/{session.id}")).json()
        assert empty == {"session_id": session.id, "points": []}
        await run(srv, session.id, "change the notes")
        url = f"/api/rewind/{session.id}"

        for target in (9, "9", "chk_nope", "0"):
            found = await srv.http.post(url, json={"target": target})
            assert found.status_code == 404, (target, found.text)
            error = found.json()["error"]
            assert error["code"] == "unknown_target", target
            assert "this session has prompts 1–1" in error["hint"]
            seen = await srv.http.get(f"{url}/preview", params={"target": target})
            assert seen.status_code == 404 and seen.json()["error"]["code"] == "unknown_target"

        bad = {
            "body.mode": {"target": 1, "mode": "sideways"},
            "body.hand_edits": {"target": 1, "hand_edits": "maybe"},
            "body.target": {"target": True},
            "body.force": {"target": 1, "force": True},
        }
        for field, body in bad.items():
            refused = await srv.http.post(url, json=body)
            assert refused.status_code == 422, (body, refused.text)
            assert field in refused.json()["error"]["message"], body
        for body in ({"target": 0}, {"target": ""}, {"target": "  "}, {}):
            refused = await srv.http.post(url, json=body)
            assert refused.status_code == 422, (body, refused.text)
            assert "body.target" in refused.json()["error"]["message"]
        blank = await srv.http.get(f"{url}/preview", params={"target": " "})
        assert blank.status_code == 422 and "target" in blank.json()["error"]["message"]
        no_target = await srv.http.get(f"{url}/preview")
        assert no_target.status_code == 422 and "target" in no_target.json()["error"]["message"]
        not_json = await srv.http.post(
            url, content=b"{", headers={"content-type": "application/json"}
        )
        assert not_json.status_code == 422

        for path in ("/api/rewind/ses_nope", "/api/rewind/ses_nope/preview?target=1"):
            gone = await srv.http.get(path)
            assert gone.status_code == 404 and gone.json()["error"]["code"] == "unknown_session"
        gone = await srv.http.post("/api/rewind/ses_nope", json={"target": 1})
        assert gone.status_code == 404 and gone.json()["error"]["code"] == "unknown_session"
        assert (await srv.http.post("/api/redo/ses_nope")).status_code == 404
        assert (work / "notes.txt").read_text() == "agent\n"


async def test_the_rewind_routes_are_guarded_like_the_others(work: Path) -> None:
    replies = (write("notes.txt", "agent\n"), reply(Text("Done.")))
    async with web_server(writing(work, *replies)) as srv:
        session, token = await srv.new_session(mode="acceptEdits")
        other, other_token = await srv.new_session(mode="acceptEdits")
        await run(srv, session.id, "change the notes")
        url = f"/api/rewind/{session.id}"
        body = {"target": 1, "mode": "code"}

        anonymous = await srv.http.post(url, json=body, headers={"Authorization": ""})
        assert anonymous.status_code == 401
        foreign = await srv.http.post(url, json=body, headers={"Origin": "http://evil.test"})
        assert foreign.status_code == 403
        assert foreign.json()["error"]["code"] == "origin_not_allowed"
        for method, path in (("GET", url), ("GET", f"{url}/preview?target=1"), ("POST", url)):
            wrong = await srv.http.request(
                method,
                path,
                json=body if method == "POST" else None,
                headers={"Authorization": f"Bearer {other_token}"},
            )
            assert wrong.status_code == 403, path
        redo = await srv.http.post(
            f"/api/redo/{session.id}", headers={"Authorization": f"Bearer {other_token}"}
        )
        assert redo.status_code == 403
        huge = await srv.http.post(
            url, content=b" " * (MAX_BODY_BYTES + 1), headers={"content-type": "application/json"}
        )
        assert huge.status_code == 413
        assert (work / "notes.txt").read_text() == "agent\n"

        # The session's own token may rewind it.
        mine = await srv.http.post(url, json=body, headers={"Authorization": f"Bearer {token}"})
        assert mine.status_code == 200, mine.text
        assert (work / "notes.txt").read_text() == "original\n"
        assert other.id != session.id


async def test_a_secret_in_a_prompt_or_a_diff_stays_on_the_server(
    work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", SECRET)
    replies = (write("notes.txt", f"key={SECRET}\n"), reply(Text("Done.")))
    async with web_server(writing(work, *replies)) as srv:
        session, _ = await srv.new_session(mode="acceptEdits")
        await run(srv, session.id, f"store {SECRET}")
        bodies = [
            (await srv.http.get(f"/api/rewind/{session.id}")).text,
            (await srv.http.get(f"/api/rewind/{session.id}/preview?target=1")).text,
            (await srv.http.post(f"/api/rewind/{session.id}", json={"target": 1})).text,
        ]
        assert all(SECRET not in body for body in bodies)
        assert all(MASK in body for body in bodies)
        assert (work / "notes.txt").read_text() == "original\n"


async def test_a_long_diff_is_cut_short_in_the_preview_and_restored_whole(work: Path) -> None:
    long = "".join(f"line {i}\n" for i in range(23_000))  # about 240 kB
    assert MAX_DIFF_CHARS < len(long) < 256 * 1024
    replies = (write("notes.txt", long), reply(Text("Done.")))
    async with web_server(writing(work, *replies)) as srv:
        session, _ = await srv.new_session(mode="acceptEdits")
        await run(srv, session.id, "make it long")
        plan = (await srv.http.get(f"/api/rewind/{session.id}/preview?target=1")).json()
        (notes,) = plan["files"]
        assert notes["diff_truncated"] is True and len(notes["diff"]) == MAX_DIFF_CHARS
        assert notes["diff"].startswith("--- a/notes.txt")
        rewound = await srv.http.post(f"/api/rewind/{session.id}", json={"target": 1})
        assert rewound.status_code == 200, rewound.text
        assert (work / "notes.txt").read_text() == "original\n"


async def test_the_tuis_mirror_rewinds_its_one_session(work: Path) -> None:
    options = writing(work, write("notes.txt", "agent\n"), reply(Text("Done.")))()
    async with Session(mode="acceptEdits", **options) as session, mirror(session) as srv:
        await session.submit("change the notes")
        await wait_for(session.store, lambda e: e.type == "RUN_COMPLETED")
        points = (await srv.http.get(f"/api/rewind/{session.id}")).json()["points"]
        assert [p["text"] for p in points] == ["change the notes"]
        rewound = await srv.http.post(
            f"/api/rewind/{session.id}", json={"target": 1, "mode": "code"}
        )
        assert rewound.status_code == 200, rewound.text
        assert (work / "notes.txt").read_text() == "original\n"
