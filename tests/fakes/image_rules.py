"""What the real APIs enforce on the images of a request, for the loopback fakes.

Each fake calls the rules of its API after its own structural checks; a broken rule is a
``Refused`` carrying the API's status, words and (OpenAI) error code, which the fake
turns into its own error body. Images are decoded with Pillow, as the APIs decode them.
The sources, and where a wording is reconstructed rather than quoted:

Anthropic Messages (platform.claude.com/docs/en/build-with-claude/vision, "General
limits"): "up to 600 for API requests (100 for models with a 200k-token context window)";
"If you submit an image larger than 8000x8000 px, it is rejected. If you submit more than
20 images in one API request, this limit is 2000x2000 px"; request size limits "32 MB for
standard endpoints". The fake takes 100 images (``ANTHROPIC_MAX_IMAGES``): what every
model takes, and what harness-tui's limits send. Its words, quoted from users' reports:

- "messages.38.content.0.image.source.base64: image exceeds 5 MB maximum: 7894984 bytes >
  5242880 bytes" (anthropics/claude-code#14201; gptme/gptme#185): the limit is on the
  base64 text (ai-ecoverse/slicc#117, lobehub/lobehub#14711, openclaw/openclaw#9598);
- "messages.18.content.1.image.source.base64.data: Image does not match the provided media
  type image/png" (anthropics/claude-code#13131, #15746);
- "messages.7.content.2.image.source.base64.data: At least one of the image dimensions
  exceed max allowed size: 8000 pixels" (anthropics/claude-code#4778, #5147), and "... for
  many-image requests: 2000 pixels" (anthropics/claude-code#13480, #24630);
- "Too much media: 0 document pages + 102 images > 100" (anthropics/claude-code#19822);
- a body over the limit: 413 ``request_too_large`` "Request exceeds the maximum size"
  (earendil-works/pi#401).

OpenAI chat completions and Responses (developers.openai.com/api/docs/guides/images-vision,
"Image input requirements"): PNG, JPEG, WEBP, non-animated GIF; "Up to 20MB per image",
"Up to 500 individual images per request", "Up to 50 MB image bytes per request". Words:
"You uploaded an unsupported image. Please make sure your image has of one the following
formats: ['png', 'jpeg', 'gif', 'webp']." with code ``invalid_image_format``
(STranslate/STranslate#277), "... is below 20 MB in size and is of one ..."
(jam3scampbell/ProctorAI#7); the count and total-size refusals are reconstructed (no
public report quotes them). The limits here count base64 text, the stricter reading.
Responses: an ``input_image`` of a message needs ``detail`` — the SDK's
``ResponseInputImageParam`` marks it ``Required`` (openai/types/responses/
response_input_image_param.py; ``ResponseInputImageContentParam`` of a function call's
output has it optional), and strict Responses servers refuse an image without it
("1 validation error for ResponseInputImageParam detail Field required", vercel/ai#20300,
vllm-project/vllm#57241), though api.openai.com itself defaults it to ``auto``.

Gemini generateContent (ai.google.dev/gemini-api/docs/image-understanding; the Vertex AI
image-understanding table lists the same MIME types): ``inline_data`` of image/png,
image/jpeg, image/webp, image/heic or image/heif — no GIF: "Unsupported MIME type:
image/jpg" (ogkalu2/comic-translate#399) is the API's word for any other; "Provided image
is not valid" for bytes that do not decode (AmberSahdev/Open-Interface#64); the whole
request with its inline data under 20 MB ("total request size less than 20MB"), refused
as "Request payload size exceeds the limit: 20971520 bytes." (the wording of Google's
front end, google-gemini/deprecated-generative-ai-android#26, with this limit).
"""

from __future__ import annotations

import base64
import binascii
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

ANTHROPIC_MAX_IMAGES = 100
ANTHROPIC_MAX_BASE64 = 5 * 2**20
ANTHROPIC_MAX_EDGE = 8000
ANTHROPIC_MANY_IMAGES = 20
ANTHROPIC_MANY_EDGE = 2000
ANTHROPIC_MAX_BODY = 32_000_000

