"""What the service decides for a caller who did not say: lifetimes, trust, duplicates, conflicts.

Memory that is never pruned rots: episodes outlive their use, duplicates crowd out
answers and contradictions sit side by side. These settings are the lifecycle rules
applied on every write (and by the maintenance commands); every one is configurable
and can be switched off.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Final

from ..core import MemoryType, ValidationError
from ._conflicts import ConflictChecker, HeuristicChecker

__all__ = ["DAY", "Conflicts", "Dedup", "MemoryPolicy"]

DAY: Final = 86_400.0

#: Episodes and conversation summaries age out; facts and how-tos stay until replaced.
DEFAULT_TTL: Final[Mapping[str, float | None]] = {
    MemoryType.EPISODIC.value: 30 * DAY,
    MemoryType.SUMMARY.value: 90 * DAY,
    MemoryType.SEMANTIC.value: None,
    MemoryType.PROCEDURAL.value: None,
    MemoryType.CONFLICT.value: None,
}

#: How much a memory is trusted by where it came from: what a person or an application
#: stated outright above what an agent chose to note, above what a model wrote.
DEFAULT_CONFIDENCE: Final[Mapping[str, float]] = {
    "api": 0.9,
    "cli": 0.9,
    "user": 0.9,
    "import": 0.8,
    "conversation": 0.8,
    "agent-tool": 0.7,
    "strands-memory-manager": 0.7,
    "consolidation": 0.75,
    "conversation-summary": 0.7,
    "summary": 0.7,
    "conflict-detection": 1.0,
}


def _fraction(value: object, name: str, *, allow_none: bool = False) -> float | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise ValidationError(f"{name} must be a non-negative number, got {value!r}", field=name)
    return float(value)


@dataclass(frozen=True, slots=True)
class Dedup:
    """Duplicates reinforce the memory they repeat instead of being stored again.

    Attributes:
        enabled: Off stores every write as given (an import, a benchmark).
        distance: Cosine distance under which a memory of the same type in the same
            scope counts as a near-duplicate, unless the conflict checker says the two
            disagree ("the window is Tuesday" and "... Thursday" are 0.05 apart with the
            bundled model, closer than most paraphrases). Exact duplicates (same content
            hash) are always caught.
        reinforce: Share of the remaining doubt a repetition removes
            (``confidence += reinforce * (1 - confidence)``).
    """

    enabled: bool = True
    distance: float = 0.08
    reinforce: float = 0.1

    def __post_init__(self) -> None:
        _fraction(self.distance, "dedup.distance")
        if not 0.0 <= (_fraction(self.reinforce, "dedup.reinforce") or 0.0) <= 1.0:
            raise ValidationError("dedup.reinforce must be in 0..1", field="dedup.reinforce", limit="0..1")


@dataclass(frozen=True, slots=True)
class Conflicts:
    """Memories that disagree are linked and reported to the team, not silently stacked.

    Attributes:
        enabled: Off skips the check.
        distance: How close in topic (cosine distance) an existing memory must be for
            the checker to compare it with a new one.
        cross_agent_distance: A memory this close to one another agent wrote is a
            conflict even when the checker sees no disagreement (two agents asserting
            things about the same subject need a look); ``None`` turns the rule off.
        checker: Decides whether two texts disagree (a cheap heuristic by default;
            ``ModelConflictChecker`` asks a model).
        types: The memory types checked: facts and procedures can contradict each
            other, episodes (things that happened) and summaries cannot.
        newest_wins: Mark the older memory superseded by the newer (kept for audit,
            left out of recall) instead of keeping both in play.
    """

    enabled: bool = True
    distance: float = 0.25
    cross_agent_distance: float | None = 0.15
    checker: ConflictChecker = field(default_factory=HeuristicChecker)
    types: tuple[str, ...] = (MemoryType.SEMANTIC.value, MemoryType.PROCEDURAL.value)
    newest_wins: bool = False

    def __post_init__(self) -> None:
        _fraction(self.distance, "conflicts.distance")
        _fraction(self.cross_agent_distance, "conflicts.cross_agent_distance", allow_none=True)
        if not isinstance(self.checker, ConflictChecker):
            raise TypeError(f"conflicts.checker must be a ConflictChecker, got {type(self.checker).__name__}")
        object.__setattr__(self, "types", tuple(MemoryType.parse(t).value for t in self.types))


@dataclass(frozen=True, slots=True)
class MemoryPolicy:
    """The lifecycle rules a :class:`VectorMemory` applies to every write.

    Attributes:
        ttl: Default time to live per memory type, seconds (``None`` = never expires),
            counted from when the memory is written and stored as ``expires_at``.
            An explicit ``ttl``/``expires_at`` on a write wins.
        confidence: Default ``confidence`` per ``source``.
        default_confidence: For sources not in ``confidence``.
        dedup: Duplicate handling.
        conflicts: Conflict detection.
    """

    ttl: Mapping[str, float | None] = field(default_factory=lambda: dict(DEFAULT_TTL))
    confidence: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_CONFIDENCE))
    default_confidence: float = 0.8
    dedup: Dedup = field(default_factory=Dedup)
    conflicts: Conflicts = field(default_factory=Conflicts)

    def __post_init__(self) -> None:
        ttl = {MemoryType.parse(kind).value: value for kind, value in dict(self.ttl).items()}
        for kind, value in ttl.items():
            if value is not None and not (_fraction(value, f"ttl[{kind!r}]") or 0.0) > 0:
                raise ValidationError(f"ttl[{kind!r}] must be positive seconds or None", field="ttl")
        object.__setattr__(self, "ttl", ttl)
        confidence = dict(self.confidence)
        for source, value in [*confidence.items(), ("default_confidence", self.default_confidence)]:
            if not 0.0 <= (_fraction(value, f"confidence[{source!r}]") or 0.0) <= 1.0:
                raise ValidationError(f"confidence[{source!r}] must be in 0..1", field="confidence", limit="0..1")
        object.__setattr__(self, "confidence", confidence)
        if not isinstance(self.dedup, Dedup) or not isinstance(self.conflicts, Conflicts):
            raise TypeError("dedup must be a Dedup and conflicts a Conflicts")

    @classmethod
    def keep_everything(cls) -> MemoryPolicy:
        """No expiry, no dedup, no conflict checks: every write stored exactly as given."""
        return cls(ttl={}, dedup=Dedup(enabled=False), conflicts=Conflicts(enabled=False))

    def with_(self, **changes: Any) -> MemoryPolicy:
        """A copy with some settings changed (validated like the constructor)."""
        return replace(self, **changes)

    def ttl_for(self, memory_type: str) -> float | None:
        """The default lifetime of a memory of this type, seconds."""
        return self.ttl.get(memory_type)

    def confidence_for(self, source: str) -> float:
        """The default confidence of a memory from this source."""
        return self.confidence.get(source, self.default_confidence)
