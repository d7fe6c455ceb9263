"""The model catalogue and model names: what resolves to what, what users can add, and
what bad input is told."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from harness_tui.core.config import paths
from harness_tui.core.errors import ConfigError, UnknownModelError
from harness_tui.core.messages import TokenUsage
from harness_tui.core.providers.catalogue import PROTOCOLS, Price, load_catalogue
from harness_tui.core.providers.endpoint import Endpoint, has_key, resolve_endpoint
from harness_tui.core.providers.models import default_model_name, model_catalogue, resolve_model
from tests.fakes.anthropic_server import FakeAnthropic
from tests.fakes.wiring import write_models_settings

VENDORS = {
    "anthropic",
    "openai",
    "deepseek",
    "moonshot",
    "ollama",
    "groq",
    "openrouter",
    "gemini",
    "vllm",
}
KEYS = {"ANTHROPIC_API_KEY": "a-key", "OPENAI_API_KEY": "o-key", "DEEPSEEK_API_KEY": "d-key"}


@pytest.fixture(autouse=True)
def _no_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """No key or base URL from the machine running the tests leaks in."""
    for provider in load_catalogue().providers.values():
        for variable in (provider.key_env, provider.base_url_env):
            if variable:
                monkeypatch.delenv(variable, raising=False)
    monkeypatch.delenv("HARNESS_MODEL", raising=False)


def test_the_shipped_catalogue_covers_every_vendor_with_complete_entries() -> None:
    catalogue = load_catalogue()
    assert set(catalogue.providers) == VENDORS
    used = {p.protocol for p in catalogue.providers.values()}
    used |= {m.protocol for m in catalogue.models.values() if m.protocol}
    assert used == set(PROTOCOLS)
    for provider in catalogue.providers.values():
        assert provider.base_url.startswith("http")
        assert provider.key_env or not provider.key_required
        # a server that serves whatever it loaded (vLLM) has no default of ours
        assert provider.default_model is None or (
            f"{provider.name}/{provider.default_model}" in catalogue.models
        )
    for model in catalogue.models.values():
        assert model.context_window and model.price is not None, model.name
    assert catalogue.models["anthropic/claude-sonnet-4-6"].capabilities.thinking


@pytest.mark.parametrize(
    ("name", "expected", "provider"),
    [
        ("anthropic/claude-sonnet-4-6", "anthropic/claude-sonnet-4-6", "anthropic"),
        ("sonnet", "anthropic/claude-sonnet-5-5", "anthropic"),
        ("anthropic/sonnet", "anthropic/claude-sonnet-5-5", "anthropic"),
        ("gpt-5", "openai/gpt-5", "openai"),
        ("deepseek/deepseek-flash", "deepseek/deepseek-flash", "deepseek"),
        ("deepseek-v4-flash", "deepseek/deepseek-flash", "deepseek"),
        ("groq/openai/gpt-oss-120b", "groq/openai/gpt-oss-120b", "groq"),
        ("ollama/qwen2.5-coder", "ollama/qwen2.5-coder", "ollama"),
    ],
)
def test_names_aliases_and_ids_resolve(
    name: str, expected: str, provider: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for variable, value in KEYS.items():
        monkeypatch.setenv(variable, value)
    monkeypatch.setenv("GROQ_API_KEY", "g-key")
    choice = resolve_model(name)
    assert (choice.name, choice.provider) == (expected, provider)
    assert choice.context_window and choice.price is not None


def test_an_unlisted_model_of_a_known_provider_gets_sane_defaults(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "a-key")
    choice = resolve_model("anthropic/claude-next-preview")
    assert choice.name == "anthropic/claude-next-preview"
    assert choice.context_window == 1_000_000 and choice.price is None
    assert choice.cost_usd(TokenUsage(input_tokens=10)) is None
    assert choice.spec is not None and not choice.spec.listed
    # the provider family's rules: a current Anthropic model thinks adaptively
    assert choice.spec.max_output == 64000 and choice.spec.capabilities.thinking
    assert choice.spec.thinking_mode == "adaptive"
    monkeypatch.setenv("OPENAI_API_KEY", "o-key")
    # Another provider's alias is not borrowed: this is an unlisted OpenAI model.
    assert resolve_model("openai/sonnet").name == "openai/sonnet"
    ollama = resolve_model("ollama/some-local-model")  # no key needed
    assert ollama.context_window == 32768


def test_an_unknown_provider_lists_the_known_ones() -> None:
    with pytest.raises(UnknownModelError) as caught:
        resolve_model("mistrel/large")
    assert "unknown provider 'mistrel'" in caught.value.message
    for vendor in VENDORS:
        assert vendor in caught.value.hint
    with pytest.raises(UnknownModelError) as caught:
        resolve_model("sonet")
    assert "sonnet" in caught.value.hint and "anthropic" in caught.value.hint


def test_a_missing_key_names_the_variable() -> None:
    with pytest.raises(ConfigError) as caught:
        resolve_model("deepseek/deepseek-chat")
    assert "DEEPSEEK_API_KEY" in str(caught.value)


def test_users_add_providers_and_models_and_override_fields(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    write_models_settings(
        {
            "lab": {
                "protocol": "openai_compat",
                "base_url": "http://gpu-box:8000/v1",
                "key_env": "LAB_KEY",
            },
            "lab/qwen3-coder": {
                "aliases": ["coder"],
                "context_window": 131072,
                "price": {"input": 0.1, "output": 0.2},
            },
            "anthropic/claude-sonnet-4-6": {"price": {"input": 2.5}, "aliases": ["s"]},
            "lab/tiny": None,
            "ollama/mine": {},
        }
    )
    monkeypatch.setenv("LAB_KEY", "lab-key")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "a-key")
    bare = resolve_model("lab/tiny")  # listed with no fields: the provider's defaults
    assert bare.spec is not None and bare.spec.listed and bare.context_window is None
    local = resolve_model("ollama/mine")
    assert local.context_window == 32768 and local.spec is not None and local.spec.listed
    coder = resolve_model("coder")
    assert coder.name == "lab/qwen3-coder" and coder.provider == "lab"
    assert coder.context_window == 131072
    sonnet = resolve_model("s")
    # One field overridden, the others kept from the shipped entry.
    assert sonnet.price == Price(input=2.5, output=15, cache_read=0.3, cache_write=3.75)
    assert sonnet.spec is not None and sonnet.spec.max_output == 128000
    assert model_catalogue().problems == []


def test_a_bad_settings_entry_names_the_file_and_field(monkeypatch: pytest.MonkeyPatch) -> None:
    write_models_settings(
        {
            "anthropic": {"read_timeout": -1},
            "deepseek/deepseek-chat": {"pricee": {"input": 1}},
            "nowhere/model": {},
        }
    )
    problems = model_catalogue().problems
    settings_file = paths.config_dir() / "settings.yaml"
    assert len(problems) == 3, problems
    assert all(p.startswith(f"{settings_file}: models.") for p in problems)
    assert any("models.anthropic.read_timeout" in p for p in problems)
    assert any("models.deepseek/deepseek-chat.pricee" in p for p in problems)
    assert any("unknown provider 'nowhere'" in p and "anthropic" in p for p in problems)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "a-key")
    with pytest.raises(ConfigError) as caught:
        resolve_model("sonnet")  # its provider's entry is broken: say so, do not ignore it
    assert "read_timeout" in str(caught.value)
    monkeypatch.setenv("OPENAI_API_KEY", "o-key")
    assert resolve_model("openai/gpt-5").name == "openai/gpt-5"  # others are unaffected


def test_a_malformed_catalogue_names_the_file_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "catalogue.yaml"
    bad.write_text(
        "acme:\n  protocol: openai_compat\n  base_url: http://x/v1\n"
        "acme/m1:\n  context_window: lots\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_catalogue(bad)
    assert str(bad) in caught.value.message and "acme/m1.context_window" in caught.value.message
    bad.write_text("acme:\n  protocol: [unclosed\n")
    with pytest.raises(ConfigError) as caught:
        load_catalogue(bad)
    assert str(bad) in caught.value.message and "line 2" in caught.value.message


def test_base_url_follows_the_sdk_variable_then_settings_then_catalogue(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "o-key")

    def endpoint():
        return resolve_model("openai/gpt-5").create().endpoint  # type: ignore[attr-defined]

    assert endpoint().base_url == "https://api.openai.com/v1"
    write_models_settings({"openai": {"base_url": "https://proxy.example/v1"}})
    assert endpoint().base_url == "https://proxy.example/v1"
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1/")
    assert endpoint().base_url == "http://127.0.0.1:9/v1"
    assert endpoint().base_url_source == "OPENAI_BASE_URL"


def test_keys_come_from_the_environment_then_settings_and_never_show(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    write_models_settings({"anthropic": {"api_key": "sk-from-settings-123"}})
    provider = resolve_model("haiku").create()
    endpoint = provider.endpoint  # type: ignore[attr-defined]
    assert endpoint.api_key == "sk-from-settings-123"
    assert "models.anthropic.api_key in" in endpoint.key_source
    assert "sk-from-settings" not in repr(endpoint) + repr(provider) + repr(resolve_model("haiku"))
    assert endpoint.scrub("echo sk-from-settings-123!") == "echo [key]!"
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-from-env-456")
    assert resolve_model("haiku").create().endpoint.api_key == "sk-from-env-456"  # type: ignore[attr-defined]


def test_the_default_model_follows_the_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    assert default_model_name() == "demo"
    monkeypatch.setenv("GEMINI_API_KEY", "g-key")
    assert default_model_name() == "gemini/gemini-3.8-flash"
    monkeypatch.setenv("ANTHROPIC_API_KEY", "a-key")
    assert default_model_name() == "anthropic/claude-sonnet-5-5"
    monkeypatch.setenv("HARNESS_MODEL", "haiku")
    assert default_model_name() == "haiku"
    monkeypatch.delenv("HARNESS_MODEL")
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    monkeypatch.delenv("GEMINI_API_KEY")
    write_models_settings({"deepseek": {"api_key": "d-key"}})
    assert default_model_name(model_catalogue()) == "deepseek/deepseek-flash"


def test_cost_from_the_price_per_million_tokens() -> None:
    price = Price(input=3, output=15, cache_read=0.3)
    usage = TokenUsage(
        input_tokens=1_000_000, output_tokens=100_000, cache_read_tokens=10, cache_write_tokens=10
    )
    # Cache writes without a price of their own cost what input costs.
    assert price.cost_usd(usage) == pytest.approx(3 + 1.5 + 0.000003 + 0.00003)


def test_sdks_are_imported_only_when_a_request_is_made(monkeypatch: pytest.MonkeyPatch) -> None:
    probe = """
