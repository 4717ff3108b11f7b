"""An in-process copy of an index's vectors, kept exactly in step with the SQLite file.

Exact search is a matrix product, so the vectors live in one contiguous float32 matrix
(pre-normalised for cosine). Record ids only grow (SQLite ``AUTOINCREMENT``), so new
records append; a dense id -> row array finds any id's row in O(1), which is what keeps
a filtered query (SQL gives ids, numpy gathers rows) as fast as a numpy mask.
Every committed write bumps a sequence number stored in the file; the cache remembers
the sequence it reflects and, before each query, applies only what changed since (rows
with a newer ``seq`` and newer tombstones), whichever process wrote them. It is never
stale and never rebuilt for a small change.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from ...core import DistanceMetric

__all__ = ["MatrixCache"]

_MIN_CAPACITY = 1024
_EMPTY_IDS: NDArray[np.int64] = np.empty(0, dtype=np.int64)
_EMPTY_DISTANCES: NDArray[np.float32] = np.empty(0, dtype=np.float32)


class MatrixCache:
    """Vectors of one index by record id, with exact top-k scoring.

    Not thread-safe by itself: the owning index serialises access.
    """

    def __init__(self, dimension: int, metric: DistanceMetric) -> None:
        self.dimension = dimension
        self.metric = metric
        self.reset()

    def reset(self) -> None:
        """Forget everything (before a full reload)."""
        self.seq = -1
        self._ids: NDArray[np.int64] = np.empty(0, dtype=np.int64)
        self._rows: NDArray[np.float32] = np.empty((0, self.dimension), dtype=np.float32)
        self._sqnorms: NDArray[np.float32] = np.empty(0, dtype=np.float32)
        self._row_of: NDArray[np.int64] = np.full(0, -1, dtype=np.int64)  # id -> row, -1 = absent
        self._size = 0
        self._dead = 0

    def __len__(self) -> int:
        return self._size - self._dead

    def _normalise(self, rows: NDArray[np.float32]) -> NDArray[np.float32]:
        """Scale ``rows`` in place to unit length for cosine; return their squared norms."""
        sqnorms: NDArray[np.float32] = np.einsum("ij,ij->i", rows, rows).astype(np.float32, copy=False)
        if self.metric != "cosine":
            return sqnorms
        rows /= np.sqrt(sqnorms)[:, None]  # in place: no second copy of the matrix
        return np.ones(len(rows), dtype=np.float32)

    def _grow_rows(self, needed: int) -> None:
        capacity = self._rows.shape[0]
        if needed <= capacity:
            return
        new_capacity = max(_MIN_CAPACITY, needed, capacity * 2)
        rows = np.empty((new_capacity, self.dimension), dtype=np.float32)
        rows[: self._size] = self._rows[: self._size]
        self._rows = rows
        for name, dtype in (("_ids", np.int64), ("_sqnorms", np.float32)):
            old = getattr(self, name)
            new = np.zeros(new_capacity, dtype=dtype)
            new[: self._size] = old[: self._size]
            setattr(self, name, new)

    def _grow_row_of(self, max_id: int) -> None:
        if max_id < self._row_of.size:
            return
        grown = np.full(max(_MIN_CAPACITY, max_id + 1, self._row_of.size * 2), -1, dtype=np.int64)
        grown[: self._row_of.size] = self._row_of
        self._row_of = grown

    def positions(self, ids: NDArray[np.int64]) -> NDArray[np.int64]:
        """Row positions of the live ids among ``ids``; unknown ids are dropped."""
        if ids.size == 0:
            return _EMPTY_IDS
        rows = self._row_of[ids[ids < self._row_of.size]]
        return rows[rows >= 0]

    def load(self, ids: NDArray[np.int64], rows: NDArray[np.float32]) -> None:
        """Replace everything with ``rows`` (ids ascending), taking ownership of the array."""
        self.reset()
        if ids.size == 0:
            return
        self._ids, self._rows, self._sqnorms = ids.copy(), rows, self._normalise(rows)
        self._grow_row_of(int(ids[-1]))
        self._row_of[ids] = np.arange(ids.size)
        self._size = int(ids.size)

    def upsert(self, ids: NDArray[np.int64], vectors: NDArray[np.float32]) -> None:
        """Insert or replace rows; ids arrive in any order."""
        if ids.size == 0:
            return
        order = np.argsort(ids, kind="stable")
        ids = ids[order]
        prepared = vectors[order]  # fancy indexing copies, so normalising in place is safe
        sqnorms = self._normalise(prepared)
        self._grow_row_of(int(ids[-1]))
        rows = self._row_of[ids]
        known = rows >= 0
        if known.any():
            self._rows[rows[known]] = prepared[known]
            self._sqnorms[rows[known]] = sqnorms[known]
        fresh = ~known
        if not fresh.any():
            return
        new_ids = ids[fresh]  # row order need not follow id order: ties are broken by id
        start, end = self._size, self._size + new_ids.size
        self._grow_rows(end)
        self._ids[start:end] = new_ids
        self._rows[start:end] = prepared[fresh]
        self._sqnorms[start:end] = sqnorms[fresh]
        self._row_of[new_ids] = np.arange(start, end)
        self._size = end

    def remove(self, ids: NDArray[np.int64]) -> None:
        """Drop rows by id (absent ids are ignored); compacts when a quarter is dead."""
        rows = self.positions(np.unique(ids))
        if rows.size == 0:
            return
        self._row_of[self._ids[rows]] = -1
        self._ids[rows] = -1
        self._dead += int(rows.size)
        if self._dead * 4 > self._size:
            self._compact()

    def _compact(self) -> None:
        keep = np.flatnonzero(self._ids[: self._size] >= 0)
        n = keep.size
        self._ids[:n] = self._ids[keep]
        self._rows[:n] = self._rows[keep]
        self._sqnorms[:n] = self._sqnorms[keep]
        self._row_of[self._ids[:n]] = np.arange(n)
        self._size, self._dead = n, 0

    def top_k(
        self, query: NDArray[np.float32], k: int, positions: NDArray[np.int64] | None = None
    ) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
        """Ids and distances of the ``k`` nearest rows (among ``positions`` if given), nearest first."""
        if positions is None:
            rows, ids = self._rows[: self._size], self._ids[: self._size]
        else:
            rows, ids = self._rows[positions], self._ids[positions]
        if ids.size == 0:
            return _EMPTY_IDS, _EMPTY_DISTANCES
        if self.metric == "cosine":
            distances = rows @ (query / -np.sqrt(query @ query)).astype(np.float32)
            distances += 1.0  # 1 - cos, computed in place
        else:
            sq = self._sqnorms[: self._size] if positions is None else self._sqnorms[positions]
            distances = sq - 2.0 * (rows @ query) + np.float32(query @ query)
        if positions is None and self._dead:
            distances[ids < 0] = np.inf  # removed rows awaiting compaction
        k = min(k, len(self) if positions is None else int(ids.size))
        if k <= 0:
            return _EMPTY_IDS, _EMPTY_DISTANCES
        part = np.argpartition(distances, k - 1)[:k] if k < distances.size else np.arange(distances.size)
        if self.metric == "euclidean":
            # |r|^2 - 2 r.q + |q|^2 cancels badly in float32 for long, close vectors (a stored
            # vector was reported at distance 0.7 from itself): re-score the k winners exactly.
            diff = rows[part].astype(np.float64) - query.astype(np.float64)
            chosen = np.sqrt(np.einsum("ij,ij->i", diff, diff)).astype(np.float32)
        else:
            chosen = distances[part].astype(np.float32, copy=False)
        order = np.lexsort((ids[part], chosen))
        return ids[part][order], chosen[order]
