"""One running language server, driven with ``pygls``'s ``LanguageClient`` and
``lsprotocol`` types (no hand-written JSON-RPC).

The server runs in a process group of its own with the harness's call marker (as tools
and hooks do), so ending it ends what it started; its stderr is drained into a short
tail kept for ``/lsp``'s "last error". Documents are synced whole (``didOpen`` once,
then ``didChange`` with the full text and ``didSave``). Diagnostics are pulled
(``textDocument/diagnostic``) when the server offers it, which answers for exactly the
text sent; otherwise the next ``publishDiagnostics`` for the document's new version (or,
from a server that sends no versions, the next one after the change) is waited for, up
to a bound. Requests the server sends us (``workspace/configuration``,
``client/registerCapability``, progress) are answered so that servers that wait on them
go on.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio

if TYPE_CHECKING:
    from lsprotocol import types as lsp

    from harness_tui.core.lsp.config import ServerSpec

log = logging.getLogger(__name__)

#: How long ``initialize`` may take (a cold TypeScript server takes a few seconds).
START_TIMEOUT_S = 60.0
#: Lines of the server's stderr kept for ``/lsp``.
STDERR_LINES = 20


class ServerFailed(Exception):
    """The server could not start, or died: the message says which and why."""


class LspServer:
    """A language server for ``spec`` in the workspace ``root``."""

    def __init__(self, spec: ServerSpec, root: Path) -> None:
        self.spec, self.root = spec, root
        self.state = "stopped"  # starting, ready, crashed, stopped
        self.started_at: float | None = None
        self.stderr_tail: collections.deque[str] = collections.deque(maxlen=STDERR_LINES)
        self.last_error: str | None = None
        self._client: Any = None
        self._group: Any = None
        self._versions: dict[str, int] = {}
        self._published: dict[str, tuple[int | None, list[lsp.Diagnostic]]] = {}
        self._publish_seen: dict[str, int] = {}
        self._changed = anyio.Event()
        self._capabilities: Any = None
        self.exited = anyio.Event()
        #: Whether it has answered with diagnostics once (its first answer is the slow one).
        self.answered = False

    # --- life --------------------------------------------------------------------------

    @property
    def pid(self) -> int | None:
        server = getattr(self._client, "_server", None)
        return server.pid if server is not None else None

    def memory_kb(self) -> int | None:
        """Resident memory of the server's whole process group (a launcher script and
        the runtime it starts), from Linux's ``/proc``; None elsewhere."""
        pid = self.pid
        if pid is None:
            return None
        total, found = 0, False
        try:
            entries = list(Path("/proc").iterdir())
        except OSError:
            return None
        for entry in entries:
            if not entry.name.isdigit():
                continue
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if int(fields[2]) != pid:  # its process group
                    continue
                for line in (entry / "status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
                        found = True
            except (OSError, ValueError, IndexError):
                continue
        return total if found else None

    async def start(self) -> None:
        """Start the process and initialize it; ``ServerFailed`` naming the reason."""
        from lsprotocol import types as lsp
        from pygls.lsp.client import LanguageClient

        from harness_tui.core.processes.group import ProcessGroup
        from harness_tui.core.processes.tree import MARKER_ENV, become_subreaper, new_marker

        self.state = "starting"
        self.started_at = time.monotonic()
        client = LanguageClient("harness-tui", "1")
        self._client = client
        self._install_handlers(client)
        become_subreaper()
        marker = new_marker()
        env = {**os.environ, **self.spec.env, MARKER_ENV: marker}
        command, *args = self.spec.command
        try:
            await client.start_io(
                command, *args, cwd=str(self.root), env=env, start_new_session=True
            )
        except OSError as exc:
            self.state = "crashed"
            self.last_error = f"cannot start {command}: {exc.strerror or exc}"
            raise ServerFailed(self.last_error) from None
        server = client._server
        self._group = ProcessGroup(server, marker)  # type: ignore[arg-type]  # duck: pid, returncode
        asyncio.get_running_loop().create_task(self._drain_stderr(server))
        asyncio.get_running_loop().create_task(self._watch_exit(server))
        params = lsp.InitializeParams(
            process_id=os.getpid(),
            root_uri=self.root.as_uri(),
            root_path=str(self.root),
            workspace_folders=[lsp.WorkspaceFolder(uri=self.root.as_uri(), name=self.root.name)],
            initialization_options=self.spec.initialization_options,
            capabilities=_capabilities(),
            client_info=lsp.ClientInfo(name="harness-tui"),
        )
        try:
            with anyio.fail_after(START_TIMEOUT_S):
                result = await client.initialize_async(params)
        except Exception as exc:
            await self.stop()
            self.state = "crashed"
            why = "did not answer initialize in time" if isinstance(exc, TimeoutError) else exc
            self.last_error = f"{self.spec.name}: {why}{self._stderr_hint()}"
            raise ServerFailed(self.last_error) from None
        self._capabilities = result.capabilities
        client.initialized(lsp.InitializedParams())
        if self.spec.settings:
            client.workspace_did_change_configuration(
                lsp.DidChangeConfigurationParams(settings=self.spec.settings)
            )
        self.state = "ready"

    def _stderr_hint(self) -> str:
        tail = [line for line in self.stderr_tail if line.strip()]
        return f" (stderr: {tail[-1][:300]})" if tail else ""

    async def _drain_stderr(self, server: Any) -> None:
        try:
            while line := await server.stderr.readline():
                self.stderr_tail.append(line.decode("utf-8", "replace").rstrip())
        except Exception:  # the pipe closed with the process
            return

    async def _watch_exit(self, server: Any) -> None:
        code = await server.wait()
        if self.state in ("ready", "starting"):
            self.state = "crashed"
            self.last_error = f"{self.spec.name} exited with code {code}{self._stderr_hint()}"
        self.exited.set()
        self._changed.set()  # a waiter for diagnostics stops waiting

    async def stop(self) -> None:
        """Ask the server to shut down, then end its whole process group."""
        client, self._client = self._client, None
        if self.state != "crashed":
            self.state = "stopped"
        if client is None:
            return
        with anyio.CancelScope(shield=True):
            if client._server is not None and client._server.returncode is None:
                with anyio.move_on_after(1.0):
                    try:
                        await client.shutdown_async(None)
                        client.exit(None)
                    except Exception:
                        pass
            if self._group is not None:
                await self._group.kill(grace_s=0.5)
            with anyio.move_on_after(1.0):
                await client.stop()

    # --- what the server sends ---------------------------------------------------------

    def _install_handlers(self, client: Any) -> None:
        from lsprotocol import types as lsp

        @client.feature(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def published(params: lsp.PublishDiagnosticsParams) -> None:
            self._published[params.uri] = (params.version, list(params.diagnostics))
            self._publish_seen[params.uri] = self._publish_seen.get(params.uri, 0) + 1
            self._changed.set()
            self._changed = anyio.Event()

        @client.feature(lsp.WORKSPACE_CONFIGURATION)
        def configuration(params: lsp.ConfigurationParams) -> list[Any]:
            return [self._setting(item.section) for item in params.items]

        def ignore(params: Any) -> None:
            return None

        # Requests a server waits on (answered with null) and notifications we do not use.
        for method in (
            lsp.CLIENT_REGISTER_CAPABILITY,
            lsp.WINDOW_WORK_DONE_PROGRESS_CREATE,
            lsp.WINDOW_SHOW_MESSAGE_REQUEST,
            lsp.WINDOW_LOG_MESSAGE,
            lsp.WINDOW_SHOW_MESSAGE,
            lsp.PROGRESS,
        ):
            client.feature(method)(ignore)

    def _setting(self, section: str | None) -> Any:
        value: Any = self.spec.settings or {}
        for part in (section or "").split("."):
            if not part:
                continue
            value = value.get(part) if isinstance(value, dict) else None
        return value

    # --- documents ---------------------------------------------------------------------

    def is_open(self, path: Path) -> bool:
        return path.as_uri() in self._versions

    def sync(self, path: Path, text: str, language: str) -> int:
        """Tell the server the document's text (opening it the first time); its new
        version."""
        from lsprotocol import types as lsp

        client = self._require()
        uri = path.as_uri()
        version = self._versions.get(uri)
        if version is None:
            version = 1
            item = lsp.TextDocumentItem(uri=uri, language_id=language, version=1, text=text)
            client.text_document_did_open(lsp.DidOpenTextDocumentParams(text_document=item))
        else:
            version += 1
            document = lsp.VersionedTextDocumentIdentifier(uri=uri, version=version)
            change = lsp.TextDocumentContentChangeWholeDocument(text=text)
            client.text_document_did_change(
                lsp.DidChangeTextDocumentParams(text_document=document, content_changes=[change])
            )
            client.text_document_did_save(
                lsp.DidSaveTextDocumentParams(
                    text_document=lsp.TextDocumentIdentifier(uri=uri), text=text
                )
            )
        self._versions[uri] = version
        return version

    def publish_count(self, path: Path) -> int:
        return self._publish_seen.get(path.as_uri(), 0)

    async def diagnostics(
        self, path: Path, version: int, timeout_s: float, seen_before: int
    ) -> list[lsp.Diagnostic] | None:
        """The diagnostics of ``path`` at ``version``: pulled when the server can, else
        the first published for that version (or after ``seen_before`` publications,
        for a server that sends no version). None when none came within ``timeout_s``."""
        from lsprotocol import types as lsp

        client = self._require()
        uri = path.as_uri()
        with anyio.move_on_after(timeout_s):
            if getattr(self._capabilities, "diagnostic_provider", None) is not None:
                try:
                    report = await client.text_document_diagnostic_async(
                        lsp.DocumentDiagnosticParams(text_document=lsp.TextDocumentIdentifier(uri))
                    )
                except Exception as exc:  # fall back on what is pushed
                    log.debug("pull diagnostics failed: %s", exc)
                else:
                    items = getattr(report, "items", None)
                    if items is not None:
                        return list(items)
            while True:
                found = self._published.get(uri)
                if found is not None:
                    published_version, items = found
                    if published_version == version or (
                        published_version is None and self._publish_seen.get(uri, 0) > seen_before
                    ):
                        return items
                if self.exited.is_set():
                    return None
                await self._changed.wait()
        return None

    # --- navigation --------------------------------------------------------------------

    def _require(self) -> Any:
        if self._client is None or self.state != "ready":
            raise ServerFailed(f"{self.spec.name} is not running ({self.state})")
        return self._client

    async def request(self, method: str, params: Any, timeout_s: float = 30.0) -> Any:
        """A request by its LSP method name (``textDocument/definition``, ...)."""
        client = self._require()
        with anyio.fail_after(timeout_s):
            return await client.protocol.send_request_async(method, params)


def _capabilities() -> lsp.ClientCapabilities:
    from lsprotocol import types as lsp

    return lsp.ClientCapabilities(
        workspace=lsp.WorkspaceClientCapabilities(
            configuration=True,
            workspace_folders=True,
            symbol=lsp.WorkspaceSymbolClientCapabilities(),
        ),
        text_document=lsp.TextDocumentClientCapabilities(
            synchronization=lsp.TextDocumentSyncClientCapabilities(did_save=True),
            publish_diagnostics=lsp.PublishDiagnosticsClientCapabilities(version_support=True),
            diagnostic=lsp.DiagnosticClientCapabilities(),
            definition=lsp.DefinitionClientCapabilities(link_support=False),
            references=lsp.ReferenceClientCapabilities(),
            hover=lsp.HoverClientCapabilities(
                content_format=[lsp.MarkupKind.PlainText, lsp.MarkupKind.Markdown]
            ),
            document_symbol=lsp.DocumentSymbolClientCapabilities(
                hierarchical_document_symbol_support=True
            ),
        ),
        window=lsp.WindowClientCapabilities(work_done_progress=True),
    )
