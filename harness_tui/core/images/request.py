"""Which images of a conversation one request carries, fitted to its API.

The newest images go first: up to the API's count and byte limits (counting each copy a
request carries, and the images tools returned), each fitted once per image and limits
(kept in a small cache: a long session re-encodes an image once per model, not once per
request). An image that does not go — the model cannot see, a limit
is reached, its bytes are gone — is not in the map, and the adapters write a short text
placeholder in its place (``placeholder``), so a request never fails on an image.
"""

from __future__ import annotations

import base64
import hashlib
from collections import Counter, OrderedDict
from collections.abc import Sequence
from typing import TYPE_CHECKING

import anyio

from harness_tui.core.images.fit import fit_image
from harness_tui.core.messages import (
    ImageBlock,
    ImageData,
    Message,
    ToolResultMessage,
    UserMessage,
)

if TYPE_CHECKING:
    from harness_tui.core.images.store import ImageStore
    from harness_tui.core.providers.catalogue import ImageLimits

#: Fitted images kept (base64: about 1-3 MB each for a screenshot).
CACHE_SIZE = 32
_fitted: OrderedDict[tuple[str, ImageLimits], ImageData] = OrderedDict()


def placeholder(block: ImageBlock) -> str:
    """What a model that does not get an image reads in its place."""
    return f"[image {block.label}: not sent to this model]"


def images_in(messages: Sequence[Message]) -> list[ImageBlock]:
    """The images the user attached, newest first, each once."""
    seen: set[str] = set()
    found = []
    for message in reversed(messages):
        if isinstance(message, UserMessage):
            for block in reversed(message.content):
                if block.type == "image" and block.sha256 not in seen:
                    seen.add(block.sha256)
                    found.append(block)
    return found


def fitted(block: ImageBlock, data: bytes, limits: ImageLimits, pixels: object = None) -> ImageData:
    """``block`` (its bytes ``data``; ``pixels``: decoded already) fitted to ``limits``
    (blocking), from the cache when it was fitted before. A session fits a pasted image
    for its model at once, while it has it decoded: the request then finds it here."""
    key = (block.sha256, limits)
    cached = _fitted.get(key)
    if cached is not None:
        _fitted.move_to_end(key)
        return cached
    image = fit_image(data, block.media_type, limits, pixels)
    return _remember(key, ImageData.encode(image.media_type, image.data))


def _remember(key: tuple[str, ImageLimits], image: ImageData) -> ImageData:
    _fitted[key] = image
    while len(_fitted) > CACHE_SIZE:
        _fitted.popitem(last=False)
    return image


def tool_key(image: ImageData) -> str:
    """Where a request's map holds the fitted copy of an image a tool returned."""
    return "tool:" + hashlib.sha256(image.data.encode()).hexdigest()


def tool_images(messages: Sequence[Message]) -> list[ImageData]:
    return [i for m in messages if isinstance(m, ToolResultMessage) for i in m.images]


def fitted_tool_image(image: ImageData, limits: ImageLimits) -> ImageData:
    """A tool's image fitted to ``limits`` (blocking; cached): itself when it fits, as
    it came when it cannot be decoded (``ImageData.of`` checked it)."""
    key = (tool_key(image), limits)
    cached = _fitted.get(key)
    if cached is not None:
        return cached
    raw = base64.b64decode(image.data)
    try:
        fit = fit_image(raw, image.media_type, limits)
    except Exception:
        return image
    fitted_copy = image if fit.data is raw else ImageData.encode(fit.media_type, fit.data)
    return _remember(key, fitted_copy)


def select(
    messages: Sequence[Message], limits: ImageLimits | None, store: ImageStore
) -> dict[str, ImageData]:
    """The images a request carries, by hash (blocking: see ``prepare``)."""
    if limits is None:
        return {}
    chosen: dict[str, ImageData] = {}
    # Images tools returned go too, fitted like the user's (a GIF is no image to Gemini,
    # a 5 MB screenshot too large for Claude), and count against the same limits
    # (Anthropic: "Too much media: 0 document pages + 102 images > 100"); so does each
    # message that shows an image again: each carries its own copy.
    count = total = 0
    for image in tool_images(messages):
        copy = chosen[tool_key(image)] = fitted_tool_image(image, limits)
        count += 1
        total += len(copy.data) * 3 // 4
    shown = Counter(
        block.sha256
        for m in messages
        if isinstance(m, UserMessage)
        for block in m.content
        if block.type == "image"
    )
    for block in images_in(messages):
        copies = shown[block.sha256]
        if count + copies > limits.max_count:
            break
        cached = _fitted.get((block.sha256, limits))
        if cached is None:
            data = store.read(block)
            if data is None:
                continue
            try:
                cached = fitted(block, data, limits)
            except Exception:  # checked when attached: damaged on disk since
                continue
        size = len(cached.data) * 3 // 4 * copies
        if total + size > limits.max_total_bytes:
            break
        count += copies
        total += size
        chosen[block.sha256] = cached
    return chosen


async def prepare(
    messages: Sequence[Message], limits: ImageLimits | None, store: ImageStore
) -> dict[str, ImageData]:
    """``select`` in a worker thread when an image must be read or fitted."""
    if limits is None or not (images_in(messages) or tool_images(messages)):
        return {}
    return await anyio.to_thread.run_sync(select, list(messages), limits, store)
