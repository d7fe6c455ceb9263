"""The ``LSP`` tool: the model asks the language servers about code, read-only.

Operations: ``definition``, ``references``, ``hover``, ``document_symbols`` (of a file)
and ``workspace_symbols`` (by name). A position is a file and a 1-based ``line`` and
``character``, or a file and a ``symbol`` name (its first occurrence in the file as a
whole word), or for ``definition``/``references`` a ``symbol`` alone (found with the
workspace symbol search). Results name files relative to the workspace, with a few lines
of context. Read's permission rules hold: the file asked about must be readable, and
locations in files a ``Read`` deny rule covers are left out.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, ClassVar

from harness_tui.core.lsp.client import ServerFailed
from harness_tui.core.lsp.manager import LspManager
from harness_tui.core.tools.base import Tool, ToolContext, ToolResult, input_path, object_schema

OPERATIONS = ("definition", "references", "hover", "document_symbols", "workspace_symbols")
#: Most locations listed in one answer.
MAX_RESULTS = 50
#: Lines shown before and after each location.
CONTEXT_LINES = 1
_KINDS = {
    5: "class",
    6: "method",
    8: "field",
    9: "constructor",
    10: "enum",
    11: "interface",
    12: "function",
    13: "variable",
    14: "constant",
    23: "struct",
    26: "type parameter",
}


class LspTool(Tool):
    name: ClassVar[str] = "LSP"
    description: ClassVar[str] = (
        "Ask the language server about code (read-only). operation: definition, "
        "references, hover (type and docs), document_symbols (outline of file_path), "
        "workspace_symbols (find by name: query). Give a position as file_path with line "
        "and character (1-based), or file_path with symbol (its first use in the file), "
        "or just symbol for definition/references. Paths are relative to the workspace."
    )
    input_schema: ClassVar[dict[str, Any]] = object_schema(
        {
            "operation": {"type": "string", "enum": list(OPERATIONS)},
            "file_path": {"type": "string", "description": "the file, relative or absolute"},
            "line": {"type": "integer", "minimum": 1},
            "character": {"type": "integer", "minimum": 1},
            "symbol": {"type": "string", "description": "a name to look up"},
            "query": {"type": "string", "description": "workspace_symbols: a name or part"},
        },
        ["operation"],
    )
    read_only: ClassVar[bool] = True
    concurrency_safe: ClassVar[bool] = True
    path_fields: ClassVar[tuple[str, ...]] = ("file_path",)

    def __init__(self, manager: LspManager) -> None:
        self.manager = manager

    async def run(self, input: dict[str, Any], ctx: ToolContext) -> ToolResult:
        try:
            return ToolResult(content=await self._answer(input, ctx))
        except (ServerFailed, LookupError, ValueError) as exc:
            return ToolResult.error(str(exc))
        except TimeoutError:
            return ToolResult.error("the language server did not answer in time; try again")

    async def _answer(self, input: dict[str, Any], ctx: ToolContext) -> str:
        from lsprotocol import types as lsp

        operation = input["operation"]
        path = input_path(ctx.cwd, input["file_path"]) if input.get("file_path") else None
        if path is not None and ctx.read_denied is not None and ctx.read_denied(path):
            raise ValueError(f"{input['file_path']}: reading it is denied by a Read rule")
        if operation == "workspace_symbols":
            query = input.get("query") or input.get("symbol")
            if not query:
                raise ValueError("workspace_symbols needs a query (a name or part of one)")
            found = await self._symbols_named(query, path)
            return (
                self._list(found, ctx, f"symbols matching {query!r}")
                if found
                else (f"No symbol matches {query!r}.")
            )
        if path is None:
            if operation in ("definition", "references") and input.get("symbol"):
                return await self._by_name(operation, input["symbol"], ctx)
            raise ValueError(f"{operation} needs file_path (and line and character, or symbol)")
        server, text = await self._open(path)
        document = lsp.TextDocumentIdentifier(uri=path.as_uri())
        if operation == "document_symbols":
            result = await server.request(
                lsp.TEXT_DOCUMENT_DOCUMENT_SYMBOL, lsp.DocumentSymbolParams(text_document=document)
            )
            return self._outline(result or [], path, ctx)
        position = self._position(input, text)
        if operation == "hover":
            hover = await server.request(
                lsp.TEXT_DOCUMENT_HOVER,
                lsp.HoverParams(text_document=document, position=position),
            )
            return _hover_text(hover) or "The server has nothing to say about that position."
        if operation == "definition":
            result = await server.request(
                lsp.TEXT_DOCUMENT_DEFINITION,
                lsp.DefinitionParams(text_document=document, position=position),
            )
        else:
            result = await server.request(
                lsp.TEXT_DOCUMENT_REFERENCES,
                lsp.ReferenceParams(
                    text_document=document,
                    position=position,
                    context=lsp.ReferenceContext(include_declaration=True),
                ),
            )
        locations = _locations(result)
        if not locations:
            return f"No {operation} found at that position."
        return self._list([("", loc) for loc in locations], ctx, operation)

    async def _open(self, path: Path) -> tuple[Any, str]:
        server = await self.manager.server_for(path)
        if server is None:
            raise LookupError(
                f"no language server for {path.suffix or path.name} files is running (see /lsp)"
            )
        text = await self.manager.open_now(server, path)
        if text is None:
            raise ValueError(f"{path} cannot be read as text")
        return server, text

    def _position(self, input: dict[str, Any], text: str) -> Any:
        from lsprotocol import types as lsp

        if input.get("line"):
            return lsp.Position(line=input["line"] - 1, character=(input.get("character") or 1) - 1)
        symbol = input.get("symbol")
        if not symbol:
            raise ValueError("give line and character, or symbol, for a position")
        match = re.search(rf"(?<![\w$]){re.escape(symbol)}(?![\w$])", text)
        if match is None:
            raise LookupError(f"{symbol!r} does not occur in the file")
        line = text.count("\n", 0, match.start())
        column = match.start() - (text.rfind("\n", 0, match.start()) + 1)
        return lsp.Position(line=line, character=column)

    async def _symbols_named(self, query: str, path: Path | None) -> list[tuple[str, Any]]:
        from lsprotocol import types as lsp

        servers = [await self.manager.server_for(path)] if path else await self.manager.ready()
        found: list[tuple[str, Any]] = []
        for server in servers:
            if server is None:
                continue
            result = await server.request(
                lsp.WORKSPACE_SYMBOL, lsp.WorkspaceSymbolParams(query=query)
            )
            for symbol in result or []:
                kind = _KINDS.get(int(symbol.kind), "symbol")
                found.append((f"{kind} {symbol.name}", symbol.location))
        exact = [f for f in found if f[0].split(" ")[-1] == query]
        return (exact or found)[:MAX_RESULTS]

    async def _by_name(self, operation: str, symbol: str, ctx: ToolContext) -> str:
        from lsprotocol import types as lsp

        found = await self._symbols_named(symbol, None)
        if not found:
            raise LookupError(
                f"no symbol named {symbol!r} in the workspace (servers index files they "
                "know: give file_path too)"
            )
        if operation == "definition":
            return self._list(found, ctx, f"definition of {symbol}")
        location = found[0][1]
        path = Path(_path_of(location.uri))
        server, _ = await self._open(path)
        result = await server.request(
            lsp.TEXT_DOCUMENT_REFERENCES,
            lsp.ReferenceParams(
                text_document=lsp.TextDocumentIdentifier(uri=location.uri),
                position=location.range.start,
                context=lsp.ReferenceContext(include_declaration=True),
            ),
        )
        locations = _locations(result)
        return self._list([("", loc) for loc in locations], ctx, f"references to {symbol}")

    def _list(self, found: list[tuple[str, Any]], ctx: ToolContext, what: str) -> str:
        blocks = []
        hidden = 0
        for label, location in found[:MAX_RESULTS]:
            path = Path(_path_of(location.uri))
            if ctx.read_denied is not None and ctx.read_denied(path):
                hidden += 1
                continue
            start = location.range.start
            head = f"{_relative(path, ctx.cwd)}:{start.line + 1}:{start.character + 1}"
            blocks.append(
                (f"{head} {label}" if label else head) + "\n" + _context(path, start.line)
            )
        more = len(found) - MAX_RESULTS
        tail = [f"... and {more} more"] if more > 0 else []
        if hidden:
            tail.append(f"({hidden} in files a Read rule denies: not shown)")
        return f"{len(blocks)} {what}:\n\n" + "\n\n".join(blocks + tail)

    def _outline(self, symbols: list[Any], path: Path, ctx: ToolContext) -> str:
        lines: list[str] = []

        def walk(items: list[Any], depth: int) -> None:
            for item in items:
                where = getattr(item, "range", None) or item.location.range
                kind = _KINDS.get(int(item.kind), "symbol")
                lines.append(f"{'  ' * depth}{kind} {item.name} (line {where.start.line + 1})")
                walk(getattr(item, "children", None) or [], depth + 1)

        walk(symbols, 0)
        name = _relative(path, ctx.cwd)
        return f"Outline of {name}:\n" + "\n".join(lines[:200]) if lines else f"{name}: no symbols"


def _locations(result: Any) -> list[Any]:
    if result is None:
        return []
    items = list(result) if isinstance(result, list | tuple) else [result]
    found = []
    for item in items:
        if hasattr(item, "target_uri"):  # a LocationLink
            from lsprotocol import types as lsp

            item = lsp.Location(uri=item.target_uri, range=item.target_selection_range)
        found.append(item)
    return found


def _hover_text(hover: Any) -> str:
    if hover is None:
        return ""
    contents = hover.contents
    items = list(contents) if isinstance(contents, list | tuple) else [contents]
    parts = []
    for item in items:
        value = getattr(item, "value", item)
        parts.append(str(value))
    return "\n\n".join(p for p in parts if p.strip())


def _path_of(uri: str) -> str:
    from urllib.parse import unquote, urlparse

    return unquote(urlparse(uri).path)


def _relative(path: Path, cwd: Path) -> str:
    try:
        return str(path.relative_to(cwd))
    except ValueError:
        return str(path)


def _context(path: Path, line: int) -> str:
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    start, end = max(0, line - CONTEXT_LINES), min(len(lines), line + CONTEXT_LINES + 1)
    return "\n".join(
        f"{'>' if i == line else ' '} {i + 1:>5}  {lines[i]}" for i in range(start, end)
    )
