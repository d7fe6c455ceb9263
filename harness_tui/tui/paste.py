"""Paste: what the clipboard holds, read with the local clipboard tools (the other side
of ``clipboard``, which copies).

Ctrl+V asks for an image first: ``wl-paste`` under Wayland, ``xclip`` under X11,
``pngpaste`` or ``osascript`` on macOS, each asked which types the clipboard offers before
the bytes are read. When it holds no image its text is pasted. Every read is blocking
(run it in a thread) and bounded in time; a tool that fails counts as an empty clipboard.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass

READ_TIMEOUT_S = 5.0
#: Image types asked for, best first (PNG is what screenshots are put there as).
IMAGE_TYPES = ("image/png", "image/jpeg", "image/webp", "image/gif")
NO_TOOL = (
    "No clipboard tool to paste an image with: install wl-clipboard (Wayland), xclip (X11) "
    "or pngpaste (macOS), or attach the file with @path"
)
NO_IMAGE = "The clipboard holds no image (and no text)"


@dataclass(frozen=True, slots=True)
class Clipboard:
    """What a paste found: an image's bytes, else text, else neither (``tool`` is
    empty when no clipboard tool was found)."""

    tool: str = ""
    image: bytes = b""
    text: str = ""


def read_clipboard(env: Mapping[str, str] = os.environ, platform: str = sys.platform) -> Clipboard:
    """The clipboard's image (preferred) or text, read with the first tool present."""
    if platform == "darwin":
        return _read_macos()
    if env.get("WAYLAND_DISPLAY") and shutil.which("wl-paste"):
        types = _run(["wl-paste", "--list-types"]).decode(errors="replace").split()
        kind = _image_type(types)
        if kind:
            return Clipboard("wl-paste", image=_run(["wl-paste", "--type", kind]))
        return Clipboard("wl-paste", text=_text(_run(["wl-paste", "--no-newline"])))
    if env.get("DISPLAY") and shutil.which("xclip"):
        xclip = ["xclip", "-selection", "clipboard"]
        types = _run([*xclip, "-t", "TARGETS", "-o"]).decode(errors="replace").split()
        kind = _image_type(types)
        if kind:
            return Clipboard("xclip", image=_run([*xclip, "-t", kind, "-o"]))
        return Clipboard("xclip", text=_text(_run([*xclip, "-o"])))
    return Clipboard()


def _read_macos() -> Clipboard:
    if shutil.which("pngpaste"):
        image = _run(["pngpaste", "-"])
        if image:
            return Clipboard("pngpaste", image=image)
    if not shutil.which("osascript"):
        return Clipboard()
    # AppleScript prints PNG data as «data PNGf89504E47...»; an error (no image) prints nothing.
    out = _run(["osascript", "-e", "the clipboard as «class PNGf»"]).decode(errors="replace")
    match = re.search(r"«data PNGf([0-9A-Fa-f]+)»", out)
    if match:
        return Clipboard("osascript", image=bytes.fromhex(match.group(1)))
    text = _text(_run(["pbpaste"])) if shutil.which("pbpaste") else ""
    return Clipboard("osascript", text=text)


def _image_type(types: list[str]) -> str | None:
    for kind in IMAGE_TYPES:
        if kind in types:
            return kind
    return None


def _text(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


def _run(command: list[str]) -> bytes:
    """The tool's output, or nothing when it fails (an empty clipboard makes most exit 1)."""
    try:
        done = subprocess.run(
            command,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=READ_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return b""
    return done.stdout if done.returncode == 0 else b""
