"""Every provider family of the catalogue completes a whole tool loop against a server
that is strict the way that provider is (``tests/fakes/families.py``): thinking where the
model thinks, two parallel tool calls, their results, a final answer, and a second prompt
(the rules that reach across turns). Usage and cost are recorded for every request."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx2
import pytest
import yaml

from harness_tui.core.events import Event, UsageUpdated
from harness_tui.core.messages import AssistantMessage, Message
from harness_tui.core.providers.catalogue import load_catalogue
from harness_tui.core.providers.endpoint import resolve_endpoint
from harness_tui.core.providers.models import _factory
from harness_tui.core.session.session import Session
from tests import ROOT
from tests.fakes import families
from tests.fakes.families import FAMILIES, Family, FamilyAPI, ThinkingRulesAnthropic
from tests.fakes.script import Call, Say, Think, Usage, reply
from tests.fakes.wiring import fast, write_models_settings
from tests.helpers import EchoTool, history_across_a_model_switch, run_to_end, types
from tests.wire_corpus import CORPUS

LOOP = (
    reply(
        Think("Two texts to echo; both at once."),
        Call("Echo", {"text": "alpha"}),
        Call("Echo", {"text": "beta"}),
        usage=Usage(input=1200, output=80, cache_read=400),
    ),
    reply(Think("Both came back."), Say("alpha and beta."), usage=Usage(input=60, output=20)),
    reply(Think("Again."), Say("Once more: alpha."), usage=Usage(input=90, output=10)),
)


def _key_env(family: Family) -> str | None:
    provider = load_catalogue().providers.get(family.name)  # llamacpp comes from a plugin
    return provider.key_env if provider is not None else None


#: The bundled plugin that adds llama.cpp and LM Studio, with their quirks.
LOCAL_MODELS = ROOT / "plugins" / "local-models" / "plugin.yaml"


def _settings(family: Family, api: FamilyAPI) -> dict[str, Any]:
    provider: dict[str, Any] = {}
    if family.name not in load_catalogue().providers:
        provider = yaml.safe_load(LOCAL_MODELS.read_text())["models"][family.name]
    # These servers speak chat completions: OpenAI's and Gemini's models too, whatever
    # protocol the catalogue gives them.
    chat = {"protocol": "openai_compat"}
    settings: dict[str, Any] = {family.name: {**provider, **chat, **fast(base_url=api.base_url)}}
    model = f"{family.name}/{family.model}"
    listed = load_catalogue().find(model)
    settings[model] = dict(chat)
    if listed is None or listed.price is None:
        # A local server's model: the user names its price (free) and window.
        settings[model] |= {"price": {"input": 0, "output": 0}, "context_window": 32768}
    if _key_env(family) is None:  # a local server: the key, if any, is in the settings
        settings[family.name]["api_key"] = api.api_key
    return settings


async def _loop(
    family: Family, monkeypatch: pytest.MonkeyPatch
) -> tuple[FamilyAPI, list[Event], list[Event], list[Message]]:
    """Two prompts against the family's server: the tool loop, then one more turn."""
    with FamilyAPI(family) as api:
        write_models_settings(_settings(family, api))
        key_env = _key_env(family)
        if key_env:
            monkeypatch.setenv(key_env, api.api_key)
        api.script(*LOOP)
        async with Session(model=f"{family.name}/{family.model}", tools=[EchoTool()]) as session:
            first = await run_to_end(session, "echo alpha and beta")
            second = await run_to_end(session, "once more")
            return api, first, second, list(session.messages)


