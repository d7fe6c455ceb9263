"""Loopback servers for each provider family, strict the way that provider is strict.

``FakeOpenAI`` is a strict OpenAI; a ``FamilyAPI`` is that plus one family's own wire
habits (where reasoning streams, how parallel calls and usage arrive, signatures on tool
calls) and its own request rules, each refused with that provider's documented error
body. The habits and the rules come from the wire corpus (``tests/wire``): a rule's
violation body is read from the corpus case that cites its source, so the server says
what the provider says. ``FAMILIES`` names every family of the catalogue.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import yaml

from tests.fakes.anthropic_server import FakeAnthropic
from tests.fakes.loopback import Action, JSONResponse, Request, SSEResponse
from tests.fakes.openai_server import FakeOpenAI, Invalid, _data, usage_chunk, validate
from tests.fakes.script import Call, Redacted, Reply, Say, Think, pieces
from tests.wire_corpus import CORPUS


class Refused(Exception):
    """A request the provider refuses, with its documented status and body."""

    def __init__(self, case: str, detail: str = "") -> None:
        data = yaml.safe_load((CORPUS / f"{case}.yaml").read_text())
        violation = data["rule"]["violation"] if "rule" in data else data
        self.status = int(violation["status"])
        self.body = json.loads(violation["body"])
        super().__init__(f"{case}: {detail}")


#: A request rule: raises ``Refused`` (or ``Invalid``) for a request the provider refuses.
Rule = Callable[[dict[str, Any], "FamilyAPI"], None]


@dataclass(frozen=True)
class Family:
    name: str
    #: The model the loop test runs (a catalogue model, so its price is known).
    model: str
    #: Where streamed reasoning goes: a delta field, "tags" (``<thought>`` in the content,
    #: Gemini), or None (the API streams no reasoning: OpenAI's chat completions).
    reasoning: str | None = "reasoning_content"
    #: ``FakeOpenAI``'s styles, plus ``indexless_array`` (all call heads in one delta, then
    #: all argument pieces in one delta, matched by position: Kimi).
    calls_style: str = "fragments"
    #: Where usage arrives: ``top`` (a last chunk with no choices), ``choice`` (inside the
    #: finishing choice: Kimi), ``x_groq`` (Groq), ``frame`` (on every chunk, thinking
    #: tokens only in total_tokens: Gemini).
    usage_at: str = "top"
    #: The first call of each response carries ``extra_content`` with a thought signature.
    signatures: bool = False
    #: Keys an assistant message may carry besides OpenAI's.
    message_keys: frozenset[str] = frozenset()
    #: Top-level request fields this API accepts besides OpenAI's.
    top_level: frozenset[str] = frozenset()
    rules: tuple[Rule, ...] = ()
    #: Whether the model thinks (the loop test expects thinking events).
    thinks: bool = True
    #: The error body is a JSON array (Gemini).
    array_errors: bool = False
    #: The usage carries what the request cost, in dollars (OpenRouter's usage.cost).
    reported_cost: float | None = None


# --- rules --------------------------------------------------------------------------------


def _assistants(body: dict[str, Any]) -> Iterator[tuple[int, dict[str, Any]]]:
    for i, message in enumerate(body["messages"]):
        if message.get("role") == "assistant":
            yield i, message


def reasoning_on_every_assistant(body: dict[str, Any], api: FamilyAPI) -> None:
    """DeepSeek V4, thinking mode: every assistant message carries ``reasoning_content``
    (``""`` allowed), in all later requests."""
    for i, message in _assistants(body):
        if not isinstance(message.get("reasoning_content"), str):
            raise Refused("deepseek/rule-reasoning-echo-v4", f"messages[{i}]")


def reasoning_on_tool_calls(body: dict[str, Any], api: FamilyAPI) -> None:
    """Kimi, thinking on: a tool-call message without ``reasoning_content`` is a 400."""
    for i, message in _assistants(body):
        if message.get("tool_calls") and not isinstance(message.get("reasoning_content"), str):
            raise Refused("moonshot/rule-reasoning-echo", f"messages[{i}]")


def own_reasoning_back(field_name: str) -> Rule:
    """The reasoning the server streamed with a tool call comes back verbatim in
    ``field_name`` (vLLM and Ollama read ``reasoning``, llama.cpp ``reasoning_content``;
    the others are silently dropped, so the server records a violation instead)."""

    def rule(body: dict[str, Any], api: FamilyAPI) -> None:
        for i, message in _assistants(body):
            for call in message.get("tool_calls") or []:
                sent = api.reasoning_of_call.get(call.get("id"))
                if sent is not None and message.get(field_name) != sent:
                    raise Invalid(f"messages[{i}].{field_name}: the model's reasoning was lost")

    return rule


def tool_ids_verbatim(body: dict[str, Any], api: FamilyAPI) -> None:
    """Kimi: tool call ids go back byte for byte (``functions.name:0``)."""
    for i, message in _assistants(body):
        for call in message.get("tool_calls") or []:
            if call["id"] not in api.issued_ids:
                raise Invalid(f"messages[{i}]: tool_call_id {call['id']} not found")


def arguments_are_json_objects(body: dict[str, Any], api: FamilyAPI) -> None:
    """Ollama: a replayed call's arguments must parse as a JSON object."""
    for i, message in _assistants(body):
        for call in message.get("tool_calls") or []:
            try:
                parsed = json.loads(call["function"]["arguments"])
            except ValueError:
                parsed = None
            if not isinstance(parsed, dict):
                raise Refused("ollama/rule-tool-call-arguments-json", f"messages[{i}]")


