"""Images through the API: a prompt's image reaches the model fitted to its limits (the
strict Anthropic fake checks the wire request), steers and follow-ups carry images, bad
images are refused with the image named and nothing run, a 4K screenshot fits the body
cap, and a session's images are served by SHA-256, also after a resume."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import time
from pathlib import Path
from typing import Any

import anyio
import pytest
from PIL import Image

from harness_tui.core.images.fit import target_size
from harness_tui.core.images.intake import MAX_INPUT_BYTES
from harness_tui.core.providers.catalogue import PROTOCOL_IMAGE_LIMITS
from harness_tui.core.providers.models import ModelChoice
from harness_tui.core.providers.offline.scripted import ScriptedProvider, Text, Wait, reply
from harness_tui.core.session.session import Session
from harness_tui.web.api import MAX_PROMPT_BODY_BYTES
from harness_tui.web.bodies import MAX_IMAGES_PER_MESSAGE
from tests.fakes import script as api
from tests.fakes.wiring import anthropic_fake, fast, write_models_settings
from tests.helpers import png, wait_for
from tests.web_support import mirror, scripted, web_server


def picture(width: int, height: int, kind: str = "PNG", noise: bool = False) -> bytes:
    """An image file of that size: a gradient, or random pixels (incompressible)."""
    if noise:
        image = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
    else:
        image = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    out = io.BytesIO()
    image.save(out, kind, compress_level=1) if kind == "PNG" else image.save(out, kind)
    return out.getvalue()


def attached(data: bytes, name: str = "shot.png", media_type: str = "image/png") -> dict:
    return {"media_type": media_type, "data": base64.b64encode(data).decode(), "name": name}


def event_types(session: Session) -> list[str]:
    return [e.type for e in session.store.replay(0)]


async def test_a_prompt_image_reaches_the_model_fitted_and_is_served_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shot = picture(3000, 1500)
    digest = hashlib.sha256(shot).hexdigest()
    with anthropic_fake(monkeypatch) as server:
        write_models_settings({"anthropic": fast()})
        server.script(api.reply(api.Say("A gradient.")))
        options = lambda: {"model": "anthropic/claude-sonnet-4-6"}  # noqa: E731
        async with web_server(options) as srv:
            session, token = await srv.new_session()
            sent = await srv.http.post(
                f"/api/query/{session.id}",
                json={"text": "what is this?", "images": [attached(shot)]},
            )
            assert sent.status_code == 202, sent.text
            done = await wait_for(session.store, lambda e: e.type == "RUN_COMPLETED")
            assert not done.is_error and done.result == "A gradient."

            # The wire request: the image first, fitted to Anthropic's limits, then the text.
            assert server.rejections == []
            image, text = server.requests[0]["messages"][-1]["content"]
            assert text["type"] == "text" and text["text"] == "what is this?"
            assert image["type"] == "image" and image["source"]["type"] == "base64"
            wire = Image.open(io.BytesIO(base64.b64decode(image["source"]["data"])))
            assert wire.size == target_size(3000, 1500, PROTOCOL_IMAGE_LIMITS["anthropic"])
            assert wire.size[0] < 3000

            # The event names the image; no event carries its bytes.
            prompt = next(e for e in session.store.replay(0) if e.type == "PROMPT_RECEIVED")
            (block,) = prompt.images
            assert (block.sha256, block.width, block.height) == (digest, 3000, 1500)
            assert (block.name, block.media_type, block.size) == (
                "shot.png",
                "image/png",
                len(shot),
            )
            listed = await srv.http.get(f"/api/session/{session.id}/events")
            assert listed.json()["events"][1]["images"][0]["sha256"] == digest
            assert image["source"]["data"][:200] not in listed.text
            assert base64.b64encode(shot).decode()[:200] not in listed.text

            # The bytes by hash, with the session's own token and the server's.
            path = f"/api/sessions/{session.id}/images/{digest}"
            for headers in ({}, {"Authorization": f"Bearer {token}"}):
                got = await srv.http.get(path, headers=headers)
                assert got.status_code == 200 and got.content == shot
                assert got.headers["content-type"] == "image/png"
                assert got.headers["x-content-type-options"] == "nosniff"
            unknown = await srv.http.get(f"/api/sessions/{session.id}/images/{'0' * 64}")
            assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "unknown_image"
            for bad in ("xyz", digest.upper(), digest[:-1], "../" + digest[3:]):
                refused = await srv.http.get(f"/api/sessions/{session.id}/images/{bad}")
                assert refused.status_code in (404, 422), bad
            assert (
                await srv.http.get(path, headers={"Authorization": "Bearer no"})
            ).status_code == 401
            _, other_token = await srv.new_session()
            foreign = await srv.http.get(path, headers={"Authorization": f"Bearer {other_token}"})
            assert foreign.status_code == 403


async def test_steers_and_follow_ups_carry_images_in_either_shape() -> None:
    gate, reached = anyio.Event(), anyio.Event()
    provider = ScriptedProvider(
        [reply(Text("working"), Wait(gate, reached)), reply(Text("seen")), reply(Text("more"))]
    )
    options = lambda: {  # noqa: E731
        "model": ModelChoice("scripted", "scripted", lambda: provider, 200_000),
        "tools": [],
    }
    first, second = png(4, 3), picture(40, 30, "JPEG")
    async with web_server(options) as srv:
        session, _ = await srv.new_session()
        await srv.http.post(f"/api/query/{session.id}", json={"text": "start"})
        await reached.wait()
        busy = await srv.http.post(f"/api/query/{session.id}", json={"images": [attached(first)]})
        assert busy.status_code == 409 and busy.json()["error"]["code"] == "busy"
        steer = f"/api/steer/{session.id}"
        claude_shape = {
            "type": "image",
            "source": {
                "type": "base64",
                "media_type": "image/png",
                "data": base64.b64encode(first).decode(),
            },
        }
        queued = await srv.http.post(steer, json={"images": [claude_shape]})  # no text
        assert queued.status_code == 202 and queued.json()["queued"] is True, queued.text
        later = await srv.http.post(
            steer,
            json={"text": "and this", "kind": "follow_up", "images": [attached(second, "a.jpg")]},
        )
        assert later.status_code == 202 and later.json()["queued"] is True
        steered = await wait_for(session.store, lambda e: e.type == "STEERING_QUEUED")
        assert steered.images[0].sha256 == hashlib.sha256(first).hexdigest()
        assert steered.images[0].name == "image-1.png"  # sent without a name
        gate.set()
        await wait_for(
            session.store, lambda e: e.type == "RUN_COMPLETED" and e.result == "more", timeout=20
        )
    # The steer went with the run's next request, the follow-up with the next run's.
    steer_request, follow_request = provider.requests[1], provider.requests[2]
    assert [i.name for i in steer_request.messages[-1].images] == ["image-1.png"]
    assert set(steer_request.images) == {hashlib.sha256(first).hexdigest()}
    message = follow_request.messages[-1]
    assert message.text == "and this" and [i.media_type for i in message.images] == ["image/jpeg"]


def bomb() -> bytes:
    """A few KB of PNG that claims 144 million pixels."""
    out = io.BytesIO()
    Image.new("1", (12_000, 12_000)).save(out, "PNG")
    return out.getvalue()


BAD = [
    ("not base64", {"data": "not base64!!"}, 422, "data is not base64"),
    ("base64 with a line break", {"data": "iVBO\nRw0K"}, 422, "data is not base64"),
    ("a TIFF", {"media_type": "image/tiff"}, 422, "media type 'image/tiff' is not taken"),
    ("no media type", {"media_type": ""}, 422, "is not taken"),
    ("text as PNG", {"data": base64.b64encode(b"hello, world").decode()}, 422, "not an image"),
    ("a cut PNG", {"data": base64.b64encode(png(64, 64)[:60]).decode()}, 422, "damaged or cut"),
    ("a bomb", {"data": base64.b64encode(bomb()).decode()}, 422, "decompression bomb"),
    ("too large", {"data": "A" * (MAX_INPUT_BYTES // 3 * 4 + 8)}, 413, "more than the 30 MB"),
]


@pytest.mark.parametrize(("case", "change", "status", "reason"), BAD, ids=[b[0] for b in BAD])
async def test_a_bad_image_is_refused_by_number_and_name_and_nothing_runs(
    case: str, change: dict[str, Any], status: int, reason: str
) -> None:
    async with web_server(scripted(reply(Text("never")))) as srv:
        session, _ = await srv.new_session()
        good, bad = attached(png(), "good.png"), {**attached(png(), "bad.png"), **change}
        for path, body in [
            (f"/api/query/{session.id}", {"text": "look", "images": [good, bad]}),
            (f"/api/steer/{session.id}", {"text": "look", "images": [good, bad]}),
        ]:
            refused = await srv.http.post(path, json=body)
            assert refused.status_code == status, refused.text
            error = refused.json()["error"]
            assert error["image"] == {"index": 1, "name": "bad.png"}
            assert error["message"].startswith("image 2") and "bad.png" in error["message"]
            assert reason in error["message"] and error.get("hint")
        assert not session.running and "PROMPT_RECEIVED" not in event_types(session)


async def test_malformed_image_lists_are_422_before_any_image_is_read() -> None:
    async with web_server() as srv:
        session, _ = await srv.new_session()
        query = f"/api/query/{session.id}"
        one = attached(png())
        for body, words in [
            ({"text": "x", "images": [one] * (MAX_IMAGES_PER_MESSAGE + 1)}, "at most 20"),
            ({"text": "x", "images": [{"name": "a.png"}]}, "needs media_type and data"),
            (
                {
                    "images": [
                        {**one, "source": {"type": "base64", "media_type": "image/png", "data": ""}}
                    ]
                },
                "not both",
            ),
            ({"images": [{**one, "url": "http://example.com/a.png"}]}, "Extra inputs"),
            ({"images": []}, "needs text, images or both"),
        ]:
            refused = await srv.http.post(query, json=body)
            assert refused.status_code == 422 and words in refused.json()["error"]["message"]
        assert not session.running and "PROMPT_RECEIVED" not in event_types(session)


async def test_a_4k_screenshot_at_the_size_cap_fits_in_one_body() -> None:
    """The largest image the core takes (30 MB), in base64, is within the body cap; a
    body past the cap is a 413 that says how large a body may be."""
    shot = picture(3840, 2160, noise=True)  # incompressible: about 24 MB as a PNG
    assert len(shot) <= MAX_INPUT_BYTES
    assert len(base64.b64encode(bytes(MAX_INPUT_BYTES))) + 100_000 * 6 < MAX_PROMPT_BODY_BYTES
    async with web_server(scripted(reply(Text("big")))) as srv:
        session, _ = await srv.new_session()
        started = time.perf_counter()
        sent = await srv.http.post(
            f"/api/query/{session.id}", json={"text": "4K", "images": [attached(shot)]}
        )
        took = time.perf_counter() - started
        assert sent.status_code == 202, sent.text
        prompt = await wait_for(session.store, lambda e: e.type == "PROMPT_RECEIVED")
        assert (prompt.images[0].width, prompt.images[0].height) == (3840, 2160)
        print(f"4K PNG of {len(shot) / 2**20:.1f} MB accepted in {took * 1000:.0f} ms")
        await wait_for(session.store, lambda e: e.type == "RUN_COMPLETED")
        two = {"text": "two", "images": [attached(shot), attached(shot, "again.png")]}
        refused = await srv.http.post(f"/api/query/{session.id}", json=two)
        assert refused.status_code == 413 and refused.json()["error"]["code"] == "body_too_large"
        assert f"{MAX_PROMPT_BODY_BYTES:,} bytes" in refused.json()["error"]["message"]


async def test_a_resumed_session_keeps_serving_its_images(tmp_path: Path) -> None:
    shot = png(5, 5)
    digest = hashlib.sha256(shot).hexdigest()
    provider = ScriptedProvider([reply(Text("ok"))])
    model = ModelChoice("scripted", "scripted", lambda: provider, 200_000)
    async with Session(model=model, cwd=tmp_path, tools=[]) as session, mirror(session) as srv:
        sent = await srv.http.post(
            f"/api/query/{session.id}", json={"text": "keep", "images": [attached(shot)]}
        )
        assert sent.status_code == 202
        await wait_for(session.store, lambda e: e.type == "RUN_COMPLETED")
        saved_id = session.id
    async with Session.resume(saved_id, model=model, cwd=tmp_path) as again, mirror(again) as srv:
        # The conversation it goes on with still names the image, and the store has it.
        assert [i.sha256 for i in again.messages[0].images] == [digest]
        got = await srv.http.get(f"/api/sessions/{again.id}/images/{digest}")
        assert got.status_code == 200 and got.content == shot


async def test_a_message_taken_back_from_the_queue_names_its_images() -> None:
    gate, reached = anyio.Event(), anyio.Event()
    shot = png(3, 3)
    async with web_server(scripted(reply(Text("working"), Wait(gate, reached)))) as srv:
        session, _ = await srv.new_session()
        await srv.http.post(f"/api/query/{session.id}", json={"text": "start"})
        await reached.wait()
        for _ in range(2):
            body = {"text": "later", "kind": "follow_up", "images": [attached(shot, "s.png")]}
            assert (await srv.http.post(f"/api/steer/{session.id}", json=body)).status_code == 202
        pulled = (await srv.http.post(f"/api/pullback/{session.id}")).json()
        cancelled = (await srv.http.post(f"/api/cancel/{session.id}")).json()
        for item in [pulled, *cancelled["returned"]]:
            assert item["text"] == "later"
            (image,) = item["images"]
            assert image["sha256"] == hashlib.sha256(shot).hexdigest()
            assert image["name"] == "s.png" and (image["width"], image["height"]) == (3, 3)
