"""The session's language servers: one per server definition and workspace, started
lazily the first time a file of its language is read or edited (never at start-up),
restarted with backoff after a crash, and stopped (process groups) with the session.

The tool executor calls ``before`` and ``after`` around each call that can change files:
before an edit, a file the server has not seen yet is opened with its old text, so its
problems are known and the ones the edit did not cause are marked as such; after it, the
changed files (the edited one, or for a command each open file whose text changed) are
synced and their diagnostics awaited for a bounded time, then added to the result the
model reads, to its ``details`` for the tool card, and to a ``DIAGNOSTICS`` event. A
``Read`` opens its file in the background. A language with no server installed is one
notice per session. ``HARNESS_LSP=off`` turns all of it off (the test suite does).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio

from harness_tui.core.lsp.client import LspServer, ServerFailed
from harness_tui.core.lsp.config import ServerSpec
from harness_tui.core.lsp.diagnostics import Problem, compare, for_model, problems_of

log = logging.getLogger(__name__)

#: Restart delays after crashes: 1 s, 2 s, 4 s ... up to a minute; given up after five.
BACKOFF_S = (1.0, 2.0, 4.0, 8.0, 16.0)
#: How long an edit waits for a server that is still starting.
START_WAIT_S = 20.0
#: A server's first answer (it loads the project and its libraries first) may take this
#: long whatever ``diagnosticsTimeoutMs`` says; later ones get the setting's bound.
COLD_TIMEOUT_S = 15.0
#: Files larger than this are not sent to a server.
MAX_FILE_BYTES = 2_000_000


def lsp_enabled() -> bool:
    return os.environ.get("HARNESS_LSP", "on").strip().lower() not in ("0", "off", "false", "no")


@dataclass
class ServerStatus:
    """A server as ``/lsp`` shows it."""

    name: str
    state: str
    languages: tuple[str, ...]
    source: str
    memory_kb: int | None = None
    last_error: str | None = None
    restarts: int = 0
    files: int = 0


@dataclass
class _Slot:
    spec: ServerSpec
    server: LspServer | None = None
    ready: anyio.Event | None = None
    failures: int = 0
    retry_at: float = 0.0
    restarts: int = 0


class LspManager:
    def __init__(
        self,
        cwd: Path,
        emit: Callable[..., Awaitable[Any]],
        specs: list[ServerSpec],
        *,
        trusted: Callable[[], bool],
        timeout_s: float = 2.0,
        warnings: bool = False,
        known_languages: dict[str, str] | None = None,
    ) -> None:
        self.cwd, self._emit, self._trusted = cwd, emit, trusted
        self.timeout_s, self.warnings = timeout_s, warnings
        self.enabled = lsp_enabled() and bool(specs or known_languages)
        self._slots: dict[str, _Slot] = {}
        self._by_extension: dict[str, tuple[_Slot, str]] = {}
        self.configure(specs)
        self._known = {k.lower(): v for k, v in (known_languages or {}).items()}
        self._texts: dict[Path, str] = {}
        #: Files read (their text then), for a server that is still starting: a command
        #: that changes one is compared with what was read.
        self._read_texts: dict[Path, str] = {}
        self._locks: dict[Path, anyio.Lock] = {}
        self._problems: dict[Path, list[Problem]] = {}
        self._told_missing: set[str] = set()
        self._group: anyio.abc.TaskGroup | None = None
        #: What was wrong with the server definitions (the session shows them).
        self.problems: list[str] = []

    def configure(self, specs: list[ServerSpec]) -> None:
        """Use ``specs`` (in priority order; again once the folder is trusted): new
        servers are added, a server not started yet takes its new definition, a running
        one keeps going."""
        for spec in specs:
            slot = self._slots.get(spec.name)
            if slot is None:
                self._slots[spec.name] = _Slot(spec)
            elif slot.server is None:
                slot.spec = spec
        order = [self._slots[spec.name] for spec in specs]
        order += [slot for slot in self._slots.values() if slot not in order]
        self._by_extension = {}
        for slot in order:  # the first definition of an extension wins
            for extension, language in slot.spec.extensions.items():
                self._by_extension.setdefault(extension.lower(), (slot, language))

    # --- life --------------------------------------------------------------------------

    def start(self, group: anyio.abc.TaskGroup) -> None:
        """Where background starts run (nothing starts now)."""
        self._group = group

    async def aclose(self) -> None:
        with anyio.CancelScope(shield=True):
            for slot in self._slots.values():
                if slot.server is not None:
                    await slot.server.stop()

    def status(self) -> list[ServerStatus]:
        rows = []
        for slot in self._slots.values():
            server = slot.server
            state = server.state if server is not None else "not started"
            if slot.spec.project and not self._trusted():
                state = "waiting for trust"
            rows.append(
                ServerStatus(
                    slot.spec.name,
                    state,
                    slot.spec.languages,
                    slot.spec.source,
                    server.memory_kb() if server is not None else None,
                    server.last_error if server is not None else None,
                    slot.restarts,
                    sum(1 for p in self._texts if self._slot_of(p) is slot),
                )
            )
        return rows

    def status_lines(self) -> list[str]:
        """``/lsp``: each server, its state, languages, memory and last error."""
        if not lsp_enabled():
            return ["Language servers are off (HARNESS_LSP=off)."]
        rows = self.status()
        if not rows:
            return [
                "No language server is installed or configured for this folder "
                "(see the README's Language servers section)."
            ]
        lines = ["Language servers (started when a file of their language is read or edited):"]
        for row in rows:
            memory = f", {row.memory_kb // 1024} MB" if row.memory_kb else ""
            restarts = f", restarted {row.restarts}x" if row.restarts else ""
            files = f", {row.files} open file{'s' if row.files != 1 else ''}" if row.files else ""
            lines.append(
                f"  {row.name}: {row.state} · {', '.join(row.languages)}{memory}{files}"
                f"{restarts} · {row.source}"
            )
            if row.last_error:
                lines.append(f"    last error: {row.last_error}")
        if self._told_missing:
            lines.append("  no server installed for: " + ", ".join(sorted(self._told_missing)))
        return lines

    # --- which server ------------------------------------------------------------------

    def _slot_of(self, path: Path) -> _Slot | None:
        found = self._by_extension.get(path.suffix.lower())
        return found[0] if found else None

    def language_of(self, path: Path) -> str | None:
        found = self._by_extension.get(path.suffix.lower())
        return found[1] if found else None

    async def server_for(self, path: Path, wait_s: float = START_WAIT_S) -> LspServer | None:
        """The ready server for ``path``'s language, started if need be (waiting up to
        ``wait_s``); None when there is none, it cannot start, or it waits for trust."""
        if not self.enabled:
            return None
        slot = self._slot_of(path)
        if slot is None:
            await self._tell_missing(path)
            return None
        return await self._running(slot, wait_s)

    async def _running(self, slot: _Slot, wait_s: float) -> LspServer | None:
        """``slot``'s server once ready, started if need be (see ``server_for``)."""
        if slot.spec.project and not self._trusted():
            return None
        server = slot.server
        if server is not None and server.state == "ready":
            return server
        if server is not None and server.state == "crashed" and slot.ready is not None:
            slot.ready = None  # it died: start it again (after the backoff)
            self._forget(slot)
        if slot.ready is None:
            if time.monotonic() < slot.retry_at or slot.failures >= len(BACKOFF_S):
                return None
            slot.ready = anyio.Event()
            await self._launch(slot)
        with anyio.move_on_after(wait_s):
            await slot.ready.wait()
        server = slot.server
        return server if server is not None and server.state == "ready" else None

    async def _launch(self, slot: _Slot) -> None:
        if slot.server is not None:
            slot.restarts += 1
        server = slot.server = LspServer(slot.spec, self.cwd)
        ready = slot.ready
        assert ready is not None

        async def run() -> None:
            try:
                await server.start()
                slot.failures = 0
            except ServerFailed as exc:
                slot.failures += 1
                slot.retry_at = time.monotonic() + BACKOFF_S[min(slot.failures, 5) - 1]
                await self._emit_notice(f"Language server {slot.spec.name}: {exc}")
            finally:
                ready.set()
            await server.exited.wait()
            if server.state == "crashed":  # not stopped by us
                slot.failures += 1
                slot.retry_at = time.monotonic() + BACKOFF_S[min(slot.failures, 5) - 1]
                await self._emit_notice(
                    f"Language server {slot.spec.name} stopped: {server.last_error}; "
                    "it is restarted when it is next needed"
                )

        if self._group is not None:
            self._group.start_soon(run)
        else:  # no session group (a bare manager in a test): start inline
            await run()

    def _forget(self, slot: _Slot) -> None:
        for path in [p for p in self._texts if self._slot_of(p) is slot]:
            self._texts.pop(path, None)

    async def _tell_missing(self, path: Path) -> None:
        language = self._known.get(path.suffix.lower())
        if language is None or language in self._told_missing:
            return
        self._told_missing.add(language)
        from harness_tui.core.lsp.servers import install_hint

        hint = install_hint(language)
        await self._emit_notice(
            f"No language server for {language} is installed, so edits to {path.suffix} "
            "files get no diagnostics"
            + (f" (install {hint})" if hint else " (see the README's Language servers)"),
            level="info",
        )

    async def _emit_notice(self, message: str, level: str = "warning") -> None:
        from harness_tui.core.events import Notice

        try:
            await self._emit(Notice, message=message, level=level)
        except Exception:  # the session is closing
            log.debug("notice not emitted: %s", message)

    # --- documents ---------------------------------------------------------------------

    async def open_in_background(self, path: Path) -> None:
        """A file was read: have its server start and see it, without waiting."""
        if not self.enabled or self._group is None or self._slot_of(path) is None:
            return
        text = _read(path)
        if text is not None:
            self._read_texts[path] = text
        self._group.start_soon(self._open_quietly, path)

    async def _open_quietly(self, path: Path) -> None:
        server = await self.server_for(path)
        if server is not None:
            await self._ensure_open(server, path)

    async def _ensure_open(self, server: LspServer, path: Path) -> None:
        """Open ``path`` on ``server`` once, with the text it was read with (else its
        present text), and note its problems: the baseline an edit is compared with."""
        lock = self._locks.setdefault(path, anyio.Lock())
        async with lock:
            if server.is_open(path):
                return
            text = self._read_texts.get(path)
            if text is None:
                text = _read(path)
            if text is not None:
                await self._sync(server, path, text)

    async def open_now(self, server: LspServer, path: Path) -> str | None:
        """Make sure the server has ``path``'s present text (for a navigation request);
        the text, or None when it cannot be read."""
        text = _read(path)
        if text is not None and self._texts.get(path) != text:
            server.sync(path, text, self.language_of(path) or "plaintext")
            self._texts[path] = text
        return text

    async def ready(self) -> list[LspServer]:
        """The running servers; when none runs yet, every server that may start."""
        running = [s.server for s in self._slots.values() if s.server and s.server.state == "ready"]
        if running:
            return running
        if not self.enabled:
            return []
        started = [await self._running(slot, START_WAIT_S) for slot in self._slots.values()]
        return [server for server in started if server is not None]

    @property
    def has_servers(self) -> bool:
        return self.enabled and bool(self._slots)

    async def before(self, paths: list[Path]) -> None:
        """Before an edit of ``paths``: each file its server has not seen is opened with
        its present text, and its problems noted (to mark them as old afterwards)."""
        if not self.enabled:
            return
        for path in paths:
            server = await self.server_for(path)
            if server is not None:
                await self._ensure_open(server, path)

    async def after(self, paths: list[Path]) -> dict[Path, list[Problem]]:
        """After a call changed ``paths``: their problems worth telling (see
        ``diagnostics.compare``); files without a server or an answer are left out."""
        found: dict[Path, list[Problem]] = {}
        if not self.enabled:
            return found
        for path in dict.fromkeys(paths):
            server = await self.server_for(path)
            if server is None:
                continue
            if path in self._read_texts:  # read, never synced yet: that text first
                await self._ensure_open(server, path)
            text = _read(path)
            if text is None or text == self._texts.get(path):
                continue
            before = self._problems.get(path) if server.is_open(path) else None
            problems = await self._sync(server, path, text)
            if problems is not None:
                found[path] = compare(problems, before, self.warnings)
        return found

    def changed_open_files(self) -> list[Path]:
        """Open files whose text on disk is no longer what the server has (a command
        changed them)."""
        known = {**self._read_texts, **self._texts}
        return [p for p, text in known.items() if _read(p) != text]

    async def _sync(self, server: LspServer, path: Path, text: str) -> list[Problem] | None:
        language = self.language_of(path) or "plaintext"
        seen = server.publish_count(path)
        version = server.sync(path, text, language)
        self._texts[path] = text
        timeout = self.timeout_s
        if not server.answered:
            timeout = max(timeout, COLD_TIMEOUT_S)
        diagnostics = await server.diagnostics(path, version, timeout, seen)
        if diagnostics is not None:
            server.answered = True
        if diagnostics is None:
            return None
        problems = problems_of(diagnostics, text)
        self._problems[path] = problems
        return problems

    def text_for_model(self, found: dict[Path, list[Problem]]) -> str:
        return for_model(found, self.cwd)


