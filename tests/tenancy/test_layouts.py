"""Tenant routing on the embedded engine: one SQLite file per tenant, or one shared index.

The same layouts run on S3 Vectors (see test_multi_tenant_s3vectors.py); here the
engine is a real store directory, and the assertions are about where data lands and
what a tenant can see.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from strands_vector_memory import VectorMemory
from strands_vector_memory.core import IsolationError, Scope
from strands_vector_memory.embedders import MiniLMEmbedder
from strands_vector_memory.tenancy import TenantFilterLayout, TenantIndexLayout, tenant_key

ACME = Scope(tenant_id="acme", user_id="u1")
GLOBEX = Scope(tenant_id="Globex Corp", user_id="u1")


def test_one_sqlite_file_per_tenant_index(tmp_path: Path, embedder: MiniLMEmbedder) -> None:
    with VectorMemory.open(tmp_path, embedder=embedder, layout=TenantIndexLayout()) as memory:
        memory.remember("Acme's Q4 budget is two million dollars", scope=ACME)
        memory.remember("Globex is migrating to Postgres", scope=GLOBEX)
        files = sorted(p.name for p in tmp_path.glob("memory-*.sqlite3"))
        assert files == ["memory-acme.sqlite3", f"memory-{tenant_key('Globex Corp')}.sqlite3"]
        recalled = memory.recall("what is the budget?", scope=GLOBEX, top_k=10)
        assert [m.content for m in recalled] == ["Globex is migrating to Postgres"]
        assert all(m.metadata["tenant_id"] == "acme" for m in memory.recall("budget", scope=ACME, top_k=10))


def test_a_call_without_a_tenant_is_refused_before_anything_happens(tmp_path: Path, embedder: MiniLMEmbedder) -> None:
    with VectorMemory.open(tmp_path, embedder=embedder, layout=TenantIndexLayout()) as memory:
        for call in (
            lambda: memory.remember("x", user_id="u1"),
            lambda: memory.recall("x", user_id="u1"),
            lambda: memory.list(user_id="u1"),
            lambda: memory.forget(user_id="u1"),
            lambda: memory.stats(),
        ):
            with pytest.raises(IsolationError, match="names no tenant"):
                call()
        assert not list(tmp_path.glob("*.sqlite3"))


def test_a_tenant_is_offboarded_by_dropping_its_index(tmp_path: Path, embedder: MiniLMEmbedder) -> None:
    layout = TenantIndexLayout()
    with VectorMemory.open(tmp_path, embedder=embedder, layout=layout) as memory:
        memory.remember_many([f"acme fact {i}" for i in range(5)], scope=ACME)
        memory.remember("globex fact", scope=GLOBEX)
        memory.backend.delete_index(layout.index_for(ACME))  # type: ignore[union-attr]
        assert memory.recall("fact", scope=ACME) == []
        assert [m.content for m in memory.recall("fact", scope=GLOBEX)] == ["globex fact"]


def test_shared_index_keeps_tenants_apart_by_filter(tmp_path: Path, embedder: MiniLMEmbedder) -> None:
    with VectorMemory.open(tmp_path, embedder=embedder, layout=TenantFilterLayout("shared")) as memory:
        memory.remember("Acme's Q4 budget is two million dollars", scope=ACME)
        memory.remember("Globex's Q4 budget is five million dollars", scope=GLOBEX)
        assert [p.name for p in tmp_path.glob("*.sqlite3")] == ["shared.sqlite3"]
        assert [m.metadata["tenant_id"] for m in memory.recall("budget", scope=ACME, top_k=10)] == ["acme"]
        assert memory.forget(scope=Scope(tenant_id="Globex Corp")) == 1
        assert [m.metadata["tenant_id"] for m in memory.recall("budget", scope=ACME, top_k=10)] == ["acme"]
        with pytest.raises(IsolationError):
            memory.recall("budget", user_id="u1")


def test_tenant_index_names_follow_the_prefix() -> None:
    layout = TenantIndexLayout("mem-")
    assert layout.index_for(Scope(tenant_id="acme")) == "mem-acme"
    assert layout.all_indexes(["mem-acme", "memories", "mem-Bad", "mem-x.0123456789abcdef"]) == [
        "mem-acme",
        "mem-x.0123456789abcdef",
    ]
    assert layout.tenant_key_of("memories") is None
