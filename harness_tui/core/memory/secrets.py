"""What must never be written to memory: text that looks like a credential.

Two checks: the values of this process's secret-looking environment variables (the
rule that keeps them out of what the web server sends, ``SECRET_NAME``), and the shapes
of well-known keys and tokens (the vendors' documented prefixes), plus an assignment of
a long value to a secret-sounding name (``api_key = ...``, ``"token": "..."``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

#: Names of environment variables whose values are secrets (as ``web.redact`` has it).
SECRET_NAME = re.compile(
    r"(^|_)(API_?KEY|ACCESS_?KEY|SECRET(_?KEY)?|TOKEN|PASSWORD|PASSWD|CREDENTIALS?)$", re.I
)
MIN_SECRET_LENGTH = 8

#: (what it is, its shape). Prefixes as the vendors document them.
SHAPES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("an Anthropic API key", re.compile(r"\bsk-ant-[A-Za-z0-9_\-]{20,}")),
    ("an OpenAI API key", re.compile(r"\bsk-(?:proj-|svcacct-)?[A-Za-z0-9_\-]{20,}")),
    ("a GitHub token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_\w{40,})")),
    ("an AWS access key id", re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b")),
    ("a Google API key", re.compile(r"\bAIza[0-9A-Za-z_\-]{35}\b")),
    ("a Slack token", re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}")),
    ("a private key", re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")),
    ("a JSON web token", re.compile(r"\beyJ[\w-]{10,}\.eyJ[\w-]{10,}\.[\w-]{10,}")),
    (
        "a secret assigned to a name",
        re.compile(
            r"(?i)\b[\w.-]*(?:api[_-]?key|secret|token|passw(?:or)?d|credentials?)[\"']?\s*"
            r"[:=]\s*[\"']?[^\s\"',;]{12,}"
        ),
    ),
)


def secret_in(text: str, environ: Mapping[str, str] | None = None) -> str | None:
    """What secret-looking thing ``text`` holds (for the refusal's message), or None."""
    env = os.environ if environ is None else environ
    for name, value in env.items():
        if SECRET_NAME.search(name) and len(value) >= MIN_SECRET_LENGTH and value in text:
            return f"the value of ${name}"
    for what, shape in SHAPES:
        if shape.search(text):
            return what
    return None
