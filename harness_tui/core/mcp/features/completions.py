"""What the input box may complete from MCP servers: ``@server:uri`` mentions of
resources and resource templates, and the arguments of prompt commands.

The functions only read what is typed: which resources and templates fit a word, and
which argument of which prompt or template is being filled (a ``CompletionQuery``).
``Completions`` asks the server for that argument's values (``completion/complete``).

Templates are filled in place: ``@notes:notes://{day}/{topic}`` is offered as
``@notes:notes://``; what follows is read as the value of ``day`` until the next
literal (``/``) is typed, then as the value of ``topic``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import anyio

if TYPE_CHECKING:
    from harness_tui.core.mcp.connection import ServerConnection

log = logging.getLogger(__name__)

#: How long the input box's question for completions may take.
COMPLETION_TIMEOUT_S = 5.0

#: ``{name}``, ``{+path}``, ``{?q,lang}`` (RFC 6570 operators are read past).
_VARIABLE = re.compile(r"\{([+#./;?&]?)([^}]*)\}")


@dataclass(frozen=True)
class CompletionQuery:
    """One argument being filled: ask ``server`` for values of ``argument`` starting
    with ``value``. A chosen value ``v`` is inserted as ``prefix + v + suffix``."""

    server: str
    kind: Literal["prompt", "template"]
    #: The prompt's name or the template's URI template.
    ref: str
    argument: str
    value: str
    #: Arguments already filled (``completion/complete``'s ``context.arguments``).
    context: tuple[tuple[str, str], ...] = ()
    prefix: str = ""
    suffix: str = ""

    def insertion(self, value: str) -> str:
        return f"{self.prefix}{value}{self.suffix}"


def template_parts(template: str) -> list[str | tuple[str]]:
    """A URI template as literals (``str``) and variables (a 1-tuple with the name)."""
    parts: list[str | tuple[str]] = []
    position = 0
    for match in _VARIABLE.finditer(template):
        parts.append(template[position : match.start()])
        name = match.group(2).split(",")[0].split(":")[0].rstrip("*")
        parts.append((name,))
        position = match.end()
    parts.append(template[position:])
    return parts


def literal_prefix(template: str) -> str:
    """What every URI of the template starts with (up to its first variable)."""
    first = template_parts(template)[0]
    return first if isinstance(first, str) else ""


def template_variables(template: str) -> list[str]:
    return [p[0] for p in template_parts(template) if isinstance(p, tuple)]


@dataclass(frozen=True)
class TemplateFill:
    """How far ``typed`` fills a template: the variables given, the one being typed
    (None when the typing is inside a literal, or all are given), its value so far,
    what precedes it and the literal that follows it."""

    filled: tuple[tuple[str, str], ...]
    current: str | None
    value: str
    before: str
    after: str


def fill_template(template: str, typed: str) -> TemplateFill | None:
    """Read ``typed`` (the start of a URI) against ``template``; None when it cannot
    be a URI of the template."""
    parts = template_parts(template)
    filled: list[tuple[str, str]] = []
    position = 0
    for index, part in enumerate(parts):
        rest = typed[position:]
        if isinstance(part, str):
            if rest.startswith(part):
                position += len(part)
                continue
            if part.startswith(rest):  # typing ends inside this literal
                return TemplateFill(tuple(filled), None, "", typed, "")
            return None
        following = parts[index + 1] if index + 1 < len(parts) else ""
        assert isinstance(following, str)
        end = rest.find(following) if following else -1
        if end < 0:  # the value is still being typed
            return TemplateFill(tuple(filled), part[0], rest, typed[:position], following)
        filled.append((part[0], rest[:end]))
        position += end
    return TemplateFill(tuple(filled), None, "", typed, "")


def mention_options(
    servers: Iterable[tuple[str, Any]], word: str, limit: int
) -> tuple[list[tuple[str, str]], CompletionQuery | None]:
    """For ``word`` (starting with ``@``): the mentions of resources and templates it
    may be the start of, as (text to insert, label), and the template argument being
    filled, if any. ``servers``: (name, listing) of the servers that are up."""
    typed = word[1:]
    server_typed, colon, uri_typed = typed.partition(":")
    options: list[tuple[str, str]] = []
    query: CompletionQuery | None = None
    for name, listing in servers:
        if colon and name != server_typed:
            continue
        if not colon and not name.startswith(server_typed):
            continue
        for resource in listing.resources:
            uri = str(resource.uri)
            if uri.startswith(uri_typed):
                about = resource.description or resource.name or ""
                options.append((f"@{name}:{uri}", f"@{name}:{uri}  {about}".rstrip()))
        for template in listing.templates:
            pattern = str(template.uri_template)
            about = template.description or template.name or ""
            start = literal_prefix(pattern)
            if start.startswith(uri_typed) and (start != uri_typed or not colon):
                label = f"@{name}:{pattern}  {about}".rstrip()
                options.append((f"@{name}:{start}", label))
                continue
            if not colon or query is not None:
                continue
            fill = fill_template(pattern, uri_typed)
            if fill is None or fill.current is None:
                continue
            query = CompletionQuery(
                server=name,
                kind="template",
                ref=pattern,
                argument=fill.current,
                value=fill.value,
                context=fill.filled,
                prefix=f"@{name}:{fill.before}",
                suffix=fill.after,
            )
    return options[:limit], query


def prompt_query(
    line: str, server: str, prompt_name: str, arguments: list[Any]
) -> CompletionQuery | None:
    """The argument being typed in ``line`` (``/mcp__server__prompt a b c``): values
    are separated by spaces, so only single words are completed (the last argument,
    which takes the rest of the line, only while it is one word)."""
    _, _, rest = line.partition(" ")
    words = rest.split()  # as the command reads them (runs of spaces separate once)
    if not words or rest[-1:].isspace():
        words.append("")  # a new argument is started
    index = len(words) - 1
    if index >= len(arguments):
        return None
    context = tuple((arguments[i].name, words[i]) for i in range(index))
    last = index == len(arguments) - 1
    return CompletionQuery(
        server=server,
        kind="prompt",
        ref=prompt_name,
        argument=arguments[index].name,
        value=words[index],
        context=context,
        suffix="" if last else " ",
    )


class Completions:
    """The input box's questions to one session's servers."""

    def __init__(self, connections: Mapping[str, ServerConnection]) -> None:
        #: The manager's own mapping (a restarted server's new connection shows here).
        self.connections = connections

    def mention_options(
        self, word: str, limit: int = 12
    ) -> tuple[list[tuple[str, str]], CompletionQuery | None]:
        """For an ``@`` word: the resources and templates of ready servers it may start,
        as (text to insert, label), and the template argument being typed, if any."""
        ready = [(c.name, c.listing) for c in self.connections.values() if c.status == "ready"]
        return mention_options(ready, word, limit)

    def prompt_query(self, line: str) -> CompletionQuery | None:
        """For ``/mcp__server__prompt arg ...``: the argument being typed, if any."""
        command = line[1:].partition(" ")[0]
        _, _, rest = command.partition("mcp__")
        server, _, name = rest.partition("__")
        connection = self.connections.get(server)
        if connection is None:
            return None
        prompt = next((p for p in connection.listing.prompts if p.name == name), None)
        if prompt is None:
            return None
        return prompt_query(line, server, name, list(prompt.arguments or ()))

    def offered_by(self, server: str) -> bool:
        """Whether ``server`` is up and offers completions (else it is not asked)."""
        connection = self.connections.get(server)
        return connection is not None and connection.supports("completions")

    async def complete(self, query: CompletionQuery) -> list[str]:
        """The server's values for ``query``; none when the server does not offer
        completions, is down or fails (logged, never raised)."""
        connection = self.connections.get(query.server)
        if connection is None or not self.offered_by(query.server):
            return []
        try:
            with anyio.fail_after(COMPLETION_TIMEOUT_S):
                return await connection.complete(
                    query.kind, query.ref, query.argument, query.value, dict(query.context)
                )
        except Exception as exc:
            log.info("completion from %s failed: %s", query.server, exc)
            return []
