"""``check_image`` refuses what no model should be given, naming the image and the
reason; what it takes comes back with its type and size."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image

from harness_tui.core.images.intake import MAX_INPUT_BYTES, MAX_PIXELS, ImageError, check_image


def saved(kind: str, size: tuple[int, int] = (40, 30), mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, "red").save(out, kind)
    return out.getvalue()


def bomb(width: int, height: int) -> bytes:
    """A PNG of a few bytes whose header claims ``width``×``height`` pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\0" * 64)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize(
    ("kind", "media_type"),
    [("PNG", "image/png"), ("JPEG", "image/jpeg"), ("GIF", "image/gif"), ("WEBP", "image/webp")],
)
def test_the_four_formats_models_take_are_taken(kind: str, media_type: str) -> None:
    image = check_image(saved(kind), "pic")
    assert (image.media_type, image.width, image.height, image.name) == (media_type, 40, 30, "pic")


@pytest.mark.parametrize(
    ("data", "name", "reason"),
    [
        (saved("BMP"), "shot.bmp", "BMP images are not taken"),
        (saved("TIFF"), "scan.tiff", "TIFF images are not taken"),
        (saved("PNG", (300, 200))[:400], "cut.png", "damaged or cut short"),
        (bomb(60_000, 60_000), "bomb.png", f"more than {MAX_PIXELS // 1_000_000} million pixels"),
        (bomb(9_000, 6_000), "wide.png", "decompression bomb"),  # 54 MP: Pillow only warns
        (b"\0" * (MAX_INPUT_BYTES + 1), "huge.png", "30.0 MB is more than the 30 MB"),
        (b"", "empty.png", "the file is empty"),
        (b"just some text, not a picture", "notes.png", "not an image"),
    ],
    ids=[
        "bmp",
        "tiff",
        "truncated",
        "bomb",
        "bomb-under-pillows-limit",
        "too-large",
        "empty",
        "text",
    ],
)
def test_refusals_name_the_file_and_the_reason(data: bytes, name: str, reason: str) -> None:
    with pytest.raises(ImageError) as refused:
        check_image(data, name)
    assert refused.value.message.startswith(f"{name}: ")
    assert reason in refused.value.message