def _read(path: Path) -> str | None:
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            return None
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def as_event_files(found: dict[Path, list[Problem]], cwd: Path) -> list[dict[str, Any]]:
    """The ``DIAGNOSTICS`` event's ``files``: each path (relative) with its problems."""
    files = []
    for path, problems in found.items():
        try:
            name = str(path.relative_to(cwd))
        except ValueError:
            name = str(path)
        files.append({"path": name, "problems": [dataclasses.asdict(p) for p in problems]})
    return files


def session_lsp(session: Any) -> LspManager:
    """The language servers of ``session``: its folder's server definitions (the
    project's only once the folder is trusted: ``refresh`` then), its ``lsp`` settings.
    Nothing starts here."""
    from harness_tui.core.lsp.config import lsp_options
    from harness_tui.core.lsp.servers import known_server_table

    options, problems = lsp_options(session.settings)
    known = {
        str(extension): str(language)
        for entry in known_server_table()
        for extension, language in (entry.get("extensions") or {}).items()
    }
    manager = LspManager(
        session.cwd,
        session.emit,
        [],
        trusted=lambda: bool(session.trusted),
        timeout_s=options.timeout,
        warnings=options.include_warnings,
        known_languages=known if options.enabled else None,
    )
    manager.problems = problems
    if options.enabled and lsp_enabled():  # off: no program search either
        manager.problems += refresh(manager, session)
    else:
        manager.enabled = False
    return manager


def refresh(manager: LspManager, session: Any) -> list[str]:
    """Read the server definitions again (the folder became trusted); the problems."""
    from harness_tui.core.extensions.plugins.loader import plugin_roots
    from harness_tui.core.lsp.config import load_servers

    trusted = bool(session.trusted)
    roots = plugin_roots(session.cwd, include_project=trusted)
    specs, problems = load_servers(session.cwd, session.settings, roots, trusted)
    manager.configure(specs)
    return problems
