"""Model names to providers.

A model name is what users type after ``--model`` or ``/model``:

- ``demo`` (the offline demo) and ``scripted:PATH`` (a script file);
- ``provider/model-id`` from the catalogue (``anthropic/claude-sonnet-4-6``,
  ``deepseek/deepseek-flash``, ``groq/openai/gpt-oss-120b``), an alias (``sonnet``), or a
  listed model id alone when one provider has it;
- ``provider/anything`` for a model of a known provider that the catalogue does not
  list: it works with the provider's defaults.

The catalogue is the shipped ``catalogue.yaml`` with the ``models`` sections of the
settings laid over it. Resolving checks the name and the key at once (so a bad name
fails before a run starts) but creates the provider, and imports its SDK, lazily.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from harness_tui.core.errors import ConfigError, UnknownModelError
from harness_tui.core.messages import TokenUsage
from harness_tui.core.providers.base import Provider
from harness_tui.core.providers.catalogue import (
    PROTOCOL_IMAGE_LIMITS,
    Catalogue,
    ImageLimits,
    ModelSpec,
    Price,
    load_catalogue,
)
from harness_tui.core.providers.endpoint import Endpoint, has_key, resolve_endpoint

if TYPE_CHECKING:
    from harness_tui.core.config.settings import Settings

DEMO_MODEL = "demo"


@dataclass(frozen=True, slots=True)
class ModelChoice:
    """A resolved model name."""

    #: The name as shown to the user (``demo``, ``anthropic/claude-sonnet-4-6``).
    name: str
    #: The provider as users name it (``scripted``, ``anthropic``, ``openai``, ``deepseek``).
    provider: str
    create: Callable[[], Provider]
    context_window: int | None = None
    #: Prices from the catalogue; None when unknown (no cost is shown then).
    price: Price | None = None
    #: The catalogue entry (None for ``demo`` and scripts).
    spec: ModelSpec | None = None
    #: What its API takes of images; None: the model cannot see images. (The offline
    #: models take them as Anthropic's API does, so a try-out shows the whole path.)
    images: ImageLimits | None = field(default_factory=lambda: PROTOCOL_IMAGE_LIMITS["anthropic"])

    @property
    def is_demo(self) -> bool:
        return self.name == DEMO_MODEL

    def cost_usd(self, usage: TokenUsage) -> float | None:
        return None if self.price is None else self.price.cost_usd(usage)

    def create_for_sampling(self) -> Provider:
        """A provider for an MCP server's sampling request. A scripted model's replies
        are the run's: it answers from its separate sampling replies
        (``ScriptedProvider.for_sampling``), so sampling never takes the run's next one."""
        from harness_tui.core.providers.offline.scripted import ScriptedProvider

        provider = self.create()
        return provider.for_sampling() if isinstance(provider, ScriptedProvider) else provider


def model_catalogue(cwd: Path | None = None, settings: Settings | None = None) -> Catalogue:
    """The shipped catalogue with the settings' ``models`` sections laid over it;
    problems with settings entries are in ``.problems``."""
    if settings is None:
        from harness_tui.core.config.settings import load_settings
        from harness_tui.core.config.trust import TrustStore

        folder = cwd or Path.cwd()
        # A project's own settings could point a provider (and its key) elsewhere:
        # only in a folder the user trusts.
        settings = load_settings(folder, include_project=TrustStore().is_trusted(folder))
    return load_catalogue().with_settings(settings)


def resolve_model(
    name: str,
    *,
    cwd: Path | None = None,
    settings: Settings | None = None,
    environ: Mapping[str, str] | None = None,
) -> ModelChoice:
    """The provider for a model name; raises ``UnknownModelError`` or ``ConfigError``."""
    name = name.strip()
    if name == DEMO_MODEL:
        from harness_tui.core.providers.offline.demo import demo_provider

        return ModelChoice(DEMO_MODEL, "scripted", demo_provider, 200_000)
    if name.startswith("scripted:"):
        return _scripted(name.removeprefix("scripted:"), cwd)
    catalogue = model_catalogue(cwd, settings)
    spec = catalogue.find(name)
    if spec is None:
        spec = _unlisted(catalogue, name)
    _raise_problem_about(catalogue, spec)
    provider = catalogue.providers[spec.provider]
    endpoint = resolve_endpoint(catalogue, provider, spec, environ)
    return ModelChoice(
        spec.name,
        spec.provider,
        _factory(spec, endpoint),
        spec.context_window,
        spec.price,
        spec,
        provider.image_limits(endpoint.protocol) if spec.capabilities.vision else None,
    )


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """A model as the picker lists it."""

    name: str
    provider: str
    context_window: int | None
    price: str
    key_present: bool
    note: str = ""


