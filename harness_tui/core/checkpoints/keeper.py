"""The checkpoints of one session: taken before each prompt and around each tool call
that can change files, kept as a timeline of events, bounded in size.

The timeline is the session's ``CHECKPOINT_CREATED`` and ``REWOUND`` events in order
(a resumed session reads them back from its file). Each records the files a step
changed, with the bytes before and after by hash in ``Blobs``; a rewind (``rewind``)
walks it backwards. The workspace ``WorkspaceIndex`` is built in the background when
the first prompt is sent; a tool call that can change files waits for it.

Around a tool call (``before``/``after``): first the changes nobody announced since the
last look (an editor, the user: *by hand*), then the tool runs, then what changed while
it ran — the files it names (Write, Edit) and, through the index, anything else in the
workspace (Bash, plugin commands, MCP tools not marked read-only).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import anyio

from harness_tui.core.checkpoints.blobs import Blobs
from harness_tui.core.checkpoints.index import Change, Stopped, TooManyFiles, WorkspaceIndex
from harness_tui.core.checkpoints.rewind import ChangeKind
from harness_tui.core.events import (
    CheckpointCreated,
    CheckpointFile,
    FileState,
    Notice,
    Rewound,
    new_id,
)
from harness_tui.core.tools.base import Tool, ToolContext, input_path

log = logging.getLogger(__name__)

Emit = Callable[..., Awaitable[Any]]
Record = CheckpointCreated | Rewound
T = TypeVar("T")

#: Defaults of the ``checkpoints`` settings.
MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_SESSION_BYTES = 512 * 1024 * 1024
MAX_FILES = 50_000


@dataclass(frozen=True, slots=True)
class Limits:
    """The ``checkpoints`` settings: on or off, a file's size cap, the bytes a session
    may keep (oldest checkpoints pruned beyond), the files a workspace may have for
    Bash's changes to be followed."""

    enabled: bool = True
    max_file_bytes: int = MAX_FILE_BYTES
    max_session_bytes: int = MAX_SESSION_BYTES
    max_files: int = MAX_FILES

    @classmethod
    def of(cls, value: Any) -> tuple[Limits, list[str]]:
        """From a settings value (``{"enabled": ..., "maxFileBytes": ...}``); the
        problems found (a bad field keeps its default)."""
        if value is None:
            return cls(), []
        if not isinstance(value, dict):
            return cls(), ["checkpoints: expected a mapping of settings; using the defaults"]
        problems: list[str] = []
        fields: dict[str, Any] = {}
        for key, name, kind in (
            ("enabled", "enabled", bool),
            ("maxFileBytes", "max_file_bytes", int),
            ("maxSessionBytes", "max_session_bytes", int),
            ("maxFiles", "max_files", int),
        ):
            if key not in value:
                continue
            item = value[key]
            if not isinstance(item, kind) or (kind is int and (item is True or item < 1)):
                problems.append(f"checkpoints.{key}: {item!r} is not valid; using the default")
            else:
                fields[name] = item
        return cls(**fields), problems


@dataclass
class Step:
    """A tool call under way: the changes found before it (``by_hand``: made by the
    user; else by another call running alongside), the files it names."""

    tool: Tool
    ctx: ToolContext
    found: list[Change]
    paths: list[Path] = field(default_factory=list)
    by_hand: bool = True


def file_changes(changes: Iterable[Change], *, by_hand: bool) -> list[CheckpointFile]:
    """Changes as the events carry them, one per path (first before, last after)."""
    merged: dict[str, list[FileState | None]] = {}
    for path, before, after in changes:
        if path in merged:
            merged[path][1] = after
        else:
            merged[path] = [before, after]
    out = []
    for path, (before, after) in merged.items():
        if before is None and after is None:
            continue  # created and deleted again
        change: ChangeKind
        if before is None:
            change = "created"
        elif after is None:
            change = "deleted"
        elif before.sha256 == after.sha256 and before.sha256 is not None:
            change = "mode"
        else:
            change = "modified"
        out.append(
            CheckpointFile(path=path, change=change, before=before, after=after, by_hand=by_hand)
        )
    return out


