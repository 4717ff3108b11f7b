"""The optional full-text half of the backend contract: ``TextSearchBackend.search_text``.

Runs once per factory in ``conftest.BACKEND_FACTORIES``; a backend that does not offer
``search_text`` is skipped (recall falls back to dense-only for it). Only the Protocol is
used, so every text-searching backend is held to the same behaviour.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from strands_vector_memory.backends import TextMatch, TextSearchBackend, VectorBackend
from strands_vector_memory.core import MemoryRecord, NotFoundError, ValidationError, matches, parse_filter

DIM = 4
IDX = "texts"
NON_FILTERABLE = ("content", "context")

# Filler rows give every searched word a real inverse document frequency: with only a
# handful of rows, a word in half of them scores next to nothing under BM25.
FILLER = [
    "the weather was mild all week",
    "we talked about the budget for next year",
    "lunch was a sandwich and an apple",
    "the meeting moved to Thursday afternoon",
    "my sister adopted a grey cat",
    "the train was twenty minutes late",
]


@pytest.fixture
def searcher(backend: VectorBackend) -> TextSearchBackend:
    """The backend, if it can search text; the test is skipped otherwise."""
    if not isinstance(backend, TextSearchBackend):
        pytest.skip(f"{type(backend).__name__} has no search_text")
    backend.create_index(IDX, dimension=DIM, non_filterable_keys=list(NON_FILTERABLE))
    return backend


def vector(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=DIM).astype(np.float32)


def put(store: VectorBackend, docs: Mapping[str, Mapping[str, Any]], *, seed: int = 0) -> None:
    records = [MemoryRecord(key, vector(seed + i), dict(meta)) for i, (key, meta) in enumerate(docs.items())]
    store.put_vectors(IDX, records)


def put_texts(store: VectorBackend, texts: Mapping[str, str], *, filler: bool = True) -> None:
    docs: dict[str, dict[str, Any]] = {key: {"content": text} for key, text in texts.items()}
    if filler:
        docs.update({f"filler-{i}": {"content": text} for i, text in enumerate(FILLER)})
    put(store, docs)


def keys(matches_: Sequence[TextMatch]) -> list[str]:
    return [m.key for m in matches_]


# --------------------------------------------------------------------------- matching and ranking


def test_stemming_finds_other_forms_of_a_word(searcher: TextSearchBackend) -> None:
    put_texts(searcher, {"painted": "She painted a sunset over the lake", "swim": "He swims every morning"})
    assert keys(searcher.search_text(IDX, "painting", top_k=10)) == ["painted"]
    assert keys(searcher.search_text(IDX, "swimming", top_k=10)) == ["swim"]


def test_a_query_of_only_stopwords_matches_nothing(searcher: TextSearchBackend) -> None:
    put_texts(searcher, {"a": "what did she do about it for them"})
    assert searcher.search_text(IDX, "What did she do about it?", top_k=10) == []


def test_a_query_with_no_words_at_all_matches_nothing(searcher: TextSearchBackend) -> None:
    put_texts(searcher, {"a": "punctuation !? everywhere"})
    assert searcher.search_text(IDX, "?!  ...  --", top_k=10) == []


def test_the_record_with_the_rare_query_word_ranks_first(searcher: TextSearchBackend) -> None:
    put_texts(
        searcher,
        {
            "common-1": "an apple from the market",
            "common-2": "apple pie for dessert",
            "common-3": "a green apple tree",
            "rare": "a durian and an apple",
        },
    )
    found = searcher.search_text(IDX, "apple durian", top_k=10)
    assert found[0].key == "rare"
    assert {"common-1", "common-2", "common-3"} <= set(keys(found))
    assert found[0].score > found[1].score


def test_scores_are_descending(searcher: TextSearchBackend) -> None:
    put_texts(searcher, {f"k{i}": "kayak " * (i + 1) + "river" for i in range(5)})
    scores = [m.score for m in searcher.search_text(IDX, "kayak river", top_k=10)]
    assert len(scores) == 5
    assert scores == sorted(scores, reverse=True)


def test_context_is_searched_but_ranks_below_the_same_word_in_content(searcher: TextSearchBackend) -> None:
    # Both rows hold two tokens, so only the column the word sits in differs.
    docs: dict[str, dict[str, Any]] = {
        "in-content": {"content": "kayak lessons"},
        "in-context": {"content": "lessons", "context": "kayak"},
    }
    docs.update({f"filler-{i}": {"content": text} for i, text in enumerate(FILLER)})
    put(searcher, docs)
    found = searcher.search_text(IDX, "kayak", top_k=10)
    assert keys(found) == ["in-content", "in-context"]
    assert found[0].score > found[1].score


def test_context_alone_makes_a_record_findable(searcher: TextSearchBackend) -> None:
    put(searcher, {"only-context": {"context": "the lighthouse keeper"}, "other": {"content": "a quiet harbour"}})
    assert keys(searcher.search_text(IDX, "lighthouse", top_k=10)) == ["only-context"]


def test_records_without_text_are_never_found(searcher: TextSearchBackend) -> None:
    put(searcher, {"no-text": {"topic": "volcano"}, "numeric": {"content": 42}, "text": {"content": "a volcano"}})
    assert keys(searcher.search_text(IDX, "volcano 42", top_k=10)) == ["text"]


# --------------------------------------------------------------------------- filters and top_k


FILTER_DOCS: dict[str, dict[str, Any]] = {
    "r1": {"content": "garden tomato harvest", "year": 2021, "tag": "home"},
    "r2": {"content": "tomato soup recipe", "year": 2022, "tag": "food"},
    "r3": {"content": "tomato plants need sun", "year": 2023, "tag": "home"},
    "r4": {"content": "tomato sauce for pasta", "tag": "food"},
    "r5": {"content": "a tomato festival in Spain", "year": 2024},
    "r6": {"content": "no red fruit here", "year": 2022, "tag": "home"},
}

FILTERS: list[dict[str, Any]] = [
    {"tag": "home"},
    {"tag": {"$ne": "home"}},
    {"year": {"$gte": 2022}},
    {"year": {"$gt": 2021, "$lt": 2024}},
    {"$or": [{"tag": "food"}, {"year": 2024}]},
    {"$and": [{"tag": {"$in": ["home", "food"]}}, {"year": {"$exists": True}}]},
    {"tag": {"$nin": ["home"]}},
]


@pytest.mark.parametrize("document", FILTERS, ids=[str(f) for f in FILTERS])
def test_the_filter_is_applied_like_the_reference_evaluator(
    searcher: TextSearchBackend, document: dict[str, Any]
) -> None:
    put(searcher, FILTER_DOCS)
    node = parse_filter(document)
    expected = {k for k, meta in FILTER_DOCS.items() if "tomato" in meta["content"] and matches(node, meta)}
    assert expected  # each case keeps something, so the comparison means something
    got = keys(searcher.search_text(IDX, "tomato", top_k=100, filter=document))
    assert len(got) == len(set(got))
    assert set(got) == expected


def test_a_filter_that_matches_nothing_returns_nothing(searcher: TextSearchBackend) -> None:
    put(searcher, FILTER_DOCS)
    assert searcher.search_text(IDX, "tomato", top_k=10, filter={"year": {"$gt": 3000}}) == []
    assert searcher.search_text(IDX, "tomato", top_k=10, filter={"tag": "nowhere"}) == []


def test_top_k_caps_the_results_and_keeps_the_best(searcher: TextSearchBackend) -> None:
    put_texts(searcher, {f"k{i}": "pebble " * (i + 1) + "stone" for i in range(10)})
    everything = searcher.search_text(IDX, "pebble", top_k=100)
    assert len(everything) == 10
    best_three = searcher.search_text(IDX, "pebble", top_k=3)
    assert keys(best_three) == keys(everything)[:3]
    assert len(searcher.search_text(IDX, "pebble", top_k=1)) == 1


def test_top_k_with_a_filter_counts_only_matching_records(searcher: TextSearchBackend) -> None:
    docs = {f"k{i}": {"content": "pebble " * (i + 1), "even": i % 2 == 0} for i in range(10)}
    put(searcher, docs)
    found = searcher.search_text(IDX, "pebble", top_k=3, filter={"even": True})
    assert len(found) == 3
    assert all(docs[m.key]["even"] for m in found)


# --------------------------------------------------------------------------- writes keep the text index in step


def test_overwriting_a_record_replaces_its_text(searcher: TextSearchBackend) -> None:
    put_texts(searcher, {"k": "the walrus sleeps"})
    put(searcher, {"k": {"content": "the penguin swims"}})
    assert searcher.search_text(IDX, "walrus", top_k=10) == []
    found = searcher.search_text(IDX, "penguin", top_k=10)
    assert keys(found) == ["k"]
    assert found[0].metadata == {"content": "the penguin swims"}


def test_overwriting_a_record_without_text_removes_it_from_search(searcher: TextSearchBackend) -> None:
    put(searcher, {"k": {"content": "the walrus sleeps", "context": "arctic walrus"}})
    put(searcher, {"k": {"topic": "walrus"}})
    assert searcher.search_text(IDX, "walrus arctic", top_k=10) == []


def test_overwriting_twice_in_a_row_leaves_one_entry(searcher: TextSearchBackend) -> None:
    for text in ("otter one", "otter two", "otter three"):
        put(searcher, {"k": {"content": text}})
    assert keys(searcher.search_text(IDX, "otter", top_k=10)) == ["k"]


def test_deleting_a_record_removes_its_text(searcher: TextSearchBackend) -> None:
    put_texts(searcher, {"gone": "the walrus sleeps", "kept": "a walrus swims"})
    searcher.delete_vectors(IDX, ["gone"])
    assert keys(searcher.search_text(IDX, "walrus", top_k=10)) == ["kept"]
    searcher.delete_vectors(IDX, ["kept"])
    assert searcher.search_text(IDX, "walrus", top_k=10) == []


def test_a_deleted_index_cannot_be_searched(searcher: TextSearchBackend) -> None:
    put_texts(searcher, {"k": "walrus"})
    searcher.delete_index(IDX)
    with pytest.raises(NotFoundError):
        searcher.search_text(IDX, "walrus", top_k=10)


# --------------------------------------------------------------------------- what a match carries


def test_matches_carry_metadata_by_default(searcher: TextSearchBackend) -> None:
    put(searcher, {"k": {"content": "the heron waits", "n": 7}})
    (match,) = searcher.search_text(IDX, "heron", top_k=10)
    assert isinstance(match, TextMatch)
    assert match.metadata == {"content": "the heron waits", "n": 7}
    assert isinstance(match.score, float)
    assert match.score > 0


def test_matches_carry_no_metadata_when_not_asked(searcher: TextSearchBackend) -> None:
    put(searcher, {"k": {"content": "the heron waits", "n": 7}})
    (match,) = searcher.search_text(IDX, "heron", top_k=10, return_metadata=False)
    assert match.key == "k"
    assert match.metadata is None


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize("text", ["", " ", "\t\n  "], ids=["empty", "space", "whitespace"])
def test_blank_text_is_rejected(searcher: TextSearchBackend, text: str) -> None:
    with pytest.raises(ValidationError) as caught:
        searcher.search_text(IDX, text, top_k=10)
    assert caught.value.field == "text"


@pytest.mark.parametrize("text", [None, 5, b"bytes", ["a"]], ids=["none", "int", "bytes", "list"])
def test_text_that_is_not_a_string_is_rejected(searcher: TextSearchBackend, text: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        searcher.search_text(IDX, text, top_k=10)
    assert caught.value.field == "text"


def test_text_with_a_lone_surrogate_is_rejected(searcher: TextSearchBackend) -> None:
    with pytest.raises(ValidationError) as caught:
        searcher.search_text(IDX, "kayak \ud800 trip", top_k=10)
    assert caught.value.field == "text"


def test_text_up_to_32_kib_is_accepted_and_longer_is_rejected(searcher: TextSearchBackend) -> None:
    put_texts(searcher, {"k": "résumé"})
    limit = 32 * 1024
    assert keys(searcher.search_text(IDX, "résumé " + "é" * ((limit - 9) // 2), top_k=10)) == ["k"]
    with pytest.raises(ValidationError) as caught:
        searcher.search_text(IDX, "é" * (limit // 2) + "x", top_k=10)
    assert caught.value.field == "text"


@pytest.mark.parametrize("top_k", [0, 101, -1, True, 1.5, "3"])
def test_top_k_outside_1_to_100_is_rejected(searcher: TextSearchBackend, top_k: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        searcher.search_text(IDX, "kayak", top_k=top_k)
    assert caught.value.field == "top_k"


@pytest.mark.parametrize("top_k", [1, 100])
def test_top_k_at_the_bounds_is_accepted(searcher: TextSearchBackend, top_k: int) -> None:
    put_texts(searcher, {"k": "kayak"})
    assert keys(searcher.search_text(IDX, "kayak", top_k=top_k)) == ["k"]


@pytest.mark.parametrize("document", [{"content": "kayak"}, {"context": {"$exists": True}}])
def test_a_filter_on_a_non_filterable_key_is_rejected(searcher: TextSearchBackend, document: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        searcher.search_text(IDX, "kayak", top_k=10, filter=document)


@pytest.mark.parametrize("document", [{"$bogus": 1}, {"n": {"$in": "not-a-list"}}, {"n": {"$gt": [1]}}])
def test_a_malformed_filter_is_rejected(searcher: TextSearchBackend, document: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        searcher.search_text(IDX, "kayak", top_k=10, filter=document)


def test_an_unknown_index_is_not_found(searcher: TextSearchBackend) -> None:
    with pytest.raises(NotFoundError):
        searcher.search_text("no-such-index", "kayak", top_k=10)


# --------------------------------------------------------------------------- query syntax is plain text


SYNTAX_DOCS = {
    "zebra": "a zebra at the zoo",
    "lion": "a lion at the zoo",
    "near": "the shop near the station",
    "zebra-crossing": "wait at the zebra crossing",
}


SYNTAX_QUERIES = [
    '"zebra',
    'zebra"',
    '"""',
    "zebra AND lion",
    "zebra OR",
    "NOT zebra",
    "NEAR(zebra lion)",
    "NEAR(",
    "zeb*",
    "*",
    "-zebra",
    "zebra - lion",
    "content:zebra",
    "context:zebra",
    ":",
    "^zebra",
    "+zebra",
    "{content context}: zebra",
    "(zebra",
    "zebra)",
    "'zebra'",
    "zebra\x00lion",
    "AND OR NOT",
]


