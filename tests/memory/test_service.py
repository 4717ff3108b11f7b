from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from strands_vector_memory import (
    ConflictError,
    EmbeddedBackend,
    Field,
    MemoryType,
    NewMemory,
    Ranking,
    Scope,
    SharedIndexLayout,
    ValidationError,
    VectorMemory,
)
from strands_vector_memory.memory._screen import content_hash


def test_recall_finds_a_memory_by_meaning_not_keywords(memory: VectorMemory) -> None:
    memory.remember("Alice is allergic to peanuts", user_id="alice", memory_type="semantic")
    memory.remember("Alice's favourite colour is green", user_id="alice")
    memory.remember("The quarterly report is due on Friday", user_id="alice")
    results = memory.recall("which foods could make her ill?", user_id="alice", top_k=3)
    assert results[0].content == "Alice is allergic to peanuts"
    assert results[0].score is not None and results[0].score > results[1].score  # type: ignore[operator]
    assert results[0].memory_type is MemoryType.SEMANTIC
    dense = memory.recall(
        "which foods could make her ill?",
        user_id="alice",
        top_k=3,
        ranking=Ranking.plain("dense"),
    )
    assert dense[0].content == "Alice is allergic to peanuts"
    assert dense[0].distance == pytest.approx(1 - dense[0].score)  # plain dense: score is cosine similarity


def test_users_never_see_each_others_memories(memory: VectorMemory) -> None:
    a = memory.remember("Alice keeps her passport in the blue drawer", user_id="alice")
    memory.remember("Bob likes jazz", user_id="bob")
    bob_results = memory.recall("where is the passport kept?", user_id="bob", top_k=10)
    assert a.key not in {m.key for m in bob_results}
    assert all(m.metadata[Field.USER_ID] == "bob" for m in bob_results)
    assert memory.get(a.key, user_id="bob") is None
    assert memory.get(a.key, user_id="alice") is not None


def test_scope_parts_narrow_recall(memory: VectorMemory) -> None:
    memory.remember("deploy with blue-green", scope=Scope(user_id="u", team_id="ops", agent_id="a1"))
    memory.remember("deploy with canaries", scope=Scope(user_id="u", team_id="dev", agent_id="a2"))
    ops = memory.recall("how do we deploy?", scope=Scope(team_id="ops"))
    assert [m.content for m in ops] == ["deploy with blue-green"]
    both = memory.recall("how do we deploy?", user_id="u")
    assert len(both) == 2
    assert ops[0].scope == Scope(user_id="u", team_id="ops", agent_id="a1")


def test_expired_memories_are_never_returned(memory: VectorMemory, clock) -> None:  # type: ignore[no-untyped-def]
    short = memory.remember("the door code is 4512", user_id="u", ttl=60)
    memory.remember("the wifi password is on the fridge", user_id="u")
    assert short.key in {m.key for m in memory.recall("door code", user_id="u")}
    clock.now += 61
    assert short.key not in {m.key for m in memory.recall("door code", user_id="u")}
    assert memory.get(short.key, user_id="u") is None
    assert short.key not in {m.key for m in memory.list(user_id="u").memories}
    stats = memory.stats(user_id="u")
    assert (stats.total, stats.expired) == (1, 1)


def test_memory_types_and_time_window_filter_recall(memory: VectorMemory, clock) -> None:  # type: ignore[no-untyped-def]
    old = memory.remember("we chose PostgreSQL for the ledger", user_id="u", memory_type="semantic")
    clock.now += 3600
    new = memory.remember("we migrated the ledger to PostgreSQL 16", user_id="u", memory_type="episodic")
    semantic = memory.recall("database for the ledger", user_id="u", memory_types=["semantic"])
    assert [m.key for m in semantic] == [old.key]
    recent = memory.recall("database for the ledger", user_id="u", since=clock.now - 60)
    assert [m.key for m in recent] == [new.key]
    earlier = memory.recall("database for the ledger", user_id="u", until=clock.now - 60)
    assert [m.key for m in earlier] == [old.key]
    with pytest.raises(ValidationError):
        memory.recall("x", user_id="u", memory_types=["gossip"])


