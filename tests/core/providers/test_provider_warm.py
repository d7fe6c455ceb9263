"""The first prompt is as fast as the tenth: a session opened with ``warm=True`` gets its
provider ready in the background (SDK imported off the event loop, client built) and
opens a connection to the API through the client's own pool, so that the first request
finds the TCP and TLS handshakes done; a model about to be switched to is warmed too.

The TLS test serves HTTPS on loopback with a certificate from a CA made for the test
(``trustme``), trusted the way a user trusts a corporate CA: ``SSL_CERT_FILE``, which the
SDKs' HTTP client (httpx2, ``trust_env``) honours."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
import trustme

from harness_tui.core.session.session import Session
from tests.fakes.anthropic_server import FakeAnthropic
from tests.fakes.google_server import FakeGemini
from tests.fakes.loopback import Request
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.script import Say, reply
from tests.fakes.wiring import fast, write_models_settings
from tests.helpers import run_to_end, types


class Watched(FakeAnthropic):
    """Also keeps the headers of requests that are not API calls (the preconnect)."""

    def __init__(self, **options: object) -> None:
        super().__init__(**options)  # type: ignore[arg-type]
        self.other_headers: list[dict[str, str]] = []

    async def handle(self, request: Request):  # type: ignore[no-untyped-def]
        if request.method != "POST":
            self.other_headers.append(request.headers)
        return await super().handle(request)


@pytest.fixture
def tls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ssl.SSLContext]:
    """A server context for 127.0.0.1 signed by a CA that only this test trusts."""
    ca = trustme.CA()
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server)
    bundle = tmp_path / "test-ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    yield server


def serve(api: FakeAnthropic, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_BASE_URL", api.url)
    monkeypatch.setenv("ANTHROPIC_API_KEY", api.api_key)
    write_models_settings({"anthropic": fast()})


async def test_the_first_request_goes_over_the_connection_the_preconnect_opened(
    tls: ssl.SSLContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = Watched()
    api.tls = tls
    with api:
        assert api.url.startswith("https://")
        serve(api, monkeypatch)
        api.script(reply(Say("Hello.")))
        async with Session(model="anthropic/claude-sonnet-4-6", warm=True) as session:
            await session.warm()  # the one the session started, or done by now
            provider = session.models.provider
            assert provider is not None and provider._client is not None  # type: ignore[attr-defined]
            # Before any prompt: one connection, one HEAD of the base URL, no key in it.
            assert api.connections == 1
            assert [(m, p, c) for m, p, c, _ in api.arrivals] == [("HEAD", "/", 1)]
            assert not {"x-api-key", "authorization"} & set(api.other_headers[0])
            events = await run_to_end(session, "hi")
    assert events[-1].type == "RUN_COMPLETED" and events[-1].result == "Hello."
    assert api.rejections == []
    # The request itself came over the same, already open TLS connection.
    assert [(m, p, c) for m, p, c, _ in api.arrivals] == [
        ("HEAD", "/", 1),
        ("POST", "/v1/messages", 1),
    ]
    assert api.connections == 1


async def test_without_warm_nothing_reaches_the_api_before_the_first_prompt(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with Watched() as api:
        serve(api, monkeypatch)
        api.script(reply(Say("Hello.")))
        async with Session(model="anthropic/claude-sonnet-4-6") as session:
            assert session.models.provider is None
            await run_to_end(session, "hi")
    assert [(m, p) for m, p, _, _ in api.arrivals] == [("POST", "/v1/messages")]


async def test_switching_to_a_warmed_model_uses_the_provider_warmed_for_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The picker warms the highlighted model (``warm(name)``); choosing it takes that
    provider, its connection already open."""
    with Watched() as anthropic_api, FakeOpenAI() as openai_api:
        serve(anthropic_api, monkeypatch)
        write_models_settings({"anthropic": fast(), "deepseek": fast(base_url=openai_api.base_url)})
        monkeypatch.setenv("DEEPSEEK_API_KEY", openai_api.api_key)
        openai_api.script(reply(Say("From the other one.")))
        async with Session(model="anthropic/claude-sonnet-4-6", warm=True) as session:
            await session.warm("deepseek/deepseek-flash")
            assert session.models.spare is not None
            spare = session.models.spare[1]
            assert spare._client is not None  # type: ignore[attr-defined]
            assert [(m, c) for m, _, c, _ in openai_api.arrivals] == [("HEAD", 1)]
            await session.set_model("deepseek/deepseek-flash")
            assert session.models.provider is spare and session.models.spare is None
            events = await run_to_end(session, "hi")
    assert events[-1].type == "RUN_COMPLETED" and events[-1].result == "From the other one."
    assert [(m, c) for m, _, c, _ in openai_api.arrivals] == [("HEAD", 1), ("POST", 1)]
    assert openai_api.connections == 1


