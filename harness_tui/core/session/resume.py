"""Going on with a saved session: what it is opened with (model, mode, folder), the
history it starts from (mended when the file ends inside a run), and the facts it
announces once open."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from harness_tui.core.config.settings import Settings
from harness_tui.core.errors import HarnessError
from harness_tui.core.events import (
    PERMISSION_MODES,
    BranchChanged,
    Notice,
    PermissionMode,
    PlanEntry,
    PlanGenerated,
    SteeringQueued,
)
from harness_tui.core.providers.models import (
    DEMO_MODEL,
    ModelChoice,
    default_model_name,
    resolve_model,
)
from harness_tui.core.run.steering import QueuedMessage
from harness_tui.core.storage.saved import SavedSession, load_session
from harness_tui.core.storage.tree import History, loose_ends


def resume_options(
    saved: SavedSession | str,
    model: str | ModelChoice | None,
    mode: PermissionMode | None,
    options: dict[str, Any],
) -> tuple[SavedSession, dict[str, Any]]:
    """The saved session (loaded, for an id, prefix or path) and the keyword arguments
    of the session that goes on with it: its id, folder, model and mode unless
    ``options``, ``model`` or ``mode`` say otherwise."""
    if isinstance(saved, str):
        saved = load_session(saved)
    options = dict(options)
    notices = list(options.pop("notices", ()))
    if saved.problems:
        notices.append(saved.problems)
    cwd = options.pop("cwd", None)
    if cwd is None:
        cwd = saved.cwd if saved.cwd and Path(saved.cwd).is_dir() else os.getcwd()
    if model is None:
        model = _saved_model(saved, Path(cwd), options.get("settings"), notices)
    mode = mode or (saved.mode if saved.mode in PERMISSION_MODES else "default")
    return saved, {
        **options,
        "model": model,
        "mode": mode,
        "session_id": saved.session_id,
        "cwd": cwd,
        "notices": notices,
    }


def restore_history(
    saved: SavedSession, entry_id: str | None, messages: History, model: ModelChoice
) -> tuple[bool, list[str]]:
    """Reset ``messages`` to the saved conversation at its head (or at ``entry_id``),
    closing the loose ends of a run the file ends inside. Returns whether that is
    another branch than the file's head, and notices for the user."""
    notices: list[str] = []
    head = saved.head if entry_id is None else saved.tree.resolve(entry_id)
    context = saved.tree.context(head)
    messages.reset(context.messages, context.entry_ids, head)
    if context.mended:
        notices.append(
            f"{context.mended} tool call(s) or result(s) lost their other half to the "
            "damaged file; the calls are marked as lost and the results quoted, so the "
            "model can go on."
        )
    # Also when the file was damaged rather than cut off: the last response's
    # calls whose results are lost need one before the model is asked again.
    if (saved.interrupted or context.mended or saved.problems) and entry_id is None:
        added, note = loose_ends(
            messages, saved.partial_text, provider=model.provider, model=model.name
        )
        messages.extend(added)  # written to the file when it opens
        if note:
            notices.append(note)
    return head != saved.head, notices


async def announce_restored(
    emit: Callable[..., Awaitable[Any]],
    saved: SavedSession,
    session_id: str,
    messages: History,
    branched: bool,
    plan: Sequence[PlanEntry],
    pending: Sequence[QueuedMessage],
) -> None:
    """Facts a resumed session starts from, for every view and for the file."""
    count = len(messages)
    await emit(
        Notice,
        message=f"Resumed session {session_id} ({count} message"
        f"{'s' if count != 1 else ''} in context).",
    )
    if branched:
        await emit(
            BranchChanged, entry_id=messages.head, previous_entry_id=saved.head, messages=count
        )
    if plan:
        await emit(PlanGenerated, entries=tuple(plan))
    for item in pending:
        await emit(SteeringQueued, steering_id=item.id, text=item.text, kind=item.kind)


def _saved_model(
    saved: SavedSession, cwd: Path, settings: Settings | None, notices: list[str]
) -> ModelChoice | str:
    """The model a saved session used, or (when it cannot be used here) the default."""
    name = saved.model or DEMO_MODEL
    try:
        return resolve_model(name, cwd=cwd, settings=settings)
    except HarnessError as exc:
        fallback = default_model_name()
        notices.append(f"The session's model {name} cannot be used here ({exc}); using {fallback}.")
        return fallback
