"""B16 session search: 2,000 saved sessions (~100 MB of JSONL in the session format: a
header, prompts, streamed deltas, answers with tool calls on file paths, tool outputs),
indexed by the first search; then searches as a user runs them (``search_sessions``:
the index brought up to date, then queried), common words, rare words, two words,
prefixes and file names, each repeated. Target: p95 of the time to the first results
at most 200 ms. Also reported: the index build time and size, and a search after one
session grew (only its appended lines are read).
"""

from __future__ import annotations

import json
import os
import random
import statistics
import tempfile
import time
from pathlib import Path

from tests.bench import Figure

ID = "B16"
TITLE = "session search"
TARGET_MS = 200.0
#: Topic words, each planted in a few sessions (the rare finds).
TOPICS = ["deadlock", "kerberos", "flamegraph", "unicode", "timezone", "checksum", "retries"]


def _vocabulary(rng: random.Random, size: int = 6000) -> list[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    return ["".join(rng.choice(letters) for _ in range(rng.randint(3, 10))) for _ in range(size)]


def _write_sessions(folder: Path, count: int, target_bytes: int) -> int:
    """``count`` session files of about ``target_bytes`` in all; returns the bytes."""
    rng = random.Random(16)
    words = _vocabulary(rng)
    common = words[:200]  # frequent words, as in real prose
    per_file = target_bytes // count
    total = 0
    for n in range(count):
        sid = f"ses_bench{n:05d}"
        cwd = f"/home/user/project{n % 7}"
        lines = [
            {"type": "session", "format": 1, "session_id": sid, "cwd": cwd,
             "created": 1.7e9 + n, "version": "0.1.0"},
            {"type": "SESSION_STARTED", "seq": 1, "session_id": sid, "cwd": cwd,
             "model": "demo", "permission_mode": "default", "version": "0.1.0"},
        ]  # fmt: skip
        size, turn, parent = 0, 0, None
        while size < per_file:
            turn += 1

            def prose(k: int) -> str:
                return " ".join(
                    rng.choice(common if rng.random() < 0.6 else words) for _ in range(k)
                )

            prompt = prose(rng.randint(5, 30))
            if rng.random() < 0.02:
                prompt += " " + rng.choice(TOPICS)
            path = f"src/{rng.choice(words)}/{rng.choice(words)}.py"
            answer = prose(rng.randint(40, 160))
            mid, cid = f"m{n}_{turn}", f"call{n}_{turn}"
            records = [
                {"type": "PROMPT_RECEIVED", "session_id": sid, "text": prompt},
                _entry(f"u{turn}", parent, {"role": "user", "content": [
                    {"type": "text", "text": prompt}]}),
                *({"type": "TOKEN_DELTA", "session_id": sid, "message_id": mid, "text": w + " "}
                  for w in answer.split()),
                _entry(mid, f"u{turn}", {"role": "assistant", "id": mid, "provider": "demo",
                       "model": "demo", "content": [{"type": "text", "text": answer},
                       {"type": "tool_call", "id": cid, "name": "Read",
                        "input": {"file_path": path}}]}),
                {"type": "TOOL_CALL_STARTED", "session_id": sid, "tool_call_id": cid,
                 "tool_name": "Read", "input": {"file_path": path}},
                _entry(f"t{turn}", mid, {"role": "tool", "tool_call_id": cid,
                       "tool_name": "Read", "content": prose(rng.randint(100, 400))}),
                {"type": "RUN_COMPLETED", "session_id": sid, "is_error": False},
            ]  # fmt: skip
            parent = f"t{turn}"
            text = "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in records)
            lines.append(text)
            size += len(text)
        head = "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in lines[:2])
        data = head + "".join(lines[2:])  # type: ignore[arg-type]
        (folder / f"{sid}.jsonl").write_text(data)
        total += len(data.encode())
    return total


def _entry(ident: str, parent: str | None, message: dict[str, object]) -> dict[str, object]:
    return {"type": "message", "id": ident, "parent_id": parent, "timestamp": 1.7e9,
            "message": message}  # fmt: skip


def _queries(rng: random.Random, words: list[str]) -> list[str]:
    common, rare = words[:200], words[200:]
    queries = []
    for _ in range(10):
        queries += [
            rng.choice(common),
            rng.choice(rare),
            f"{rng.choice(common)} {rng.choice(rare)}",
            rng.choice(rare)[:3],  # a prefix, as typed into the picker
            f"{rng.choice(rare)}.py",
            rng.choice(TOPICS),
        ]
    return queries


def run(quick: bool) -> dict[str, Figure]:
    from harness_tui.core.storage.search import index_path, open_index, search_sessions

    count = 400 if quick else 2000
    target = (20 if quick else 100) * 1024 * 1024
    with tempfile.TemporaryDirectory(prefix="b16-", dir="/var/tmp") as scratch:
        os.environ["HARNESS_DATA_DIR"] = scratch
        folder = Path(scratch) / "sessions"
        folder.mkdir()
        written = _write_sessions(folder, count, target)
        started = time.perf_counter()
        open_index().close()  # what the first search does before it queries
        build = time.perf_counter() - started
        size = index_path().stat().st_size
        rng = random.Random(7)
        queries = _queries(rng, _vocabulary(random.Random(16)))
        times, found = [], 0
        for query in queries * 3:
            started = time.perf_counter()
            hits = search_sessions(query, None, 20)
            times.append((time.perf_counter() - started) * 1e3)
            found += bool(hits)
        grown = folder / "ses_bench00001.jsonl"
        with grown.open("a") as file:
            file.write(json.dumps(_entry("extra", None, {"role": "user", "content": [
                {"type": "text", "text": "a brand new zyzzyva"}]})) + "\n")  # fmt: skip
        started = time.perf_counter()
        assert search_sessions("zyzzyva"), "the appended line is found"
        after_append = (time.perf_counter() - started) * 1e3
    times.sort()
    p95 = times[max(0, round(len(times) * 0.95) - 1)]
    note = f"{len(times)} searches over {count} sessions, {found} with results"
    return {
        "sessions": Figure(count, "files", note=f"{written / 2**20:.0f} MB of JSONL"),
        "build_s": Figure(round(build, 2), "s", note="first search: the whole index built"),
        "index_mb": Figure(round(size / 2**20, 1), "MB", note="search-index.sqlite"),
        "search_p50_ms": Figure(round(statistics.median(times), 1), "ms", note=note),
        "search_p95_ms": Figure(round(p95, 1), "ms", TARGET_MS, "<=", note=note),
        "after_append_ms": Figure(
            round(after_append, 1), "ms", note="a search after one session grew"
        ),
    }
