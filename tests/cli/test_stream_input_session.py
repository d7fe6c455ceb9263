"""``harness-tui -p --input-format stream-json`` driven as a program drives it: a real
process, a line written, events read until the one waited for, an answer written.

The scripted model's Bash calls read a line from a FIFO the test holds, so a tool is
running for exactly as long as the test wants (a steer goes in meanwhile) without a
sleep; each permission question comes as Claude Code's ``can_use_tool`` control
request and is answered with a ``control_response``."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

#: Longest wait for an event: a guard against a hang, never a way to wait for it.
GUARD_S = 30

Record = dict[str, Any]


class Client:
    """A program driving ``harness-tui -p --input-format stream-json``."""

    def __init__(self, cwd: Path, *args: str) -> None:
        env = {**os.environ, "HARNESS_DEMO_PACE": "0", "HARNESS_WARM": "0"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "harness_tui", "-p", "--input-format", "stream-json",
             "--output-format", "stream-json", *args],
            cwd=cwd, env=env, text=True,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        self.seen: list[Record] = []
        self.lines_sent = 0
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def send(self, record: Record | str) -> int:
        """Write one line; its line number (as errors name it)."""
        assert self.process.stdin is not None
        text = record if isinstance(record, str) else json.dumps(record)
        self.process.stdin.write(text + "\n")
        self.process.stdin.flush()
        self.lines_sent += 1
        return self.lines_sent

    def until(self, kind: str, where: Callable[[Record], bool] = lambda r: True) -> Record:
        """Read lines until one of type ``kind`` for which ``where`` holds."""
        while True:
            line = self._lines.get(timeout=GUARD_S)
            assert line is not None, f"stdout closed before a {kind}: {self.stderr()}"
            record = json.loads(line)
            self.seen.append(record)
            if record["type"] == kind and where(record):
                return record

    def close(self) -> tuple[int, str]:
        """Close stdin, read to the end; the exit code and stderr."""
        assert self.process.stdin is not None
        self.process.stdin.close()
        while (line := self._lines.get(timeout=GUARD_S)) is not None:
            self.seen.append(json.loads(line))
        return self.process.wait(timeout=GUARD_S), self.stderr()

    def stderr(self) -> str:
        if self.process.poll() is None:
            return "(still running)"
        assert self.process.stderr is not None
        return self.process.stderr.read()

    def of(self, kind: str) -> list[Record]:
        return [r for r in self.seen if r["type"] == kind]

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def user(text: str, kind: str = "user") -> Record:
    return {"type": kind, "message": {"role": "user", "content": text}}


def answer(request_id: str, behavior: str, **more: Any) -> Record:
    """Claude Code's answer to ``can_use_tool`` (as its SDK writes it)."""
    return {"type": "control_response", "response": {"subtype": "success",
            "request_id": request_id, "response": {"behavior": behavior, **more}}}  # fmt: skip


def control(request_id: str, subtype: str, **fields: Any) -> Record:
    return {"type": "control_request", "request_id": request_id,
            "request": {"subtype": subtype, **fields}}  # fmt: skip


def script(path: Path, *responses: Record) -> str:
    path.write_text(yaml.safe_dump({"responses": list(responses)}))
    return f"scripted:{path.name}"


def bash(command: str, call_id: str) -> Record:
    return {"text": "Running it.", "tool_calls": [
        {"name": "Bash", "input": {"command": command}, "id": call_id}]}  # fmt: skip


def asked(tool_name: str) -> Callable[[Record], bool]:
    return lambda r: (
        r["request"]["subtype"] == "can_use_tool" and r["request"]["tool_name"] == tool_name
    )


