"""Lines of ``--input-format stream-json``: Claude Code's user-message shape read as it
is, and every other line refused with its line number and the field that is wrong."""

from __future__ import annotations

import base64
import json

import pytest

from harness_tui.stream_input import InputLineError, parse_line


def line(content: object, kind: str = "user") -> str:
    return json.dumps({"type": kind, "message": {"role": "user", "content": content}})


def test_text_and_image_blocks_are_read() -> None:
    data = b"\x89PNG\r\n\x1a\n-not-checked-here"
    message = parse_line(
        line([
            {"type": "text", "text": "one"},
            {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                         "data": base64.b64encode(data).decode()}},
            {"type": "text", "text": "two"},
        ]),
        1,
    )  # fmt: skip
    assert message is not None
    assert message.text == "one\n\ntwo" and message.images == [(data, "image 1")]
    plain = parse_line(line("just text"), 2)
    assert plain is not None and plain.text == "just text" and plain.images == []
    assert parse_line("   \n", 3) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{not json", "stdin line 7: not JSON"),
        (line("x", kind="control"), "stdin line 7: type: a 'control' record is not read here"),
        (line(42), "stdin line 7: message.content must be a string or a list"),
        (line([{"type": "audio"}]), "stdin line 7: message.content[0]: a text or image block"),
        (
            line([{"type": "image", "source": {"type": "url", "url": "https://x"}}]),
            "stdin line 7: message.content[0].source: must be",
        ),
        (
            line([{"type": "image", "source": {"type": "base64", "data": "@@@"}}]),
            "stdin line 7: message.content[0].source.data: not valid base64",
        ),
    ],
)
def test_a_bad_line_is_named_with_its_field(text: str, expected: str) -> None:
    with pytest.raises(InputLineError) as caught:
        parse_line(text, 7)
    assert str(caught.value).startswith(expected)
