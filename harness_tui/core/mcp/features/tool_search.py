"""Tool search: large tool sets are loaded on demand.

When every tool definition together would take more than ``CONTEXT_SHARE`` of the
model's context window, a request carries only the core (non-deferrable) tools, the
``ToolSearch`` tool, the deferrable tools used most (in this and earlier sessions) and
those a search loaded. ``ToolSearch`` finds tools by name and description and keeps
what it found loaded for the rest of the session. Deferred tools stay callable: a model
that knows a name can call it without searching.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from harness_tui.core.config import paths
from harness_tui.core.config.files import ConfigFileError, load_config_file
from harness_tui.core.providers.base import ToolSpec
from harness_tui.core.tools.base import Tool, ToolContext, ToolResult, object_schema

log = logging.getLogger(__name__)

TOOL_SEARCH_NAME = "ToolSearch"
#: Share of the context window the tool definitions may take before search kicks in.
CONTEXT_SHARE = 0.10
#: Context window assumed when the model's is unknown.
DEFAULT_CONTEXT_WINDOW = 200_000
#: Deferrable tools always sent: the most used ones.
KEEP_MOST_USED = 5
USAGE_FILE = "tool_usage.json"
_WORD = re.compile(r"[a-z0-9]+")


def spec_tokens(spec: ToolSpec) -> int:
    """Rough token cost of one definition in a request (4 characters a token)."""
    text = json.dumps(
        {"name": spec.name, "description": spec.description, "input_schema": spec.input_schema}
    )
    return len(text) // 4 + 10


def _words(text: str) -> list[str]:
    # camelCase and snake_case alike: "getCurrentTime" -> get, current, time
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", text)
    return _WORD.findall(spaced.lower())


def _deferrable(tool: Tool | None) -> bool:
    return bool(getattr(tool, "deferrable", False))


class ToolSearch:
    """Which tools each request carries, for one session."""

    def __init__(self, usage_path: Path | None = None) -> None:
        self.usage_path = usage_path or paths.data_dir() / USAGE_FILE
        #: Loaded by a search, for the rest of the session.
        self.loaded: set[str] = set()
        #: Calls per deferrable tool, over sessions.
        self.usage: Counter[str] = self._read_usage()
        self._new_uses: Counter[str] = Counter()
        #: Whether the last request was cut down (the ToolSearch tool was offered).
        self.active = False

    def record_use(self, name: str) -> None:
        self.usage[name] += 1
        self._new_uses[name] += 1

    def select(
        self,
        specs: Sequence[ToolSpec],
        tools: Mapping[str, Tool],
        context_window: int | None,
        hidden: Iterable[str] = (),
    ) -> tuple[ToolSpec, ...]:
        """The definitions to send, from every allowed tool's ``specs``."""
        servers_hidden = tuple(h + "__" for h in hidden if h.startswith("mcp__"))
        offered = [
            s for s in specs if s.name != TOOL_SEARCH_NAME and not s.name.startswith(servers_hidden)
        ]
        search = next((s for s in specs if s.name == TOOL_SEARCH_NAME), None)
        budget = CONTEXT_SHARE * (context_window or DEFAULT_CONTEXT_WINDOW)
        deferrable = [s for s in offered if _deferrable(tools.get(s.name))]
        self.active = bool(
            search is not None and deferrable and sum(spec_tokens(s) for s in offered) > budget
        )
        if not self.active:
            return tuple(offered)
        keep = self.loaded | self.most_used({s.name for s in deferrable})
        chosen = [s for s in offered if s.name in keep or not _deferrable(tools.get(s.name))]
        return (*chosen, search)  # type: ignore[arg-type]

    def most_used(self, names: set[str]) -> set[str]:
        ranked = [n for n, count in self.usage.most_common() if n in names and count > 0]
        return set(ranked[:KEEP_MOST_USED])

    def search(self, query: str, tools: Mapping[str, Tool], limit: int) -> list[tuple[str, str]]:
        """Deferrable tools matching ``query`` (``select:a,b`` picks exact names), best
        first, as ``(name, description)``; they are loaded from now on."""
        candidates = {name: t for name, t in tools.items() if _deferrable(t)}
        query = query.strip()
        if query.startswith("select:"):
            wanted = [n.strip() for n in query[len("select:") :].split(",") if n.strip()]
            found = [n for n in wanted if n in candidates]
        else:
            words = set(_words(query))
            scored = []
            for name, tool in candidates.items():
                score = _score(words, name, str(tool.description))
                if score:
                    scored.append((-score, name))
            found = [name for _, name in sorted(scored)[:limit]]
        self.loaded.update(found)
        return [(n, str(candidates[n].description)) for n in found]

    def _read_usage(self) -> Counter[str]:
        try:
            data = load_config_file(self.usage_path, json_format=True)
        except FileNotFoundError:
            return Counter()
        except ConfigFileError as exc:
            log.warning("%s; tool usage starts afresh", exc)
            return Counter()
        if not isinstance(data, dict):
            return Counter()
        return Counter({k: v for k, v in data.items() if isinstance(v, int) and v > 0})

    def save_usage(self) -> None:
        """Add this session's uses to the usage file (read again first: other sessions
        may have written it meanwhile)."""
        if not self._new_uses:
            return
        merged = self._read_usage() + self._new_uses
        self._new_uses = Counter()
        try:
            self.usage_path.parent.mkdir(parents=True, exist_ok=True)
            temporary = self.usage_path.with_suffix(f".{os.getpid()}.tmp")
            temporary.write_text(json.dumps(dict(merged.most_common(500))), encoding="utf-8")
            os.replace(temporary, self.usage_path)
        except OSError as exc:
            log.warning("cannot write %s: %s", self.usage_path, exc)


