"""The pack of kept bytes survives a crash and never hands back wrong bytes; the limits
that protect the user: files not kept are said, storage is bounded with a notice, and a
rewind never writes outside the workspace."""

from __future__ import annotations

import os
from pathlib import Path

from harness_tui.core.checkpoints import Checkpointer, Limits
from harness_tui.core.checkpoints.blobs import Blobs
from harness_tui.core.providers.offline.scripted import Text, ToolCall, reply
from tests.helpers import scripted_in


def test_a_pack_cut_short_by_a_crash_keeps_every_whole_record(tmp_path: Path) -> None:
    blobs = Blobs(tmp_path)
    first, _ = blobs.put(b"first\n")
    second, _ = blobs.put(b"second\n")
    blobs.close()
    pack = tmp_path / "pack"
    pack.write_bytes(pack.read_bytes()[:-3])  # the last record torn
    again = Blobs(tmp_path)
    assert again.get(first) == b"first\n" and second not in again
    third, added = again.put(b"third\n")  # appended after the cut
    assert added > 0 and Blobs(tmp_path).get(third) == b"third\n"


def test_damaged_bytes_are_never_returned(tmp_path: Path) -> None:
    blobs = Blobs(tmp_path)
    digest, _ = blobs.put(b"hello world " * 10)
    blobs.close()
    data = bytearray((tmp_path / "pack").read_bytes())
    data[-2] ^= 0xFF
    (tmp_path / "pack").write_bytes(bytes(data))
    assert Blobs(tmp_path).get(digest) is None


def test_drop_keeps_only_what_is_needed(tmp_path: Path) -> None:
    blobs = Blobs(tmp_path)
    keep, _ = blobs.put(b"keep")
    gone, _ = blobs.put(b"gone" * 100)
    size = blobs.size
    assert blobs.drop([keep]) > 0 and blobs.size < size
    assert blobs.get(keep) == b"keep" and blobs.get(gone) is None
    assert Blobs(tmp_path).get(keep) == b"keep"  # the pack on disk too


def test_limits_from_settings_name_a_bad_field() -> None:
    limits, problems = Limits.of({"maxFileBytes": 10, "maxFiles": "many", "enabled": True})
    assert limits.max_file_bytes == 10 and limits.max_files == Limits().max_files
    assert problems == ["checkpoints.maxFiles: 'many' is not valid; using the default"]
    assert Limits.of([1])[1] == ["checkpoints: expected a mapping of settings; using the defaults"]


async def test_a_binary_file_is_not_kept_and_the_rewind_says_so(tmp_path: Path) -> None:
    (tmp_path / "logo.png").write_bytes(b"\x89PNG\0old")
    (tmp_path / "a.txt").write_text("a\n")
    command = "printf 'new\\0' > logo.png && printf 'b\\n' > a.txt"
    session, _ = scripted_in(
        tmp_path,
        [reply(ToolCall("Bash", {"command": command})), reply(Text("ok"))],
        mode="bypassPermissions",
    )
    async with session:
        async for _ in session.run("go"):
            pass
        plan = await session.preview_rewind(1)
        assert {f.path: f.problem for f in plan.files} == {
            "a.txt": None,
            "logo.png": "not kept: binary",
        }
        event = await session.rewind(1, "code")
        assert [(s.path, s.reason) for s in event.skipped] == [("logo.png", "not kept: binary")]
        assert (tmp_path / "a.txt").read_text() == "a\n"
        assert (tmp_path / "logo.png").read_bytes() == b"new\0"


async def test_storage_over_the_bound_drops_the_oldest_with_a_notice(tmp_path: Path) -> None:
    (tmp_path / "big.txt").write_text("")
    # Each prompt writes 60 KB of text that compresses badly: over a 100 KB bound soon.
    steps = []
    for n in range(3):
        command = f"head -c 45000 /dev/urandom | base64 > big.txt && echo {n}"
        steps += [reply(ToolCall("Bash", {"command": command})), reply(Text("ok"))]
    session, _ = scripted_in(
        tmp_path, steps, mode="bypassPermissions", settings=_settings(max_session_bytes=100_000)
    )
    async with session:
        for n in range(3):
            async for _ in session.run(f"prompt {n}"):
                pass
        notices = [e.message for e in session.store.replay(0) if e.type == "NOTICE"]
        assert any("checkpoints.maxSessionBytes" in m for m in notices), notices
        assert session.checkpoints.blobs.size <= 100_000 + 70_000
        plan = await session.preview_rewind(1)
        assert [f.problem for f in plan.files] == [
            "not kept: dropped to bound the session's storage"
        ]
        latest = await session.preview_rewind(3)  # the newest are still whole
        assert [f.problem for f in latest.files] == [None]


async def test_a_rewind_never_writes_outside_the_workspace(tmp_path: Path) -> None:
    root, elsewhere = tmp_path / "ws", tmp_path / "elsewhere"
    root.mkdir()
    elsewhere.mkdir()
    (elsewhere / "x.txt").write_text("outside\n")
    session, _ = scripted_in(
        root,
        [
            reply(ToolCall("Write", {"file_path": str(elsewhere / "x.txt"), "content": "w\n"})),
            reply(ToolCall("Bash", {"command": "mkdir d && printf 'in\\n' > d/f.txt"})),
            reply(Text("ok")),
        ],
        mode="bypassPermissions",
    )
    async with session:
        async for _ in session.run("go"):
            pass
        # The folder the rewind would write into now leads outside.
        os.rename(root / "d", tmp_path / "d-moved")
        os.symlink(elsewhere, root / "d")
        (elsewhere / "f.txt").write_text("not ours\n")
        event = await session.rewind(1, "code", hand_edits="overwrite")
        assert {s.path: s.reason for s in event.skipped} == {
            str(elsewhere / "x.txt"): "outside the workspace",
            "d/f.txt": "outside the workspace",
        }
        assert (elsewhere / "x.txt").read_text() == "w\n"
        assert (elsewhere / "f.txt").read_text() == "not ours\n"


async def test_checkpoints_can_be_turned_off(tmp_path: Path) -> None:
    session, _ = scripted_in(
        tmp_path,
        [reply(ToolCall("Write", {"file_path": "a.txt", "content": "x"})), reply(Text("ok"))],
        mode="bypassPermissions",
        settings=_settings(enabled=False),
    )
    async with session:
        async for _ in session.run("go"):
            pass
        assert not [e for e in session.store.replay(0) if e.type == "CHECKPOINT_CREATED"]
        assert isinstance(session.checkpoints, Checkpointer) and session.rewind_points() == []


def _settings(**limits: object) -> object:
    from harness_tui.core.config.settings import Settings, SettingsFile

    keys = {"max_session_bytes": "maxSessionBytes", "enabled": "enabled"}
    data = {"checkpoints": {keys[k]: v for k, v in limits.items()}}
    return Settings(files=[SettingsFile(Path("settings.yaml"), "user", False, data)])
