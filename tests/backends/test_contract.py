"""The contract every VectorBackend honours: S3 Vectors semantics, limits and errors.

Runs once per factory in ``conftest.BACKEND_FACTORIES`` and talks only through the
``VectorBackend`` Protocol, so a backend that passes here behaves like the others.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytest

from strands_vector_memory.backends import IndexInfo, QueryMatch, VectorBackend
from strands_vector_memory.core import (
    ConflictError,
    FilterError,
    MemoryRecord,
    NotFoundError,
    ValidationError,
    VectorMemoryError,
)

DIM = 8
IDX = "idx"

RecordsOf = Callable[..., list[MemoryRecord]]
SnapshotOf = Callable[[VectorBackend, str], dict[str, Any]]


# --------------------------------------------------------------------------- helpers


def rand_vectors(n: int, dim: int = DIM, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)


def make_records(n: int, dim: int = DIM, seed: int = 0, prefix: str = "k") -> list[MemoryRecord]:
    vectors = rand_vectors(n, dim, seed)
    return [MemoryRecord(f"{prefix}{i}", vectors[i], {"i": i, "parity": i % 2}) for i in range(n)]


def put_all(store: VectorBackend, index: str, records: Sequence[MemoryRecord]) -> None:
    for start in range(0, len(records), 500):
        store.put_vectors(index, list(records[start : start + 500]))


def brute_force(vectors: dict[str, np.ndarray], query: np.ndarray, metric: str) -> dict[str, float]:
    """Reference distances in float64 over the float32 vectors the backend stores."""
    q = np.asarray(query, dtype=np.float32).astype(np.float64)
    out = {}
    for key, vector in vectors.items():
        v = np.asarray(vector, dtype=np.float32).astype(np.float64)
        if metric == "cosine":
            out[key] = float(1.0 - v @ q / (np.linalg.norm(v) * np.linalg.norm(q)))
        else:
            out[key] = float(np.linalg.norm(v - q))
    return out


def assert_exact_top_k(matches: list[QueryMatch], truth: dict[str, float], k: int, *, tol: float) -> None:
    """The matches are the k nearest by ``truth``, nearest first, with the right distances.

    Ties closer than ``tol`` may come in either order (float32 scoring), nothing else may differ.
    """
    expected = sorted(truth, key=lambda key: (truth[key], key))[:k]
    got = [m.key for m in matches]
    assert len(got) == len(expected) == min(k, len(truth))
    assert len(set(got)) == len(got), "a key was returned twice"
    for match in matches:
        assert match.distance is not None
        assert match.distance == pytest.approx(truth[match.key], abs=tol, rel=tol)
    true_distances = [truth[key] for key in got]
    assert all(b >= a - tol for a, b in itertools.pairwise(true_distances)), "not nearest first"
    if not expected:
        return
    kth = truth[expected[-1]]
    assert all(truth[key] <= kth + tol for key in got), "a record outside the true top-k was returned"
    if all(abs(truth[a] - truth[b]) > tol for a, b in itertools.pairwise(expected)):
        assert got == expected  # no near-ties: the order is exactly the brute-force order


def keys_of(store: VectorBackend, index: str, records_of: RecordsOf) -> set[str]:
    return {r.key for r in records_of(store, index)}


# --------------------------------------------------------------------------- indexes


def test_create_index_returns_its_configuration(backend: VectorBackend) -> None:
    before = time.time()
    info = backend.create_index(IDX, dimension=DIM, distance_metric="euclidean", non_filterable_keys=["content", "raw"])
    after = time.time()
    assert isinstance(info, IndexInfo)
    assert info.name == IDX
    assert info.dimension == DIM
    assert info.distance_metric == "euclidean"
    assert info.non_filterable_keys == frozenset({"content", "raw"})
    assert isinstance(info.non_filterable_keys, frozenset)
    assert before - 5 <= info.created_at <= after + 5

    got = backend.get_index(IDX)
    assert (got.name, got.dimension, got.distance_metric, got.non_filterable_keys) == (
        IDX,
        DIM,
        "euclidean",
        frozenset({"content", "raw"}),
    )
    assert got.created_at == pytest.approx(info.created_at, abs=1.0)


def test_default_metric_is_cosine_and_no_keys_are_non_filterable(backend: VectorBackend) -> None:
    info = backend.create_index(IDX, dimension=3)
    assert info.distance_metric == "cosine"
    assert info.non_filterable_keys == frozenset()
    assert backend.get_index(IDX).distance_metric == "cosine"


def test_creating_an_existing_index_is_a_conflict_and_changes_nothing(backend: VectorBackend) -> None:
    backend.create_index(IDX, dimension=DIM)
    backend.put_vectors(IDX, make_records(3))
    with pytest.raises(ConflictError):
        backend.create_index(IDX, dimension=DIM)
    with pytest.raises(ConflictError):
        backend.create_index(IDX, dimension=DIM + 1, distance_metric="euclidean")
    info = backend.get_index(IDX)
    assert (info.dimension, info.distance_metric) == (DIM, "cosine")
    assert len(backend.get_vectors(IDX, ["k0", "k1", "k2"])) == 3


def test_missing_index_is_not_found(backend: VectorBackend) -> None:
    with pytest.raises(NotFoundError):
        backend.get_index("missing")
    with pytest.raises(NotFoundError):
        backend.delete_index("missing")


@pytest.mark.parametrize(
    "operation",
    [
        pytest.param(lambda b: b.put_vectors("missing", [MemoryRecord("k", [1.0] * DIM)]), id="put_vectors"),
        pytest.param(lambda b: b.get_vectors("missing", ["k"]), id="get_vectors"),
        pytest.param(lambda b: b.list_vectors("missing"), id="list_vectors"),
        pytest.param(lambda b: b.query_vectors("missing", [1.0] * DIM, top_k=1), id="query_vectors"),
        pytest.param(lambda b: b.delete_vectors("missing", ["k"]), id="delete_vectors"),
    ],
)
def test_vector_operations_on_a_missing_index_are_not_found(
    backend: VectorBackend, operation: Callable[[VectorBackend], object]
) -> None:
    backend.create_index(IDX, dimension=DIM)
    with pytest.raises(NotFoundError):
        operation(backend)
    assert [i.name for i in backend.list_indexes()] == [IDX]


def test_list_indexes_is_sorted_and_filtered_by_prefix(backend: VectorBackend) -> None:
    assert backend.list_indexes() == []
    for name in ["beta", "alpha-2", "alpha.1", "gamma", "alpha-10"]:
        backend.create_index(name, dimension=4)
    names = [i.name for i in backend.list_indexes()]
    assert names == sorted(names) == ["alpha-10", "alpha-2", "alpha.1", "beta", "gamma"]
    assert [i.name for i in backend.list_indexes(prefix="alpha")] == ["alpha-10", "alpha-2", "alpha.1"]
    assert [i.name for i in backend.list_indexes(prefix="alpha-1")] == ["alpha-10"]
    assert [i.name for i in backend.list_indexes(prefix="g")] == ["gamma"]
    assert backend.list_indexes(prefix="zzz") == []
    assert all(isinstance(i, IndexInfo) and i.dimension == 4 for i in backend.list_indexes())


def test_delete_index_removes_it_and_its_vectors(backend: VectorBackend, records_of: RecordsOf) -> None:
    backend.create_index(IDX, dimension=DIM)
    backend.create_index("other", dimension=DIM)
    backend.put_vectors(IDX, make_records(10))
    backend.put_vectors("other", make_records(2))
    backend.delete_index(IDX)
    assert [i.name for i in backend.list_indexes()] == ["other"]
    with pytest.raises(NotFoundError):
        backend.get_index(IDX)
    with pytest.raises(NotFoundError):
        backend.get_vectors(IDX, ["k0"])
    with pytest.raises(NotFoundError):
        backend.delete_index(IDX)
    assert len(records_of(backend, "other")) == 2  # the neighbour is untouched
    # The name is free again, and the new index starts empty with its own settings.
    info = backend.create_index(IDX, dimension=3, distance_metric="euclidean")
    assert (info.dimension, info.distance_metric) == (3, "euclidean")
    assert records_of(backend, IDX) == []
    assert backend.query_vectors(IDX, [1.0, 0.0, 0.0], top_k=10) == []


@pytest.mark.parametrize("name", ["abc", "a" * 63, "a.b-c", "0-9", "x1.y2.z3", "123"])
def test_valid_index_names_are_accepted(backend: VectorBackend, name: str) -> None:
    assert backend.create_index(name, dimension=2).name == name
    assert backend.get_index(name).name == name


@pytest.mark.parametrize(
    "name", ["ab", "a" * 64, "Abc", "ab_c", "-abc", "abc-", ".abc", "abc.", "ab c", "", "ab/c", "äbc"]
)
def test_invalid_index_names_are_rejected(backend: VectorBackend, name: str) -> None:
    with pytest.raises(ValidationError) as info:
        backend.create_index(name, dimension=2)
    assert info.value.field == "index_name"
    assert backend.list_indexes() == []


@pytest.mark.parametrize("dimension", [1, 4096])
def test_dimension_bounds_are_accepted(backend: VectorBackend, dimension: int) -> None:
    backend.create_index(IDX, dimension=dimension)
    vector = np.ones(dimension, dtype=np.float32)
    backend.put_vectors(IDX, [MemoryRecord("k", vector)])
    (record,) = backend.get_vectors(IDX, ["k"], return_vector=True)
    assert record.vector is not None and record.vector.shape == (dimension,)
    assert [m.key for m in backend.query_vectors(IDX, vector, top_k=1)] == ["k"]


@pytest.mark.parametrize("dimension", [0, 4097, -1])
def test_dimension_out_of_bounds_is_rejected(backend: VectorBackend, dimension: int) -> None:
    with pytest.raises(ValidationError) as info:
        backend.create_index(IDX, dimension=dimension)
    assert info.value.field == "dimension"
    assert backend.list_indexes() == []


def test_non_filterable_keys_at_most_ten(backend: VectorBackend) -> None:
    ten = [f"nf{i}" for i in range(10)]
    assert backend.create_index("ten", dimension=2, non_filterable_keys=ten).non_filterable_keys == frozenset(ten)
    with pytest.raises(ValidationError) as info:
        backend.create_index("eleven", dimension=2, non_filterable_keys=[*ten, "nf10"])
    assert info.value.field == "non_filterable_keys"
    assert [i.name for i in backend.list_indexes()] == ["ten"]


def test_unknown_distance_metric_is_rejected(backend: VectorBackend) -> None:
    with pytest.raises(ValidationError) as info:
        backend.create_index(IDX, dimension=2, distance_metric="dot")  # type: ignore[arg-type]
    assert info.value.field == "distance_metric"
    assert backend.list_indexes() == []


# --------------------------------------------------------------------------- put / get


def test_put_then_get_round_trips_vector_and_metadata(backend: VectorBackend) -> None:
    backend.create_index(IDX, dimension=4)
    metadata = {
        "text": "héllo wörld ✓",
        "int": 7,
        "float": 2.5,
        "neg": -3,
        "yes": True,
        "no": False,
        "tags": ["a", "b"],
        "mixed": [1, "x", True, 2.5],
        "empty": [],
        "blank": "",
    }
    vector = [0.1, -0.2, 0.3, 1e-3]  # float64 in, float32 stored
    backend.put_vectors(IDX, [MemoryRecord("rec", vector, metadata)])
    (record,) = backend.get_vectors(IDX, ["rec"], return_vector=True, return_metadata=True)
    assert record.key == "rec"
    assert record.vector is not None
    assert np.asarray(record.vector).dtype == np.float32
    np.testing.assert_array_equal(record.vector, np.asarray(vector, dtype=np.float32))
    assert dict(record.metadata or {}) == metadata
    assert record.metadata is not None
    assert record.metadata["yes"] is True and record.metadata["no"] is False
    assert type(record.metadata["int"]) is int
    assert [type(x) for x in record.metadata["mixed"]] == [int, str, bool, float]


def test_metadata_is_optional(backend: VectorBackend) -> None:
    backend.create_index(IDX, dimension=2)
    backend.put_vectors(IDX, [MemoryRecord("bare", [1.0, 2.0])])
    (record,) = backend.get_vectors(IDX, ["bare"])
    assert not record.metadata  # {} (or None): no metadata stored


def test_keys_are_case_sensitive_and_unicode(backend: VectorBackend) -> None:
    backend.create_index(IDX, dimension=2)
    keys = ["Key", "key", "KEY", "ключ", "键/with spaces", "é" * 1024, "x"]
    backend.put_vectors(IDX, [MemoryRecord(k, [float(i + 1), 1.0], {"n": i}) for i, k in enumerate(keys)])
    got = backend.get_vectors(IDX, keys)
    assert [r.key for r in got] == keys
    assert [dict(r.metadata or {})["n"] for r in got] == list(range(len(keys)))


def test_overwrite_by_key_replaces_vector_and_metadata(backend: VectorBackend, records_of: RecordsOf) -> None:
    backend.create_index(IDX, dimension=3, non_filterable_keys=["content"])
    backend.put_vectors(IDX, [MemoryRecord("k", [1, 0, 0], {"a": 1, "b": "old", "content": "first"})])
    backend.put_vectors(IDX, [MemoryRecord("k", [0, 1, 0], {"c": 3})])
    (record,) = backend.get_vectors(IDX, ["k"], return_vector=True)
    np.testing.assert_array_equal(record.vector, np.asarray([0, 1, 0], dtype=np.float32))
    assert dict(record.metadata or {}) == {"c": 3}  # replaced, not merged
    assert [r.key for r in records_of(backend, IDX)] == ["k"]
    # The old metadata no longer matches a filter; the new one does.
    assert backend.query_vectors(IDX, [0, 1, 0], top_k=5, filter={"a": 1}) == []
    assert [m.key for m in backend.query_vectors(IDX, [0, 1, 0], top_k=5, filter={"c": 3})] == ["k"]


def test_overwrite_within_a_batch_of_new_and_existing_keys(backend: VectorBackend, records_of: RecordsOf) -> None:
    backend.create_index(IDX, dimension=DIM)
    backend.put_vectors(IDX, make_records(5))
    fresh = make_records(8, seed=1)  # k0..k4 overwritten, k5..k7 new
    backend.put_vectors(IDX, fresh)
    stored = {r.key: r for r in records_of(backend, IDX)}
    assert set(stored) == {f"k{i}" for i in range(8)}
    for record in fresh:
        np.testing.assert_array_equal(stored[record.key].vector, record.vector)


def test_get_returns_request_order_and_omits_missing_keys(backend: VectorBackend) -> None:
    backend.create_index(IDX, dimension=DIM)
    backend.put_vectors(IDX, make_records(10))
    got = backend.get_vectors(IDX, ["k5", "missing", "k1", "k9", "also-missing", "k0"])
    assert [r.key for r in got] == ["k5", "k1", "k9", "k0"]
    assert [dict(r.metadata or {})["i"] for r in got] == [5, 1, 9, 0]
    assert backend.get_vectors(IDX, ["nope"]) == []


def test_get_flags_choose_what_comes_back(backend: VectorBackend) -> None:
    backend.create_index(IDX, dimension=DIM)
    records = make_records(2)
    backend.put_vectors(IDX, records)
    (default,) = backend.get_vectors(IDX, ["k1"])
    assert default.vector is None and dict(default.metadata or {}) == {"i": 1, "parity": 1}
    (bare,) = backend.get_vectors(IDX, ["k1"], return_vector=False, return_metadata=False)
    assert bare.vector is None and bare.metadata is None
    (full,) = backend.get_vectors(IDX, ["k1"], return_vector=True, return_metadata=True)
    np.testing.assert_array_equal(full.vector, records[1].vector)
    assert dict(full.metadata or {}) == {"i": 1, "parity": 1}
    (vector_only,) = backend.get_vectors(IDX, ["k1"], return_vector=True, return_metadata=False)
    assert vector_only.vector is not None and vector_only.metadata is None


def test_batch_limits_accept_the_maximum(backend: VectorBackend, records_of: RecordsOf) -> None:
    backend.create_index(IDX, dimension=4)
    records = make_records(500, dim=4)
    backend.put_vectors(IDX, records)  # 500 in one call
    assert len(records_of(backend, IDX)) == 500
    assert len(backend.get_vectors(IDX, [f"k{i}" for i in range(100)])) == 100
    backend.delete_vectors(IDX, [f"k{i}" for i in range(500)])  # 500 in one call
    assert records_of(backend, IDX) == []


# --------------------------------------------------------------------------- list_vectors


def test_list_vectors_pages_walk_every_record_exactly_once(backend: VectorBackend) -> None:
    backend.create_index(IDX, dimension=4)
    put_all(backend, IDX, make_records(237, dim=4))
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        page = backend.list_vectors(IDX, max_results=50, next_token=token)
        pages += 1
        assert len(page.records) <= 50
        assert all(r.vector is None and r.metadata is None for r in page.records)  # defaults
        seen.extend(r.key for r in page.records)
        token = page.next_token
        if token is None:
            break
        assert len(page.records) == 50  # only the last page may be short
    assert pages == 5
    assert len(seen) == len(set(seen)) == 237
    assert set(seen) == {f"k{i}" for i in range(237)}


def test_list_vectors_with_vectors_and_metadata(backend: VectorBackend) -> None:
    backend.create_index(IDX, dimension=4)
    records = make_records(5, dim=4)
    backend.put_vectors(IDX, records)
    page = backend.list_vectors(IDX, max_results=1000, return_vector=True, return_metadata=True)
    assert page.next_token is None
    by_key = {r.key: r for r in page.records}
    for record in records:
        np.testing.assert_array_equal(by_key[record.key].vector, record.vector)
        assert dict(by_key[record.key].metadata or {}) == record.metadata


def test_list_vectors_of_an_empty_index(backend: VectorBackend) -> None:
    backend.create_index(IDX, dimension=4)
    page = backend.list_vectors(IDX)
    assert page.records == [] and page.next_token is None


def test_list_vectors_exact_page_boundary_ends_cleanly(backend: VectorBackend) -> None:
    backend.create_index(IDX, dimension=4)
    backend.put_vectors(IDX, make_records(20, dim=4))
    first = backend.list_vectors(IDX, max_results=10)
    assert len(first.records) == 10 and first.next_token is not None
    second = backend.list_vectors(IDX, max_results=10, next_token=first.next_token)
    assert len(second.records) == 10
    if second.next_token is not None:  # a backend may not know the listing ended
        third = backend.list_vectors(IDX, max_results=10, next_token=second.next_token)
        assert third.records == [] and third.next_token is None


@pytest.mark.parametrize("segment_count", [1, 2, 3, 16])
def test_list_vectors_segments_partition_the_index(backend: VectorBackend, segment_count: int) -> None:
    backend.create_index(IDX, dimension=4)
    put_all(backend, IDX, make_records(301, dim=4))
    segments: list[list[str]] = []
    for segment in range(segment_count):
        keys: list[str] = []
        token = None
        while True:
            page = backend.list_vectors(
                IDX, max_results=37, next_token=token, segment_count=segment_count, segment_index=segment
            )
            keys.extend(r.key for r in page.records)
            token = page.next_token
            if token is None:
                break
        segments.append(keys)
    flat = [k for keys in segments for k in keys]
    assert len(flat) == len(set(flat)), "segments overlap"
    assert set(flat) == {f"k{i}" for i in range(301)}, "segments miss records"


def test_list_vectors_rejects_foreign_and_garbage_tokens(backend: VectorBackend) -> None:
    backend.create_index(IDX, dimension=4)
    backend.create_index("other", dimension=4)
    backend.put_vectors(IDX, make_records(10, dim=4))
    backend.put_vectors("other", make_records(10, dim=4))
    token = backend.list_vectors(IDX, max_results=3).next_token
    assert token is not None
    for bad in ["garbage", "!!!not base64!!!", token[::-1], token[: len(token) // 2], "eyJ9", "e30="]:
        with pytest.raises(ValidationError) as info:
            backend.list_vectors(IDX, max_results=3, next_token=bad)
        assert info.value.field == "next_token"
    with pytest.raises(ValidationError):  # a token of another index
        backend.list_vectors("other", max_results=3, next_token=token)
    seg_token = backend.list_vectors(IDX, max_results=1, segment_count=2, segment_index=0).next_token
    assert seg_token is not None
    with pytest.raises(ValidationError):  # a token of another segment
        backend.list_vectors(IDX, max_results=1, next_token=seg_token, segment_count=2, segment_index=1)
    with pytest.raises(ValidationError):  # a segment token used for a whole listing
        backend.list_vectors(IDX, max_results=1, next_token=seg_token)


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"max_results": 0}, id="max_results-0"),
        pytest.param({"max_results": 1001}, id="max_results-1001"),
        pytest.param({"segment_count": 0, "segment_index": 0}, id="segment_count-0"),
        pytest.param({"segment_count": 17, "segment_index": 0}, id="segment_count-17"),
        pytest.param({"segment_count": 4, "segment_index": 4}, id="segment_index-out-of-range"),
        pytest.param({"segment_count": 4, "segment_index": -1}, id="segment_index-negative"),
        pytest.param({"segment_count": 4}, id="segment_count-alone"),
        pytest.param({"segment_index": 0}, id="segment_index-alone"),
    ],
)
def test_list_vectors_rejects_bad_paging(backend: VectorBackend, kwargs: dict[str, Any]) -> None:
    backend.create_index(IDX, dimension=4)
    with pytest.raises(ValidationError) as info:
        backend.list_vectors(IDX, **kwargs)
    assert info.value.field


def test_list_vectors_accepts_the_page_bounds(backend: VectorBackend) -> None:
    backend.create_index(IDX, dimension=4)
    put_all(backend, IDX, make_records(1001, dim=4))
    page = backend.list_vectors(IDX, max_results=1000)
    assert len(page.records) == 1000 and page.next_token is not None
    rest = backend.list_vectors(IDX, max_results=1, next_token=page.next_token)
    assert len(rest.records) == 1 and rest.next_token is None


# --------------------------------------------------------------------------- query_vectors


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_query_is_the_exact_top_k(backend: VectorBackend, metric: str) -> None:
    backend.create_index(IDX, dimension=16, distance_metric=metric)  # type: ignore[arg-type]
    records = make_records(400, dim=16, seed=3)
    put_all(backend, IDX, records)
    vectors = {r.key: np.asarray(r.vector) for r in records}
    queries = rand_vectors(6, 16, seed=99)
    tol = 1e-4
    for q in queries:
        truth = brute_force(vectors, q, metric)
        for k in (1, 7, 100):
            matches = backend.query_vectors(IDX, q, top_k=k)
            assert_exact_top_k(matches, truth, k, tol=tol)
    # A stored vector finds itself first, at distance 0.
    for record in records[:5]:
        (first, *_) = backend.query_vectors(IDX, record.vector, top_k=3)
        assert first.key == record.key
        assert first.distance == pytest.approx(0.0, abs=1e-3)


def test_cosine_distance_is_one_minus_cosine_similarity(backend: VectorBackend) -> None:
    backend.create_index(IDX, dimension=2, distance_metric="cosine")
    backend.put_vectors(
        IDX,
        [
            MemoryRecord("same", [2.0, 0.0]),  # scale does not matter
            MemoryRecord("orthogonal", [0.0, 5.0]),
            MemoryRecord("opposite", [-1.0, 0.0]),
            MemoryRecord("diagonal", [1.0, 1.0]),
        ],
    )
    got = {m.key: m.distance for m in backend.query_vectors(IDX, [1.0, 0.0], top_k=10)}
    assert got == pytest.approx({"same": 0.0, "diagonal": 1 - 2**-0.5, "orthogonal": 1.0, "opposite": 2.0}, abs=1e-6)
    assert [m.key for m in backend.query_vectors(IDX, [1.0, 0.0], top_k=10)] == [
        "same",
        "diagonal",
        "orthogonal",
        "opposite",
    ]


def test_euclidean_distance_is_the_l2_norm(backend: VectorBackend) -> None:
    backend.create_index(IDX, dimension=2, distance_metric="euclidean")
    backend.put_vectors(
        IDX,
        [MemoryRecord("origin", [0.0, 0.0]), MemoryRecord("p34", [3.0, 4.0]), MemoryRecord("far", [-6.0, 8.0])],
    )
    matches = backend.query_vectors(IDX, [0.0, 0.0], top_k=3)  # a zero query is fine on euclidean
    assert [(m.key, m.distance) for m in matches] == [
        ("origin", pytest.approx(0.0, abs=1e-6)),
        ("p34", pytest.approx(5.0, rel=1e-6)),
        ("far", pytest.approx(10.0, rel=1e-6)),
    ]
    matches = backend.query_vectors(IDX, [3.0, 0.0], top_k=1)
    assert [(m.key, m.distance) for m in matches] == [("origin", pytest.approx(3.0, rel=1e-6))]


def test_euclidean_distances_stay_exact_far_from_the_origin(backend: VectorBackend) -> None:
    """Long vectors close together: |r|^2 - 2 r.q + |q|^2 alone would lose the difference."""
    backend.create_index(IDX, dimension=64, distance_metric="euclidean")
    rng = np.random.default_rng(8)
    vectors = (rng.normal(size=(200, 64)) + 100).astype(np.float32)
    backend.put_vectors(IDX, [MemoryRecord(f"k{i}", v) for i, v in enumerate(vectors)])
    for i in range(0, 200, 25):
        (itself,) = backend.query_vectors(IDX, vectors[i], top_k=1)
        assert itself.key == f"k{i}" and itself.distance == pytest.approx(0.0, abs=1e-3)
        near = vectors[i] + (rng.normal(size=64) * 0.01).astype(np.float32)
        (first,) = backend.query_vectors(IDX, near, top_k=1)
        truth = float(np.linalg.norm(vectors[i].astype(np.float64) - near.astype(np.float64)))
        assert first.key == f"k{i}" and first.distance == pytest.approx(truth, rel=1e-3)


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_top_k_larger_than_the_index_returns_everything_sorted(backend: VectorBackend, metric: str) -> None:
    backend.create_index(IDX, dimension=DIM, distance_metric=metric)  # type: ignore[arg-type]
    records = make_records(7)
    backend.put_vectors(IDX, records)
    q = rand_vectors(1, seed=5)[0]
    matches = backend.query_vectors(IDX, q, top_k=100)
    assert_exact_top_k(matches, brute_force({r.key: np.asarray(r.vector) for r in records}, q, metric), 100, tol=1e-4)
    assert len(matches) == 7


def test_query_on_an_empty_index_returns_nothing(backend: VectorBackend) -> None:
    backend.create_index(IDX, dimension=DIM)
    assert backend.query_vectors(IDX, np.ones(DIM), top_k=10) == []
    assert backend.query_vectors(IDX, np.ones(DIM), top_k=10, filter={"a": 1}) == []


def test_query_returns_metadata_and_distance_unless_told_not_to(backend: VectorBackend) -> None:
    backend.create_index(IDX, dimension=DIM)
    records = make_records(3)
    backend.put_vectors(IDX, records)
    (match,) = backend.query_vectors(IDX, records[2].vector, top_k=1)
    assert match.key == "k2" and dict(match.metadata or {}) == {"i": 2, "parity": 0}
    assert match.distance is not None
    (bare,) = backend.query_vectors(IDX, records[2].vector, top_k=1, return_metadata=False, return_distance=False)
    assert bare.key == "k2" and bare.metadata is None and bare.distance is None


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_query_filter_selects_then_ranks(backend: VectorBackend, metric: str) -> None:
    backend.create_index(IDX, dimension=DIM, distance_metric=metric, non_filterable_keys=["content"])  # type: ignore[arg-type]
    vectors = rand_vectors(300, seed=11)
    colours = ["red", "green", "blue"]
    records = [
        MemoryRecord(
            f"k{i}",
            vectors[i],
            {"colour": colours[i % 3], "n": i, "tags": [f"t{i % 5}", f"u{i % 7}"], "content": f"text {i}"},
        )
        for i in range(300)
    ]
    put_all(backend, IDX, records)
    metadata = {r.key: dict(r.metadata or {}) for r in records}
    all_vectors = {r.key: np.asarray(r.vector) for r in records}
    q = rand_vectors(1, seed=12)[0]
    filters: list[tuple[dict[str, Any], Callable[[dict[str, Any]], bool]]] = [
        ({"colour": "red"}, lambda m: m["colour"] == "red"),
        ({"colour": {"$ne": "red"}, "n": {"$lt": 150}}, lambda m: m["colour"] != "red" and m["n"] < 150),
        ({"$or": [{"n": {"$gte": 290}}, {"tags": "t3"}]}, lambda m: m["n"] >= 290 or "t3" in m["tags"]),
        (
            {"tags": {"$in": ["u0", "u1"]}, "colour": {"$nin": ["blue"]}},
            lambda m: bool({"u0", "u1"} & set(m["tags"])) and m["colour"] != "blue",
        ),
        ({"n": {"$gt": 10, "$lte": 12}}, lambda m: 10 < m["n"] <= 12),
        ({"missing": {"$exists": False}}, lambda m: True),
        ({"missing": {"$exists": True}}, lambda m: False),
        ({"colour": "purple"}, lambda m: False),
    ]
    for document, predicate in filters:
        allowed = {k: v for k, v in all_vectors.items() if predicate(metadata[k])}
        matches = backend.query_vectors(IDX, q, top_k=50, filter=document)
        assert {m.key for m in matches} <= set(allowed), document
        assert_exact_top_k(matches, brute_force(allowed, q, metric), 50, tol=1e-4)
        for m in matches:
            assert dict(m.metadata or {}) == metadata[m.key]


def test_query_filter_on_a_non_filterable_key_is_a_filter_error(backend: VectorBackend) -> None:
    backend.create_index(IDX, dimension=DIM, non_filterable_keys=["content"])
    backend.put_vectors(IDX, [MemoryRecord("k", np.ones(DIM), {"content": "x"})])
    with pytest.raises(FilterError):
        backend.query_vectors(IDX, np.ones(DIM), top_k=1, filter={"content": "x"})


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_query_reads_its_own_writes(backend: VectorBackend, metric: str) -> None:
    backend.create_index(IDX, dimension=DIM, distance_metric=metric)  # type: ignore[arg-type]
    records = make_records(50)
    backend.put_vectors(IDX, records)
    target = rand_vectors(1, seed=77)[0] * 10
    before = backend.query_vectors(IDX, target, top_k=5)  # warm any cache
    assert "new" not in {m.key for m in before}

    backend.put_vectors(IDX, [MemoryRecord("new", target, {"fresh": True})])
    first = backend.query_vectors(IDX, target, top_k=5)[0]
    assert first.key == "new" and dict(first.metadata or {}) == {"fresh": True}
    assert [m.key for m in backend.query_vectors(IDX, target, top_k=5, filter={"fresh": True})] == ["new"]

    backend.delete_vectors(IDX, ["new"])
    after = backend.query_vectors(IDX, target, top_k=100)
    assert "new" not in {m.key for m in after}
    assert [m.key for m in after[:5]] == [m.key for m in before]
    assert backend.query_vectors(IDX, target, top_k=5, filter={"fresh": True}) == []


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_an_overwritten_vector_is_found_at_its_new_position(backend: VectorBackend, metric: str) -> None:
    backend.create_index(IDX, dimension=DIM, distance_metric=metric)  # type: ignore[arg-type]
    records = make_records(60)
    backend.put_vectors(IDX, records)
    old = np.asarray(records[10].vector)
    assert backend.query_vectors(IDX, old, top_k=1)[0].key == "k10"
    new = rand_vectors(1, seed=123)[0] * 3
    backend.put_vectors(IDX, [MemoryRecord("k10", new, {"moved": True})])
    (first,) = backend.query_vectors(IDX, new, top_k=1)
    assert first.key == "k10" and dict(first.metadata or {}) == {"moved": True}
    assert first.distance == pytest.approx(0.0, abs=1e-3)
    # At its old place it is now just another record, ranked by its new vector.
    vectors = {r.key: np.asarray(r.vector) for r in records} | {"k10": new}
    assert_exact_top_k(backend.query_vectors(IDX, old, top_k=20), brute_force(vectors, old, metric), 20, tol=1e-4)
    assert len(backend.query_vectors(IDX, old, top_k=100)) == 60


# --------------------------------------------------------------------------- delete


def test_delete_removes_present_keys_and_ignores_absent_ones(backend: VectorBackend, records_of: RecordsOf) -> None:
    backend.create_index(IDX, dimension=DIM)
    backend.put_vectors(IDX, make_records(10))
    backend.delete_vectors(IDX, ["k1", "never-existed", "k3", "k3"])
    backend.delete_vectors(IDX, ["ghost"])  # nothing to delete is fine
    assert keys_of(backend, IDX, records_of) == {f"k{i}" for i in range(10)} - {"k1", "k3"}
    assert backend.get_vectors(IDX, ["k1", "k3", "k2"])[0].key == "k2"
    q = np.asarray(make_records(10)[1].vector)
    assert "k1" not in {m.key for m in backend.query_vectors(IDX, q, top_k=100)}
    # A deleted key can be written again.
    backend.put_vectors(IDX, [MemoryRecord("k1", q, {"again": 1})])
    assert backend.query_vectors(IDX, q, top_k=1)[0].key == "k1"


# --------------------------------------------------------------------------- limits, all or nothing


GOOD = [MemoryRecord(f"good{i}", [float(i + 1), 1.0, 0.5, -1.0]) for i in range(3)]


def assert_batch_rejected(
    backend: VectorBackend,
    snapshot_of: SnapshotOf,
    bad: MemoryRecord,
    error: type[VectorMemoryError] = ValidationError,
    *,
    index: str = IDX,
) -> ValidationError:
    """3 good records, an overwrite of an existing one and ``bad``: the call fails, nothing changes."""
    before = snapshot_of(backend, index)
    assert "existing" in before
    overwrite = MemoryRecord("existing", [9.0, 9.0, 9.0, 9.0], {"overwritten": True})
    for position in (0, 2, 4):
        batch = [*GOOD[:2], overwrite, GOOD[2]]
        batch.insert(position, bad)
        with pytest.raises(error) as info:
            backend.put_vectors(index, batch)
        assert snapshot_of(backend, index) == before, "a rejected batch left something behind"
    assert backend.get_vectors(index, [r.key for r in GOOD]) == []
    assert isinstance(info.value, ValidationError)
    assert info.value.field, "the error names the offending field"
    return info.value


@pytest.fixture
def limits_index(backend: VectorBackend) -> VectorBackend:
    backend.create_index(IDX, dimension=4, non_filterable_keys=["content"])
    backend.put_vectors(IDX, [MemoryRecord("existing", [1.0, 2.0, 3.0, 4.0], {"v": 1, "content": "hello"})])
    return backend


def test_key_length_bounds(limits_index: VectorBackend, snapshot_of: SnapshotOf) -> None:
    store = limits_index
    store.put_vectors(IDX, [MemoryRecord("a", [1, 1, 1, 1]), MemoryRecord("b" * 1024, [1, 1, 1, 1])])
    assert [r.key for r in store.get_vectors(IDX, ["a", "b" * 1024])] == ["a", "b" * 1024]
    for bad_key in ["", "c" * 1025]:
        error = assert_batch_rejected(store, snapshot_of, MemoryRecord(bad_key, [1, 1, 1, 1]))
        assert "key" in str(error.field)
        with pytest.raises(ValidationError):
            store.get_vectors(IDX, [bad_key])
        with pytest.raises(ValidationError):
            store.delete_vectors(IDX, ["existing", bad_key])
        assert store.get_vectors(IDX, ["existing"])  # the valid key of that delete survived


def test_more_than_500_per_put_is_rejected(limits_index: VectorBackend, snapshot_of: SnapshotOf) -> None:
    before = snapshot_of(limits_index, IDX)
    batch = [MemoryRecord(f"n{i}", [1, 2, 3, float(i)]) for i in range(501)]
    with pytest.raises(ValidationError) as info:
        limits_index.put_vectors(IDX, batch)
    assert "500" in str(info.value)
    assert snapshot_of(limits_index, IDX) == before
    with pytest.raises(ValidationError):
        limits_index.put_vectors(IDX, [])
    assert snapshot_of(limits_index, IDX) == before


def test_more_than_100_per_get_is_rejected(limits_index: VectorBackend) -> None:
    limits_index.get_vectors(IDX, [f"n{i}" for i in range(100)])
    with pytest.raises(ValidationError) as info:
        limits_index.get_vectors(IDX, [f"n{i}" for i in range(101)])
    assert "100" in str(info.value)
    with pytest.raises(ValidationError):
        limits_index.get_vectors(IDX, [])


def test_more_than_500_per_delete_is_rejected(limits_index: VectorBackend, snapshot_of: SnapshotOf) -> None:
    before = snapshot_of(limits_index, IDX)
    with pytest.raises(ValidationError) as info:
        limits_index.delete_vectors(IDX, ["existing", *(f"n{i}" for i in range(500))])
    assert "500" in str(info.value)
    assert snapshot_of(limits_index, IDX) == before  # "existing" was not deleted
    with pytest.raises(ValidationError):
        limits_index.delete_vectors(IDX, [])
    assert snapshot_of(limits_index, IDX) == before


@pytest.mark.parametrize("top_k", [0, 101, -1])
def test_top_k_out_of_range_is_rejected(limits_index: VectorBackend, top_k: int) -> None:
    with pytest.raises(ValidationError) as info:
        limits_index.query_vectors(IDX, [1, 1, 1, 1], top_k=top_k)
    assert info.value.field == "top_k"


def test_top_k_bounds_are_accepted(limits_index: VectorBackend) -> None:
    assert len(limits_index.query_vectors(IDX, [1, 1, 1, 1], top_k=1)) == 1
    assert len(limits_index.query_vectors(IDX, [1, 1, 1, 1], top_k=100)) == 1


def test_metadata_key_count(limits_index: VectorBackend, snapshot_of: SnapshotOf) -> None:
    fifty = {f"m{i}": i for i in range(50)}
    limits_index.put_vectors(IDX, [MemoryRecord("fifty", [1, 1, 1, 1], fifty)])
    assert dict(limits_index.get_vectors(IDX, ["fifty"])[0].metadata or {}) == fifty
    error = assert_batch_rejected(
        limits_index, snapshot_of, MemoryRecord("fifty-one", [1, 1, 1, 1], {**fifty, "m50": 50})
    )
    assert "50" in str(error)


def test_filterable_metadata_is_limited_to_2_kb(limits_index: VectorBackend, snapshot_of: SnapshotOf) -> None:
    store = limits_index
    store.put_vectors(IDX, [MemoryRecord("small", [1, 1, 1, 1], {"text": "x" * 1900})])
    error = assert_batch_rejected(store, snapshot_of, MemoryRecord("big", [1, 1, 1, 1], {"text": "x" * 2100}))
    assert "2048" in str(error) or "2 KB" in str(error) or "filterable" in str(error)
    # Bytes, not characters: 1100 two-byte characters are over 2 KB.
    assert_batch_rejected(store, snapshot_of, MemoryRecord("wide", [1, 1, 1, 1], {"text": "é" * 1100}))
    # Many small filterable values add up.
    assert_batch_rejected(
        store, snapshot_of, MemoryRecord("many", [1, 1, 1, 1], {f"t{i}": "y" * 100 for i in range(25)})
    )


def test_non_filterable_text_may_use_the_40_kb_total(limits_index: VectorBackend, snapshot_of: SnapshotOf) -> None:
    store = limits_index
    text = "x" * 38_500  # with the 1.9 KB filterable part, just under 40 KB in all
    store.put_vectors(IDX, [MemoryRecord("long", [1, 1, 1, 1], {"content": text, "text": "y" * 1900})])
    (record,) = store.get_vectors(IDX, ["long"])
    assert dict(record.metadata or {})["content"] == text
    # The same text under a filterable key is over the 2 KB filterable budget.
    assert_batch_rejected(store, snapshot_of, MemoryRecord("long-filterable", [1, 1, 1, 1], {"text": text}))
    # Over 40 KB in total is rejected even when non-filterable.
    error = assert_batch_rejected(store, snapshot_of, MemoryRecord("huge", [1, 1, 1, 1], {"content": "x" * 41_500}))
    assert "40960" in str(error) or "40 KB" in str(error) or "total" in str(error)


def test_vectors_must_be_finite_and_of_the_right_dimension(
    limits_index: VectorBackend, snapshot_of: SnapshotOf
) -> None:
    store = limits_index
    for bad_vector in (
        [1.0, float("nan"), 1.0, 1.0],
        [1.0, float("inf"), 1.0, 1.0],
        [float("-inf"), 1.0, 1.0, 1.0],
        [0.0, 0.0, 0.0, 0.0],  # cosine cannot score a zero vector
        [1.0, 1.0, 1.0],
        [1.0, 1.0, 1.0, 1.0, 1.0],
    ):
        error = assert_batch_rejected(store, snapshot_of, MemoryRecord("bad", bad_vector))
        assert "vector" in str(error.field)
        with pytest.raises(ValidationError):
            store.query_vectors(IDX, bad_vector, top_k=1)


def test_zero_vectors_are_fine_on_euclidean(backend: VectorBackend) -> None:
    backend.create_index(IDX, dimension=3, distance_metric="euclidean")
    backend.put_vectors(IDX, [MemoryRecord("zero", [0.0, 0.0, 0.0]), MemoryRecord("one", [1.0, 0.0, 0.0])])
    matches = backend.query_vectors(IDX, [0.0, 0.0, 0.0], top_k=2)
    assert [m.key for m in matches] == ["zero", "one"]
    with pytest.raises(ValidationError):
        backend.put_vectors(IDX, [MemoryRecord("nan", [0.0, float("nan"), 0.0])])


def test_metadata_round_trips_through_json_exactly(backend: VectorBackend) -> None:
    """What was measured is what is stored: a filter finds a record by every value it holds."""
    backend.create_index(IDX, dimension=2)
    metadata = {"s": 'a"b\\c\n\u00e9\u4e2d\U0001f600', "big": 2**53, "small": -(2**53), "f": 0.1, "z": 0.0}
    backend.put_vectors(IDX, [MemoryRecord("k", [1.0, 0.0], metadata)])
    assert dict(backend.get_vectors(IDX, ["k"])[0].metadata or {}) == metadata
    for key, value in metadata.items():
        assert [m.key for m in backend.query_vectors(IDX, [1.0, 0.0], top_k=1, filter={key: value})] == ["k"]
    assert json.loads(json.dumps(metadata)) == metadata
