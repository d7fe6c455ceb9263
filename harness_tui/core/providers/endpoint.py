"""Where and how to reach a provider: base URL, key, headers, timeouts, retries.

Resolved once per model choice from the catalogue (with the settings laid over it) and
the environment. Precedence for the base URL: the SDK's standard variable
(``ANTHROPIC_BASE_URL``, ``OPENAI_BASE_URL``), then the settings, then the catalogue; for
the key: the provider's variable (``ANTHROPIC_API_KEY``, ...), then ``api_key`` in the
settings. The key is kept out of ``repr`` and scrubbed from every message we show.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from harness_tui.core.errors import ConfigError
from harness_tui.core.providers.catalogue import Catalogue, ModelSpec, ProviderSpec, Quirks
from harness_tui.core.providers.retry import RetryPolicy

#: What keyless local servers (Ollama) get: the SDKs refuse to run without a key.
PLACEHOLDER_KEY = "not-needed"


@dataclass(frozen=True, slots=True)
class Endpoint:
    provider: str
    protocol: str
    base_url: str
    #: Where the base URL came from, for messages (``ANTHROPIC_BASE_URL``, ``the catalogue``).
    base_url_source: str
    api_key: str = field(repr=False)
    #: The variable the key is read from (None for keyless providers).
    key_env: str | None
    #: Where the key came from, for messages (``ANTHROPIC_API_KEY``, a settings file).
    key_source: str
    auth_header: str = "bearer"
    headers: Mapping[str, str] = field(default_factory=dict)
    connect_timeout: float = 10.0
    read_timeout: float = 300.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    quirks: Quirks = field(default_factory=Quirks)

    def scrub(self, text: str) -> str:
        """``text`` with the key removed (some APIs echo it in error messages)."""
        key = self.api_key
        if key and key != PLACEHOLDER_KEY and len(key) >= 4:
            text = text.replace(key, "[key]")
        return text


def resolve_endpoint(
    catalogue: Catalogue,
    provider: ProviderSpec,
    model: ModelSpec,
    environ: Mapping[str, str] | None = None,
) -> Endpoint:
    """The endpoint for ``model``; raises ``ConfigError`` when no key is configured."""
    env = os.environ if environ is None else environ
    protocol = model.protocol or provider.protocol
    base_url, base_source = provider.base_url, "the base_url in the model catalogue or settings"
    if protocol != provider.protocol and protocol in provider.base_urls:
        base_url = provider.base_urls[protocol]
        base_source = f"base_urls.{protocol} in the model catalogue or settings"
    elif provider.base_url_env and env.get(provider.base_url_env):
        base_url, base_source = env[provider.base_url_env], provider.base_url_env
    key, key_source = _key(catalogue, provider, env)
    quirks = provider.quirks.model_copy(update=model.quirks.model_dump(exclude_unset=True))
    return Endpoint(
        provider=provider.name,
        protocol=protocol,
        base_url=base_url.rstrip("/"),
        base_url_source=base_source,
        api_key=key,
        key_env=provider.key_env,
        key_source=key_source,
        auth_header=provider.auth_header,
        headers=dict(provider.headers),
        connect_timeout=provider.connect_timeout,
        read_timeout=provider.read_timeout,
        retry=provider.retry,
        quirks=quirks,
    )


def _key(catalogue: Catalogue, provider: ProviderSpec, env: Mapping[str, str]) -> tuple[str, str]:
    for name in (provider.key_env, *provider.key_env_also):
        if name and env.get(name):
            return env[name], name
    if provider.api_key is not None and provider.api_key.get_secret_value():
        source = catalogue.key_sources.get(provider.name, f"models.{provider.name}.api_key")
        return provider.api_key.get_secret_value(), source
    if not provider.key_required:
        return PLACEHOLDER_KEY, "no key (this provider needs none)"
    where = f"set {provider.key_env}" if provider.key_env else "set a key variable"
    raise ConfigError(
        f"no API key for {provider.name}: {where}",
        hint=f"e.g. `export {provider.key_env or 'KEY'}=...`, or api_key under "
        f"models.{provider.name} in ~/.config/harness-tui/settings.yaml",
    )


def has_key(provider: ProviderSpec, environ: Mapping[str, str] | None = None) -> bool:
    """Whether a key for ``provider`` is configured (keyless providers do not count)."""
    env = os.environ if environ is None else environ
    if any(env.get(name) for name in (provider.key_env, *provider.key_env_also) if name):
        return True
    return provider.api_key is not None and bool(provider.api_key.get_secret_value())
