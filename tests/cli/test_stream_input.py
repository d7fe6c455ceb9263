"""Lines of ``--input-format stream-json``: Claude Code's user-message shape and its
control lines read as they are (shapes from claude-agent-sdk-python's
``_internal/query.py``), our steer and follow-up, and every other line refused with its
line number and the field that is wrong."""

from __future__ import annotations

import base64
import io
import json
import os

import pytest

from harness_tui import stream_input
from harness_tui.stream_input import (
    ControlRequest,
    InputLineError,
    InputMessage,
    PermissionAnswer,
    parse_line,
)


def line(content: object, kind: str = "user") -> str:
    return json.dumps({"type": kind, "message": {"role": "user", "content": content}})


def request(subtype: str, request_id: object = "r1", **fields: object) -> str:
    return json.dumps(
        {"type": "control_request", "request_id": request_id,
         "request": {"subtype": subtype, **fields}}
    )  # fmt: skip


def response(body: object, subtype: str = "success", request_id: object = "perm_1") -> str:
    return json.dumps(
        {"type": "control_response",
         "response": {"subtype": subtype, "request_id": request_id, "response": body}}
    )  # fmt: skip


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


def test_a_message_is_a_follow_up_unless_it_says_steer() -> None:
    assert parse_line(line("a"), 1) == InputMessage("a", [], "follow_up")
    assert parse_line(line("b", kind="follow_up"), 1) == InputMessage("b", [], "follow_up")
    assert parse_line(line("c", kind="steer"), 1) == InputMessage("c", [], "steer")


def test_control_requests_and_permission_answers_are_read() -> None:
    assert parse_line(request("interrupt"), 1) == ControlRequest("r1", "interrupt")
    assert parse_line(request("set_model", model="sonnet"), 1) == ControlRequest(
        "r1", "set_model", {"model": "sonnet"}
    )
    mode = parse_line(request("set_permission_mode", "r2", mode="plan"), 1)
    assert mode == ControlRequest("r2", "set_permission_mode", {"mode": "plan"})
    assert parse_line(response({"behavior": "allow", "updatedInput": {}}), 1) == (
        PermissionAnswer("perm_1", "allow_once")
    )
    assert parse_line(response({"behavior": "deny", "message": "no"}), 1) == (
        PermissionAnswer("perm_1", "deny", "no")
    )
    assert parse_line(response({"behavior": "allow", "decision": "allow_session"}), 1) == (
        PermissionAnswer("perm_1", "allow_session")
    )
    failed = parse_line(response(None, subtype="error"), 1)
    assert isinstance(failed, PermissionAnswer) and failed.decision == "deny"


@pytest.mark.parametrize(
    ("text", "expected", "request_id"),
    [
        (
            request("interrupt", request_id=None),
            "stdin line 4: request_id: a control_request",
            None,
        ),
        (request("rewind_files"), "stdin line 4: request.subtype: 'rewind_files' is not", "r1"),
        (request("set_model"), "stdin line 4: request.model: set_model needs a model", "r1"),
        (request("set_permission_mode", mode=3), "stdin line 4: request.mode: ", "r1"),
        (json.dumps({"type": "control_response"}), "stdin line 4: response: must be", None),
        (response({}, request_id=7), "stdin line 4: response.request_id: ", None),
        (response({}, subtype="ok"), "stdin line 4: response.subtype: ", None),
        (response({"behavior": "maybe"}), "stdin line 4: response.response.behavior: ", None),
        (response({"decision": "yes"}), "stdin line 4: response.response.decision: ", None),
        (json.dumps([1]), "stdin line 4: a line must be a JSON object, not a list", None),
    ],
)
def test_a_bad_control_line_names_its_field_and_keeps_its_request_id(
    text: str, expected: str, request_id: str | None
) -> None:
    with pytest.raises(InputLineError) as caught:
        parse_line(text, 4)
    assert str(caught.value).startswith(expected)
    assert caught.value.request_id == request_id


def text_file(fd: int) -> io.TextIOWrapper:
    return open(fd, encoding="utf-8")  # as sys.stdin is


async def test_lines_from_a_pipe_come_whole_however_the_reads_split_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(stream_input, "READ_SIZE", 3)  # every line spans several reads
    read_end, write_end = os.pipe()
    os.write(write_end, '{"a": "é"}\n\nsecond\n'.encode() + b"\xff bad\nlast, unended")
    os.write(write_end, b"\n\xe2\x82")  # a character cut at the end
    os.close(write_end)
    with text_file(read_end) as stream:
        lines = [line async for line in stream_input.input_lines(stream)]
    assert lines == [
        '{"a": "\xe9"}\n',
        "\n",
        "second\n",
        "\ufffd bad\n",
        "last, unended\n",
        "\ufffd",
    ]


async def test_lines_from_anything_else_are_read_as_it_reads_them() -> None:
    lines = [line async for line in stream_input.input_lines(io.StringIO("one\ntwo"))]
    assert lines == ["one\n", "two"]
