"""The ``Memory`` tool in a session (scripted model): an entry it adds is in the project
folder's index with the session as its origin and a ``MEMORY_UPDATED`` event; another
project does not see it; a user-scope entry is every project's; secrets and writes
turned off are refused as tool errors the model reads; list and topics."""

from __future__ import annotations

from pathlib import Path

from harness_tui.core.memory.store import MemoryStore
from harness_tui.core.memory.tool import MemoryTool, stores
from harness_tui.core.providers.offline.scripted import Text, ToolCall, reply
from tests.helpers import run_to_end
from tests.tui.test_tui import scripted_session


def memory_call(**input: str) -> ToolCall:
    return ToolCall("Memory", input)


async def run(folder: Path, *calls: ToolCall, tool: MemoryTool | None = None):
    session = scripted_session(
        *[reply(call) for call in calls], reply(Text("ok")), tools=[tool or MemoryTool()],
        cwd=folder,
    )  # fmt: skip
    async with session:
        await run_to_end(session, "remember things")
    return session


async def test_an_added_entry_is_kept_for_this_project_only(tmp_path: Path) -> None:
    here, there = tmp_path / "here", tmp_path / "there"
    here.mkdir(), there.mkdir()
    session = await run(
        here,
        memory_call(action="add", text="Tests run with `make check`"),
        memory_call(action="add", scope="user", text="Prefers short answers"),
    )
    (project,) = stores(here)["project"].entries()
    assert project.text == "Tests run with `make check`" and project.session == session.id
    updates = [e for e in session.store.replay(0) if e.type == "MEMORY_UPDATED"]
    assert [(u.action, u.scope, u.by, u.text) for u in updates] == [
        ("add", "project", "model", "Tests run with `make check`"),
        ("add", "user", "model", "Prefers short answers"),
    ]
    assert updates[0].entry_id == project.id and updates[0].tool_call_id
    assert stores(there)["project"].entries() == []  # another project: nothing
    assert [e.text for e in stores(there)["user"].entries()] == ["Prefers short answers"]


async def test_refusals_are_errors_the_model_reads(tmp_path: Path) -> None:
    session = await run(
        tmp_path,
        memory_call(action="add", text="the key is sk-ant-api03-" + "x" * 40),
        memory_call(action="remove", id="nope"),
    )
    failed = [e for e in session.store.replay(0) if e.type == "TOOL_CALL_FAILED"]
    texts = [str(e.error) for e in failed]
    assert any("looks like an Anthropic API key" in t for t in texts), texts
    assert any("no project memory entry 'nope'" in t for t in texts), texts
    assert not any(e.type == "MEMORY_UPDATED" for e in session.store.replay(0))
    assert MemoryStore(stores(tmp_path)["project"].folder, "project").entries() == []


async def test_writes_off_refuse_and_reads_still_work(tmp_path: Path) -> None:
    stores(tmp_path)["project"].add("already known")
    session = await run(
        tmp_path,
        memory_call(action="add", text="new fact"),
        memory_call(action="list"),
        tool=MemoryTool(writes="off"),
    )
    failed = [e for e in session.store.replay(0) if e.type == "TOOL_CALL_FAILED"]
    assert "memory writes are off" in str(failed[0].error)
    listed = [e for e in session.store.replay(0) if e.type == "TOOL_CALL_COMPLETED"]
    assert "already known" in listed[-1].content and "new fact" not in listed[-1].content


async def test_topics_are_written_and_read(tmp_path: Path) -> None:
    session = await run(
        tmp_path,
        memory_call(action="write_topic", topic="deploy", content="# Deploy\n\nVPN first.\n"),
        memory_call(action="add", text="Deploying: see the deploy topic", topic="deploy"),
        memory_call(action="read", topic="deploy"),
    )
    completed = [e for e in session.store.replay(0) if e.type == "TOOL_CALL_COMPLETED"]
    assert "VPN first." in completed[-1].content
    kinds = [e.action for e in session.store.replay(0) if e.type == "MEMORY_UPDATED"]
    assert kinds == ["topic", "add"]


