"""The SQL filter compiler agrees with the reference evaluator, through the real engine.

Each generated example writes up to 100 records with generated metadata into one real
embedded index (overwriting the previous example's records by key and deleting the
rest, so the metadata table sees inserts, overwrites and deletes), then runs several
generated filters through ``query_vectors`` with ``top_k=100``: the keys returned must
be exactly the keys whose metadata ``matches`` the filter. That exercises the parser,
the compiled SQL (predicate and driver), the compiled-filter cache, the schema and the
matrix cache together.

The vocabulary is small on purpose so that filters hit: few keys, values that collide
across types (1, 1.0, True, "1"; 0, -0.0, False, ""), lists including empty ones, and
missing keys; every filter also runs as its twin with booleans and 0/1 swapped. Run
size: ``EXAMPLES`` examples x ``FILTERS_PER_EXAMPLE`` filters x 2, checked at the end to
be at least 2,000 filter/record-set cases; derandomized and database-free so every run
checks the same cases.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from strands_vector_memory.backends import EmbeddedBackend
from strands_vector_memory.core import MemoryRecord, matches, parse_filter

EXAMPLES = 250
HYPOTHESIS_FILTERS = 3  # per example, from the shrinkable strategies below
RANDOM_FILTERS = 7  # per example, from a seeded generator: broad, uniform, deep
CASES_PER_EXAMPLE = 2 * (HYPOTHESIS_FILTERS + RANDOM_FILTERS)  # each filter also runs as its twin
MIN_CASES = 2_000
assert EXAMPLES * CASES_PER_EXAMPLE >= MIN_CASES

KEYS = ["a", "b", "tags"]
NON_FILTERABLE = ["content"]
NUMBERS = [0, 1, 2, -1, 0.0, -0.0, 1.0, 2.5, 2**53, float(2**53), 2**53 - 1]
TEXTS = ["x", "y", "", "1", "true", "é"]
BOOLS = [True, False]
HOT = ["x", 1, 1.0, True, 0, False, "1"]  # drawn more often, so equality filters hit and types collide
VOCABULARY = [*TEXTS, *NUMBERS, *BOOLS, *HOT, *HOT]
OPERATORS = ["$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$exists"]


# --------------------------------------------------------------------------- hypothesis strategies

scalars = st.sampled_from(VOCABULARY)
numbers = st.sampled_from(NUMBERS)
OPERANDS: dict[str, st.SearchStrategy[Any]] = {
    "$eq": scalars,
    "$ne": scalars,
    "$gt": numbers,
    "$gte": numbers,
    "$lt": numbers,
    "$lte": numbers,
    "$in": st.lists(scalars, min_size=1, max_size=4),
    "$nin": st.lists(scalars, min_size=1, max_size=4),
    "$exists": st.booleans(),
}
assert sorted(OPERANDS) == sorted(OPERATORS)


def one_operator() -> st.SearchStrategy[dict[str, Any]]:
    return st.sampled_from(OPERATORS).flatmap(lambda op: OPERANDS[op].map(lambda value: {op: value}))


def merged(parts: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for part in parts:
        out.update(part)
    return out


# The body of one key: a bare value (implicit $eq) or 1-2 operators (implicit $and).
field_bodies = st.one_of(scalars, st.lists(one_operator(), min_size=1, max_size=2).map(merged))
# An object of 1-2 keys: an implicit $and of field conditions.
field_objects = st.dictionaries(st.sampled_from(KEYS), field_bodies, min_size=1, max_size=2)


def filters(depth: int) -> st.SearchStrategy[dict[str, Any]]:
    """Filter documents whose $and/$or nesting is at most ``depth`` deep."""
    if depth == 0:
        return field_objects
    inner = filters(depth - 1)
    children = st.lists(inner, min_size=1, max_size=3)
    return st.one_of(
        field_objects,
        children.map(lambda c: {"$and": c}),
        children.map(lambda c: {"$or": c}),
        # logical and field keys side by side in one object
        st.tuples(field_objects, children, st.sampled_from(["$and", "$or"])).map(lambda t: {**t[0], t[2]: t[1]}),
    )


# --------------------------------------------------------------------------- seeded generators
# Hypothesis favours simple values, which is right for shrinking but leaves most generated
# filters tiny and most record sets small. Records, and most filters, therefore come from
# a Random seeded by Hypothesis: uniform over the vocabulary, the operators and the depth.


def random_value(rng: random.Random) -> Any:
    if rng.random() < 0.6:
        return rng.choice(VOCABULARY)
    return [rng.choice(VOCABULARY) for _ in range(rng.randint(0, 3))]  # lists, empty ones included


def random_records(rng: random.Random) -> list[dict[str, Any]]:
    records = []
    for _ in range(rng.randint(60, 100)):
        record = {key: random_value(rng) for key in KEYS if rng.random() < 0.7}  # keys go missing too
        if rng.random() < 0.3:
            record["content"] = rng.choice(TEXTS)  # non-filterable: stored, never indexed
        records.append(record)
    return records


def random_operand(rng: random.Random, op: str) -> Any:
    if op in ("$eq", "$ne"):
        return rng.choice(VOCABULARY)
    if op in ("$in", "$nin"):
        return [rng.choice(VOCABULARY) for _ in range(rng.randint(1, 4))]
    if op == "$exists":
        return rng.random() < 0.5
    return rng.choice(NUMBERS)


def random_object(rng: random.Random) -> dict[str, Any]:
    document: dict[str, Any] = {}
    for key in rng.sample(KEYS, 1 if rng.random() < 0.7 else 2):
        if rng.random() < 0.25:
            document[key] = rng.choice(VOCABULARY)
        else:
            ops = rng.sample(OPERATORS, 1 if rng.random() < 0.7 else 2)
            document[key] = {op: random_operand(rng, op) for op in ops}
    return document


def random_filter(rng: random.Random, depth: int) -> dict[str, Any]:
    shape = rng.choice(["object", "$and", "$or", "mixed"]) if depth else "object"
    if shape == "object":
        return random_object(rng)
    children = [random_filter(rng, depth - 1) for _ in range(rng.randint(1, 3))]
    if shape == "mixed":
        return {**random_object(rng), rng.choice(["$and", "$or"]): children}
    return {shape: children}


# --------------------------------------------------------------------------- twins

_SWAP = {True: 1, False: 0}
_UNSWAP = {1: True, 0: False}


def swap(value: Any) -> Any:
    if isinstance(value, bool):
        return _SWAP[value]
    if type(value) is int and value in _UNSWAP:
        return _UNSWAP[value]
    return value


def twin(document: dict[str, Any]) -> dict[str, Any]:
    """The same filter with booleans and the integers 0/1 swapped in equality operands.

    Python holds ``True == 1`` and ``hash(True) == hash(1)``, so a twin is *equal* to its
    original as a parsed tree while meaning something else: running both catches any
    cache or comparison that forgets the difference. Range and ``$exists`` operands stay.
    """
    out: dict[str, Any] = {}
    for key, value in document.items():
        if key in ("$and", "$or"):
            out[key] = [twin(child) for child in value]
        elif key in ("$eq", "$ne"):
            out[key] = swap(value)
        elif key in ("$in", "$nin"):
            out[key] = [swap(item) for item in value]
        elif key.startswith("$"):
            out[key] = value
        else:
            out[key] = twin(value) if isinstance(value, dict) else swap(value)
    return out


# --------------------------------------------------------------------------- the property


@pytest.mark.slow
def test_sql_filter_matches_the_reference_evaluator(tmp_path: Path) -> None:
    backend = EmbeddedBackend(tmp_path / "bucket")
    backend.create_index("props", dimension=2, non_filterable_keys=NON_FILTERABLE)
    stored: set[str] = set()
    cases = 0
    outcomes = {"none": 0, "some": 0, "all": 0}

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(
        seed=st.integers(0, 2**64 - 1),
        documents=st.lists(filters(3), min_size=HYPOTHESIS_FILTERS, max_size=HYPOTHESIS_FILTERS),
    )
    def check(seed: int, documents: list[dict[str, Any]]) -> None:
        nonlocal cases
        rng = random.Random(seed)
        records = random_records(rng)
        documents = [*documents, *(random_filter(rng, 3) for _ in range(RANDOM_FILTERS))]
        keys = [f"r{i}" for i in range(len(records))]
        stale = sorted(stored - set(keys))
        if stale:
            backend.delete_vectors("props", stale)
        # Same keys as the previous example: most records are overwritten in place.
        batch = [
            MemoryRecord(key, [1.0, float(i + 1)], md) for i, (key, md) in enumerate(zip(keys, records, strict=True))
        ]
        backend.put_vectors("props", batch)
        stored.clear()
        stored.update(keys)
        for document in [*documents, *(twin(d) for d in documents)]:
            node = parse_filter(document, non_filterable=NON_FILTERABLE)
            expected = {key for key, md in zip(keys, records, strict=True) if matches(node, md)}
            found = backend.query_vectors("props", [1.0, 0.5], top_k=100, filter=document, return_metadata=False)
            got = [m.key for m in found]
            assert len(got) == len(set(got)), "a key was returned twice"
            assert set(got) == expected, {
                "seed": seed,
                "filter": document,
                "missing": {k: records[int(k[1:])] for k in sorted(expected - set(got))},
                "extra": {k: records[int(k[1:])] for k in sorted(set(got) - expected)},
            }
            cases += 1
            outcomes["none" if not expected else "all" if len(expected) == len(keys) else "some"] += 1

    try:
        check()
    finally:
        backend.close()
    assert cases >= MIN_CASES, f"only {cases} filter cases ran"
    # The run is informative only if filters both select and reject records.
    assert outcomes["some"] >= cases // 3, outcomes


def test_the_generators_reach_every_operator_and_depth() -> None:
    """The strategies above can produce every operator and three levels of nesting."""
    seen: set[str] = set()
    depths: set[int] = set()

    def walk(node: Any, depth: int) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("$and", "$or"):
                    seen.add(key)
                    depths.add(depth + 1)
                    for child in value:
                        walk(child, depth + 1)
                elif key.startswith("$"):
                    seen.add(key)
                elif isinstance(value, dict):
                    walk(value, depth)
                else:
                    seen.add("implicit $eq")

    @settings(max_examples=400, derandomize=True, database=None, deadline=None)
    @given(filters(3))
    def collect(document: dict[str, Any]) -> None:
        parse_filter(document)  # every generated document is valid
        walk(document, 0)

    collect()
    assert seen >= {*OPERANDS, "$and", "$or", "implicit $eq"}
    assert 3 in depths
