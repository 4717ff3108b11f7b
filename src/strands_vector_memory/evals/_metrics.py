"""Retrieval scores for evidence-annotated questions, at turn and at session level.

A retriever answers a question with a ranked list of *units*: a turn, a generated
observation, a session summary, a chunk. Units differ in what they cover, so each is
scored by the turns it covers (a turn covers itself, an observation the turn it cites,
a summary every turn of its session) rather than by what it is. That keeps systems
that index different units comparable against the same evidence.

Turn level is the score to judge by. Session level saturates fast (a LoCoMo
conversation has ~27 sessions, so ten random ones contain an evidence session about
44% of the time); it is reported to show when a system finds the right sitting but
not the right turn.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final

from ..core import ValidationError
from ._locomo import CATEGORY_NAMES

__all__ = ["DEFAULT_KS", "QuestionScore", "RankedUnit", "aggregate", "report", "score_question"]

DEFAULT_KS: Final = (1, 3, 5, 10, 20)


@dataclass(frozen=True, slots=True)
class RankedUnit:
    """One retrieved unit: the turn ids it covers and the session it belongs to."""

    turns: frozenset[str]
    session: int


@dataclass(frozen=True, slots=True)
class QuestionScore:
    """The scores of one question; each ``*_at`` maps k to 1.0 (hit within the first k) or 0.0."""

    category: int
    any_at: Mapping[int, float]
    all_at: Mapping[int, float]
    reciprocal_rank: float
    session_any_at: Mapping[int, float]
    session_all_at: Mapping[int, float]


def score_question(
    units: Sequence[RankedUnit],
    evidence: Collection[str],
    evidence_sessions: Collection[int],
    category: int,
    ks: Sequence[int] = DEFAULT_KS,
) -> QuestionScore:
    """Score one ranked list against the question's evidence turns and their sessions.

    ``any@k`` is 1 when one of the first k units covers some evidence turn, ``all@k``
    when together they cover every evidence turn; ``reciprocal_rank`` is 1/rank of the
    first unit covering any evidence turn (0 if none does). Session scores rank the
    distinct sessions of the units in order of first appearance, so ten turns from one
    session count as one session.

    Raises:
        ValidationError: A k is not an integer >= 1, or the evidence is empty (the
            question has nothing to find and cannot be scored).
    """
    checked = _check_ks(ks)
    wanted = frozenset(evidence)
    wanted_sessions = frozenset(evidence_sessions)
    if not wanted:
        raise ValidationError("evidence is empty: the question cannot be scored", field="evidence")
    if not wanted_sessions:
        raise ValidationError("evidence_sessions is empty: the question cannot be scored", field="evidence_sessions")
    turn_any, turn_all = _hit_ranks((unit.turns for unit in units), wanted)
    session_any, session_all = _hit_ranks(({s} for s in _distinct_sessions(units)), wanted_sessions)
    return QuestionScore(
        category=category,
        any_at=_within(turn_any, checked),
        all_at=_within(turn_all, checked),
        reciprocal_rank=0.0 if turn_any is None else 1.0 / turn_any,
        session_any_at=_within(session_any, checked),
        session_all_at=_within(session_all, checked),
    )


def aggregate(scores: Sequence[QuestionScore]) -> dict[str, float | int]:
    """Means over ``scores``: ``any@k``, ``all@k``, ``mrr``, ``session_any@k``, ``session_all@k``, ``questions``.

    Every score must use the same ks, so each mean is over the same questions. No
    scores give ``{"questions": 0}``: a mean of nothing is not a number.

    Raises:
        ValidationError: The scores were computed with different ks.
    """
    if not scores:
        return {"questions": 0}
    ks = sorted(scores[0].any_at)
    for score in scores:
        if sorted(score.any_at) != ks:
            raise ValidationError(
                f"scores use different ks ({ks} and {sorted(score.any_at)}); score every question with the same ks",
                field="ks",
            )
    n = len(scores)
    out: dict[str, float | int] = {}
    for prefix, attr in (("any", "any_at"), ("all", "all_at")):
        for k in ks:
            out[f"{prefix}@{k}"] = sum(getattr(s, attr)[k] for s in scores) / n
    out["mrr"] = sum(s.reciprocal_rank for s in scores) / n
    for prefix, attr in (("session_any", "session_any_at"), ("session_all", "session_all_at")):
        for k in ks:
            out[f"{prefix}@{k}"] = sum(getattr(s, attr)[k] for s in scores) / n
    out["questions"] = n
    return out


def report(scores: Sequence[QuestionScore]) -> dict[str, Any]:
    """Overall and per-category means, JSON-ready (category keys are strings, in numeric order)."""
    by_category: dict[int, list[QuestionScore]] = {}
    for score in scores:
        by_category.setdefault(score.category, []).append(score)
    return {
        "questions": len(scores),
        "overall": aggregate(scores),
        "by_category": {
            str(category): {
                **aggregate(group),
                "name": CATEGORY_NAMES.get(category, f"category {category}"),
                "questions": len(group),
            }
            for category, group in sorted(by_category.items())
        },
    }


def _check_ks(ks: Sequence[int]) -> tuple[int, ...]:
    for k in ks:
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValidationError(f"k must be an integer >= 1, got {k!r}", field="ks", limit=">= 1")
    return tuple(sorted(set(ks)))


def _distinct_sessions(units: Iterable[RankedUnit]) -> list[int]:
    """Sessions in order of first appearance."""
    return list(dict.fromkeys(unit.session for unit in units))


def _hit_ranks(covers: Iterable[Collection[Any]], wanted: frozenset[Any]) -> tuple[int | None, int | None]:
    """1-based ranks at which the ranked ``covers`` first reach some, and all, of ``wanted``."""
    first: int | None = None
    missing = set(wanted)
    for rank, covered in enumerate(covers, 1):
        if first is None and not wanted.isdisjoint(covered):
            first = rank
        missing.difference_update(covered)
        if not missing:
            return first, rank
    return first, None


def _within(rank: int | None, ks: Sequence[int]) -> Mapping[int, float]:
    return MappingProxyType({k: 1.0 if rank is not None and rank <= k else 0.0 for k in ks})
