"""The conversation: prompts, streamed answers, thinking, tool cards and notices.

It consumes events in batches (adjacent deltas are joined into one write) and keeps only
the newest ``MAX_MOUNTED`` entries as widgets; older ones are folded into records and
mounted again, a page at a time, when the reader asks for them. A long session therefore
costs the same to append to and scroll as a short one. It follows new output, and stops
following while the reader scrolls back (see ``following``). Inline (``tui.inline``),
finished entries leave it for the terminal's scrollback. The entries themselves are in
``entries``, ``assistant_entry`` and ``tool_card``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from textual import on
from textual.containers import VerticalScroll
from textual.widget import Widget
from textual.widgets import Button

from harness_tui.widgets.assistant_entry import AssistantEntry
from harness_tui.widgets.entries import NoticeEntry, ThinkingEntry, UserEntry
from harness_tui.widgets.event_notices import event_notice
from harness_tui.widgets.following import Following
from harness_tui.widgets.lazy import lazy_module
from harness_tui.widgets.thumbnails import Finder, Thumbnails
from harness_tui.widgets.tool_card import ToolCard

# Loads on first use, after the first frame is painted (see harness_tui.widgets.lazy).
ev = lazy_module("harness_tui.core.events")

MAX_MOUNTED = 40
PAGE = 20
#: An entry as the conversation keeps it once folded: its class and what remakes it.
Record = tuple[type[Widget], dict[str, Any]]


class Conversation(Following, VerticalScroll):
    """The main pane. Feed it events with ``apply_batch``."""

    DEFAULT_CSS = """
    Conversation { height: 1fr; padding: 0 1; scrollbar-size-vertical: 1; }
    Conversation > #earlier { width: 100%; height: 1; border: none; min-width: 0;
                              background: $panel; color: $text-muted; }
    """

    BINDINGS = [("home", "show_earlier", "Earlier messages")]
    #: A click or a drag to select text leaves the focus where it was (the input).
    FOCUS_ON_CLICK = False

    def __init__(self, *, frozen_clock: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.frozen_clock = frozen_clock
        self._folded: list[tuple[type[Widget], dict[str, Any]]] = []
        self._current: tuple[str, str, Widget] | None = None  # message id, kind, entry
        self._cards: dict[str, ToolCard] = {}
        #: Tool calls of completed messages, to show a call that never started (cancel).
        self._calls: dict[str, ev.ToolCallStarted] = {}
        self._pending: list[Widget] = []  # entries of this batch, mounted at its end
        self._nested: dict[str, list[ToolCard]] = {}  # a card's sub-agent cards
        #: Inline mode (``harness_tui.tui.inline``): finished entries leave the screen
        #: and are handed to this, in order, to be written into the terminal's
        #: scrollback; their records are kept, for a switch back to full screen.
        self.scrollback: Callable[[list[Record]], None] | None = None
        #: How many entries, from the first, the terminal's scrollback already holds
        #: (inline before, full-screen now: going inline again writes only the rest).
        self.in_scrollback = 0
        #: How the terminal draws images (``thumbnails.graphics_protocol``), and where
        #: their bytes are: both set, user messages' images show as thumbnails.
        self.graphics: str | None = None
        self.find_image: Finder | None = None

    def on_mount(self) -> None:
        self.mount(self._marker)
        self.anchor()

    async def clear(self) -> None:
        """Forget every entry, folded ones too (another session or branch is shown)."""
        self._folded, self._current, self._pending = [], None, []
        self._cards, self._calls, self._nested = {}, {}, {}
        self.in_scrollback = 0
        await self.remove_children([w for w in self.children if w is not self._marker])
        self.anchor()
        self._update_marker()

    # --- feeding --------------------------------------------------------------

    async def apply_batch(self, events: Iterable[ev.Event]) -> None:
        """Apply events in order; runs of deltas of one message become one write."""
        self.resume_at_bottom()
        pending: list[str] = []
        pending_key: tuple[str, str] | None = None
        for event in events:
            if event.parent_tool_call_id is not None:
                await self._apply_nested(event)
                continue
            if isinstance(event, ev.TokenDelta | ev.ThinkingDelta):
                key = (event.message_id, "text" if isinstance(event, ev.TokenDelta) else "thinking")
                if key != pending_key and pending:
                    await self._write(pending_key, "".join(pending))  # type: ignore[arg-type]
                    pending = []
                pending_key = key
                pending.append(event.text)
                continue
            if pending:
                await self._write(pending_key, "".join(pending))  # type: ignore[arg-type]
                pending, pending_key = [], None
            await self.apply(event)
        if pending:
            await self._write(pending_key, "".join(pending))  # type: ignore[arg-type]
        await self._flush()
        if self.scrollback is not None:
            await self._emit_finished()
        else:
            await self._fold_old_entries()
        if not self.following:
            self.call_after_refresh(self._update_marker)

    async def _write(self, key: tuple[str, str], text: str) -> None:
        message_id, kind = key
        current = self._current
        if current is None or current[:2] != key:
            await self._close_current()
            # Mounted with its first text: one layout pass, not two.
            entry: Widget = AssistantEntry(text) if kind == "text" else ThinkingEntry(text)
            self._add(entry)
            self._current = (message_id, kind, entry)
            return
        entry = current[2]
        if isinstance(entry, AssistantEntry):
            await entry.add(text)
        else:
            entry.add(text)  # type: ignore[attr-defined]

    def add_note(self, widget: Widget) -> None:
        """An entry from the app itself (a command's answer, a refusal), shown now;
        inline, it goes to the scrollback now too."""
        self._add(widget)
        self.run_worker(self._show_notes(), group="notes")

    async def _show_notes(self) -> None:
        await self._flush()
        if self.scrollback is not None:
            await self._emit_finished()

    def _add_user(self, entry: UserEntry) -> None:
        """A user message; full screen, its images' thumbnails where they can be drawn."""
        self._add(entry)
        if entry.images and self.graphics and self.find_image and self.scrollback is None:
            self._add(Thumbnails(entry.images, self.find_image, self.graphics))

    def _add(self, widget: Widget) -> None:
        """Queue an entry; ``apply_batch`` mounts the batch's entries together, so a
        card that starts and finishes in one batch is laid out once, finished."""
        self._pending.append(widget)

    async def _flush(self) -> None:
        if self._pending:
            widgets, self._pending = self._pending, []
            await self.mount_all(widgets)

    async def settle(self) -> None:
        """Flush the answer being streamed to the screen (it may go on streaming)."""
        await self._flush()
        if self._current is not None and isinstance(self._current[2], AssistantEntry):
            await self._current[2].finish()

    async def _close_current(self) -> None:
        if self._current is not None:
            entry = self._current[2]
            if isinstance(entry, AssistantEntry):
                await entry.finish()
            self._current = None

    async def apply(self, event: ev.Event) -> None:
        if isinstance(event, ev.SessionStarted):
            self._add(
                NoticeEntry(
                    f"harness-tui {event.version} · {event.model} · {event.cwd}\n"
                    "Type a prompt and press Enter. While the agent works, Enter steers and "
                    "Alt+Enter queues a follow-up. Esc cancels · Ctrl+P commands · F1 help",
                    "welcome",
                )
            )
        elif isinstance(event, ev.PromptReceived):
            await self._close_current()
            self._add_user(UserEntry(event.text, event.source, event.images))
        elif isinstance(event, ev.SteeringDelivered) and event.kind == "steer":
            await self._close_current()
            self._add_user(UserEntry(event.text, "steering", event.images))
        elif isinstance(event, ev.MessageCompleted):
            await self._close_current()
            for call in event.message.tool_calls:
                self._calls[call.id] = ev.ToolCallStarted(
                    session_id=event.session_id,
                    run_id=event.run_id,
                    tool_call_id=call.id,
                    tool_name=call.name,
                    input=call.input,
                    message_id=event.message.id,
                )
            if len(self._calls) > 500:
                self._calls = dict(list(self._calls.items())[-100:])
            if event.message.interrupted:
                self._add(NoticeEntry("(answer interrupted)", "info"))
        elif isinstance(event, ev.ToolCallStarted):
            await self._close_current()
            card = ToolCard(event, frozen_clock=self.frozen_clock)
            self._cards[event.tool_call_id] = card
            self._add(card)
        elif isinstance(
            event,
            ev.ToolCallProgress
            | ev.ToolCallCompleted
            | ev.ToolCallFailed
            | ev.PermissionRequested
            | ev.PermissionResolved,
        ):
            card = self._cards.get(event.tool_call_id)
            if (
                card is None
                and isinstance(event, ev.ToolCallFailed)
                and (event.tool_call_id in self._calls)
            ):
                # Answered without ever starting (a cancel): still show the call.
                card = ToolCard(self._calls[event.tool_call_id], frozen_clock=self.frozen_clock)
                self._cards[event.tool_call_id] = card
                self._add(card)
            if card is not None:
                card.apply(event)
        elif isinstance(event, ev.SubagentStarted | ev.SubagentCompleted):
            card = self._cards.get(event.tool_call_id)
            if card is not None:
                card.apply(event)
        elif isinstance(event, ev.Error):
            hint = f"\n→ {event.hint}" if event.hint else ""
            self._add(NoticeEntry(f"✗ {event.message}{hint}", "error"))
        elif isinstance(event, ev.Retrying):
            status = f" (HTTP {event.status_code})" if event.status_code else ""
            self._add(
                NoticeEntry(
                    f"↻ {event.reason}{status} — retry {event.attempt} of {event.max_attempts} "
                    f"in {event.delay_s:g} s",
                    "warning",
                )
            )
        elif isinstance(event, ev.Notice):
            self._add(NoticeEntry(event.message, event.level))
        elif isinstance(event, ev.ContextCompacted):
            await self._close_current()
            self._add(
                NoticeEntry(
                    f"⋯ Context compacted ({event.trigger}): {event.tokens_before:,} → "
                    f"{event.tokens_after:,} tokens. The full history stays in the session file.",
                    "info",
                )
            )
        elif isinstance(event, ev.BranchChanged):
            where = f"entry {event.entry_id}" if event.entry_id else "the start"
            self._add(
                NoticeEntry(
                    f"⑂ Now on the branch from {where} ({event.messages} messages in context).",
                    "info",
                )
            )
        elif isinstance(event, ev.RunCancelled):
            await self._close_current()
            self._add(
                NoticeEntry(
                    "■ Cancelled. The partial answer is kept; tool calls that had not finished "
                    "were marked cancelled.",
                    "warning",
                )
            )
        elif (notice := event_notice(event)) is not None:  # MCP status, rewinds
            self._add(NoticeEntry(*notice))

    async def _apply_nested(self, event: ev.Event) -> None:
        """Events of a sub-agent: its tool calls appear under the parent's card,
        indented, after the parent's earlier nested calls."""
        await self._flush()  # the parent's card must be on screen to place after it
        parent = self._cards.get(event.parent_tool_call_id or "")
        if parent is None:
            return
        if isinstance(event, ev.ToolCallStarted):
            card = ToolCard(event, frozen_clock=self.frozen_clock, depth=parent.depth + 1)
            self._cards[event.tool_call_id] = card
            self._nested.setdefault(parent.tool_call_id, []).append(card)
            await self.mount(card, after=self._last_descendant(parent))
        elif isinstance(
            event,
            ev.ToolCallProgress
            | ev.ToolCallCompleted
            | ev.ToolCallFailed
            | ev.PermissionRequested
            | ev.PermissionResolved,
        ):
            card = self._cards.get(event.tool_call_id)
            if card is not None:
                card.apply(event)

    def _last_descendant(self, card: ToolCard) -> ToolCard:
        children = [c for c in self._nested.get(card.tool_call_id, ()) if c.is_attached]
        return self._last_descendant(children[-1]) if children else card

    def card(self, tool_call_id: str) -> ToolCard | None:
        card = self._cards.get(tool_call_id)
        return card if card is not None and card.is_attached else None

    def toggle_thinking(self) -> None:
        entries = list(self.query(ThinkingEntry))
        collapse = any(not e.collapsed for e in entries)
        for entry in entries:
            entry.collapsed = collapse

    # --- folding old entries --------------------------------------------------

    def _finished(self, widget: Widget) -> bool:
        """Whether ``widget`` will not change again: not the entry being streamed,
        not a tool call that runs or waits for the user."""
        active = self._current[2] if self._current else None
        return widget is not active and not (
            isinstance(widget, ToolCard) and widget.status in ("running", "waiting")
        )

    async def _emit_finished(self, everything: bool = False) -> None:
        """Inline mode: fold the finished entries at the top, in order (a running
        call holds back everything after it), and hand their records on; with
        ``everything``, the unfinished ones too, as they are (the app is leaving)."""
        assert self.scrollback is not None
        records: list[Record] = []
        gone: list[Widget] = []
        stopped_at: Widget | None = None
        for widget in self._entries():
            if not (everything or self._finished(widget)):
                stopped_at = widget
                break
            record = getattr(widget, "record", None)
            if record is not None:
                records.append(record())
            if isinstance(widget, ToolCard):
                self._cards.pop(widget.tool_call_id, None)
            gone.append(widget)
        # All before the answer being streamed are out: its complete blocks go too.
        if isinstance(stopped_at, AssistantEntry) and self._current is not None:
            blocks = stopped_at.take_frozen() if stopped_at is self._current[2] else ""
            if blocks:
                records.append((AssistantEntry, {"text": blocks}))
        # Gone before the next batch looks (a removal not awaited is still a child).
        await self.remove_children(gone)
        if gone:
            release_styles_caches()
        if records:
            self._folded.extend(records)
            self.in_scrollback = len(self._folded)
            self.scrollback(records)

    async def start_scrollback(self, write: Callable[[list[Record]], None]) -> list[Record]:
        """Go inline: from now on finished entries go to ``write``. Returns the
        finished entries so far that the scrollback does not hold yet, for the caller
        to write first; the entries still running stay on screen."""
        self.query("#earlier").remove()
        already = self.in_scrollback
        self.scrollback = lambda records: None
        await self._emit_finished()
        self.scrollback = write
        return self._folded[already:]

    async def emit_all(self) -> None:
        """Inline, leaving: every entry on screen goes to the scrollback."""
        if self.scrollback is not None:
            await self._flush()
            await self._close_current()
            await self._emit_finished(everything=True)

    async def stop_scrollback(self) -> None:
        """Back to full screen: the newest folded entries are shown again (above
        those still running), the rest stay behind the "earlier entries" button."""
        self.scrollback = None
        page, self._folded = self._folded[-MAX_MOUNTED // 2 :], self._folded[: -MAX_MOUNTED // 2]
        widgets = [restore(kind, data) for kind, data in page]
        entries = self._entries()
        if widgets:
            await self.mount_all(widgets, before=entries[0] if entries else None)
        for widget in widgets:
            if isinstance(widget, ToolCard):
                self._cards[widget.tool_call_id] = widget
        self._update_earlier_button()
        self.anchor()

    def _entries(self) -> list[Widget]:
        return [w for w in self.children if w.id != "earlier" and w is not self._marker]

    def records_newest_first(self) -> Iterator[tuple[type[Widget], dict[str, Any], Widget | None]]:
        """Every entry as its record (kind, data) with its widget (None once folded),
        newest first: where copy looks for the last answer, code block or tool card."""
        for widget in reversed(self._entries()):
            record = getattr(widget, "record", None)
            if record is not None:
                yield (*record(), widget)
        for kind, data in reversed(self._folded):
            yield kind, data, None

    async def _fold_old_entries(self) -> None:
        # Textual keeps "the reader scrolled away from the bottom" privately; when they
        # have, fold later, when they come back down.
        if getattr(self, "_anchor_released", False):
            return
        entries = self._entries()
        excess = len(entries) - MAX_MOUNTED
        if excess < PAGE // 2:
            return
        active = self._current[2] if self._current else None
        folded, gone = [], []
        for widget in entries[:excess]:
            if widget is active or (
                isinstance(widget, ToolCard) and widget.status in ("running", "waiting")
            ):
                break
            record = getattr(widget, "record", None)
            folded.append(record() if record else None)
            if isinstance(widget, ToolCard):
                self._cards.pop(widget.tool_call_id, None)
            gone.append(widget)
        await self.remove_children(gone)  # gone before the next batch counts entries
        self._folded.extend(r for r in folded if r is not None)
        if folded:
            release_styles_caches()
        self._update_earlier_button()

    def _update_earlier_button(self) -> None:
        buttons = self.query("#earlier")
        if not self._folded:
            buttons.remove()
            return
        label = f"▲ {len(self._folded):,} earlier entries — Home or click to show more"
        if buttons:
            buttons.first(Button).label = label
        else:
            self.mount(Button(label, id="earlier"), before=0)

    @on(Button.Pressed, "#earlier")
    async def _earlier_pressed(self) -> None:
        await self.action_show_earlier()

    def to_top(self) -> None:
        """Home: to the top; at the top, the previous page of folded entries."""
        if self.scroll_y > 0 or not self._folded:
            self.scroll_home(animate=False)
        else:
            self.run_worker(self.action_show_earlier(), group="earlier", exclusive=True)

    async def action_show_earlier(self) -> None:
        if not self._folded:
            self.scroll_home(animate=False)
            return
        page, self._folded = self._folded[-PAGE:], self._folded[:-PAGE]
        widgets = [restore(kind, data) for kind, data in page]
        entries = self._entries()
        if entries:
            await self.mount_all(widgets, before=entries[0])
        else:
            await self.mount_all(widgets)
        for widget in widgets:
            if isinstance(widget, ToolCard):
                self._cards[widget.tool_call_id] = widget
        self._update_earlier_button()
        self.release_anchor()
        if entries:  # keep the reader's place: what was at the top stays in view
            self.call_after_refresh(self.scroll_to_widget, entries[0], top=True, animate=False)

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        # Scrolling to the top brings back the previous page of folded entries
        # (inline, they are in the terminal's scrollback instead).
        if new <= 0 < old and self._folded and self.scrollback is None:
            self.run_worker(self.action_show_earlier(), group="earlier", exclusive=True)
        self._update_marker()


def release_styles_caches() -> None:
    """Let removed entries go. Textual 8.2.8 caches ``StylesCache.get_inner_outer`` per
    instance (``lru_cache(1024)`` on a method), so the styles caches of up to 1,024
    removed widgets, each with its rendered lines, stayed alive (B11). Emptying it costs
    a few Style objects that are made again on the next frame."""
    from textual._styles_cache import StylesCache

    StylesCache.get_inner_outer.cache_clear()


def restore(kind: type[Widget], data: dict[str, Any]) -> Widget:
    if kind is ToolCard:
        return ToolCard.restore(data)
    return kind(**data)


__all__ = ["AssistantEntry", "Conversation", "NoticeEntry", "ThinkingEntry", "UserEntry"]
