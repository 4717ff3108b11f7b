"""Retrieval metrics: hand-computed values on tiny ranked lists, aggregation, and invariants."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from strands_vector_memory.core import ValidationError
from strands_vector_memory.evals import (
    DEFAULT_KS,
    QuestionScore,
    RankedUnit,
    aggregate,
    report,
    score_question,
)


def turn(dia_id: str) -> RankedUnit:
    """A turn unit: covers exactly itself, in the session its id names."""
    return RankedUnit(frozenset({dia_id}), int(dia_id[1:].split(":")[0]))


def summary(session: int, size: int) -> RankedUnit:
    """A session summary unit: covers every turn of its session."""
    return RankedUnit(frozenset(f"D{session}:{i}" for i in range(1, size + 1)), session)


def score(
    units: list[RankedUnit], evidence: set[str], category: int = 1, ks: tuple[int, ...] = DEFAULT_KS
) -> QuestionScore:
    sessions = {int(e[1:].split(":")[0]) for e in evidence}
    return score_question(units, evidence, sessions, category, ks)


# --------------------------------------------------------------------------- hand-computed


def test_two_evidence_turns_found_at_ranks_2_and_4() -> None:
    units = [turn("D1:1"), turn("D2:5"), turn("D1:2"), turn("D3:1"), turn("D4:1")]
    result = score(units, {"D2:5", "D3:1"})
    assert dict(result.any_at) == {1: 0.0, 3: 1.0, 5: 1.0, 10: 1.0, 20: 1.0}
    assert dict(result.all_at) == {1: 0.0, 3: 0.0, 5: 1.0, 10: 1.0, 20: 1.0}
    assert result.reciprocal_rank == 0.5
    # Distinct sessions in order: 1, 2, 3, 4 (session 1 repeats at rank 3 and counts once).
    assert dict(result.session_any_at) == {1: 0.0, 3: 1.0, 5: 1.0, 10: 1.0, 20: 1.0}
    assert dict(result.session_all_at) == {1: 0.0, 3: 1.0, 5: 1.0, 10: 1.0, 20: 1.0}
    assert result.category == 1


def test_repeated_sessions_count_once_in_the_session_ranking() -> None:
    units = [turn("D1:1"), turn("D1:2"), turn("D1:3"), turn("D2:1"), turn("D2:2"), turn("D3:9")]
    result = score(units, {"D3:1", "D2:7"}, ks=(1, 2, 3))
    # Turn level: nothing found.
    assert dict(result.any_at) == {1: 0.0, 2: 0.0, 3: 0.0}
    assert result.reciprocal_rank == 0.0
    # Sessions ranked 1, 2, 3: session 2 is second, session 3 third.
    assert dict(result.session_any_at) == {1: 0.0, 2: 1.0, 3: 1.0}
    assert dict(result.session_all_at) == {1: 0.0, 2: 0.0, 3: 1.0}


def test_a_summary_covering_every_evidence_turn_satisfies_all_at_1() -> None:
    units = [summary(4, 10), turn("D1:1")]
    result = score(units, {"D4:2", "D4:9"}, ks=(1, 2))
    assert dict(result.any_at) == {1: 1.0, 2: 1.0}
    assert dict(result.all_at) == {1: 1.0, 2: 1.0}
    assert result.reciprocal_rank == 1.0
    assert dict(result.session_all_at) == {1: 1.0, 2: 1.0}


def test_an_observation_covers_the_turn_it_cites() -> None:
    observation = RankedUnit(frozenset({"D2:3"}), 2)
    result = score([turn("D1:1"), turn("D1:2"), observation], {"D2:3"}, ks=(2, 3))
    assert dict(result.any_at) == {2: 0.0, 3: 1.0}
    assert result.reciprocal_rank == pytest.approx(1 / 3)


def test_an_empty_list_scores_zero_and_ks_beyond_the_list_are_fine() -> None:
    assert score([], {"D1:1"}) == QuestionScore(
        category=1,
        any_at=dict.fromkeys(DEFAULT_KS, 0.0),
        all_at=dict.fromkeys(DEFAULT_KS, 0.0),
        reciprocal_rank=0.0,
        session_any_at=dict.fromkeys(DEFAULT_KS, 0.0),
        session_all_at=dict.fromkeys(DEFAULT_KS, 0.0),
    )
    assert dict(score([turn("D1:1")], {"D1:1"}, ks=(100,)).all_at) == {100: 1.0}


@pytest.mark.parametrize("ks", [(0,), (1, -3), (2.0,), (True,), ("1",)])
def test_bad_k_is_a_validation_error(ks: tuple[object, ...]) -> None:
    with pytest.raises(ValidationError, match="k must be an integer >= 1") as caught:
        score_question([turn("D1:1")], {"D1:1"}, {1}, 1, ks)  # type: ignore[arg-type]
    assert caught.value.field == "ks"


def test_empty_evidence_cannot_be_scored() -> None:
    with pytest.raises(ValidationError, match="evidence is empty"):
        score_question([turn("D1:1")], set(), {1}, 1)
    with pytest.raises(ValidationError, match="evidence_sessions is empty"):
        score_question([turn("D1:1")], {"D1:1"}, set(), 1)


# --------------------------------------------------------------------------- aggregate and report


def two_categories() -> list[QuestionScore]:
    ks = (1, 3)
    return [
        score([turn("D1:1")], {"D1:1"}, category=1, ks=ks),  # all hits at rank 1
        score([turn("D1:2"), turn("D2:2"), turn("D1:1")], {"D1:1"}, category=1, ks=ks),  # rank 3
        score([turn("D2:1")], {"D1:1"}, category=2, ks=ks),  # miss
    ]


def test_aggregate_averages_every_metric() -> None:
    result = aggregate(two_categories())
    assert list(result) == [
        "any@1",
        "any@3",
        "all@1",
        "all@3",
        "mrr",
        "session_any@1",
        "session_any@3",
        "session_all@1",
        "session_all@3",
        "questions",
    ]
    assert result["any@1"] == pytest.approx(1 / 3)
    assert result["any@3"] == pytest.approx(2 / 3)
    assert result["all@3"] == pytest.approx(2 / 3)
    assert result["mrr"] == pytest.approx((1 + 1 / 3 + 0) / 3)
    assert result["session_any@1"] == pytest.approx(2 / 3)  # the rank-3 turn's session is first
    assert result["session_all@3"] == pytest.approx(2 / 3)
    assert result["questions"] == 3


def test_aggregate_of_nothing_counts_zero_questions() -> None:
    assert aggregate([]) == {"questions": 0}


def test_aggregate_rejects_scores_with_different_ks() -> None:
    mixed = [score([turn("D1:1")], {"D1:1"}, ks=(1, 3)), score([turn("D1:1")], {"D1:1"}, ks=(1, 5))]
    with pytest.raises(ValidationError, match="different ks"):
        aggregate(mixed)


def test_report_shape() -> None:
    scores = two_categories()
    result = report(scores)
    assert set(result) == {"questions", "overall", "by_category"}
    assert result["questions"] == 3
    assert result["overall"] == aggregate(scores)
    assert list(result["by_category"]) == ["1", "2"]
    first, second = result["by_category"]["1"], result["by_category"]["2"]
    assert first["name"] == "multi-hop"
    assert first["questions"] == 2
    assert first["mrr"] == pytest.approx((1 + 1 / 3) / 2)
    assert first["any@3"] == 1.0
    assert second == {**aggregate(scores[2:]), "name": "temporal", "questions": 1}
    assert second["any@3"] == 0.0
    assert json.loads(json.dumps(result)) == result


def test_report_names_unknown_categories() -> None:
    result = report([score([turn("D1:1")], {"D1:1"}, category=9)])
    assert result["by_category"]["9"]["name"] == "category 9"
    assert report([]) == {"questions": 0, "overall": {"questions": 0}, "by_category": {}}


# --------------------------------------------------------------------------- properties

TURN_IDS = [f"D{s}:{t}" for s in range(1, 4) for t in range(1, 4)]
unit_strategy = st.builds(
    lambda session, turns: RankedUnit(frozenset(f"D{session}:{t}" for t in turns), session),
    st.integers(1, 3),
    st.sets(st.integers(1, 3), min_size=1, max_size=3),
)


@given(
    units=st.lists(unit_strategy, max_size=12),
    evidence=st.sets(st.sampled_from(TURN_IDS), min_size=1, max_size=4),
    ks=st.lists(st.integers(1, 15), min_size=1, max_size=6, unique=True),
)
def test_scores_are_monotone_in_k_and_all_never_beats_any(
    units: list[RankedUnit], evidence: set[str], ks: list[int]
) -> None:
    result = score(units, evidence, ks=tuple(ks))
    ordered = sorted(ks)
    for at in (result.any_at, result.all_at, result.session_any_at, result.session_all_at):
        assert list(at) == ordered
        values = [at[k] for k in ordered]
        assert values == sorted(values)
        assert set(values) <= {0.0, 1.0}
    for k in ordered:
        assert result.all_at[k] <= result.any_at[k]
        assert result.session_all_at[k] <= result.session_any_at[k]
        # Finding an evidence turn finds its session, and the sessions rank no later than the turns.
        assert result.any_at[k] <= result.session_any_at[k]
        assert result.all_at[k] <= result.session_all_at[k]
    assert 0.0 <= result.reciprocal_rank <= 1.0
    # any@k is a hit exactly when the first hit's rank is within k.
    for k in ordered:
        assert result.any_at[k] == (1.0 if result.reciprocal_rank >= 1 / k else 0.0)


@given(
    units=st.lists(unit_strategy, max_size=12),
    evidence=st.sets(st.sampled_from(TURN_IDS), min_size=1, max_size=4),
)
def test_a_list_covering_all_evidence_scores_all_at_its_length(units: list[RankedUnit], evidence: set[str]) -> None:
    covered = frozenset().union(*(u.turns for u in units))
    result = score(units, evidence, ks=(max(len(units), 1),))
    assert result.all_at[max(len(units), 1)] == (1.0 if evidence <= covered else 0.0)
