"""Images with ``harness-tui -p``, as a script passes them: ``-i PATH`` and image blocks
in ``--input-format stream-json``, checked in the request the strict fake API received
(fitted to the provider's documented limits), and bad images refused before any run."""

from __future__ import annotations

import base64
import io
import json
import subprocess
import sys
from pathlib import Path

from PIL import Image

from tests.cli.test_provider_cli import clean_env, harness
from tests.fakes.anthropic_server import FakeAnthropic
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.script import Say, reply


def write_screenshot(path: Path, width: int = 3840, height: int = 2160) -> bytes:
    image = Image.new("RGB", (width, height), "white")
    for x in range(0, width, 64):
        image.paste((200, 30, 30), (x, 0, x + 16, height))
    image.save(path, "PNG")
    return path.read_bytes()


def decoded_size(b64: str) -> tuple[int, int]:
    with Image.open(io.BytesIO(base64.b64decode(b64))) as image:
        return image.size


def test_an_image_file_goes_to_anthropic_fitted_and_before_the_text(tmp_path: Path) -> None:
    write_screenshot(tmp_path / "shot.png")
    with FakeAnthropic(api_key="dummy-key") as api:
        api.script(reply(Say("A red-striped page.")))
        env = clean_env(ANTHROPIC_BASE_URL=api.url, ANTHROPIC_API_KEY="dummy-key")
        result = harness(
            "-p", "what is this?", "-i", "shot.png", "--model", "anthropic/claude-any",
            cwd=tmp_path, env=env,
        )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "A red-striped page."
    assert api.rejections == []
    content = api.requests[0]["messages"][0]["content"]
    assert [block["type"] for block in content] == ["image", "text"]
    source = content[0]["source"]
    assert source["type"] == "base64" and source["media_type"] == "image/png"
    # Anthropic: long edge at most 1568 px and about 1.15 megapixels
    # (docs.anthropic.com/en/docs/build-with-claude/vision, "Evaluate image size").
    width, height = decoded_size(source["data"])
    assert width <= 1568 and width * height <= 1_150_000
    assert width > 1400 and abs(width / height - 3840 / 2160) < 0.01


def test_images_in_stream_json_input_reach_an_openai_model(tmp_path: Path) -> None:
    data = write_screenshot(tmp_path / "shot.png", 1200, 3000)
    block = {"type": "base64", "media_type": "image/png", "data": base64.b64encode(data).decode()}
    lines = [
        {"type": "user", "message": {"role": "user", "content": [
            {"type": "text", "text": "first, with a picture"},
            {"type": "image", "source": block},
        ]}},
        "not json",
        {"type": "user", "message": {"role": "user", "content": "second, text only"}},
    ]  # fmt: skip
    stdin = "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines)
    with FakeOpenAI(api_key="dummy-key") as api:
        api.script(reply(Say("One.")), reply(Say("Two.")))
        env = clean_env(OPENAI_BASE_URL=api.base_url, OPENAI_API_KEY="dummy-key")
        result = subprocess.run(
            [sys.executable, "-m", "harness_tui", "-p", "--input-format", "stream-json",
             "--output-format", "stream-json", "--model", "openai/gpt-4.1"],
            cwd=tmp_path, input=stdin, capture_output=True, text=True, timeout=60, env=env,
        )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "stdin line 2: not JSON" in result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    prompts = [e for e in events if e["type"] == "PROMPT_RECEIVED"]
    assert [p["text"] for p in prompts] == ["first, with a picture", "second, text only"]
    assert prompts[0]["images"][0]["width"] == 1200 and "data" not in prompts[0]["images"][0]
    assert [e["result"] for e in events if e["type"] == "RUN_COMPLETED"] == ["One.", "Two."]
    parts = api.requests[0]["messages"][-1]["content"]
    assert [p["type"] for p in parts] == ["image_url", "text"]
    url = parts[0]["image_url"]["url"]
    assert url.startswith("data:image/png;base64,")
    # OpenAI high detail: within 2048 px, then the short side at most 768
    # (platform.openai.com/docs/guides/images-vision, "Calculating costs").
    width, height = decoded_size(url.split(",", 1)[1])
    assert max(width, height) <= 2048 and min(width, height) <= 768
    assert abs(width / height - 1200 / 3000) < 0.01
    # The second run's request still shows the first picture: it is in the history.
    assert "image_url" in json.dumps(api.requests[1]["messages"])


def test_a_bad_image_is_refused_by_name_before_any_request(tmp_path: Path) -> None:
    (tmp_path / "cut.png").write_bytes(write_screenshot(tmp_path / "whole.png", 400, 300)[:900])
    (tmp_path / "bomb.png").write_bytes(_png_header(40_000, 40_000))
    (tmp_path / "notes.bmp.png").write_bytes(b"BM" + b"\0" * 100)
    with FakeAnthropic(api_key="dummy-key") as api:
        env = clean_env(ANTHROPIC_BASE_URL=api.url, ANTHROPIC_API_KEY="dummy-key")
        outcomes = {
            name: harness("-p", "look", "-i", name, "--model", "anthropic/claude-any",
                          cwd=tmp_path, env=env)
            for name in ("cut.png", "bomb.png", "notes.bmp.png", "missing.png")
        }  # fmt: skip
    assert api.requests == []
    for name, result in outcomes.items():
        assert result.returncode == 2, (name, result.stderr)
        assert result.stderr.startswith(f"harness-tui: {name}: "), result.stderr
    assert "damaged or cut short" in outcomes["cut.png"].stderr
    assert "million pixels" in outcomes["bomb.png"].stderr
    assert "not an image" in outcomes["notes.bmp.png"].stderr
    assert "no such file" in outcomes["missing.png"].stderr


def test_a_model_without_vision_is_named_and_gets_a_placeholder(tmp_path: Path) -> None:
    write_screenshot(tmp_path / "shot.png", 640, 480)
    with FakeOpenAI(api_key="dummy-key") as api:
        api.script(reply(Say("I cannot see it.")))
        env = clean_env(DEEPSEEK_API_KEY="dummy-key")
        settings = tmp_path / "home" / "config"
        # DeepSeek V4 Pro has no vision (catalogue.yaml); the user's settings point it at
        # the fake.
        env["HARNESS_CONFIG_DIR"] = str(settings)
        settings.mkdir(parents=True)
        (settings / "settings.yaml").write_text(
            json.dumps({"models": {"deepseek": {"base_url": api.base_url}}})
        )
        result = harness(
            "-p", "look", "-i", "shot.png", "--model", "deepseek/deepseek-v4-pro",
            cwd=tmp_path, env=env,
        )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "deepseek/deepseek-v4-pro cannot see images" in result.stderr
    assert "shot.png 640×480" in result.stderr
    sent = api.requests[0]["messages"][-1]["content"]
    assert "image_url" not in json.dumps(api.requests[0])
    assert sent[0] == {
        "type": "text",
        "text": "[image shot.png 640×480, 2 KB: not sent to this model]",
    }


def _png_header(width: int, height: int) -> bytes:
    """A PNG that claims ``width``×``height`` pixels (a decompression bomb's header)."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")
