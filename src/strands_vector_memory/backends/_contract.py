"""The vector backend contract, shaped exactly like the Amazon S3 Vectors API.

A backend owns one *bucket* (a directory for the embedded engine, a vector bucket on
S3 Vectors) holding named indexes. The operations, their limits and their error types
are those of S3 Vectors, so code written against the embedded engine runs unchanged on
the service. Backends validate their inputs with :mod:`strands_vector_memory.backends._checks`,
which makes the enforcement identical everywhere; the shared contract suite in
``tests/backends/test_contract.py`` holds every backend to it.

Lifecycle: construct, use from any thread, ``close()`` when done (also a context manager).
Writes are acknowledged only when durable; a failed batch writes nothing of that batch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..core import DistanceMetric, MemoryRecord, Scope

__all__ = [
    "IndexInfo",
    "QueryMatch",
    "ScopedBackend",
    "TextMatch",
    "TextSearchBackend",
    "VectorBackend",
    "VectorPage",
]


@dataclass(frozen=True, slots=True)
class IndexInfo:
    """An index's fixed configuration, as ``GetIndex`` reports it."""

    name: str
    dimension: int
    distance_metric: DistanceMetric
    non_filterable_keys: frozenset[str]
    created_at: float


@dataclass(frozen=True, slots=True, eq=False)
class QueryMatch:
    """One neighbour from ``query_vectors``; smaller ``distance`` is closer.

    Cosine distance is ``1 - cosine similarity``; euclidean distance is the L2 norm of
    the difference. ``metadata`` is ``None`` unless asked for.
    """

    key: str
    distance: float | None
    metadata: Mapping[str, Any] | None = None
    vector: NDArray[np.float32] | None = None


@dataclass(frozen=True, slots=True, eq=False)
class TextMatch:
    """One hit from ``search_text``; larger ``score`` is better.

    Scores are BM25-style relevance and comparable only within one result list.
    """

    key: str
    score: float
    metadata: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class VectorPage:
    """One page of ``list_vectors``; pass ``next_token`` back for the next one."""

    records: list[MemoryRecord]
    next_token: str | None


@runtime_checkable
class VectorBackend(Protocol):
    """Index and vector operations of S3 Vectors, over one bucket."""

    def create_index(
        self,
        name: str,
        *,
        dimension: int,
        distance_metric: DistanceMetric = "cosine",
        non_filterable_keys: Sequence[str] = (),
    ) -> IndexInfo:
        """Create an index. Raises ``ConflictError`` if it exists."""
        ...

    def get_index(self, name: str) -> IndexInfo:
        """Describe an index. Raises ``NotFoundError`` if it does not exist."""
        ...

    def list_indexes(self, *, prefix: str | None = None) -> list[IndexInfo]:
        """All indexes in the bucket whose name starts with ``prefix``, sorted by name."""
        ...

    def delete_index(self, name: str) -> None:
        """Delete an index and every vector in it. Raises ``NotFoundError`` if absent."""
        ...

    def put_vectors(self, index: str, records: Sequence[MemoryRecord]) -> None:
        """Insert or overwrite (by key) 1-500 records atomically; all or nothing."""
        ...

    def get_vectors(
        self, index: str, keys: Sequence[str], *, return_vector: bool = False, return_metadata: bool = True
    ) -> list[MemoryRecord]:
        """Fetch 1-100 records by key, in request order; missing keys are omitted."""
        ...

    def list_vectors(
        self,
        index: str,
        *,
        max_results: int = 500,
        next_token: str | None = None,
        return_vector: bool = False,
        return_metadata: bool = False,
        segment_count: int | None = None,
        segment_index: int | None = None,
    ) -> VectorPage:
        """One page (<= 1000) of records; segments split a listing for parallel scans."""
        ...

    def query_vectors(
        self,
        index: str,
        vector: ArrayLike,
        *,
        top_k: int,
        filter: Mapping[str, Any] | None = None,
        return_metadata: bool = True,
        return_distance: bool = True,
    ) -> list[QueryMatch]:
        """The ``top_k`` (1-100) nearest records that match ``filter``, nearest first."""
        ...

    def delete_vectors(self, index: str, keys: Sequence[str]) -> None:
        """Delete 1-500 records by key; absent keys are ignored, as on S3 Vectors."""
        ...

    def close(self) -> None:
        """Release connections and caches. Further calls are an error."""
        ...


@runtime_checkable
class TextSearchBackend(VectorBackend, Protocol):
    """A backend that can also rank records by full-text relevance of their text.

    Hybrid recall fuses this list with the vector neighbours. The embedded engine
    answers from its FTS5 table over the ``content`` and ``context`` metadata; S3
    Vectors can answer from an ENHANCED-mode index's ``queryTexts``. Backends without
    it, or indexes where :meth:`supports_text_search` is false, still work: recall falls
    back to dense-only and says so once in the log.
    """

    def supports_text_search(self, index: str) -> bool:
        """Whether :meth:`search_text` can answer for ``index`` now; may raise ``NotFoundError``."""
        ...

    def search_text(
        self,
        index: str,
        text: str,
        *,
        top_k: int,
        filter: Mapping[str, Any] | None = None,
        return_metadata: bool = True,
    ) -> list[TextMatch]:
        """The ``top_k`` (1-100) records whose text best matches ``text``, best first.

        ``text`` is free text (a question, keywords); the backend tokenises it. A text
        with no searchable words returns no matches.
        """
        ...


@runtime_checkable
class ScopedBackend(Protocol):
    """Storage that acts as a different principal per scope, e.g. as each tenant.

    Multi-tenant memory on S3 Vectors signs each tenant's calls with that tenant's own
    STS credentials. ``VectorMemory`` asks :meth:`for_scope` for the backend acting
    for the caller's scope and sends it the index its layout chose, so the identity
    follows the caller and the index follows the layout: if the two ever disagree,
    IAM refuses the call.
    """

    def for_scope(self, scope: Scope) -> VectorBackend:
        """The backend acting for ``scope``; ``IsolationError`` if the scope names no principal."""
        ...

    def list_indexes(self, *, prefix: str | None = None) -> list[IndexInfo]:
        """Indexes of the bucket, with credentials allowed to list it (else ``AccessDeniedError``)."""
        ...

    def for_index(self, name: str) -> VectorBackend:
        """The backend acting for the owner of index ``name``, for maintenance that has no caller.

        Expiry sweeps and a user's erasure walk every index; each index is then worked
        on with its owner's identity, so even maintenance cannot cross owners.
        """
        ...

    def close(self) -> None:
        """Release every per-scope backend."""
        ...
