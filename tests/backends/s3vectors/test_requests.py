"""What ``S3VectorsBackend`` sends and how it reads odd answers, checked on the service model.

The contract suite (``tests/backends/test_contract.py``) runs this backend against the
local endpoint; these tests cover what no endpoint produces on demand: throttling
bursts, 5xx, pages that come back empty or out of order, and the exact request shapes.
"""

from __future__ import annotations

import logging

import numpy as np
import pytest
from botocore.stub import ANY

from strands_vector_memory._aws import call_with_retries, user_agent
from strands_vector_memory.backends import RetryPolicy, S3VectorsBackend
from strands_vector_memory.backends.s3vectors._client import default_config
from strands_vector_memory.core import MemoryRecord, ThrottledError, ValidationError

from .conftest import BUCKET, INDEX, Stubbed, index_description, make_client

WHERE = {"vectorBucketName": BUCKET, "indexName": INDEX}


def records(n: int, dim: int = 4, prefix: str = "k") -> list[MemoryRecord]:
    rng = np.random.default_rng(n)
    return [
        MemoryRecord(f"{prefix}{i}", rng.normal(size=dim).astype(np.float32), {"content": f"text {i}", "i": i})
        for i in range(n)
    ]


def test_create_index_declares_text_non_filterable_and_searchable(stubbed: Stubbed) -> None:
    stubbed.stub.add_response(
        "create_index",
        {"indexArn": f"arn:aws:s3vectors:us-east-1:123456789012:bucket/{BUCKET}/index/{INDEX}"},
        {
            **WHERE,
            "dataType": "float32",
            "dimension": 4,
            "distanceMetric": "cosine",
            "metadataConfiguration": {
                "nonFilterableMetadataKeys": ["content", "context", "created_at_iso"],
                "textSearchConfigurations": [{"metadataKey": "content"}, {"metadataKey": "context"}],
            },
        },
    )
    stubbed.describe(non_filterable=("content", "context", "created_at_iso"))
    info = stubbed.backend.create_index(
        INDEX, dimension=4, non_filterable_keys=["created_at_iso", "content", "context"]
    )
    assert info.non_filterable_keys == {"content", "context", "created_at_iso"}
    assert info.created_at > 1.7e9


def test_text_search_off_creates_no_text_configuration() -> None:
    from botocore.stub import Stubber

    client = make_client()
    backend = S3VectorsBackend(BUCKET, client=client, text_search=False)
    with Stubber(client) as stub:
        stub.add_response(
            "create_index",
            {"indexArn": f"arn:aws:s3vectors:us-east-1:123456789012:bucket/{BUCKET}/index/{INDEX}"},
            {
                **WHERE,
                "dataType": "float32",
                "dimension": 4,
                "distanceMetric": "euclidean",
                "metadataConfiguration": {"nonFilterableMetadataKeys": ["content"]},
            },
        )
        description = index_description(metric="euclidean", non_filterable=("content",), text_keys=())
        stub.add_response("get_index", description, WHERE)
        backend.create_index(INDEX, dimension=4, distance_metric="euclidean", non_filterable_keys=["content"])
        assert not backend.supports_text_search(INDEX)


def test_throttled_puts_are_retried_with_jittered_backoff_until_acknowledged(stubbed: Stubbed) -> None:
    stubbed.describe()
    for _ in range(3):
        stubbed.error("put_vectors", "TooManyRequestsException", 429)
    stubbed.error("put_vectors", "ServiceUnavailableException", 503)
    stubbed.stub.add_response("put_vectors", {}, {**WHERE, "vectors": ANY})
    stubbed.backend.put_vectors(INDEX, records(3))
    assert len(stubbed.sleeps) == 4
    policy = stubbed.backend.retry
    for attempt, wait in enumerate(stubbed.sleeps):
        assert 0 <= wait <= min(policy.max_delay, policy.base_delay * 2**attempt)
    assert len(set(stubbed.sleeps)) == 4, "waits are jittered, not fixed"


def test_a_throttling_storm_longer_than_the_policy_fails_loudly(stubbed: Stubbed) -> None:
    stubbed.describe()
    for _ in range(stubbed.backend.retry.max_attempts):
        stubbed.error("put_vectors", "TooManyRequestsException", 429)
    with pytest.raises(ThrottledError, match="gave up after 5 attempts"):
        stubbed.backend.put_vectors(INDEX, records(2))


def test_the_retry_deadline_bounds_the_total_wait() -> None:
    now = [0.0]
    calls = []

    def failing() -> None:
        calls.append(now[0])
        now[0] += 4.0
        raise ThrottledError("slow down")

    with pytest.raises(ThrottledError):
        call_with_retries(
            failing,
            policy=RetryPolicy(max_attempts=100, base_delay=1, max_delay=1, deadline=10),
            operation="PutVectors",
            sleep=lambda s: None,
            clock=lambda: now[0],
        )
    assert len(calls) == 3