def test_fts_syntax_in_the_query_never_raises(searcher: TextSearchBackend) -> None:
    put_texts(searcher, SYNTAX_DOCS)
    stored = set(SYNTAX_DOCS) | {f"filler-{i}" for i in range(len(FILLER))}
    for query in SYNTAX_QUERIES:
        found = searcher.search_text(IDX, query, top_k=100)
        assert set(keys(found)) <= stored, query
        if "zebra" in re.findall(r"[a-z]+", query):
            assert "zebra" in keys(found), query


def test_operators_are_words_so_and_behaves_like_or(searcher: TextSearchBackend) -> None:
    put_texts(searcher, SYNTAX_DOCS)
    assert set(keys(searcher.search_text(IDX, "zebra AND lion", top_k=10))) == {"zebra", "lion", "zebra-crossing"}


def test_a_leading_minus_does_not_exclude(searcher: TextSearchBackend) -> None:
    put_texts(searcher, SYNTAX_DOCS)
    assert set(keys(searcher.search_text(IDX, "zoo -zebra", top_k=10))) == {"zebra", "lion", "zebra-crossing"}


def test_a_star_is_not_a_prefix_query(searcher: TextSearchBackend) -> None:
    put_texts(searcher, SYNTAX_DOCS)
    assert searcher.search_text(IDX, "zeb*", top_k=10) == []


