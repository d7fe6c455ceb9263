"""``harness-tui serve`` as a user runs it: a real process, its URL, Ctrl+C, bad input."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import httpx2
import pytest

URL = re.compile(r"^harness-tui web: (http://127\.0\.0\.1:(\d+))/\?token=([\w-]{43})$")


def serve(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "harness_tui", "serve", *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "HARNESS_DEMO_PACE": "0"},
    )


def finish(process: subprocess.Popen[str], sig: int) -> tuple[int, str]:
    process.send_signal(sig)
    try:
        _, err = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        raise
    return process.returncode, err


@contextmanager
def running(*args: str) -> Iterator[tuple[subprocess.Popen[str], re.Match[str]]]:
    process = serve(*args)
    try:
        assert process.stdout is not None
        first = process.stdout.readline().strip()
        match = URL.match(first)
        assert match, (first, process.stderr.read() if process.poll() is not None else "")  # type: ignore[union-attr]
        yield process, match
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)


def test_serve_prints_its_url_serves_sessions_and_stops_on_ctrl_c() -> None:
    with running("--port", "0", "--model", "demo") as (process, match):
        base, _, token = match.groups()
        with httpx2.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}) as http:
            assert http.get("/api/sessions").json()["sessions"] == []
            made = http.post("/api/session", json={})
            assert made.status_code == 201 and made.json()["session"]["model"] == "demo"
            session_id = made.json()["session"]["id"]
            assert http.post(f"/api/query/{session_id}", json={"text": "hi"}).status_code == 202
            assert http.get("/", params={"token": token}).status_code == 200
            assert httpx2.get(f"{base}/api/sessions").status_code == 401
        code, err = finish(process, signal.SIGINT)
    assert code == 0, err
    assert "stopping" in err and "Traceback" not in err


def test_serve_stops_cleanly_when_its_terminal_closes() -> None:
    with running("--port", "0", "--model", "demo") as (process, _):
        code, err = finish(process, signal.SIGHUP)
    assert code == 0 and "stopping" in err and "Traceback" not in err


def test_serve_on_every_address_warns_and_stops_on_sigterm() -> None:
    with running("--port", "0", "--host", "0.0.0.0") as (process, _):
        code, err = finish(process, signal.SIGTERM)
    assert code == 0
    assert "warning: listening on 0.0.0.0" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--model", "nope"], "unknown model 'nope'"),
        (["--port", "70000"], "a port is between 0 and 65535"),
        (["--host", "no such host.invalid"], "cannot listen on 'no such host.invalid'"),
        (["--mode", "yolo"], "invalid choice: 'yolo'"),
    ],
)
def test_serve_refuses_bad_options_in_one_line(args: list[str], message: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "harness_tui", "serve", "--port", "0", *args],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr


def test_serve_on_a_busy_port_says_what_to_do() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "harness_tui", "serve", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )
    assert result.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "--port" in result.stderr and "Traceback" not in result.stderr


def test_help_mentions_serve_and_its_options() -> None:
    main = subprocess.run(
        [sys.executable, "-m", "harness_tui", "--help"], capture_output=True, text=True, timeout=60
    )
    assert "harness-tui serve" in main.stdout
    sub = subprocess.run(
        [sys.executable, "-m", "harness_tui", "serve", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert sub.returncode == 0
    for flag in ("--port", "--host", "--model", "--mode"):
        assert flag in sub.stdout
