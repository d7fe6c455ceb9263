"""What the hook vocabulary tests share: a loopback server that records the inputs HTTP
hooks POST, a script that records what command hooks read, and settings that put both
on every event."""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path
from typing import Any

from harness_tui.core.tools.base import Tool, ToolContext, ToolResult
from tests.core.hooks.claude_code_inputs import check_input
from tests.fakes.loopback import JSONResponse, LoopbackServer, Request, Response

#: A command hook that appends its input (one JSON line) to ``inputs/<event>.jsonl``.
RECORD = """
import json, os, sys
data = json.load(sys.stdin)
folder = os.path.join(os.environ["CLAUDE_PROJECT_DIR"], "inputs")
os.makedirs(folder, exist_ok=True)
with open(os.path.join(folder, data["hook_event_name"] + ".jsonl"), "a") as f:
    f.write(json.dumps(data) + "\\n")
"""


class HookServer(LoopbackServer):
    """Records each POST (path, JSON body, headers); answers ``answers[path]`` or ``{}``."""

    def __init__(self, answers: dict[str, Response] | None = None) -> None:
        super().__init__()
        self.answers: dict[str, Response] = answers or {}
        self.requests: list[Request] = []
        self._lock = threading.Lock()

    async def handle(self, request: Request) -> Response:
        with self._lock:
            self.requests.append(request)
        return self.answers.get(request.path, JSONResponse(200, {}))

    def inputs(self, event: str) -> list[dict[str, Any]]:
        with self._lock:
            return [r.json() for r in self.requests if r.path == f"/{event}"]


def record_script(project: Path) -> str:
    path = project / "hooks" / "record.py"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(RECORD)
    return f'"{sys.executable}" "$CLAUDE_PROJECT_DIR"/hooks/record.py'


def recorded(project: Path, event: str) -> list[dict[str, Any]]:
    path = project / "inputs" / f"{event}.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def both_hooks(project: Path, url: str, events: list[str], **extra: Any) -> None:
    """Settings with a command hook and an http hook (``url/<event>``) on each event;
    ``extra``: more settings keys."""
    command = record_script(project)
    hooks = {
        event: [
            {
                "hooks": [
                    {"type": "command", "command": command},
                    {"type": "http", "url": f"{url}/{event}", "timeout": 10},
                ]
            }
        ]
        for event in events
    }
    write_settings(project, {"hooks": hooks, **extra})


def write_settings(project: Path, settings: dict[str, Any]) -> None:
    folder = project / ".claude"
    folder.mkdir(exist_ok=True)
    (folder / "settings.json").write_text(json.dumps(settings))


class FailTool(Tool):
    """Always fails, as a tool reports an error."""

    name = "Fail"
    description = "fails"
    input_schema = {"type": "object", "properties": {}}
    read_only = True

    async def run(self, input: dict[str, Any], ctx: ToolContext) -> ToolResult:
        return ToolResult.error("the disk is on fire")


def check_both(project: Path, server: HookServer, event: str) -> list[dict[str, Any]]:
    """The inputs the command and the http hooks of ``event`` got (the same ones),
    checked against Claude Code's schema."""
    by_command, by_http = recorded(project, event), server.inputs(event)
    assert by_command, f"no command hook ran for {event}"
    assert by_http == by_command, f"{event}: the http hook got other inputs"
    for data in by_command:
        assert check_input(event, data) == []
    return by_command
