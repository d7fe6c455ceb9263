"""The attach protocol: frames split anywhere come out whole, a stranger's bytes are
refused, and the terminal modes a TUI switched on are replayed to a terminal that
attaches later (the alternate screen first), even when a read cut a sequence in two."""

from __future__ import annotations

import pytest

from harness_tui.background.wire import INPUT, SIZE, Modes, frame, read_frames, size_frame


def test_frames_come_out_whole_however_the_bytes_arrive() -> None:
    data = frame(INPUT, b"hello") + size_frame(40, 120) + frame(INPUT, b"\x1b[A")
    buffer, got = bytearray(), []
    for index in range(len(data)):  # one byte at a time: the worst split
        buffer += data[index : index + 1]
        got += read_frames(buffer)
    assert got == [(INPUT, b"hello"), (SIZE, b"\x00\x28\x00\x78"), (INPUT, b"\x1b[A")]
    assert buffer == bytearray()


def test_bytes_that_are_no_frame_are_refused() -> None:
    with pytest.raises(ValueError):
        read_frames(bytearray(b"GET / HTTP/1.1\r\n"))


def test_modes_switched_on_are_replayed_and_off_ones_are_not() -> None:
    modes = Modes()
    output = (
        b"\x1b[?1049h\x1b[?25l\x1b[?1000h\x1b[?1003h\x1b[?1006h\x1b[?2004h\x1b[>1u"
        b"drawing\x1b[?1003l"
    )
    for index in range(0, len(output), 3):  # sequences cut by the reads
        modes.feed(output[index : index + 3])
    replay = modes.replay()
    assert replay.startswith(b"\x1b[?1049h")
    for wanted in (b"\x1b[?1000h", b"\x1b[?1006h", b"\x1b[?2004h", b"\x1b[?25l", b"\x1b[>1u"):
        assert wanted in replay
    assert b"1003" not in replay


def test_the_kitty_keyboard_flags_pushed_once_are_replayed_once() -> None:
    modes = Modes()
    modes.feed(b"\x1b[>1u")
    modes.feed(b"text after it, no escape")
    modes.feed(b"\x1b[>")  # a push cut in two...
    modes.feed(b"3u")  # ...counted once
    assert modes.kitty == [1, 3]
    modes.feed(b"\x1b[<u")
    assert modes.kitty == [1] and modes.replay() == b"\x1b[>1u"
