"""One open session and the ACP client that watches it.

The link reads every event of its session (``pump``) and sends the client what it
shows: message and thought chunks, tool calls and their updates, the plan, mode and
model changes. Every permission question goes to the client as
``session/request_permission``, and so does workspace trust (ACP has no question of its
own for it: it is asked as a permission on a ``Trust folder`` call). Runs started by a
follow-up (our extension) are streamed the same way, without a prompt request of their
own. A prompt waits for its run's end here (``wait_end``).

Nothing is sent before the client knows the session: for ``session/new``, not before
the response with its id has gone out (``ready``).
"""

from __future__ import annotations

import contextlib
import itertools
from contextlib import aclosing
from pathlib import Path
from typing import Any, Protocol

import anyio
from acp import helpers
from acp.schema import ConfigOptionUpdate, PermissionOption, SessionInfoUpdate, ToolCallUpdate

from harness_tui.acp import updates
from harness_tui.core.errors import HarnessError
from harness_tui.core.events import (
    RUN_END_TYPES,
    BudgetExceeded,
    ElicitationRequested,
    Error,
    ModeChanged,
    ModelChanged,
    Notice,
    PermissionRequested,
    PlanEvent,
    SamplingRequested,
    SessionRenamed,
    ThinkingDelta,
    TokenDelta,
    ToolCallCompleted,
    ToolCallFailed,
    ToolCallProgress,
    ToolCallStarted,
    TrustRequested,
    UsageUpdated,
)
from harness_tui.core.session.session import Session

#: The answers offered for a permission question: (option id = our decision, label, kind).
PERMISSION_OPTIONS = (
    ("allow_once", "Allow once", "allow_once"),
    ("allow_session", "Allow for this session", "allow_always"),
    ("allow_always", "Always allow (saved to the project's settings)", "allow_always"),
    ("deny", "Reject", "reject_once"),
)
SAMPLING_OPTIONS = (
    ("approve", "Let it use the model", "allow_once"),
    ("decline", "Decline", "reject_once"),
)
TRUST_OPTIONS = (
    ("trust_always", "Trust this folder (remembered)", "allow_always"),
    ("trust_once", "Trust it for this session", "allow_once"),
    ("no", "Do not trust it", "reject_once"),
)
_names = itertools.count(1)


def options(choices: tuple[tuple[str, str, str], ...]) -> list[PermissionOption]:
    return [PermissionOption(option_id=i, name=n, kind=k) for i, n, k in choices]  # type: ignore[arg-type]


class Describe(Protocol):
    """What the agent says about a session: its slash commands and its options."""

    def commands_update(self, session: Session) -> Any: ...
    def config_options(self, session: Session) -> list[Any]: ...


