"""Images the user attaches to a prompt reach each wire protocol in its own shape, fitted
to the provider's documented limits, and the strict loopback fakes (which refuse what
the real APIs refuse, ``tests/fakes/image_rules.py``) accept every request.

Each test drives a real ``Session`` against a fake on loopback and decodes the image the
fake received: its size, its type, and where it stands in the message."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import AbstractContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from harness_tui.core.events import Event
from harness_tui.core.messages import ImageBlock, UserMessage
from harness_tui.core.session.session import Session
from tests.fakes.google_server import decode_signature, gemini_fake
from tests.fakes.script import ScriptedAPI
from tests.fakes.wiring import (
    anthropic_fake,
    fast,
    openai_fake,
    responses_fake,
    write_models_settings,
)
from tests.helpers import png, wait_for

CLAUDE = "anthropic/claude-sonnet-4-6"
#: A 4K screenshot: what a user pastes most.
SCREEN = (3840, 2160)


def picture(size: tuple[int, int], kind: str = "PNG", frames: int = 1) -> bytes:
    """An image with a little structure (compresses like a screenshot, not to nothing)."""
    shots = []
    for n in range(frames):
        image = Image.new("RGB", size, (255, 40 * n, 0))
        for x in range(0, size[0], 97):
            image.paste((0, 0, 255), (x, 0, x + 3, size[1]))
        shots.append(image)
    out = io.BytesIO()
    if frames > 1:
        shots[0].save(out, kind, save_all=True, append_images=shots[1:], duration=100, loop=0)
    else:
        shots[0].save(out, kind, **({"compress_level": 1} if kind == "PNG" else {}))
    return out.getvalue()


@dataclass(frozen=True)
class Shown:
    """An image as a fake received it, decoded."""

    media_type: str
    width: int
    height: int
    frames: int
    #: The colour at (50, 0): between the stripes, red in the first frame.
    pixel: tuple[int, ...]

    @property
    def red(self) -> bool:
        r, g, b = self.pixel
        return r > 200 and g < 20 and b < 20


def shown(media_type: str, data: str) -> Shown:
    raw = decode_signature(data)  # base64, standard or URL-safe
    assert raw is not None
    with Image.open(io.BytesIO(raw)) as image:
        assert Image.MIME[image.format or ""] == media_type, "the declared type is not the data's"
        return Shown(
            media_type,
            image.width,
            image.height,
            getattr(image, "n_frames", 1),
            tuple(image.convert("RGB").getpixel((min(50, image.width - 1), 0))),  # type: ignore[arg-type]
        )


# --- each protocol's shape: the user messages' parts, as ("image", Shown) / ("text", str) -


def anthropic_parts(body: dict[str, Any]) -> list[list[tuple[str, Any]]]:
    return [
        [
            ("image", shown(b["source"]["media_type"], b["source"]["data"]))
            if b["type"] == "image"
            else ("text", b["text"])
            for b in m["content"]
        ]
        for m in body["messages"]
        if m["role"] == "user" and isinstance(m["content"], list)
    ]


def openai_parts(
    messages: list[dict[str, Any]], image: str, url: Callable[[dict[str, Any]], str]
) -> list[list[tuple[str, Any]]]:
    """The user messages of chat completions or Responses: ``image`` is the type of an
    image part, ``url`` its data URL."""
    out = []
    for m in messages:
        if m.get("type", "message") != "message" or m["role"] != "user":
            continue
        if isinstance(m["content"], str):
            out.append([("text", m["content"])])
            continue
        parts = []
        for p in m["content"]:
            if p["type"] == image:
                head, _, data = url(p).partition(",")
                parts.append(("image", shown(head[5:].removesuffix(";base64"), data)))
            else:
                parts.append(("text", p["text"]))
        out.append(parts)
    return out


def chat_parts(body: dict[str, Any]) -> list[list[tuple[str, Any]]]:
    return openai_parts(body["messages"], "image_url", lambda p: p["image_url"]["url"])


def responses_parts(body: dict[str, Any]) -> list[list[tuple[str, Any]]]:
    images = [p for i in body["input"] for p in i.get("content") or [] if isinstance(p, dict)]
    assert all(p["detail"] == "auto" for p in images if p["type"] == "input_image")
    return openai_parts(body["input"], "input_image", lambda p: p["image_url"])


def gemini_parts(body: dict[str, Any]) -> list[list[tuple[str, Any]]]:
    return [
        [
            ("image", shown(p["inlineData"]["mimeType"], p["inlineData"]["data"]))
            if "inlineData" in p
            else ("text", p["text"])
            for p in c["parts"]
        ]
        for c in body["contents"]
        if c["role"] == "user"
    ]


@dataclass(frozen=True)
class Wire:
    """One protocol: its fake, a model of it with vision, how to read its requests, and
    the size a 3840×2160 screenshot must arrive at."""

    name: str
    fake: Callable[[pytest.MonkeyPatch], AbstractContextManager[ScriptedAPI]]
    provider: str
    model: str
    parts: Callable[[dict[str, Any]], list[list[tuple[str, Any]]]]
    fitted: tuple[int, int]


WIRES = [
    # 1568 px on the long edge and at most 1.15 megapixels: 1429×804 (1,148,916 px).
    Wire(
        "anthropic",
        anthropic_fake,
        "anthropic",
        "anthropic/claude-sonnet-4-6",
        anthropic_parts,
        (1429, 804),
    ),
    # Within 2048×2048, then the short side 768: 1365×768.
    Wire("openai_compat", openai_fake, "openai", "openai/gpt-4.1", chat_parts, (1365, 768)),
    Wire(
        "openai_responses", responses_fake, "openai", "openai/gpt-5", responses_parts, (1365, 768)
    ),
    # Within 3072×3072: 3072×1728.
    Wire("google", gemini_fake, "gemini", "gemini/gemini-2.5-flash", gemini_parts, (3072, 1728)),
]


@pytest.fixture(params=WIRES, ids=[w.name for w in WIRES])
def wire(request: pytest.FixtureRequest) -> Wire:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def served(wire: Wire, monkeypatch: pytest.MonkeyPatch) -> Iterator[ScriptedAPI]:
    with wire.fake(monkeypatch) as server:
        write_models_settings({wire.provider: fast()})
        yield server


@asynccontextmanager
async def talking(
    fake: Callable[..., AbstractContextManager[Any]],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    model: str,
    settings: dict[str, Any] | None = None,
) -> AsyncIterator[tuple[Any, Session]]:
    """A fake, the user's settings pointing at it, and a session on ``model``."""
    with fake(monkeypatch) as server:
        write_models_settings(settings or {model.split("/")[0]: fast()})
        async with Session(model=model, cwd=tmp_path) as session:
            yield server, session


