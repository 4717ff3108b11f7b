"""The S3 Vectors metadata filter language: parsing, validation and a reference evaluator.

A filter document is parsed once into a small tree of frozen nodes. The tree is what
backends consume: the embedded engine compiles it to SQL, the S3 Vectors backend sends
the original document, and :func:`matches` evaluates it in Python. The property tests
hold the SQL compiler to this evaluator.

Semantics (the service documents the operators; where it is silent we follow MongoDB,
whose language it borrows, and say so):

* ``{"k": v}`` is ``{"k": {"$eq": v}}``; several keys in one object are an implicit ``$and``.
* Positive operators (``$eq``, ``$gt``, ``$gte``, ``$lt``, ``$lte``, ``$in``) match a
  list-valued field when *any* element matches; a missing field never matches.
* Negative operators (``$ne``, ``$nin``) match when *no* element matches, so a missing
  field matches them (``$ne`` is exactly "not ``$eq``").
* Comparison is type-strict: ``1`` does not equal ``"1"`` and ``true`` does not equal ``1``;
  ``1`` equals ``1.0``. Range operators take numbers only and match only numbers.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

from ._exceptions import FilterError
from ._limits import MAX_SAFE_INTEGER, check_utf8

__all__ = [
    "And",
    "Compare",
    "FilterNode",
    "Or",
    "Scalar",
    "conjoin",
    "filter_keys",
    "matches",
    "parse_filter",
]

Scalar: TypeAlias = str | int | float | bool
Operator = Literal["$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$exists"]

_SCALAR_OPS = ("$eq", "$ne")
_RANGE_OPS = ("$gt", "$gte", "$lt", "$lte")
_LIST_OPS = ("$in", "$nin")
_FIELD_OPS = frozenset((*_SCALAR_OPS, *_RANGE_OPS, *_LIST_OPS, "$exists"))
_LOGICAL_OPS = frozenset(("$and", "$or"))


@dataclass(frozen=True, slots=True)
class Compare:
    """One condition on one metadata key. ``value`` is a tuple for ``$in``/``$nin``."""

    key: str
    op: Operator
    value: Scalar | tuple[Scalar, ...]


@dataclass(frozen=True, slots=True)
class And:
    """All children must match."""

    children: tuple[FilterNode, ...]


@dataclass(frozen=True, slots=True)
class Or:
    """At least one child must match."""

    children: tuple[FilterNode, ...]


FilterNode: TypeAlias = Compare | And | Or


def parse_filter(document: Mapping[str, Any] | None, *, non_filterable: Collection[str] = ()) -> FilterNode | None:
    """Validate a filter document and return its tree, or ``None`` for no filter.

    Raises:
        FilterError: naming the path of the offending part and what to write instead.
    """
    if document is None:
        return None
    if not isinstance(document, Mapping):
        raise FilterError(f"a filter must be a JSON object, got {type(document).__name__}", field="filter")
    if not document:
        return None
    return _parse_object(document, "filter", frozenset(non_filterable))


def _parse_object(document: Mapping[str, Any], path: str, non_filterable: frozenset[str]) -> FilterNode:
    if not isinstance(document, Mapping):
        raise FilterError(f"{path} must be a JSON object, got {type(document).__name__}", field=path)
    if not document:
        raise FilterError(f"{path} is an empty object: give at least one condition", field=path)
    parts: list[FilterNode] = []
    for name, body in document.items():
        if not isinstance(name, str):
            raise FilterError(f"{path} has a non-string key {name!r}", field=path)
        if name in _LOGICAL_OPS:
            parts.append(_parse_logical(name, body, f"{path}.{name}", non_filterable))
        elif name.startswith("$"):
            hint = " ($not does not exist: use $ne, $nin or $exists false)" if name == "$not" else ""
            raise FilterError(
                f"unknown logical operator {name!r} at {path}: use $and or $or{hint}", field=path, limit="$and | $or"
            )
        else:
            parts.append(_parse_field(name, body, f"{path}.{name}", non_filterable))
    return parts[0] if len(parts) == 1 else And(tuple(parts))


def _parse_logical(name: str, body: object, path: str, non_filterable: frozenset[str]) -> FilterNode:
    if not isinstance(body, list | tuple) or not body:
        raise FilterError(f"{path} takes a non-empty array of filters", field=path)
    children = tuple(_parse_object(child, f"{path}[{i}]", non_filterable) for i, child in enumerate(body))
    return And(children) if name == "$and" else Or(children)


def _parse_field(key: str, body: object, path: str, non_filterable: frozenset[str]) -> FilterNode:
    check_utf8(key, path, error=FilterError)
    if key in non_filterable:
        raise FilterError(
            f"metadata key {key!r} is non-filterable in this index and cannot be used in a filter",
            field=path,
            limit="filterable keys only",
        )
    if not isinstance(body, Mapping):
        return Compare(key, "$eq", _scalar(body, "$eq", path))
    if not body:
        raise FilterError(f"{path} is an empty object: give an operator such as $eq", field=path)
    conditions: list[FilterNode] = []
    for op, operand in body.items():
        if op not in _FIELD_OPS:
            raise FilterError(
                f"unknown operator {op!r} at {path}: use one of {', '.join(sorted(_FIELD_OPS))}",
                field=path,
                limit="known operators",
            )
        conditions.append(_parse_condition(key, op, operand, f"{path}.{op}"))
    return conditions[0] if len(conditions) == 1 else And(tuple(conditions))


def _parse_condition(key: str, op: Operator, operand: object, path: str) -> Compare:
    if op in _SCALAR_OPS:
        return Compare(key, op, _scalar(operand, op, path))
    if op in _RANGE_OPS:
        if isinstance(operand, bool) or not isinstance(operand, int | float):
            raise FilterError(
                f"{op} at {path} compares numbers only, got {type(operand).__name__} {operand!r}; "
                "store dates as epoch-second numbers to range-filter them",
                field=path,
                limit="number",
            )
        return Compare(key, op, _finite(operand, op, path))
    if op in _LIST_OPS:
        if not isinstance(operand, list | tuple) or not operand:
            raise FilterError(f"{op} at {path} takes a non-empty array of values", field=path, limit="non-empty array")
        return Compare(key, op, tuple(_scalar(item, op, path) for item in operand))
    if not isinstance(operand, bool):
        raise FilterError(f"$exists at {path} takes true or false, got {operand!r}", field=path, limit="boolean")
    return Compare(key, "$exists", operand)


def _scalar(value: object, op: str, path: str) -> Scalar:
    if isinstance(value, str):
        check_utf8(value, path, error=FilterError)
        return value
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return _finite(value, op, path)
    if isinstance(value, list | tuple):
        raise FilterError(f"{op} at {path} takes one value, not an array: use $in for membership", field=path)
    raise FilterError(
        f"{op} at {path} takes a string, number or boolean, got {type(value).__name__}", field=path, limit="scalar"
    )


def _finite(value: int | float, op: str, path: str) -> int | float:
    if isinstance(value, float) and not math.isfinite(value):
        raise FilterError(f"{op} at {path} takes a finite number, got {value!r}", field=path, limit="finite")
    if isinstance(value, int) and abs(value) > MAX_SAFE_INTEGER:
        raise FilterError(f"{op} at {path}: integers beyond +/-2**53 are not exact numbers", field=path)
    return value


def conjoin(*documents: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Combine filter documents with ``$and``, dropping empty ones; ``None`` if none remain."""
    present = [dict(d) for d in documents if d]
    if not present:
        return None
    return present[0] if len(present) == 1 else {"$and": present}


