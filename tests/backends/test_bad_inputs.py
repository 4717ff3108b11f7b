"""Bad inputs, one row each: the right error type, a message naming the field, nothing stored.

Every row runs on every backend of ``conftest.BACKEND_FACTORIES`` against the same seeded
index. A row names the operation, the exception it must raise (``ValidationError`` or
its subclass ``FilterError``; both are ``VectorMemoryError``), a substring of the
error's ``field`` and a substring of its message. After the call the index holds exactly
what it held before and no index appeared or vanished.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from strands_vector_memory.backends import VectorBackend
from strands_vector_memory.core import FilterError, MemoryRecord, ValidationError, VectorMemoryError

IDX = "idx"
DIM = 4
V = [0.5, -1.0, 2.0, 0.25]
NON_FILTERABLE = ["content", "notes"]


@dataclass(frozen=True)
class Bad:
    """One bad request and what the backend must say about it."""

    call: Callable[[VectorBackend], object]
    error: type[ValidationError]
    field: str  # a substring of exc.field
    message: str  # a substring of str(exc), compared case-insensitively


def rec(key: str = "new", vector: Any = V, metadata: Any = None) -> MemoryRecord:
    return MemoryRecord(key, vector, metadata)


def put(bad: MemoryRecord) -> Callable[[VectorBackend], object]:
    """A batch of three good new records, an overwrite of a stored one, and ``bad``."""
    batch = [
        rec("good-1"),
        rec("good-2"),
        rec("seed-0", [9.0, 9.0, 9.0, 9.0], {"overwritten": True}),
        bad,
        rec("good-3"),
    ]
    return lambda b: b.put_vectors(IDX, batch)


def query(*, vector: Any = V, top_k: Any = 5, filter: Any = None) -> Callable[[VectorBackend], object]:
    return lambda b: b.query_vectors(IDX, vector, top_k=top_k, filter=filter)


def where(document: Any) -> Callable[[VectorBackend], object]:
    return query(filter=document)


def create(name: Any = "fresh", **kwargs: Any) -> Callable[[VectorBackend], object]:
    kwargs.setdefault("dimension", DIM)
    return lambda b: b.create_index(name, **kwargs)


def case(
    id: str, call: Callable[[VectorBackend], object], error: type[ValidationError], field: str, message: str
) -> Any:
    return pytest.param(Bad(call, error, field, message), id=id)


VE, FE = ValidationError, FilterError
FIFTY_ONE = {f"m{i}": i for i in range(51)}

CASES = [
    # ---- index configuration
    case("index-name-too-short", create("ab"), VE, "index_name", "3-63"),
    case("index-name-too-long", create("a" * 64), VE, "index_name", "3-63"),
    case("index-name-uppercase", create("MyIndex"), VE, "index_name", "lowercase"),
    case("index-name-underscore", create("my_index"), VE, "index_name", "index name"),
    case("index-name-leading-hyphen", create("-index"), VE, "index_name", "index name"),
    case("index-name-trailing-dot", create("index."), VE, "index_name", "index name"),
    case("index-name-empty", create(""), VE, "index_name", "index name"),
    case("index-name-not-a-string", create(123), VE, "index_name", "index name"),
    case("index-name-on-put", lambda b: b.put_vectors("Bad_Name", [rec()]), VE, "index_name", "index name"),
    case("dimension-0", create(dimension=0), VE, "dimension", "4096"),
    case("dimension-4097", create(dimension=4097), VE, "dimension", "4096"),
    case("dimension-bool", create(dimension=True), VE, "dimension", "integer"),
    case("dimension-float", create(dimension=4.0), VE, "dimension", "integer"),
    case("metric-unknown", create(distance_metric="dot"), VE, "distance_metric", "cosine"),
    case(
        "non-filterable-11-keys", create(non_filterable_keys=[f"k{i}" for i in range(11)]), VE, "non_filterable", "10"
    ),
    case("non-filterable-one-string", create(non_filterable_keys="content"), VE, "non_filterable", "list"),
    case("non-filterable-surrogate", create(non_filterable_keys=["\ud800"]), VE, "non_filterable_keys", "utf-8"),
    case("non-filterable-empty-name", create(non_filterable_keys=[""]), VE, "non_filterable_keys", "1-63"),
    case("non-filterable-dollar-name", create(non_filterable_keys=["$text"]), VE, "non_filterable_keys", "$"),
    # ---- vector keys
    case("key-empty-on-put", put(rec("")), VE, "key", "1-1024"),
    case("key-1025-on-put", put(rec("k" * 1025)), VE, "key", "1-1024"),
    case("key-surrogate-on-put", put(rec("bad\ud800key")), VE, "key", "utf-8"),
    case("key-not-a-string", put(rec(42)), VE, "key", "string"),  # type: ignore[arg-type]
    case("key-twice-in-one-batch", put(rec("good-1")), VE, "key", "twice"),
    case("key-empty-on-get", lambda b: b.get_vectors(IDX, ["seed-0", ""]), VE, "key", "1-1024"),
    case("key-surrogate-on-get", lambda b: b.get_vectors(IDX, ["\udfff"]), VE, "key", "utf-8"),
    case("key-1025-on-delete", lambda b: b.delete_vectors(IDX, ["seed-0", "k" * 1025]), VE, "key", "1-1024"),
    case("key-surrogate-on-delete", lambda b: b.delete_vectors(IDX, ["seed-1", "\ud800"]), VE, "key", "utf-8"),
    case("keys-one-string-on-delete", lambda b: b.delete_vectors(IDX, "seed-0"), VE, "keys", "list"),
    # ---- batch sizes
    case("put-501", lambda b: b.put_vectors(IDX, [rec(f"n{i}") for i in range(501)]), VE, "put_vectors", "500"),
    case("put-0", lambda b: b.put_vectors(IDX, []), VE, "put_vectors", "1-500"),
    case(
        "put-not-a-record",
        lambda b: b.put_vectors(IDX, [rec("good-1"), {"key": "x"}]),
        VE,
        "records[1]",
        "memoryrecord",
    ),
    case("get-101", lambda b: b.get_vectors(IDX, [f"n{i}" for i in range(101)]), VE, "get_vectors", "100"),
    case("get-0", lambda b: b.get_vectors(IDX, []), VE, "get_vectors", "1-100"),
    case(
        "delete-501",
        lambda b: b.delete_vectors(IDX, ["seed-0", *(f"n{i}" for i in range(500))]),
        VE,
        "delete_vectors",
        "500",
    ),
    case("delete-0", lambda b: b.delete_vectors(IDX, []), VE, "delete_vectors", "1-500"),
    # ---- vectors
    case("vector-wrong-dimension", put(rec(vector=[1.0, 2.0, 3.0])), VE, "records[3].vector", "dimension"),
    case("vector-too-long", put(rec(vector=[1.0] * 5)), VE, "records[3].vector", "dimension"),
    case("vector-nan", put(rec(vector=[1.0, float("nan"), 1.0, 1.0])), VE, "records[3].vector", "nan"),
    case("vector-inf", put(rec(vector=[1.0, 1.0, float("inf"), 1.0])), VE, "records[3].vector", "infinity"),
    case("vector-minus-inf", put(rec(vector=np.array([-np.inf, 1, 1, 1]))), VE, "records[3].vector", "infinity"),
    case("vector-beyond-float32", put(rec(vector=[1e39, 1.0, 1.0, 1.0])), VE, "records[3].vector", "float32"),
    case("vector-huge-int", put(rec(vector=[10**400, 1, 1, 1])), VE, "records[3].vector", "number"),
    case("vector-zero-on-cosine", put(rec(vector=[0.0, 0.0, 0.0, 0.0])), VE, "records[3].vector", "zero"),
    case("vector-missing", put(rec(vector=None)), VE, "records[3].vector", "no vector"),
    case("vector-of-strings", put(rec(vector=["a", "b", "c", "d"])), VE, "records[3].vector", "number"),
    case("vector-nested", put(rec(vector=[[1.0, 2.0, 3.0, 4.0]])), VE, "records[3].vector", "dimension"),
    case("query-wrong-dimension", query(vector=[1.0, 2.0]), VE, "query vector", "dimension"),
    case("query-nan", query(vector=[float("nan"), 1.0, 1.0, 1.0]), VE, "query vector", "nan"),
    case("query-inf", query(vector=[1.0, float("inf"), 1.0, 1.0]), VE, "query vector", "infinity"),
    case("query-zero-on-cosine", query(vector=[0.0] * 4), VE, "query vector", "zero"),
    # ---- metadata
    case("metadata-filterable-over-2kb", put(rec(metadata={"text": "x" * 2100})), VE, "records[3].metadata", "2048"),
    case(
        "metadata-filterable-2kb-in-bytes", put(rec(metadata={"t": "€" * 700})), VE, "records[3].metadata", "filterable"
    ),
    case("metadata-total-over-40kb", put(rec(metadata={"content": "x" * 41_000})), VE, "records[3].metadata", "40960"),
    case(
        "metadata-total-over-40kb-split",
        put(rec(metadata={"content": "x" * 20_500, "notes": "y" * 20_500})),
        VE,
        "records[3].metadata",
        "in total",
    ),
    case("metadata-51-keys", put(rec(metadata=FIFTY_ONE)), VE, "records[3].metadata", "50"),
    case("metadata-dict-value", put(rec(metadata={"d": {"a": 1}})), VE, "records[3].metadata.d", "dict"),
    case("metadata-nested-list", put(rec(metadata={"l": [1, [2]]})), VE, "records[3].metadata.l", "list"),
    case("metadata-none-value", put(rec(metadata={"n": None})), VE, "records[3].metadata.n", "nonetype"),
    case("metadata-numpy-array", put(rec(metadata={"a": np.arange(3)})), VE, "records[3].metadata.a", "ndarray"),
    case("metadata-bytes", put(rec(metadata={"b": b"raw"})), VE, "records[3].metadata.b", "bytes"),
    case("metadata-nan", put(rec(metadata={"x": float("nan")})), VE, "records[3].metadata.x", "finite"),
    case("metadata-inf-in-list", put(rec(metadata={"x": [1.0, float("inf")]})), VE, "records[3].metadata.x", "finite"),
    case("metadata-int-beyond-2-53", put(rec(metadata={"x": 2**53 + 1})), VE, "records[3].metadata.x", "2**53"),
    case("metadata-value-surrogate", put(rec(metadata={"s": "ok\ud800"})), VE, "records[3].metadata.s", "utf-8"),
    case("metadata-list-surrogate", put(rec(metadata={"s": ["ok", "\udc80"]})), VE, "records[3].metadata.s", "utf-8"),
    case("metadata-key-surrogate", put(rec(metadata={"k\ud800": 1})), VE, "records[3].metadata", "utf-8"),
    case("metadata-key-empty", put(rec(metadata={"": 1})), VE, "records[3].metadata", "1-63"),
    case("metadata-key-64-chars", put(rec(metadata={"k" * 64: 1})), VE, "records[3].metadata", "1-63"),
    case("metadata-key-dollar", put(rec(metadata={"$eq": 1})), VE, "records[3].metadata", "$"),
    case("metadata-key-not-a-string", put(rec(metadata={1: "x"})), VE, "records[3].metadata", "string"),
    case("metadata-not-a-mapping", put(rec(metadata=[("a", 1)])), VE, "records[3].metadata", "mapping"),
    # ---- filters
    case("filter-unknown-operator", where({"a": {"$regex": "x"}}), FE, "filter.a", "unknown operator"),
    case("filter-not", where({"$not": {"a": 1}}), FE, "filter", "$not"),
    case("filter-not-on-field", where({"a": {"$not": {"$eq": 1}}}), FE, "filter.a", "$not"),
    case("filter-nor", where({"$nor": [{"a": 1}]}), FE, "filter", "$nor"),
    case("filter-range-on-string", where({"a": {"$gt": "b"}}), FE, "filter.a.$gt", "numbers only"),
    case("filter-range-on-bool", where({"a": {"$lte": True}}), FE, "filter.a.$lte", "numbers only"),
    case("filter-range-nan", where({"a": {"$lt": float("nan")}}), FE, "filter.a.$lt", "finite"),
    case("filter-in-empty", where({"a": {"$in": []}}), FE, "filter.a.$in", "non-empty array"),
    case("filter-in-not-a-list", where({"a": {"$in": "abc"}}), FE, "filter.a.$in", "array"),
    case("filter-nin-empty", where({"a": {"$nin": []}}), FE, "filter.a.$nin", "non-empty array"),
    case("filter-in-holds-object", where({"a": {"$in": [1, {"b": 2}]}}), FE, "filter.a.$in", "dict"),
    case("filter-exists-string", where({"a": {"$exists": "yes"}}), FE, "filter.a.$exists", "true or false"),
    case("filter-exists-int", where({"a": {"$exists": 1}}), FE, "filter.a.$exists", "true or false"),
    case("filter-non-filterable-key", where({"content": "x"}), FE, "filter.content", "non-filterable"),
    case(
        "filter-non-filterable-nested",
        where({"$or": [{"a": 1}, {"notes": {"$exists": True}}]}),
        FE,
        "notes",
        "non-filterable",
    ),
    case("filter-and-not-a-list", where({"$and": {"a": 1}}), FE, "filter.$and", "array"),
    case("filter-or-empty", where({"$or": []}), FE, "filter.$or", "non-empty"),
    case("filter-or-holds-non-object", where({"$or": [{"a": 1}, "b"]}), FE, "filter.$or[1]", "object"),
    case("filter-or-holds-empty-object", where({"$or": [{}]}), FE, "filter.$or[0]", "empty"),
    case("filter-eq-list", where({"a": {"$eq": [1, 2]}}), FE, "filter.a.$eq", "$in"),
    case("filter-implicit-eq-list", where({"a": [1, 2]}), FE, "filter.a", "$in"),
    case("filter-eq-null", where({"a": None}), FE, "filter.a", "nonetype"),
    case("filter-ne-object-operand-not-an-operator", where({"a": {"b": 1}}), FE, "filter.a", "unknown operator"),
    case("filter-empty-operator-object", where({"a": {}}), FE, "filter.a", "empty"),
    case("filter-not-an-object", where([{"a": 1}]), FE, "filter", "object"),
    case("filter-value-surrogate", where({"a": "x\ud800"}), FE, "filter.a", "utf-8"),
    case("filter-in-surrogate", where({"a": {"$in": ["ok", "\ud800"]}}), FE, "filter.a", "utf-8"),
    case("filter-key-surrogate", where({"\ud800": 1}), FE, "filter", "utf-8"),
    case("filter-int-beyond-2-53", where({"a": 2**53 + 1}), FE, "filter.a", "2**53"),
    # ---- top_k and paging
    case("top-k-0", query(top_k=0), VE, "top_k", "1..100"),
    case("top-k-101", query(top_k=101), VE, "top_k", "1..100"),
    case("top-k-bool", query(top_k=True), VE, "top_k", "integer"),
    case("top-k-float", query(top_k=5.0), VE, "top_k", "integer"),
    case("list-max-results-0", lambda b: b.list_vectors(IDX, max_results=0), VE, "max_results", "1..1000"),
    case("list-max-results-1001", lambda b: b.list_vectors(IDX, max_results=1001), VE, "max_results", "1..1000"),
    case("list-bad-token", lambda b: b.list_vectors(IDX, next_token="not-a-token"), VE, "next_token", "token"),
    case("list-token-not-a-string", lambda b: b.list_vectors(IDX, next_token=7), VE, "next_token", "string"),
    case(
        "list-segment-count-17",
        lambda b: b.list_vectors(IDX, segment_count=17, segment_index=0),
        VE,
        "segment_count",
        "1..16",
    ),
    case(
        "list-segment-index-out-of-range",
        lambda b: b.list_vectors(IDX, segment_count=2, segment_index=2),
        VE,
        "segment_index",
        "0..1",
    ),
]


@pytest.fixture
def seeded(backend: VectorBackend) -> VectorBackend:
    backend.create_index(IDX, dimension=DIM, non_filterable_keys=NON_FILTERABLE)
    seed = [
        MemoryRecord(f"seed-{i}", [float(i + 1), 1.0, -1.0, 0.5], {"a": i, "tag": ["x", "y"][i % 2], "content": "c"})
        for i in range(3)
    ]
    backend.put_vectors(IDX, seed)
    return backend


def test_the_table_is_large_and_unique() -> None:
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids)) >= 40


@pytest.mark.parametrize("bad", CASES)
def test_bad_input_is_rejected_and_stores_nothing(
    seeded: VectorBackend, bad: Bad, snapshot_of: Callable[[VectorBackend, str], dict[str, Any]]
) -> None:
    before = snapshot_of(seeded, IDX)
    indexes_before = [(i.name, i.dimension) for i in seeded.list_indexes()]

    with pytest.raises(VectorMemoryError) as info:
        bad.call(seeded)

    error = info.value
    assert type(error) is bad.error, f"expected {bad.error.__name__}, got {type(error).__name__}: {error}"
    assert isinstance(error, ValidationError) and isinstance(error, ValueError)
    assert error.field, "the error must name the offending field"
    assert bad.field in error.field, f"field {error.field!r} does not name {bad.field!r}"
    message = str(error)
    assert bad.message.lower() in message.lower(), f"message {message!r} does not mention {bad.message!r}"
    message.encode("utf-8")  # printable even when the input was not valid UTF-8

    assert snapshot_of(seeded, IDX) == before, "a rejected request changed the index"
    assert [(i.name, i.dimension) for i in seeded.list_indexes()] == indexes_before
