"""Recall's ordering on hand-made candidates: fusion, signals, relevance and diversity.

The expected scores are worked out by hand from the formulas in ``memory/_ranking.py``.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

from strands_vector_memory.backends import QueryMatch, TextMatch
from strands_vector_memory.core import ValidationError
from strands_vector_memory.memory import Fusion, Ranking, RetrievalMode
from strands_vector_memory.memory._ranking import Candidate, collect, diversify, rank

NOW = 1_750_000_000.0
DAY = 86_400.0


def utc(year: int, month: int, day: int) -> float:
    return dt.datetime(year, month, day, tzinfo=dt.timezone.utc).timestamp()


def cand(
    key: str,
    similarity: float | None = None,
    dense_rank: int | None = None,
    text_score: float | None = None,
    text_rank: int | None = None,
    **metadata: Any,
) -> Candidate:
    return Candidate(key, dict(metadata), similarity, dense_rank, text_score, text_rank)


def scores(ranked: list[Candidate]) -> dict[str, float]:
    return {c.key: c.score for c in ranked}


def order(ranked: list[Candidate]) -> list[str]:
    return [c.key for c in ranked]


def dense_only(**changes: Any) -> Ranking:
    """Scores are the bare similarities, plus exactly the knobs a test turns on."""
    return Ranking.plain(mode="dense").with_(**changes)


# --------------------------------------------------------------------------- Ranking validation


def test_the_defaults_are_valid_and_hybrid_weighted() -> None:
    ranking = Ranking()
    assert ranking.mode is RetrievalMode.HYBRID
    assert ranking.fusion is Fusion.WEIGHTED
    assert ranking.recency_half_life_days is None
    assert ranking.type_weights == {}


def test_modes_and_fusions_are_accepted_as_strings() -> None:
    ranking = Ranking(mode="text", fusion="rrf")  # type: ignore[arg-type]
    assert ranking.mode is RetrievalMode.TEXT
    assert ranking.fusion is Fusion.RRF


def test_plain_turns_every_signal_off() -> None:
    plain = Ranking.plain("dense", "rrf")
    assert (plain.mode, plain.fusion) == (RetrievalMode.DENSE, Fusion.RRF)
    assert (plain.name_boost, plain.time_boost, plain.conversation_boost) == (0.0, 0.0, 0.0)


BAD_VALUES: list[tuple[str, Any]] = [
    ("mode", "sparse"),
    ("mode", None),
    ("fusion", "max"),
    ("dense_weight", -0.1),
    ("dense_weight", float("nan")),
    ("dense_weight", float("inf")),
    ("dense_weight", True),
    ("dense_weight", "1"),
    ("name_boost", -1),
    ("time_boost", float("-inf")),
    ("time_slack_days", -1.0),
    ("conversation_boost", None),
    ("diversity", -0.5),
    ("recency_weight", 1.5),
    ("recency_weight", -0.1),
    ("confidence_weight", 2),
    ("confidence_weight", float("nan")),
    ("recency_half_life_days", 0),
    ("recency_half_life_days", -3.0),
    ("recency_half_life_days", float("inf")),
    ("recency_half_life_days", True),
    ("candidates", 0),
    ("candidates", 101),
    ("candidates", 10.0),
    ("candidates", True),
    ("rrf_k", 0),
    ("rrf_k", 10_001),
    ("rrf_k", "60"),
    ("name_fields", "speaker"),
    ("name_fields", ("speaker", 3)),
    ("name_fields", None),
    ("name_fields", 5),
    ("type_weights", None),
    ("type_weights", "ab"),
    ("type_weights", [("semantic", 1.0)]),
]


@pytest.mark.parametrize(("name", "value"), BAD_VALUES, ids=[f"{n}={v!r}" for n, v in BAD_VALUES])
def test_a_bad_value_is_rejected_naming_its_field(name: str, value: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        Ranking(**{name: value})
    assert caught.value.field == name
    with pytest.raises(ValidationError) as again:
        Ranking().with_(**{name: value})
    assert again.value.field == name


@pytest.mark.parametrize("weight", [-1.0, float("nan"), "2", None])
def test_a_bad_type_weight_is_rejected_naming_the_type(weight: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        Ranking(type_weights={"semantic": 1.0, "episodic": weight})
    assert caught.value.field == "type_weights['episodic']"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("recency_weight", 0.0),
        ("recency_weight", 1),
        ("confidence_weight", 1.0),
        ("candidates", 1),
        ("candidates", 100),
        ("rrf_k", 1),
        ("rrf_k", 10_000),
        ("diversity", 0),
        ("recency_half_life_days", 0.5),
        ("recency_half_life_days", None),
    ],
)
def test_values_at_the_bounds_are_accepted(name: str, value: Any) -> None:
    assert getattr(Ranking(**{name: value}), name) == value


def test_name_fields_and_type_weights_are_copied() -> None:
    fields = ["speaker"]
    weights = {"semantic": 2.0}
    ranking = Ranking(name_fields=fields, type_weights=weights)  # type: ignore[arg-type]
    fields.append("author")
    weights["semantic"] = 0.0
    assert ranking.name_fields == ("speaker",)
    assert ranking.type_weights == {"semantic": 2.0}


def test_with_changes_only_the_named_knobs() -> None:
    base = Ranking(dense_weight=2.0)
    changed = base.with_(mode="text", diversity=0.3)
    assert changed.mode is RetrievalMode.TEXT
    assert (changed.diversity, changed.dense_weight) == (0.3, 2.0)
    assert base.mode is RetrievalMode.HYBRID


def test_with_rejects_unknown_names() -> None:
    with pytest.raises(ValidationError) as caught:
        Ranking().with_(dense_wieght=1.0, mood="x")
    assert caught.value.field == "ranking"
    assert "dense_wieght" in str(caught.value)
    assert "mood" in str(caught.value)


# --------------------------------------------------------------------------- collect


def test_collect_unites_both_lists_by_key() -> None:
    dense = [QueryMatch("a", 0.2, {"content": "A"}), QueryMatch("b", 0.4, {"content": "B"})]
    text = [TextMatch("c", 8.0, {"content": "C"}), TextMatch("a", 4.0, {"content": "A"})]
    found = {c.key: c for c in collect(dense, text)}
    assert set(found) == {"a", "b", "c"}
    a, b, c = found["a"], found["b"], found["c"]
    assert a.similarity == pytest.approx(0.8)
    assert (a.dense_rank, a.text_score, a.text_rank) == (0, 4.0, 1)
    assert b.similarity == pytest.approx(0.6)
    assert (b.dense_rank, b.text_score, b.text_rank) == (1, None, None)
    assert (c.similarity, c.dense_rank, c.text_score, c.text_rank) == (None, None, 8.0, 0)
    assert c.metadata == {"content": "C"}


def test_collect_reads_similarity_as_one_minus_distance() -> None:
    found = collect([QueryMatch("far", 1.5), QueryMatch("same", 0.0), QueryMatch("unknown", None)], [])
    assert {c.key: c.similarity for c in found} == {"far": pytest.approx(-0.5), "same": 1.0, "unknown": 0.0}


def test_collect_copies_metadata_and_tolerates_none() -> None:
    metadata = {"content": "x"}
    (candidate,) = collect([QueryMatch("k", 0.1, metadata)], [])
    candidate.metadata["content"] = "changed"
    assert metadata == {"content": "x"}
    (bare,) = collect([], [TextMatch("t", 1.0, None)])
    assert bare.metadata == {}


def test_collect_of_nothing_is_empty() -> None:
    assert collect([], []) == []


# --------------------------------------------------------------------------- fusion


def four() -> list[Candidate]:
    """a: dense 1st (0.8) text 2nd (4); b: dense only (0.6); c: dense 3rd (0.5) text 1st (8); d: text only (2)."""
    dense = [QueryMatch("a", 0.2, {}), QueryMatch("b", 0.4, {}), QueryMatch("c", 0.5, {})]
    text = [TextMatch("c", 8.0, {}), TextMatch("a", 4.0, {}), TextMatch("d", 2.0, {})]
    return collect(dense, text)


def test_weighted_fusion_scales_bm25_by_the_best_and_adds_weighted_similarity() -> None:
    ranked = rank(four(), "q", Ranking.plain(), now=NOW)
    # (bm25 / 8 + 1.5 * similarity) / 2.5; d was not reached by the vectors: the lowest similarity (0.5).
    assert scores(ranked) == {
        "a": pytest.approx((0.5 + 1.5 * 0.8) / 2.5),
        "b": pytest.approx((0.0 + 1.5 * 0.6) / 2.5),
        "c": pytest.approx((1.0 + 1.5 * 0.5) / 2.5),
        "d": pytest.approx((0.25 + 1.5 * 0.5) / 2.5),
    }
    assert order(ranked) == ["c", "a", "d", "b"]


def test_weighted_fusion_follows_the_dense_weight() -> None:
    ranked = rank(four(), "q", Ranking.plain().with_(dense_weight=0.5), now=NOW)
    assert scores(ranked) == {
        "a": pytest.approx((0.5 + 0.5 * 0.8) / 1.5),
        "b": pytest.approx((0.0 + 0.5 * 0.6) / 1.5),
        "c": pytest.approx((1.0 + 0.5 * 0.5) / 1.5),
        "d": pytest.approx((0.25 + 0.5 * 0.5) / 1.5),
    }
    assert order(ranked) == ["c", "a", "d", "b"]


def test_weighted_fusion_with_zero_dense_weight_is_text_alone() -> None:
    ranked = rank(four(), "q", Ranking.plain().with_(dense_weight=0), now=NOW)
    assert scores(ranked) == {"a": 0.5, "b": 0.0, "c": 1.0, "d": 0.25}


def test_a_perfect_match_in_both_lists_scores_one() -> None:
    (only,) = rank(collect([QueryMatch("k", 0.0)], [TextMatch("k", 3.0)]), "q", Ranking.plain(), now=NOW)
    assert only.score == pytest.approx(1.0)


def test_weighted_fusion_without_text_hits_uses_similarity_alone() -> None:
    ranked = rank(collect([QueryMatch("a", 0.2), QueryMatch("b", 0.6)], []), "q", Ranking.plain(), now=NOW)
    assert scores(ranked) == {"a": pytest.approx(1.5 * 0.8 / 2.5), "b": pytest.approx(1.5 * 0.4 / 2.5)}


def test_weighted_fusion_of_text_hits_alone_has_no_similarity_floor() -> None:
    ranked = rank(collect([], [TextMatch("a", 2.0), TextMatch("b", 1.0)]), "q", Ranking.plain(), now=NOW)
    assert scores(ranked) == {"a": pytest.approx(1.0 / 2.5), "b": pytest.approx(0.5 / 2.5)}


def test_rrf_sums_reciprocal_ranks_normalised_by_a_double_first_place() -> None:
    ranked = rank(four(), "q", Ranking.plain(fusion="rrf"), now=NOW)
    top = 2 / 61
    assert scores(ranked) == {
        "a": pytest.approx((1 / 61 + 1 / 62) / top),
        "b": pytest.approx((1 / 62) / top),
        "c": pytest.approx((1 / 63 + 1 / 61) / top),
        "d": pytest.approx((1 / 63) / top),
    }
    assert order(ranked) == ["a", "c", "b", "d"]


def test_rrf_follows_its_k() -> None:
    ranked = rank(four(), "q", Ranking.plain(fusion="rrf").with_(rrf_k=1), now=NOW)
    assert scores(ranked) == {
        "a": pytest.approx(1 / 2 + 1 / 3),
        "b": pytest.approx(1 / 3),
        "c": pytest.approx(1 / 4 + 1 / 2),
        "d": pytest.approx(1 / 4),
    }
    rrf_first = rank(collect([QueryMatch("k", 0.9)], [TextMatch("k", 0.1)]), "q", Ranking.plain(fusion="rrf"), now=NOW)
    assert rrf_first[0].score == pytest.approx(1.0)


def test_dense_mode_scores_the_similarity() -> None:
    ranked = rank(four(), "q", Ranking.plain(mode="dense"), now=NOW)
    assert scores(ranked) == {"a": pytest.approx(0.8), "b": pytest.approx(0.6), "c": pytest.approx(0.5), "d": 0.0}
    assert order(ranked) == ["a", "b", "c", "d"]


def test_text_mode_scores_bm25_relative_to_the_best() -> None:
    ranked = rank(four(), "q", Ranking.plain(mode="text"), now=NOW)
    assert scores(ranked) == {"a": 0.5, "b": 0.0, "c": 1.0, "d": 0.25}
    assert order(ranked) == ["c", "a", "d", "b"]


def test_text_mode_with_non_positive_bm25_scores_zero() -> None:
    ranked = rank(collect([], [TextMatch("a", 0.0), TextMatch("b", -1.0)]), "q", Ranking.plain(mode="text"), now=NOW)
    assert scores(ranked) == {"a": 0.0, "b": 0.0}


def test_ranking_nothing_returns_nothing() -> None:
    assert rank([], "in May 2023, Alice", Ranking(), now=NOW) == []


# --------------------------------------------------------------------------- signals


def test_name_boost_goes_to_memories_by_the_named_speaker() -> None:
    candidates = [
        cand("by-caroline", 0.5, 0, speaker="Caroline"),
        cand("by-mel", 0.55, 1, speaker="Melanie"),
        cand("about-caroline", 0.52, 2, content="Caroline painted"),
    ]
    ranked = rank(candidates, "what did Caroline's sister say?", dense_only(name_boost=0.1), now=NOW)
    assert scores(ranked) == {
        "by-caroline": pytest.approx(0.6),
        "by-mel": pytest.approx(0.55),
        "about-caroline": pytest.approx(0.52),
    }
    assert order(ranked) == ["by-caroline", "by-mel", "about-caroline"]


def test_name_boost_reads_the_agent_id_and_custom_name_fields() -> None:
    candidates = [cand("agent", 0.5, 0, agent_id="planner"), cand("author", 0.5, 1, author="Nate")]
    default = rank(candidates, "what did the planner or Nate decide?", dense_only(name_boost=0.1), now=NOW)
    assert scores(default) == {"agent": pytest.approx(0.6), "author": pytest.approx(0.5)}
    custom = dense_only(name_boost=0.1, name_fields=("author",))
    assert scores(rank(candidates, "what did the planner or Nate decide?", custom, now=NOW)) == {
        "agent": pytest.approx(0.5),
        "author": pytest.approx(0.6),
    }


def test_name_boost_needs_a_whole_word_match() -> None:
    candidates = [cand("al", 0.5, 0, speaker="Al"), cand("alice", 0.4, 1, speaker="Alice")]
    ranked = rank(candidates, "what did Alice say?", dense_only(name_boost=0.2), now=NOW)
    assert scores(ranked) == {"al": pytest.approx(0.5), "alice": pytest.approx(0.6)}


def test_name_boost_of_zero_changes_nothing() -> None:
    candidates = [cand("a", 0.5, 0, speaker="Caroline")]
    assert rank(candidates, "Caroline", dense_only(), now=NOW)[0].score == pytest.approx(0.5)


def test_time_boost_covers_the_named_month_and_the_slack_after_it() -> None:
    candidates = [
        cand("in-may", 0.5, 0, created_at=utc(2023, 5, 31)),
        cand("june-20", 0.5, 1, created_at=utc(2023, 6, 20)),  # 20 days after May: within the slack
        cand("july-15", 0.5, 2, created_at=utc(2023, 7, 15)),  # 45 days after: outside
        cand("april", 0.5, 3, created_at=utc(2023, 4, 30)),  # before the month: never
        cand("undated", 0.5, 4),
    ]
    ranked = rank(candidates, "what happened in May 2023?", dense_only(time_boost=0.2), now=NOW)
    assert scores(ranked) == {
        "in-may": pytest.approx(0.7),
        "june-20": pytest.approx(0.7),
        "july-15": pytest.approx(0.5),
        "april": pytest.approx(0.5),
        "undated": pytest.approx(0.5),
    }


def test_time_slack_can_be_narrowed_to_the_month_itself() -> None:
    candidates = [cand("may", 0.5, 0, created_at=utc(2023, 5, 2)), cand("june-1", 0.5, 1, created_at=utc(2023, 6, 1))]
    ranked = rank(candidates, "May 2023", dense_only(time_boost=0.2, time_slack_days=0), now=NOW)
    assert scores(ranked) == {"may": pytest.approx(0.7), "june-1": pytest.approx(0.5)}


def test_time_boost_prefers_the_event_time_over_the_creation_time() -> None:
    candidates = [
        cand("told-later", 0.5, 0, event_time=utc(2022, 3, 10), created_at=utc(2023, 1, 1)),
        cand("created-then", 0.5, 1, event_time=utc(2020, 1, 1), created_at=utc(2022, 3, 10)),
    ]
    ranked = rank(candidates, "in March 2022", dense_only(time_boost=0.2), now=NOW)
    assert scores(ranked) == {"told-later": pytest.approx(0.7), "created-then": pytest.approx(0.5)}


def test_time_boost_for_a_bare_year_covers_the_year() -> None:
    candidates = [cand("in", 0.5, 0, created_at=utc(2022, 11, 30)), cand("out", 0.5, 1, created_at=utc(2021, 6, 1))]
    ranked = rank(candidates, "what did I buy in 2022?", dense_only(time_boost=0.2), now=NOW)
    assert scores(ranked) == {"in": pytest.approx(0.7), "out": pytest.approx(0.5)}


def test_a_query_without_a_date_gives_no_time_boost() -> None:
    candidates = [cand("a", 0.5, 0, created_at=utc(2023, 5, 1))]
    assert rank(candidates, "what happened?", dense_only(time_boost=0.2), now=NOW)[0].score == pytest.approx(0.5)


def test_conversation_boost_adds_a_share_of_the_conversations_best_score() -> None:
    candidates = [
        cand("x", 0.8, 0, conversation_id="c1"),
        cand("z", 0.5, 1, conversation_id="c2"),
        cand("w", 0.4, 2),
        cand("y", 0.2, 3, conversation_id="c1"),
    ]
    ranked = rank(candidates, "q", dense_only(conversation_boost=0.25), now=NOW)
    assert scores(ranked) == {
        "x": pytest.approx(0.8 + 0.25 * 0.8),
        "z": pytest.approx(0.5 + 0.25 * 0.5),
        "w": pytest.approx(0.4),
        "y": pytest.approx(0.2 + 0.25 * 0.8),
    }
    assert order(ranked) == ["x", "z", "w", "y"]  # w and y tie at 0.4: dense rank decides


def test_conversation_boost_builds_on_the_other_boosts() -> None:
    candidates = [
        cand("by-nate", 0.5, 0, conversation_id="c1", speaker="Nate"),
        cand("reply", 0.3, 1, conversation_id="c1", speaker="Joanna"),
    ]
    ranking = dense_only(name_boost=0.1, conversation_boost=0.5)
    ranked = rank(candidates, "what did Nate cook?", ranking, now=NOW)
    assert scores(ranked) == {"by-nate": pytest.approx(0.6 + 0.5 * 0.6), "reply": pytest.approx(0.3 + 0.5 * 0.6)}


def test_the_default_ranking_applies_every_signal() -> None:
    candidates = [
        cand("hit", 0.5, 0, speaker="Nate", conversation_id="c", created_at=utc(2022, 11, 5)),
        cand("plain", 0.9, 1),
    ]
    ranking = Ranking(mode="dense")  # type: ignore[arg-type]
    ranked = rank(candidates, "what did Nate cook in November 2022?", ranking, now=NOW)
    boosted = 0.5 + ranking.name_boost + ranking.time_boost
    assert scores(ranked) == {"hit": pytest.approx(boosted * (1 + ranking.conversation_boost)), "plain": 0.9}


# --------------------------------------------------------------------------- relevance multipliers


def test_type_weights_multiply_the_score() -> None:
    candidates = [
        cand("fact", 0.5, 0, memory_type="semantic"),
        cand("event", 0.5, 1, memory_type="episodic"),
        cand("other", 0.5, 2, memory_type="procedural"),
    ]
    ranked = rank(candidates, "q", dense_only(type_weights={"semantic": 2.0, "episodic": 0.5}), now=NOW)
    assert scores(ranked) == {"fact": pytest.approx(1.0), "event": pytest.approx(0.25), "other": pytest.approx(0.5)}
    assert order(ranked) == ["fact", "other", "event"]


@pytest.mark.parametrize(
    ("confidence", "factor"),
    [(1.0, 1.0), (0.2, 0.6), (0.0, 0.5), (-3.0, 0.5), (7.0, 1.0), (True, 1.0), ("0.1", 1.0)],
)
def test_confidence_scales_its_share_of_the_score(confidence: Any, factor: float) -> None:
    candidates = [cand("k", 0.8, 0, confidence=confidence)]
    ranked = rank(candidates, "q", dense_only(confidence_weight=0.5), now=NOW)
    assert ranked[0].score == pytest.approx(0.8 * factor)


def test_confidence_weight_one_makes_the_score_proportional_to_confidence() -> None:
    ranked = rank([cand("k", 0.8, 0, confidence=0.25)], "q", dense_only(confidence_weight=1.0), now=NOW)
    assert ranked[0].score == pytest.approx(0.2)


@pytest.mark.parametrize(
    ("age_days", "factor"),
    [(0.0, 1.0), (10.0, 0.75), (20.0, 0.625), (-5.0, 1.0)],
    ids=["new", "one-half-life", "two-half-lives", "future"],
)
def test_recency_decays_with_the_half_life(age_days: float, factor: float) -> None:
    candidates = [cand("k", 0.8, 0, created_at=NOW - age_days * DAY)]
    ranking = dense_only(recency_half_life_days=10.0, recency_weight=0.5)
    assert rank(candidates, "q", ranking, now=NOW)[0].score == pytest.approx(0.8 * factor)


def test_recency_uses_the_event_time_and_ignores_undated_memories() -> None:
    candidates = [
        cand("old-event", 0.8, 0, event_time=NOW - 10 * DAY, created_at=NOW),
        cand("undated", 0.8, 1),
    ]
    ranking = dense_only(recency_half_life_days=10.0, recency_weight=1.0)
    assert scores(rank(candidates, "q", ranking, now=NOW)) == {"old-event": pytest.approx(0.4), "undated": 0.8}


def test_recency_is_off_by_default() -> None:
    candidates = [cand("ancient", 0.8, 0, created_at=0.0)]
    assert rank(candidates, "q", dense_only(), now=NOW)[0].score == pytest.approx(0.8)


def test_multipliers_combine() -> None:
    candidates = [cand("k", 0.8, 0, memory_type="semantic", confidence=0.2, created_at=NOW - 10 * DAY)]
    ranking = dense_only(type_weights={"semantic": 2.0}, recency_half_life_days=10.0, confidence_weight=0.5)
    assert rank(candidates, "q", ranking, now=NOW)[0].score == pytest.approx(0.8 * 2.0 * 0.6 * 0.75)


# --------------------------------------------------------------------------- ties


def test_ties_are_broken_by_dense_rank_then_text_rank_then_key() -> None:
    candidates = [
        cand("text-2", None, None, 1.0, 2),
        cand("dense-1", 0.5, 1),
        cand("zz-none", 0.5),
        cand("text-0", None, None, 1.0, 0),
        cand("dense-0", 0.5, 0),
        cand("aa-none", 0.5),
    ]
    # Text mode with equal bm25 for the text hits; dense hits score 0 in text mode, so compare within groups.
    dense_ties = rank(candidates, "q", Ranking.plain(mode="dense"), now=NOW)
    assert order(dense_ties) == ["dense-0", "dense-1", "aa-none", "zz-none", "text-0", "text-2"]
    text_ties = rank(candidates, "q", Ranking.plain(mode="text"), now=NOW)
    assert order(text_ties) == ["text-0", "text-2", "dense-0", "dense-1", "aa-none", "zz-none"]


def test_the_order_does_not_depend_on_the_input_order() -> None:
    expected = order(rank(four(), "q", Ranking(), now=NOW))
    for seed in range(5):
        shuffled = four()
        random.Random(seed).shuffle(shuffled)
        assert order(rank(shuffled, "q", Ranking(), now=NOW)) == expected


# --------------------------------------------------------------------------- diversify


def unit(*values: float) -> NDArray[np.float32]:
    v = np.asarray(values, dtype=np.float32)
    out: NDArray[np.float32] = v / np.linalg.norm(v)
    return out


def scored(key: str, score: float, dense_rank: int) -> Candidate:
    candidate = cand(key, score, dense_rank)
    candidate.score = score
    return candidate


VECTORS = {"a": unit(1, 0, 0), "a-copy": unit(0.99, 0.14, 0), "other": unit(0, 1, 0)}


def test_diversify_prefers_a_dissimilar_second_item_over_a_near_duplicate() -> None:
    ranked = [scored("a", 0.9, 0), scored("a-copy", 0.85, 1), scored("other", 0.6, 2)]
    picked = diversify(ranked, VECTORS, 0.5, 2)
    assert order(picked) == ["a", "other", "a-copy"]


def test_diversify_with_zero_trade_off_keeps_the_ranking() -> None:
    ranked = [scored("a", 0.9, 0), scored("a-copy", 0.85, 1), scored("other", 0.6, 2)]
    assert order(diversify(ranked, VECTORS, 0.0, 3)) == ["a", "a-copy", "other"]


def test_diversify_with_a_small_trade_off_keeps_a_much_better_duplicate() -> None:
    ranked = [scored("a", 0.9, 0), scored("a-copy", 0.85, 1), scored("other", 0.2, 2)]
    assert order(diversify(ranked, VECTORS, 0.1, 2)) == ["a", "a-copy", "other"]


def test_diversify_ignores_vector_length() -> None:
    vectors = {k: (v * (10.0 if k == "a-copy" else 1.0)).astype(np.float32) for k, v in VECTORS.items()}
    ranked = [scored("a", 0.9, 0), scored("a-copy", 0.85, 1), scored("other", 0.6, 2)]
    assert order(diversify(ranked, vectors, 0.5, 2)) == ["a", "other", "a-copy"]


def test_candidates_without_a_vector_join_the_tail_in_rank_order() -> None:
    ranked = [
        scored("no-vector", 0.95, 0),
        scored("a", 0.9, 1),
        scored("a-copy", 0.85, 2),
        scored("other", 0.6, 3),
    ]
    picked = diversify(ranked, VECTORS, 0.5, 2)
    assert order(picked) == ["a", "other", "no-vector", "a-copy"]


def test_diversify_without_any_vectors_keeps_the_ranking() -> None:
    ranked = [scored("x", 0.9, 0), scored("y", 0.8, 1)]
    assert order(diversify(ranked, {}, 1.0, 2)) == ["x", "y"]


def test_diversify_returns_every_candidate_once() -> None:
    ranked = [scored("a", 0.9, 0), scored("a-copy", 0.85, 1), scored("other", 0.6, 2), scored("none", 0.1, 3)]
    for top_k in (1, 2, 3, 10):
        picked = diversify(ranked, VECTORS, 0.7, top_k)
        assert sorted(order(picked)) == sorted(order(ranked))
