"""Synthetic, pre-embedded memories for the engine benchmark.

The benchmark measures the engine, not the embedder, so vectors are generated rather
than embedded. They are *clustered* (Gaussian blobs around random centres) instead of
uniform noise: in high dimensions uniform vectors are all nearly equidistant, which
makes "the top 10" an arbitrary pick and hides ranking bugs. Around a centre, a
member's cosine similarity to a query from the same blob is about 0.8 while other
blobs sit near 0, so the top 10 of a query are real neighbours, as with real
embeddings of related memories.

Metadata is shaped like what the memory layer stores (a user scope, a type, a
numeric timestamp and the text), with 100 users so a user filter keeps 1% of the
records: the typical "recall for this user" query.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from ..core import Field, MemoryRecord, MemoryType

__all__ = ["USERS", "Corpus", "key_of", "index_of", "make_corpus", "make_queries", "user_name"]

USERS: Final = 100
"""Distinct ``user_id`` values, so an equality filter on one keeps 1% of the records."""
MAX_CLUSTERS: Final = 256
MIN_CLUSTER_SIZE: Final = 50
"""Small runs get fewer clusters so each still holds more than 10 members."""
MEMBER_NOISE: Final = 0.5
"""Per-dimension spread around a unit-variance centre: cosine to the centre ~0.9."""
QUERY_NOISE: Final = 0.5
"""Queries are as far from their centre as stored members, never equal to one."""

_KEY_PREFIX: Final = "mem-"
_EPOCH: Final = 1_700_000_000.0
_YEAR: Final = 365 * 24 * 3600.0
_TYPES: Final = tuple(t.value for t in MemoryType)
_TOPICS: Final = (
    "deployment windows",
    "coffee order",
    "favourite editor",
    "on-call rota",
    "database migration",
    "travel plans",
    "code review style",
    "meeting times",
)


@dataclass(frozen=True, slots=True)
class Corpus:
    """Everything the benchmark stores, kept as arrays so baselines can use it directly."""

    vectors: NDArray[np.float32]
    """``(n, dim)`` raw vectors exactly as given to ``put_vectors``."""
    centres: NDArray[np.float32]
    clusters: NDArray[np.int64]
    """Cluster of each record (for the neighbour-quality check)."""
    users: NDArray[np.int64]
    """User number (0..USERS-1) of each record; the baseline's filter column."""
    created_at: NDArray[np.float64]
    types: NDArray[np.int64]

    @property
    def size(self) -> int:
        """Number of records."""
        return int(self.vectors.shape[0])

    def records(self, start: int, stop: int) -> list[MemoryRecord]:
        """Records ``start..stop-1`` as the memory layer would write them."""
        out = []
        for i in range(start, stop):
            user = user_name(int(self.users[i]))
            topic = _TOPICS[i % len(_TOPICS)]
            metadata: dict[str, Any] = {
                Field.USER_ID: user,
                Field.MEMORY_TYPE: _TYPES[int(self.types[i])],
                Field.CREATED_AT: float(self.created_at[i]),
                Field.CONTENT: f"{user} mentioned their {topic} (note {i}, topic cluster {int(self.clusters[i])})",
            }
            out.append(MemoryRecord(key_of(i), self.vectors[i], metadata))
        return out


def key_of(i: int) -> str:
    """The record key of row ``i``; fixed-width so keys sort like rows."""
    return f"{_KEY_PREFIX}{i:08d}"


def index_of(key: str) -> int:
    """Row number of a record key (inverse of :func:`key_of`)."""
    return int(key[len(_KEY_PREFIX) :])


def user_name(u: int) -> str:
    """The ``user_id`` value of user number ``u``."""
    return f"user-{u:03d}"


def make_corpus(n: int, dim: int, rng: np.random.Generator) -> Corpus:
    """Generate ``n`` clustered float32 vectors with memory-like metadata, all at once.

    Everything is held in memory (100k x 384 float32 is ~150 MB) because the numpy
    baseline needs the whole matrix anyway.
    """
    n_clusters = max(1, min(MAX_CLUSTERS, n // MIN_CLUSTER_SIZE))
    centres = rng.standard_normal((n_clusters, dim), dtype=np.float32)
    clusters = rng.integers(0, n_clusters, size=n, dtype=np.int64)
    vectors = rng.standard_normal((n, dim), dtype=np.float32)
    vectors *= np.float32(MEMBER_NOISE)
    vectors += centres[clusters]
    return Corpus(
        vectors=vectors,
        centres=centres,
        clusters=clusters,
        users=rng.integers(0, USERS, size=n, dtype=np.int64),
        created_at=np.sort(_EPOCH + rng.uniform(0.0, _YEAR, size=n)),
        types=rng.integers(0, len(_TYPES), size=n, dtype=np.int64),
    )


def make_queries(
    corpus: Corpus, count: int, rng: np.random.Generator
) -> tuple[NDArray[np.float32], NDArray[np.int64], NDArray[np.int64]]:
    """``count`` query vectors near random centres, their clusters and a random user each."""
    clusters = rng.integers(0, corpus.centres.shape[0], size=count, dtype=np.int64)
    noise = rng.standard_normal((count, corpus.centres.shape[1]), dtype=np.float32)
    queries = corpus.centres[clusters] + np.float32(QUERY_NOISE) * noise
    users = rng.integers(0, USERS, size=count, dtype=np.int64)
    return queries.astype(np.float32, copy=False), clusters, users
