"""The prompt on its way to the session: sent, steered or queued with its images, and
images attached to it (from the clipboard, a pasted or dropped path, an ``@`` file).

An attach that fails (``ImageError``: not an image, too large, denied, ...) is told in
a toast and a notice naming the file and the reason; the text typed and the images
already attached stay as they were.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness_tui.core.errors import HarnessError
from harness_tui.widgets.prompt_input import PromptInput

if TYPE_CHECKING:
    from harness_tui.core.messages import ImageBlock
    from harness_tui.core.session.session import Session
    from harness_tui.tui.host import AppHost


def send(app: AppHost, message: PromptInput.Submitted) -> None:
    """Enter and Alt+Enter: a slash command, ``#`` something to remember, else a prompt
    (a steer or a follow-up while a run is active), with the images attached to it."""
    text, images = message.text.strip(), message.images
    if text.startswith("/") and not message.follow_up:
        app.query_one(PromptInput).put_back("", images)  # they wait for the next prompt
        app.run_slash(text)
        return
    if text.startswith("#") and not text.startswith("##") and not message.follow_up:
        from harness_tui.tui import memory  # #text: keep it in memory (asks where)

        app.query_one(PromptInput).put_back("", images)
        memory.offer(app, text[1:].strip())
        return
    app.call(_send(app.session, text, images, message.follow_up))


async def _send(
    session: Session, text: str, images: tuple[ImageBlock, ...], follow_up: bool
) -> None:
    # (The session attaches the image files the text mentions, ``@shot.png``, itself.)
    if not session.running:
        await session.submit(text, images)
    elif follow_up:
        await session.follow_up(text, images)
    else:
        await session.steer(text, images)


async def paste_from_clipboard(app: AppHost) -> None:
    """Ctrl+V: the clipboard's image becomes a chip; else its text is pasted."""
    from anyio import to_thread  # with the core, after the first frame

    from harness_tui.tui import paste

    prompt = app.query_one(PromptInput)
    found = await to_thread.run_sync(paste.read_clipboard)
    if found.image:
        await _attach(app, app.session.attach_image(found.image, "clipboard"))
    elif found.text:
        prompt.paste_text(found.text)
    elif not found.tool:
        app.notify(paste.NO_TOOL, severity="warning")
        if app.clipboard:  # what was copied in the app still pastes
            prompt.paste_text(app.clipboard)
    else:
        app.notify(paste.NO_IMAGE, severity="warning")


async def attach_file(app: AppHost, path: str) -> None:
    """A pasted, dropped or ``@``-completed image file becomes a chip."""
    await _attach(app, app.session.attach_image_file(path))


async def _attach(app: AppHost, attaching: object) -> ImageBlock | None:
    try:
        image: ImageBlock = await attaching  # type: ignore[misc]
    except HarnessError as exc:
        app.say(str(exc), "error")
        return None
    app.query_one(PromptInput).attach(image)
    return image