def signatures_back(body: dict[str, Any], api: FamilyAPI) -> None:
    """Gemini 3: in the current turn, every call that came with a thought signature goes
    back with it byte for byte, and no call gains one it did not have."""
    messages = body["messages"]
    last_user = max(i for i, m in enumerate(messages) if m["role"] == "user")
    for i, message in _assistants(body):
        for call in message.get("tool_calls") or []:
            issued = api.signature_of_call.get(call["id"])
            sent = call.get("extra_content")
            if i > last_user and issued is not None and sent != issued:
                raise Refused("gemini/rule-thought-signature-echo", f"messages[{i}]")
            if issued is None and sent is not None and call["id"] in api.issued_ids:
                raise Invalid(f"messages[{i}]: a signature was invented for {call['id']}")


def not_both_thinking_controls(body: dict[str, Any], api: FamilyAPI) -> None:
    """Gemini: ``reasoning_effort`` and ``extra_body.google.thinking_config`` together are
    refused; thought text comes only with ``include_thoughts``."""
    google = (body.get("extra_body") or {}).get("google") or {}
    if "reasoning_effort" in body and "thinking_config" in google:
        raise Refused("gemini/rule-thinking-controls", "both")


def content_is_string(body: dict[str, Any], api: FamilyAPI) -> None:
    """Groq: every message's content is a string; null is refused."""
    for _, message in _assistants(body):
        if not isinstance(message.get("content"), str):
            raise Refused("groq/rule-assistant-content-string", "content null")


def no_forced_tool_choice(body: dict[str, Any], api: FamilyAPI) -> None:
    """DeepSeek, thinking mode (the default): tool_choice only auto or none."""
    if body.get("tool_choice") not in (None, "auto", "none"):
        raise Refused("deepseek/rule-no-forced-tool-choice-in-thinking", "tool_choice")


def ollama_effort(body: dict[str, Any], api: FamilyAPI) -> None:
    """Ollama: reasoning_effort is high, medium, low or none."""
    if body.get("reasoning_effort", "low") not in ("high", "medium", "low", "none"):
        raise Refused("ollama/rule-reasoning-effort-and-echo", "reasoning_effort")


def usage_asked_for(body: dict[str, Any], api: FamilyAPI) -> None:
    """Ollama, vLLM: without ``include_usage`` no usage is sent at all (not an error; the
    server notes it so the test sees usage was asked for)."""
    if not (body.get("stream_options") or {}).get("include_usage"):
        api.notes.append("no stream_options.include_usage: no usage will be sent")


def completion_tokens_field(body: dict[str, Any], api: FamilyAPI) -> None:
    """OpenAI reasoning models: ``max_tokens`` is refused, ``max_completion_tokens`` wanted."""
    if "max_tokens" in body:
        raise Invalid(
            "Unsupported parameter: 'max_tokens' is not supported with this model. Use "
            "'max_completion_tokens' instead.",
            "max_tokens",
        )


# --- the server ---------------------------------------------------------------------------


