"""Hybrid recall end to end: BM25 and vectors fused, modes, fallback, context, diversity.

Every test runs the real embedder on a real embedded store.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from numpy.typing import ArrayLike

from strands_vector_memory import EmbeddedBackend, Field, MiniLMEmbedder, NewMemory, ValidationError, VectorMemory
from strands_vector_memory.backends import IndexInfo, QueryMatch, TextSearchBackend, VectorBackend, VectorPage
from strands_vector_memory.core import DistanceMetric, MemoryRecord
from strands_vector_memory.memory import Ranking, RetrievalMode

PARCELS = [
    "The invoice for ZX-4471 lists a customs fee of 30 euros",
    "Where is my parcel? The tracking page shows it in transit",
    "My parcel has not arrived yet and the delivery is late",
    "The package was lost by the courier",
    "I asked support about the status of my delivery",
    "The parcel from Berlin arrived on time",
    "The shipment left the warehouse yesterday",
]
PARCEL_QUERY = "what is the status of my parcel ZX-4471?"
INVOICE = PARCELS[0]


def contents(memories: Sequence[Any]) -> list[str]:
    return [m.content for m in memories]


@pytest.fixture
def parcels(memory: VectorMemory) -> VectorMemory:
    memory.remember_many(PARCELS, user_id="u")
    return memory


# --------------------------------------------------------------------------- modes


def test_hybrid_finds_an_exact_rare_keyword_that_dense_ranks_lower(parcels: VectorMemory) -> None:
    dense = contents(parcels.recall(PARCEL_QUERY, user_id="u", top_k=7, mode="dense"))
    assert dense.index(INVOICE) > 0  # the small model is swayed by "status of my parcel"
    hybrid = parcels.recall(PARCEL_QUERY, user_id="u", top_k=3)
    assert hybrid[0].content == INVOICE
    assert hybrid[0].score is not None and hybrid[0].score > hybrid[1].score  # type: ignore[operator]


def test_text_mode_ranks_by_bm25_alone(parcels: VectorMemory) -> None:
    found = parcels.recall("ZX-4471", user_id="u", top_k=5, mode="text")
    assert contents(found) == [INVOICE]
    assert found[0].metadata[Field.CONFIDENCE] == 0.9  # the default for source "api"
    assert found[0].score == pytest.approx(1.0 * (0.5 + 0.5 * 0.9))  # a perfect match, weighed by confidence
    assert found[0].distance is None  # the vector search did not run


def test_text_mode_finds_nothing_for_a_query_of_stopwords(parcels: VectorMemory) -> None:
    assert parcels.recall("what is it?", user_id="u", mode="text") == []


def test_dense_mode_scores_are_cosine_similarities(parcels: VectorMemory) -> None:
    found = parcels.recall(PARCEL_QUERY, user_id="u", top_k=7, mode="dense", ranking=Ranking.plain())
    assert len(found) == 7
    for memory in found:
        assert memory.distance is not None
        assert memory.score == pytest.approx(1.0 - memory.distance)


@pytest.mark.parametrize("mode", [RetrievalMode.HYBRID, RetrievalMode.DENSE, RetrievalMode.TEXT, "hybrid", "text"])
def test_every_mode_finds_the_keyword_memory(parcels: VectorMemory, mode: RetrievalMode | str) -> None:
    assert INVOICE in contents(parcels.recall("customs fee invoice", user_id="u", top_k=3, mode=mode))


@pytest.mark.parametrize("mode", ["sparse", "", "HYBRID", 3])
def test_an_unknown_mode_is_rejected(parcels: VectorMemory, mode: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        parcels.recall(PARCEL_QUERY, user_id="u", mode=mode)
    assert caught.value.field == "mode"


def test_a_per_call_ranking_overrides_the_default(parcels: VectorMemory) -> None:
    default = parcels.recall(PARCEL_QUERY, user_id="u", top_k=3)
    plain_dense = parcels.recall(PARCEL_QUERY, user_id="u", top_k=3, ranking=Ranking.plain(mode="dense"))
    assert default[0].content == INVOICE
    assert plain_dense[0].content != INVOICE
    assert parcels.ranking == Ranking()  # the call did not change the memory's default


def test_mode_applies_on_top_of_a_per_call_ranking(parcels: VectorMemory) -> None:
    found = parcels.recall("ZX-4471", user_id="u", top_k=5, ranking=Ranking.plain(mode="dense"), mode="text")
    assert contents(found) == [INVOICE]


def test_the_memory_wide_ranking_is_the_default_for_every_call(
    tmp_path: Path, embedder: MiniLMEmbedder, clock: Any
) -> None:
    with VectorMemory(EmbeddedBackend(tmp_path), embedder, clock=clock, ranking=Ranking.plain(mode="text")) as vm:
        vm.remember_many(PARCELS, user_id="u")
        assert contents(vm.recall("ZX-4471", user_id="u", top_k=5)) == [INVOICE]
        assert len(vm.recall("ZX-4471", user_id="u", top_k=5, mode="dense")) == 5


def test_a_ranking_that_is_not_a_ranking_is_rejected(parcels: VectorMemory) -> None:
    with pytest.raises(ValidationError) as caught:
        parcels.recall(PARCEL_QUERY, user_id="u", ranking={"mode": "dense"})  # type: ignore[arg-type]
    assert caught.value.field == "ranking"


def test_text_search_respects_scope(parcels: VectorMemory) -> None:
    parcels.remember("Bob's parcel ZX-9000 is at the depot", user_id="bob")
    for mode in ("text", "hybrid"):
        found = parcels.recall("ZX-9000 parcel depot", user_id="u", top_k=10, mode=mode)
        assert all(m.metadata[Field.USER_ID] == "u" for m in found)
        bob = parcels.recall("ZX-9000 parcel depot", user_id="bob", top_k=10, mode=mode)
        assert contents(bob) == ["Bob's parcel ZX-9000 is at the depot"]


def test_text_search_skips_expired_memories(memory: VectorMemory, clock: Any) -> None:
    memory.remember("the locker code is QX-1188", user_id="u", ttl=60)
    assert len(memory.recall("QX-1188", user_id="u", mode="text")) == 1
    clock.now += 61
    assert memory.recall("QX-1188", user_id="u", mode="text") == []


def test_recall_before_anything_is_stored_is_empty_in_every_mode(memory: VectorMemory) -> None:
    for mode in RetrievalMode:
        assert memory.recall("anything at all", user_id="u", mode=mode) == []


def test_a_query_with_a_unicode_case_variant_month_does_not_crash_recall(parcels: VectorMemory) -> None:
    found = parcels.recall("what arrived in \u017fept 2022?", user_id="u")
    assert found  # recalled normally, with no time window (the look-alike names no month)


# --------------------------------------------------------------------------- fallback without search_text


class DenseOnlyBackend:
    """A ``VectorBackend`` without ``search_text``, delegating everything to an embedded one."""

    def __init__(self, inner: EmbeddedBackend) -> None:
        self.inner = inner
        self.calls: list[str] = []

    def __repr__(self) -> str:
        return "DenseOnlyBackend()"

    def create_index(
        self,
        name: str,
        *,
        dimension: int,
        distance_metric: DistanceMetric = "cosine",
        non_filterable_keys: Sequence[str] = (),
    ) -> IndexInfo:
        return self.inner.create_index(
            name, dimension=dimension, distance_metric=distance_metric, non_filterable_keys=non_filterable_keys
        )

    def get_index(self, name: str) -> IndexInfo:
        return self.inner.get_index(name)

    def list_indexes(self, *, prefix: str | None = None) -> list[IndexInfo]:
        return self.inner.list_indexes(prefix=prefix)

    def delete_index(self, name: str) -> None:
        self.inner.delete_index(name)

    def put_vectors(self, index: str, records: Sequence[MemoryRecord]) -> None:
        self.inner.put_vectors(index, records)

    def get_vectors(
        self, index: str, keys: Sequence[str], *, return_vector: bool = False, return_metadata: bool = True
    ) -> list[MemoryRecord]:
        return self.inner.get_vectors(index, keys, return_vector=return_vector, return_metadata=return_metadata)

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
        return self.inner.list_vectors(
            index,
            max_results=max_results,
            next_token=next_token,
            return_vector=return_vector,
            return_metadata=return_metadata,
            segment_count=segment_count,
            segment_index=segment_index,
        )

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
        self.calls.append("query_vectors")
        return self.inner.query_vectors(
            index, vector, top_k=top_k, filter=filter, return_metadata=return_metadata, return_distance=return_distance
        )

    def delete_vectors(self, index: str, keys: Sequence[str]) -> None:
        self.inner.delete_vectors(index, keys)

    def close(self) -> None:
        self.inner.close()


@pytest.fixture
def dense_only(tmp_path: Path, embedder: MiniLMEmbedder, clock: Any) -> Iterator[VectorMemory]:
    backend = DenseOnlyBackend(EmbeddedBackend(tmp_path / "dense-only"))
    assert isinstance(backend, VectorBackend)
    assert not isinstance(backend, TextSearchBackend)
    with VectorMemory(backend, embedder, clock=clock) as vm:
        vm.remember_many(PARCELS, user_id="u")
        vm.backend.calls.clear()  # type: ignore[union-attr]  # the write-time duplicate checks query too
        yield vm


def warnings_about_text_search(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno == logging.WARNING and "full-text search" in r.getMessage()]


def test_a_backend_without_search_text_falls_back_to_dense_and_warns_once(
    dense_only: VectorMemory, caplog: pytest.LogCaptureFixture
) -> None:
    backend: DenseOnlyBackend = dense_only.backend  # type: ignore[assignment]
    with caplog.at_level(logging.WARNING, logger="strands_vector_memory"):
        hybrid = dense_only.recall(PARCEL_QUERY, user_id="u", top_k=7)
        text = dense_only.recall(PARCEL_QUERY, user_id="u", top_k=7, mode="text")
        dense = dense_only.recall(PARCEL_QUERY, user_id="u", top_k=7, mode="dense")
        dense_only.recall("another question", user_id="u")
    assert len(warnings_about_text_search(caplog)) == 1
    assert "DenseOnlyBackend()" in warnings_about_text_search(caplog)[0].getMessage()
    assert backend.calls == ["query_vectors"] * 4
    assert contents(hybrid) == contents(text) == contents(dense)
    assert len(hybrid) == 7


def test_dense_mode_never_warns_about_text_search(dense_only: VectorMemory, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="strands_vector_memory"):
        dense_only.recall(PARCEL_QUERY, user_id="u", mode="dense")
    assert warnings_about_text_search(caplog) == []


def test_the_fallback_orders_like_dense_recall_on_a_text_backend(
    dense_only: VectorMemory, parcels: VectorMemory
) -> None:
    fallback = dense_only.recall(PARCEL_QUERY, user_id="u", top_k=7)
    dense = parcels.recall(PARCEL_QUERY, user_id="u", top_k=7, mode="dense")
    assert contents(fallback) == contents(dense)


def test_the_fallback_scores_like_dense_mode(dense_only: VectorMemory) -> None:
    dense = dense_only.recall(PARCEL_QUERY, user_id="u", top_k=3, mode="dense")
    for mode in ("hybrid", "text"):
        fallback = dense_only.recall(PARCEL_QUERY, user_id="u", top_k=3, mode=mode)
        assert [(m.key, m.score) for m in fallback] == [(m.key, m.score) for m in dense]
    assert len(dense_only.recall(PARCEL_QUERY, user_id="u", mode="text", min_score=0.1)) > 0


# --------------------------------------------------------------------------- context


def test_context_words_make_a_memory_findable_but_recall_returns_its_content(memory: VectorMemory) -> None:
    reply = memory.remember_many(
        [
            NewMemory("Sounds great, see you there!", context=["Want to go kayaking on Lake Tahoe on Saturday?"]),
            "I finished the quarterly report",
            "The dentist appointment moved to Monday",
        ],
        user_id="u",
    )[0]
    found = memory.recall("kayaking Tahoe", user_id="u", top_k=3, mode="text")
    assert [m.key for m in found] == [reply.key]
    assert found[0].content == "Sounds great, see you there!"
    assert found[0].metadata[Field.CONTEXT] == "Want to go kayaking on Lake Tahoe on Saturday?"
    assert memory.recall("kayaking Tahoe", user_id="u", top_k=1)[0].key == reply.key


def test_several_context_texts_are_stored_joined_by_newlines(memory: VectorMemory) -> None:
    stored = memory.remember_many([NewMemory("Yes!", context=("Is it sunny?", "Shall we hike?"))], user_id="u")[0]
    assert stored.metadata[Field.CONTEXT] == "Is it sunny?\nShall we hike?"
    assert stored.content == "Yes!"
    got = memory.get(stored.key, user_id="u")
    assert got is not None and got.metadata[Field.CONTEXT] == "Is it sunny?\nShall we hike?"


def test_context_pulls_the_vector_towards_it(memory: VectorMemory) -> None:
    with_context, without = memory.remember_many(
        [
            NewMemory("Sounds great!", context=["Shall we go kayaking on the lake?"], key="with"),
            NewMemory("Sounds great!", key="without"),
        ],
        user_id="u",
        screen=False,  # the same text twice on purpose: no duplicate check
    )
    found = memory.recall("kayaking on the lake", user_id="u", top_k=2, ranking=Ranking.plain(mode="dense"))
    assert [m.key for m in found] == [with_context.key, without.key]


def test_a_memory_without_context_has_no_context_field(memory: VectorMemory) -> None:
    stored = memory.remember("plain", user_id="u")
    assert Field.CONTEXT not in stored.metadata


BAD_CONTEXT: list[tuple[str, Any]] = [
    ("string", "the turn before"),
    ("nine-texts", [f"turn {i}" for i in range(9)]),
    ("empty-text", ["fine", ""]),
    ("blank-text", ["   "]),
    ("not-text", ["fine", 42]),
    ("over-6-kib", ["a" * 3072, "b" * 3072]),
    ("a-dict", {"a": "b"}),
]


@pytest.mark.parametrize("context", [c for _, c in BAD_CONTEXT], ids=[n for n, _ in BAD_CONTEXT])
def test_bad_context_is_rejected_naming_the_item_and_field(memory: VectorMemory, context: Any) -> None:
    items: list[NewMemory | str] = ["fine", NewMemory("also fine", context=context)]
    with pytest.raises(ValidationError) as caught:
        memory.remember_many(items, user_id="u")
    assert str(caught.value).startswith("items[1]")
    assert caught.value.field == "context"
    with pytest.raises(ValidationError):
        memory.check(items, user_id="u")
    assert memory.list(user_id="u").memories == []  # nothing of the batch was written


def test_context_at_its_limits_is_accepted(memory: VectorMemory) -> None:
    eight = [f"turn {i}" for i in range(8)]
    exactly_6_kib = ["a" * 3071, "b" * 3072]  # joined by one newline: 6144 bytes
    stored = memory.remember_many(
        [NewMemory("eight", context=eight), NewMemory("big", context=exactly_6_kib)], user_id="u"
    )
    assert stored[0].metadata[Field.CONTEXT] == "\n".join(eight)
    assert len(stored[1].metadata[Field.CONTEXT].encode()) == 6 * 1024


def test_context_cannot_be_set_through_metadata(memory: VectorMemory) -> None:
    with pytest.raises(ValidationError) as caught:
        memory.remember("x", user_id="u", metadata={"context": "sneaky"})
    assert caught.value.field == "metadata"


def test_context_is_not_filterable(memory: VectorMemory) -> None:
    memory.remember_many([NewMemory("x", context=["y"])], user_id="u")
    with pytest.raises(ValidationError):
        memory.recall("x", user_id="u", filter={"context": "y"})


# --------------------------------------------------------------------------- min_score and diversity


def test_min_score_filters_on_the_final_score(parcels: VectorMemory) -> None:
    everything = parcels.recall(PARCEL_QUERY, user_id="u", top_k=7)
    scores = [m.score for m in everything]
    assert all(s is not None for s in scores)
    threshold = (scores[1] + scores[2]) / 2  # type: ignore[operator]
    kept = parcels.recall(PARCEL_QUERY, user_id="u", top_k=7, min_score=threshold)
    assert [m.key for m in kept] == [m.key for m in everything[:2]]
    assert all(m.score is not None and m.score >= threshold for m in kept)
    assert parcels.recall(PARCEL_QUERY, user_id="u", min_score=10.0) == []
    assert len(parcels.recall(PARCEL_QUERY, user_id="u", top_k=7, min_score=0)) == 7


@pytest.mark.parametrize("min_score", ["0.5", True, [0.5]])
def test_min_score_must_be_a_number(parcels: VectorMemory, min_score: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        parcels.recall(PARCEL_QUERY, user_id="u", min_score=min_score)
    assert caught.value.field == "min_score"


CATS = [
    "The cat sat on the mat.",
    "The cat was sitting on the mat.",
    "A cat sat on a mat.",
    "The cat sat on the mat!",
    "My cat sleeps on the sofa all afternoon.",
    "The stock market fell today.",
]
MATS = set(CATS[:4])


def test_diversity_puts_distinct_content_before_near_duplicates(memory: VectorMemory) -> None:
    memory.remember_many(CATS, user_id="u")
    plain = contents(memory.recall("where did the cat sit?", user_id="u", top_k=2))
    assert set(plain) <= MATS  # without diversity the top two say the same thing
    diverse = contents(memory.recall("where did the cat sit?", user_id="u", top_k=2, ranking=Ranking(diversity=0.5)))
    assert diverse[0] == plain[0]
    assert diverse[1] not in MATS


def test_diversity_returns_top_k_distinct_memories(memory: VectorMemory) -> None:
    memory.remember_many(CATS, user_id="u")
    found = memory.recall("cat", user_id="u", top_k=4, ranking=Ranking(diversity=1.0))
    assert len(found) == 4
    assert len({m.key for m in found}) == 4


# --------------------------------------------------------------------------- build_context


def test_build_context_fits_the_budget_and_holds_the_best_memory(parcels: VectorMemory) -> None:
    best = parcels.recall(PARCEL_QUERY, user_id="u", top_k=1)[0]
    for budget in (80, 120, 1000):
        context = parcels.build_context(PARCEL_QUERY, user_id="u", max_tokens=budget)
        assert 0 < context.tokens <= budget
        assert context.memories[0].key == best.key
        assert "ZX-4471" in str(context)
    small, large = (parcels.build_context(PARCEL_QUERY, user_id="u", max_tokens=b) for b in (80, 1000))
    assert len(small.memories) < len(large.memories) == len(PARCELS)


def test_build_context_passes_recall_options_on(parcels: VectorMemory) -> None:
    context = parcels.build_context("ZX-4471", user_id="u", mode="text")
    assert [m.content for m in context.memories] == [INVOICE]


def test_build_context_never_shows_another_users_memory(parcels: VectorMemory) -> None:
    secret = "Bob's bank PIN is hidden under ZX-4471 in the drawer"
    parcels.remember(secret, user_id="bob")
    for mode in RetrievalMode:
        context = parcels.build_context(secret, user_id="u", max_tokens=2000, mode=mode)
        assert "PIN" not in str(context)
        assert all(m.metadata[Field.USER_ID] == "u" for m in context.memories)
    assert "PIN" in str(parcels.build_context(secret, user_id="bob"))


def test_build_context_for_an_empty_store_is_empty(memory: VectorMemory) -> None:
    context = memory.build_context("anything", user_id="u")
    assert str(context) == ""
    assert not context
