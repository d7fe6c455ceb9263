"""Images from tools reach the models that can see them, in each API's own form, and
the strict fake APIs accept the requests; a model without vision gets only the note."""

from __future__ import annotations

import base64
import io
import random
from pathlib import Path

import httpx2
import pytest
from PIL import Image

from harness_tui.core.files.images import MAX_IMAGE_BYTES
from harness_tui.core.session.session import Session
from harness_tui.core.tools import ReadTool
from tests.fakes import script as api
from tests.fakes.google_server import gemini_fake
from tests.fakes.script import ScriptedAPI
from tests.fakes.wiring import anthropic_fake, fast, openai_fake, write_models_settings
from tests.helpers import png, run_to_end, tool_context

SCRIPT = (
    api.reply(api.Call("Read", {"file_path": "dot.png"})),
    api.reply(api.Say("A red square.")),
)


async def read_the_picture(tmp_path: Path, model: str) -> list:
    (tmp_path / "dot.png").write_bytes(png())
    async with Session(model=model, cwd=tmp_path) as session:
        return await run_to_end(session, "what is in dot.png?")


async def test_anthropic_gets_the_image_inside_the_tool_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with anthropic_fake(monkeypatch) as server:
        write_models_settings({"anthropic": fast()})
        server.script(*SCRIPT)
        events = await read_the_picture(tmp_path, "anthropic/claude-sonnet-4-6")
    assert server.rejections == [] and not events[-1].is_error
    assert events[-1].result == "A red square."
    result = server.requests[1]["messages"][-1]["content"][0]
    assert result["type"] == "tool_result"
    text, image = result["content"]
    assert text["type"] == "text" and "image/png" in text["text"]
    assert image["type"] == "image" and image["source"]["media_type"] == "image/png"
    assert base64.b64decode(image["source"]["data"]) == png()
    # Events and the tool card carry the note, never the bytes.
    completed = next(e for e in events if e.type == "TOOL_CALL_COMPLETED")
    assert image["source"]["data"] not in completed.model_dump_json()


async def test_openai_gets_the_image_in_a_user_message_after_the_tool_messages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with openai_fake(monkeypatch) as server:
        write_models_settings({"openai": fast()})
        server.script(*SCRIPT)
        events = await read_the_picture(tmp_path, "openai/gpt-4.1")
    assert server.rejections == [] and not events[-1].is_error
    *_, call, tool, user = server.requests[1]["messages"]
    assert call["role"] == "assistant" and tool["role"] == "tool"
    assert tool["tool_call_id"] == call["tool_calls"][0]["id"]
    assert isinstance(tool["content"], str) and "image/png" in tool["content"]
    intro, image = user["content"]
    assert user["role"] == "user" and tool["tool_call_id"] in intro["text"]
    url = image["image_url"]["url"]
    assert url.startswith("data:image/png;base64,")
    assert base64.b64decode(url.split(",", 1)[1]) == png()


