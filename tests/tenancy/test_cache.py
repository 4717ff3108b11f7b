"""The per-tenant cache: built once, bounded, and every object let go is handed to on_drop."""

from __future__ import annotations

import threading

import pytest

from strands_vector_memory.core import ValidationError
from strands_vector_memory.tenancy._cache import TenantCache


def test_built_once_then_reused_and_least_recently_used_dropped() -> None:
    dropped: list[str] = []
    built: list[str] = []
    cache: TenantCache[str] = TenantCache(2, on_drop=dropped.append)

    def build(key: str) -> str:
        built.append(key)
        return f"backend-{key}"

    assert cache.get_or_build("a", build) == "backend-a"
    assert cache.get_or_build("b", build) == "backend-b"
    assert cache.get_or_build("a", build) == "backend-a"  # a is now the most recent
    cache.get_or_build("c", build)
    assert built == ["a", "b", "c"] and dropped == ["backend-b"]
    assert sorted(cache.clear()) == ["backend-a", "backend-c"]


def test_racing_builds_keep_one_and_drop_the_other() -> None:
    dropped: list[object] = []
    cache: TenantCache[object] = TenantCache(8, on_drop=dropped.append)
    barrier = threading.Barrier(2)

    def build(key: str) -> object:
        barrier.wait()  # both threads are inside build before either stores
        return object()

    results: list[object] = []
    threads = [threading.Thread(target=lambda: results.append(cache.get_or_build("t", build))) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results[0] is results[1]
    assert len(dropped) == 1 and dropped[0] is not results[0]


@pytest.mark.parametrize("bad", [0, -1, True, 1.5])
def test_the_bound_must_be_a_positive_int(bad: object) -> None:
    with pytest.raises(ValidationError, match="max_cached"):
        TenantCache(bad)  # type: ignore[arg-type]
