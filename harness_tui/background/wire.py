"""The protocol between an attached terminal (``attach``) and a holder (``holder``).

Terminal -> holder: frames of one type byte, a 4-byte big-endian length and the payload:
``i`` keys to type into the session's terminal, ``w`` the terminal's size (two unsigned
16-bit numbers, rows then columns). Holder -> terminal: the session's output as it comes,
unframed; the holder closes the connection when the session ends (or another terminal
attaches in its place).

The terminal modes a TUI switches on (the alternate screen, mouse reports, bracketed
paste, the kitty keyboard protocol) are sent once when it starts; ``Modes`` keeps track
of them in the output so a terminal that attaches later gets them (``replay``), and
``RESET`` switches them off in a terminal that detaches.
"""

from __future__ import annotations

import re
import struct

INPUT, SIZE = b"i", b"w"
HEADER = struct.Struct(">cI")
#: Largest frame payload accepted.
MAX_FRAME = 1 << 20

#: Private modes worth replaying, in the order to set them (the alternate screen first).
TRACKED = (1049, 1, 25, 1000, 1002, 1003, 1004, 1006, 1015, 2004)
_PRIVATE = re.compile(rb"\x1b\[\?([\d;]+)([hl])")
_KITTY_PUSH = re.compile(rb"\x1b\[>(\d+)u")
_KITTY_POP = re.compile(rb"\x1b\[<\d*u")
_CSI = re.compile(rb"\x1b(\[[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]|[^\[])")

#: What a detaching terminal is sent: every tracked mode back to its default, the
#: kitty keyboard flags popped, the cursor shown, the main screen back.
RESET = (
    b"\x1b[<u\x1b[?2004l\x1b[?1015l\x1b[?1006l\x1b[?1004l\x1b[?1003l\x1b[?1002l"
    b"\x1b[?1000l\x1b[?1l\x1b[?25h\x1b[?1049l"
)

#: Ctrl+] as a terminal sends it: plain, or in the kitty keyboard protocol.
DETACH_KEYS = (b"\x1d", b"\x1b[93;5u")


def frame(kind: bytes, payload: bytes) -> bytes:
    return HEADER.pack(kind, len(payload)) + payload


def size_frame(rows: int, columns: int) -> bytes:
    return frame(SIZE, struct.pack(">HH", max(rows, 1), max(columns, 1)))


def read_frames(buffer: bytearray) -> list[tuple[bytes, bytes]]:
    """The whole frames at the start of ``buffer`` (removed from it). Raises
    ``ValueError`` on a frame that cannot be one of ours."""
    frames = []
    while len(buffer) >= HEADER.size:
        kind, length = HEADER.unpack_from(buffer)
        if kind not in (INPUT, SIZE) or length > MAX_FRAME:
            raise ValueError("not an attach frame")
        if len(buffer) < HEADER.size + length:
            break
        frames.append((kind, bytes(buffer[HEADER.size : HEADER.size + length])))
        del buffer[: HEADER.size + length]
    return frames


class Modes:
    """The terminal modes the session's output has switched on so far."""

    def __init__(self) -> None:
        self.private: dict[int, bool] = {}
        self.kitty: list[int] = []
        self._tail = b""

    def feed(self, data: bytes) -> None:
        text = self._tail + data
        for match in _PRIVATE.finditer(text):
            for number in match.group(1).split(b";"):
                if number.isdigit() and int(number) in TRACKED:
                    self.private[int(number)] = match.group(2) == b"h"
        for match in _KITTY_PUSH.finditer(text):
            self.kitty.append(int(match.group(1)))
        for _ in _KITTY_POP.finditer(text):
            if self.kitty:
                self.kitty.pop()
        # A sequence cut in two by the read is whole next time (only an unfinished one
        # is kept, so none is counted twice).
        cut = text.rfind(b"\x1b")
        unfinished = cut >= 0 and len(text) - cut < 16 and not _CSI.match(text, cut)
        self._tail = text[cut:] if unfinished else b""

    def replay(self) -> bytes:
        out = b"".join(
            f"\x1b[?{number}h".encode()
            for number in TRACKED
            if self.private.get(number) and number != 25
        )
        if self.private.get(25) is False:
            out += b"\x1b[?25l"
        if self.kitty:
            out += f"\x1b[>{self.kitty[-1]}u".encode()
        return out