async def test_a_model_without_vision_gets_only_the_note(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with openai_fake(monkeypatch, extra_message_keys=frozenset({"reasoning_content"})) as server:
        write_models_settings({"deepseek": fast(base_url=server.url + "/v1")})
        monkeypatch.setenv("DEEPSEEK_API_KEY", server.api_key)
        server.script(*SCRIPT)
        events = await read_the_picture(tmp_path, "deepseek/deepseek-v4-text-only")
    assert server.rejections == [] and not events[-1].is_error
    *_, tool = server.requests[1]["messages"]
    assert tool["role"] == "tool" and "image/png" in tool["content"]
    assert "image_url" not in str(server.requests[1])


async def test_the_fakes_refuse_images_where_the_apis_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The checks above mean something only if a wrong image is refused."""
    bad_anthropic = {
        "model": "claude-sonnet-4-6",
        "max_tokens": 10,
        "messages": [
            {
                "role": "user",
                "content": [
                    {
                        "type": "image",
                        "source": {"type": "base64", "media_type": "image/tiff", "data": "AA=="},
                    }
                ],
            }
        ],
    }
    bad_openai = {
        "model": "gpt-4.1",
        "messages": [
            {"role": "user", "content": "hi"},
            {
                "role": "assistant",
                "content": [
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,AA=="}}
                ],
            },
        ],
    }
    async with httpx2.AsyncClient() as http:
        with anthropic_fake(monkeypatch) as server:
            refused = await http.post(
                server.url + "/v1/messages",
                json=bad_anthropic,
                headers={
                    "authorization": f"Bearer {server.api_key}",
                    "anthropic-version": "2023-06-01",
                },
            )
        assert refused.status_code == 400 and "media_type" in refused.text
        with openai_fake(monkeypatch) as server:
            refused = await http.post(
                server.url + "/v1/chat/completions",
                json=bad_openai,
                headers={"authorization": f"Bearer {server.api_key}"},
            )
    assert refused.status_code == 400 and "Supported values are: 'text'" in refused.text


async def test_read_attaches_images_and_refuses_huge_ones(tmp_path: Path) -> None:
    (tmp_path / "dot.png").write_bytes(png())
    (tmp_path / "huge.png").write_bytes(png() + b"\0" * (MAX_IMAGE_BYTES + 1))
    (tmp_path / "blob.bin").write_bytes(b"\0\1\2" * 100)
    ctx = tool_context(tmp_path)
    result = await ReadTool().run({"file_path": "dot.png"}, ctx)
    assert not result.is_error and result.images[0].media_type == "image/png"
    assert base64.b64decode(result.images[0].data) == png()
    assert result.display.startswith("image · image/png")
    huge = await ReadTool().run({"file_path": "huge.png"}, ctx)
    assert huge.is_error and "make it smaller" in huge.content and not huge.images
    other = await ReadTool().run({"file_path": "blob.bin"}, ctx)
    assert other.is_error and "binary file" in other.content


async def read_through(server: ScriptedAPI, tmp_path: Path, model: str, name: str) -> None:
    """The model reads ``name`` with Read; the fake must take both requests."""
    server.script(api.reply(api.Call("Read", {"file_path": name})), api.reply(api.Say("Seen.")))
    async with Session(model=model, cwd=tmp_path) as session:
        events = await run_to_end(session, f"what is in {name}?")
    assert server.rejections == [] and not events[-1].is_error


async def test_a_tools_images_are_fitted_like_the_users(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A noisy 4.3 MB PNG is within Read's 5 MB, but its base64 is over Anthropic's 5 MB
    ("image exceeds 5 MB maximum"): it goes fitted to Claude's 1.15 megapixels."""
    out = io.BytesIO()
    noise = Image.frombytes("RGB", (1300, 1100), random.randbytes(1300 * 1100 * 3))
    noise.save(out, "PNG", compress_level=1)
    assert 5 * 2**20 * 3 // 4 < len(out.getvalue()) < MAX_IMAGE_BYTES
    (tmp_path / "noise.png").write_bytes(out.getvalue())
    with anthropic_fake(monkeypatch) as server:
        write_models_settings({"anthropic": fast()})
        await read_through(server, tmp_path, "anthropic/claude-sonnet-4-6", "noise.png")
    _, image = server.requests[1]["messages"][-1]["content"][0]["content"]
    with Image.open(io.BytesIO(base64.b64decode(image["source"]["data"]))) as sent:
        assert sent.width * sent.height <= 1_150_000 and max(sent.size) <= 1568


async def test_a_tools_gif_goes_to_gemini_as_png(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Gemini takes no GIF ("Unsupported MIME type")."""
    out = io.BytesIO()
    Image.new("RGB", (40, 30), "red").save(out, "GIF")
    (tmp_path / "dot.gif").write_bytes(out.getvalue())
    with gemini_fake(monkeypatch) as server:
        write_models_settings({"gemini": fast()})
        await read_through(server, tmp_path, "gemini/gemini-2.5-flash", "dot.gif")
    parts = server.requests[1]["contents"][-1]["parts"]
    [blob] = [p["inlineData"] for p in parts if "inlineData" in p]
    assert blob["mimeType"] == "image/png"
