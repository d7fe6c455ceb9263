"""An image made to fit one API's limits: scaled down, and re-encoded when it must be.

An image within the limits goes as it is (its bytes unchanged). Otherwise it is scaled
to the largest size the limits allow, keeping its aspect ratio, and encoded again in its
own format where the API takes that (PNG for a screenshot stays PNG, JPEG stays JPEG),
else as PNG; an image still larger than the byte limit is encoded as JPEG at falling
quality, then scaled down further. Blocking: run it in a thread.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness_tui.core.providers.catalogue import ImageLimits

#: PNG's zlib level when re-encoding: level 1 is several times faster than the default 6
#: on a screenshot and about a tenth larger.
PNG_LEVEL = 1
JPEG_QUALITIES = (85, 70, 55)


@dataclass(frozen=True, slots=True)
class FittedImage:
    data: bytes
    media_type: str
    width: int
    height: int


def target_size(width: int, height: int, limits: ImageLimits) -> tuple[int, int]:
    """The largest size within ``limits`` with the aspect ratio of ``width``×``height``."""
    scale = min(1.0, limits.max_edge / max(width, height))
    if limits.max_short_edge is not None:
        scale = min(scale, limits.max_short_edge / min(width, height))
    if limits.max_pixels is not None:
        scale = min(scale, math.sqrt(limits.max_pixels / (width * height)))
    if scale >= 1.0:
        return width, height
    return max(1, int(width * scale)), max(1, int(height * scale))


def fit_image(data: bytes, media_type: str, limits: ImageLimits, pixels: Any = None) -> FittedImage:
    """``data`` (a checked image; ``pixels``: it decoded already) within ``limits``."""
    from PIL import Image

    image = pixels if pixels is not None else Image.open(io.BytesIO(data))
    width, height = image.size
    size = target_size(width, height, limits)
    animated = getattr(image, "n_frames", 1) > 1
    if (
        size == (width, height)
        and media_type in limits.types
        and len(data) <= limits.max_bytes
        and not animated  # OpenAI takes non-animated GIFs only: the first frame goes
    ):
        return FittedImage(data, media_type, width, height)
    if pixels is None and image.format == "JPEG" and size != (width, height):
        image.draft("RGB", size)  # decode at a reduced scale: much faster
    frame = image
    if frame.mode not in ("RGB", "RGBA"):
        frame = frame.convert("RGBA" if _has_alpha(image) else "RGB")
    if frame.size != size:
        factor = min(frame.width // size[0], frame.height // size[1])
        if factor >= 2:  # averaging whole blocks first: half the time, as sharp
            frame = frame.reduce(factor)
            frame = frame.resize(size, Image.Resampling.LANCZOS)
        else:  # a small step down (4K to Gemini's 3072): bicubic, a quarter faster
            frame = frame.resize(size, Image.Resampling.BICUBIC)
    keep = media_type if media_type in limits.types and media_type != "image/gif" else None
    encoded = _encode(frame, keep or "image/png")
    scale = 1.0
    while len(encoded.data) > limits.max_bytes:
        for quality in JPEG_QUALITIES:
            encoded = _encode(frame, "image/jpeg", quality)
            if len(encoded.data) <= limits.max_bytes:
                return encoded
        scale *= 0.75  # still too large: fewer pixels
        smaller = (max(1, int(size[0] * scale)), max(1, int(size[1] * scale)))
        frame = frame.resize(smaller, Image.Resampling.LANCZOS)
    return encoded


def _has_alpha(image: Any) -> bool:
    return image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info


def _encode(frame: Any, media_type: str, quality: int = JPEG_QUALITIES[0]) -> FittedImage:
    out = io.BytesIO()
    if media_type == "image/jpeg":
        rgb = frame
        if frame.mode == "RGBA":  # JPEG has no alpha: onto white, as a page would show it
            from PIL import Image

            rgb = Image.new("RGB", frame.size, "white")
            rgb.paste(frame, mask=frame.getchannel("A"))
        rgb.save(out, "JPEG", quality=quality)
    elif media_type == "image/webp":
        frame.save(out, "WEBP", quality=90)
    else:
        media_type = "image/png"
        frame.save(out, "PNG", compress_level=PNG_LEVEL)
    return FittedImage(out.getvalue(), media_type, frame.width, frame.height)
