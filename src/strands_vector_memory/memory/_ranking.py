"""How recall orders what the backends found: fusion, conversational signals, relevance.

Recall gathers two candidate lists (vector neighbours and BM25 full-text hits, up to
``candidates`` each) and orders their union here. Every step is a small, separately
switchable term, because each had to earn its place on the LoCoMo evaluation
(``strands-memory eval locomo``; the README has the table):

1. **Fusion** of the two lists: ``weighted`` (BM25 scaled by the best hit, plus
   ``dense_weight`` x cosine similarity) or reciprocal rank fusion (``rrf``).
2. **Signals** a small embedding model misses: a memory whose ``speaker``/``agent_id``
   the query names (``name_boost``); a memory from a month the query names
   (``time_boost``); memories from the same conversation as a strong hit
   (``conversation_boost``, a share of that conversation's best score).
3. **Relevance**: multipliers for memory type, ``confidence`` and recency (off by
   default: on benchmark-style data "newer" is not "more relevant").
4. Optional **diversity** (maximal marginal relevance) so near-duplicates do not fill
   the top k.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from enum import Enum
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..backends import QueryMatch, TextMatch
from ..core import Field, ValidationError, number
from ._query import mentioned, time_windows

__all__ = ["Candidate", "Fusion", "Ranking", "RetrievalMode", "collect", "diversify", "rank"]

_DAY = 86_400.0


class RetrievalMode(str, Enum):
    """Which candidate lists recall asks the backend for."""

    HYBRID = "hybrid"
    """Vector neighbours and full-text hits, fused (the default)."""
    DENSE = "dense"
    """Vector neighbours only."""
    TEXT = "text"
    """BM25 full-text hits only."""


class Fusion(str, Enum):
    """How the two lists of a hybrid recall become one score."""

    WEIGHTED = "weighted"
    RRF = "rrf"


def _parse(enum: type[RetrievalMode] | type[Fusion], value: object, name: str) -> Any:
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(m.value for m in enum)
        raise ValidationError(f"unknown {name} {value!r}: use one of {allowed}", field=name, limit=allowed) from None


@dataclass(frozen=True, slots=True)
class Ranking:
    """Every knob of recall's ordering; the defaults are the best found on LoCoMo.

    Scores live on a 0..1-ish scale (a perfect BM25 and cosine match scores 1), so the
    boosts read as fractions of a perfect match.

    Attributes:
        mode: hybrid, dense or text.
        fusion: weighted or rrf (hybrid only).
        dense_weight: Weight of cosine similarity against the BM25 score (weighted fusion).
        rrf_k: The rank offset of reciprocal rank fusion.
        candidates: How many hits each list contributes (1-100, the S3 Vectors top-k cap).
        name_boost: Added when the query names the memory's ``name_fields`` value.
        name_fields: Metadata keys holding who said or wrote a memory.
        time_boost: Added when the memory's ``event_time`` (else ``created_at``) lies in
            a month or year the query names, or up to ``time_slack_days`` after it
            (people tell of things a little after they happen).
        conversation_boost: Share of the best score in a memory's conversation added
            to it: evidence clusters in the conversation where a topic came up.
        diversity: MMR trade-off (0 = off): how much similarity to an already chosen
            memory costs a candidate.
        recency_half_life_days: Enables recency: a memory this old counts half as much
            as a new one (scaled by ``recency_weight``).
        recency_weight: The share of the score that recency can take away (0..1).
        confidence_weight: The share of the score a memory's ``confidence`` scales (0..1).
        type_weights: Multiplier per memory type (absent types weigh 1).
    """

    mode: RetrievalMode = RetrievalMode.HYBRID
    fusion: Fusion = Fusion.WEIGHTED
    dense_weight: float = 1.5
    rrf_k: int = 60
    candidates: int = 100
    name_boost: float = 0.08
    name_fields: tuple[str, ...] = ("speaker", Field.AGENT_ID)
    time_boost: float = 0.16
    time_slack_days: float = 30.0
    conversation_boost: float = 0.25
    diversity: float = 0.0
    recency_half_life_days: float | None = None
    recency_weight: float = 0.5
    confidence_weight: float = 0.5
    type_weights: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "mode", _parse(RetrievalMode, self.mode, "mode"))
        object.__setattr__(self, "fusion", _parse(Fusion, self.fusion, "fusion"))
        for name in ("dense_weight", "name_boost", "time_boost", "time_slack_days", "conversation_boost", "diversity"):
            _non_negative(getattr(self, name), name)
        for name in ("recency_weight", "confidence_weight"):
            if not 0.0 <= _non_negative(getattr(self, name), name) <= 1.0:
                raise ValidationError(f"{name} must be in 0..1", field=name, limit="0..1")
        if (
            self.recency_half_life_days is not None
            and not _non_negative(self.recency_half_life_days, "recency_half_life_days") > 0
        ):
            raise ValidationError("recency_half_life_days must be positive or None", field="recency_half_life_days")
        for name, low, high in (("candidates", 1, 100), ("rrf_k", 1, 10_000)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise ValidationError(f"{name} must be an integer in {low}..{high}, got {value!r}", field=name)
        if not isinstance(self.name_fields, tuple | list) or not all(isinstance(f, str) for f in self.name_fields):
            raise ValidationError("name_fields must be a tuple of metadata keys", field="name_fields")
        object.__setattr__(self, "name_fields", tuple(self.name_fields))
        if not isinstance(self.type_weights, Mapping):
            raise ValidationError("type_weights must map memory types to weights", field="type_weights")
        weights = dict(self.type_weights)
        for kind, weight in weights.items():
            _non_negative(weight, f"type_weights[{kind!r}]")
        object.__setattr__(self, "type_weights", weights)

    def with_(self, **changes: Any) -> Ranking:
        """A copy with some knobs changed (validated like the constructor)."""
        unknown = set(changes) - {f.name for f in fields(self)}
        if unknown:
            raise ValidationError(f"unknown ranking option(s) {sorted(unknown)}", field="ranking")
        return replace(self, **changes)

    @classmethod
    def plain(cls, mode: RetrievalMode | str = RetrievalMode.HYBRID, fusion: Fusion | str = Fusion.WEIGHTED) -> Ranking:
        """Retrieval alone, with no conversational signals or confidence: the baselines of the eval."""
        return cls(
            mode=mode,  # type: ignore[arg-type]
            fusion=fusion,  # type: ignore[arg-type]
            name_boost=0.0,
            time_boost=0.0,
            conversation_boost=0.0,
            confidence_weight=0.0,
        )


def _non_negative(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise ValidationError(f"{name} must be a non-negative number, got {value!r}", field=name)
    return float(value)


@dataclass(slots=True)
class Candidate:
    """One memory found by either list, with what each list said about it."""

    key: str
    metadata: dict[str, Any]
    similarity: float | None = None
    dense_rank: int | None = None
    text_score: float | None = None
    text_rank: int | None = None
    score: float = 0.0


def collect(dense: Sequence[QueryMatch], text: Sequence[TextMatch]) -> list[Candidate]:
    """The union of both lists by key (similarity = 1 - cosine distance)."""
    found: dict[str, Candidate] = {}
    for position, match in enumerate(dense):
        distance = match.distance if match.distance is not None else 1.0
        found[match.key] = Candidate(match.key, dict(match.metadata or {}), 1.0 - distance, position)
    for position, hit in enumerate(text):
        candidate = found.get(hit.key)
        if candidate is None:
            candidate = found[hit.key] = Candidate(hit.key, dict(hit.metadata or {}))
        candidate.text_score, candidate.text_rank = hit.score, position
    return list(found.values())


def _when(metadata: Mapping[str, Any]) -> float | None:
    event = number(metadata.get(Field.EVENT_TIME))
    return event if event is not None else number(metadata.get(Field.CREATED_AT))


def _fused(candidates: Sequence[Candidate], ranking: Ranking) -> list[float]:
    """Each candidate's retrieval score, before signals."""
    if ranking.mode is RetrievalMode.DENSE:
        return [c.similarity if c.similarity is not None else 0.0 for c in candidates]
    best_text = max((c.text_score for c in candidates if c.text_score is not None), default=0.0)

    def text(c: Candidate) -> float:
        return c.text_score / best_text if c.text_score is not None and best_text > 0 else 0.0

    if ranking.mode is RetrievalMode.TEXT:
        return [text(c) for c in candidates]
    if ranking.fusion is Fusion.RRF:
        top = 2.0 / (ranking.rrf_k + 1)  # first in both lists
        return [
            sum(1.0 / (ranking.rrf_k + r + 1) for r in (c.dense_rank, c.text_rank) if r is not None) / top
            for c in candidates
        ]
    # A hit the vector list did not reach is no closer than the farthest one it did.
    floor = min((c.similarity for c in candidates if c.similarity is not None), default=0.0)
    w = ranking.dense_weight
    return [(text(c) + w * (c.similarity if c.similarity is not None else floor)) / (1.0 + w) for c in candidates]