def test_extra_filters_and_min_score(memory: VectorMemory) -> None:
    memory.remember("ship the release on Tuesday", user_id="u", metadata={"project": "apollo", "priority": 2})
    memory.remember("ship the hotfix today", user_id="u", metadata={"project": "gemini", "priority": 1})
    hits = memory.recall("when do we ship?", user_id="u", filter={"priority": {"$gte": 2}})
    assert [m.metadata["project"] for m in hits] == ["apollo"]
    assert memory.recall("when do we ship?", user_id="u", min_score=0.999) == []


def test_idempotent_and_explicit_keys(memory: VectorMemory) -> None:
    first = memory.remember("prefers tea over coffee", user_id="u", idempotent=True)
    again = memory.remember("prefers tea over coffee", user_id="u", idempotent=True)
    other_user = memory.remember("prefers tea over coffee", user_id="v", idempotent=True)
    assert first.key == again.key != other_user.key
    assert memory.stats(user_id="u").total == 1
    memory.remember("v1", user_id="u", key="profile")
    memory.remember("v2", user_id="u", key="profile")
    got = memory.get("profile", user_id="u")
    assert got is not None and got.content == "v2"


def test_remember_stamps_the_schema(memory: VectorMemory, clock) -> None:  # type: ignore[no-untyped-def]
    m = memory.remember(
        "the meeting moved to Thursday",
        scope=Scope(tenant_id="acme", user_id="u", agent_id="planner", team_id="t", task_id="k", conversation_id="c"),
        source="conversation",
        event_time=clock.now - 86400,
        confidence=0.8,
    )
    stored = memory.get(m.key, user_id="u")
    assert stored is not None
    meta = stored.metadata
    assert meta[Field.CREATED_AT] == clock.now
    assert meta[Field.CREATED_AT_ISO].startswith("2025-06-15T")
    assert meta[Field.EVENT_TIME] == clock.now - 86400
    assert meta[Field.CONFIDENCE] == 0.8
    assert meta[Field.SOURCE] == "conversation"
    assert meta[Field.MEMORY_TYPE] == "episodic"
    assert stored.scope == Scope(
        tenant_id="acme", user_id="u", agent_id="planner", team_id="t", task_id="k", conversation_id="c"
    )
    assert meta[Field.EXPIRES_AT] == clock.now + 30 * 86400  # the policy's default lifetime of an episode
    assert meta[Field.CONTENT_HASH] == content_hash("the meeting moved to Thursday")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"content": ""}, "content"),
        ({"content": "   "}, "content"),
        ({"content": "bad \ud800 text"}, "content"),
        ({"content": "x" * 40_000}, "content"),
        ({"content": "ok", "memory_type": "gossip"}, "memory_type"),
        ({"content": "ok", "confidence": 1.5}, "confidence"),
        ({"content": "ok", "ttl": -1}, "ttl"),
        ({"content": "ok", "ttl": 5, "expires_at": 10}, "ttl"),
        ({"content": "ok", "metadata": {"user_id": "mallory"}}, "metadata"),
        ({"content": "ok", "metadata": {"blob": "y" * 3000}}, "metadata"),
        ({"content": "ok", "key": ""}, "key"),
    ],
)
def test_bad_input_is_rejected_and_nothing_is_stored(memory: VectorMemory, kwargs, field) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError) as info:
        memory.remember(user_id="u", **kwargs)
    assert info.value.field == field
    assert memory.stats().total == 0


def test_remember_many_is_all_or_nothing_on_validation(memory: VectorMemory) -> None:
    items = [NewMemory(f"fact number {i}") for i in range(5)] + [NewMemory("")]
    with pytest.raises(ValidationError, match=r"items\[5\]"):
        memory.check(items, user_id="u")
    with pytest.raises(ValidationError, match=r"items\[5\]"):
        memory.remember_many(items, user_id="u")
    with pytest.raises(ValidationError, match=r"items\[1\]"):
        memory.remember_many([NewMemory("ok"), NewMemory("ok", key="k" * 1025)], user_id="u")
    assert memory.stats().total == 0
    stored = memory.remember_many([f"note {i}" for i in range(1200)], user_id="u")
    assert len(stored) == 1200 and len({m.key for m in stored}) == 1200
    assert memory.stats(user_id="u").total == 1200


