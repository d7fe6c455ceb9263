"""Keep secret values out of everything the web server sends.

Events never carry API keys by design, but a tool's output can (``env``, a printed
config file). Before any text leaves the server, the values of secret-looking
environment variables are replaced, both as written and as JSON escapes them.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping

#: Names of environment variables whose values are secrets.
SECRET_NAME = re.compile(
    r"(^|_)(API_?KEY|ACCESS_?KEY|SECRET(_?KEY)?|TOKEN|PASSWORD|PASSWD|CREDENTIALS?)$", re.I
)
#: Shorter values are too likely to occur by chance ("true", "1234") to be worth hiding.
MIN_SECRET_LENGTH = 8
MASK = "[redacted]"


class Redactor:
    """Replaces known secret values in outgoing text."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        forms: set[str] = set()
        for value in secrets:
            if len(value) >= MIN_SECRET_LENGTH:
                forms.add(value)
                forms.add(json.dumps(value)[1:-1])  # as it appears inside a JSON string
        # Longest first, so a secret containing another is replaced whole.
        self._forms = sorted(forms, key=len, reverse=True)

    @classmethod
    def from_environment(
        cls, environ: Mapping[str, str] | None = None, extra: Iterable[str] = ()
    ) -> Redactor:
        env = os.environ if environ is None else environ
        found = [value for name, value in env.items() if SECRET_NAME.search(name)]
        return cls([*found, *extra])

    def __call__(self, text: str) -> str:
        for form in self._forms:
            if form in text:
                text = text.replace(form, MASK)
        return text
