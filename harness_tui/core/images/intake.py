"""An attached image, checked before it is kept: what the user gave, or why not.

Every refusal is an ``ImageError`` whose message names the image (its file, or
``clipboard``) and the reason, so the rest of the prompt is kept and the user knows what
to fix. Decoding is Pillow's, with its decompression-bomb guard set to ``MAX_PIXELS``.
"""

from __future__ import annotations

import io
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness_tui.core.errors import HarnessError
from harness_tui.core.files.images import IMAGE_SUFFIXES, sniff

#: Largest image file taken (before it is fitted to a model: a 4K PNG screenshot is
#: 2-10 MB). Larger files are refused rather than read.
MAX_INPUT_BYTES = 30 * 1024 * 1024
#: Most pixels decoded (about 8K by 6K). Pillow refuses a file that claims more
#: (a decompression bomb: a few KB that would decode to gigabytes).
MAX_PIXELS = 50_000_000
#: Formats taken, by Pillow's name, and the media type each is kept as.
FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif", "WEBP": "image/webp"}


class ImageError(HarnessError):
    """An image that cannot be attached; the message names it and says why."""


@dataclass(frozen=True, slots=True)
class CheckedImage:
    """Image bytes that decode, in a taken format, with their size in pixels."""

    data: bytes
    media_type: str
    width: int
    height: int
    name: str
    #: The decoded picture (a Pillow image), for fitting it without decoding it again;
    #: dropped once it is fitted (``drop_pixels``).
    pixels: Any = None

    def drop_pixels(self) -> CheckedImage:
        return CheckedImage(self.data, self.media_type, self.width, self.height, self.name)


def looks_like_image_path(text: str) -> bool:
    """Whether ``text`` (a pasted string) is one path ending in an image suffix."""
    text = text.strip().strip("'\"")
    return bool(text) and "\n" not in text and text.lower().endswith(IMAGE_SUFFIXES)


def check_image(data: bytes, name: str) -> CheckedImage:
    """Decode ``data`` fully (blocking: run it in a thread); ``ImageError`` when it is
    not an image a model can be given."""
    if len(data) > MAX_INPUT_BYTES:
        raise ImageError(
            f"{name}: {len(data) / 2**20:.1f} MB is more than the "
            f"{MAX_INPUT_BYTES // 2**20} MB an attached image may be",
            hint="make it smaller or crop it first",
        )
    if not data:
        raise ImageError(f"{name}: the file is empty")
    Image = _pillow()
    try:
        # Not closed: closing frees the decoded pixels, which fitting uses next (the
        # "file" is the bytes in memory, so nothing is held open).
        image = Image.open(io.BytesIO(data))
        kind = image.format or ""
        width, height = image.size
        if width * height > MAX_PIXELS:  # Pillow itself refuses twice as many
            raise Image.DecompressionBombError(f"{width}×{height}")
        if kind not in FORMATS:
            raise ImageError(
                f"{name}: {kind or 'this'} images are not taken",
                hint="attach a PNG, JPEG, GIF or WebP image",
            )
        image.load()  # decodes every pixel: a cut or damaged file fails here
    except ImageError:
        raise
    except Image.DecompressionBombError:
        raise ImageError(
            f"{name}: it claims more than {MAX_PIXELS // 1_000_000} million pixels "
            "(a decompression bomb, or a far larger picture than a model can use)",
            hint="scale it down first",
        ) from None
    except Exception as exc:  # Pillow raises many kinds for damaged data
        if sniff(data[:12]) is None and not _pillow_knows(data):
            raise ImageError(
                f"{name}: not an image (or a format that is not taken)",
                hint="attach a PNG, JPEG, GIF or WebP image",
            ) from None
        kind = (sniff(data[:12]) or "image").removeprefix("image/").upper()
        reason = "" if "cannot identify" in str(exc) else f" ({exc})"
        raise ImageError(
            f"{name}: the {kind} data is damaged or cut short{reason}",
            hint="save it again, or take the screenshot again",
        ) from None
    return CheckedImage(data, FORMATS[kind], width, height, name, image)


def _pillow() -> Any:
    """Pillow's ``Image``, with its decompression-bomb limit set to ``MAX_PIXELS``."""
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    # Between the limit and twice it Pillow only warns (on stderr, under the TUI):
    # check_image refuses those itself. Set each time (the same filter is not added twice):
    # whoever resets the warning filters (pytest does, per test) would undo it otherwise.
    warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)
    return Image


def _pillow_knows(data: bytes) -> bool:
    Image = _pillow()
    try:
        with Image.open(io.BytesIO(data)):
            return True
    except Exception:
        return False


def read_image_file(
    path: Path, read_denied: Callable[[Path], bool] | None = None, shown: str | None = None
) -> CheckedImage:
    """Read and check an image file (blocking). ``read_denied``: the session's ``Read``
    deny rules, which hide a file from the user's attachments as from the agent."""
    from harness_tui.core.files.regular import FileTooLarge, describe_read_error, read_regular

    shown = shown or str(path)
    real = Path(os.path.realpath(path))
    if read_denied is not None and (read_denied(path) or read_denied(real)):
        raise ImageError(
            f"{shown}: a Read deny rule covers it, so it is not attached",
            hint="change the rule in your settings if the model may see it",
        )
    if not path.exists():
        raise ImageError(f"{shown}: no such file")
    if path.is_dir():
        raise ImageError(f"{shown}: a folder, not an image file")
    try:
        data = read_regular(path, MAX_INPUT_BYTES)
    except FileTooLarge:
        raise ImageError(
            f"{shown}: larger than the {MAX_INPUT_BYTES // 2**20} MB an attached image may be",
            hint="make it smaller or crop it first",
        ) from None
    except OSError as exc:
        raise ImageError(f"{shown}: {describe_read_error(exc)}") from None
    return check_image(data, shown)