@pytest.mark.parametrize("family", list(FAMILIES.values()), ids=list(FAMILIES))
async def test_a_whole_tool_loop_passes_the_providers_own_checks(
    family: Family, monkeypatch: pytest.MonkeyPatch
) -> None:
    api, first, second, history = await _loop(family, monkeypatch)
    assert api.rejections == [], api.rejections
    assert api.notes == []
    for events in (first, second):
        assert events[-1].type == "RUN_COMPLETED" and not events[-1].is_error, events[-1]
    assert types(first).count("TOOL_CALL_COMPLETED") == 2
    assert ("THINKING_DELTA" in types(first)) == (family.thinks and family.reasoning is not None)
    calls = [b for m in history if isinstance(m, AssistantMessage) for b in m.tool_calls]
    assert [c.input for c in calls] == [{"text": "alpha"}, {"text": "beta"}]
    final = [m for m in history if isinstance(m, AssistantMessage)][-1]
    assert final.text == "Once more: alpha."
    if family.reasoning == "tags":
        assert "<thought>" not in "".join(
            m.text for m in history if isinstance(m, AssistantMessage)
        )
    usage = [e for e in first + second if isinstance(e, UsageUpdated)]
    assert len(usage) == 3, "one usage record per request"
    first_usage = usage[0].usage
    assert first_usage.input_tokens + first_usage.cache_read_tokens == 1600
    if family.usage_at != "frame":  # Gemini's frames carry no cache details
        assert first_usage.cache_read_tokens == 400
    assert usage[0].usage.output_tokens == 80
    assert all(e.cost_usd is not None for e in usage)
    if family.reported_cost is not None:  # the provider's own figure wins over the price
        assert [e.cost_usd for e in usage] == [family.reported_cost] * 3
    assert usage[-1].total_cost_usd == pytest.approx(sum(e.cost_usd or 0 for e in usage))
    assert len(api.requests) == 3


async def test_reasoning_goes_back_in_the_field_each_family_reads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The checks the servers make, seen from the requests: DeepSeek gets reasoning on
    every assistant message ("" on none), vLLM in ``reasoning``, Gemini its signature on
    the first call only."""
    seen: dict[str, list[dict[str, Any]]] = {}
    for name in ("deepseek", "vllm", "gemini"):
        api, *_ = await _loop(FAMILIES[name], monkeypatch)
        assert api.rejections == []
        seen[name] = api.requests
    deepseek = [m for m in seen["deepseek"][2]["messages"] if m["role"] == "assistant"]
    assert [m["reasoning_content"] for m in deepseek] == [
        "Two texts to echo; both at once.",
        "Both came back.",
    ]
    vllm = [m for m in seen["vllm"][1]["messages"] if m["role"] == "assistant"]
    assert vllm[0]["reasoning"] == "Two texts to echo; both at once."
    assert "reasoning_content" not in vllm[0]
    gemini = next(m for m in seen["gemini"][1]["messages"] if m["role"] == "assistant")
    first, second = gemini["tool_calls"]
    assert first["extra_content"]["google"]["thought_signature"].startswith("sig/")
    assert "extra_content" not in second
    assert seen["gemini"][0]["extra_body"] == {
        "google": {"thinking_config": {"include_thoughts": True}}
    }


def test_calls_of_another_model_in_the_current_turn_get_geminis_placeholder() -> None:
    """After a /model switch mid-turn, Gemini would refuse the other model's unsigned
    calls; the first call of that message gets Google's documented placeholder."""
    catalogue = load_catalogue()
    spec = catalogue.find("gemini/gemini-3.8-flash")
    assert spec is not None
    spec = spec.model_copy(update={"protocol": "openai_compat"})
    provider = catalogue.providers["gemini"]
    endpoint = resolve_endpoint(catalogue, provider, spec, {"GEMINI_API_KEY": "k"})
    adapter = _factory(spec, endpoint)()

    from harness_tui.core.providers.base import ModelRequest

    messages = history_across_a_model_switch()
    params = adapter._params(ModelRequest(model=spec.id, system="", messages=messages))  # type: ignore[attr-defined]
    wire = [m for m in params["messages"] if m["role"] == "assistant"]
    assert "extra_content" not in wire[0]["tool_calls"][0]  # an earlier turn: not checked
    placeholder = {"google": {"thought_signature": "skip_thought_signature_validator"}}
    assert wire[1]["tool_calls"][0]["extra_content"] == placeholder
    assert "extra_content" not in wire[1]["tool_calls"][1]


