"""How attached images look: chips above the input, chip lines in the conversation, the
pending steer that carries one (canned events, compared as SVG)."""

from __future__ import annotations

from harness_tui.core import events as ev
from harness_tui.core.messages import ImageBlock
from harness_tui.widgets.prompt_input import PromptInput
from tests import tui_events as canned
from tests.tui.test_tui_snapshots import SIZE, app, feeding
from tests.tui_events import make

SHOT = ImageBlock(
    sha256="1" * 64, media_type="image/png", width=1280, height=720, size=215_000, name="shot.png"
)
CLIP = ImageBlock(
    sha256="2" * 64,
    media_type="image/png",
    width=3840,
    height=2160,
    size=4_300_000,
    name="clipboard",
)


async def attach_two(pilot) -> None:
    prompt = pilot.app.query_one(PromptInput)
    prompt.attach(SHOT)
    prompt.attach(CLIP)
    prompt.attach(SHOT)  # the same bytes again: one chip
    prompt.insert("why does the header wrap?")


def test_chips_above_the_input_and_images_in_the_conversation(snap_compare) -> None:
    events = [
        *canned.welcome(),
        make(ev.PromptReceived, text="Match this design", images=(SHOT,)),
        *canned.deltas("Done: the header now matches.", "msg_1"),
        canned.completed("msg_1", "Done: the header now matches."),
        make(ev.SteeringQueued, steering_id="s1", kind="steer", text="and this", images=(CLIP,)),
    ]
    assert snap_compare(app(), terminal_size=SIZE, run_before=feeding(events, then=attach_two))
