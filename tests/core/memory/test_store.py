"""The memory store: entries added, updated and removed in a Markdown index a person can
read and edit (hand-written lines kept and listed), topic files, the prompt's cap, and
refusals (empty, too long, duplicate, unknown id, bad topic name, secrets)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from harness_tui.core.memory.store import (
    INDEX,
    MAX_PROMPT_LINES,
    MemoryRefused,
    MemoryStore,
)


def test_entries_round_trip_through_readable_markdown(tmp_path: Path) -> None:
    store = MemoryStore(tmp_path / "mem", "project")
    first = store.add("Use pnpm,\n not npm.", session="ses_1")
    second = store.add("Deploys need the VPN", topic="deploy")
    text = (tmp_path / "mem" / INDEX).read_text()
    assert text.startswith("# Memory\n\n- Use pnpm, not npm. <!-- m:")
    assert [e.text for e in store.entries()] == ["Use pnpm, not npm.", "Deploys need the VPN"]
    assert store.find(first.id).session == "ses_1" and store.find(second.id).topic == "deploy"
    updated = store.update(first.id, "Use pnpm (v9), not npm.")
    assert updated.id == first.id and store.find(first.id).text == "Use pnpm (v9), not npm."
    assert store.remove(second.id).text == "Deploys need the VPN"
    assert [e.id for e in store.entries()] == [first.id]


def test_a_hand_written_line_is_an_entry_and_prose_is_kept(tmp_path: Path) -> None:
    folder = tmp_path / "mem"
    folder.mkdir()
    (folder / INDEX).write_text("# Notes\n\nSome prose.\n\n- tests run with `make check`\n")
    store = MemoryStore(folder, "user")
    (hand,) = store.entries()
    assert hand.text == "tests run with `make check`" and hand.id.startswith("h")
    store.add("prefers short answers")
    store.remove(hand.id)
    text = (folder / INDEX).read_text()
    assert text.startswith("# Notes\n\nSome prose.\n") and "make check" not in text
    assert "prefers short answers" in text


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("  \n ", "needs some text"),
        ("x" * 501, "at most 500 characters"),
        ("the key is sk-ant-api03-" + "a" * 40, "an Anthropic API key"),
        ("token ghp_" + "A" * 36, "a GitHub token"),
        ("aws AKIAIOSFODNN7EXAMPLE for deploys", "an AWS access key id"),
        ('set "api_key": "0123456789abcdef0123"', "a secret assigned to a name"),
        ("-----BEGIN OPENSSH PRIVATE KEY-----", "a private key"),
    ],
)
def test_what_is_refused_says_why(tmp_path: Path, text: str, why: str) -> None:
    store = MemoryStore(tmp_path / "mem", "project")
    with pytest.raises(MemoryRefused, match=why):
        store.add(text)
    assert not (tmp_path / "mem" / INDEX).exists()  # nothing written


def test_an_environment_secret_is_refused(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("MY_SERVICE_TOKEN", "not-a-known-shape-1234")
    with pytest.raises(MemoryRefused, match=r"the value of \$MY_SERVICE_TOKEN"):
        MemoryStore(tmp_path, "user").add("login with not-a-known-shape-1234")


def test_duplicates_unknown_ids_and_bad_topics_are_refused(tmp_path: Path) -> None:
    store = MemoryStore(tmp_path, "project")
    store.add("one fact")
    with pytest.raises(MemoryRefused, match="already in project memory"):
        store.add("one   fact")
    with pytest.raises(MemoryRefused, match="no project memory entry 'nope'"):
        store.remove("nope")
    with pytest.raises(MemoryRefused, match="a topic's name"):
        store.add("x", topic="../etc/passwd")
    store.write_topic("deploy", "# Deploy\n\nVPN first.\n")
    assert store.topic("deploy").startswith("# Deploy") and store.topics() == ["deploy"]


def test_the_prompt_takes_the_first_lines_only(tmp_path: Path) -> None:
    store = MemoryStore(tmp_path, "project")
    for number in range(MAX_PROMPT_LINES + 10):
        store.add(f"fact number {number}")
    text, cut = store.prompt_text()
    assert cut and len(text.splitlines()) == MAX_PROMPT_LINES
    assert "fact number 0 " in text + " " and "fact number 205" not in text


def test_writers_at_once_lose_nothing(tmp_path: Path) -> None:
    stores = [MemoryStore(tmp_path, "project") for _ in range(4)]
    threads = [
        threading.Thread(target=lambda s=s, n=n: [s.add(f"fact {n}-{i}") for i in range(25)])
        for n, s in enumerate(stores)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(stores[0].entries()) == 100


def test_an_unusable_folder_is_a_refusal_and_reads_as_empty(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    store = MemoryStore(blocker / "mem", "project")
    assert store.entries() == [] and store.prompt_text() == ("", False)
    with pytest.raises(MemoryRefused, match="cannot write the memory folder"):
        store.add("a fact")