def test_validation_errors_are_not_retried(stubbed: Stubbed) -> None:
    stubbed.describe()
    stubbed.error("put_vectors", "ValidationException", 400, message="metadata too large")
    with pytest.raises(ValidationError, match="metadata too large"):
        stubbed.backend.put_vectors(INDEX, records(1))
    assert stubbed.sleeps == []


def test_bad_input_is_rejected_before_any_request(stubbed: Stubbed) -> None:
    stubbed.describe(dimension=4)
    with pytest.raises(ValidationError, match="dimension"):
        stubbed.backend.put_vectors(INDEX, [MemoryRecord("a", np.ones(5, dtype=np.float32), {})])
    with pytest.raises(ValidationError):
        stubbed.backend.put_vectors(INDEX, records(501))
    with pytest.raises(ValidationError, match=r"filter|non-filterable"):
        stubbed.backend.query_vectors(INDEX, np.ones(4), top_k=3, filter={"content": "x"})
    # Only the one GetIndex was queued and used: nothing else went out.


def test_large_vectors_are_split_to_stay_under_the_request_size_limit(stubbed: Stubbed) -> None:
    stubbed.describe(dimension=4096, non_filterable=(), text_keys=())
    sent: list[int] = []

    def count(params: dict[str, object], **_: object) -> None:
        vectors = params.get("vectors")
        if isinstance(vectors, list):
            sent.append(len(vectors))

    stubbed.backend.client.meta.events.register("provide-client-params.s3vectors.PutVectors", count)
    stubbed.stub.add_response("put_vectors", {}, {**WHERE, "vectors": ANY})
    stubbed.stub.add_response("put_vectors", {}, {**WHERE, "vectors": ANY})
    batch = [MemoryRecord(f"k{i}", np.full(4096, 0.1 + i, dtype=np.float32), {}) for i in range(300)]
    stubbed.backend.put_vectors(INDEX, batch)
    assert sum(sent) == 300 and len(sent) == 2, sent


def test_get_returns_request_order_whatever_order_the_service_answers(stubbed: Stubbed) -> None:
    stubbed.describe()
    stubbed.stub.add_response(
        "get_vectors",
        {"vectors": [{"key": "c", "metadata": {"n": 3}}, {"key": "a", "metadata": {"n": 1}}]},
        {**WHERE, "keys": ["a", "b", "c"], "returnData": False, "returnMetadata": True},
    )
    got = stubbed.backend.get_vectors(INDEX, ["a", "b", "c"])
    assert [r.key for r in got] == ["a", "c"]
    assert got[1].metadata == {"n": 3}


def test_an_empty_page_with_a_token_is_not_the_end(stubbed: Stubbed) -> None:
    stubbed.describe()
    stubbed.stub.add_response(
        "list_vectors",
        {"vectors": [], "nextToken": "t1"},
        {**WHERE, "maxResults": 2, "returnData": False, "returnMetadata": False},
    )
    stubbed.stub.add_response(
        "list_vectors",
        {"vectors": [{"key": "a"}, {"key": "b"}]},
        {**WHERE, "maxResults": 2, "nextToken": "t1", "returnData": False, "returnMetadata": False},
    )
    first = stubbed.backend.list_vectors(INDEX, max_results=2)
    assert first.records == [] and first.next_token == "t1"
    second = stubbed.backend.list_vectors(INDEX, max_results=2, next_token=first.next_token)
    assert [r.key for r in second.records] == ["a", "b"] and second.next_token is None


def test_segments_are_sent_for_parallel_scans(stubbed: Stubbed) -> None:
    stubbed.describe()
    stubbed.stub.add_response(
        "list_vectors",
        {"vectors": [{"key": "z", "data": {"float32": [1.0, 0.0, 0.0, 0.0]}}]},
        {
            **WHERE,
            "maxResults": 1000,
            "segmentCount": 4,
            "segmentIndex": 3,
            "returnData": True,
            "returnMetadata": False,
        },
    )
    page = stubbed.backend.list_vectors(INDEX, max_results=1000, segment_count=4, segment_index=3, return_vector=True)
    assert page.records[0].vector is not None and page.records[0].vector.dtype == np.float32


