"""Images that tools hand to models: which kinds, how large, and whether they are whole.

A request with an image the API cannot decode is refused whole, and the image stays in
the history, so one broken picture would make every later request fail. Only images of
a type every vision API here takes, within its size limit, whose bytes look complete,
are attached; anything else stays a note in the text.
"""

from __future__ import annotations

import base64
import binascii
import struct

#: Image types every vision API here accepts (Anthropic's list; OpenAI takes these too).
IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
#: File name endings that mark an image file (``@shot.png``, a pasted or dropped path).
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".webp")
#: Largest image passed to a model (Anthropic's limit per image); larger ones stay a note.
MAX_IMAGE_BYTES = 5 * 1024 * 1024


def sniff(head: bytes) -> str | None:
    """The media type of PNG, JPEG, GIF or WebP data, by its first 12 bytes."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


def problem(data: bytes, media_type: str) -> str | None:
    """Why ``data`` cannot go to a model as ``media_type``, or None when it can."""
    if media_type not in IMAGE_TYPES:
        return f"{media_type} is not an image type models take (PNG, JPEG, GIF, WebP)"
    if len(data) > MAX_IMAGE_BYTES:
        return f"{len(data):,} bytes is more than the {MAX_IMAGE_BYTES // 2**20} MB a model takes"
    if sniff(data[:12]) != media_type:
        return f"the data is not {media_type}"
    if not _complete(data, media_type):
        return f"the {media_type} data is cut short or damaged"
    return None


def decode(b64: str) -> bytes | None:
    """Strict base64 (what the APIs accept), or None."""
    try:
        return base64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError):
        return None


def _complete(data: bytes, media_type: str) -> bool:
    if media_type == "image/png":
        return data[12:16] == b"IHDR" and data.rstrip(b"\0")[-8:-4] == b"IEND"
    if media_type == "image/jpeg":
        return data.rstrip(b"\0")[-2:] == b"\xff\xd9"
    if media_type == "image/gif":
        return data.rstrip(b"\0")[-1:] == b";"
    (size,) = struct.unpack("<I", data[4:8])  # WebP: the RIFF size covers the rest
    return size + 8 <= len(data)
