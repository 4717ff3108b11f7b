"""QueryVectors through boto3: vector, full-text (BM25) and hybrid (RRF) search, filters, errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from botocore.exceptions import ClientError

MakeIndex = Callable[..., str]

DOCS = {
    "peanut": ([1.0, 0.0, 0.0, 0.1], "Alice is allergic to peanuts", "food"),
    "seat": ([0.0, 1.0, 0.0, 0.1], "Alice prefers a window seat on long flights", "travel"),
    "curry": ([0.9, 0.3, 0.0, 0.1], "Bob loves Thai curry with peanuts", "food"),
    "marathon": ([0.0, 0.0, 1.0, 0.1], "Bob is training for the Berlin marathon", "sport"),
    "editor": ([0.1, 0.1, 0.9, 0.1], "Bob likes dark mode in every editor", "tools"),
}


@pytest.fixture
def filled(client: Any, bucket: str, index: str) -> tuple[str, str]:
    items = [
        {"key": key, "data": {"float32": vec}, "metadata": {"content": text, "topic": topic, "n": i}}
        for i, (key, (vec, text, topic)) in enumerate(DOCS.items())
    ]
    client.put_vectors(vectorBucketName=bucket, indexName=index, vectors=items)
    return bucket, index


def cosine_distance(a: list[float], b: list[float]) -> float:
    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(1.0 - x @ y / (np.linalg.norm(x) * np.linalg.norm(y)))


def query(client: Any, where: tuple[str, str], **params: Any) -> list[dict[str, Any]]:
    bucket, index = where
    response = client.query_vectors(vectorBucketName=bucket, indexName=index, **params)
    return list(response["vectors"])


def test_vector_query_ranks_by_distance(client: Any, filled: tuple[str, str]) -> None:
    probe = [1.0, 0.1, 0.0, 0.1]
    bucket, index = filled
    response = client.query_vectors(
        vectorBucketName=bucket, indexName=index, topK=3, queryVector={"float32": probe}, returnDistance=True
    )
    assert response["distanceMetric"] == "cosine"
    expected = sorted(DOCS, key=lambda k: cosine_distance(probe, DOCS[k][0]))[:3]
    assert [v["key"] for v in response["vectors"]] == expected
    for entry in response["vectors"]:
        assert entry["distance"] == pytest.approx(cosine_distance(probe, DOCS[entry["key"]][0]), abs=1e-5)
        assert "metadata" not in entry and "scores" not in entry
    bare = query(client, filled, topK=1, queryVector={"float32": probe})
    assert bare == [{"key": expected[0]}]


def test_euclidean_distances(client: Any, bucket: str, make_index: MakeIndex) -> None:
    index = make_index("euclid", metric="euclidean", text_keys=())
    client.put_vectors(
        vectorBucketName=bucket,
        indexName=index,
        vectors=[{"key": "o", "data": {"float32": [0, 0, 0, 0]}}, {"key": "far", "data": {"float32": [3, 4, 0, 0]}}],
    )
    response = client.query_vectors(
        vectorBucketName=bucket, indexName=index, topK=2, queryVector={"float32": [0, 0, 0, 0]}, returnDistance=True
    )
    assert response["distanceMetric"] == "euclidean"
    assert [(v["key"], v["distance"]) for v in response["vectors"]] == [("o", 0.0), ("far", pytest.approx(5.0))]


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ({"topic": "food"}, {"peanut", "curry"}),
        ({"topic": {"$in": ["sport", "tools"]}}, {"marathon", "editor"}),
        ({"$and": [{"n": {"$gte": 1}}, {"topic": {"$ne": "sport"}}]}, {"seat", "curry", "editor"}),
        ({"$or": [{"n": 0}, {"topic": "tools"}]}, {"peanut", "editor"}),
        ({"topic": {"$exists": False}}, set()),
    ],
)
def test_filters(client: Any, filled: tuple[str, str], document: dict[str, Any], expected: set[str]) -> None:
    found = query(client, filled, topK=10, queryVector={"float32": [1, 1, 1, 1]}, filter=document, returnMetadata=True)
    assert {v["key"] for v in found} == expected
    assert all(v["metadata"]["content"] == DOCS[v["key"]][1] for v in found)


@pytest.mark.parametrize(
    ("document", "path"),
    [
        ({"n": {"$regex": "x"}}, "filter"),
        ({"content": "peanut"}, "filter"),
        ({"$and": []}, "filter"),
    ],
)
def test_bad_filters_are_validation_errors(client: Any, filled: tuple[str, str], document: Any, path: str) -> None:
    with pytest.raises(client.exceptions.ValidationException) as caught:
        query(client, filled, topK=1, queryVector={"float32": [1, 1, 1, 1]}, filter=document)
    assert caught.value.response["fieldList"][0]["path"].startswith(path)


def test_top_k_and_dimension_are_checked(client: Any, filled: tuple[str, str]) -> None:
    with pytest.raises(client.exceptions.ValidationException) as caught:
        query(client, filled, topK=101, queryVector={"float32": [1, 1, 1, 1]})
    assert caught.value.response["fieldList"][0]["path"] == "topK"
    with pytest.raises(client.exceptions.ValidationException) as caught:
        query(client, filled, topK=1, queryVector={"float32": [1, 1]})
    assert caught.value.response["fieldList"][0]["path"] == "queryVector"
    with pytest.raises(client.exceptions.ValidationException, match="all zeros"):
        query(client, filled, topK=1, queryVector={"float32": [0, 0, 0, 0]})
    with pytest.raises(client.exceptions.ValidationException, match="queryVector, queryTexts or both"):
        query(client, filled, topK=1)


def test_query_on_a_missing_index_is_not_found(client: Any, bucket: str) -> None:
    with pytest.raises(client.exceptions.NotFoundException):
        client.query_vectors(vectorBucketName=bucket, indexName="nope", topK=1, queryVector={"float32": [1.0]})


def test_read_after_write(client: Any, bucket: str, index: str) -> None:
    rng = np.random.default_rng(3)
    for i in range(20):
        vector = rng.normal(size=4).tolist()
        client.put_vectors(
            vectorBucketName=bucket, indexName=index, vectors=[{"key": f"v{i}", "data": {"float32": vector}}]
        )
        assert query(client, (bucket, index), topK=1, queryVector={"float32": vector})[0]["key"] == f"v{i}"
        if i % 5 == 4:
            client.delete_vectors(vectorBucketName=bucket, indexName=index, keys=[f"v{i}"])
            found = query(client, (bucket, index), topK=1, queryVector={"float32": vector})
            assert found[0]["key"] != f"v{i}"


def test_query_mode(client: Any, filled: tuple[str, str]) -> None:
    assert query(client, filled, topK=1, queryVector={"float32": [1, 0, 0, 0]}, queryMode="ENHANCED")
    with pytest.raises(client.exceptions.ValidationException) as caught:
        query(client, filled, topK=1, queryVector={"float32": [1, 0, 0, 0]}, queryMode="CLASSIC")
    assert caught.value.response["fieldList"][0]["path"] == "queryMode"


def test_paginator_gives_one_page(client: Any, filled: tuple[str, str]) -> None:
    bucket, index = filled
    pages = list(
        client.get_paginator("query_vectors").paginate(
            vectorBucketName=bucket, indexName=index, topK=5, queryVector={"float32": [1, 0, 0, 0]}
        )
    )
    assert len(pages) == 1 and len(pages[0]["vectors"]) == 5


# -- full text and hybrid -------------------------------------------------------------


def test_text_search_ranks_by_bm25(client: Any, filled: tuple[str, str]) -> None:
    found = query(
        client,
        filled,
        topK=5,
        queryTexts=[{"text": "peanuts", "metadataKey": "content"}],
        returnScores=True,
        returnMetadata=True,
        returnDistance=True,
    )
    assert {v["key"] for v in found} == {"peanut", "curry"}
    assert found[0]["key"] == "peanut"  # the shorter text: BM25 length normalisation
    scores = [v["scores"]["bm25Scores"] for v in found]
    assert all(s[0]["metadataKey"] == "content" and s[0]["score"] > 0 for s in scores)
    assert scores[0][0]["score"] > scores[1][0]["score"]
    assert all("distance" not in v and "fused" not in v["scores"] for v in found)
    assert found[1]["metadata"]["topic"] == "food"


def test_text_search_with_filter_and_two_keys(client: Any, filled: tuple[str, str]) -> None:
    texts = [{"text": "Bob", "metadataKey": "content"}, {"text": "Bob", "metadataKey": "context"}]
    found = query(client, filled, topK=5, queryTexts=texts, filter={"topic": {"$ne": "sport"}}, returnScores=True)
    assert {v["key"] for v in found} == {"curry", "editor"}
    assert [s["metadataKey"] for s in found[0]["scores"]["bm25Scores"]] == ["content", "context"]


def test_hybrid_fuses_rankings_with_rrf(client: Any, filled: tuple[str, str]) -> None:
    probe = {"float32": [0.0, 0.0, 1.0, 0.1]}
    texts = [{"text": "peanuts", "metadataKey": "content"}]
    dense = [v["key"] for v in query(client, filled, topK=100, queryVector=probe)]
    sparse = [v["key"] for v in query(client, filled, topK=100, queryTexts=texts)]
    fused = {key: 0.0 for key in dense + sparse}
    for ranking in (dense, sparse):
        for rank, key in enumerate(ranking, start=1):
            fused[key] += 1.0 / (60 + rank)
    expected = sorted(fused, key=lambda k: -fused[k])[:3]

    found = query(client, filled, topK=3, queryVector=probe, queryTexts=texts, returnScores=True, returnDistance=True)
    assert [v["key"] for v in found] == expected
    for entry in found:
        assert entry["scores"]["fused"] == pytest.approx(fused[entry["key"]])
        assert entry["scores"]["vectorDistance"] == pytest.approx(entry["distance"], abs=1e-6)
        assert entry["distance"] == pytest.approx(cosine_distance(probe["float32"], DOCS[entry["key"]][0]), abs=1e-5)
        assert bool(entry["scores"]["bm25Scores"]) == (entry["key"] in sparse)


def test_text_search_needs_an_enhanced_index_with_the_key_configured(
    client: Any, bucket: str, filled: tuple[str, str], make_index: MakeIndex
) -> None:
    with pytest.raises(client.exceptions.ValidationException) as caught:
        query(client, filled, topK=1, queryTexts=[{"text": "x", "metadataKey": "topic"}])
    assert caught.value.response["fieldList"][0]["path"] == "queryTexts[0].metadataKey"
    with pytest.raises(client.exceptions.ValidationException, match="twice"):
        query(
            client,
            filled,
            topK=1,
            queryTexts=[{"text": "a", "metadataKey": "content"}, {"text": "b", "metadataKey": "content"}],
        )
    with pytest.raises(client.exceptions.ValidationException, match="1-1024 characters"):
        query(client, filled, topK=1, queryTexts=[{"text": "x" * 1025, "metadataKey": "content"}])

    client.update_index_mode(vectorBucketName=bucket, indexName=filled[1], indexMode="CLASSIC")
    with pytest.raises(client.exceptions.ValidationException, match="ENHANCED"):
        query(client, filled, topK=1, queryTexts=[{"text": "peanuts", "metadataKey": "content"}])

    titled = make_index("titled", text_keys=("title",))
    with pytest.raises(ClientError) as caught_error:
        query(client, (bucket, titled), topK=1, queryTexts=[{"text": "x", "metadataKey": "title"}])
    assert caught_error.value.response["Error"]["Code"] == "NotImplemented"
    assert caught_error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 501
