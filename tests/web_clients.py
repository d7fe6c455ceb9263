"""Browser-like WebSocket clients in a process of their own, for the backpressure test
and benchmark B8: the server's event loop then does only the server's work.

    python -m tests.web_clients BASE_URL SESSION_ID TOKEN --normal 10 --stalled 1 [--deflate]

Every client reads one session's stream from seq 0 until ``RUN_COMPLETED``. Normal
clients read as fast as they can. Stalled clients connect with tiny socket buffers and
read nothing until a line arrives on stdin; then they read on, and fetch each range a
``STREAM_GAP`` marker names from the events endpoint. Prints ``ready`` once every
client is connected, then one JSON line of results.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import socket
import statistics
import sys
import time
import urllib.request
import zlib
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

#: Receive buffer of a stalled client: the kernel stops taking data almost at once.
STALLED_RCVBUF = 4096


class Reader:
    def __init__(self, name: str) -> None:
        self.name = name
        self.seqs: list[int] = []
        self.text: list[tuple[int, str]] = []
        self.gaps: list[tuple[int, int]] = []
        self.latencies: list[float] = []
        self.fetched = 0

    def take(self, frame: str | bytes) -> bool:
        """Record a frame's items; True once the run's end arrived."""
        now = time.time()
        done = False
        if isinstance(frame, bytes):
            frame = zlib.decompress(frame)
        for item in json.loads(frame):
            kind = item["type"]
            if kind == "STREAM_GAP":
                self.gaps.append((item["from_seq"], item["to_seq"]))
                continue
            self.seqs.append(item["seq"])
            if kind == "TOKEN_DELTA":
                self.text.append((item["seq"], item["text"]))
                self.latencies.append(now - item["timestamp"])
            done = done or kind == "RUN_COMPLETED"
        return done

    def take_light(self, frame: str | bytes) -> bool:
        """``take`` for a benchmark that measures the server, not JSON parsing: the
        frame's seqs and the latency of its oldest token, by string search alone."""
        now = time.time()
        text = zlib.decompress(frame) if isinstance(frame, bytes) else frame.encode()
        count = text.count(b'"seq":')
        if count:
            first = int(text[text.find(b'"seq":') + 6 : text.find(b",", text.find(b'"seq":'))])
            self.seqs.extend(range(first, first + count))
            token = text.find(b'"type":"TOKEN_DELTA"')  # the frame's oldest token
            if token >= 0:
                at = text.find(b'"timestamp":', token) + 12
                self.latencies.append(now - float(text[at : text.find(b",", at)]))
        if b'"type":"STREAM_GAP"' in text:
            self.gaps.append((0, 0))
        return b'"type":"RUN_COMPLETED"' in text

    def report(self) -> dict[str, Any]:
        seqs = self.seqs
        text = "".join(piece for _, piece in sorted(self.text))
        return {
            "name": self.name,
            "events": len(seqs),
            "first_seq": seqs[0] if seqs else None,
            "last_seq": seqs[-1] if seqs else None,
            "in_order": seqs == sorted(set(seqs)),
            "contiguous": bool(seqs) and seqs == list(range(seqs[0], seqs[-1] + 1)),
            "gaps": self.gaps,
            "fetched": self.fetched,
            "text_chars": len(text),
            "text_sha256": hashlib.sha256(text.encode()).hexdigest(),
        }


async def read_all(ws: ClientConnection, reader: Reader, light: bool = False) -> None:
    take = reader.take_light if light else reader.take
    while not take(await ws.recv()):
        pass


def fetch_gaps(base: str, session_id: str, token: str, reader: Reader) -> None:
    """What a page does after a gap marker: fetch the range from the events endpoint."""
    for first, last in reader.gaps:
        since = first - 1
        while since < last:
            url = f"{base}/api/session/{session_id}/events?since={since}&until={last}"
            request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
            with urllib.request.urlopen(request, timeout=30) as response:
                page = json.load(response)
            for event in page["events"]:
                reader.fetched += 1
                reader.seqs.append(event["seq"])
                if event["type"] == "TOKEN_DELTA":
                    reader.text.append((event["seq"], event["text"]))
            if not page["more"]:
                break
            since = page["events"][-1]["seq"]
    reader.seqs.sort()


async def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("base")
    parser.add_argument("session_id")
    parser.add_argument("token")
    parser.add_argument("--normal", type=int, default=10)
    parser.add_argument("--stalled", type=int, default=0)
    parser.add_argument("--deflate", action="store_true", help="compressed frames, as the page")
    parser.add_argument(
        "--light", action="store_true", help="no JSON parsing: seqs and latency only"
    )
    args = parser.parse_args(argv)
    ws_base = args.base.replace("http://", "ws://", 1)
    url = f"{ws_base}/ws/{args.session_id}?token={args.token}&since=0"
    if args.deflate:
        url += "&encoding=deflate"
    port = int(args.base.rsplit(":", 1)[1])

    normal = [Reader(f"normal-{i}") for i in range(args.normal)]
    stalled = [Reader(f"stalled-{i}") for i in range(args.stalled)]
    sockets = []
    for _ in normal:
        sockets.append(await connect(url, max_size=None).__aenter__())
    for _ in stalled:
        raw = socket.socket()
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, STALLED_RCVBUF)
        raw.connect(("127.0.0.1", port))
        raw.setblocking(False)
        sockets.append(await connect(url, sock=raw, max_size=None, max_queue=1).__aenter__())
    tasks = [
        asyncio.ensure_future(read_all(ws, r, args.light))
        for ws, r in zip(sockets, normal, strict=False)
    ]
    print("ready", flush=True)
    started = time.process_time(), time.perf_counter()
    busy: list[float] = []

    def all_normal_done(_: object) -> None:
        if all(task.done() for task in tasks[: len(normal)]) and not busy:
            busy.append((time.process_time() - started[0]) / (time.perf_counter() - started[1]))

    for task in tasks:
        task.add_done_callback(all_normal_done)

    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    for ws, reader in zip(sockets[len(normal) :], stalled, strict=True):
        tasks.append(asyncio.ensure_future(read_all(ws, reader)))
    await asyncio.wait_for(asyncio.gather(*tasks), timeout=120)
    for reader in stalled:
        fetch_gaps(args.base, args.session_id, args.token, reader)
    for ws in sockets:
        await ws.close()
    pooled = sorted(x for r in normal for x in r.latencies)
    latency = {
        "p50": 1e3 * statistics.median(pooled) if pooled else None,
        "p99": 1e3 * pooled[int(0.99 * (len(pooled) - 1))] if pooled else None,
        "max": 1e3 * pooled[-1] if pooled else None,
    }
    report = {
        "normal": [r.report() for r in normal],
        "stalled": [r.report() for r in stalled],
        "latency_ms": latency,  # event appended -> parsed by a live client, all pooled
        # How busy this process was while the live clients read: near 1, its own
        # backlog is part of the latency.
        "client_cpu_share": busy[0] if busy else None,
    }
    print(json.dumps(report))


if __name__ == "__main__":
    asyncio.run(main())