def filter_keys(node: FilterNode | None) -> set[str]:
    """The metadata keys a filter tree reads."""
    if node is None:
        return set()
    if isinstance(node, Compare):
        return {node.key}
    return set().union(*(filter_keys(child) for child in node.children))


def matches(node: FilterNode | None, metadata: Mapping[str, Any]) -> bool:
    """Evaluate a filter tree against one record's metadata (the reference semantics)."""
    if node is None:
        return True
    if isinstance(node, And):
        return all(matches(child, metadata) for child in node.children)
    if isinstance(node, Or):
        return any(matches(child, metadata) for child in node.children)
    if node.key not in metadata:
        return node.op in ("$ne", "$nin") or (node.op == "$exists" and node.value is False)
    if node.op == "$exists":
        return node.value is True
    raw = metadata[node.key]
    values: Sequence[object] = raw if isinstance(raw, list | tuple) else (raw,)
    if node.op == "$ne":
        return not any(_equal(v, node.value) for v in values)
    if node.op == "$nin":
        assert isinstance(node.value, tuple)
        return not any(_equal(v, c) for v in values for c in node.value)
    if node.op == "$eq":
        return any(_equal(v, node.value) for v in values)
    if node.op == "$in":
        assert isinstance(node.value, tuple)
        return any(_equal(v, c) for v in values for c in node.value)
    return any(_compare(node.op, v, node.value) for v in values)


def _kind(value: object) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "other"


def _equal(left: object, right: object) -> bool:
    return _kind(left) == _kind(right) != "other" and left == right


def _compare(op: str, value: object, bound: object) -> bool:
    if _kind(value) != "number":
        return False
    assert isinstance(value, int | float) and isinstance(bound, int | float)
    if op == "$gt":
        return value > bound
    if op == "$gte":
        return value >= bound
    if op == "$lt":
        return value < bound
    return value <= bound
