"""Where a session's entries go, and where a resumed session comes from.

``Journal``: the conversation tree and its file (``storage.writer.SessionLog``) once it
is open; entries made before (a resumed session's mended history) are held until then.
Resuming: what the session is opened with (model, mode, folder), the history it starts
from (mended when the file ends inside a run), and the facts it announces once open.
"""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import anyio

from harness_tui.core.config.settings import Settings
from harness_tui.core.errors import HarnessError
from harness_tui.core.event_store import EventStore
from harness_tui.core.events import (
    PERMISSION_MODES,
    BranchChanged,
    Notice,
    PermissionMode,
    PlanEntry,
    PlanGenerated,
    SteeringQueued,
)
from harness_tui.core.providers.models import (
    DEMO_MODEL,
    ModelChoice,
    default_model_name,
    resolve_model,
)
from harness_tui.core.run.context import ContextAccount
from harness_tui.core.run.steering import QueuedMessage
from harness_tui.core.storage.records import Entry, SessionHeader
from harness_tui.core.storage.saved import SavedSession, load_session, session_path
from harness_tui.core.storage.tree import EntryTree, History, loose_ends
from harness_tui.core.storage.writer import SessionInUse, SessionLog


class Journal:
    """The conversation tree of a session and the file it is written to."""

    def __init__(
        self, emit: Callable[..., Awaitable[Any]], context: ContextAccount, *, persist: bool
    ) -> None:
        """``context``: the count of the tokens of ``messages``, reset when they change
        branch."""
        self._emit = emit
        self._context = context
        #: Every entry of the conversation (all branches).
        self.tree = EntryTree()
        #: One branch of the tree: what the model is sent. Each message added to it
        #: becomes an entry.
        self.messages = History(self.record)
        self.persist = persist
        #: The saved session this one goes on with (None: a new one), and whether it
        #: goes on from another entry than the file's head.
        self.resumed: SavedSession | None = None
        self.branched = False
        self.log: SessionLog | None = None
        #: Say "Resumed session ..." when it opens (not for a durable run's session,
        #: reopened for each run of one continuing stream).
        self.say_resumed = True
        self._unwritten: list[Entry] = []
        self._opened = False

    def record(self, entry: Entry) -> None:
        """Add an entry to the conversation tree and the session file."""
        self.tree.add(entry)
        if self.log is not None:
            self.log.add(entry)
        elif self.persist and not self._opened:
            self._unwritten.append(entry)  # made before the file opened (a resume)

    async def fork(self, entry_id: str | None, *, before: bool) -> BranchChanged:
        """Go on from another entry (an id or unique prefix; None: the start; with
        ``before``, its parent): ``messages`` becomes that branch (``BRANCH_CHANGED``)."""
        target = None if entry_id is None else self.tree.resolve(entry_id)
        if before and target is not None:
            target = self.tree.get(target).parent_id
        context = self.tree.context(target)
        previous = self.messages.head
        self.messages.reset(context.messages, context.entry_ids, target)
        self._context.reset()
        return await self._emit(
            BranchChanged,
            entry_id=target,
            previous_entry_id=previous,
            messages=len(context.messages),
        )

    @property
    def source(self) -> str:
        """How the session started, for SESSION_STARTED and the SessionStart hooks."""
        return "resume" if self.resumed is not None else "startup"

    @property
    def file(self) -> Path | None:
        """The file being written (None: not saved, or writing it failed)."""
        log = self.log
        return log.path if log is not None and log.failed is None else None

    def open(
        self,
        group: anyio.abc.TaskGroup,
        store: EventStore,
        *,
        session_id: str,
        cwd: str,
        version: str,
        on_failure: Callable[[str], None],
    ) -> str | None:
        """Write ``store``'s events to the session file in ``group``: a new file that
        starts with a header, or the file a resumed session came from (wherever that
        is). A notice when it cannot be written."""
        self._opened = True
        if not self.persist:
            return None
        resumed = self.resumed
        path = resumed.path if resumed is not None else session_path(session_id)
        head = None
        if resumed is None or not path.exists():
            head = SessionHeader(
                session_id=session_id, cwd=cwd, created=time.time(), version=version
            )
        log = SessionLog(path, store, header=head, on_failure=on_failure)
        try:
            log.open()
        except SessionInUse:
            self._unwritten.clear()
            return (
                f"This session is not saved: {path} is open in another harness-tui "
                "process, and two writers would mix two conversations. Close the other one "
                "and resume again to keep what follows."
            )
        except OSError as exc:
            self._unwritten.clear()
            return (
                f"This session is not saved: cannot write {path} ({exc.strerror or exc}). "
                "Check the folder's permissions, or set HARNESS_DATA_DIR to a folder you "
                "can write."
            )
        self.log = log
        for entry in self._unwritten:
            log.add(entry)
        self._unwritten.clear()
        group.start_soon(log.run)
        return None

    def resume(self, saved: SavedSession, entry_id: str | None, model: ModelChoice) -> list[str]:
        """Go on with ``saved``: its tree, and as ``messages`` its conversation at its
        head (or at ``entry_id``), closing the loose ends of a run the file ends inside
        (``model`` answers for them). Notices for the user."""
        self.resumed, self.tree, messages = saved, saved.tree, self.messages
        notices: list[str] = []
        head = saved.head if entry_id is None else saved.tree.resolve(entry_id)
        self.branched = head != saved.head
        context = saved.tree.context(head)
        messages.reset(context.messages, context.entry_ids, head)
        if context.mended:
            notices.append(
                f"{context.mended} tool call(s) or result(s) lost their other half to the "
                "damaged file; the calls are marked as lost and the results quoted, so the "
                "model can go on."
            )
        # Also when the file was damaged rather than cut off: the last response's
        # calls whose results are lost need one before the model is asked again.
        if (saved.interrupted or context.mended or saved.problems) and entry_id is None:
            added, note = loose_ends(
                messages, saved.partial_text, provider=model.provider, model=model.name
            )
            messages.extend(added)  # written to the file when it opens
            if note:
                notices.append(note)
        return notices

    async def announce_restored(
        self, session_id: str, plan: Sequence[PlanEntry], pending: Sequence[QueuedMessage]
    ) -> None:
        """Facts a resumed session starts from, for every view and for the file: the
        messages in context, the branch, the plan, the messages still queued."""
        saved, messages = self.resumed, self.messages
        if saved is None:
            return
        count = len(messages)
        if self.say_resumed:
            await self._emit(
                Notice,
                message=f"Resumed session {session_id} ({count} message"
                f"{'s' if count != 1 else ''} in context).",
            )
        if self.branched:
            await self._emit(
                BranchChanged, entry_id=messages.head, previous_entry_id=saved.head, messages=count
            )
        if plan:
            await self._emit(PlanGenerated, entries=tuple(plan))
        for item in pending:
            await self._emit(SteeringQueued, **item.fields)

    async def aclose(self) -> None:
        """Wait for the file's last lines (the event store is closed first)."""
        if self.log is not None:
            await self.log.wait_closed()


