"""Fitting an image to an API's limits, keeping it once per session, and choosing which
images a request carries."""

from __future__ import annotations

import base64
import hashlib
import io
from pathlib import Path

import pytest
from PIL import Image

from harness_tui.core.images.fit import fit_image, target_size
from harness_tui.core.images.intake import CheckedImage, check_image
from harness_tui.core.images.request import fitted_tool_image, placeholder, select, tool_key
from harness_tui.core.images.store import ImageStore
from harness_tui.core.messages import ImageData, ToolResultMessage, UserMessage
from harness_tui.core.providers.catalogue import PROTOCOL_IMAGE_LIMITS, ImageLimits
from tests.helpers import png


def saved(kind: str, size: tuple[int, int], mode: str = "RGB", noisy: bool = False) -> bytes:
    image = Image.effect_noise(size, 80).convert(mode) if noisy else Image.new(mode, size, "red")
    out = io.BytesIO()
    image.save(out, kind)
    return out.getvalue()


@pytest.mark.parametrize(
    ("protocol", "size"),
    [
        ("anthropic", (1429, 804)),  # 1568 px long edge, then 1.15 megapixels
        ("openai_compat", (1365, 768)),  # 2048×2048 box, then 768 on the short side
        ("openai_responses", (1365, 768)),
        ("google", (3072, 1728)),  # 3072×3072 box
    ],
)
def test_a_4k_screenshot_is_scaled_to_each_apis_limits(
    protocol: str, size: tuple[int, int]
) -> None:
    assert target_size(3840, 2160, PROTOCOL_IMAGE_LIMITS[protocol]) == size


def test_an_image_within_the_limits_is_sent_unchanged() -> None:
    data = saved("PNG", (800, 600))
    fitted = fit_image(data, "image/png", PROTOCOL_IMAGE_LIMITS["anthropic"])
    assert fitted.data is data and (fitted.width, fitted.height) == (800, 600)


def test_a_jpeg_stays_a_jpeg() -> None:
    fitted = fit_image(saved("JPEG", (4000, 3000)), "image/jpeg", PROTOCOL_IMAGE_LIMITS["google"])
    assert fitted.media_type == "image/jpeg" and (fitted.width, fitted.height) == (3072, 2304)
    assert Image.open(io.BytesIO(fitted.data)).format == "JPEG"


def test_a_gif_becomes_png_where_gif_is_not_taken() -> None:
    fitted = fit_image(saved("GIF", (64, 48)), "image/gif", PROTOCOL_IMAGE_LIMITS["google"])
    assert fitted.media_type == "image/png" and (fitted.width, fitted.height) == (64, 48)


def test_an_alpha_png_over_the_byte_limit_falls_back_to_jpeg_on_white() -> None:
    image = Image.effect_noise((600, 400), 90).convert("RGBA")
    image.paste((0, 0, 0, 0), (0, 0, 100, 100))  # a transparent corner
    out = io.BytesIO()
    image.save(out, "PNG")
    limits = ImageLimits(max_edge=1000, max_bytes=60_000, max_count=1, max_total_bytes=60_000)
    fitted = fit_image(out.getvalue(), "image/png", limits)
    assert fitted.media_type == "image/jpeg" and len(fitted.data) <= 60_000
    decoded = Image.open(io.BytesIO(fitted.data))
    assert decoded.format == "JPEG"
    assert all(c > 240 for c in decoded.convert("RGB").getpixel((10, 10)))  # type: ignore[union-attr]


# --- the store ------------------------------------------------------------------------------


def test_the_same_bytes_are_stored_once(tmp_path: Path) -> None:
    store = ImageStore(tmp_path / "images")
    data = saved("PNG", (30, 20))
    first = store.put(check_image(data, "a.png"))
    second = store.put(check_image(data, "b.png"))
    assert first.sha256 == second.sha256 == hashlib.sha256(data).hexdigest()
    assert (first.name, second.name) == ("a.png", "b.png")  # each reference keeps its name
    assert [p.name for p in (tmp_path / "images").iterdir()] == [f"{first.sha256}.png"]
    assert store.read(first) == data and store.find(first.sha256) == (data, "image/png")


def test_a_file_changed_on_disk_is_not_read_as_the_image(tmp_path: Path) -> None:
    store = ImageStore(tmp_path)
    block = store.put(check_image(saved("PNG", (30, 20)), "a.png"))
    store.path(block).write_bytes(saved("PNG", (31, 20)))
    assert store.read(block) is None


def test_a_session_that_is_not_saved_keeps_its_images_in_memory() -> None:
    store = ImageStore(None)
    data = saved("JPEG", (30, 20))
    block = store.put(check_image(data, "a.jpg"))
    assert store.read(block) == data and store.find(block.sha256) == (data, "image/jpeg")


# --- which images a request carries ----------------------------------------------------


def small(n: int) -> CheckedImage:
    return check_image(saved("PNG", (10 + n, 10)), f"p{n}.png")


LIMITS = ImageLimits(max_edge=100, max_bytes=10_000, max_count=2, max_total_bytes=10_000)


def test_the_newest_images_go_and_older_ones_become_placeholders() -> None:
    store = ImageStore(None)
    blocks = [store.put(small(n)) for n in range(3)]
    history = [UserMessage.of(f"turn {n}", images=(b,)) for n, b in enumerate(blocks)]
    assert set(select(history, LIMITS, store)) == {blocks[1].sha256, blocks[2].sha256}
    assert select(history, None, store) == {}  # no vision: none
    assert placeholder(blocks[0]) == f"[image {blocks[0].label}: not sent to this model]"


def test_each_copy_of_an_image_and_each_tool_image_counts() -> None:
    store = ImageStore(None)
    old, new = store.put(small(1)), store.put(small(2))
    # ``new`` shown twice: two copies in the request, the limit's two; ``old`` is left out.
    twice = [UserMessage.of(t, images=(b,)) for t, b in (("a", old), ("b", new), ("c", new))]
    assert set(select(twice, LIMITS, store)) == {new.sha256}
    # A tool's image takes one of the two places (and goes fitted: itself, here).
    returned = ImageData(media_type="image/png", data=base64.b64encode(png(20, 10)).decode())
    tool = ToolResultMessage(
        tool_call_id="c1", tool_name="Read", content="image", images=(returned,)
    )
    chosen = select([twice[0], tool, twice[1]], LIMITS, store)
    assert chosen == {tool_key(returned): returned, new.sha256: chosen[new.sha256]}


def test_a_tools_image_is_fitted_to_the_limits() -> None:
    returned = ImageData(
        media_type="image/gif", data=base64.b64encode(saved("GIF", (300, 100))).decode()
    )
    fitted = fitted_tool_image(returned, PROTOCOL_IMAGE_LIMITS["google"])
    assert fitted.media_type == "image/png"  # Gemini takes no GIF
    small_enough = fitted_tool_image(returned, LIMITS)  # 100 px at most
    assert Image.open(io.BytesIO(base64.b64decode(small_enough.data))).size == (100, 33)
