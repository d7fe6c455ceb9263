"""The sandbox's file system, with the real bubblewrap: what a sandboxed command can
write, what it can never write, what it cannot see, and what runs outside.

Workspaces live under /var/tmp: inside the sandbox /tmp is a private folder, so a
workspace under /tmp would have a writable (private, thrown away) parent."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness_tui.core.config.settings import Settings, SettingsFile
from harness_tui.core.permissions.rules import RuleSet, parse_rule
from harness_tui.core.sandbox import bwrap
from harness_tui.core.sandbox.config import sandbox_config
from harness_tui.core.sandbox.manager import Sandbox
from harness_tui.core.tools.shell import ShellSession
from tests.sandbox_support import sandbox_scratch


@pytest.fixture
def places() -> Iterator[dict[str, Path]]:
    with sandbox_scratch("sbx-test-") as top:
        (top / "outside.txt").write_text("outside\n")
        yield {"top": top, "ws": top / "ws"}


def exists(path: str | Path) -> bool:
    return os.path.lexists(path)


def settings_with(ws: Path, sandbox: dict[str, Any], permissions: Any = None) -> Settings:
    data: dict[str, Any] = {"sandbox": {"enabled": True, **sandbox}}
    if permissions:
        data["permissions"] = permissions
    return Settings(files=[SettingsFile(ws / ".harness" / "settings.yaml", "project", False, data)])


class Shell:
    """A shell session in a sandbox; ``run`` returns (exit code, output, note)."""

    def __init__(self, ws: Path, sandbox: dict[str, Any], rules: list[str] = ()) -> None:  # type: ignore[assignment]
        self.events: list[tuple[str, dict[str, Any]]] = []

        async def emit(cls: type, /, **fields: Any) -> None:
            self.events.append((cls.__name__, fields))

        self.sandbox = Sandbox(ws, emit)
        ruleset = RuleSet()
        for text in rules:
            behavior, _, rule = text.partition(" ")
            ruleset.rules.append(parse_rule(rule, behavior, "test"))  # type: ignore[arg-type]
        self.problems = self.sandbox.configure(settings_with(ws, sandbox), ruleset)
        self.shell = ShellSession(ws)
        self.shell.confine = self.sandbox.confine

    async def run(self, command: str) -> tuple[int | None, str, str | None]:
        result, note = await self.shell.run(command, timeout_s=20)
        return result.exit_code, result.stdout, note

    async def close(self) -> None:
        await self.shell.aclose()
        await self.sandbox.aclose()


async def test_writes_land_in_the_workspace_and_nowhere_else(places: dict[str, Path]) -> None:
    ws, top = places["ws"], places["top"]
    (ws / "escape").symlink_to(top / "outside.txt")
    (ws / "up").symlink_to(top)
    shell = Shell(ws, {})
    try:
        code, out, _ = await shell.run("echo made > inside.txt && cat inside.txt")
        assert (code, out) == (0, "made\n")
        assert (ws / "inside.txt").read_text() == "made\n"
        attempts = {
            "an absolute path": f"echo x > {top}/new.txt",
            "..": "echo x > ../new.txt",
            "../ in a deeper path": "mkdir -p a/b && echo x > a/b/../../../new.txt",
            "a symlink to a file outside": "echo x > escape",
            "a symlink to a folder outside": "echo x > up/new.txt",
            "the home folder": "echo x > ~/harness-sandbox-test.txt",
            "a system folder": "echo x > /etc/harness-sandbox-test",
            "a rename out": "echo x > moved.txt && mv moved.txt ../new.txt",
            "cp -r through the link": "cp inside.txt up/",
            "remounting the root": f"mount -o remount,rw / ; echo x > {top}/new.txt",
            "unmounting the binds": f"umount -l {top} ; umount -l / ; echo x > {top}/new.txt",
        }
        for how, command in attempts.items():
            code, out, note = await shell.run(command)
            assert code != 0, how
            assert "Read-only file system" in out or "Operation not permitted" in out, how
            assert note and "The sandbox refused a write" in note, how
        assert not (top / "new.txt").exists()
        assert not (top / "inside.txt").exists()
        assert (top / "outside.txt").read_text() == "outside\n"
        assert not exists("/etc/harness-sandbox-test")
        assert not exists(Path.home() / "harness-sandbox-test.txt")
        blocked = [f for name, f in shell.events if name == "SandboxBlocked"]
        assert {"kind": "write", "target": str(top / "new.txt")}.items() <= blocked[0].items()
        assert str(top / "outside.txt") in {b["target"] for b in blocked}  # through the link
    finally:
        await shell.close()


async def test_the_shell_state_carries_over_inside_the_sandbox(places: dict[str, Path]) -> None:
    ws = places["ws"]
    (ws / "sub").mkdir()
    shell = Shell(ws, {})
    try:
        assert (await shell.run("cd sub && export GREETING=hi"))[0] == 0
        code, out, _ = await shell.run("pwd; echo $GREETING; echo $HARNESS_SANDBOX")
        assert (code, out) == (0, f"{ws / 'sub'}\nhi\n1\n")
    finally:
        await shell.close()


async def test_tmp_is_private_and_writable(places: dict[str, Path]) -> None:
    shell = Shell(places["ws"], {})
    try:
        code, out, _ = await shell.run(
            "echo t > /tmp/sbx-private && cat /tmp/sbx-private; echo $TMPDIR"
        )
        assert (code, out) == (0, "t\n/tmp\n")
        assert not exists("/tmp/sbx-private")
    finally:
        await shell.close()


async def test_protected_files_are_never_writable(places: dict[str, Path]) -> None:
    ws = places["ws"]
    (ws / ".git" / "hooks").mkdir(parents=True)
    (ws / ".git" / "config").write_text("[core]\n")
    (ws / "hooks").mkdir()
    script = ws / "hooks" / "check.sh"
    script.write_text("#!/bin/sh\n")
    (ws / "secrets").mkdir()
    shell = Shell(ws, {"filesystem": {"denyWrite": ["./secrets"]}})
    shell.sandbox.protected_files = {script}
    try:
        attempts = {
            ".git/hooks": "echo evil > .git/hooks/pre-commit",
            ".git/config": "git config --file .git/config core.hooksPath /tmp",
            ".git/config by redirect": "echo '[core]' >> .git/config",
            "a new .harness settings file": "mkdir -p .harness && echo x > .harness/settings.yaml",
            "a new .claude settings file": "echo '{}' > .claude/settings.json",
            "a hook script": "echo evil >> hooks/check.sh",
            "denyWrite": "echo x > secrets/key",
            "removing .harness": "rm -rf .harness",
            "renaming .git/hooks away": "mv .git/hooks .git/hooks-old",
        }
        for how, command in attempts.items():
            code, _, _ = await shell.run(command)
            assert code != 0, how
        assert list((ws / ".git" / "hooks").iterdir()) == []
        assert (ws / ".git" / "config").read_text() == "[core]\n"
        assert script.read_text() == "#!/bin/sh\n"
        assert list((ws / "secrets").iterdir()) == []
        # A protected file that did not exist is taken away again, and the model told.
        code, _, note = await shell.run("echo '{\"mcpServers\": {}}' > .mcp.json")
        assert code == 0
        assert not (ws / ".mcp.json").exists()
        assert note and "removed" in note and ".mcp.json" in note
        # The empty folders that kept .harness and .claude read-only are gone again.
        assert not (ws / ".harness").exists() and not (ws / ".claude").exists()
    finally:
        await shell.close()


async def test_a_refused_protected_write_is_not_offered_to_the_user(
    places: dict[str, Path],
) -> None:
    ws = places["ws"]
    (ws / ".git" / "hooks").mkdir(parents=True)
    shell = Shell(ws, {})
    try:
        _, _, note = await shell.run("echo evil > .git/hooks/pre-commit")
        assert note and "is protected" in note and "allowWrite" not in note
    finally:
        await shell.close()


async def test_denied_reads_are_hidden(places: dict[str, Path]) -> None:
    ws = places["ws"]
    (ws / ".env").write_text("TOKEN=secret\n")
    (ws / "keys").mkdir()
    (ws / "keys" / "id").write_text("private\n")
    (ws / "plain.txt").write_text("fine\n")
    shell = Shell(ws, {"filesystem": {"denyRead": ["./keys"]}}, rules=["deny Read(./.env)"])
    try:
        code, out, _ = await shell.run("cat .env; ls keys; cat keys/id; cat plain.txt")
        assert "secret" not in out and "private" not in out
        assert out.endswith("fine\n")
        code, out, _ = await shell.run("echo x > .env")
        assert code != 0
        assert (ws / ".env").read_text() == "TOKEN=secret\n"
    finally:
        await shell.close()


async def test_extra_writable_paths_from_settings_and_edit_rules(places: dict[str, Path]) -> None:
    ws, top = places["ws"], places["top"]
    (top / "cache").mkdir()
    (top / "build").mkdir()
    shell = Shell(
        ws,
        {"filesystem": {"allowWrite": [f"//{top}/cache"]}},
        rules=[f"allow Edit(/{top}/build/**)"],
    )
    try:
        code, _, _ = await shell.run(f"echo c > {top}/cache/a && echo b > {top}/build/b")
        assert code == 0
        assert (top / "cache" / "a").read_text() == "c\n"
        assert (top / "build" / "b").read_text() == "b\n"
    finally:
        await shell.close()


async def test_excluded_commands_run_outside(places: dict[str, Path]) -> None:
    ws, top = places["ws"], places["top"]
    shell = Shell(ws, {"excludedCommands": ["touch"]})
    try:
        assert shell.sandbox.excluded("touch x")
        assert shell.sandbox.excluded("make && touch x")
        assert not shell.sandbox.excluded("echo touch")
        code, out, _ = await shell.run(f"touch {top}/made-outside; echo ${{HARNESS_SANDBOX:-none}}")
        assert (code, out) == (0, "none\n")
        assert (top / "made-outside").exists()
        code, out, _ = await shell.run("echo ${HARNESS_SANDBOX:-none}")
        assert out == "1\n"
    finally:
        await shell.close()


async def test_a_missing_bwrap_refuses_to_run(
    places: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(bwrap.BWRAP_ENV, str(places["top"] / "no-such-bwrap"))
    ws = places["ws"]
    shell = Shell(ws, {})
    try:
        from harness_tui.core.tools.shell import SandboxRefused

        with pytest.raises(SandboxRefused) as refused:
            await shell.run("touch ran")
        message = str(refused.value)
        assert "was not run" in message
        assert "apt-get install bubblewrap" in message
        assert '"enabled": false' in message
        assert not (ws / "ran").exists()
        lines = shell.sandbox.status().lines()
        assert lines[0].startswith("Sandbox: on, but it cannot start")
    finally:
        await shell.close()


def test_settings_are_read_as_claude_code_writes_them(tmp_path: Path) -> None:
    user = SettingsFile(
        tmp_path / "claude" / "settings.json",
        "user",
        True,
        {
            "sandbox": {
                "enabled": True,
                "excludedCommands": ["docker"],
                "network": {"allowedDomains": ["github.com", "*.npmjs.org"]},
                "filesystem": {"allowWrite": ["~/.cache/pip"]},
            }
        },
    )
    project = SettingsFile(
        tmp_path / ".claude" / "settings.json",
        "project",
        True,
        {
            "sandbox": {
                "autoAllowBashIfSandboxed": False,
                "excludedCommands": ["git push"],
                "network": {"allowedDomains": ["pypi.org", "not a host"], "allowAllUnixSockets": 1},
                "filesystem": {"denyRead": ["~/.aws"], "denyWrite": ["src/**/*.py"]},
                "colour": "blue",
            }
        },
    )
    ruleset = RuleSet(
        rules=[
            parse_rule("WebFetch(domain:example.org)", "allow", "t"),
            parse_rule("WebFetch(domain:evil.example)", "deny", "t"),
        ]
    )
    config = sandbox_config(Settings(files=[user, project]), ruleset, tmp_path)
    assert config.enabled and not config.auto_allow
    assert config.excluded_commands == ["docker", "git push"]
    assert config.allowed_domains == [
        "github.com",
        "*.npmjs.org",
        "pypi.org",
        "example.org",
        "*.example.org",
    ]
    assert config.denied_domains == ["evil.example", "*.evil.example"]
    assert config.allow_write == [Path.home() / ".cache" / "pip"]
    assert config.deny_read == [Path.home() / ".aws"]
    assert config.deny_write == []
    assert not config.all_unix_sockets
    where = f"{project.path}: sandbox"
    assert config.problems == [
        f"{where}.colour: unknown key (ignored)",
        f"{where}.network.allowedDomains[1]: 'not a host' is not a host name such as "
        "example.com or *.example.com; ignored",
        f"{where}.network.allowAllUnixSockets: must be true/false",
        f"{where}.filesystem.denyWrite[0]: 'src/**/*.py' is a pattern; the sandbox takes "
        "folders and files, not patterns (ignored)",
    ]


def test_a_bad_enabled_value_leaves_it_as_the_other_files_say(tmp_path: Path) -> None:
    files = [
        SettingsFile(tmp_path / "a.json", "user", True, {"sandbox": {"enabled": True}}),
        SettingsFile(tmp_path / "b.yaml", "project", False, {"sandbox": {"enabled": "yes"}}),
    ]
    config = sandbox_config(Settings(files=files), RuleSet(), tmp_path)
    assert config.enabled
    assert config.problems == [
        f"{tmp_path / 'b.yaml'}: sandbox.enabled: must be true or false, not 'yes'; ignored"
    ]


def test_the_sandbox_costs_nothing_when_off(tmp_path: Path) -> None:
    sandbox = Sandbox(tmp_path, lambda *a, **k: None)  # type: ignore[arg-type,return-value]
    assert sandbox.status().lines()[0].startswith("Sandbox: off")
    assert not sandbox.confines({"command": "ls"})
    assert os.listdir(tmp_path) == []
