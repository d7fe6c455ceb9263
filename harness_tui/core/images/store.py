"""Each attached image kept once per session, named by the SHA-256 of its bytes.

The bytes live in the session's data folder (``<sessions>/<id>/images/<sha256>.<ext>``,
beside ``<id>.jsonl``); the session file's records hold ``ImageBlock`` references only.
Two prompts that attach one screenshot store it once. A session that is not saved keeps
its images in memory. Fitted copies (one per image and provider limits) are kept in
memory, so a long session re-encodes an image once per model, not once per request.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from harness_tui.core.images.intake import CheckedImage, ImageError
from harness_tui.core.messages import ImageBlock

_EXTENSIONS = {
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/gif": ".gif",
    "image/webp": ".webp",
}


class ImageStore:
    """The images of one session. ``folder`` None: kept in memory only."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder
        self._memory: dict[str, bytes] = {}

    def put(self, image: CheckedImage) -> ImageBlock:
        """Keep ``image`` (once: the same bytes again are not written again); its block."""
        digest = hashlib.sha256(image.data).hexdigest()
        block = ImageBlock(
            sha256=digest,
            media_type=image.media_type,
            width=image.width,
            height=image.height,
            size=len(image.data),
            name=os.path.basename(image.name) or image.name,
        )
        if self.folder is None:
            self._memory.setdefault(digest, image.data)
            return block
        path = self.path(block)
        if not path.exists():
            try:
                path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                # Written whole under a temporary name, then renamed: a reader never
                # sees half an image, and a crash leaves no damaged one behind.
                fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".part-")
                with os.fdopen(fd, "wb") as file:
                    file.write(image.data)
                os.replace(temp, path)
            except OSError as exc:
                raise ImageError(
                    f"{image.name}: cannot keep the image in {path.parent} ({exc.strerror})"
                ) from None
        return block

    def path(self, block: ImageBlock) -> Path:
        assert self.folder is not None
        return self.folder / f"{block.sha256}{_EXTENSIONS.get(block.media_type, '.img')}"

    def read(self, block: ImageBlock) -> bytes | None:
        """The image's bytes, or None when they are gone (a folder removed by hand)."""
        if self.folder is None:
            return self._memory.get(block.sha256)
        try:
            data = self.path(block).read_bytes()
        except OSError:
            return None
        # A file changed by hand is not sent as the image it no longer is.
        return data if hashlib.sha256(data).hexdigest() == block.sha256 else None

    def find(self, sha256: str) -> tuple[bytes, str] | None:
        """The bytes and media type of an image by its hash (for the web API)."""
        if self.folder is None:
            data = self._memory.get(sha256)
            return None if data is None else (data, _sniffed(data))
        for media_type, ext in _EXTENSIONS.items():
            path = self.folder / f"{sha256}{ext}"
            if path.is_file():
                return path.read_bytes(), media_type
        return None


def _sniffed(data: bytes) -> str:
    from harness_tui.core.files.images import sniff

    return sniff(data[:12]) or "application/octet-stream"
