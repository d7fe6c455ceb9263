"""WebFetch against a real HTTP server on the loopback interface."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from harness_tui.core.tools import WebFetchTool
from harness_tui.core.tools.web_fetch import html_to_text
from tests.helpers import tool_context

PAGE = b"""<!doctype html><html><head><title>The Title</title>
<style>body { color: red }</style><script>alert('x')</script></head>
<body><h1>Welcome</h1><p>Some <b>bold</b>   text.</p>
<ul><li>one</li><li>two</li></ul><a href="/next">next page</a></body></html>"""


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def _send(self, status: int, kind: str, body: bytes, **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path == "/page":
            self._send(200, "text/html; charset=utf-8", PAGE)
        elif self.path == "/json":
            self._send(200, "application/json", b'{"a": 1}')
        elif self.path == "/big":
            self._send(200, "text/plain", b"x" * 50_000)
        elif self.path == "/png":
            self._send(200, "image/png", b"\x89PNG\r\n\x1a\n")
        elif self.path == "/missing":
            self._send(404, "text/plain", b"no such page")
        elif self.path == "/hop":
            self._send(302, "text/plain", b"", Location="/json")
        elif self.path == "/away":
            self._send(301, "text/plain", b"", Location="http://elsewhere.invalid/x")
        elif self.path == "/slow":
            time.sleep(1.0)
            self._send(200, "text/plain", b"late")


class QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        pass  # the client gave up on /slow: expected


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = QuietServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


async def fetch(url: str, **options: float):
    return await WebFetchTool(**options).run({"url": url}, tool_context())


async def test_html_becomes_readable_text(server: str) -> None:
    result = await fetch(f"{server}/page")
    assert not result.is_error
    text = result.content
    assert text.startswith("The Title\n\n# Welcome")
    assert "Some bold text." in text and "- one\n- two" in text
    assert "next page (/next)" in text
    assert "alert" not in text and "color: red" not in text
    assert result.details["status"] == 200


async def test_text_json_and_redirects_on_the_same_host(server: str) -> None:
    assert (await fetch(f"{server}/json")).content == '{"a": 1}'
    hop = await fetch(f"{server}/hop")
    assert hop.content == '{"a": 1}' and hop.details["url"].endswith("/json")
    away = await fetch(f"{server}/away")
    assert (
        not away.is_error
        and "redirects to another host: http://elsewhere.invalid/x" in away.content
    )


async def test_limits_and_failures_become_results(server: str) -> None:
    big = await fetch(f"{server}/big", max_bytes=1000)
    assert len(big.content) < 1100 and "[cut at 1,000 bytes]" in big.content
    slow = await fetch(f"{server}/slow", time_limit_s=0.2)
    assert slow.is_error and slow.error_kind == "timeout"
    png = await fetch(f"{server}/png")
    assert png.is_error and "image/png" in png.content and "not text" in png.content
    missing = await fetch(f"{server}/missing")
    assert missing.is_error and "HTTP 404" in missing.content and "no such page" in missing.content
    refused = await fetch("http://127.0.0.1:9/")
    assert refused.is_error and "failed" in refused.content
    not_http = await fetch("file:///etc/passwd")
    assert not_http.is_error and "not an http(s) URL" in not_http.content


def test_html_to_text_keeps_preformatted_text() -> None:
    text, title = html_to_text("<pre>a\n  b</pre><p>x\n y</p>")
    assert text == "a\n  b\n\nx y" and title == ""