def available_models(cwd: Path | None = None, settings: Settings | None = None) -> list[ModelInfo]:
    """The demo and every listed model of the catalogue (with the settings' additions),
    for the model picker."""
    from harness_tui.core.providers.endpoint import has_key

    rows = [ModelInfo(DEMO_MODEL, "scripted", 200_000, "free", True, "offline demo")]
    catalogue = model_catalogue(cwd, settings)
    for spec in catalogue.models.values():
        if not spec.listed:
            continue
        provider = catalogue.providers[spec.provider]
        price = f"${spec.price.input:g}/${spec.price.output:g}" if spec.price else ""
        key = has_key(provider) or not provider.key_required
        note = "" if key else f"set {provider.key_env}" if provider.key_env else ""
        rows.append(ModelInfo(spec.name, spec.provider, spec.context_window, price, key, note))
    return rows


def _scripted(raw: str, cwd: Path | None) -> ModelChoice:
    from harness_tui.core.providers.offline.scripted import ScriptedProvider

    if not raw:
        raise UnknownModelError("--model scripted: needs a file, e.g. scripted:replies.yaml")
    path = Path(raw).expanduser()
    if not path.is_absolute():
        path = (cwd or Path.cwd()) / path
    provider = ScriptedProvider.from_file(path)  # read now: errors surface at once
    return ModelChoice(
        f"scripted:{path}", "scripted", lambda: provider, provider.context_window, provider.price
    )


def _unlisted(catalogue: Catalogue, name: str) -> ModelSpec:
    known = ", ".join(sorted(catalogue.providers))
    if "/" not in name:
        aliases = ", ".join(sorted(catalogue.aliases)) or "none"
        raise UnknownModelError(
            f"unknown model {name!r}",
            hint=f"use provider/model (providers: {known}), an alias ({aliases}), "
            f"{DEMO_MODEL}, or scripted:PATH",
        )
    provider_name, model_id = name.split("/", 1)
    provider = catalogue.providers.get(provider_name)
    if provider is None:
        raise UnknownModelError(
            f"unknown provider {provider_name!r} in {name!r}",
            hint=f"known providers: {known}; add one under `models:` in your settings",
        )
    if not model_id.strip():
        raise UnknownModelError(
            f"{name!r} names no model", hint=f"e.g. {provider_name}/{provider.default_model}"
        )
    return catalogue.unlisted(provider, model_id)


def _raise_problem_about(catalogue: Catalogue, spec: ModelSpec) -> None:
    """A bad settings entry for this very model or its provider stops the choice, so the
    user learns why their settings did not apply."""
    for problem in catalogue.problems:
        for key in (spec.name, spec.provider):
            if f"models.{key}:" in problem or f"models.{key}." in problem:
                raise ConfigError(problem)


def _factory(spec: ModelSpec, endpoint: Endpoint) -> Callable[[], Provider]:
    def create() -> Provider:
        if endpoint.protocol == "anthropic":
            from harness_tui.core.providers.protocols.anthropic import AnthropicProvider

            return AnthropicProvider(spec, endpoint)
        if endpoint.protocol == "google":
            from harness_tui.core.providers.protocols.google import GoogleProvider

            return GoogleProvider(spec, endpoint)
        if endpoint.protocol == "openai_responses":
            from harness_tui.core.providers.protocols.openai_responses import (
                OpenAIResponsesProvider,
            )

            return OpenAIResponsesProvider(spec, endpoint)
        from harness_tui.core.providers.protocols.openai_compat import OpenAICompatProvider

        return OpenAICompatProvider(spec, endpoint)

    return create


def default_model_name(
    catalogue: Catalogue | None = None, environ: Mapping[str, str] | None = None
) -> str:
    """``HARNESS_MODEL``, else the default model of the first provider (in catalogue
    order) with a key configured, else ``demo``."""
    env = os.environ if environ is None else environ
    if env.get("HARNESS_MODEL"):
        return env["HARNESS_MODEL"]
    catalogue = catalogue or model_catalogue()
    for provider in catalogue.providers.values():
        if provider.default_model and has_key(provider, env):
            return f"{provider.name}/{provider.default_model}"
    return DEMO_MODEL
