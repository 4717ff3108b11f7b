"""What a store holds: counts by type, scope and age; expired, superseded and conflicting memories."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..core import Field, Memory
from ..embedders import Embedder

__all__ = ["AGE_BUCKETS", "MemoryStats", "summarise"]

_DAY = 86_400.0
#: Age buckets of ``by_age`` (upper bound in days, label), matching the default lifetimes.
AGE_BUCKETS: tuple[tuple[float, str], ...] = (
    (1, "<1d"),
    (7, "1-7d"),
    (30, "7-30d"),
    (90, "30-90d"),
    (float("inf"), ">90d"),
)


def _age_bucket(age_days: float) -> str:
    return next(label for bound, label in AGE_BUCKETS if age_days < bound)


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
    by_agent: dict[str, int] = field(default_factory=dict)
    by_team: dict[str, int] = field(default_factory=dict)
    by_age: dict[str, int] = field(default_factory=dict)
    superseded: int = 0
    conflicts: int = 0
    mean_confidence: float | None = None

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
            "by_agent": self.by_agent,
            "by_team": self.by_team,
            "by_age": self.by_age,
            "superseded": self.superseded,
            "conflicts": self.conflicts,
            "mean_confidence": self.mean_confidence,
        }


def summarise(
    memories: Iterable[Memory], *, now: float, indexes: list[str], embedder: Embedder, backend: str
) -> MemoryStats:
    """Count ``memories`` (expired and superseded ones apart) in one pass."""
    by_type: Counter[str] = Counter()
    by_user: Counter[str] = Counter()
    by_agent: Counter[str] = Counter()
    by_team: Counter[str] = Counter()
    by_age: Counter[str] = Counter({label: 0 for _, label in AGE_BUCKETS})
    total = expired = superseded = conflicts = 0
    confidence_sum, confidence_n = 0.0, 0
    oldest: float | None = None
    newest: float | None = None
    for memory in memories:
        meta = memory.metadata
        expires = meta.get(Field.EXPIRES_AT)
        if isinstance(expires, int | float) and expires <= now:
            expired += 1
            continue
        if meta.get(Field.SUPERSEDED_BY) is not None:
            superseded += 1
            continue
        total += 1
        by_type[str(meta.get(Field.MEMORY_TYPE, "unknown"))] += 1
        by_user[str(meta.get(Field.USER_ID, "-"))] += 1
        by_agent[str(meta.get(Field.AGENT_ID, "-"))] += 1
        by_team[str(meta.get(Field.TEAM_ID, "-"))] += 1
        if meta.get(Field.MEMORY_TYPE) == "conflict":  # open until someone forgets the note
            conflicts += 1
        confidence = memory.confidence
        if confidence is not None:
            confidence_sum, confidence_n = confidence_sum + confidence, confidence_n + 1
        created = memory.created_at
        if created is not None:
            by_age[_age_bucket(max(now - created, 0.0) / _DAY)] += 1
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
        by_agent=dict(by_agent.most_common()),
        by_team=dict(by_team.most_common()),
        by_age=dict(by_age),
        superseded=superseded,
        conflicts=conflicts,
        mean_confidence=round(confidence_sum / confidence_n, 4) if confidence_n else None,
    )