class Link:
    """Forwards ``session``'s events to ``client`` (an ``AgentSideConnection``)."""

    def __init__(self, client: Any, session: Session, describe: Describe) -> None:
        self.client, self.session, self._describe = client, session, describe
        self.id = session.id
        self.cwd = Path(session.cwd)
        # Blocking: a slow client slows the session down rather than losing an update.
        self._sub = session.store.subscribe(f"acp-{next(_names)}", queue_size=10_000)
        #: Set once the client knows the session's id (see the module's docstring).
        self.ready = anyio.Event()
        self._ends: dict[str, Any] = {}
        self._waiting: dict[str, anyio.Event] = {}
        self._outputs: dict[str, str] = {}
        #: Set while no trust question is open (a prompt waits for the answer).
        self._trust_settled = anyio.Event()
        self._trust_settled.set()
        self._scope = anyio.CancelScope()

    # --- what the agent asks of it ------------------------------------------------------

    async def wait_end(self, run_id: str) -> Any:
        """The event that ended run ``run_id`` (``RUN_COMPLETED`` or ``RUN_CANCELLED``)."""
        if run_id not in self._ends:
            waiter = self._waiting.setdefault(run_id, anyio.Event())
            await waiter.wait()
        return self._ends.pop(run_id)

    async def trust_settled(self) -> None:
        await self._trust_settled.wait()

    def expect_trust(self) -> None:
        """A trust question is open (or about to be asked): prompts wait for it."""
        if self._trust_settled.is_set():
            self._trust_settled = anyio.Event()

    def close(self) -> None:
        self._scope.cancel()

    async def send(self, update: Any) -> None:
        await self.client.session_update(session_id=self.id, update=update)

    # --- the pump -----------------------------------------------------------------------

    async def pump(self) -> None:
        """Forward events until the session closes (or the link is closed)."""
        with self._scope:
            async with anyio.create_task_group() as questions:
                await self.ready.wait()
                with contextlib.suppress(Exception):  # a session with nothing to offer
                    await self.send(self._describe.commands_update(self.session))
                async with aclosing(self.session.store.stream(self._sub)) as events:
                    async for event in events:
                        try:
                            await self._forward(event, questions)
                        except (ConnectionError, RuntimeError):
                            return  # the client went away: nobody to tell
                        if event.type in RUN_END_TYPES and event.run_id:  # type: ignore[union-attr]
                            self._ends[event.run_id] = event  # type: ignore[union-attr]
                            waiter = self._waiting.pop(event.run_id, None)  # type: ignore[union-attr]
                            if waiter is not None:
                                waiter.set()
                questions.cancel_scope.cancel()

    async def _forward(self, event: Any, questions: anyio.abc.TaskGroup) -> None:
        if isinstance(event, PermissionRequested):
            questions.start_soon(self._ask_permission, event)
            return
        if isinstance(event, TrustRequested):
            self.expect_trust()
            questions.start_soon(self._ask_trust, event)
            return
        if isinstance(event, SamplingRequested):
            questions.start_soon(self._ask_sampling, event)
            return
        if isinstance(event, ElicitationRequested):
            await self._decline_form(event)
            return
        if getattr(event, "parent_tool_call_id", None):
            return  # a sub-agent's inner work: its Task call shows the result
        update: Any = None
        if isinstance(event, TokenDelta | ThinkingDelta):
            update = updates.delta(event)
        elif isinstance(event, ToolCallStarted):
            update = updates.tool_started(event, self.cwd)
        elif isinstance(event, ToolCallProgress):
            if event.output:
                self._outputs[event.tool_call_id] = (
                    self._outputs.get(event.tool_call_id, "") + event.output
                )[-updates.OUTPUT_TAIL :]
                update = updates.tool_progress(event, self._outputs[event.tool_call_id])
        elif isinstance(event, ToolCallCompleted | ToolCallFailed):
            self._outputs.pop(event.tool_call_id, None)
            update = updates.tool_ended(event, self.cwd)
        elif isinstance(event, PlanEvent):
            update = updates.plan(event)
        elif isinstance(event, UsageUpdated):
            update = updates.usage(event)
        elif isinstance(event, ModelChanged | ModeChanged):
            if isinstance(event, ModeChanged):
                await self.send(helpers.update_current_mode(event.mode))
            update = ConfigOptionUpdate(
                session_update="config_option_update",
                config_options=self._describe.config_options(self.session),
            )
        elif isinstance(event, SessionRenamed):
            update = SessionInfoUpdate(session_update="session_info_update", title=event.name)
        elif isinstance(event, Error):
            hint = f" ({event.hint})" if event.hint else ""
            update = helpers.update_agent_message_text(f"\n\nError: {event.message}{hint}\n")
        elif isinstance(event, BudgetExceeded):
            update = helpers.update_agent_message_text(f"\n\nStopped: {event.message}\n")
        elif isinstance(event, Notice) and event.level == "warning":
            update = helpers.update_agent_message_text(f"\n\nNote: {event.message}\n")
        if update is not None:
            await self.send(update)

    async def _ask_permission(self, event: PermissionRequested) -> None:
        tool_call = ToolCallUpdate(
            tool_call_id=event.tool_call_id,
            title=updates.title(event.tool_name, event.input, self.cwd),
            kind=updates.kind(event.tool_name),
            status="pending",
            content=updates.edit_diffs(event.tool_name, event.input, self.cwd) or None,
            raw_input=event.input,
        )
        decision = await self._choose(tool_call, PERMISSION_OPTIONS)
        reason = (
            "the user rejected it in the editor (or gave no answer)" if decision == "deny" else None
        )
        with contextlib.suppress(HarnessError):  # already answered or the run ended
            await self.session.resolve_permission(event.request_id, decision, reason)

    async def _ask_trust(self, event: TrustRequested) -> None:
        call_id = f"trust_{event.event_id or next(_names)}"
        found = ", ".join(event.found) or "project configuration"
        title = f"Trust {event.folder}? It has {found}, which can run commands"
        await self.send(helpers.start_tool_call(call_id, title, kind="other", status="pending"))
        choice = await self._choose(_question(call_id, title), TRUST_OPTIONS)
        try:
            await self.session.resolve_trust(choice != "no", remember=choice == "trust_always")
        finally:
            self._trust_settled.set()
        status = "failed" if choice == "no" else "completed"
        with contextlib.suppress(Exception):
            await self.send(helpers.update_tool_call(call_id, status=status))

    async def _ask_sampling(self, event: SamplingRequested) -> None:
        """An MCP server asks for a completion from the session's model: a question on a
        call of its own, as for trust."""
        call_id = f"sampling_{event.request_id}"
        title = (
            f"MCP server {event.server} asks to use the model ({event.model}, at most "
            f"{event.max_tokens} tokens)"
        )
        last = event.messages[-1].get("text", "") if event.messages else ""
        content = [helpers.tool_content(helpers.text_block(last[-2000:]))] if last else None
        await self.send(
            helpers.start_tool_call(call_id, title, kind="other", status="pending", content=content)
        )
        approved = await self._choose(_question(call_id, title), SAMPLING_OPTIONS) == "approve"
        reason = None if approved else "the user declined it in the editor"
        with contextlib.suppress(HarnessError):  # answered already, or the run ended
            await self.session.resolve_sampling(event.request_id, approved, reason)
        with contextlib.suppress(Exception):
            status = "completed" if approved else "failed"
            await self.send(helpers.update_tool_call(call_id, status=status))

    async def _decline_form(self, event: ElicitationRequested) -> None:
        """ACP has no forms (its elicitation is unstable): the server is told no, and
        the user is shown what it wanted."""
        with contextlib.suppress(HarnessError):
            await self.session.resolve_elicitation(event.request_id, "decline")
        where = f" ({event.url})" if event.url else ""
        await self.send(
            helpers.update_agent_message_text(
                f"\n\nNote: MCP server {event.server} asked for input: {event.message}{where}."
                " Editors cannot answer such questions here, so it was declined; use the "
                "TUI or the web page for this server.\n"
            )
        )

    async def _choose(
        self, tool_call: ToolCallUpdate, choices: tuple[tuple[str, str, str], ...]
    ) -> str:
        """The option the user picked for a question on ``tool_call`` (the last option, a
        refusal, when there is no answer: cancelled, or the client went away)."""
        with contextlib.suppress(Exception):
            response = await self.client.request_permission(
                session_id=self.id, tool_call=tool_call, options=options(choices)
            )
            if getattr(response.outcome, "outcome", None) == "selected":
                return str(response.outcome.option_id)
        return choices[-1][0]


def _question(call_id: str, title: str) -> ToolCallUpdate:
    return ToolCallUpdate(tool_call_id=call_id, title=title, kind="other")