def rank(candidates: Sequence[Candidate], query: str, ranking: Ranking, *, now: float) -> list[Candidate]:
    """Score every candidate (sets ``score``) and return them best first."""
    scores = _fused(candidates, ranking)
    if ranking.name_boost:
        names = {
            str(c.metadata[f]) for c in candidates for f in ranking.name_fields if isinstance(c.metadata.get(f), str)
        }
        named = mentioned(query, names)
        if named:
            for i, c in enumerate(candidates):
                if any(c.metadata.get(f) in named for f in ranking.name_fields):
                    scores[i] += ranking.name_boost
    windows = time_windows(query) if ranking.time_boost else []
    if windows:
        slack = ranking.time_slack_days * _DAY
        for i, c in enumerate(candidates):
            when = _when(c.metadata)
            if when is not None and any(start <= when < end + slack for start, end in windows):
                scores[i] += ranking.time_boost
    if ranking.conversation_boost:
        best: dict[str, float] = {}
        for c, s in zip(candidates, scores, strict=True):
            conversation = c.metadata.get(Field.CONVERSATION_ID)
            if isinstance(conversation, str):
                best[conversation] = max(best.get(conversation, s), s)
        for i, c in enumerate(candidates):
            conversation = c.metadata.get(Field.CONVERSATION_ID)
            if isinstance(conversation, str):
                scores[i] += ranking.conversation_boost * best[conversation]
    for c, s in zip(candidates, scores, strict=True):
        c.score = s * _relevance(c.metadata, ranking, now)
    return sorted(candidates, key=_order)


