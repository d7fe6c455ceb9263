"""Browsers never slow the agent: a stalled one and ten live ones against a fast run."""

from __future__ import annotations

import hashlib

from harness_tui.core.providers.offline.scripted import Text, reply
from tests.web_support import paced, run_alone, run_watched, web_server, words

#: Enough that a stalled client falls past the lag window whatever its socket buffers hold
#: (about 12,000 events here).
EVENTS = 30_000
#: Chunks per second of the scripted model: several times the fastest real models.
RATE = 10_000


async def test_a_stalled_client_and_ten_live_ones_do_not_slow_the_run_or_lose_text() -> None:
    async with web_server(paced(reply(Text(words(EVENTS))), rate=RATE)) as srv:
        # A rate is a timing: on a shared runner one pair can be disturbed by the rest of
        # the machine. Up to three pairs; one within 10 % shows the browsers did not slow
        # the run (all the other assertions hold for every pair).
        for _ in range(3):
            alone = await run_alone(srv)
            rate, report, text = await run_watched(srv, normal=10, stalled=1)
            if rate >= 0.9 * alone:
                break
        assert rate >= 0.9 * alone, (rate, alone)

        expected = hashlib.sha256(text.encode()).hexdigest()
        assert text.count(" ") == EVENTS
        for client in report["normal"]:
            assert client["in_order"] and client["contiguous"] and client["first_seq"] == 1
            assert client["gaps"] == [] and client["text_sha256"] == expected, client["name"]
        (stalled,) = report["stalled"]
        assert stalled["gaps"], "the stalled client was not told what it missed"
        assert stalled["fetched"] > 0 and stalled["contiguous"] and stalled["in_order"]
        assert stalled["text_sha256"] == expected and stalled["text_chars"] == len(text)