def test_multi_turn_session_with_a_permission_answer_a_steer_and_bad_lines(
    tmp_path: Path,
) -> None:
    os.mkfifo(tmp_path / "gate")
    model = script(
        tmp_path / "replies.yaml",
        bash("head -n 1 gate > got.txt", "c1"),
        {"text": "done one"},
        {"text": "Writing.", "tool_calls": [
            {"name": "Write", "input": {"file_path": "notes.txt", "content": "x"}, "id": "c2"}]},
        {"text": "left it alone"},
        {"text": "third answer"},
    )  # fmt: skip
    client = Client(tmp_path, "--model", model)
    try:
        client.send(user("first"))
        not_json = client.send("{not json")
        wrong_type = client.send({"type": "assistant", "message": {}})
        question = client.until("control_request", asked("Bash"))
        request = question["request"]
        assert request["input"] == {"command": "head -n 1 gate > got.txt"}
        assert request["tool_use_id"] == "c1" and request["decision_reason"]
        client.send(answer(question["request_id"], "allow"))
        client.until("PERMISSION_RESOLVED", lambda r: r["request_id"] == question["request_id"])
        # The command now waits on the gate: the steer goes in while the tool runs.
        client.send(user("use the short flags", kind="steer"))
        client.until("STEERING_QUEUED")
        (tmp_path / "gate").write_text("open\n")
        first = client.until("RUN_COMPLETED")

        client.send(user("second"))
        write = client.until("control_request", asked("Write"))
        client.send(user("third", kind="follow_up"))  # queued behind the active run
        client.until("STEERING_QUEUED", lambda r: r["text"] == "third")
        client.send(answer(write["request_id"], "deny", message="not that file"))
        second = client.until("RUN_COMPLETED")
        third = client.until("RUN_COMPLETED")
        stale = client.send(answer(write["request_id"], "allow"))  # answered already
        code, stderr = client.close()
    finally:
        client.kill()

    assert code == 3, stderr  # a refusal in the session: the documented exit code
    assert (tmp_path / "got.txt").read_text() == "open\n"
    assert not (tmp_path / "notes.txt").exists()
    assert [p["text"] for p in client.of("PROMPT_RECEIVED")] == ["first", "second", "third"]
    assert [first["result"], second["result"], third["result"]] == [
        "done one", "left it alone", "third answer"
    ]  # fmt: skip
    steer = client.of("STEERING_DELIVERED")[0]
    assert steer["text"] == "use the short flags" and steer["run_id"] == first["run_id"]
    assert steer["turn"] == 2  # joined the first run after its tool call, not a run of its own
    denied = client.of("TOOL_CALL_FAILED")[0]
    assert denied["tool_call_id"] == "c2" and denied["kind"] == "denied"
    assert "not that file" in denied["details"]["reason"]
    errors = [e["message"] for e in client.of("ERROR")]
    assert errors == [
        f"stdin line {not_json}: not JSON (Expecting property name enclosed in double "
        "quotes at column 2)",
        f"stdin line {wrong_type}: type: a 'assistant' record is not read here",
        f"stdin line {stale}: response.request_id: no open permission request "
        f"{write['request_id']!r}",
    ]
    assert all(e["code"] == "input_line" for e in client.of("ERROR"))
    for message in errors:
        assert f"harness-tui: {message}" in stderr


def test_control_requests_set_mode_and_model_interrupt_and_stdin_closing(
    tmp_path: Path,
) -> None:
    os.mkfifo(tmp_path / "gate")
    first = script(tmp_path / "first.yaml", {"text": "never used"})
    second = script(
        tmp_path / "second.yaml",
        bash("head -n 1 gate", "c1"),
        bash("echo again > again.txt", "c2"),
        {"text": "could not"},
    )
    client = Client(tmp_path, "--model", first)
    try:
        client.send(control("i1", "initialize", hooks=None))
        init = client.until("control_response")["response"]
        assert init["subtype"] == "success" and init["request_id"] == "i1"
        assert init["response"]["mode"] == "default" and init["response"]["session_id"]
        client.send(control("m1", "set_permission_mode", mode="acceptEdits"))
        mode = client.until("control_response")["response"]
        assert mode == {"subtype": "success", "request_id": "m1",
                        "response": {"mode": "acceptEdits"}}  # fmt: skip
        client.send(control("m2", "set_model", model=second))
        switched = client.until("control_response")["response"]["response"]["model"]
        assert switched == f"scripted:{tmp_path / 'second.yaml'}"
        bad_model = client.send(control("m3", "set_model", model="scripted:missing.yaml"))
        refused = client.until("control_response")["response"]
        assert refused["subtype"] == "error" and refused["request_id"] == "m3"
        assert refused["error"].startswith(f"stdin line {bad_model}: request.model: ")
        assert "missing.yaml" in refused["error"]

        client.send(user("go"))
        question = client.until("control_request", asked("Bash"))  # Bash asks in acceptEdits
        client.send(user("later", kind="follow_up"))
        client.until("STEERING_QUEUED")
        client.send(control("x1", "interrupt"))
        withdrawn = client.until("control_cancel_request")
        assert withdrawn["request_id"] == question["request_id"]
        interrupted = client.until("control_response")["response"]
        assert interrupted == {"subtype": "success", "request_id": "x1",
                               "response": {"withdrawn": ["later"]}}  # fmt: skip

        client.send(user("again"))
        client.until("control_request", asked("Bash"))
        code, stderr = client.close()  # nobody is left to answer it
    finally:
        client.kill()

    assert code == 3, stderr
    assert client.of("MODE_CHANGED")[0]["mode"] == "acceptEdits"
    assert {"later"} == {w["text"] for w in client.of("STEERING_WITHDRAWN")}
    assert [r["type"] for r in client.seen if r["type"] in ("RUN_CANCELLED", "RUN_COMPLETED")] == [
        "RUN_CANCELLED", "RUN_COMPLETED"
    ]  # fmt: skip
    resolved = [r["decision"] for r in client.of("PERMISSION_RESOLVED")]
    assert resolved == ["cancelled", "deny"]
    assert "stdin closed" in client.of("PERMISSION_RESOLVED")[1]["reason"]
    assert not (tmp_path / "again.txt").exists()
    assert client.of("RUN_COMPLETED")[0]["result"] == "could not"
    assert [e["code"] for e in client.of("ERROR")] == ["input_line"]


