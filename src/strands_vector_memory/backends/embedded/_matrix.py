"""An in-process copy of an index's vectors, kept exactly in step with the SQLite file.

Exact search is a matrix product, so the vectors live in one contiguous float32 matrix
(pre-normalised for cosine). Rows are ordered by record id; ids only grow (SQLite
``AUTOINCREMENT``), so new records append and an id's row is found by binary search.
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
        self._ids = np.empty(0, dtype=np.int64)
        self._rows = np.empty((0, self.dimension), dtype=np.float32)
        self._sqnorms = np.empty(0, dtype=np.float32)
        self._alive = np.empty(0, dtype=bool)
        self._size = 0
        self._dead = 0

    def __len__(self) -> int:
        return self._size - self._dead

    def _prepare(self, vectors: NDArray[np.float32]) -> NDArray[np.float32]:
        if self.metric == "cosine":
            norms = np.linalg.norm(vectors, axis=1, keepdims=True)
            normalised: NDArray[np.float32] = (vectors / norms).astype(np.float32, copy=False)
            return normalised
        return vectors

    def _grow(self, needed: int) -> None:
        capacity = self._rows.shape[0]
        if needed <= capacity:
            return
        new_capacity = max(_MIN_CAPACITY, needed, capacity * 2)
        rows = np.empty((new_capacity, self.dimension), dtype=np.float32)
        rows[: self._size] = self._rows[: self._size]
        self._rows = rows
        for name, dtype in (("_ids", np.int64), ("_sqnorms", np.float32), ("_alive", bool)):
            old = getattr(self, name)
            new = np.zeros(new_capacity, dtype=dtype)
            new[: self._size] = old[: self._size]
            setattr(self, name, new)

    def positions(self, ids: NDArray[np.int64]) -> NDArray[np.int64]:
        """Row positions of live ids; ids not in the cache are dropped."""
        if ids.size == 0 or self._size == 0:
            return np.empty(0, dtype=np.int64)
        current = self._ids[: self._size]
        pos = np.searchsorted(current, ids)
        inside = pos < self._size
        pos, ids = pos[inside], ids[inside]
        found = (current[pos] == ids) & self._alive[pos]
        result: NDArray[np.int64] = pos[found].astype(np.int64, copy=False)
        return result

    def upsert(self, ids: NDArray[np.int64], vectors: NDArray[np.float32]) -> None:
        """Insert or replace rows; ids arrive in any order."""
        if ids.size == 0:
            return
        order = np.argsort(ids, kind="stable")
        ids, vectors = ids[order], self._prepare(vectors[order])
        sqnorms = np.einsum("ij,ij->i", vectors, vectors)
        current = self._ids[: self._size]
        pos = np.searchsorted(current, ids)
        existing = pos < self._size
        existing[existing] = current[pos[existing]] == ids[existing]
        if existing.any():
            where = pos[existing]
            self._dead -= int((~self._alive[where]).sum())
            self._rows[where] = vectors[existing]
            self._sqnorms[where] = sqnorms[existing]
            self._alive[where] = True
        fresh = ~existing
        if fresh.any():
            new_ids = ids[fresh]
            if self._size and new_ids[0] <= current[-1]:
                # An id older than the newest one that we never saw: only possible after
                # an external rewrite of the file. Rebuild in order rather than guess.
                self._rebuild_with(new_ids, vectors[fresh], sqnorms[fresh])
                return
            start, end = self._size, self._size + new_ids.size
            self._grow(end)
            self._ids[start:end] = new_ids
            self._rows[start:end] = vectors[fresh]
            self._sqnorms[start:end] = sqnorms[fresh]
            self._alive[start:end] = True
            self._size = end

    def _rebuild_with(self, ids: NDArray[np.int64], vectors: NDArray[np.float32], sqnorms: NDArray[np.float32]) -> None:
        keep = self._alive[: self._size]
        all_ids = np.concatenate([self._ids[: self._size][keep], ids])
        all_rows = np.concatenate([self._rows[: self._size][keep], vectors])
        all_sq = np.concatenate([self._sqnorms[: self._size][keep], sqnorms])
        order = np.argsort(all_ids, kind="stable")
        self._size = self._dead = 0
        self._ids = np.empty(0, dtype=np.int64)
        self._rows = np.empty((0, self.dimension), dtype=np.float32)
        self._grow(order.size)
        n = order.size
        self._ids[:n], self._rows[:n], self._sqnorms[:n] = all_ids[order], all_rows[order], all_sq[order]
        self._alive[:n] = True
        self._size = n

    def remove(self, ids: NDArray[np.int64]) -> None:
        """Drop rows by id (absent ids are ignored); compacts when a quarter is dead."""
        pos = self.positions(ids)
        if pos.size == 0:
            return
        self._alive[pos] = False
        self._dead += int(pos.size)
        if self._dead * 4 > self._size:
            self._compact()

    def _compact(self) -> None:
        keep = np.flatnonzero(self._alive[: self._size])
        n = keep.size
        self._ids[:n] = self._ids[keep]
        self._rows[:n] = self._rows[keep]
        self._sqnorms[:n] = self._sqnorms[keep]
        self._alive[:n] = True
        self._alive[n : self._size] = False
        self._size, self._dead = n, 0

    def top_k(
        self, query: NDArray[np.float32], k: int, positions: NDArray[np.int64] | None = None
    ) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
        """Ids and distances of the ``k`` nearest rows (among ``positions`` if given)."""
        if positions is None:
            rows = self._rows[: self._size]
            sq = self._sqnorms[: self._size]
            ids = self._ids[: self._size]
            alive = self._alive[: self._size] if self._dead else None
        else:
            rows, sq, ids, alive = self._rows[positions], self._sqnorms[positions], self._ids[positions], None
        if ids.size == 0:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
        if self.metric == "cosine":
            q = query / np.linalg.norm(query)
            distances = 1.0 - rows @ q.astype(np.float32)
        else:
            distances = sq - 2.0 * (rows @ query) + np.float32(query @ query)
        if alive is not None:
            distances = np.where(alive, distances, np.inf).astype(np.float32)
        k = min(k, int(ids.size) if alive is None else int(alive.sum()))
        if k <= 0:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
        part = np.argpartition(distances, k - 1)[:k] if k < distances.size else np.arange(distances.size)
        if self.metric == "euclidean":
            # |r|^2 - 2 r.q + |q|^2 cancels badly in float32 for long, close vectors (a stored
            # vector was reported at distance 0.7 from itself): re-score the k winners exactly.
            diff = rows[part].astype(np.float64) - query.astype(np.float64)
            chosen = np.sqrt(np.einsum("ij,ij->i", diff, diff)).astype(np.float32)
        else:
            chosen = distances[part]
        order = np.lexsort((ids[part], chosen))
        return ids[part][order], chosen[order]
