"""Model names to providers.

A model name is what users type after ``--model`` or ``/model``: ``demo`` (the offline
demo), ``scripted:PATH`` (a script file), and — with the provider adapters —
``provider/model`` and aliases from the catalogue. Resolving checks the name at once (so
a bad name fails before a run starts) but creates the provider lazily.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from harness_tui.core.errors import UnknownModelError
from harness_tui.core.providers.base import Provider

DEMO_MODEL = "demo"


@dataclass(frozen=True, slots=True)
class ModelChoice:
    """A resolved model name."""

    #: The name as shown to the user (``demo``, ``scripted:/abs/path.yaml``).
    name: str
    #: Protocol family (``scripted``, ``anthropic``, ``openai_compat``).
    provider: str
    create: Callable[[], Provider]
    context_window: int | None = None

    @property
    def is_demo(self) -> bool:
        return self.name == DEMO_MODEL


def resolve_model(name: str, *, cwd: Path | None = None) -> ModelChoice:
    """The provider for a model name; raises ``UnknownModelError`` or ``ConfigError``."""
    name = name.strip()
    if name == DEMO_MODEL:
        from harness_tui.core.providers.demo import demo_provider

        return ModelChoice(DEMO_MODEL, "scripted", demo_provider, 200_000)
    if name.startswith("scripted:"):
        from harness_tui.core.providers.scripted import ScriptedProvider

        raw = name.removeprefix("scripted:")
        if not raw:
            raise UnknownModelError("--model scripted: needs a file, e.g. scripted:replies.yaml")
        path = Path(raw).expanduser()
        if not path.is_absolute():
            path = (cwd or Path.cwd()) / path
        provider = ScriptedProvider.from_file(path)  # read now: errors surface at once
        return ModelChoice(
            f"scripted:{path}", "scripted", lambda: provider, provider.context_window
        )
    raise UnknownModelError(
        f"unknown model {name!r}",
        hint=f"known models: {DEMO_MODEL}, scripted:PATH (a script file)",
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


def available_models() -> list[ModelInfo]:
    """Models the user can pick from (the catalogue, once providers are configured)."""
    return [ModelInfo(DEMO_MODEL, "scripted", 200_000, "free", True, "offline demo")]