async def ask(session: Session, text: str, images: Sequence[ImageBlock] = ()) -> list[Event]:
    """Submit and wait for the run's end; its events."""
    run_id = await session.submit(text, images)
    await wait_for(
        session.store, lambda e: e.run_id == run_id and e.type in ("RUN_COMPLETED", "RUN_CANCELLED")
    )
    events = [e for e in session.store.replay(0) if e.run_id == run_id]
    assert events[-1].type == "RUN_COMPLETED" and not events[-1].is_error, events[-1]
    return events


# --- the screenshot, on every protocol ---------------------------------------------------


async def test_a_4k_screenshot_arrives_fitted_before_the_text(
    wire: Wire, served: ScriptedAPI, tmp_path: Path
) -> None:
    async with Session(model=wire.model, cwd=tmp_path) as session:
        block = await session.attach_image(picture(SCREEN), "shot.png")
        await ask(session, "what is wrong with this layout?", [block])
    assert served.rejections == []
    [parts] = wire.parts(served.requests[0])
    (kind, image), (last, text) = parts
    assert kind == "image" and last == "text" and text == "what is wrong with this layout?"
    assert (image.width, image.height) == wire.fitted
    assert image.media_type == "image/png" and image.red
    # The session keeps the original: the fitted copy exists only in the request.
    assert (block.width, block.height) == SCREEN
    stored = session.images.read(block)
    assert stored is not None and Image.open(io.BytesIO(stored)).size == SCREEN


