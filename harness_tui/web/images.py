"""Images a browser sends with a message, and the images of a session sent back.

An image in a request body is base64 (strict: no line breaks, no stray characters; a
``data:`` URL's prefix is taken off), of a taken media type, at most the core's
``MAX_INPUT_BYTES`` once decoded. Each is then checked and kept by the session
(``Session.attach_image``: Pillow decodes it whole, with its decompression-bomb guard).
The first image refused ends the request before anything runs, with an error naming the
image (its number from 1 and its name) and the reason.
"""

from __future__ import annotations

import re
from typing import Any

import anyio

from harness_tui.core.files.images import decode
from harness_tui.core.images.intake import FORMATS, MAX_INPUT_BYTES, ImageError
from harness_tui.core.messages import ImageBlock
from harness_tui.core.session.session import Session
from harness_tui.web.bodies import ImageIn

#: Media types taken, and the name ending of an image sent without a name.
MEDIA_TYPES = {media_type: media_type.split("/")[1] for media_type in FORMATS.values()}
#: What ``GET /api/sessions/ID/images/SHA256`` takes as the hash.
SHA256 = re.compile(r"[0-9a-f]{64}")
_DATA_URL = re.compile(r"data:([\w.+/-]+);base64,")


class ImageRefused(Exception):
    """One image of a request cannot be taken: its status, code, message and hint."""

    def __init__(self, status: int, code: str, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.hint = status, code, message, hint
        self.image: dict[str, Any] = {}
        self.limit: int | None = None


async def attach_images(session: Session, images: list[ImageIn]) -> list[ImageBlock]:
    """Decode, check and keep each image in ``session``'s store, in order; the first
    one refused raises ``ImageRefused``. Images kept before it stay in the store
    (content-addressed, unreferenced: the request starts nothing)."""
    decoded = [
        await anyio.to_thread.run_sync(_decode, number, image)
        for number, image in enumerate(images, 1)
    ]
    blocks = []
    for number, (data, name) in enumerate(decoded, 1):
        try:
            blocks.append(await session.attach_image(data, name))
        except ImageError as exc:
            raise _refused(
                number, name, 422, "invalid_image", f"image {number}: {exc.message}", exc.hint
            ) from None
    return blocks


def _decode(number: int, image: ImageIn) -> tuple[bytes, str]:
    media_type = (image.media_type or "").strip().lower()
    name = _clean_name(image.name) or f"image-{number}.{MEDIA_TYPES.get(media_type, 'img')}"
    text = image.data or ""
    prefix = _DATA_URL.match(text)
    if prefix:
        text = text[prefix.end() :]
    if media_type not in MEDIA_TYPES:
        raise _refused(
            number,
            name,
            422,
            "invalid_image",
            f"image {number} ({name}): media type {media_type or '(none)'!r} is not taken",
            "send image/png, image/jpeg, image/gif or image/webp",
        )
    # Refused by its length before it is decoded: base64 is 4 characters per 3 bytes.
    if len(text) // 4 * 3 > MAX_INPUT_BYTES + 2:
        error = _refused(
            number,
            name,
            413,
            "image_too_large",
            f"image {number} ({name}): about {len(text) * 3 / 4 / 2**20:.1f} MB, more than "
            f"the {MAX_INPUT_BYTES // 2**20} MB an attached image may be",
            "make it smaller or crop it first",
        )
        error.limit = MAX_INPUT_BYTES
        raise error
    data = decode(text)
    if data is None:
        raise _refused(
            number,
            name,
            422,
            "invalid_image",
            f"image {number} ({name}): data is not base64",
            "send the file's bytes in standard base64 (A-Z a-z 0-9 + /, padded with =), "
            "without line breaks",
        )
    if not data:
        raise _refused(number, name, 422, "invalid_image", f"image {number} ({name}): no data")
    return data, name


def _clean_name(name: str | None) -> str:
    """The name as shown (and kept): its last path part, printable characters only."""
    text = "".join(ch for ch in (name or "") if ch.isprintable())
    return text.replace("\\", "/").rsplit("/", 1)[-1].strip()


def _refused(
    number: int, name: str, status: int, code: str, message: str, hint: str | None = None
) -> ImageRefused:
    error = ImageRefused(status, code, message, hint)
    error.image = {"index": number - 1, "name": name}
    return error


async def image_bytes(session: Session, sha256: str) -> tuple[bytes, str] | None:
    """The bytes and media type of one of ``session``'s images (read in a thread)."""
    return await anyio.to_thread.run_sync(session.images.find, sha256)
