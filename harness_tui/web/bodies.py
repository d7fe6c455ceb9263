"""The JSON bodies the API accepts, checked before a route sees them: unknown fields,
an overlong text or a malformed form are a 422 that names the field.

A prompt or steering message may carry images, each ``{"media_type", "data", "name"}``
(``data`` base64) or in Claude's own shape, ``{"type": "image", "source": {"type":
"base64", "media_type", "data"}}``. Their bytes are decoded and checked by the route
(``harness_tui.web.images``), which names the image that is refused."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    field_validator,
    model_validator,
)

from harness_tui.core.events import PermissionDecision, PermissionMode

#: Longest prompt or steering message accepted, in characters.
MAX_PROMPT_CHARS = 100_000
#: Most fields in one elicitation answer, and the longest text in one of them.
MAX_FORM_FIELDS = 100
MAX_FIELD_CHARS = 10_000
#: Most images in one prompt or steering message, and the longest name of one.
MAX_IMAGES_PER_MESSAGE = 20
MAX_IMAGE_NAME_CHARS = 200


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NewSession(_Body):
    model: str | None = Field(default=None, max_length=1000)
    mode: PermissionMode | None = None


class ImageSource(_Body):
    type: Literal["base64"]
    media_type: str = Field(max_length=100)
    data: str


class ImageIn(BaseModel):
    """One image of a message: ours (``media_type``, ``data``, ``name``) or Claude's
    (``type: image`` with a ``source``)."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["image"] | None = None
    media_type: str | None = Field(None, max_length=100)
    data: str | None = None
    name: str | None = Field(None, max_length=MAX_IMAGE_NAME_CHARS)
    source: ImageSource | None = None

    @model_validator(mode="after")
    def _one_shape(self) -> ImageIn:
        if self.source is not None:
            if self.data is not None or self.media_type is not None:
                raise ValueError("an image has either source or media_type and data, not both")
            self.media_type, self.data = self.source.media_type, self.source.data
        elif self.data is None or self.media_type is None:
            raise ValueError("an image needs media_type and data (base64), or a source")
        return self


class Prompt(_Body):
    #: May be empty when the message carries images.
    text: str = Field(default="", max_length=MAX_PROMPT_CHARS)
    images: list[ImageIn] = Field(default_factory=list, max_length=MAX_IMAGES_PER_MESSAGE)

    @model_validator(mode="after")
    def _something_to_send(self) -> Prompt:
        if not self.text and not self.images:
            raise ValueError("a message needs text, images or both")
        return self


class SteerMessage(Prompt):
    kind: Literal["steer", "follow_up"] = "steer"


class ModelSwitch(_Body):
    model: str = Field(min_length=1, max_length=1000)


class ModeSwitch(_Body):
    mode: PermissionMode


class PullBack(_Body):
    steering_id: str | None = Field(None, min_length=1, max_length=200)


#: Longest checkpoint id accepted as a rewind target.
MAX_TARGET_CHARS = 200


class RewindRequest(_Body):
    """``POST /api/rewind/ID``: a prompt's number as listed (from 1) or a checkpoint id;
    what to rewind; what to do with files changed by hand since then."""

    target: (
        Annotated[StrictInt, Field(ge=1)]
        | Annotated[str, Field(min_length=1, max_length=MAX_TARGET_CHARS)]
    )
    mode: Literal["code", "conversation", "both"] = "both"
    hand_edits: Literal["refuse", "keep", "overwrite"] = "refuse"


class RedoRequest(_Body):
    """``POST /api/redo/ID`` (the body is optional): files changed by hand since the
    rewind it undoes."""

    hand_edits: Literal["refuse", "keep", "overwrite"] = "refuse"


class PermissionAnswer(_Body):
    request_id: str = Field(min_length=1, max_length=200)
    decision: PermissionDecision
    reason: str | None = Field(None, max_length=10_000)


class SamplingReply(_Body):
    request_id: str = Field(min_length=1, max_length=200)
    approved: StrictBool
    #: Passed to the server when declined.
    reason: str | None = Field(None, max_length=10_000)


class ElicitationReply(_Body):
    request_id: str = Field(min_length=1, max_length=200)
    action: Literal["accept", "decline", "cancel"]
    #: The form's values (accept only); checked against the server's schema by the core.
    content: dict[Annotated[str, Field(min_length=1, max_length=200)], Any] | None = Field(
        None, max_length=MAX_FORM_FIELDS
    )

    @field_validator("content")
    @classmethod
    def _plain_values(cls, content: dict[str, Any] | None) -> dict[str, Any] | None:
        # What an elicitation form can hold (MCP allows flat forms only): no nesting.
        for name, value in (content or {}).items():
            if isinstance(value, list):
                if len(value) > MAX_FORM_FIELDS or not all(isinstance(v, str) for v in value):
                    raise ValueError(
                        f"field {name!r}: a list holds at most {MAX_FORM_FIELDS} strings"
                    )
                value = "".join(value)
            elif value is None or not isinstance(value, str | bool | int | float):
                raise ValueError(
                    f"field {name!r}: a value is a string, a number, true or false, or a list "
                    f"of strings, not {_json_kind(value)}"
                )
            if isinstance(value, str) and len(value) > MAX_FIELD_CHARS:
                raise ValueError(f"field {name!r}: at most {MAX_FIELD_CHARS} characters")
        return content

    @model_validator(mode="after")
    def _content_when_accepted(self) -> ElicitationReply:
        if self.content is not None and self.action != "accept":
            raise ValueError(f"content goes with action accept only, not {self.action}")
        return self


def _json_kind(value: Any) -> str:
    return {dict: "an object", list: "a list", type(None): "null"}.get(type(value), "that")