def _order(c: Candidate) -> tuple[float, int, int, str]:
    big = 1 << 30
    return (
        -c.score,
        c.dense_rank if c.dense_rank is not None else big,
        c.text_rank if c.text_rank is not None else big,
        c.key,
    )


def _relevance(metadata: Mapping[str, Any], ranking: Ranking, now: float) -> float:
    """The multiplier for type, confidence and (when enabled) recency."""
    factor = 1.0
    kind = metadata.get(Field.MEMORY_TYPE)
    if isinstance(kind, str):
        factor *= ranking.type_weights.get(kind, 1.0)
    confidence = number(metadata.get(Field.CONFIDENCE))
    if confidence is not None:
        factor *= 1.0 - ranking.confidence_weight + ranking.confidence_weight * min(max(confidence, 0.0), 1.0)
    if ranking.recency_half_life_days is not None:
        when = _when(metadata)
        if when is not None:
            age_days = max(now - when, 0.0) / _DAY
            decay = 0.5 ** (age_days / ranking.recency_half_life_days)
            factor *= 1.0 - ranking.recency_weight + ranking.recency_weight * decay
    return factor


def diversify(
    ranked: Sequence[Candidate], vectors: Mapping[str, NDArray[np.float32]], trade_off: float, top_k: int
) -> list[Candidate]:
    """Maximal marginal relevance: pick ``top_k``, each penalised by its closeness to those picked.

    Candidates without a vector keep their place in the tail.
    """
    pool = [c for c in ranked if c.key in vectors]
    rest = [c for c in ranked if c.key not in vectors]
    if not pool:
        return list(ranked)
    matrix = np.stack([vectors[c.key] for c in pool]).astype(np.float64)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    matrix /= np.where(norms > 0, norms, 1.0)
    similarity = matrix @ matrix.T
    scores = np.array([c.score for c in pool])
    closest = np.full(len(pool), -np.inf)
    chosen: list[int] = []
    remaining = np.ones(len(pool), dtype=bool)
    for _ in range(min(top_k, len(pool))):
        penalty = np.where(np.isfinite(closest), closest, 0.0)
        value = np.where(remaining, scores - trade_off * penalty, -np.inf)
        pick = int(np.argmax(value))
        chosen.append(pick)
        remaining[pick] = False
        closest = np.maximum(closest, similarity[pick])
    picked = [pool[i] for i in chosen]
    leftover = [pool[i] for i in range(len(pool)) if remaining[i]]
    return picked + sorted(leftover + rest, key=_order)
