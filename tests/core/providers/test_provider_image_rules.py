"""The fakes refuse images where the real APIs do, with the APIs' own error bodies
(``tests/fakes/image_rules.py`` names the sources): the end-to-end image tests mean
something only if a wrong image would have been refused."""

from __future__ import annotations

import base64
import io
from typing import Any

import httpx2
import pytest
from PIL import Image

from tests.fakes.anthropic_server import FakeAnthropic
from tests.fakes.google_server import FakeGemini
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.responses_server import FakeResponses
from tests.helpers import png


def encoded(size: tuple[int, int], kind: str = "PNG", frames: int = 1) -> str:
    shots = [Image.new("RGB", size, (255, 60 * n, 0)) for n in range(frames)]
    out = io.BytesIO()
    shots[0].save(out, kind, save_all=frames > 1, append_images=shots[1:])
    return base64.b64encode(out.getvalue()).decode()


def claude(*images: tuple[str, str]) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = [
        {"type": "image", "source": {"type": "base64", "media_type": kind, "data": data}}
        for kind, data in images
    ]
    return {
        "model": "claude-sonnet-4-6",
        "max_tokens": 10,
        "messages": [{"role": "user", "content": [*blocks, {"type": "text", "text": "hi"}]}],
    }


async def post_claude(body: dict[str, Any] | bytes) -> httpx2.Response:
    with FakeAnthropic() as server:
        async with httpx2.AsyncClient(timeout=30) as http:
            headers = {"x-api-key": server.api_key, "anthropic-version": "2023-06-01"}
            if isinstance(body, bytes):
                headers["content-type"] = "application/json"
                return await http.post(server.url + "/v1/messages", content=body, headers=headers)
            return await http.post(server.url + "/v1/messages", json=body, headers=headers)


@pytest.mark.parametrize(
    ("images", "words"),
    [
        (
            [("image/png", encoded((8, 8), "JPEG"))],
            "messages.0.content.0.image.source.base64.data: Image does not match the provided "
            "media type image/png",
        ),
        (
            [("image/png", encoded((8001, 4)))],
            "messages.0.content.0.image.source.base64.data: At least one of the image "
            "dimensions exceed max allowed size: 8000 pixels",
        ),
        (
            [("image/png", encoded((2001, 4)))] + [("image/png", encoded((4, 4)))] * 20,
            "messages.0.content.0.image.source.base64.data: At least one of the image "
            "dimensions exceed max allowed size for many-image requests: 2000 pixels",
        ),
        (
            [("image/png", encoded((4, 4)))] * 101,
            "Too much media: 0 document pages + 101 images > 100",
        ),
        (
            [("image/png", "A" * (5 * 2**20 + 4))],
            "messages.0.content.0.image.source.base64: image exceeds 5 MB maximum: 5242884 "
            "bytes > 5242880 bytes",
        ),
    ],
    ids=["type-mismatch", "over-8000", "many-over-2000", "over-100", "over-5mb-base64"],
)
async def test_anthropic_refuses_images_as_the_api_does(
    images: list[tuple[str, str]], words: str
) -> None:
    refused = await post_claude(claude(*images))
    assert refused.status_code == 400
    assert refused.json()["error"] == {"type": "invalid_request_error", "message": words}


async def test_anthropic_refuses_a_body_over_32_mb_with_413() -> None:
    body = claude(("image/png", encoded((4, 4))))
    body["system"] = "x" * 32_000_001
    refused = await post_claude(body)
    assert refused.status_code == 413
    assert refused.json()["error"] == {
        "type": "request_too_large",
        "message": "Request exceeds the maximum size",
    }


async def test_anthropic_takes_twenty_images_over_2000_px() -> None:
    """(The 21st makes it a many-image request: ``many-over-2000`` above.)"""
    big = ("image/png", encoded((2400, 10)))
    taken = await post_claude(claude(*[big] * 20))
    assert taken.status_code == 200


def chat(*urls: str) -> dict[str, Any]:
    parts: list[dict[str, Any]] = [{"type": "image_url", "image_url": {"url": u}} for u in urls]
    return {"model": "gpt-4.1", "messages": [{"role": "user", "content": parts}]}


async def post_openai(server: FakeOpenAI, body: dict[str, Any]) -> httpx2.Response:
    async with httpx2.AsyncClient(timeout=30) as http:
        return await http.post(
            server.url + server.PATH,
            json=body,
            headers={"authorization": f"Bearer {server.api_key}"},
        )


@pytest.mark.parametrize(
    ("urls", "code"),
    [
        ([f"data:image/png;base64,{encoded((8, 8), 'BMP')}"], "invalid_image_format"),
        ([f"data:image/gif;base64,{encoded((8, 8), 'GIF', frames=2)}"], "invalid_image_format"),
        ([f"data:image/png;base64,{encoded((4, 4))}"] * 501, "too_many_images"),
    ],
    ids=["bmp", "animated-gif", "over-500"],
)
async def test_openai_refuses_images_as_the_api_does(urls: list[str], code: str) -> None:
    with FakeOpenAI() as server:
        refused = await post_openai(server, chat(*urls))
        taken = await post_openai(server, chat(f"data:image/gif;base64,{encoded((8, 8), 'GIF')}"))
    assert refused.status_code == 400 and refused.json()["error"]["code"] == code
    assert refused.json()["error"]["type"] == "invalid_request_error"
    assert taken.status_code == 200  # a still GIF is taken


async def test_responses_wants_the_detail_of_a_message_image() -> None:
    url = f"data:image/png;base64,{encoded((4, 4))}"

    def body(**detail: str) -> dict[str, Any]:
        image = {"type": "input_image", "image_url": url, **detail}
        content = [image, {"type": "input_text", "text": "hi"}]
        return {"model": "gpt-5", "input": [{"role": "user", "content": content}]}

    with FakeResponses() as server:
        refused = await post_openai(server, body())
        taken = await post_openai(server, body(detail="auto"))
    assert refused.status_code == 400
    assert refused.json()["error"]["message"] == (
        "Missing required parameter: 'input[0].content[0].detail'."
    )
    assert taken.status_code == 200


GIF = {"mime_type": "image/gif", "data": encoded((8, 8), "GIF")}
CUT = {"mime_type": "image/png", "data": base64.b64encode(png()[:30]).decode()}
HUGE = {"mime_type": "image/png", "data": "A" * (20 * 2**20)}


@pytest.mark.parametrize(
    ("blob", "words"),
    [
        (GIF, "Unsupported MIME type: image/gif"),
        (CUT, "Provided image is not valid"),
        (HUGE, "Request payload size exceeds the limit: 20971520 bytes."),
    ],
    ids=["gif", "cut-png", "over-20mb"],
)
async def test_gemini_refuses_images_as_the_api_does(blob: dict[str, str], words: str) -> None:
    body = {"contents": [{"role": "user", "parts": [{"inline_data": blob}, {"text": "hi"}]}]}
    with FakeGemini() as server:
        async with httpx2.AsyncClient(timeout=30) as http:
            refused = await http.post(
                server.url + "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
                json=body,
                headers={"x-goog-api-key": server.api_key},
            )
    assert refused.status_code == 400
    assert refused.json()["error"] == {"code": 400, "message": words, "status": "INVALID_ARGUMENT"}
