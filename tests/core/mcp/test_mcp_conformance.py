"""The official MCP conformance suite (npm ``@modelcontextprotocol/conformance``, pinned in
``tests/node/package.json``) against harness-tui's own MCP code path: for every client
scenario the suite starts its test server (and authorization servers) and runs
``tests/mcp_conformance_client.py``, which drives a ``Session`` configured from a
``.mcp.json``; the suite judges the HTTP traffic. A scenario fails here when any of its
checks fails.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests import TESTS
from tests.node_parts import ROOT, node_env, node_program

SUITE = ROOT / "node_modules" / "@modelcontextprotocol" / "conformance" / "dist" / "index.js"
#: 0.2.0-alpha.12, for one scenario only (see ``test_2025_03_26_metadata_backcompat``).
SUITE_NEXT = ROOT / "node_modules" / "conformance-next" / "dist" / "index.js"
REPO = TESTS.parent

#: Every client scenario of the pinned version (``conformance list --client``), in its order.
SCENARIOS = (
    "initialize",
    "tools_call",
    "elicitation-sep1034-client-defaults",
    "sse-retry",
    "auth/metadata-default",
    "auth/metadata-var1",
    "auth/metadata-var2",
    "auth/metadata-var3",
    "auth/basic-cimd",
    "auth/scope-from-www-authenticate",
    "auth/scope-from-scopes-supported",
    "auth/scope-omitted-when-undefined",
    "auth/scope-step-up",
    "auth/scope-retry-limit",
    "auth/token-endpoint-auth-basic",
    "auth/token-endpoint-auth-post",
    "auth/token-endpoint-auth-none",
    "auth/pre-registration",
    "auth/2025-03-26-oauth-metadata-backcompat",
    "auth/2025-03-26-oauth-endpoint-fallback",
    "auth/resource-mismatch",
    "auth/offline-access-scope",
    "auth/offline-access-not-supported",
    "auth/client-credentials-jwt",
    "auth/client-credentials-basic",
    "auth/cross-app-access-complete-flow",
)
BACKCOMPAT = "auth/2025-03-26-oauth-metadata-backcompat"


def _suite(script: Path) -> list[str]:
    node = node_program("node")
    if not script.exists():
        pytest.skip(f"{script} is missing: run `npm ci --prefix tests/node`")
    return [str(node), str(script)]


def run_scenario(script: Path, scenario: str, out: Path) -> tuple[int, list[dict[str, Any]], str]:
    """Run one client scenario; its exit status, its checks and what our client wrote."""
    client = f"{sys.executable} -m tests.mcp_conformance_client"
    done = subprocess.run(
        [
            *_suite(script),
            "client",
            "--command",
            client,
            "--scenario",
            scenario,
            "--timeout",
            "60000",
            "-o",
            str(out),
        ],
        cwd=REPO,
        env=node_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    [folder] = [p.parent for p in out.rglob("checks.json")]
    checks = json.loads((folder / "checks.json").read_text())
    stderr = (folder / "stderr.txt").read_text() if (folder / "stderr.txt").exists() else ""
    return done.returncode, checks, stderr + done.stdout[-3000:]


def failures(checks: list[dict[str, Any]]) -> list[str]:
    return [
        f"{c['id']}: {c.get('errorMessage') or c.get('description')}"
        for c in checks
        if c.get("status") in ("FAILURE", "WARNING")
    ]


def test_the_pinned_suite_has_exactly_these_client_scenarios() -> None:
    """An upgrade of the suite that adds or renames a scenario fails here, not silently."""
    listed = subprocess.run(
        [*_suite(SUITE), "list", "--client"],
        env=node_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    names = tuple(line.split()[1] for line in listed.splitlines() if line.startswith("  - "))
    assert names == SCENARIOS


@pytest.mark.parametrize("scenario", [s for s in SCENARIOS if s != BACKCOMPAT])
def test_client_scenario(scenario: str, tmp_path: Path) -> None:
    status, checks, output = run_scenario(SUITE, scenario, tmp_path)
    assert checks, f"no checks recorded for {scenario}:\n{output}"
    assert failures(checks) == [], output
    assert status == 0, output


def test_2025_03_26_metadata_backcompat(tmp_path: Path) -> None:
    """A server of the 2025-03-26 spec, without protected resource metadata: its
    authorization server's metadata is found at the server's origin and the whole login
    runs. The scenario's server in 0.1.16 publishes the issuer ``http://host/oauth`` for
    metadata served at ``http://host/.well-known/oauth-authorization-server``, which RFC 8414
    section 3.3 forbids and the SDK (SEP-2468) refuses as a possible mix-up; the suite's next
    version serves a matching issuer, and there the scenario passes in full."""
    status, checks, output = run_scenario(SUITE_NEXT, BACKCOMPAT, tmp_path / "next")
    assert checks and failures(checks) == [] and status == 0, output
    # On 0.1.16: everything up to the issuer check, then a clear refusal.
    status, checks, output = run_scenario(SUITE, BACKCOMPAT, tmp_path / "pinned")
    assert "authorization-server-metadata" in {c["id"] for c in checks if c["status"] == "SUCCESS"}
    assert "issuer mismatch" in output and status != 0
