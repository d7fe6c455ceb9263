"""typescript-language-server (npm, on the pinned Node 22) in a session: a Write that
breaks the types puts the error into the next request the model receives (checked at
the loopback Anthropic API), a clean one adds nothing, and the LSP tool follows a
definition and its references across two files. And trust: a server the project's own
settings define does not start in an untrusted folder; trusting the folder lets it."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml

from harness_tui.core.config import paths
from harness_tui.core.session.session import Session
from tests.core.lsp.test_diagnostics_e2e import MODEL, tool_results
from tests.fakes import script as api
from tests.fakes.wiring import anthropic_fake, fast
from tests.helpers import run_to_end, tool_context
from tests.lsp_support import typescript_server_or_skip

LIB = "export function total(xs: number[]): number {\n  return xs.reduce((a, b) => a + b, 0);\n}\n"
BROKEN = 'import { total } from "./lib";\n\nconst n: number = total(["a", "b"]);\n'
FIXED = 'import { total } from "./lib";\n\nconst n: number = total([1, 2]);\nconsole.log(n);\n'


def user_settings(data: dict) -> None:
    path = paths.config_dir() / "settings.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data))


async def test_typescript_diagnostics_and_navigation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lsp_on: None
) -> None:
    command = typescript_server_or_skip()
    (tmp_path / "lib.ts").write_text(LIB)
    (tmp_path / "tsconfig.json").write_text(json.dumps({"compilerOptions": {"strict": True}}))
    with anthropic_fake(monkeypatch) as server:
        user_settings(
            {
                "models": {"anthropic": fast()},
                "lsp": {
                    "servers": {"typescript-language-server": {"command": command}},
                    "diagnosticsTimeoutMs": 20000,  # a loaded CI machine is slow, not wrong
                },
            }
        )
        server.script(
            api.reply(api.Call("Write", {"file_path": "main.ts", "content": BROKEN})),
            api.reply(api.Call("Write", {"file_path": "main.ts", "content": FIXED})),
            api.reply(api.Say("Fixed.")),
        )
        async with Session(model=MODEL, cwd=tmp_path, mode="bypassPermissions") as session:
            events = await run_to_end(session, "use total in main.ts", timeout=60)
            tool = session.executor.tools["LSP"]
            ctx = tool_context(tmp_path)
            found = await tool.run(
                {"operation": "definition", "file_path": "main.ts", "symbol": "total"}, ctx
            )
            refs = await tool.run(
                {"operation": "references", "file_path": "lib.ts", "symbol": "total"}, ctx
            )
    assert server.rejections == []
    broken = tool_results(server.requests[1])[-1]
    assert "main.ts:3:" in broken and "<diagnostics>" in broken
    assert "not assignable" in broken  # TypeScript's own words
    assert "<diagnostics>" not in tool_results(server.requests[2])[-1]
    assert next(e.new for e in events if e.type == "DIAGNOSTICS") >= 1
    assert "lib.ts:1:17" in found.content, found.content
    assert "lib.ts:1:17" in refs.content and "main.ts:1:10" in refs.content
    assert "main.ts:3:19" in refs.content


FAKE_SERVER = """import pathlib, sys
pathlib.Path(sys.argv[1]).write_text("started")
sys.stdin.read()
"""


async def test_a_project_server_waits_for_trust(tmp_path: Path, lsp_on: None) -> None:
    marker = tmp_path / "started"
    script = tmp_path / "server.py"
    script.write_text(FAKE_SERVER)
    project = tmp_path / "project"
    (project / ".harness").mkdir(parents=True)
    server = {"command": [sys.executable, str(script), str(marker)], "extensions": {".foo": "foo"}}
    (project / ".harness" / "settings.yaml").write_text(
        yaml.safe_dump({"lsp": {"servers": {"foo-server": server}}})
    )
    (project / "a.foo").write_text("x")
    async with Session(cwd=project, mode="bypassPermissions") as session:  # asks for trust
        assert session.workspace.trust_pending
        assert await session.lsp.server_for(project / "a.foo") is None
        assert not marker.exists()
        assert "foo-server" not in "\n".join(session.lsp.status_lines())
        await session.resolve_trust(True, remember=False)
        assert "foo-server: not started" in "\n".join(session.lsp.status_lines())
        await session.lsp.server_for(project / "a.foo", wait_s=5)
        assert marker.read_text() == "started"  # trusted: it may run