@pytest.mark.parametrize("model", ["claude-opus-5-5", "claude-sonnet-4-6", "claude-haiku-4-5"])
async def test_anthropic_models_get_the_thinking_config_they_accept(
    model: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``enabled`` + budget is a 400 from 4.7 on; ``adaptive`` a 400 on 4.5 and older."""
    with ThinkingRulesAnthropic() as api:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", api.url)
        monkeypatch.setenv("ANTHROPIC_API_KEY", api.api_key)
        write_models_settings({"anthropic": fast()})
        api.script(*LOOP)
        async with Session(model=f"anthropic/{model}", tools=[EchoTool()]) as session:
            first = await run_to_end(session, "echo alpha and beta")
            second = await run_to_end(session, "once more")
    assert api.rejections == []
    assert not first[-1].is_error and not second[-1].is_error
    assert "THINKING_DELTA" in types(first)
    usage = [e for e in first + second if isinstance(e, UsageUpdated)]
    assert len(usage) == 3 and all(e.cost_usd for e in usage)


async def test_thinking_bound_to_a_changed_prefix_is_sent_again_without_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The newest Claude models refuse a thinking block once the conversation before it
    changed (compaction, a resumed session whose system prompt has a new date):
    tests/wire/anthropic/rule-thinking-prefix-binding.yaml. The server here stops
    accepting its earlier signatures; the request goes once more without that thinking,
    and later requests leave it out from the start."""
    with ThinkingRulesAnthropic() as api:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", api.url)
        monkeypatch.setenv("ANTHROPIC_API_KEY", api.api_key)
        write_models_settings({"anthropic": fast()})
        api.script(*LOOP, reply(Say("three")))
        async with Session(model="anthropic/claude-opus-5-5", tools=[EchoTool()]) as session:
            await run_to_end(session, "echo alpha and beta")
            api.secret = b"another-conversation-prefix"  # every earlier signature is stale
            second = await run_to_end(session, "once more")
            third = await run_to_end(session, "and again")
    assert not second[-1].is_error and not third[-1].is_error, second[-1]
    assert len(api.rejections) == 1 and "Invalid `signature`" in api.rejections[0]
    assert "RETRYING" in types(second)
    resent, last = api.requests[-2]["messages"], api.requests[-1]["messages"]
    for messages in (resent, last):
        assert "Two texts to echo" not in json.dumps(messages)
    # the thinking of the turn after the change is new, and goes back
    assert "Again." in json.dumps(last)


#: The corpus rules each family's server enforces, by case: the rule's own bad request
#: must get the documented refusal, its good request must be accepted.
ENFORCED = {
    "deepseek/rule-reasoning-echo-v4": "deepseek",
    "deepseek/rule-reasoning-field-present-even-empty": "deepseek",
    "deepseek/rule-no-forced-tool-choice-in-thinking": "deepseek",
    "moonshot/rule-reasoning-echo": "moonshot",
    "gemini/rule-thought-signature-echo": "gemini",
    "gemini/rule-thinking-controls": "gemini",
    "ollama/rule-tool-call-arguments-json": "ollama",
    "ollama/rule-reasoning-effort-and-echo": "ollama",
    "groq/rule-assistant-content-string": "groq",
}


@pytest.mark.parametrize("case", list(ENFORCED), ids=list(ENFORCED))
def test_each_server_refuses_what_its_provider_documents(case: str) -> None:
    data = yaml.safe_load((CORPUS / f"{case}.yaml").read_text())
    rule = data["rule"]
    family = FAMILIES[ENFORCED[case]]
    with FamilyAPI(family) as api:
        good = {"model": data["model"], "stream": True, **rule["good_request"]}
        # the calls of the good request are ones this server made, with their signatures
        for message in good["messages"]:
            for call in message.get("tool_calls") or []:
                api.issued_ids.add(call["id"])
                api.signature_of_call[call["id"]] = call.get("extra_content")
        bad = {"model": data["model"], "stream": True, **rule["bad_request"]}
        headers = {"authorization": f"Bearer {api.api_key}"}
        url = f"{api.base_url}/chat/completions"
        refused = httpx2.post(url, json=bad, headers=headers, timeout=10)
        accepted = httpx2.post(url, json=good, headers=headers, timeout=10)
    violation = rule["violation"]
    assert refused.status_code == violation["status"]
    assert refused.json() == json.loads(violation["body"])
    assert accepted.status_code == 200, accepted.text


def test_every_refusal_the_servers_give_is_a_corpus_case() -> None:
    """A server's refusal body is read from the corpus case naming its source."""
    named = re.findall(r'Refused\("([^"]+)"', (Path(families.__file__)).read_text())
    assert named
    for case in named:
        rule = yaml.safe_load((CORPUS / f"{case}.yaml").read_text())["rule"]
        assert rule["violation"]["body"] and rule["id"]
