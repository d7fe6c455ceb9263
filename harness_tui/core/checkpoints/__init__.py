"""Checkpoints of the files a session's agent changes, and rewinding them.

- ``blobs``: the bytes, content-addressed, in the session's data folder;
- ``inotify`` and ``index``: what the workspace's files were, and what changed since;
- ``keeper``: the checkpoints themselves, around prompts and tool calls;
- ``timeline``: the prompts one can rewind to; ``rewind``: planning and doing it.

The session's ``rewind``/``redo`` (``session.rewinding``) tie them to the conversation.
"""

from harness_tui.core.checkpoints.keeper import Checkpointer, Limits
from harness_tui.core.checkpoints.rewind import (
    PlannedFile,
    RewindConflict,
    RewindPlan,
    RewindPoint,
)
from harness_tui.core.checkpoints.timeline import UnknownTarget

__all__ = [
    "Checkpointer",
    "Limits",
    "PlannedFile",
    "RewindConflict",
    "RewindPlan",
    "RewindPoint",
    "UnknownTarget",
]
