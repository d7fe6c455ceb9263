"""What the TUI's parts ask of the app: the one contract between ``app`` and the modules
it delegates to (``commands``, ``dialogs``, ``palette``, ``sessions``).

They receive the app as an ``AppHost`` and never import ``app``, so the imports of this
folder run one way: ``app`` imports the parts, the parts import this module.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

if TYPE_CHECKING:
    from textual.binding import BindingType

    from harness_tui.core.events import Event
    from harness_tui.core.session.session import Session


class AppHost(Protocol):
    """The TUI app as its parts see it (``HarnessApp`` is the one implementation)."""

    #: The session on screen; ``None`` until the app has made it.
    session: Session
    #: The saved-session picker is the app's first screen (``--resume`` without an id).
    pick_session: bool
    #: The web mirror's address once it listens (``--serve``).
    mirror_url: str | None
    BINDINGS: ClassVar[list[BindingType]]

    # --- what the app does for its parts ---------------------------------------------

    def say(self, text: str, level: str = "info") -> None:
        """A toast and a notice in the conversation (``level``: ``info`` or ``error``)."""

    def call(self, call: Awaitable[Any]) -> Any:
        """Run one session command in a worker; a ``HarnessError`` becomes a notice."""

    def run_slash(self, text: str) -> None:
        """Run what was typed as ``/name argument``."""

    def slash_commands(self) -> list[tuple[str, str]]:
        """Every slash command with its description (built-ins, custom, MCP prompts)."""

    def open_session(self, session: Session) -> Any:
        """Show a session made before the app (a resumed one's conversation), start it."""

    def start_session(self, session: Session) -> None:
        """Subscribe to ``session``'s events, enter it, mirror it if asked."""

    def replace_session(self, resume: str | None = None) -> Any:
        """Go on with a new session, or with the saved session ``resume``."""

    def exit(self, result: Any = None, return_code: int = 0, message: Any = None) -> None:
        """End the app (Textual's ``App.exit``)."""

    async def apply_events(self, events: Iterable[Event]) -> None:
        """Show a batch of events."""

    # --- actions the parts reach (bound to keys, the palette or slash commands) -------

    def action_help(self) -> None: ...
    def action_pick_model(self) -> None: ...
    def action_pick_session(self, start: bool = False) -> None: ...
    def action_pick_fork(self) -> None: ...
    def action_mcp(self) -> None: ...
    def action_clear(self) -> None: ...
    def action_toggle_side(self) -> None: ...
    def action_toggle_thinking(self) -> None: ...
    def action_toggle_pane(self, name: str, show: bool | None = None) -> None: ...
    async def action_tui(self, mode: str = "") -> None: ...
    async def action_quit(self) -> None: ...

    # --- Textual's App, the part of it used ------------------------------------------

    @property
    def query_one(self) -> Callable[..., Any]: ...
    def push_screen(self, screen: Any, callback: Callable[[Any], Any] | None = None) -> Any: ...
    def pop_screen(self) -> Any: ...
    def run_worker(self, work: Any, *args: Any, **kwargs: Any) -> Any: ...
    def notify(self, message: str, **options: Any) -> None: ...
    @property
    def clipboard(self) -> str: ...
    @property
    def is_inline(self) -> bool: ...
    @property
    def size(self) -> Any: ...
    @property
    def focused(self) -> Any: ...
    def bell(self) -> None: ...