def resume_options(
    saved: SavedSession | str,
    model: str | ModelChoice | None,
    mode: PermissionMode | None,
    options: dict[str, Any],
) -> tuple[SavedSession, dict[str, Any]]:
    """The saved session (loaded, for an id, prefix or path) and the keyword arguments
    of the session that goes on with it: its id, folder, model and mode unless
    ``options``, ``model`` or ``mode`` say otherwise."""
    if isinstance(saved, str):
        saved = load_session(saved)
    options = dict(options)
    notices = list(options.pop("notices", ()))
    if saved.problems:
        notices.append(saved.problems)
    cwd = options.pop("cwd", None)
    if cwd is None:
        cwd = saved.cwd if saved.cwd and Path(saved.cwd).is_dir() else os.getcwd()
    if model is None:
        model = _saved_model(saved, Path(cwd), options.get("settings"), notices)
    mode = mode or (saved.mode if saved.mode in PERMISSION_MODES else "default")
    return saved, {
        **options,
        "model": model,
        "mode": mode,
        "session_id": saved.session_id,
        "cwd": cwd,
        "notices": notices,
    }


def _saved_model(
    saved: SavedSession, cwd: Path, settings: Settings | None, notices: list[str]
) -> ModelChoice | str:
    """The model a saved session used, or (when it cannot be used here) the default."""
    name = saved.model or DEMO_MODEL
    try:
        return resolve_model(name, cwd=cwd, settings=settings)
    except HarnessError as exc:
        fallback = default_model_name()
        notices.append(f"The session's model {name} cannot be used here ({exc}); using {fallback}.")
        return fallback
