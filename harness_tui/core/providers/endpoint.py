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
from harness_tui.core.providers.base import CONTEXT_OVERFLOW, StreamFailed
from harness_tui.core.providers.catalogue import Catalogue, ModelSpec, ProviderSpec, Quirks
from harness_tui.core.providers.faults import BUSY, Fault
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

    def failure(self, fault: Fault, *, partial: bool, attempts: int) -> StreamFailed:
        """The failure to report for ``fault``, with a hint that says what to do: it names
        the key variable on 401/403 and the base URL on connection errors, never the key."""
        provider = self.provider
        status = f" ({fault.status_code})" if fault.status_code and fault.status_code != 200 else ""
        detail = self.scrub(fault.detail)
        after = f" after {attempts} attempts" if attempts > 1 else ""
        kind: str = fault.kind
        hint: str | None
        if kind == "auth_failed":
            message = f"{provider} rejected the API key{status}: {self.key_source} is wrong"
            if detail:
                message += f" ({detail})"
            hint = f"set {self.key_env or 'the api_key setting'} to a valid {provider} key"
        elif kind == "forbidden":
            message = f"{provider} refused access{status} with the key from {self.key_source}"
            hint = "check that this key may use this model"
        elif kind == "not_found":
            message = f"{provider} does not know this model or endpoint{status}: {detail}"
            hint = "check the model name (provider/model) and the base URL"
        elif kind == "context_overflow":
            # The loop compacts and tries once more on this code (see AgentLoop.run).
            kind = CONTEXT_OVERFLOW
            message = f"{provider} refused the request{status}: {detail}"
            hint = "the conversation no longer fits the model: /compact it or start a new one"
        elif kind == "quota":
            message = f"{provider} has no quota or credit left for this key{status}: {detail}"
            hint = (
                f"add credit or raise the limit in your {provider} account, "
                "or switch models with /model"
            )
            if "max_tokens" in detail:  # OpenRouter: the balance cannot cover the output limit
                hint = (
                    f"add credit in your {provider} account, or lower the model's output limit "
                    "(max_output under models: in your settings)"
                )
        elif kind == "content_filter":
            message = f"{provider}'s content filter refused the request{status}: {detail}"
            hint = "rephrase the request, or leave out the content the filter objects to"
        elif kind == "bad_generation":
            message = f"{provider} could not read the model's tool call{status}{after}: {detail}"
            hint = "try again, or switch to a model that calls tools more reliably (/model)"
        elif kind == "bad_request":
            message = f"{provider} refused the request{status}: {detail}"
            hint = (
                "the provider's message says what it refused; if it names something "
                "harness-tui sent, please report it (the session is still usable)"
            )
        elif kind == "connection" and partial:
            message = f"the connection to {provider} was lost ({detail})"
            hint = "try again; check your network if it keeps happening"
        elif kind == "connection":
            message = f"cannot reach {provider} at {self.base_url}{after}: {detail}"
            hint = f"check your network and the base URL ({self.base_url_source})"
        elif kind == "timeout":
            message = f"{provider} sent nothing for {self.read_timeout:g} s (read timeout){after}"
            hint = "try again; raise read_timeout in the models settings if the model is slow"
        elif kind in BUSY:
            message = f"{provider} {BUSY[kind]}{status}{after}"
            if detail:
                message += f": {detail}"
            hint = "wait a moment and try again, or switch models with /model"
        elif kind == "stream_cut":
            message = f"the {provider} response stream ended before it was complete{after}"
            hint = "try again"
        elif kind == "malformed":
            message = f"{provider} sent data that could not be read{after} ({detail})"
            hint = "try again; if it keeps happening, check any proxy in between"
        elif kind == "stream_error":
            message = f"{provider} reported an error in the middle of the response: {detail}"
            hint = "try again"
        else:
            message = f"{provider} request failed{status}: {detail}"
            hint = None
        if partial:
            message = f"the response broke off: {message}; the partial answer was kept"
        return StreamFailed(message, kind, hint)


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