class Checkpointer:
    """Checkpoints for the session working in ``root`` (see the module's docstring)."""

    def __init__(
        self,
        root: Path,
        folder: Path | None,
        emit: Emit,
        limits: Limits | None = None,
        *,
        use_inotify: bool | None = None,
    ) -> None:
        """``folder``: where the bytes are kept (None: in memory). ``use_inotify``:
        None, unless ``HARNESS_CHECKPOINT_WATCH=0`` says to walk the workspace instead."""
        if use_inotify is None:
            use_inotify = os.environ.get("HARNESS_CHECKPOINT_WATCH", "1").strip() != "0"
        self.root = root
        self.limits = limits or Limits()
        self.blobs = Blobs(folder)
        self._emit = emit
        self.index = WorkspaceIndex(
            root,
            self.blobs,
            max_file_bytes=self.limits.max_file_bytes,
            max_files=self.limits.max_files,
            use_inotify=use_inotify,
        )
        #: Every CHECKPOINT_CREATED and REWOUND of the session, in order.
        self.records: list[Record] = []
        #: Changes by hand absorbed into the index and not yet in a record.
        self.unrecorded: list[CheckpointFile] = []
        self.lock = anyio.Lock()
        self._built: anyio.Event | None = None
        #: Why Bash's changes are not followed (None: they are).
        self.untracked: str | None = None
        self._group: anyio.abc.TaskGroup | None = None
        self._pruned = 0  # records whose bytes were dropped
        self._active = 0  # tool calls between ``before`` and ``after``

    @property
    def enabled(self) -> bool:
        return self.limits.enabled

    @property
    def tracking(self) -> bool:
        """The index is built and follows the workspace."""
        return self._built is not None and self._built.is_set() and not self.untracked

    def open(self, group: anyio.abc.TaskGroup) -> None:
        """The session opened: work in ``group``."""
        self._group = group

    def use(self, blobs: Blobs) -> None:
        """Keep the bytes in ``blobs`` (a resumed session's, beside its file)."""
        self.blobs.close()
        self.blobs = self.index.blobs = blobs

    def close(self) -> None:
        self.index.close()
        self.blobs.close()

    def covers(self, tool: Tool) -> bool:
        """Whether a call of ``tool`` can change files (then it is checkpointed)."""
        return self.enabled and tool.access_kind in ("edit", "exec")

    # --- the index ------------------------------------------------------------------

    def start(self) -> None:
        """Build the index in the background (once)."""
        if self._built is not None or not self.enabled:
            return
        self._built = anyio.Event()
        if self._group is not None:
            self._group.start_soon(self._build)

    async def ready(self) -> None:
        """Wait for the index (building it here when nothing builds it)."""
        if self._built is not None and self._built.is_set():
            return  # the usual case: no await, no trip round the event loop
        self.start()
        if not self.enabled:
            return
        assert self._built is not None
        if self._group is None and not self._built.is_set():
            await self._build()
        await self._built.wait()

    async def _build(self) -> None:
        assert self._built is not None
        try:
            async with self.lock:
                await anyio.to_thread.run_sync(self.index.build)
                self.index.take_stored()
        except Stopped:
            self.untracked = "the session ended"
            self.index.close()  # a watcher opened as it was closing
        except TooManyFiles:
            self.index.close()
            self.untracked = (
                f"{self.root} has more than {self.limits.max_files:,} files (not counting "
                "ignored ones), so what shell commands change there is not checkpointed; "
                "what Write and Edit change still is. Raise checkpoints.maxFiles to follow "
                "them."
            )
            await self._emit(Notice, message=self.untracked, level="warning")
        except Exception as exc:  # a bug or an odd file system: say it, go on without
            log.warning("building the checkpoint index failed", exc_info=True)
            self.untracked = f"checkpoints cannot follow shell commands here ({exc})"
            await self._emit(Notice, message=self.untracked, level="warning")
        finally:
            self._built.set()

    async def _run(self, look: Callable[[], list[Change]]) -> list[Change]:
        """``look`` under ``lock``: on the event loop when inotify says it is a small
        job (a thread's hand-off would cost more), else in a worker thread. A free lock
        is taken without awaiting: each trip round the event loop costs about as much
        as the look itself."""
        try:
            self.lock.acquire_nowait()
        except anyio.WouldBlock:
            await self.lock.acquire()
        try:
            if not self.untracked and self.index.quick():
                return look()
            return await anyio.to_thread.run_sync(look)
        finally:
            self.lock.release()

    def _refresh(self) -> list[Change]:
        return [] if self.untracked else self.index.refresh()

    # --- checkpoints ----------------------------------------------------------------

    async def prompt(self, entry_id: str, *, build: bool = True) -> CheckpointCreated | None:
        """The checkpoint before a prompt (``entry_id``: its conversation entry).
        ``build``: start building the index now (the session has a tool that can
        change files; otherwise the first such call builds it)."""
        if not self.enabled:
            return None
        if build:
            self.start()
        if self._built is not None and self._built.is_set():
            found = await self._run(self._refresh)
            self.unrecorded += file_changes(found, by_hand=True)
        return await self._record("prompt", entry_id=entry_id)

    async def before(self, tool: Tool, input: dict[str, Any], ctx: ToolContext) -> Step | None:
        """Before ``tool`` runs: the changes by hand since the last look, and the
        files it names as they are now. None (with a warning) when that failed: the
        call runs without a checkpoint rather than not at all."""
        try:
            return await self._before(tool, input, ctx)
        except Exception as exc:
            log.warning("checkpoint before %s failed", tool.name, exc_info=True)
            await self._emit(
                Notice,
                message=f"No checkpoint for this {tool.name} call ({type(exc).__name__}: "
                f"{exc}): a rewind cannot undo what it changes.",
                level="warning",
            )
            return None

    async def _before(self, tool: Tool, input: dict[str, Any], ctx: ToolContext) -> Step:
        await self.ready()
        paths = []
        for name in tool.path_fields:
            raw = input.get(name)
            if isinstance(raw, str) and raw:
                try:
                    paths.append(input_path(ctx.cwd, raw))
                except ValueError:
                    continue

        def look() -> list[Change]:
            found = self._refresh()
            for path in paths:
                found += self.index.look_at(path, learn=True)
            return found

        found = await self._run(look)
        # Another call running meanwhile (parallel sub-agents): what changed is the
        # agent's doing, not the user's.
        step = Step(tool, ctx, found, paths, by_hand=self._active == 0)
        self._active += 1
        return step

    async def after(self, step: Step) -> CheckpointCreated | None:
        """After the tool ran (or was stopped): what it changed, as a checkpoint."""
        try:
            return await self._after(step)
        except Exception as exc:
            log.warning("checkpoint after %s failed", step.tool.name, exc_info=True)
            await self._emit(
                Notice,
                message=f"The checkpoint of this {step.tool.name} call failed "
                f"({type(exc).__name__}: {exc}): a rewind may not undo what it changed.",
                level="warning",
            )
            return None

    async def _after(self, step: Step) -> CheckpointCreated | None:
        self._active -= 1

        def look() -> list[Change]:
            found = self._refresh()
            for path in step.paths:
                found += self.index.look_at(path)
            return found

        changed = await self._run(look)
        self.unrecorded += file_changes(step.found, by_hand=step.by_hand)
        files = file_changes(changed, by_hand=False)
        if not files and not self.unrecorded:
            return None
        return await self._record(
            "tool",
            tool_call_id=step.ctx.tool_call_id,
            tool_name=step.tool.name,
            files=files,
        )

    async def _record(
        self, kind: str, *, files: list[CheckpointFile] | None = None, **fields: Any
    ) -> CheckpointCreated:
        noticed, self.unrecorded = self.unrecorded, []
        event = await self._emit(
            CheckpointCreated,
            checkpoint_id=new_id("cp"),
            kind=kind,
            files=(*noticed, *(files or ())),
            bytes=self.index.take_stored(),
            **fields,
        )
        self.records.append(event)
        await self._copy_from_git(event.files)
        await self.prune()
        return event

    async def add_rewind(self, **fields: Any) -> Rewound:
        """Record a rewind (its event) in the timeline."""
        noticed, self.unrecorded = self.unrecorded, []
        files = (*noticed, *fields.pop("files", ()))
        event = await self._emit(Rewound, files=files, **fields)
        self.records.append(event)
        await self._copy_from_git(event.files)
        await self.prune()
        return event

    async def restoring(self, undo: Callable[[list[CheckpointFile]], T]) -> T:
        """Run ``undo`` (a rewind: it writes files; blocking) under the lock, in a
        worker thread. It gets ``unrecorded`` with the changes by hand noticed just
        before it; what it writes is then taken in as the files' present state, not as
        changes by hand."""

        def run() -> T:
            if self.tracking:
                self.unrecorded += file_changes(self.index.refresh(), by_hand=True)
            result = undo(self.unrecorded)
            if self.tracking:
                self.index.refresh()  # its own writes
            self.index.take_stored()
            return result

        async with self.lock:
            return await anyio.to_thread.run_sync(run)

    async def _copy_from_git(self, files: Iterable[CheckpointFile]) -> None:
        """Bytes a checkpoint needs that only git keeps: copy them into the pack now
        (a ``git gc`` could take them later; see ``gitobjects``). One ``git cat-file``
        for the call, only the first time a file git keeps changes."""
        states = [s for f in files for s in (f.before, f.after) if s is not None]
        digests = self.blobs.deferred(s.sha256 for s in states)
        if digests:
            async with self.lock:
                await anyio.to_thread.run_sync(self.blobs.materialize, digests)

    # --- storage --------------------------------------------------------------------

    def needed(self, records: Iterable[Record]) -> set[str]:
        """The hashes ``records`` and the index need."""
        keep = self.index.referenced()
        for record in records:
            for change in record.files:
                for state in (change.before, change.after):
                    if state is not None and state.sha256 is not None:
                        keep.add(state.sha256)
        return keep

    async def prune(self) -> None:
        """Over the session's bound: drop the bytes only the oldest checkpoints need,
        oldest first, with a notice (a rewind there says those files were not kept)."""
        cap = self.limits.max_session_bytes
        if self.blobs.size <= cap:
            return
        dropped, keep = self._pruned, self.needed(self.records[self._pruned :])
        while dropped < len(self.records) and self.blobs.stored_size(keep) > cap:
            dropped += 1  # sizes only: the pack is rewritten once, below
            keep = self.needed(self.records[dropped:])
        if self.blobs.stored_size(keep) < self.blobs.size:  # else a rewrite frees nothing
            async with self.lock:
                await anyio.to_thread.run_sync(self.blobs.drop, keep)
        if dropped <= self._pruned:
            return  # the same ones as before: the present files alone pass the bound
        self._pruned = dropped
        prompts = sum(
            1
            for r in self.records[:dropped]
            if isinstance(r, CheckpointCreated) and r.kind == "prompt"
        )
        await self._emit(
            Notice,
            message=f"Checkpoints take more than {cap / 1048576:.0f} MiB: the files of the "
            f"oldest {dropped} checkpoint(s) ({prompts} prompt(s)) were dropped; rewinding "
            "that far back says which files cannot be restored. Raise "
            "checkpoints.maxSessionBytes to keep more.",
            level="warning",
        )