async def test_a_fact_kept_is_in_the_next_sessions_first_request(tmp_path: Path) -> None:
    """By the real wiring: the built-in tools include Memory, and the next session's
    system prompt carries the fact — in this project only."""
    from harness_tui.core.providers.models import ModelChoice
    from harness_tui.core.providers.offline.scripted import ScriptedProvider
    from harness_tui.core.session.session import Session

    here, there = tmp_path / "here", tmp_path / "there"
    here.mkdir(), there.mkdir()

    def session_in(folder: Path, *replies) -> tuple[Session, ScriptedProvider]:
        provider = ScriptedProvider([*replies, reply(Text("ok"))])
        model = ModelChoice("scripted", "scripted", lambda: provider)
        return Session(model=model, cwd=folder, mode="bypassPermissions"), provider

    first, _ = session_in(here, reply(memory_call(action="add", text="Build with `just build`")))
    async with first:
        await run_to_end(first, "remember how to build")
    assert any(e.type == "MEMORY_UPDATED" for e in first.store.replay(0))
    for folder, wanted in ((here, True), (there, False)):
        second, provider = session_in(folder)
        async with second:
            await run_to_end(second, "build it")
        assert ("Build with `just build`" in provider.requests[0].system) is wanted


async def test_ask_mode_asks_as_an_edit_does(tmp_path: Path) -> None:
    """``memory.writes: ask``: in default mode the call waits for a permission answer;
    allowed, the entry is kept; denied, nothing is."""
    from harness_tui.core.memory.tool import writes_setting
    from tests.helpers import wait_for

    tool = MemoryTool(writes="ask")
    assert tool.access_kind == "edit" and not tool.read_only
    call = memory_call(action="add", text="asked first")
    for decision, kept in (("allow_once", True), ("deny", False)):
        folder = tmp_path / decision
        folder.mkdir()
        session = scripted_session(reply(call), reply(Text("ok")), tools=[tool], cwd=folder)
        async with session:
            await session.submit("remember it")
            asked = await wait_for(session.store, lambda e: e.type == "PERMISSION_REQUESTED")
            assert asked.tool_name == "Memory"
            await session.resolve_permission(asked.request_id, decision)
            await wait_for(session.store, lambda e: e.type == "RUN_COMPLETED")
        assert bool(stores(folder)["project"].entries()) is kept
    settings = type("S", (), {"value": lambda self, key: ({"writes": "ask"}, None)})()
    assert writes_setting(settings) == "ask"


def test_a_sub_agent_reads_memory_and_never_writes_it() -> None:
    from types import SimpleNamespace

    from harness_tui.core.extensions.agents import AgentDefinition
    from harness_tui.core.run.subagents import child_tools

    parent = SimpleNamespace(executor=SimpleNamespace(tools={"Memory": MemoryTool()}))
    (tool,), _ = child_tools(parent, AgentDefinition("helper", "helps", "help"))
    assert isinstance(tool, MemoryTool) and tool.writes == "off"


async def test_past_the_cap_the_model_is_asked_to_consolidate(tmp_path: Path) -> None:
    """The write that takes the index past its cap tells the model to consolidate, in
    the same visible run; the (scripted) model merges two entries and the index fits."""
    from harness_tui.core.memory.store import MAX_PROMPT_LINES

    store = stores(tmp_path)["project"]
    for number in range(MAX_PROMPT_LINES - 3):  # with the header: at the cap
        store.add(f"fact {number}")
    duplicate = store.add("tests: make check")
    session = await run(
        tmp_path,
        memory_call(action="add", text="tests run with make check"),
        memory_call(action="remove", id=duplicate.id),
    )
    results = [e.content for e in session.store.replay(0) if e.type == "TOOL_CALL_COMPLETED"]
    assert "over its cap" in results[0] and "Consolidate it now" in results[0]
    assert "over its cap" not in results[1]
    assert store.over_cap() == "" and len(store.lines()) == MAX_PROMPT_LINES
