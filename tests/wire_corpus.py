"""The wire corpus (``tests/wire/<family>/<case>.yaml``): what real providers send and
enforce, each case citing its public source, replayed with no network.

A ``response`` or ``error`` case is served byte for byte by a loopback server and read
by the real adapter (and so the real SDK); ``run_case`` returns what the adapter made of
it, for the tests to hold against the case's ``expect``. The format is described in
``tests/wire/README.md``.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from harness_tui.core.messages import TokenUsage, UserMessage
from harness_tui.core.providers.base import (
    ModelRequest,
    StreamEnd,
    StreamFailed,
    TextChunk,
    ThinkingChunk,
    ThinkingSignature,
    ToolCallArgs,
    ToolCallBegin,
    UsageChunk,
)
from harness_tui.core.providers.catalogue import ProviderSpec, load_catalogue
from harness_tui.core.providers.endpoint import resolve_endpoint
from harness_tui.core.providers.retry import RetryPolicy
from tests.fakes.loopback import LoopbackServer, Request, SSEResponse

CORPUS = Path(__file__).parent / "wire"
FAMILIES = (
    "anthropic",
    "openai",
    "deepseek",
    "moonshot",
    "gemini",
    "groq",
    "openrouter",
    "ollama",
    "vllm",
    "llamacpp",
)
KINDS = ("response", "error", "request_rule")

#: The corpus's error kinds -> ``StreamFailed.code``.
ERROR_CODES = {
    "invalid_request": "bad_request",
    "auth": "auth_failed",
    "permission": "forbidden",
    "not_found": "not_found",
    "rate_limit": "rate_limited",
    "overloaded": "overloaded",
    "server": "server_error",
    "context_overflow": "context_overflow",
    "content_filter": "content_filter",
    "bad_generation": "bad_generation",
    "quota": "quota",
}


@dataclass
class Case:
    path: Path
    data: dict[str, Any]

    @property
    def id(self) -> str:
        return f"{self.family}/{self.path.stem}"

    @property
    def family(self) -> str:
        return self.path.parent.name

    @property
    def kind(self) -> str:
        return str(self.data.get("kind"))

    @property
    def model(self) -> str:
        return str(self.data.get("model") or self.data.get("request", {}).get("model") or "")


def cases(kind: str | None = None) -> list[Case]:
    found = [Case(p, yaml.safe_load(p.read_text())) for p in sorted(CORPUS.glob("*/*.yaml"))]
    return [c for c in found if kind is None or c.kind == kind]


@dataclass
class Outcome:
    """What the adapter made of a served response."""

    text: str = ""
    thinking: str = ""
    signatures: list[str] = field(default_factory=list)
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    usage: TokenUsage | None = None
    stop: str | None = None
    failure: StreamFailed | None = None
    requests: list[dict[str, Any]] = field(default_factory=list)


class ReplayServer(LoopbackServer):
    """Answers every request with the case's status, content type and raw body."""

    def __init__(self, case: Case) -> None:
        super().__init__()
        self.case = case
        self.requests: list[dict[str, Any]] = []

    async def handle(self, request: Request) -> SSEResponse:
        try:
            self.requests.append(request.json())
        except ValueError:
            self.requests.append({})
        data = self.case.data
        body = str(data.get("body", "")).encode()
        content_type = data.get("content_type", "text/event-stream")
        return SSEResponse([body], int(data.get("status", 200)), {"content-type": content_type})


def provider_spec(family: str) -> ProviderSpec:
    """The shipped catalogue's provider for a family; a plain OpenAI-compatible one for a
    local server the catalogue does not name."""
    catalogue = load_catalogue()
    if family in catalogue.providers:
        return catalogue.providers[family]
    return ProviderSpec(
        name=family, protocol="openai_compat", base_url="http://localhost/v1", key_required=False
    )


async def run_case(case: Case) -> Outcome:
    """Serve ``case`` and read it through the family's real adapter."""
    from harness_tui.core.providers.models import _factory

    shipped = load_catalogue()  # cached: not to be changed
    provider = provider_spec(case.family)
    catalogue = dataclasses.replace(
        shipped, providers={provider.name: provider, **shipped.providers}
    )
    model = case.model or provider.default_model or "model"
    spec = catalogue.find(f"{provider.name}/{model}") or catalogue.unlisted(provider, model)
    # The corpus is Anthropic's Messages API and chat completions: its OpenAI and Gemini
    # cases are read over openai_compat, whatever protocol the catalogue gives the model.
    protocol = "anthropic" if provider.protocol == "anthropic" else "openai_compat"
    spec = spec.model_copy(update={"protocol": protocol})
    environ = {provider.key_env: "sk-test-key"} if provider.key_env else {}
    endpoint = resolve_endpoint(catalogue, provider, spec, environ)
    outcome = Outcome()
    with ReplayServer(case) as server:
        base = server.url if endpoint.protocol == "anthropic" else f"{server.url}/v1"
        endpoint = dataclasses.replace(
            endpoint, base_url=base, retry=RetryPolicy(max_attempts=1), read_timeout=10
        )
        adapter = _factory(spec, endpoint)()
        request = ModelRequest(model=spec.id, system="", messages=(UserMessage.of("hi"),))
        args: dict[str, list[str]] = {}
        try:
            async for chunk in adapter.stream(request):
                _take(outcome, chunk, args)
        finally:
            await adapter.aclose()
        outcome.requests = server.requests
    for call in outcome.tool_calls:
        raw = "".join(args.get(call["id"], []))
        call["input"] = json.loads(raw) if raw.strip() else {}
    return outcome


def _take(outcome: Outcome, chunk: object, args: dict[str, list[str]]) -> None:
    match chunk:
        case TextChunk(text=text):
            outcome.text += text
        case ThinkingChunk(text=text):
            outcome.thinking += text
        case ThinkingSignature(signature=signature):
            outcome.signatures.append(signature)
        case ToolCallBegin(id=call_id, name=name):
            outcome.tool_calls.append({"id": call_id, "name": name})
        case ToolCallArgs(id=call_id, json=piece):
            args.setdefault(call_id, []).append(piece)
        case UsageChunk(usage=usage):
            outcome.usage = usage
        case StreamEnd(stop_reason=stop):
            outcome.stop = stop
        case StreamFailed():
            outcome.failure = chunk


def problems_of(case: Case) -> Iterator[str]:
    """What is wrong with a case file itself (the format, not the adapter)."""
    data = case.data
    if not isinstance(data, dict):
        yield "not a mapping"
        return
    if case.family not in FAMILIES:
        yield f"folder {case.family!r} is not a family ({', '.join(FAMILIES)})"
    if data.get("family") not in (None, case.family):
        yield f"family {data.get('family')!r} does not match its folder"
    if case.kind not in KINDS:
        yield f"kind {case.kind!r} is not one of {KINDS}"
    sources = data.get("sources")
    if not isinstance(sources, list) or not sources:
        yield "no sources"
    if not data.get("title"):
        yield "no title"
    if case.kind in ("response", "error") and "body" not in data:
        yield "no body"
    if case.kind == "request_rule":
        rule = data.get("rule")
        if not isinstance(rule, dict) or not rule.get("id") or not rule.get("says"):
            yield "a request_rule needs rule.id and rule.says"