async def test_a_switch_warms_the_new_model_in_the_background(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``/model NAME`` (not warmed before): the new provider is made ready right after
    the switch, before the next prompt is typed."""
    with Watched() as anthropic_api, FakeGemini() as gemini_api:
        serve(anthropic_api, monkeypatch)
        monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", gemini_api.url)
        monkeypatch.setenv("GEMINI_API_KEY", gemini_api.api_key)
        write_models_settings({"anthropic": fast(), "gemini": fast()})
        gemini_api.script(reply(Say("Gemini here.")))
        async with Session(model="anthropic/claude-sonnet-4-6", warm=True) as session:
            await session.warm()
            await session.set_model("gemini/gemini-3.8-flash")
            await session.warm()  # joins the warm-up the switch started
            assert session.models.provider._client is not None  # type: ignore[union-attr]
            assert [m for m, _, _, _ in gemini_api.arrivals] == ["HEAD"]
            events = await run_to_end(session, "hi")
    assert events[-1].type == "RUN_COMPLETED" and events[-1].result == "Gemini here."
    assert [(m, c) for m, _, c, _ in gemini_api.arrivals] == [("HEAD", 1), ("POST", 1)]


async def test_a_warm_up_that_fails_is_quiet_and_the_prompt_says_what_today_says(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Nothing listens at the base URL: warming says nothing; the prompt then fails
    with the connection error it always gave."""
    import socket

    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    monkeypatch.setenv("ANTHROPIC_BASE_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "k")
    write_models_settings({"anthropic": fast()})
    outcomes = []
    for warm in (True, False):
        async with Session(model="anthropic/claude-sonnet-4-6", warm=warm) as session:
            await session.warm() if warm else None
            before = types(list(session.store.replay(0)))
            events = await run_to_end(session, "hi")
        assert "ERROR" not in " ".join(before) and "NOTICE" not in before
        end = events[-1]
        assert end.type == "RUN_COMPLETED" and end.is_error
        outcomes.append(end.error or "")
    assert outcomes[0] == outcomes[1] and "connect" in outcomes[0].lower()


async def test_closing_a_session_while_it_warms_does_not_wait_for_the_sdk(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The SDK's import is held up (as a slow disk would): the session still closes at
    once, its warm-up cancelled without waiting for the thread; the client the thread
    builds afterwards belongs to nobody and opened nothing."""
    import threading

    from harness_tui.core.providers.protocols.anthropic import AnthropicProvider

    entered, release, finished = threading.Event(), threading.Event(), threading.Event()
    real_connect = AnthropicProvider._connect

    def slow_connect(self: AnthropicProvider):  # type: ignore[no-untyped-def]
        entered.set()
        release.wait(10)
        finished.set()
        return real_connect(self)

    monkeypatch.setattr(AnthropicProvider, "_connect", slow_connect)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "k")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:9")
    session = Session(model="anthropic/claude-sonnet-4-6", warm=True)
    try:
        async with session:
            await anyio.to_thread.run_sync(entered.wait, 10)  # the import is under way
            provider = session.models.provider
        assert provider is not None and provider._client is None  # type: ignore[attr-defined]
        assert session.models.provider is None and not session.models.warming
        assert not finished.is_set()  # closed while the thread was still held
    finally:
        release.set()


def test_headless_warms_while_the_session_sets_up_unless_told_not_to(tmp_path: Path) -> None:
    """``harness-tui -p`` (a real process): the provider is made while the session opens;
    the request goes over the connection opened for it. ``HARNESS_WARM=0``: nothing is
    sent before the prompt."""
    from tests.cli.test_provider_cli import clean_env, harness

    for setting, expected in (("1", [("HEAD", 1), ("POST", 1)]), ("0", [("POST", 1)])):
        with Watched(api_key="dummy-key") as api:
            api.script(reply(Say("Hi there.")))
            env = clean_env(
                ANTHROPIC_BASE_URL=api.url, ANTHROPIC_API_KEY="dummy-key", HARNESS_WARM=setting
            )
            result = harness("-p", "hi", "--model", "anthropic/claude-any", cwd=tmp_path, env=env)
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == "Hi there."
        assert [(m, c) for m, _, c, _ in api.arrivals] == expected, setting


async def test_the_preconnect_is_sent_again_only_once_the_last_may_have_idled_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """While a prompt is typed the TUI asks for warmth again and again; the provider
    sends another HEAD only when ``PRECONNECT_EVERY`` has passed since the last."""
    from harness_tui.core.providers.sdk_provider import SDKProvider

    with Watched() as api:
        serve(api, monkeypatch)
        async with Session(model="anthropic/claude-sonnet-4-6", warm=True) as session:
            for _ in range(3):
                await session.warm()
            assert [m for m, _, _, _ in api.arrivals] == ["HEAD"]
            monkeypatch.setattr(SDKProvider, "PRECONNECT_EVERY", 0.0)
            await session.warm()
    assert [(m, c) for m, _, c, _ in api.arrivals] == [("HEAD", 1), ("HEAD", 1)]