import json, sys, anyio
from harness_tui.core.session.session import Session
from harness_tui.core.providers.models import model_catalogue, resolve_model
model_catalogue()
choice = resolve_model("anthropic/claude-haiku-4-5")
provider = choice.create()
before = {m for m in ("anthropic", "openai") if m in sys.modules}

async def main():
    async with Session(model=choice) as session:
        async for event in session.run("hi"):
            pass
        return session.messages[-1].text

text = anyio.run(main)
after = {m for m in ("anthropic", "openai") if m in sys.modules}
print(json.dumps({"before": sorted(before), "after": sorted(after), "text": text}))
"""
    with FakeAnthropic() as api:
        api.script()
        monkeypatch.setenv("ANTHROPIC_BASE_URL", api.url)
        monkeypatch.setenv("ANTHROPIC_API_KEY", api.api_key)
        result = subprocess.run(
            [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60
        )
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout)
    assert loaded == {"before": [], "after": ["anthropic"], "text": "ok"}


def test_each_model_reaches_the_endpoint_of_its_protocol() -> None:
    """OpenAI's reasoning models speak the Responses API at the same base URL; Gemini
    speaks its native API, and a Gemini model set to openai_compat goes to the
    compatible endpoint; GOOGLE_API_KEY serves when GEMINI_API_KEY is not set."""
    catalogue = load_catalogue()
    openai, gemini = catalogue.providers["openai"], catalogue.providers["gemini"]

    def endpoint(name: str, environ: dict[str, str], **update: Any) -> Endpoint:
        spec = catalogue.models[name].model_copy(update=update)
        return resolve_endpoint(catalogue, catalogue.providers[spec.provider], spec, environ)

    keys = {"OPENAI_API_KEY": "sk-o", "GEMINI_API_KEY": "g-1"}
    gpt5, gpt41 = endpoint("openai/gpt-5", keys), endpoint("openai/gpt-4.1", keys)
    assert (gpt5.protocol, gpt41.protocol) == ("openai_responses", "openai_compat")
    assert gpt5.base_url == gpt41.base_url == openai.base_url
    native = endpoint("gemini/gemini-3.8-flash", keys)
    assert (native.protocol, native.base_url) == ("google", gemini.base_url)
    compat = endpoint("gemini/gemini-3.8-flash", keys, protocol="openai_compat")
    assert compat.protocol == "openai_compat"
    assert compat.base_url == "https://generativelanguage.googleapis.com/v1beta/openai"
    google_key = endpoint("gemini/gemini-3.8-flash", {"GOOGLE_API_KEY": "g-2"})
    assert (google_key.api_key, google_key.key_source) == ("g-2", "GOOGLE_API_KEY")
    assert endpoint("gemini/gemini-3.8-flash", {"GOOGLE_API_KEY": "g-2", **keys}).api_key == "g-1"
    assert has_key(gemini, {"GOOGLE_API_KEY": "g-2"})
