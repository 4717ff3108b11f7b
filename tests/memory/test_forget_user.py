"""GDPR: forget a user everywhere (every index, the outbox, the files) and export what is held."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from strands import Agent

from strands_vector_memory import EmbeddedBackend, MiniLMEmbedder, Scope, TenantIndexLayout, VectorMemory
from strands_vector_memory.server import LocalEndpoint
from strands_vector_memory.strands_agents import MemoryPlugin, ScriptedModel

from ..conftest import Clock, unique_bucket


def files_containing(root: Path, needle: str) -> list[str]:
    """Every file under ``root`` (SQLite files, their -wal and -shm included) holding ``needle``."""
    data = needle.encode("utf-8")
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and data in p.read_bytes())


def marker(who: str) -> str:
    return f"zq{who}{uuid.uuid4().hex[:10]}"


@pytest.fixture(params=["embedded", "s3vectors"])
def world(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    embedder: MiniLMEmbedder,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[tuple[VectorMemory, Path]]:
    """A memory and the directory holding every file it writes (store or endpoint root, and the outbox)."""
    root = tmp_path / "files"
    if request.param == "embedded":
        with VectorMemory(EmbeddedBackend(root / "store"), embedder, clock=clock) as memory:
            yield memory, root
        return
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    with LocalEndpoint(root / "endpoint") as endpoint:
        memory = VectorMemory.from_s3_vectors(
            unique_bucket("gdpr"), region="us-east-1", endpoint_url=endpoint.url, embedder=embedder,
            create_bucket=True, clock=clock,
        )  # fmt: skip
        with memory:
            yield memory, root


def talk(plugin: MemoryPlugin, user: str, secret: str, conversation: str) -> None:
    model = ScriptedModel([f"Noted, {secret} is safe with me."])
    agent = Agent(model=model, plugins=[plugin], callback_handler=None)
    agent(
        f"My locker word is {secret}, remember it.", invocation_state={"user_id": user, "conversation_id": conversation}
    )


def test_forget_user_leaves_no_trace_in_any_file(world: tuple[VectorMemory, Path], clock: Clock) -> None:
    memory, root = world
    plugin = MemoryPlugin(memory, outbox=root / "outbox.sqlite3", idle_timeout=None, summarise=False)
    alice_stored, alice_pending, bob = marker("alice"), marker("alicependig"), marker("bob")
    talk(plugin, "alice", alice_stored, "c1")
    talk(plugin, "bob", bob, "c2")
    assert plugin.flush(timeout=30) == 0  # alice's first turn and bob's are memories now
    plugin.worker.stop()
    talk(plugin, "alice", alice_pending, "c3")  # this one waits in the outbox
    memory.remember(f"Alice's note: {alice_stored} again", user_id="alice", memory_type="semantic")
    assert files_containing(root, alice_stored) and files_containing(root, alice_pending)  # the check can fail

    report = memory.forget_user("alice")

    assert report.total >= 3 and report.side_stores["outbox"] > 0
    # The endpoint scrubs an index's files once deletes have been quiet for half a second.
    deadline = time.monotonic() + 20
    while files_containing(root, alice_stored) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert files_containing(root, alice_stored) == []
    assert files_containing(root, alice_pending) == []
    assert files_containing(root, f"My locker word is {alice_stored}, remember it.") == []
    assert files_containing(root, bob)  # bob is untouched
    assert [m.content for m in memory.iter_memories(user_id="alice", include_expired=True)] == []
    assert bob in " ".join(m.content for m in memory.iter_memories(user_id="bob"))
    plugin.close()


def test_forget_user_walks_every_tenant_index_and_keeps_tenants_apart(
    tmp_path: Path, embedder: MiniLMEmbedder, clock: Clock
) -> None:
    layout = TenantIndexLayout()
    with VectorMemory(EmbeddedBackend(tmp_path / "s"), embedder, clock=clock, layout=layout) as memory:
        for tenant in ("acme", "globex"):
            memory.remember(f"alice works at {tenant}", scope=Scope(tenant_id=tenant, user_id="alice"))
            memory.remember(f"bob works at {tenant}", scope=Scope(tenant_id=tenant, user_id="bob"))
        dry = memory.forget_user("alice", tenant_id="acme", dry_run=True)
        assert (dry.total, dry.memories) == (1, {"memory-acme": 1})
        assert memory.forget_user("alice", tenant_id="acme").total == 1
        left = sorted(m.content for t in ("acme", "globex") for m in memory.iter_memories(scope=Scope(tenant_id=t)))
        assert left == [
            "alice works at globex",
            "bob works at acme",
            "bob works at globex",
        ]  # globex's alice is another person


def test_export_user_returns_every_memory_and_what_waits_in_the_outbox(
    world: tuple[VectorMemory, Path], clock: Clock
) -> None:
    memory, root = world
    plugin = MemoryPlugin(memory, outbox=root / "outbox.sqlite3", idle_timeout=None, summarise=False)
    plugin.worker.stop()
    memory.remember("Alice prefers aisle seats", user_id="alice", memory_type="semantic")
    memory.remember("Old episode", user_id="alice", ttl=1)
    memory.remember("Bob prefers window seats", user_id="bob", memory_type="semantic")
    clock.now += 5
    talk(plugin, "alice", "pelican", "c9")
    exported = list(memory.export_user("alice"))
    json.dumps(exported)  # JSON-ready
    memories = {item["content"] for item in exported if item["kind"] == "memory"}
    assert {"Alice prefers aisle seats", "Old episode"} <= memories  # expired ones too: they are still held
    assert "pelican" in json.dumps(exported)  # the turn, stored by now or still in the outbox
    assert all("Bob" not in json.dumps(item) for item in exported)
    plugin.close()


def test_offboarding_a_tenant_purges_its_queued_turns_first(
    tmp_path: Path, embedder: MiniLMEmbedder, clock: Clock
) -> None:
    from strands_vector_memory.tenancy._admin import offboard_tenant

    root = tmp_path / "store"
    with VectorMemory(EmbeddedBackend(root), embedder, clock=clock, layout=TenantIndexLayout()) as memory:
        plugin = MemoryPlugin(memory, outbox=root / "outbox.sqlite3", idle_timeout=None, summarise=False)
        for tenant, word in (("acme", marker("acme")), ("globex", marker("globex"))):
            model = ScriptedModel([f"Noted {word}."])
            Agent(model=model, plugins=[plugin], callback_handler=None)(
                f"Remember {word}.",
                invocation_state={"user_id": "u", "conversation_id": "c", "tenant_context": {"tenantId": tenant}},
            )
            plugin.worker.stop()  # keep the turns queued (a new agent restarts the worker)
        memory.remember("acme's plan is gold", scope=Scope(tenant_id="acme", user_id="u"))
        assert plugin.outbox.export(user_id="u", tenant_id="acme")  # the check can fail
        result = offboard_tenant(memory, "acme")
        assert result.existed and plugin.outbox.export(user_id="u", tenant_id="acme") == []
        assert plugin.outbox.export(user_id="u", tenant_id="globex")  # another tenant's turns stay owed
        plugin.worker.start()
        assert plugin.flush(timeout=30) == 0
        assert [i.name for i in memory.backend.list_indexes()] == ["memory-globex"]  # nothing recreated acme's
        plugin.close()