OPENAI_MAX_IMAGES = 500
OPENAI_MAX_BASE64 = 20 * 2**20
OPENAI_MAX_TOTAL = 50 * 2**20
OPENAI_FORMATS = {"PNG", "JPEG", "WEBP", "GIF"}
OPENAI_UNSUPPORTED = (
    "You uploaded an unsupported image. Please make sure your image has of one the "
    "following formats: ['png', 'jpeg', 'gif', 'webp']."
)
OPENAI_TOO_LARGE = (
    "You uploaded an unsupported image. Please make sure your image is below 20 MB in size "
    "and is of one the following formats: ['png', 'jpeg', 'gif', 'webp']."
)
DETAILS = {"low", "high", "auto", "original"}

GEMINI_TYPES = {"image/png", "image/jpeg", "image/webp", "image/heic", "image/heif"}
GEMINI_MAX_BODY = 20 * 2**20

_MEDIA = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif", "WEBP": "image/webp"}


class Refused(Exception):
    """A request the API refuses for its images: status, the API's words, its code."""

    def __init__(
        self, message: str, status: int = 400, code: str | None = None, param: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.param = param


@dataclass(frozen=True)
class Seen:
    """An image as the API's decoder sees it."""

    media_type: str
    width: int
    height: int
    frames: int


def look(data: bytes) -> Seen | None:
    """Decode ``data`` fully; None when it is no image Pillow can read."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            return Seen(
                _MEDIA.get(image.format or "", f"image/{(image.format or '').lower()}"),
                image.width,
                image.height,
                getattr(image, "n_frames", 1),
            )
    except Exception:
        return None


def _b64(text: Any) -> bytes | None:
    if not isinstance(text, str):
        return None
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


# --- Anthropic ----------------------------------------------------------------------------


def _anthropic_images(body: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for i, message in enumerate(body.get("messages") or []):
        content = message.get("content") if isinstance(message, dict) else None
        for j, block in enumerate(content if isinstance(content, list) else []):
            where = f"messages.{i}.content.{j}"
            if block.get("type") == "image":
                yield f"{where}.image.source.base64", block["source"]
            elif block.get("type") == "tool_result" and isinstance(block.get("content"), list):
                for k, item in enumerate(block["content"]):
                    if item.get("type") == "image":
                        yield f"{where}.tool_result.content.{k}.image.source.base64", item["source"]


def anthropic(body: dict[str, Any], max_images: int = ANTHROPIC_MAX_IMAGES) -> None:
    """The Messages API's image rules (call after the structural checks)."""
    images = list(_anthropic_images(body))
    if len(images) > max_images:
        raise Refused(f"Too much media: 0 document pages + {len(images)} images > {max_images}")
    many = len(images) > ANTHROPIC_MANY_IMAGES
    for where, source in images:
        text = source["data"]
        if len(text) > ANTHROPIC_MAX_BASE64:
            raise Refused(
                f"{where}: image exceeds 5 MB maximum: {len(text)} bytes > "
                f"{ANTHROPIC_MAX_BASE64} bytes"
            )
        seen = look(_b64(text) or b"")
        if seen is None or seen.media_type != source["media_type"]:
            raise Refused(
                f"{where}.data: Image does not match the provided media type {source['media_type']}"
            )
        edge = ANTHROPIC_MANY_EDGE if many else ANTHROPIC_MAX_EDGE
        if max(seen.width, seen.height) > edge:
            kind = " for many-image requests" if many else ""
            raise Refused(
                f"{where}.data: At least one of the image dimensions exceed max allowed "
                f"size{kind}: {edge} pixels"
            )


def anthropic_body(size: int) -> None:
    if size > ANTHROPIC_MAX_BODY:
        raise Refused("Request exceeds the maximum size", status=413, code="request_too_large")


# --- OpenAI -------------------------------------------------------------------------------


def _openai_image(where: str, url: str, totals: list[int]) -> None:
    if not url.startswith("data:"):
        return  # a URL the API fetches itself
    text = url.partition(",")[2]  # the API reads the bytes, not the declared type
    totals[0] += 1
    totals[1] += len(text)
    if len(text) > OPENAI_MAX_BASE64:
        raise Refused(OPENAI_TOO_LARGE, code="invalid_image_format", param=where)
    seen = look(_b64(text) or b"")
    if seen is None or seen.media_type.split("/")[1].upper() not in OPENAI_FORMATS:
        raise Refused(OPENAI_UNSUPPORTED, code="invalid_image_format", param=where)
    if seen.media_type == "image/gif" and seen.frames > 1:
        # "Non-animated GIF" only (the guide); the refusal's words are reconstructed.
        raise Refused(OPENAI_UNSUPPORTED, code="invalid_image_format", param=where)


def _openai_totals(totals: list[int], max_images: int = OPENAI_MAX_IMAGES) -> None:
    count, size = totals
    if count > max_images:
        raise Refused(f"Too many images in request. Max is {max_images}.", code="too_many_images")
    if size > OPENAI_MAX_TOTAL:
        raise Refused(
            f"Total image size in request exceeds the {OPENAI_MAX_TOTAL // 2**20} MB limit.",
            code="request_too_large",
        )


def chat(body: dict[str, Any], max_images: int = OPENAI_MAX_IMAGES) -> None:
    """Chat completions' image rules (``image_url`` parts with data URLs); ``max_images``
    is another API's count (Groq: 5)."""
    totals = [0, 0]
    for i, message in enumerate(body.get("messages") or []):
        content = message.get("content")
        for k, part in enumerate(content if isinstance(content, list) else []):
            if isinstance(part, dict) and part.get("type") == "image_url":
                where = f"messages.[{i}].content[{k}].image_url.url"
                _openai_image(where, part["image_url"]["url"], totals)
    _openai_totals(totals, max_images)


def responses(body: dict[str, Any]) -> None:
    """The Responses API's image rules (``input_image`` parts of messages and of
    function call outputs)."""
    totals = [0, 0]
    items = body.get("input")
    for i, item in enumerate(items if isinstance(items, list) else []):
        kind = item.get("type", "message")
        parts = item.get("content") if kind == "message" else item.get("output")
        for k, part in enumerate(parts if isinstance(parts, list) else []):
            if not isinstance(part, dict) or part.get("type") != "input_image":
                continue
            where = f"input[{i}].{'content' if kind == 'message' else 'output'}[{k}]"
            detail = part.get("detail")
            if kind == "message" and detail is None:
                raise Refused(f"Missing required parameter: '{where}.detail'.", param=where)
            if detail is not None and detail not in DETAILS:
                raise Refused(
                    f"Invalid value: '{detail}'. Supported values are: 'low', 'high', 'auto', "
                    "and 'original'.",
                    code="invalid_value",
                    param=f"{where}.detail",
                )
            if isinstance(part.get("image_url"), str):
                _openai_image(f"{where}.image_url", part["image_url"], totals)
    _openai_totals(totals)


# --- Gemini -------------------------------------------------------------------------------


def gemini_blob(blob: dict[str, Any]) -> None:
    """One ``inlineData`` part (camelCase keys)."""
    mime = blob.get("mimeType")
    if not isinstance(mime, str) or not mime.startswith("image/"):
        return  # other media: not this fake's business
    if mime not in GEMINI_TYPES:
        raise Refused(f"Unsupported MIME type: {mime}")
    if mime in ("image/heic", "image/heif"):
        return  # Pillow cannot read these without a plugin
    data = base64.b64decode(blob["data"].replace("-", "+").replace("_", "/"))
    if look(data) is None:
        raise Refused("Provided image is not valid")


def gemini_body(size: int) -> None:
    if size > GEMINI_MAX_BODY:
        raise Refused(f"Request payload size exceeds the limit: {GEMINI_MAX_BODY} bytes.")
