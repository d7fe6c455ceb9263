"""The provider-neutral conversation model.

Every provider adapter turns its wire format into these messages and back, so the loop,
the session file and every view see one shape whatever model ran. Tool results are
messages of their own (role ``tool``); adapters that need them inside a user message
(Anthropic) group them when they build a request.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)


class TokenUsage(_Frozen):
    """Token counts as the provider reported them."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    #: What the provider says the request cost, in US dollars, when it says so
    #: (OpenRouter's ``usage.cost``); it wins over the catalogue's price.
    cost_usd: float | None = None

    def __add__(self, other: TokenUsage) -> TokenUsage:
        return TokenUsage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            cache_read_tokens=self.cache_read_tokens + other.cache_read_tokens,
            cache_write_tokens=self.cache_write_tokens + other.cache_write_tokens,
        )

    @property
    def context_tokens(self) -> int:
        """Tokens the request occupied in the context window (prompt plus answer)."""
        return (
            self.input_tokens
            + self.cache_read_tokens
            + self.cache_write_tokens
            + self.output_tokens
        )


class TextBlock(_Frozen):
    type: Literal["text"] = "text"
    text: str


class ThinkingBlock(_Frozen):
    """Reasoning text. ``signature`` is the provider's proof of origin (Anthropic); it is
    only valid when sent back to the provider that produced it."""

    type: Literal["thinking"] = "thinking"
    text: str
    signature: str | None = None


class ToolCallBlock(_Frozen):
    type: Literal["tool_call"] = "tool_call"
    id: str
    name: str
    input: dict[str, Any]
    #: Provider data that came with this call and must go back with it unchanged, by
    #: wire field (Gemini's ``extra_content`` with its thought signature). Like a thinking
    #: signature, it is only sent back to the model that produced it.
    extra: dict[str, Any] | None = None


AssistantBlock = Annotated[TextBlock | ThinkingBlock | ToolCallBlock, Field(discriminator="type")]


class ImageBlock(_Frozen):
    """An image the user attached to a message: a reference to its bytes, which the
    session's image store keeps once (``sha256`` of the bytes names them), so the session
    file holds no base64. ``width``/``height``/``size`` describe the original."""

    type: Literal["image"] = "image"
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    media_type: str
    width: int = Field(ge=1)
    height: int = Field(ge=1)
    size: int = Field(ge=0)
    #: Where it came from, for people: a file name, or ``clipboard``.
    name: str = ""

    @property
    def label(self) -> str:
        """``shot.png 1280×720, 210 KB``: what a chip or a placeholder says."""
        kib = self.size / 1024
        size = f"{kib / 1024:.1f} MB" if kib >= 1024 else f"{max(1, round(kib))} KB"
        return f"{self.name or 'image'} {self.width}×{self.height}, {size}"


UserBlock = Annotated[TextBlock | ImageBlock, Field(discriminator="type")]


class UserMessage(_Frozen):
    """What the user said: a prompt, a steering message or a follow-up. What was typed
    comes first; then the images attached to it, then other attachments as text."""

    role: Literal["user"] = "user"
    content: tuple[UserBlock, ...]
    source: Literal["prompt", "steering", "follow_up"] = "prompt"

    @classmethod
    def of(
        cls, text: str, source: str = "prompt", images: tuple[ImageBlock, ...] = ()
    ) -> UserMessage:
        return cls(content=(TextBlock(text=text), *images), source=source)  # type: ignore[arg-type]

    @property
    def text(self) -> str:
        """All its text, as one (what was typed, then what was attached to it as text)."""
        return "\n\n".join(block.text for block in self.content if block.type == "text")

    @property
    def typed(self) -> str:
        """What the user typed: the first block (later ones are attachments: images,
        files, resources, a hook's added context)."""
        first = self.content[0] if self.content else None
        return first.text if isinstance(first, TextBlock) else ""

    @property
    def images(self) -> tuple[ImageBlock, ...]:
        return tuple(block for block in self.content if block.type == "image")


class AssistantMessage(_Frozen):
    """One model response. ``interrupted`` marks a response cut short by cancel or a
    stream failure; what arrived before the cut is kept."""

    role: Literal["assistant"] = "assistant"
    id: str
    content: tuple[AssistantBlock, ...]
    provider: str
    model: str
    stop_reason: str | None = None
    interrupted: bool = False
    usage: TokenUsage | None = None

    @property
    def text(self) -> str:
        return "".join(b.text for b in self.content if isinstance(b, TextBlock))

    @property
    def tool_calls(self) -> tuple[ToolCallBlock, ...]:
        return tuple(b for b in self.content if isinstance(b, ToolCallBlock))


class ImageData(_Frozen):
    """An image a tool returned, for models that can see it: base64 data, as the APIs
    take it. Kept in the session file with its message; events carry only a note."""

    media_type: str
    data: str

    @classmethod
    def of(cls, media_type: str, data: str) -> ImageData | None:
        """The image (base64 ``data``), or None when no model would take it: see
        ``images.problem``."""
        from harness_tui.core.files import images

        raw = images.decode(data)
        if raw is None or images.problem(raw, media_type) is not None:
            return None
        return cls(media_type=media_type, data=data)

    @classmethod
    def encode(cls, media_type: str, data: bytes) -> ImageData:
        """``data`` (bytes), base64-encoded as the APIs take it."""
        import base64

        return cls(media_type=media_type, data=base64.b64encode(data).decode("ascii"))


class ToolResultMessage(_Frozen):
    """The answer to one tool call, as the model will see it. ``images`` go to models
    that can see; ``content`` names them for the others."""

    role: Literal["tool"] = "tool"
    tool_call_id: str
    tool_name: str
    content: str
    is_error: bool = False
    images: tuple[ImageData, ...] = ()


Message = Annotated[UserMessage | AssistantMessage | ToolResultMessage, Field(discriminator="role")]
