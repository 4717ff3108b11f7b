"""Reliability through a real local endpoint: throttling storms, long listings, read-after-write.

The endpoint answers a seeded share of PutVectors calls with 429 TooManyRequestsException
before doing anything, as S3 Vectors does when an index is written too fast. Whatever
the backend acknowledges must then be readable, exactly.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import boto3
import numpy as np
import pytest
from botocore.config import Config

from strands_vector_memory.backends import RetryPolicy, S3VectorsBackend
from strands_vector_memory.core import MemoryRecord
from strands_vector_memory.server import FaultInjection, LocalEndpoint

from ...conftest import unique_bucket

DIM = 16


@pytest.fixture(scope="module")
def throttling_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    faults = FaultInjection({"PutVectors": 0.3}, seed=20261121)
    with LocalEndpoint(tmp_path_factory.mktemp("throttled"), faults=faults) as endpoint:
        yield endpoint.url


def backend_at(url: str, *, config: Config | None = None, retry: RetryPolicy | None = None) -> S3VectorsBackend:
    session = boto3.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")
    backend = S3VectorsBackend(unique_bucket(), session=session, endpoint_url=url, config=config, retry=retry)
    backend.create_bucket(exist_ok=False)
    return backend


def count_put_attempts(backend: S3VectorsBackend) -> dict[str, int]:
    """HTTP attempts and 429 answers of PutVectors, counted as responses arrive."""
    counts = {"attempts": 0, "throttled": 0}

    def on_response(response_dict: dict[str, object] | None = None, **_: object) -> None:
        counts["attempts"] += 1
        if (response_dict or {}).get("status_code") == 429:
            counts["throttled"] += 1

    backend.client.meta.events.register("response-received.s3vectors.PutVectors", on_response)
    return counts


def import_and_verify(backend: S3VectorsBackend, n: int, batch: int) -> None:
    rng = np.random.default_rng(n + batch)
    vectors = rng.normal(size=(n, DIM)).astype(np.float32)
    backend.create_index("memories", dimension=DIM, non_filterable_keys=["content"])
    for start in range(0, n, batch):
        backend.put_vectors(
            "memories",
            [
                MemoryRecord(f"m{i:05d}", vectors[i], {"i": i, "content": f"memory {i}"})
                for i in range(start, start + batch)
            ],
        )
    listed: list[str] = []
    token = None
    while True:
        page = backend.list_vectors("memories", max_results=1000, next_token=token)
        listed.extend(r.key for r in page.records)
        token = page.next_token
        if token is None:
            break
    assert sorted(listed) == [f"m{i:05d}" for i in range(n)]
    for start in range(0, n, 100):
        keys = [f"m{i:05d}" for i in range(start, min(n, start + 100))]
        got = backend.get_vectors("memories", keys, return_vector=True, return_metadata=True)
        assert [r.key for r in got] == keys
        for r in got:
            i = int(r.key[1:])
            assert np.array_equal(r.vector, vectors[i]) and r.metadata == {"i": i, "content": f"memory {i}"}


def test_a_5000_vector_import_survives_30_percent_throttling(throttling_endpoint: str) -> None:
    """Botocore's own retries off: every 429 is ridden out by the backend's backoff."""
    backend = backend_at(
        throttling_endpoint,
        config=Config(retries={"mode": "standard", "total_max_attempts": 1}),
        retry=RetryPolicy(max_attempts=30, base_delay=0.002, max_delay=0.02),
    )
    counts = count_put_attempts(backend)
    with backend:
        import_and_verify(backend, 5_000, batch=100)
    assert counts["attempts"] - counts["throttled"] == 50  # one acknowledged call per batch
    assert 0.2 < counts["throttled"] / counts["attempts"] < 0.4, counts


def test_the_default_configuration_also_rides_out_throttling(throttling_endpoint: str) -> None:
    """Defaults: botocore adaptive retries first, the backend's backoff above them."""
    backend = backend_at(throttling_endpoint, retry=RetryPolicy(base_delay=0.002, max_delay=0.02))
    counts = count_put_attempts(backend)
    with backend:
        import_and_verify(backend, 5_000, batch=500)
    assert counts["throttled"] > 0


def test_a_2500_vector_listing_pages_through_the_endpoint(s3vectors_endpoint: str) -> None:
    backend = backend_at(s3vectors_endpoint)
    with backend:
        backend.create_index("big", dimension=4)
        rng = np.random.default_rng(1)
        for start in range(0, 2_500, 500):
            backend.put_vectors(
                "big",
                [
                    MemoryRecord(f"k{i}", rng.normal(size=4).astype(np.float32), {"i": i})
                    for i in range(start, start + 500)
                ],
            )
        expected = {f"k{i}" for i in range(2_500)}
        for size in (1000, 333, 1):
            seen: list[str] = []
            pages = 0
            token = None
            while True:
                page = backend.list_vectors("big", max_results=size, next_token=token)
                assert len(page.records) <= size
                seen.extend(r.key for r in page.records)
                pages += 1
                token = page.next_token
                if token is None:
                    break
            assert len(seen) == len(set(seen)) == 2_500 and set(seen) == expected
            assert pages >= -(-2_500 // size)
        segments: list[str] = []
        for segment in range(4):
            token = None
            while True:
                page = backend.list_vectors(
                    "big", max_results=500, segment_count=4, segment_index=segment, next_token=token
                )
                segments.extend(r.key for r in page.records)
                token = page.next_token
                if token is None:
                    break
        assert sorted(segments) == sorted(expected)


def test_read_after_write_through_the_endpoint(s3vectors_endpoint: str, tmp_path: Path) -> None:
    backend = backend_at(s3vectors_endpoint)
    with backend:
        backend.create_index("raw", dimension=4, distance_metric="euclidean")
        rng = np.random.default_rng(2)
        for step in range(40):
            key = f"k{step % 7}"
            vector = rng.normal(size=4).astype(np.float32)
            backend.put_vectors("raw", [MemoryRecord(key, vector, {"step": step})])
            nearest = backend.query_vectors("raw", vector, top_k=1)
            assert nearest[0].key == key and nearest[0].metadata == {"step": step}
            assert nearest[0].distance == pytest.approx(0.0, abs=1e-6)
            got = backend.get_vectors("raw", [key], return_vector=True)
            assert np.array_equal(got[0].vector, vector) and got[0].metadata == {"step": step}
            if step % 5 == 4:
                backend.delete_vectors("raw", [key])
                assert backend.get_vectors("raw", [key]) == []
                assert all(m.key != key for m in backend.query_vectors("raw", vector, top_k=10))
