"""Compile a parsed filter tree to SQL over the embedded engine's metadata table.

Filterable metadata lives in ``meta(vid, name, kind, value)``: one row per scalar (one
per element of a list), and a ``kind = 0`` marker row for an empty list, so a key
exists exactly when it has a row. Two shapes are produced:

* a **predicate** on ``r.id`` made of correlated ``EXISTS`` probes into the primary
  key ``(vid, name, kind, value)``; it is exact and mirrors
  :func:`strands_vector_memory.core.matches` operator for operator;
* an optional **driver**: a subquery over the ``(name, kind, value)`` index that yields a
  superset of the matching ids, so SQLite visits only candidates instead of every row.
  An ``$and`` is driven by its most selective-looking child; an ``$or`` only when all
  of its children can be driven (their ``UNION``); negations cannot drive.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...core import And, Compare, FilterNode, Or
from ...core._filter import Scalar

__all__ = ["KIND_BOOL", "KIND_NUMBER", "KIND_PRESENT", "KIND_STRING", "SqlFilter", "compile_filter", "kind_of"]

KIND_PRESENT = 0
KIND_BOOL = 1
KIND_NUMBER = 2
KIND_STRING = 3

_RANGE_SQL = {"$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}

Params = list[object]


@dataclass(frozen=True, slots=True)
class SqlFilter:
    """A compiled filter: ``WHERE`` predicate on ``r.id`` and an optional driving subquery."""

    predicate: str
    params: tuple[object, ...]
    driver: str | None
    driver_params: tuple[object, ...]
    exact: bool
    """The driver alone yields exactly the matching ids (perhaps repeated)."""
    distinct: bool
    """No id can repeat in ``select_ids`` (one ``$eq`` leaf: one meta row per record at most)."""

    def select_ids(self) -> tuple[str, tuple[object, ...]]:
        """SQL yielding, as column ``id``, every matching record's id (ids may repeat)."""
        if self.driver is None:
            return f"SELECT r.id AS id FROM records r WHERE {self.predicate}", self.params
        if self.exact:
            return self.driver, self.driver_params
        sql = f"SELECT r.id AS id FROM records r WHERE r.id IN ({self.driver}) AND {self.predicate}"
        return sql, self.driver_params + self.params


def kind_of(value: Scalar) -> int:
    """The ``meta.kind`` code of a scalar (bool is not a number here)."""
    if isinstance(value, bool):
        return KIND_BOOL
    if isinstance(value, str):
        return KIND_STRING
    return KIND_NUMBER


def sql_value(value: Scalar) -> object:
    """How a scalar is stored in ``meta.value``."""
    return int(value) if isinstance(value, bool) else value


def compile_filter(node: FilterNode) -> SqlFilter:
    """Compile a filter tree (from :func:`parse_filter`) to SQL."""
    params: Params = []
    predicate = _predicate(node, params)
    driver_params: Params = []
    driven = _driver(node, driver_params)
    if driven is None:
        return SqlFilter(predicate, tuple(params), None, (), exact=False, distinct=True)
    single_eq = isinstance(node, Compare) and node.op == "$eq"
    return SqlFilter(
        predicate,
        tuple(params),
        driven.sql,
        tuple(driver_params),
        exact=driven.exact,
        distinct=single_eq or not driven.exact,
    )


def _condition(node: Compare, params: Params, column: str = "m") -> str:
    """SQL over a ``meta`` row alias that is true when the row satisfies ``node``."""
    if node.op == "$exists":
        return "1"
    if node.op in ("$eq", "$ne"):
        assert not isinstance(node.value, tuple)
        params.extend((kind_of(node.value), sql_value(node.value)))
        return f"{column}.kind = ? AND {column}.value = ?"
    if node.op in _RANGE_SQL:
        params.extend((KIND_NUMBER, node.value))
        return f"{column}.kind = ? AND {column}.value {_RANGE_SQL[node.op]} ?"
    assert isinstance(node.value, tuple)
    groups: dict[int, list[object]] = {}
    for item in node.value:
        groups.setdefault(kind_of(item), []).append(sql_value(item))
    clauses = []
    for kind, values in sorted(groups.items()):
        params.append(kind)
        params.extend(values)
        clauses.append(f"({column}.kind = ? AND {column}.value IN ({', '.join('?' * len(values))}))")
    return "(" + " OR ".join(clauses) + ")"


def _predicate(node: FilterNode, params: Params) -> str:
    if isinstance(node, And):
        return "(" + " AND ".join(_predicate(child, params) for child in node.children) + ")"
    if isinstance(node, Or):
        return "(" + " OR ".join(_predicate(child, params) for child in node.children) + ")"
    negated = node.op in ("$ne", "$nin") or (node.op == "$exists" and node.value is False)
    params.append(node.key)
    probe = f"EXISTS (SELECT 1 FROM meta m WHERE m.vid = r.id AND m.name = ? AND {_condition(node, params)})"
    return f"NOT {probe}" if negated else probe


# How good a leaf is at narrowing the search: equality first, then ranges and presence.
_RANK = {"$eq": 0, "$in": 1, "$gt": 2, "$gte": 2, "$lt": 2, "$lte": 2, "$exists": 3}


@dataclass(frozen=True, slots=True)
class _Driver:
    rank: int
    sql: str
    exact: bool


def _driver(node: FilterNode, params: Params) -> _Driver | None:
    """A subquery yielding a superset of the matching ids, or None if none exists."""
    if isinstance(node, Compare):
        if node.op not in _RANK or (node.op == "$exists" and node.value is False):
            return None
        local: Params = [node.key]
        sql = f"SELECT vid AS id FROM meta WHERE name = ? AND {_condition(node, local, column='meta')}"
        params.extend(local)
        return _Driver(_RANK[node.op], sql, exact=True)
    if isinstance(node, And):
        best: tuple[_Driver, Params] | None = None
        for child in node.children:
            local = []
            found = _driver(child, local)
            if found and (best is None or found.rank < best[0].rank):
                best = (found, local)
        if best is None:
            return None
        params.extend(best[1])
        return _Driver(best[0].rank, best[0].sql, exact=False)
    parts: list[_Driver] = []
    local = []
    for child in node.children:
        found = _driver(child, local)
        if found is None:
            return None
        parts.append(found)
    params.extend(local)
    sql = " UNION ALL ".join(p.sql for p in parts)
    return _Driver(max(p.rank for p in parts) + 1, sql, exact=all(p.exact for p in parts))