def test_stdout_closing_cancels_the_run_and_ends_though_stdin_stays_open(
    tmp_path: Path,
) -> None:
    model = script(tmp_path / "replies.yaml", bash("echo hi > hi.txt", "c1"))
    env = {**os.environ, "HARNESS_DEMO_PACE": "0", "HARNESS_WARM": "0"}
    process = subprocess.Popen(
        [sys.executable, "-m", "harness_tui", "-p", "--input-format", "stream-json",
         "--output-format", "stream-json", "--model", model],
        cwd=tmp_path, env=env, text=True,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    assert process.stdin is not None and process.stdout is not None
    try:
        process.stdin.write(json.dumps(user("go")) + "\n")
        process.stdin.flush()
        while '"can_use_tool"' not in process.stdout.readline():
            pass  # the run now waits for an answer that will not come
        process.stdout.close()  # the reader goes away; stdin stays open
        assert process.wait(timeout=GUARD_S) == 141
    finally:
        process.kill()
        process.wait()
    assert not (tmp_path / "hi.txt").exists()


def test_an_untrusted_folder_is_a_notice_not_a_question_nobody_can_answer(
    tmp_path: Path,
) -> None:
    (tmp_path / ".claude").mkdir()
    (tmp_path / ".claude" / "settings.json").write_text('{"permissions": {"allow": ["Bash"]}}')
    model = script(tmp_path / "replies.yaml", {"text": "hello"})
    client = Client(tmp_path, "--model", model)
    try:
        client.send(user("hi"))
        client.until("RUN_COMPLETED")
        code, stderr = client.close()
    finally:
        client.kill()
    assert code == 0, stderr
    assert client.of("TRUST_REQUESTED") == []
    assert any("--trust" in n["message"] for n in client.of("NOTICE"))


def test_a_signal_cancels_the_run_and_ends_the_session_though_stdin_stays_open(
    tmp_path: Path,
) -> None:
    model = script(tmp_path / "replies.yaml", bash("echo hi > hi.txt", "c1"))
    client = Client(tmp_path, "--model", model)
    try:
        client.send(user("go"))
        client.until("control_request", asked("Bash"))
        client.process.send_signal(signal.SIGTERM)  # `kill`: one is enough
        client.until("RUN_CANCELLED")
        code = client.process.wait(timeout=GUARD_S)
    finally:
        client.kill()
    assert code == 130, client.stderr()
    assert "shutdown" not in client.stderr()  # ended in order, not by the watchdog
    assert not (tmp_path / "hi.txt").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--output-format", "json"], "needs --output-format stream-json"),
        (["--output-format", "stream-json", "a prompt"], "needs --output-format stream-json"),
        (["--output-format", "stream-json", "-i", "shot.png"], "images come in the messages"),
    ],
)
def test_an_invocation_that_cannot_work_is_refused_before_reading(
    tmp_path: Path, args: list[str], message: str
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "harness_tui", "-p", "--input-format", "stream-json", *args],
        cwd=tmp_path, input=json.dumps(user("hi")) + "\n", capture_output=True, text=True,
        timeout=GUARD_S, env={**os.environ, "HARNESS_WARM": "0"},
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stdout == "" and message in result.stderr


def test_stdin_closing_before_any_prompt_is_a_clean_end(tmp_path: Path) -> None:
    """Only a control request, then end of input: nothing ran, nothing failed: exit 0."""
    from tests.cli.test_cli import harness

    line = json.dumps(
        {"type": "control_request", "request_id": "r1", "request": {"subtype": "initialize"}}
    )
    done = harness(
        "-p", "--input-format", "stream-json", "--output-format", "stream-json",
        "--model", "demo", cwd=tmp_path, stdin=line + "\n",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    answers = [json.loads(x) for x in done.stdout.splitlines() if '"control_response"' in x]
    assert answers[0]["response"]["request_id"] == "r1"
