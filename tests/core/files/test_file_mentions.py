"""``@path`` in a prompt attaches the file (or folder listing) to the message the model
gets, within the same limits as reading it would have."""

from __future__ import annotations

import json
from pathlib import Path

from harness_tui.core.files.mentions import MAX_FILE_BYTES, attach_files
from harness_tui.core.providers.models import ModelChoice
from harness_tui.core.providers.offline.scripted import ScriptedProvider, Text, reply
from harness_tui.core.session.session import Session
from tests.helpers import run_to_end


def workspace(root: Path) -> Path:
    (root / "src").mkdir(parents=True)
    (root / "src" / "app.py").write_text("def main():\n    return 42\n")
    (root / "src" / "util.py").write_text("X = 1\n")
    (root / "my notes.md").write_text("remember the milk\n")
    (root / ".env").write_text("TOKEN=hunter2\n")
    (root / "big.log").write_text("x" * (MAX_FILE_BYTES + 1))
    (root / "blob.bin").write_bytes(b"\0\1\2")
    return root


async def test_mentioned_files_and_folders_reach_the_model(tmp_path: Path) -> None:
    root = workspace(tmp_path / "w")
    (root / ".claude").mkdir()
    (root / ".claude" / "settings.json").write_text(
        json.dumps({"permissions": {"deny": ["Read(./.env)"]}})
    )
    outside = tmp_path / "outside.txt"
    outside.write_text("not yours\n")
    provider = ScriptedProvider([reply(Text("ok"))])
    model = ModelChoice("scripted", "scripted", lambda: provider)
    session = Session(model=model, cwd=root, trusted=True)  # its settings apply
    prompt = (
        'Explain @src/app.py, then @src/ and @"my notes.md". Not @.env, @big.log, '
        f"@blob.bin or @{outside}. Mail me at me@example.com, @everyone."
    )
    async with session:
        events = await run_to_end(session, prompt)
    sent = provider.requests[0].messages[0]
    texts = [block.text for block in sent.content]
    assert texts[0] == prompt  # what the user typed, unchanged
    assert texts[1] == "[contents of @src/app.py]\ndef main():\n    return 42\n"
    assert texts[2] == "[contents of @src/]\nFolder listing:\napp.py\nutil.py"
    assert texts[3] == "[contents of @my notes.md]\nremember the milk\n"
    assert len(texts) == 4
    assert "hunter2" not in str(sent) and "not yours" not in str(sent)
    notices = [e.message for e in events if e.type == "NOTICE"]
    assert "@.env not attached: a Read deny rule covers it" in notices
    assert any(n.startswith("@big.log not attached") and "KiB" in n for n in notices)
    assert any(n.startswith("@blob.bin not attached: it is a binary file") for n in notices)
    assert any(n.startswith(f"@{outside} not attached: it is outside") for n in notices)
    assert notices[-1] == (
        "Attached @src/app.py (2 lines), @src/ (2 entries), @my notes.md (1 line)."
    )
    assert len(notices) == 5  # nothing about the address or @everyone


def test_mcp_mentions_and_repeats_are_left_alone(tmp_path: Path) -> None:
    root = workspace(tmp_path)
    found = attach_files(
        "@src/app.py twice: @src/app.py; and @demo:memo://readme", root, [root], None
    )
    assert [m for m, _ in found.attached] == ["@src/app.py"] and found.notices == []
