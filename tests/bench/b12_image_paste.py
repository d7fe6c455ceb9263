"""B12 image paste: from the bytes of a pasted 3840×2160 PNG screenshot to the request
that carries it arriving at the API, per protocol (Anthropic 1429×804, OpenAI 1365×768,
Gemini 3072×1728: four times the pixels to encode); target at most 300 ms.

A new session for each round (saving its file, so the image is written to the session's
folder) in this process attaches the image as a paste does (``Session.attach_image``: decoded in
full and checked with Pillow, stored), submits a prompt with it, and a loopback fake of
the API notes when the request arrives: fitting (scaled to the provider's limits and
re-encoded), base64 and the SDK's request all fall inside the figure. Each round pastes
a new picture (one pixel differs), so no cache helps. The screenshot is synthetic but
shaped like one: flat panels, many lines of small text, a few photos' worth of noise.

Baseline in the same run: Pillow decoding the same PNG once (``decode_ms``), the least
any check of a pasted image costs; the figures are also given as ratios to it.
"""

from __future__ import annotations

import io
import os
import random
import statistics
import time
from typing import Any

import anyio

from tests.bench import Figure

ID = "B12"
TITLE = "image paste to request"
TARGET_MS = 300.0
KEY = "bench-key"


def screenshot(seed: int) -> bytes:
    """A 3840×2160 PNG shaped like a screenshot (differs per ``seed`` in one pixel)."""
    from PIL import Image, ImageDraw

    rng = random.Random(7)
    image = Image.new("RGB", (3840, 2160), (245, 245, 245))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, 3840, 90), fill=(40, 44, 52))
    draw.rectangle((0, 90, 520, 2160), fill=(33, 37, 43))
    for y in range(130, 2100, 28):  # lines of code-like text in both panes
        draw.text((30, y), f"src/module_{y % 97}.py", fill=(171, 178, 191))
        words = " ".join(rng.choice(["def", "return", "self", "value", "(x)", "=", "if"])
                         for _ in range(rng.randint(4, 18)))  # fmt: skip
        draw.text((560 + rng.randint(0, 3) * 32, y), words, fill=(30, 30, 30))
    noise = Image.effect_noise((480, 320), 60).convert("RGB")
    image.paste(noise, (3200, 400))
    image.putpixel((seed % 3840, 5), (seed % 256, 0, 0))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


async def _rounds(protocol: str, count: int) -> list[float]:
    from harness_tui.core.session.session import Session
    from tests.fakes.anthropic_server import FakeAnthropic
    from tests.fakes.google_server import FakeGemini
    from tests.fakes.openai_server import FakeOpenAI
    from tests.fakes.script import Say, reply

    fakes = {"anthropic": FakeAnthropic, "openai_compat": FakeOpenAI, "google": FakeGemini}
    fake: Any = fakes[protocol](api_key=KEY)
    arrivals: list[float] = []
    handle = fake.handle

    async def noted(request: Any) -> Any:  # the whole body has arrived
        arrivals.append(time.perf_counter())
        return await handle(request)  # (then the fake checks it, on its own time)

    fake.handle = noted
    times = []
    with fake:
        if protocol == "anthropic":
            os.environ.update(ANTHROPIC_BASE_URL=fake.url, ANTHROPIC_API_KEY=KEY)
            model = "anthropic/claude-sonnet-4-6"
        elif protocol == "google":
            os.environ.update(GOOGLE_GEMINI_BASE_URL=fake.url, GEMINI_API_KEY=KEY)
            model = "gemini/gemini-3.8-flash"
        else:
            os.environ.update(OPENAI_BASE_URL=fake.base_url, OPENAI_API_KEY=KEY)
            model = "openai/gpt-4.1"
        pictures = [screenshot(n) for n in range(count + 1)]
        for n, data in enumerate(pictures):
            # A session each: the paste starts its conversation (in one session, each
            # later request would carry every earlier picture too).
            async with Session(model=model, cwd=os.getcwd(), ask_policy="deny") as session:
                fake.script(reply(Say("ok")))
                started = time.perf_counter()
                block = await session.attach_image(data, "clipboard.png")
                events = [e async for e in _run(session, block)]
                assert events[-1].type == "RUN_COMPLETED" and not events[-1].is_error, events
                if n:  # the first round also imports the SDK: left out
                    times.append((arrivals[-1] - started) * 1e3)
    return times


async def _run(session: Any, block: Any) -> Any:
    """The run's events, to its end (``RunController.stream``, with the image)."""
    async for event in session.runs.stream(session.store, "what is on this screen?", (block,)):
        yield event


def run(quick: bool) -> dict[str, Figure]:
    from PIL import Image

    count = 3 if quick else 7
    data = screenshot(0)
    decode = []
    for _ in range(count):
        started = time.perf_counter()
        with Image.open(io.BytesIO(data)) as image:
            image.load()
        decode.append((time.perf_counter() - started) * 1e3)
    base = statistics.median(decode)
    figures = {
        "decode_ms": Figure(round(base, 1), "ms", note=f"PNG of {len(data) / 2**20:.1f} MB"),
    }
    for protocol in ("anthropic", "openai_compat", "google"):
        median = statistics.median(anyio.run(_rounds, protocol, count))
        figures[f"paste_to_request_ms_{protocol}"] = Figure(
            round(median, 1), "ms", TARGET_MS, "<=", note=f"median of {count} rounds"
        )
        figures[f"paste_to_request_vs_decode_{protocol}"] = Figure(
            round(median / base, 2), "x", note="ratio to decode_ms, same run"
        )
    return figures
