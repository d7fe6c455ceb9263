"""The tool executor's seam to the language servers (``ToolExecutor.lsp``): around each
call that can change files, and after each ``Read``.

An edit tool's files are its path fields; after a command (``exec``), the files the
servers have open whose text changed. New problems are appended to the result the model
reads, listed in its ``details["diagnostics"]`` for the tool card, and reported as a
``DIAGNOSTICS`` event (also when the change is clean: the views can say so).
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness_tui.core.lsp.manager import LspManager
    from harness_tui.core.tools.base import Tool, ToolContext, ToolResult


class EditWatch:
    def __init__(self, manager: LspManager) -> None:
        self.manager = manager

    def _paths(self, tool: Tool, input: dict[str, Any], cwd: Path) -> list[Path]:
        from harness_tui.core.tools.base import input_path

        found = []
        for name in tool.path_fields:
            raw = input.get(name)
            if isinstance(raw, str) and raw:
                try:
                    found.append(input_path(cwd, raw))
                except ValueError:
                    continue
        return found

    async def before(self, tool: Tool, input: dict[str, Any], ctx: ToolContext) -> None:
        if self.manager.enabled and tool.access_kind == "edit":
            await self.manager.before(self._paths(tool, input, ctx.cwd))

    async def after(
        self, tool: Tool, input: dict[str, Any], ctx: ToolContext, result: ToolResult
    ) -> ToolResult:
        manager = self.manager
        if not manager.enabled:
            return result
        kind = tool.access_kind
        if kind == "read" and tool.name == "Read" and not result.is_error:
            for path in self._paths(tool, input, ctx.cwd):
                await manager.open_in_background(path)
            return result
        if kind == "edit" and not result.is_error:
            changed = self._paths(tool, input, ctx.cwd)
        elif kind == "exec":
            changed = manager.changed_open_files()
        else:
            return result
        if not changed:
            return result
        started = time.perf_counter()
        found = await manager.after(changed)
        if not found:
            return result
        from harness_tui.core.events import Diagnostics
        from harness_tui.core.lsp.manager import as_event_files

        files = as_event_files(found, ctx.cwd)
        problems = [p for ps in found.values() for p in ps]
        new = sum(1 for p in problems if not p.preexisting)
        await ctx.emit(
            Diagnostics,
            tool_call_id=ctx.tool_call_id,
            files=files,
            new=new,
            preexisting=len(problems) - new,
            duration_ms=round((time.perf_counter() - started) * 1000, 1),
        )
        text = manager.text_for_model(found)
        details = {**result.details, "diagnostics": files}
        return dataclasses.replace(result, content=result.content + text, details=details)