def test_a_column_prefix_does_not_restrict_the_column(searcher: TextSearchBackend) -> None:
    put_texts(searcher, SYNTAX_DOCS)
    assert "zebra" in keys(searcher.search_text(IDX, "context:zebra", top_k=10))


def test_near_is_an_ordinary_word(searcher: TextSearchBackend) -> None:
    put_texts(searcher, SYNTAX_DOCS)
    assert keys(searcher.search_text(IDX, "NEAR(", top_k=10)) == ["near"]


def test_a_quoted_phrase_is_not_a_phrase_query(searcher: TextSearchBackend) -> None:
    put_texts(searcher, SYNTAX_DOCS)
    found = set(keys(searcher.search_text(IDX, '"lion crossing"', top_k=10)))
    assert found == {"lion", "zebra-crossing"}


# --------------------------------------------------------------------------- property


def is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


PROPERTY_DOCS = {
    "latin": "Café au lait, naïve résumé and a zebra",
    "greek": "Η γρήγορη καφέ αλεπού",  # noqa: RUF001
    "cjk": "東京 タワー 見学",
    "digits": "order 4471 and 12 boxes",
    "mixed": "emoji 🎉 party at 8pm; NEAR the AND gate",
    "context": "plain",
}


def test_search_text_never_fails_on_arbitrary_text(searcher: TextSearchBackend) -> None:
    docs: dict[str, dict[str, Any]] = {key: {"content": text} for key, text in PROPERTY_DOCS.items()}
    docs["context"]["context"] = "hidden zebra words"
    put(searcher, docs)

    @settings(
        max_examples=300,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(
        text=st.one_of(
            st.text(),
            # lone surrogates among letters, digits, punctuation and spaces
            st.text(alphabet=st.characters(codec=None, categories=["Cs", "Ll", "Lo", "Nd", "P", "Zs"])),
            st.lists(st.sampled_from([*" ".join(PROPERTY_DOCS.values()).split(), '"', "*", "NEAR(", ":", "-"])).map(
                " ".join
            ),
        ),
        top_k=st.integers(1, 100),
    )
    def check(text: str, top_k: int) -> None:
        try:
            found = searcher.search_text(IDX, text, top_k=top_k)
        except ValidationError as exc:
            assert not text.strip() or not is_utf8(text), f"valid text rejected: {exc}"
            return
        assert text.strip()
        assert len(found) <= top_k
        assert len({m.key for m in found}) == len(found)
        assert {m.key for m in found} <= set(docs)
        stored = {r.key for r in searcher.get_vectors(IDX, [m.key for m in found])} if found else set()
        assert stored == {m.key for m in found}

    check()
