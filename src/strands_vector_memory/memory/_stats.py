"""What a store holds: counts by type and user, expired memories, the time range."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..core import Field, Memory
from ..embedders import Embedder

__all__ = ["MemoryStats", "summarise"]


@dataclass(frozen=True, slots=True)
class MemoryStats:
    """What a store holds, as ``stats`` counts it."""

    total: int
    expired: int
    by_type: dict[str, int]
    by_user: dict[str, int]
    indexes: list[str]
    oldest: float | None
    newest: float | None
    dimension: int
    embedder: str
    backend: str

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view."""
        return {
            "total": self.total,
            "expired": self.expired,
            "by_type": self.by_type,
            "by_user": self.by_user,
            "indexes": self.indexes,
            "oldest": self.oldest,
            "newest": self.newest,
            "dimension": self.dimension,
            "embedder": self.embedder,
            "backend": self.backend,
        }


def summarise(
    memories: Iterable[Memory], *, now: float, indexes: list[str], embedder: Embedder, backend: str
) -> MemoryStats:
    """Count ``memories`` (expired ones apart) in one pass."""
    by_type: Counter[str] = Counter()
    by_user: Counter[str] = Counter()
    total = expired = 0
    oldest: float | None = None
    newest: float | None = None
    for memory in memories:
        meta = memory.metadata
        expires = meta.get(Field.EXPIRES_AT)
        if isinstance(expires, int | float) and expires <= now:
            expired += 1
            continue
        total += 1
        by_type[str(meta.get(Field.MEMORY_TYPE, "unknown"))] += 1
        by_user[str(meta.get(Field.USER_ID, "-"))] += 1
        created = memory.created_at
        if created is not None:
            oldest = created if oldest is None else min(oldest, created)
            newest = created if newest is None else max(newest, created)
    return MemoryStats(
        total=total,
        expired=expired,
        by_type=dict(sorted(by_type.items())),
        by_user=dict(by_user.most_common()),
        indexes=indexes,
        oldest=oldest,
        newest=newest,
        dimension=embedder.dimension,
        embedder=embedder.name,
        backend=backend,
    )
