"""HTTP hooks (``{"type": "http"}``), as Claude Code runs them.

The hook input is POSTed as JSON (``Content-Type: application/json``) to the URL. The
response is read like a command hook's result:

- 2xx with an empty body: success with no output (exit 0, nothing printed);
- 2xx with a body: the body is the hook's stdout (JSON is the output contract,
  plain text becomes context where the event takes it);
- any other status, a connection failure or a timeout: a non-blocking error; the
  action proceeds. A status code alone never blocks: to block, a hook answers 2xx
  with ``decision: "block"`` or a ``hookSpecificOutput`` decision.

Header values may name environment variables (``$NAME`` or ``${NAME}``); only those
in the hook's ``allowedEnvVars`` are filled in, any other reference becomes empty, so
a settings file cannot send a secret it was not granted.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

from harness_tui.core.hooks.config import HttpHook

_VARIABLE = re.compile(r"\$\{(\w+)\}|\$(\w+)")
#: A response body longer than this is cut (a hook's answer is small).
MAX_BODY_BYTES = 1_000_000


def header_values(hook: HttpHook, env: dict[str, str] | None = None) -> dict[str, str]:
    """The hook's headers with allowed variables filled in (others empty)."""
    environ = os.environ if env is None else env

    def fill(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        return environ.get(name, "") if name in hook.allowed_env_vars else ""

    return {name: _VARIABLE.sub(fill, value) for name, value in hook.headers}


class HttpResult:
    """What an HTTP hook did, in a command's terms."""

    __slots__ = ("error", "exit_code", "stdout")

    def __init__(self, exit_code: int | None, stdout: str = "", error: str | None = None):
        self.exit_code = exit_code
        self.stdout = stdout
        self.error = error


async def post_hook(hook: HttpHook, payload: dict[str, Any]) -> HttpResult:
    """POST ``payload``; the outcome (never raises for network trouble)."""
    import httpx2  # lazily: start-up does not pay for the HTTP stack

    headers = {"Content-Type": "application/json", **header_values(hook)}
    try:
        async with httpx2.AsyncClient(
            timeout=httpx2.Timeout(hook.timeout_s), follow_redirects=False
        ) as client:
            response = await client.post(
                hook.url, content=json.dumps(payload).encode(), headers=headers
            )
    except httpx2.TimeoutException:
        return HttpResult(None, error=f"timed out after {hook.timeout_s:g} s")
    except httpx2.HTTPError as exc:
        return HttpResult(None, error=f"request failed: {type(exc).__name__}: {exc}")
    body = response.content[:MAX_BODY_BYTES].decode("utf-8", errors="replace")
    if not 200 <= response.status_code < 300:
        detail = body.strip()[:300] or response.reason_phrase or "no body"
        return HttpResult(
            None, body, f"HTTP {response.status_code} from {hook.url} (non-blocking): {detail}"
        )
    return HttpResult(0, body)
