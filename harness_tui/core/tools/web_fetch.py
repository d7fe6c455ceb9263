"""``WebFetch``: HTTP GET a page and return it as text (HTML reduced to readable text).

Limits: a total time, a download size (the rest is not read), and redirects followed
only within the same host — a redirect elsewhere is reported to the model, which may
fetch the new address itself (and so pass the permission check for that host).
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit

import anyio

from harness_tui.core.tools.base import Tool, ToolContext, ToolResult, object_schema

TIME_LIMIT_S = 30.0
MAX_DOWNLOAD_BYTES = 2 * 1024 * 1024
MAX_REDIRECTS = 5
USER_AGENT = "harness-tui WebFetch (+https://pypi.org/project/harness-tui/)"

_SKIPPED_TAGS = frozenset({"script", "style", "noscript", "template", "svg", "head", "iframe"})
_BLOCK_TAGS = frozenset(
    {
        "p",
        "div",
        "section",
        "article",
        "header",
        "footer",
        "nav",
        "main",
        "aside",
        "ul",
        "ol",
        "table",
        "tr",
        "br",
        "hr",
        "blockquote",
        "pre",
        "form",
        "dl",
        "dt",
        "dd",
        "figure",
    }
)


class _TextExtractor(HTMLParser):
    """HTML to plain text with a little Markdown: headings, list items, links."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title = ""
        self._skip = 0
        self._in_title = False
        self._pre = 0
        self._href: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self._in_title = True
        if tag in _SKIPPED_TAGS:
            self._skip += 1
            return
        if tag in _BLOCK_TAGS:
            self.parts.append("\n")
        if tag == "pre":
            self._pre += 1
        elif re.fullmatch(r"h[1-6]", tag):
            self.parts.append("\n" + "#" * int(tag[1]) + " ")
        elif tag == "li":
            self.parts.append("\n- ")
        elif tag in ("td", "th"):
            self.parts.append(" | ")
        elif tag == "a":
            self._href = dict(attrs).get("href")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        if tag in _SKIPPED_TAGS:
            self._skip = max(0, self._skip - 1)
            return
        if tag == "pre":
            self._pre = max(0, self._pre - 1)
        if tag in _BLOCK_TAGS or re.fullmatch(r"h[1-6]", tag):
            self.parts.append("\n")
        if tag == "a" and self._href and not self._href.startswith(("#", "javascript:")):
            self.parts.append(f" ({self._href})")
            self._href = None

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        if self._skip:
            return
        # Spaces of preformatted text are shielded from the line tidying in text().
        self.parts.append(data.replace(" ", "\0") if self._pre else re.sub(r"\s+", " ", data))

    def text(self) -> str:
        text = "".join(self.parts)
        lines = [line.strip() for line in text.splitlines()]
        text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
        return text.replace("\0", " ")


def html_to_text(html: str) -> tuple[str, str]:
    """The readable text of an HTML page and its title."""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    return parser.text(), parser.title.strip()


class WebFetchTool(Tool):
    name = "WebFetch"
    description = (
        "Fetch a web page (HTTP GET) and return its content as text; HTML is reduced to "
        f"readable text with links. At most {MAX_DOWNLOAD_BYTES // (1024 * 1024)} MB, "
        f"{TIME_LIMIT_S:g} s. A redirect to another host is reported, not followed."
    )
    input_schema = object_schema(
        properties={
            "url": {"type": "string", "description": "An http:// or https:// URL."},
            "prompt": {
                "type": "string",
                "description": "What you are looking for (kept with the result).",
            },
        },
        required=["url"],
    )
    access = "network"
    concurrency_safe = True

    def __init__(
        self, *, time_limit_s: float = TIME_LIMIT_S, max_bytes: int = MAX_DOWNLOAD_BYTES
    ) -> None:
        self.time_limit_s = time_limit_s
        self.max_bytes = max_bytes

    async def preview(self, input: dict[str, Any], ctx: ToolContext) -> str | None:
        return f"GET {input['url']}"

    async def run(self, input: dict[str, Any], ctx: ToolContext) -> ToolResult:
        url = input["url"].strip()
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return ToolResult.error(f"{url!r} is not an http(s) URL")
        import httpx2

        try:
            with anyio.fail_after(self.time_limit_s):
                async with httpx2.AsyncClient(
                    timeout=httpx2.Timeout(self.time_limit_s),
                    follow_redirects=False,
                    headers={"User-Agent": USER_AGENT},
                ) as client:
                    return await self._fetch(client, url)
        except TimeoutError:
            return ToolResult.error(
                f"fetching {url} took longer than {self.time_limit_s:g} s", "timeout"
            )
        except httpx2.HTTPError as exc:
            return ToolResult.error(f"fetching {url} failed: {type(exc).__name__}: {exc}")

    async def _fetch(self, client: Any, url: str) -> ToolResult:
        host = urlsplit(url).hostname
        for _ in range(MAX_REDIRECTS + 1):
            async with client.stream("GET", url) as response:
                if response.is_redirect:
                    target = urljoin(url, response.headers.get("location", ""))
                    if urlsplit(target).hostname != host:
                        return ToolResult(
                            content=f"{url} redirects to another host: {target}\n"
                            "Fetch that URL to follow it.",
                            display=f"redirect to {target}",
                            details={"status": response.status_code, "redirect": target},
                        )
                    url = target
                    continue
                body, cut = await self._read(response)
                return self._result(url, response, body, cut)
        return ToolResult.error(f"{url}: more than {MAX_REDIRECTS} redirects")

    async def _read(self, response: Any) -> tuple[bytes, bool]:
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            chunks.append(chunk)
            size += len(chunk)
            if size >= self.max_bytes:
                return b"".join(chunks)[: self.max_bytes], True
        return b"".join(chunks), False

    def _result(self, url: str, response: Any, body: bytes, cut: bool) -> ToolResult:
        status = response.status_code
        kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
        details = {"status": status, "content_type": kind, "bytes": len(body), "url": url}
        textual = (
            not kind
            or kind.startswith("text/")
            or any(marker in kind for marker in ("json", "xml", "javascript", "yaml"))
        )
        if not textual:
            return ToolResult(
                content=f"{url} returned {kind} ({len(body):,} bytes), which is not text.",
                display=f"{status} {kind}",
                details=details,
                is_error=True,
            )
        text = body.decode(response.encoding or "utf-8", errors="replace")
        title = ""
        if "html" in kind or (not kind and "<html" in text[:1000].lower()):
            text, title = html_to_text(text)
        note = f"\n\n[cut at {self.max_bytes:,} bytes]" if cut else ""
        heading = f"{title}\n\n" if title else ""
        if status >= 400:
            return ToolResult(
                content=f"{url} answered HTTP {status}.\n\n{heading}{text[:2000]}",
                display=f"HTTP {status}",
                details=details,
                is_error=True,
            )
        return ToolResult(
            content=f"{heading}{text}{note}",
            display=f"HTTP {status}, {len(body):,} bytes" + (" (cut)" if cut else ""),
            details=details,
        )
