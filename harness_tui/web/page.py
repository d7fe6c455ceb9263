"""The browser page: plain HTML, CSS and JavaScript files shipped in the package.

They are inlined into one response, so the page is a single request that carries its
token in the URL, and the Content-Security-Policy allows no script or style but its own
(each response gets a fresh nonce) and no connection but to this server. Images may be
``blob:`` URLs: the page fetches a session's images with its token and shows them so.
"""

from __future__ import annotations

import secrets
from functools import cache
from importlib.resources import files

from starlette.responses import HTMLResponse

SCRIPTS = (
    "markdown.js",
    "questions.js",
    "attachments.js",
    "rewind.js",
    "tasks.js",
    "agents.js",
    "app.js",
)


@cache
def _static(name: str) -> str:
    return (files("harness_tui.web") / "static" / name).read_text(encoding="utf-8")


def page_response() -> HTMLResponse:
    nonce = secrets.token_urlsafe(16)
    html = (
        _static("index.html")
        .replace("__NONCE__", nonce)
        .replace("/*STYLE*/", _static("style.css"))
        .replace("/*SCRIPT*/", "\n".join(_static(name) for name in SCRIPTS))
    )
    policy = (
        "default-src 'none'; "
        f"script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; "
        "connect-src 'self'; img-src 'self' data: blob:; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
    return HTMLResponse(html, headers={"content-security-policy": policy})