def test_search_text_sends_query_texts_for_each_active_text_key(stubbed: Stubbed) -> None:
    stubbed.describe()
    long_query = "peanut " * 300  # 2,100 characters: S3 Vectors takes at most 1,024 per text
    stubbed.stub.add_response(
        "query_vectors",
        {
            "distanceMetric": "cosine",
            "vectors": [
                {
                    "key": "b",
                    "metadata": {"content": "peanut"},
                    "scores": {"bm25Scores": [{"metadataKey": "content", "score": 3.5}]},
                },
                {
                    "key": "a",
                    "metadata": {"content": "nut"},
                    "scores": {"bm25Scores": [{"metadataKey": "context", "score": 1.25}]},
                },
            ],
        },
        {
            **WHERE,
            "topK": 5,
            "queryTexts": [
                {"text": long_query[:1024], "metadataKey": "content"},
                {"text": long_query[:1024], "metadataKey": "context"},
            ],
            "filter": {"user_id": "u1"},
            "returnMetadata": True,
            "returnScores": True,
        },
    )
    assert stubbed.backend.supports_text_search(INDEX)
    hits = stubbed.backend.search_text(INDEX, long_query, top_k=5, filter={"user_id": "u1"})
    assert [(h.key, h.score) for h in hits] == [("b", 3.5), ("a", 1.25)]


@pytest.mark.parametrize(("mode", "status"), [("CLASSIC", "ACTIVE"), ("ENHANCED", "BUILDING"), (None, "ACTIVE")])
def test_no_text_search_where_the_index_cannot_serve_it(stubbed: Stubbed, mode: str | None, status: str) -> None:
    stubbed.describe(mode=mode, status=status)
    assert not stubbed.backend.supports_text_search(INDEX)
    with pytest.raises(ValidationError, match="ENHANCED"):
        stubbed.backend.search_text(INDEX, "peanuts", top_k=3)


def test_recall_on_a_classic_index_falls_back_to_dense_and_says_so_once(
    stubbed: Stubbed, caplog: pytest.LogCaptureFixture
) -> None:
    from strands_vector_memory import VectorMemory
    from strands_vector_memory.core import Field

    class Fixed:
        name = "fixed"
        dimension = 4

        def embed_documents(self, texts: list[str]) -> np.ndarray:
            return np.ones((len(texts), 4), dtype=np.float32)

        def embed_query(self, text: str) -> np.ndarray:
            return np.ones(4, dtype=np.float32)

    memory = VectorMemory(stubbed.backend, Fixed())
    name = memory.layout.index_for(__import__("strands_vector_memory").Scope(user_id="u"))
    stubbed.describe(name=name, mode="CLASSIC", non_filterable=tuple(sorted(Field.NON_FILTERABLE)))
    for _ in range(2):
        stubbed.stub.add_response(
            "query_vectors",
            {"distanceMetric": "cosine", "vectors": []},
            {
                **WHERE,
                "indexName": name,
                "topK": ANY,
                "queryVector": ANY,
                "filter": ANY,
                "returnMetadata": True,
                "returnDistance": True,
            },
        )
    with caplog.at_level(logging.WARNING):
        assert memory.recall("peanuts", user_id="u") == []
        assert memory.recall("peanuts", user_id="u") == []
    warnings = [r for r in caplog.records if "dense-only" in r.getMessage()]
    assert len(warnings) == 1


def test_the_default_config_is_adaptive_bounded_and_names_this_library() -> None:
    from botocore.config import Config

    config = default_config()
    assert config.retries["mode"] == "adaptive"
    assert config.connect_timeout == 5 and config.read_timeout == 30
    assert config.user_agent_extra == user_agent()
    merged = default_config(Config(read_timeout=99, user_agent_extra="my-app/1"))
    assert merged.read_timeout == 99 and merged.retries["mode"] == "adaptive"
    assert merged.user_agent_extra == f"my-app/1 {user_agent()}"


def test_the_user_agent_goes_out_on_every_request() -> None:
    import boto3

    backend = S3VectorsBackend(
        BUCKET, session=boto3.Session(aws_access_key_id="a", aws_secret_access_key="b"), region_name="eu-west-1"
    )
    seen: list[str] = []

    def capture(request: object, **_: object) -> None:
        seen.append(
            request.headers["User-Agent"].decode()
            if isinstance(request.headers["User-Agent"], bytes)
            else request.headers["User-Agent"]
        )  # type: ignore[attr-defined]
        raise RuntimeError("stop before the network")

    backend.client.meta.events.register("before-send.s3vectors.*", capture)
    with pytest.raises(RuntimeError, match="stop before the network"):
        backend.bucket_exists()
    assert user_agent() in seen[0]
    assert backend.client.meta.region_name == "eu-west-1"
    backend.close()


def test_region_comes_from_aws_region(monkeypatch: pytest.MonkeyPatch) -> None:
    import boto3

    monkeypatch.setenv("AWS_REGION", "ap-southeast-2")
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    backend = S3VectorsBackend(BUCKET, session=boto3.Session(aws_access_key_id="a", aws_secret_access_key="b"))
    assert backend.client.meta.region_name == "ap-southeast-2"
    backend.close()