async def test_an_image_within_the_limits_goes_as_it_is(
    wire: Wire, served: ScriptedAPI, tmp_path: Path
) -> None:
    data = picture((640, 480), "JPEG")
    async with Session(model=wire.model, cwd=tmp_path) as session:
        block = await session.attach_image(data, "photo.jpg")
        await ask(session, "", [block])  # no text: the image alone is the prompt
    assert served.rejections == []
    [parts] = wire.parts(served.requests[0])
    images = [p for kind, p in parts if kind == "image"]
    assert [(i.media_type, i.width, i.height) for i in images] == [("image/jpeg", 640, 480)]


async def test_a_gif_goes_to_gemini_as_png(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Gemini takes no GIF: "Unsupported MIME type" (tests/fakes/image_rules.py)."""
    async with talking(gemini_fake, monkeypatch, tmp_path, "gemini/gemini-2.5-flash") as (
        server,
        session,
    ):
        block = await session.attach_image(picture((120, 80), "GIF"), "spinner.gif")
        assert block.media_type == "image/gif"
        await ask(session, "and this?", [block])
    assert server.rejections == []
    [[(kind, image), _]] = gemini_parts(server.requests[0])
    assert (kind, image.media_type, image.width, image.height) == ("image", "image/png", 120, 80)


async def test_an_animated_gif_goes_to_openai_as_its_first_frame(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """OpenAI takes "non-animated GIF" only."""
    async with talking(openai_fake, monkeypatch, tmp_path, "openai/gpt-4.1") as (server, session):
        block = await session.attach_image(picture((120, 80), "GIF", frames=3), "anim.gif")
        await ask(session, "what moves?", [block])
    assert server.rejections == []
    [[(kind, image), _]] = chat_parts(server.requests[0])
    assert kind == "image" and image.frames == 1 and (image.width, image.height) == (120, 80)
    assert image.red  # the first frame's colour, not a later one's


# --- a model without vision ---------------------------------------------------------------


async def test_a_model_without_vision_gets_a_placeholder_and_the_user_is_told_first(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with openai_fake(monkeypatch, extra_message_keys=frozenset({"reasoning_content"})) as server:
        write_models_settings({"deepseek": fast(base_url=server.url + "/v1")})
        monkeypatch.setenv("DEEPSEEK_API_KEY", server.api_key)
        async with Session(model="deepseek/deepseek-v4-pro", cwd=tmp_path) as session:
            assert session.model.images is None  # the catalogue gives it no vision
            block = await session.attach_image(picture(SCREEN), "shot.png")
            events = await ask(session, "look", [block])
    assert server.rejections == [] and "image_url" not in str(server.requests[0])
    [parts] = chat_parts(server.requests[0])
    assert parts == [("text", f"[image {block.label}: not sent to this model]"), ("text", "look")]
    notice = next(e for e in events if e.type == "NOTICE")
    assert notice.level == "warning" and "cannot see images" in notice.message
    assert block.label in notice.message
    # Told before the request went: logged before the prompt was, and before it arrived.
    received = next(e for e in events if e.type == "PROMPT_RECEIVED")
    assert notice.seq < received.seq
    assert notice.timestamp <= server.arrivals[0][3]


async def test_switching_models_keeps_or_replaces_the_images(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """gpt-4.1 sees; gpt-4.1-mini is set to see nothing (a settings override)."""
    blind = {"openai": fast(), "openai/gpt-4.1-mini": {"capabilities": {"vision": False}}}
    async with talking(openai_fake, monkeypatch, tmp_path, "openai/gpt-4.1", blind) as (
        server,
        session,
    ):
        block = await session.attach_image(picture((800, 600)), "shot.png")
        await ask(session, "first", [block])
        await session.set_model("openai/gpt-4.1-mini")
        switched = [e for e in session.store.replay(0) if e.type == "NOTICE"]
        await ask(session, "second")
        await session.set_model("openai/gpt-4.1")
        await ask(session, "third")
    assert server.rejections == []
    assert any("cannot see images" in e.message for e in switched)
    first, second, third = (chat_parts(body) for body in server.requests)
    placeholder = f"[image {block.label}: not sent to this model]"
    assert [k for k, _ in first[0]] == ["image", "text"]
    assert second[0] == [("text", placeholder), ("text", "first")]
    assert "image_url" not in str(server.requests[1])
    assert [k for k, _ in third[0]] == ["image", "text"]  # back where it can be seen
    assert third[0][0][1].width == 800


# --- limits of a request ------------------------------------------------------------------


async def test_over_the_count_limit_the_oldest_images_become_placeholders(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Anthropic takes 100 images a request ("Too much media: ... > 100")."""
    async with talking(anthropic_fake, monkeypatch, tmp_path, CLAUDE) as (server, session):
        oldest = await session.attach_image(png(3, 3), "oldest.png")
        await ask(session, "one", [oldest])
        newer = [await session.attach_image(png(4 + n, 2), f"n{n}.png") for n in range(100)]
        await ask(session, "a hundred more", newer)
    assert server.rejections == []
    first_turn, last_turn = anthropic_parts(server.requests[-1])
    placeholder = f"[image {oldest.label}: not sent to this model]"
    assert first_turn == [("text", placeholder), ("text", "one")]
    assert sum(kind == "image" for kind, _ in last_turn) == 100


async def test_the_same_image_twice_is_sent_twice_and_stored_once(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    data = picture((1000, 700))
    async with talking(anthropic_fake, monkeypatch, tmp_path, CLAUDE) as (server, session):
        block = await session.attach_image(data, "shot.png")
        await ask(session, "this", [block])
        again = await session.attach_image(data, "shot-again.png")
        await ask(session, "and again", [again])
        users = [m for m in session.messages if isinstance(m, UserMessage)]
        folder = session.images.folder
    assert server.rejections == [] and again.sha256 == block.sha256
    assert len(anthropic_parts(server.requests[0])) == 1
    sent = [p for parts in anthropic_parts(server.requests[1]) for k, p in parts if k == "image"]
    assert len(sent) == 2 and sent[0] == sent[1] and (sent[0].width, sent[0].height) == (1000, 700)
    # The history holds references (one ImageBlock a message), the folder one file.
    assert [m.images for m in users] == [(block,), (again,)]
    assert folder is not None and [p.name for p in folder.iterdir()] == [f"{block.sha256}.png"]


async def test_groq_takes_five_images_a_request(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The catalogue's Groq limits (5 images, 4 MB of base64) for a vision model the user
    adds; the fake refuses a sixth image as Groq does."""
    with openai_fake(monkeypatch, max_images=5) as server:
        write_models_settings(
            {
                "groq": fast(base_url=server.url + "/v1"),
                "groq/meta-llama/llama-4-scout": {"capabilities": {"vision": True}},
            }
        )
        monkeypatch.setenv("GROQ_API_KEY", server.api_key)
        async with Session(model="groq/meta-llama/llama-4-scout", cwd=tmp_path) as session:
            blocks = [await session.attach_image(png(2 + n, 2), f"p{n}.png") for n in range(5)]
            blocks.append(await session.attach_image(picture(SCREEN), "shot.png"))
            await ask(session, "six", blocks)
    assert server.rejections == []
    [parts] = chat_parts(server.requests[0])
    images = [p for kind, p in parts if kind == "image"]
    assert len(images) == 5 and (images[-1].width, images[-1].height) == (1365, 768)
    assert ("text", f"[image {blocks[0].label}: not sent to this model]") in parts
