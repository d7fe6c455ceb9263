"""What of the neutral history survives a request to a given provider.

The history may hold responses of several providers (the model can be switched mid-
session, SPEC section 5). Before an adapter renders it in its wire format:

- thinking is kept only where the target can verify it: Anthropic gets back the signed
  thinking of Anthropic responses; an OpenAI-compatible model gets its own reasoning back
  only when its quirks ask for it. Other thinking is dropped — it was the previous
  model's private reasoning, and replaying it as text would put words in the new
  model's mouth;
- an answer the provider refused or filtered is left out;
- whitespace-only text blocks are dropped (Anthropic refuses them), and so is an
  assistant message left with nothing but thinking (a response cut off while thinking);
- tool-call ids are mapped to what the target accepts, the same way for a call and its
  result, so pairs stay matched.

- a user message's images go first (Anthropic: "Claude works best when images come
  before text"), as the request carries them fitted (``ModelRequest.images``); an image
  it does not carry goes as a short text placeholder (``user_parts``); a tool's images
  go fitted the same way (``tool_images``).

``WireCache`` keeps each message's rendered form, so a long conversation is not
re-rendered from the start on every turn.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Generic, TypeVar

from harness_tui.core.messages import (
    AssistantBlock,
    AssistantMessage,
    ImageData,
    Message,
    ThinkingBlock,
    ToolResultMessage,
    UserMessage,
)

T = TypeVar("T")

#: Stop reasons of answers the provider withheld: they are left out of later requests
#: (Anthropic: "update the conversation to remove the refused turn").
REFUSALS = frozenset({"refusal", "content_filter"})


def kept_blocks(
    message: AssistantMessage, keep_thinking: Callable[[ThinkingBlock], bool]
) -> list[AssistantBlock]:
    """The blocks of ``message`` to send; an empty list means: leave the message out
    (also when only thinking is left: an answer that says nothing is no turn at all)."""
    if message.stop_reason in REFUSALS:
        return []  # a refused answer is not replayed as if it had been given
    blocks: list[AssistantBlock] = []
    said = False
    for block in message.content:
        if block.type == "thinking":
            if keep_thinking(block):
                blocks.append(block)
        elif block.type == "text":
            if block.text.strip():
                blocks.append(block)
                said = True
        else:
            blocks.append(block)
            said = True
    return blocks if said else []


def user_parts(message: UserMessage, images: Mapping[str, ImageData]) -> list[str | ImageData]:
    """A user message for the wire: the images the request carries, a placeholder for
    each image it does not carry, then each text that is not blank."""
    from harness_tui.core.images.request import placeholder

    sent: list[str | ImageData] = []
    unsent: list[str | ImageData] = []
    texts: list[str | ImageData] = []
    for block in message.content:
        if block.type == "image":
            image = images.get(block.sha256)
            if image is not None:
                sent.append(image)
            else:
                unsent.append(placeholder(block))
        elif block.text.strip():
            texts.append(block.text)
    # A placeholder stands where its image would: before the text that asks about it.
    return [*sent, *unsent, *texts] or ["(no text)"]


def tool_images(message: ToolResultMessage, images: Mapping[str, ImageData]) -> list[ImageData]:
    """A tool's images as the request carries them: fitted to the API's limits
    (``images.request.select``), or as the tool returned them."""
    from harness_tui.core.images.request import tool_key

    return [images.get(tool_key(image), image) for image in message.images]


def images_changed(cache: WireCache[T], images: Mapping[str, ImageData]) -> None:
    """Forget the renderings when the request carries another set of images than the
    last (an old image dropped for a count limit changes how its message renders)."""
    keys = frozenset(images)
    if keys != cache.image_keys:
        cache.clear()
        cache.image_keys = keys


class ToolIdMap:
    """Maps tool-call ids to ones the target accepts: characters outside ``allowed`` are
    replaced and long ids shortened, with a hash suffix whenever the id had to change, so
    two different ids never collide and a call and its result always map alike."""

    def __init__(self, disallowed: str | None, max_length: int) -> None:
        self._bad = re.compile(disallowed) if disallowed else None
        self._max = max_length

    def __call__(self, call_id: str) -> str:
        fixed = self._bad.sub("_", call_id) if self._bad else call_id
        if fixed == call_id and 0 < len(call_id) <= self._max:
            return call_id
        digest = hashlib.sha1(call_id.encode()).hexdigest()[:10]
        return f"{fixed[: self._max - 11]}_{digest}"


class WireCache(Generic[T]):
    """The wire form of each message, rendered once per message object.

    Messages are immutable and the history mostly grows at its end, so the renderings of
    the longest unchanged prefix are reused and only what follows is rendered again."""

    def __init__(self, render: Callable[[Message], T]) -> None:
        self._render = render
        self._messages: list[Message] = []
        self._wire: list[T] = []
        #: The images the renderings assumed (see ``images_changed``).
        self.image_keys: frozenset[str] = frozenset()

    def clear(self) -> None:
        self._messages.clear()
        self._wire.clear()

    def render_all(self, messages: Sequence[Message]) -> list[T]:
        """The renderings, in order (do not modify them: they are reused)."""
        known, same = self._messages, 0
        limit = min(len(known), len(messages))
        while same < limit and known[same] is messages[same]:
            same += 1
        del known[same:], self._wire[same:]
        for message in messages[same:]:
            known.append(message)
            self._wire.append(self._render(message))
        return list(self._wire)
