"""Property: random interleaved remember/recall/get/forget never crosses a tenant or a user.

A seeded random driver runs at least 10,000 operations across 5 tenants x 3 users on
each tenant layout, against a model of what each user stored, and checks after every
operation that nothing outside the caller's (tenant, user) came back or went away.
Tenant ids include ones that break index-name rules ("Globex Corp", "ÜBER", a long
one), so the id -> index mapping is exercised too. The seed is printed on failure;
set ``ISOLATION_SEED`` to replay a run.
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from strands_vector_memory import Scope, VectorMemory
from strands_vector_memory.embedders import CachedEmbedder, MiniLMEmbedder
from strands_vector_memory.memory import IndexLayout
from strands_vector_memory.tenancy import TenantFilterLayout, TenantIndexLayout

TENANTS = ["acme", "Globex Corp", "ÜBER", "tenant-004", "a-very-long-tenant-identifier-" + "x" * 40]
USERS = ["alice", "bob", "carol"]
TOPICS = ["budget", "database", "holiday", "allergy", "framework", "deadline", "office", "hiring", "pricing", "travel"]
MIN_OPERATIONS = 10_000


@dataclass
class World:
    """What each (tenant, user) has stored, by key."""

    stored: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)
    operations: int = 0

    def owner_of(self, key: str) -> tuple[str, str] | None:
        return next((who for who, keys in self.stored.items() if key in keys), None)


@pytest.fixture(scope="module")
def cached_embedder(embedder: MiniLMEmbedder) -> CachedEmbedder:
    """The real model; texts repeat across the run, so most embeddings come from its cache."""
    return CachedEmbedder(embedder, symmetric=True)


def seed() -> int:
    return int(os.environ.get("ISOLATION_SEED") or random.SystemRandom().randrange(2**32))


def text(rng: random.Random, tenant: str, user: str) -> str:
    topic = rng.choice(TOPICS)
    return f"{user} of {tenant} noted {topic} item {rng.randrange(40)}"


def check_results(memories: list[object], tenant: str, user: str, world: World) -> None:
    mine = world.stored.get((tenant, user), {})
    for memory in memories:
        assert memory.metadata["tenant_id"] == tenant, memory  # type: ignore[attr-defined]
        assert memory.metadata["user_id"] == user, memory  # type: ignore[attr-defined]
        assert memory.key in mine and mine[memory.key] == memory.content, memory  # type: ignore[attr-defined]


def step(memory: VectorMemory, rng: random.Random, world: World) -> None:
    tenant, user = rng.choice(TENANTS), rng.choice(USERS)
    scope = Scope(tenant_id=tenant, user_id=user)
    mine = world.stored.setdefault((tenant, user), {})
    roll = rng.random()
    if roll < 0.35:  # remember, sometimes in a batch
        contents = [text(rng, tenant, user) for _ in range(rng.choice([1, 1, 1, 3]))]
        for stored in memory.remember_many(contents, scope=scope):
            mine[stored.key] = stored.content
    elif roll < 0.70:  # recall by meaning, in the caller's scope only
        query = f"what about the {rng.choice(TOPICS)}?"
        check_results(memory.recall(query, scope=scope, top_k=rng.choice([1, 5, 20])), tenant, user, world)
    elif roll < 0.80:  # get keys, including other people's: only the caller's come back
        everyone = [key for keys in world.stored.values() for key in keys]
        keys = rng.sample(everyone, min(len(everyone), 5))
        found = memory.get_many(keys, scope=scope)
        check_results(found, tenant, user, world)
        assert {m.key for m in found} == {k for k in keys if k in mine}
    elif roll < 0.92:  # forget by key, including another user's key: only the caller's own go
        everyone = [key for keys in world.stored.values() for key in keys]
        if everyone:
            key = rng.choice(everyone)
            deleted = memory.forget([key], scope=scope)
            assert deleted == (1 if key in mine else 0), (key, world.owner_of(key), (tenant, user))
            mine.pop(key, None)
    elif roll < 0.97:  # list the caller's scope
        page = memory.list(scope=scope, limit=1000)
        check_results(page.memories, tenant, user, world)
        assert {m.key for m in page.memories} == set(mine)
    else:  # forget the whole user
        assert memory.forget(scope=scope) == len(mine)
        mine.clear()
    world.operations += 1


@pytest.fixture(params=["index-per-tenant", "shared-index"])
def tenant_memory(
    request: pytest.FixtureRequest, tmp_path: Path, cached_embedder: CachedEmbedder
) -> Iterator[VectorMemory]:
    layout: IndexLayout = TenantIndexLayout() if request.param == "index-per-tenant" else TenantFilterLayout()
    with VectorMemory.open(tmp_path / "store", embedder=cached_embedder, layout=layout) as memory:
        yield memory


@pytest.mark.slow
def test_ten_thousand_random_operations_never_cross_a_tenant_or_user(tenant_memory: VectorMemory) -> None:
    run_seed = seed()
    rng, world = random.Random(run_seed), World()
    try:
        while world.operations < MIN_OPERATIONS:
            step(tenant_memory, rng, world)
        for (tenant, user), mine in world.stored.items():  # the end state, every scope in full
            page = tenant_memory.list(scope=Scope(tenant_id=tenant, user_id=user), limit=1000)
            assert {m.key: m.content for m in page.memories} == mine
    except AssertionError as exc:
        raise AssertionError(f"ISOLATION_SEED={run_seed} after {world.operations} operations: {exc}") from exc
    assert world.operations >= MIN_OPERATIONS