def test_list_pages_cover_everything_exactly_once(memory: VectorMemory) -> None:
    memory.remember_many([f"u note {i}" for i in range(23)], user_id="u")
    memory.remember_many([f"v note {i}" for i in range(7)], user_id="v")
    seen: list[str] = []
    token = None
    while True:
        page = memory.list(user_id="u", limit=5, next_token=token)
        assert len(page.memories) <= 5
        seen.extend(m.content for m in page.memories)
        token = page.next_token
        if token is None:
            break
    assert sorted(seen) == sorted(f"u note {i}" for i in range(23))
    with pytest.raises(ValidationError):
        memory.list(next_token="garbage")


def test_forget_by_key_scope_and_filter(memory: VectorMemory) -> None:
    a = memory.remember("alpha", user_id="u")
    memory.remember_many(["beta", "gamma"], user_id="u")
    memory.remember("delta", user_id="v", metadata={"topic": "x"})
    memory.remember("epsilon", user_id="v", metadata={"topic": "y"})
    with pytest.raises(ValidationError):
        memory.forget()
    with pytest.raises(ValidationError, match="not both"):
        memory.forget([a.key], filter={"topic": "x"})
    assert memory.forget([a.key], user_id="v") == 0  # out of scope: untouched
    assert memory.forget([a.key]) == 1
    assert memory.forget(user_id="u") == 2
    assert memory.forget(filter={"topic": "x"}) == 1
    assert [m.content for m in memory.iter_memories()] == ["epsilon"]
    assert memory.forget(everything=True) == 1


def test_stats_counts_by_type_and_user(memory: VectorMemory) -> None:
    memory.remember("a", user_id="u", memory_type="semantic")
    memory.remember("b", user_id="u")
    memory.remember("c", user_id="v", memory_type="procedural")
    stats = memory.stats()
    assert stats.total == 3
    assert stats.by_type == {"episodic": 1, "procedural": 1, "semantic": 1}
    assert stats.by_user == {"u": 2, "v": 1}
    assert stats.indexes == ["memories"]
    assert stats.dimension == 384


def test_recall_on_an_empty_store_returns_nothing(memory: VectorMemory) -> None:
    assert memory.recall("anything", user_id="u") == []
    assert memory.list().memories == []
    assert memory.stats().total == 0


def test_a_store_built_with_another_dimension_is_refused(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    backend = EmbeddedBackend(tmp_path / "s")
    backend.create_index("memories", dimension=8)
    vm = VectorMemory(backend, embedder)
    with pytest.raises(ConflictError, match="384"):
        vm.remember("x", user_id="u")


def test_custom_layout_index_name(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    with VectorMemory(EmbeddedBackend(tmp_path / "s"), embedder, layout=SharedIndexLayout("team-memory")) as vm:
        vm.remember("hello", user_id="u")
        assert [i.name for i in vm.backend.list_indexes()] == ["team-memory"]
    with pytest.raises(ValidationError):
        SharedIndexLayout("Bad_Name")


def test_two_services_on_one_store_see_each_others_writes(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    first = VectorMemory(EmbeddedBackend(tmp_path / "s"), embedder)
    second = VectorMemory(EmbeddedBackend(tmp_path / "s"), embedder)
    first.remember("the build server is named hopper", user_id="u")
    assert second.recall("what is the build machine called?", user_id="u")[0].content.endswith("hopper")
    second.forget(user_id="u")
    assert first.recall("build machine", user_id="u") == []


def test_stored_vectors_are_the_embedders_document_vectors(memory: VectorMemory, embedder) -> None:  # type: ignore[no-untyped-def]
    stored = memory.remember_many(["one fish", "two fish"], user_id="u")
    records = memory.backend.get_vectors("memories", [stored[0].key], return_vector=True)
    expected = embedder.embed_documents(["one fish"])[0]
    assert records[0].vector is not None
    assert float(np.dot(records[0].vector, expected)) == pytest.approx(1.0, abs=1e-3)


def test_one_service_is_safe_to_share_between_threads(memory: VectorMemory) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def worker(n: int) -> int:
        user = f"user-{n}"
        for i in range(25):
            memory.remember(f"{user} noted fact number {i}", user_id=user)
            hits = memory.recall(f"fact number {i}", user_id=user, top_k=3)
            assert hits and all(h.metadata[Field.USER_ID] == user for h in hits)
        return len(list(memory.iter_memories(user_id=user)))

    with ThreadPoolExecutor(max_workers=4) as pool:
        counts = list(pool.map(worker, range(4)))
    assert counts == [25, 25, 25, 25]
    assert memory.stats().total == 100
