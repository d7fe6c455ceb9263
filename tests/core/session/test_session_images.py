"""Images attached to prompts, through a session's life: stored once in the session's
folder (the file holds references), sent again on later turns, and back after a resume,
a fork and an export."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import anyio
from PIL import Image

from harness_tui.core.images.fit import target_size
from harness_tui.core.messages import ImageBlock, UserMessage
from harness_tui.core.providers.catalogue import PROTOCOL_IMAGE_LIMITS
from harness_tui.core.providers.models import ModelChoice
from harness_tui.core.providers.offline.scripted import ScriptedProvider, Text, Wait, reply
from harness_tui.core.session.session import Session
from harness_tui.core.storage.export import export_json, export_markdown
from harness_tui.core.storage.saved import load_session
from harness_tui.core.storage.transcript import transcript_events
from tests.helpers import run_to_end, wait_for


def screenshot(width: int = 1600, height: int = 900) -> bytes:
    """A PNG with some structure (stripes), as a screenshot has."""
    image = Image.new("RGB", (width, height), "white")
    for x in range(0, width, 40):
        image.paste((20, 40, 200), (x, 0, x + 8, height))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def scripted(*texts: str) -> tuple[ModelChoice, ScriptedProvider]:
    provider = ScriptedProvider([reply(Text(t)) for t in texts])
    return ModelChoice("scripted", "scripted", lambda: provider), provider


def sent_sizes(provider: ScriptedProvider, index: int) -> list[tuple[int, int]]:
    """The pixel sizes of the images request ``index`` carried."""
    sizes = []
    for image in provider.requests[index].images.values():
        with Image.open(io.BytesIO(base64.b64decode(image.data))) as decoded:
            sizes.append(decoded.size)
    return sizes


async def test_two_turns_with_one_image_store_its_bytes_once(tmp_path: Path) -> None:
    model, provider = scripted("A1", "A2")
    data = screenshot()
    async with Session(model=model, cwd=tmp_path) as session:
        first = await session.attach_image(data, "shot.png")
        await run_to_end(session, "what is wrong here?", images=[first])
        again = await session.attach_image(data, "shot-again.png")
        assert again.sha256 == first.sha256
        await run_to_end(session, "and now?", images=[again])
        file = session.file
    assert file is not None
    folder = file.with_suffix("") / "images"
    stored = list(folder.iterdir())
    assert [p.name for p in stored] == [f"{first.sha256}.png"]
    assert stored[0].read_bytes() == data
    # The session file holds references, not the picture: its base64 appears nowhere.
    text = file.read_text()
    assert base64.b64encode(data).decode()[:200] not in text
    assert text.count(first.sha256) >= 2
    # Both requests carried the image (fitted: 1600×900 is over Anthropic's 1.15 MP).
    assert list(provider.requests[1].images) == [first.sha256]
    width, height = sent_sizes(provider, 1)[0]
    assert width <= 1568 and width * height <= 1_150_000 and abs(width / height - 16 / 9) < 0.01


async def test_resume_and_fork_bring_the_image_back(tmp_path: Path) -> None:
    model, _ = scripted("A1", "A2")
    async with Session(model=model, cwd=tmp_path) as session:
        block = await session.attach_image(screenshot(), "shot.png")
        await run_to_end(session, "look", images=[block])
        await run_to_end(session, "thanks")
    saved = load_session(session.id)
    first = saved.context().messages[0]
    assert isinstance(first, UserMessage) and first.images == (block,)

    model, provider = scripted("B1")
    resumed = Session.resume(session.id, model=model)
    async with resumed:
        path = resumed.tree.path(resumed.messages.head)
        shown = [e for e in transcript_events(resumed.id, path) if e.type == "PROMPT_RECEIVED"]
        assert shown[0].images == (block,)  # the views draw it again
        await run_to_end(resumed, "one more")
    assert list(provider.requests[0].images) == [block.sha256]

    # A branch from before the second prompt still has the image in its history.
    model, provider = scripted("C1")
    forked = Session.resume(session.id, model=model)
    async with forked:
        second = next(
            e.id
            for e in forked.tree.entries.values()
            if getattr(getattr(e, "message", None), "text", None) == "thanks"
        )
        await forked.fork(second, before=True)
        await run_to_end(forked, "differently")
    assert list(provider.requests[0].images) == [block.sha256]


def test_exports_point_at_the_stored_image(tmp_path: Path) -> None:
    async def run() -> ImageBlock:
        model, _ = scripted("A1")
        async with Session(model=model, cwd=tmp_path, session_id="ses_export") as session:
            block = await session.attach_image(screenshot(), "shot.png")
            await run_to_end(session, "look", images=[block])
        return block

    block = anyio.run(run)
    saved = load_session("ses_export")
    markdown = export_markdown(saved)
    uri = (saved.images_folder / f"{block.sha256}.png").as_uri()
    assert "![shot.png 1600×900, " in markdown and f"]({uri})" in markdown
    assert Path(saved.images_folder / f"{block.sha256}.png").is_file()
    data = json.loads(export_json(saved))
    assert block.sha256 in json.dumps(data) and "iVBOR" not in json.dumps(data)


async def test_an_image_steers_a_running_run_and_is_kept_with_the_steer(tmp_path: Path) -> None:
    import anyio

    release, reached = anyio.Event(), anyio.Event()
    provider = ScriptedProvider([reply(Wait(release, reached), Text("A1")), reply(Text("A2"))])
    model = ModelChoice("scripted", "scripted", lambda: provider)
    async with Session(model=model, cwd=tmp_path) as session:
        run_id = await session.submit("start")
        await reached.wait()
        block = await session.attach_image(screenshot(320, 200), "small.png")
        queued = await session.steer("see this", [block])
        assert queued is not None and queued.images == (block,)
        release.set()
        await wait_for(session.store, lambda e: e.type == "RUN_COMPLETED" and e.run_id == run_id)
    steer = next(
        m
        for m in provider.requests[1].messages
        if isinstance(m, UserMessage) and m.source == "steering"
    )
    assert steer.images == (block,)
    assert provider.requests[1].images[block.sha256].media_type == "image/png"
    # Small enough: sent as it was.
    assert sent_sizes(provider, 1) == [(320, 200)]
    events = {e.type: e for e in session.store.replay(0) if e.type.startswith("STEERING")}
    assert events["STEERING_QUEUED"].images == (block,)
    assert events["STEERING_DELIVERED"].images == (block,)
    assert isinstance(block, ImageBlock)


async def test_a_model_without_vision_is_named_before_the_request(tmp_path: Path) -> None:
    provider = ScriptedProvider([reply(Text("ok"))])
    model = ModelChoice("blind", "scripted", lambda: provider, images=None)
    async with Session(model=model, cwd=tmp_path) as session:
        block = await session.attach_image(screenshot(200, 100), "tiny.png")
        events = await run_to_end(session, "look", images=[block])
        notices = [
            e for e in session.store.replay(0) if e.type == "NOTICE" and "cannot see" in e.message
        ]
    assert notices and "tiny.png 200×100" in notices[0].message
    # Told before the run asked the model anything.
    assert notices[0].seq < next(e.seq for e in events if e.type == "PROMPT_RECEIVED")
    assert provider.requests[0].images == {}
    from harness_tui.core.images.request import placeholder

    assert placeholder(block) == "[image tiny.png 200×100, 1 KB: not sent to this model]"


def test_a_summary_names_the_images_it_cannot_show() -> None:
    from harness_tui.core.run.context import transcript

    image = ImageBlock(
        sha256="a" * 64, media_type="image/png", width=800, height=600, size=2048, name="ui.png"
    )
    text = transcript([UserMessage.of("why is this red?", images=(image,))], 10_000)
    assert text == "[user] why is this red? [image ui.png 800×600, 2 KB]"


async def test_an_image_mention_is_attached_and_shown_with_the_prompt(tmp_path: Path) -> None:
    (tmp_path / "ui.png").write_bytes(screenshot(400, 300))
    (tmp_path / "broken.png").write_bytes(screenshot(400, 300)[:500])
    model, provider = scripted("A1")
    async with Session(model=model, cwd=tmp_path) as session:
        events = await run_to_end(
            session, "compare @ui.png with @broken.png and @missing.png, mail me@x.png"
        )
        notices = [e.message for e in session.store.replay(0) if e.type == "NOTICE"]
    (prompt,) = [e for e in events if e.type == "PROMPT_RECEIVED"]
    assert [(i.name, i.width, i.height) for i in prompt.images] == [("ui.png", 400, 300)]
    assert provider.requests[0].messages[0].images == prompt.images
    assert any(n.startswith("@broken.png: the PNG data is damaged") for n in notices)
    assert not any("missing.png" in n or "x.png" in n for n in notices)


async def test_the_demo_model_says_at_what_size_an_image_reached_it(tmp_path: Path) -> None:
    async with Session(model="demo", cwd=tmp_path, persist=False) as session:
        block = await session.attach_image(screenshot(3000, 1500), "wide.png")
        events = await run_to_end(session, "look", images=[block])
    said = "".join(e.text for e in events if e.type == "TOKEN_DELTA")
    # The demo takes images as Anthropic's API does: 1.15 megapixels at most.
    width, height = target_size(3000, 1500, PROTOCOL_IMAGE_LIMITS["anthropic"])
    assert width * height <= 1_150_000 and width == 2 * height
    assert "You attached 1 image" in said
    assert "wide.png 3000×1500, " in said and f"reached me as {width}×{height} (image/png)" in said