class FamilyAPI(FakeOpenAI):
    """A strict OpenAI-compatible server with one family's habits and rules."""

    def __init__(self, family: Family, **options: Any) -> None:
        super().__init__(
            reasoning_field=family.reasoning or "reasoning_content",
            extra_message_keys=family.message_keys,
            calls_style=family.calls_style,
            **options,
        )
        self.family = family
        self.issued_ids: set[str] = set()
        self.reasoning_of_call: dict[str, str] = {}
        self.signature_of_call: dict[str, dict[str, Any] | None] = {}
        self.notes: list[str] = []

    def check(self, body: Any) -> JSONResponse | None:
        extra_top = set(body) & set(self.family.top_level) if isinstance(body, dict) else set()
        validate({k: v for k, v in body.items() if k not in extra_top}, self.family.message_keys)
        try:
            for rule in self.family.rules:
                rule(body, self)
        except Refused as exc:
            return JSONResponse(exc.status, exc.body)
        return None

    def events(self, planned: Reply, body: dict[str, Any]) -> Iterator[Action]:
        family = self.family
        chunk_id = self.new_id("chatcmpl-")
        created = int(time.time())
        usage = planned.usage
        prompt = usage.input + usage.cache_read
        thought_tokens = 7 if any(isinstance(p, Think) for p in planned.parts) else 0
        usage_body = {
            "prompt_tokens": prompt,
            "completion_tokens": usage.output,
            "total_tokens": prompt + usage.output,
            "prompt_tokens_details": {"cached_tokens": usage.cache_read},
        }
        if family.reported_cost is not None:
            usage_body["cost"] = family.reported_cost
        if family.usage_at == "frame":
            # Gemini: thinking tokens count in the total only
            usage_body = {
                "prompt_tokens": prompt,
                "completion_tokens": usage.output - thought_tokens,
                "total_tokens": prompt + usage.output,
            }

        def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> bytes:
            choice: dict[str, Any] = {"index": 0, "delta": delta, "finish_reason": finish}
            payload: dict[str, Any] = {
                "id": chunk_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": body["model"],
                "choices": [choice],
            }
            if family.usage_at == "frame":
                payload["usage"] = usage_body
            if finish is not None and family.usage_at == "choice":
                choice["usage"] = usage_body
            if finish is not None and family.usage_at == "x_groq":
                payload["x_groq"] = {"id": "req_fake", "usage": usage_body}
            payload.update(extra)
            return _data(payload)

        yield chunk({"role": "assistant", "content": ""})
        thinking = "".join(p.text for p in planned.parts if isinstance(p, Think))
        calls = [p for p in planned.parts if isinstance(p, Call)]
        for part in planned.parts:
            if isinstance(part, Think):
                if family.reasoning == "tags":
                    yield chunk(
                        {
                            "content": f"<thought>{part.text}</thought>",
                            "extra_content": {"google": {"thought": True}},
                        }
                    )
                elif family.reasoning is not None:
                    for p in pieces(part.text):
                        yield chunk({family.reasoning: p})
            elif isinstance(part, Say):
                for p in pieces(part.text):
                    yield chunk({"content": p})
            elif isinstance(part, Redacted | Call):
                continue
            else:
                yield from self.fault(part)
                return
        yield from self._family_calls(calls, chunk, thinking)
        finish = planned.stop or ("tool_calls" if calls else "stop")
        if family.signatures and finish == "tool_calls":
            finish = "stop"  # Gemini ends tool-call responses with "stop"
        yield chunk({}, finish)
        if family.usage_at == "top" and (body.get("stream_options") or {}).get("include_usage"):
            yield usage_chunk(chunk_id, created, body["model"], usage_body)
        yield b"data: [DONE]\n\n"

    def _family_calls(
        self, calls: list[Call], chunk: Callable[..., bytes], thinking: str
    ) -> Iterator[bytes]:
        ids = []
        for n, call in enumerate(calls):
            call_id = call.id or (
                f"functions.{call.name}:{len(self.issued_ids)}"
                if self.family.name == "moonshot"
                else self.new_id("call_")
            )
            ids.append(call_id)
            self.issued_ids.add(call_id)
            if thinking and self.family.reasoning not in (None, "tags"):
                self.reasoning_of_call[call_id] = thinking
            if self.family.signatures:
                signature = (
                    {"google": {"thought_signature": f"sig/{call_id}+=="}} if n == 0 else None
                )
                self.signature_of_call[call_id] = signature
        named = [Call(c.name, c.input, i) for c, i in zip(calls, ids, strict=True)]
        if self.family.calls_style == "indexless_array":
            if named:
                yield chunk(
                    {
                        "tool_calls": [
                            {
                                "id": c.id,
                                "type": "function",
                                "function": {"name": c.name, "arguments": ""},
                            }
                            for c in named
                        ]
                    }
                )
                yield chunk(
                    {
                        "tool_calls": [
                            {"function": {"arguments": json.dumps(c.input)}} for c in named
                        ]
                    }
                )
            return
        if self.family.signatures:
            # Gemini: one whole call per chunk, no index, the signature on the first
            for c in named:
                fragment: dict[str, Any] = {
                    "id": c.id,
                    "type": "function",
                    "function": {"name": c.name, "arguments": json.dumps(c.input)},
                }
                signature = self.signature_of_call.get(c.id or "")
                if signature is not None:
                    fragment["extra_content"] = signature
                yield chunk({"tool_calls": [fragment]})
            return
        yield from self._calls(named, chunk)


