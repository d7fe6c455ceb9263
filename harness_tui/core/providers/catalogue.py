"""The model catalogue: providers and models as data.

One format serves the shipped ``catalogue.yaml`` and the ``models`` section of the
settings files: a mapping whose keys without a slash are providers and whose keys with
one are models (``provider/model-id``; the model id may contain more slashes)::

    anthropic:                       # a provider: add one, or override fields of ours
      base_url: https://api.anthropic.com
      key_env: ANTHROPIC_API_KEY
    lab:
      protocol: openai_compat
      base_url: http://gpu-box:8000/v1
      key_required: false
    lab/qwen3-coder:                 # a model: add one, or override fields of ours
      aliases: [coder]
      context_window: 131072
      price: {input: 0, output: 0}

Settings entries are laid over the shipped ones field by field (nested mappings such as
``price`` or ``retry`` merge too), lowest precedence file first. A settings entry that
does not validate is reported in ``Catalogue.problems`` (file and field) and ignored; a
broken shipped catalogue raises ``ConfigError``, as it is a broken installation.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from harness_tui.core.config.files import ConfigFileError, load_config_file
from harness_tui.core.errors import ConfigError, describe_validation_error
from harness_tui.core.messages import TokenUsage
from harness_tui.core.providers.retry import RetryPolicy

if TYPE_CHECKING:
    from harness_tui.core.config.settings import Settings

CATALOGUE_PATH = Path(__file__).with_name("catalogue.yaml")
#: The wire protocols: Anthropic's Messages API, OpenAI-compatible chat completions,
#: Gemini's native generateContent (``google``) and OpenAI's Responses API.
Protocol = Literal["anthropic", "openai_compat", "google", "openai_responses"]
PROTOCOLS: tuple[Protocol, ...] = ("anthropic", "openai_compat", "google", "openai_responses")

_PROVIDER_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Price(_Strict):
    """US dollars per million tokens. Cache prices default to the input price."""

    input: float = Field(ge=0)
    output: float = Field(ge=0)
    cache_read: float | None = Field(default=None, ge=0)
    cache_write: float | None = Field(default=None, ge=0)

    def cost_usd(self, usage: TokenUsage) -> float:
        read = self.input if self.cache_read is None else self.cache_read
        write = self.input if self.cache_write is None else self.cache_write
        return (
            usage.input_tokens * self.input
            + usage.output_tokens * self.output
            + usage.cache_read_tokens * read
            + usage.cache_write_tokens * write
        ) / 1e6


class ImageLimits(_Strict):
    """What one API takes of the images in a request (its documentation's numbers; the
    catalogue names each source). Images are fitted to them before they are sent: scaled
    down to ``max_edge`` (and ``max_short_edge``, ``max_pixels``), re-encoded when larger
    than ``max_bytes`` or of a type not in ``types``; the newest ``max_count`` images
    within ``max_total_bytes`` go, older ones become a text placeholder.

    Byte limits are of the image files; they travel as base64, a third larger, and the
    APIs count that (Anthropic: "image exceeds 5 MB maximum: 5649924 bytes > 5242880
    bytes" for a 4.2 MB file), so the numbers below are the documented ones times 3/4."""

    #: Longest side in pixels.
    max_edge: int = Field(gt=0)
    #: Shortest side in pixels (OpenAI's high detail: 768).
    max_short_edge: int | None = Field(default=None, gt=0)
    #: Most pixels (Anthropic recommends 1.15 megapixels).
    max_pixels: int | None = Field(default=None, gt=0)
    #: Largest image file (before base64).
    max_bytes: int = Field(gt=0)
    #: Most images in one request.
    max_count: int = Field(gt=0)
    #: Most bytes of image files (before base64) in one request.
    max_total_bytes: int = Field(gt=0)
    #: Media types taken as they are; others are re-encoded as PNG.
    types: tuple[str, ...] = ("image/png", "image/jpeg", "image/gif", "image/webp")


def _unbase64(limit: int) -> int:
    """A byte limit of base64 text as the bytes of the file it encodes."""
    return limit * 3 // 4


# OpenAI's chat completions and Responses (sources below, in the table).
_OPENAI_IMAGES = ImageLimits(
    max_edge=2048,
    max_short_edge=768,
    max_bytes=_unbase64(20 * 2**20),
    max_count=500,
    max_total_bytes=_unbase64(48 * 2**20),
)
#: Each protocol's limits, for a provider whose catalogue entry names none (the shipped
#: providers whose APIs differ set theirs in catalogue.yaml, with their sources).
PROTOCOL_IMAGE_LIMITS: dict[str, ImageLimits] = {
    # platform.claude.com/docs/en/build-with-claude/vision: images over 1568 px on the long
    # edge or ~1,600 tokens are scaled down by the API ("resize to no more than 1.15
    # megapixels (and within 1568 pixels in both dimensions)"); 5 MB per image (of base64:
    # the 400's own numbers, anthropics/claude-code#14201); "up to 600 for API requests
    # (100 for models with a 200k-token context window)": 100, which every model takes;
    # 32 MB per request, though requests of ~24 MB of images were refused in practice
    # (badlogic/pi-mono packages/ai/test/image-limits.test.ts): 16 MB of base64.
    "anthropic": ImageLimits(
        max_edge=1568,
        max_pixels=1_150_000,
        max_bytes=_unbase64(5 * 2**20),
        max_count=100,
        max_total_bytes=_unbase64(16 * 2**20),
    ),
    # developers.openai.com/api/docs/guides/images-vision: high detail scales an image to
    # fit 2048×2048, then its short side to 768; PNG, JPEG, WEBP, non-animated GIF; "Up to
    # 20MB per image", "Up to 500 individual images per request", "Up to 50 MB image bytes
    # per request" (48 MB of base64 here, for the text beside them).
    "openai_compat": _OPENAI_IMAGES,
    # The same guide covers the Responses API.
    "openai_responses": _OPENAI_IMAGES,
    # ai.google.dev/gemini-api/docs/image-understanding: image/png, jpeg, webp, heic, heif
    # (no GIF); inline data only while "the total request size (including files, text
    # prompts, system instructions, etc.)" is under 20 MB: 16 MB of base64, the rest left
    # for the text; larger images are scaled down to fit 3072×3072. Vertex AI's table
    # (docs.cloud.google.com/vertex-ai/generative-ai/docs/multimodal/image-understanding):
    # 7 MB per inline file, 900 images per prompt for Gemini 3 Pro (3,000 for 2.5).
    "google": ImageLimits(
        max_edge=3072,
        max_bytes=7 * 2**20,
        max_count=900,
        max_total_bytes=_unbase64(16 * 2**20),
        types=("image/png", "image/jpeg", "image/webp"),
    ),
}


class Capabilities(_Strict):
    tools: bool = True
    thinking: bool = False
    vision: bool = False


class Quirks(_Strict):
    """How one OpenAI-compatible API differs from another: data, not subclasses. Each
    rule's source is in the wire corpus (``tests/wire/<family>/rule-*.yaml``)."""

    #: Name of the output-limit parameter; None sends no limit (the server's default).
    max_tokens_field: Literal["max_tokens", "max_completion_tokens"] | None = "max_tokens"
    #: Ask for a final usage chunk (``stream_options.include_usage``).
    stream_usage: bool = True
    #: Delta fields that carry reasoning text (DeepSeek, Moonshot, llama.cpp:
    #: ``reasoning_content``; vLLM, Ollama, Groq, OpenRouter: ``reasoning``), shown as
    #: thinking.
    reasoning_fields: tuple[str, ...] = ("reasoning_content", "reasoning")
    #: Which earlier assistant messages of the same model carry their reasoning back:
    #: ``none``; ``tool_calls`` (those that made tool calls: Kimi's thinking models,
    #: llama.cpp); ``all`` (every one: DeepSeek V4 in thinking mode). A message that
    #: qualifies carries the field even when its reasoning is empty (``""``): DeepSeek
    #: and Kimi refuse a thinking-mode tool-call message without it.
    reasoning_echo: Literal["none", "tool_calls", "all"] = "none"
    #: The assistant-message field the reasoning goes back in.
    reasoning_echo_field: str = "reasoning_content"
    #: Fields of a streamed tool call kept with the call and sent back on it unchanged
    #: (Gemini: ``extra_content``, which holds the call's thought signature).
    tool_call_extras: tuple[str, ...] = ()
    #: Sent on the first tool call of an assistant message of the current turn that has
    #: none of ``tool_call_extras`` (calls of another model, after a /model switch):
    #: Gemini's documented placeholder signature.
    unsigned_call_extra: dict[str, Any] | None = None
    #: The answer's text may begin with ``<thought>...</thought>``: that part is thinking
    #: (Gemini's compatible endpoint with ``include_thoughts``).
    thought_tags: bool = False
    #: The final usage carries the request's cost in US dollars (``usage.cost``:
    #: OpenRouter, whose price depends on the upstream provider that served it).
    usage_cost: bool = False
    #: An assistant message with tool calls and no text carries ``content: null`` (OpenAI);
    #: False sends ``""`` instead (Groq refuses null: "'messages.N.content' : value must be
    #: a string").
    null_content: bool = True
    #: Extra JSON fields of a request to a model that thinks (Gemini: ask for thought
    #: summaries with ``extra_body.google.thinking_config.include_thoughts``).
    thinking_request: dict[str, Any] | None = None

    @model_validator(mode="before")
    @classmethod
    def _old_names(cls, data: Any) -> Any:
        """The older ``reasoning_in_history: true`` is ``reasoning_echo: tool_calls``."""
        if isinstance(data, Mapping) and "reasoning_in_history" in data:
            data = dict(data)
            if data.pop("reasoning_in_history") is True:
                data.setdefault("reasoning_echo", "tool_calls")
        return data


class ModelDefaults(_Strict):
    """What a model of this provider that the catalogue does not list gets."""

    context_window: int | None = Field(default=None, gt=0)
    max_output: int | None = Field(default=None, gt=0)
    capabilities: Capabilities = Capabilities()
    thinking_mode: Literal["budget", "adaptive"] | None = None


class ProviderSpec(_Strict):
    name: str
    protocol: Protocol
    base_url: str = Field(pattern=r"^https?://\S+$")
    #: The SDK's standard variable for the base URL (``ANTHROPIC_BASE_URL``); it wins
    #: over the settings and the catalogue.
    base_url_env: str | None = None
    key_env: str | None = None
    #: Further variables the key is read from when ``key_env`` is not set (Gemini:
    #: ``GOOGLE_API_KEY``, which Google's own SDK also reads).
    key_env_also: tuple[str, ...] = ()
    #: The base URL for a protocol other than ``protocol``, for models that speak it
    #: (Gemini's OpenAI-compatible endpoint); without one, ``base_url`` serves every
    #: protocol (OpenAI's chat completions and Responses share it).
    base_urls: dict[Protocol, str] = Field(default_factory=dict)
    #: Local servers (Ollama) take any key; we send a placeholder.
    key_required: bool = True
    #: A key written in the settings (the environment variable wins over it).
    api_key: SecretStr | None = None
    #: Anthropic-compatible proxies that want ``x-api-key`` instead of a bearer token.
    auth_header: Literal["bearer", "x-api-key"] = "bearer"
    headers: dict[str, str] = Field(default_factory=dict)
    #: The model ``harness-tui`` starts on when only this provider has a key.
    default_model: str | None = None
    #: Seconds without a byte from the server before the stream counts as stalled.
    read_timeout: float = Field(default=300.0, gt=0)
    connect_timeout: float = Field(default=10.0, gt=0)
    retry: RetryPolicy = RetryPolicy()
    quirks: Quirks = Quirks()
    model_defaults: ModelDefaults = ModelDefaults()
    #: What its API takes of images (None: its protocol's ``PROTOCOL_IMAGE_LIMITS``).
    images: ImageLimits | None = None

    def image_limits(self, protocol: str | None = None) -> ImageLimits:
        """The image limits of requests in ``protocol`` (by default the provider's)."""
        if self.images is not None:
            return self.images
        return PROTOCOL_IMAGE_LIMITS[protocol or self.protocol]


class ModelSpec(_Strict):
    provider: str
    id: str = Field(min_length=1)
    aliases: tuple[str, ...] = ()
    context_window: int | None = Field(default=None, gt=0)
    max_output: int | None = Field(default=None, gt=0)
    price: Price | None = None
    capabilities: Capabilities = Capabilities()
    #: The wire protocol for this model when it is not its provider's (OpenAI's reasoning
    #: models: ``openai_responses``; a Gemini model over ``openai_compat``).
    protocol: Protocol | None = None
    #: Anthropic thinking: a token budget (``enabled``) or ``adaptive`` (newer models).
    thinking_mode: Literal["budget", "adaptive"] = "budget"
    thinking_budget: int = Field(default=8000, ge=1024)
    #: Overrides of the provider's quirks for this model only.
    quirks: Quirks = Quirks()
    #: False for a model the catalogue does not list (provider defaults apply).
    listed: bool = True

    @property
    def name(self) -> str:
        return f"{self.provider}/{self.id}"


_PROVIDERS: TypeAdapter[dict[str, ProviderSpec]] = TypeAdapter(dict[str, ProviderSpec])
_MODELS: TypeAdapter[dict[str, ModelSpec]] = TypeAdapter(dict[str, ModelSpec])


@dataclass
class Catalogue:
    """Every provider and model known, with the problems met while reading them."""

    providers: dict[str, ProviderSpec] = field(default_factory=dict)
    models: dict[str, ModelSpec] = field(default_factory=dict)
    #: Alias -> model name (``provider/id``).
    aliases: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    #: Where each provider's ``api_key`` came from (a settings file), by provider.
    key_sources: dict[str, str] = field(default_factory=dict)
    #: Raw entries as merged so far; settings are laid over them.
    _raw: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)

    def find(self, name: str) -> ModelSpec | None:
        """A listed model by ``provider/id``, alias, ``provider/alias``, or model id
        alone when only one provider has it."""
        spec = self.models.get(name) or self.models.get(self.aliases.get(name, ""))
        if spec is not None:
            return spec
        provider, _, rest = name.partition("/")
        spec = self.models.get(self.aliases.get(rest, ""))
        if spec is not None and spec.provider == provider:
            return spec
        matches = [m for m in self.models.values() if m.id == name]
        return matches[0] if len(matches) == 1 else None

    def unlisted(self, provider: ProviderSpec, model_id: str) -> ModelSpec:
        """A model of a known provider that the catalogue does not list."""
        defaults = provider.model_defaults
        return ModelSpec(
            provider=provider.name,
            id=model_id,
            context_window=defaults.context_window,
            max_output=defaults.max_output,
            capabilities=defaults.capabilities,
            thinking_mode=defaults.thinking_mode or "budget",
            listed=False,
        )

    def with_settings(self, settings: Settings) -> Catalogue:
        """A copy with the ``models`` sections of the settings laid over it."""
        merged = Catalogue(
            dict(self.providers),
            dict(self.models),
            dict(self.aliases),
            list(self.problems),
            dict(self.key_sources),
            {key: dict(value) for key, value in self._raw.items()},
        )
        for section, source in settings.sections("models"):
            if not isinstance(section, Mapping):
                merged.problems.append(
                    f"{source.label}: models: must be a mapping of providers and "
                    "provider/model entries; ignored"
                )
                continue
            merged._lay_over(section, source.label, "models.")
        return merged

    def _lay_over(self, entries: Mapping[Any, Any], label: str, prefix: str) -> None:
        """Merge entries into this catalogue; record a problem for each bad one."""
        # Keys as text (YAML reads ``1:`` as a number); providers first: a new
        # provider's models in the same file need it.
        named = {str(k): v for k, v in entries.items()}
        for key in sorted(named, key=lambda k: "/" in k):
            value = named[key]
            where = f"{label}: {prefix}{key}"
            if value is None:
                value = {}
            if not isinstance(value, Mapping):
                self.problems.append(f"{where}: must be a mapping of fields; ignored")
                continue
            problem = self._merge_one(key, dict(value), label)
            if problem:
                self.problems.append(f"{label}: {prefix}{problem}; ignored")

    def _merge_one(self, key: str, value: dict[str, Any], label: str) -> str | None:
        raw = _deep_merge(self._raw.get(key, {}), value)
        if "/" not in key:
            if not _PROVIDER_NAME.match(key):
                return f"{key}: a provider name is lower-case letters, digits, '-', '_', '.'"
            try:
                provider_spec = _PROVIDERS.validate_python({key: {**raw, "name": key}})[key]
            except ValidationError as exc:
                return describe_validation_error(exc)
            self.providers[key] = provider_spec
            if "api_key" in value:
                self.key_sources[key] = f"models.{key}.api_key in {label}"
        else:
            provider, model_id = key.split("/", 1)
            if provider not in self.providers:
                known = ", ".join(sorted(self.providers))
                return f"{key}: unknown provider {provider!r} (known: {known})"
            if key not in self._raw:  # a new model starts from its provider's defaults
                defaults = self.providers[provider].model_defaults.model_dump(exclude_none=True)
                raw = _deep_merge(defaults, raw)
            try:
                model_spec = _MODELS.validate_python(
                    {key: {**raw, "provider": provider, "id": model_id}}
                )[key]
            except ValidationError as exc:
                return describe_validation_error(exc)
            old = self.models.get(key)
            if old is not None:
                for alias in old.aliases:
                    self.aliases.pop(alias, None)
            self.models[key] = model_spec
            for alias in model_spec.aliases:
                self.aliases[alias] = key
        self._raw[key] = raw
        return None


def _deep_merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def load_catalogue(path: Path = CATALOGUE_PATH) -> Catalogue:
    """Read a catalogue file; raises ``ConfigError`` naming the file and the field."""
    if path == CATALOGUE_PATH:
        return _shipped()
    return _read(path)


@lru_cache(maxsize=1)
def _shipped() -> Catalogue:
    return _read(CATALOGUE_PATH)


def _read(path: Path) -> Catalogue:
    try:
        data = load_config_file(path, json_format=False)
    except (OSError, ConfigFileError) as exc:
        reason = exc.reason if isinstance(exc, ConfigFileError) else f"cannot read it ({exc})"
        raise ConfigError(f"model catalogue {path}: {reason}") from None
    if not isinstance(data, Mapping):
        raise ConfigError(f"model catalogue {path}: the top level must be a mapping")
    catalogue = Catalogue()
    catalogue._lay_over(data, f"model catalogue {path}", "")
    if catalogue.problems:
        raise ConfigError(
            catalogue.problems[0].removesuffix("; ignored"),
            hint="the catalogue shipped with harness-tui is damaged; reinstall it",
        )
    return catalogue