def _score(words: set[str], name: str, description: str) -> int:
    name_words = set(_words(name)) - {"mcp"}
    described = set(_words(description))
    score = 0
    for word in words:
        if word in name_words:
            score += 10
        elif any(word in part for part in name_words):
            score += 5
        if word in described:
            score += 2
    return score


class ToolSearchTool(Tool):
    """Finds deferred tools and loads them."""

    name = TOOL_SEARCH_NAME
    read_only = True
    concurrency_safe = True
    input_schema = object_schema(
        properties={
            "query": {
                "type": "string",
                "description": "Keywords for what the tool should do (e.g. 'convert time "
                "zone'), or 'select:NAME1,NAME2' to load tools by exact name.",
            },
            "max_results": {"type": "integer", "minimum": 1, "maximum": 20, "default": 5},
        },
        required=["query"],
    )

    def __init__(self, state: ToolSearch, tools: Mapping[str, Tool]) -> None:
        self.state = state
        self.tools = tools

    @property
    def description(self) -> str:  # type: ignore[override]
        deferred = [t for t in self.tools.values() if _deferrable(t)]
        servers = sorted({str(getattr(t, "server", "")) for t in deferred} - {""})
        where = f" from MCP servers {', '.join(servers)}" if servers else ""
        return (
            f"Search the {len(deferred)} tools{where} that are not loaded yet, by what they "
            "do. Found tools can be called from your next step on. Search before telling "
            "the user that a capability is missing."
        )

    async def run(self, input: dict[str, Any], ctx: ToolContext) -> ToolResult:
        found = self.state.search(input["query"], self.tools, int(input.get("max_results", 5)))
        if not found:
            return ToolResult(
                content=f"No tool matches {input['query']!r}. Try other words.",
                display="no match",
            )
        lines = [f"- {name}: {' '.join(about.split())[:300]}" for name, about in found]
        return ToolResult(
            content="Loaded these tools; call them directly:\n" + "\n".join(lines),
            display=", ".join(name for name, _ in found),
            details={"loaded": [name for name, _ in found]},
        )