class ThinkingRulesAnthropic(FakeAnthropic):
    """Anthropic with its per-model thinking rules: ``enabled`` + budget is refused from
    4.7 on and on every 5.x model, ``adaptive`` on 4.5 and older."""

    ADAPTIVE_ONLY = re.compile(r"^claude-[a-z]+-(5|4-7|4-8)\b")

    async def handle(self, request: Request) -> JSONResponse | SSEResponse:
        try:
            body = request.json()
        except ValueError:
            body = None
        if isinstance(body, dict):
            model = str(body.get("model", ""))
            kind = (body.get("thinking") or {}).get("type")
            adaptive_only = bool(self.ADAPTIVE_ONLY.match(model))
            if kind == "enabled" and adaptive_only:
                case = Refused("anthropic/rule-thinking-config-per-model")
                return self.reject(JSONResponse(case.status, case.body), "enabled on a new model")
            if kind == "adaptive" and "-4-5" in model:
                body_ = {
                    "type": "error",
                    "error": {
                        "type": "invalid_request_error",
                        "message": "adaptive thinking is not supported on this model",
                    },
                }
                return self.reject(JSONResponse(400, body_), "adaptive on 4.5")
        return await super().handle(request)


FAMILIES: dict[str, Family] = {
    "openai": Family(
        "openai",
        "gpt-5",
        reasoning=None,  # chat completions never show the reasoning
        rules=(completion_tokens_field,),
        thinks=False,
    ),
    "deepseek": Family(
        "deepseek",
        "deepseek-flash",
        message_keys=frozenset({"reasoning_content"}),
        rules=(
            reasoning_on_every_assistant,
            no_forced_tool_choice,
            own_reasoning_back("reasoning_content"),
        ),
    ),
    "moonshot": Family(
        "moonshot",
        "kimi-k3",
        calls_style="indexless_array",
        usage_at="choice",
        # Kimi's own examples name the tool on its result message
        message_keys=frozenset({"reasoning_content", "name"}),
        rules=(reasoning_on_tool_calls, tool_ids_verbatim, own_reasoning_back("reasoning_content")),
    ),
    "gemini": Family(
        "gemini",
        "gemini-3.8-flash",
        reasoning="tags",
        usage_at="frame",
        signatures=True,
        top_level=frozenset({"extra_body"}),
        rules=(signatures_back, not_both_thinking_controls),
        array_errors=True,
    ),
    "groq": Family(
        "groq",
        "openai/gpt-oss-120b",
        reasoning="reasoning",
        usage_at="x_groq",
        rules=(content_is_string,),
    ),
    "openrouter": Family(
        "openrouter",
        "deepseek/deepseek-chat-v3.1",
        reasoning="reasoning",
        reported_cost=0.0123,
        thinks=True,
    ),
    "ollama": Family(
        "ollama",
        "qwen2.5-coder",
        reasoning="reasoning",
        calls_style="whole",
        message_keys=frozenset({"reasoning"}),
        rules=(
            arguments_are_json_objects,
            ollama_effort,
            usage_asked_for,
            own_reasoning_back("reasoning"),
        ),
    ),
    "vllm": Family(
        "vllm",
        "qwen3-coder",
        reasoning="reasoning",
        message_keys=frozenset({"reasoning", "reasoning_content"}),
        rules=(usage_asked_for, own_reasoning_back("reasoning")),
    ),
    "llamacpp": Family(
        "llamacpp",
        "qwen3",
        reasoning="reasoning_content",
        message_keys=frozenset({"reasoning_content"}),
        rules=(own_reasoning_back("reasoning_content"),),
    ),
}
