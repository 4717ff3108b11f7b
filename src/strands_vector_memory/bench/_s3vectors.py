"""What ``S3VectorsBackend`` adds on the client side, against raw boto3 calls.

Both sides send the same ``QueryVectors`` requests (top 10, a user filter, metadata
and distances back) through the same boto3 client, so the same connection pool and
the same endpoint answer them; they alternate call by call, so drift on a noisy
machine hits both alike. The raw side gets its query vector as a ready Python list
(the cheapest thing a raw caller could send); the backend side gets a numpy vector
and does what it always does: validate the vector and filter, convert, send, and turn
the answer into ``QueryMatch`` objects. By default the endpoint is a fresh local
``strands-memory serve`` in a temporary directory; ``endpoint_url`` measures another.
"""

from __future__ import annotations

import contextlib
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from ..core import MemoryRecord
from ._service import _percentile

__all__ = ["S3VectorsBenchResult", "run_s3vectors_bench"]

BUCKET = "strands-memory-bench"
WARMUP = 10


@dataclass(frozen=True, slots=True)
class S3VectorsBenchResult:
    """Per-query latency of raw boto3 and of ``S3VectorsBackend``, in milliseconds."""

    endpoint: str
    vectors: int
    dimension: int
    queries: int
    raw_boto3_p50_ms: float
    backend_p50_ms: float
    raw_boto3_mean_ms: float
    backend_mean_ms: float
    overhead_ratio_p50: float
    """backend p50 / raw p50: the client-side cost of the backend (target <= 1.1)."""
    overhead_p50_ms: float
    import_vectors_per_s: float
    """Vectors per second written through ``put_vectors`` in batches of 500."""

    def to_dict(self) -> dict[str, Any]:
        """Plain numbers for JSON."""
        return asdict(self)


@contextlib.contextmanager
def _endpoint(endpoint_url: str | None) -> Iterator[str]:
    if endpoint_url:
        yield endpoint_url
        return
    from ..server import LocalEndpoint

    with tempfile.TemporaryDirectory(prefix="strands-memory-bench-") as root, LocalEndpoint(root) as endpoint:
        yield endpoint.url


def run_s3vectors_bench(
    *,
    n: int = 5_000,
    dim: int = 384,
    queries: int = 300,
    seed: int = 0,
    endpoint_url: str | None = None,
    region: str = "us-east-1",
    progress: Callable[[str, int, int], None] | None = None,
) -> S3VectorsBenchResult:
    """Fill a fresh index with ``n`` vectors, then time ``queries`` queries each way."""
    import boto3

    from ..backends import S3VectorsBackend

    tick = progress or (lambda stage, done, total: None)
    rng = np.random.default_rng(seed)
    vectors = rng.normal(size=(n, dim)).astype(np.float32)
    users = [f"user-{i % 50}" for i in range(n)]
    with _endpoint(endpoint_url) as url:
        session = boto3.Session(aws_access_key_id="bench", aws_secret_access_key="bench", region_name=region)
        backend = S3VectorsBackend(BUCKET, session=session, endpoint_url=url)
        index = f"bench-{uuid.uuid4().hex[:8]}"
        try:
            backend.create_bucket(exist_ok=True)
            backend.create_index(index, dimension=dim, non_filterable_keys=["content"])
            started = time.perf_counter()
            for start in range(0, n, 500):
                batch = [
                    MemoryRecord(f"k{i}", vectors[i], {"user_id": users[i], "content": f"memory number {i}"})
                    for i in range(start, min(n, start + 500))
                ]
                backend.put_vectors(index, batch)
                tick("s3-import", min(n, start + 500), n)
            import_rate = n / (time.perf_counter() - started)
            raw, ours = _time_queries(backend, index, rng, dim, queries, tick)
        finally:
            with contextlib.suppress(Exception):
                backend.delete_index(index)
            backend.close()
    raw_p50, ours_p50 = _percentile(raw, 0.5), _percentile(ours, 0.5)
    return S3VectorsBenchResult(
        endpoint=url if endpoint_url else "local strands-memory serve",
        vectors=n,
        dimension=dim,
        queries=queries,
        raw_boto3_p50_ms=raw_p50,
        backend_p50_ms=ours_p50,
        raw_boto3_mean_ms=statistics.fmean(raw),
        backend_mean_ms=statistics.fmean(ours),
        overhead_ratio_p50=ours_p50 / raw_p50,
        overhead_p50_ms=ours_p50 - raw_p50,
        import_vectors_per_s=import_rate,
    )


def _time_queries(
    backend: Any,
    index: str,
    rng: np.random.Generator,
    dim: int,
    queries: int,
    tick: Callable[[str, int, int], None],
) -> tuple[list[float], list[float]]:
    """Alternate raw and backend calls on the same client; milliseconds per call, warm-up dropped."""
    client = backend.client
    raw: list[float] = []
    ours: list[float] = []
    total = queries + WARMUP
    for q in range(total):
        vector = rng.normal(size=dim).astype(np.float32)
        as_list = vector.tolist()
        user_filter = {"user_id": f"user-{q % 50}"}
        sides = [("raw", as_list), ("ours", vector)]
        if q % 2:
            sides.reverse()
        for side, payload in sides:
            started = time.perf_counter()
            if side == "raw":
                client.query_vectors(
                    vectorBucketName=backend.bucket,
                    indexName=index,
                    topK=10,
                    queryVector={"float32": payload},
                    filter=user_filter,
                    returnMetadata=True,
                    returnDistance=True,
                )
            else:
                backend.query_vectors(index, payload, top_k=10, filter=user_filter)
            elapsed = (time.perf_counter() - started) * 1000
            if q >= WARMUP:
                (raw if side == "raw" else ours).append(elapsed)
        tick("s3-query", q + 1, total)
    return raw, ours
