"""Independent evidence of wire compatibility: the same story on moto's server and on ours.

moto (the AWS mock library) implements S3 Vectors' bucket and index CRUD and
Put/Get/List/Delete vectors from the service model, independently of this project. A
scenario of those operations runs through ``S3VectorsBackend`` against moto's real HTTP
server and against ``strands-memory serve``; every observable result must be equal.
moto lacks QueryVectors and ListVectors paging (one page of everything), so the
scenario lists with pages larger than the index and queries are left to the contract
suite. Three moto divergences from the service are known and left out: its GetIndex
omits the metadata configuration (non-filterable keys), it answers CreateIndex of an
existing index with success instead of ConflictException, and ListIndexes ignores
``prefix``; the contract suite checks all three on our endpoint.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import boto3
import numpy as np

from strands_vector_memory.backends import RetryPolicy, S3VectorsBackend
from strands_vector_memory.core import ConflictError, DistanceMetric, MemoryRecord, NotFoundError, VectorMemoryError

DIM = 8


def backend_at(url: str, bucket: str) -> S3VectorsBackend:
    session = boto3.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")
    return S3VectorsBackend(bucket, session=session, endpoint_url=url, retry=RetryPolicy(max_attempts=1))


def outcome(call: Callable[[], Any]) -> Any:
    """What a caller observes: the value, or the project exception type it raised."""
    try:
        return ("ok", call())
    except VectorMemoryError as exc:
        return ("error", type(exc).__name__)


def records(n: int, *, seed: int, prefix: str = "k") -> list[MemoryRecord]:
    rng = np.random.default_rng(seed)
    return [
        MemoryRecord(
            f"{prefix}{i}",
            rng.normal(size=DIM).astype(np.float32),
            {"user_id": f"u{i % 3}", "i": i, "tags": ["a", "b"][: i % 3], "content": f"text {i} ünïcode"},
        )
        for i in range(n)
    ]


def picture(records_: list[MemoryRecord]) -> list[tuple[str, list[float], str]]:
    return sorted(
        (r.key, [round(float(x), 6) for x in np.asarray(r.vector)], json.dumps(r.metadata, sort_keys=True))
        for r in records_
    )


def scenario(store: S3VectorsBackend) -> list[Any]:
    """Bucket, index and vector operations moto implements; returns what was observed."""
    seen: list[Any] = []
    store.create_bucket(exist_ok=False)
    seen.append(outcome(lambda: store.create_bucket(exist_ok=False)))
    seen.append(store.bucket_exists())
    metrics: list[tuple[str, DistanceMetric]] = [("alpha", "cosine"), ("beta.two", "euclidean"), ("gamma", "cosine")]
    for name, metric in metrics:
        store.create_index(name, dimension=DIM, distance_metric=metric, non_filterable_keys=["content"])
    seen.append([(i.name, i.dimension, i.distance_metric) for i in store.list_indexes()])
    info = store.get_index("beta.two")
    seen.append((info.name, info.dimension, info.distance_metric))
    seen.append(outcome(lambda: store.get_index("missing")))

    batch = records(120, seed=1)
    store.put_vectors("alpha", batch[:100])
    store.put_vectors("alpha", batch[100:])
    store.put_vectors("alpha", records(10, seed=2))  # overwrite k0..k9: vectors and metadata
    everything = store.list_vectors("alpha", max_results=1000, return_vector=True, return_metadata=True)
    seen.append(picture(everything.records))
    got = store.get_vectors("alpha", ["k5", "nope", "k119", "k0"], return_vector=True)
    seen.append(picture(got))
    seen.append([r.key for r in got])
    seen.append([r.metadata for r in store.get_vectors("alpha", ["k7"], return_metadata=True)])
    seen.append([r.metadata for r in store.get_vectors("alpha", ["k7"], return_metadata=False)])
    store.delete_vectors("alpha", [f"k{i}" for i in range(0, 120, 2)] + ["absent"])
    seen.append(sorted(r.key for r in store.list_vectors("alpha", max_results=1000).records))
    seen.append(outcome(lambda: store.put_vectors("missing", records(1, seed=3))))
    seen.append(outcome(lambda: store.get_vectors("missing", ["k1"])))
    seen.append(outcome(lambda: store.delete_vectors("missing", ["k1"])))
    seen.append(store.list_vectors("gamma", max_results=1000).records)

    store.delete_index("alpha")
    seen.append(outcome(lambda: store.get_index("alpha")))
    seen.append(outcome(lambda: store.delete_index("alpha")))
    seen.append([i.name for i in store.list_indexes()])
    for name in ("beta.two", "gamma"):
        store.delete_index(name)
    store.delete_bucket()
    seen.append(store.bucket_exists())
    return seen


def test_moto_and_the_local_endpoint_observe_the_same(moto_url: str, s3vectors_endpoint: str) -> None:
    with backend_at(moto_url, "crosscheck") as on_moto, backend_at(s3vectors_endpoint, "crosscheck") as on_ours:
        theirs = scenario(on_moto)
        ours = scenario(on_ours)
    assert len(theirs) == len(ours)
    for step, (a, b) in enumerate(zip(theirs, ours, strict=True)):
        assert a == b, f"step {step}: moto saw {a!r}, strands-memory serve saw {b!r}"
    assert ("error", ConflictError.__name__) in ours and ("error", NotFoundError.__name__) in ours


def as32(values: list[float]) -> list[float]:
    return [float(x) for x in np.asarray(values, dtype=np.float32)]


def test_raw_vector_payloads_round_trip_identically(moto_url: str, s3vectors_endpoint: str) -> None:
    """Below the backend: what raw boto3 gets back for the same vectors on both servers.

    Response envelopes are not compared: moto leaves out members the service model
    marks required (CreateVectorBucket's ``vectorBucketArn``, for one), which the
    endpoint's own tests check against the model.
    """

    def payloads(url: str) -> list[Any]:
        client = boto3.client(
            "s3vectors", endpoint_url=url, region_name="us-east-1", aws_access_key_id="t", aws_secret_access_key="t"
        )
        bucket, where = "payloads", {"vectorBucketName": "payloads", "indexName": "idx"}
        client.create_vector_bucket(vectorBucketName=bucket)
        client.create_index(**where, dataType="float32", dimension=3, distanceMetric="euclidean")
        vectors = [
            {"key": "a", "data": {"float32": [1.0, 0.5, -2.25]}, "metadata": {"n": 1, "tags": ["x", "y"]}},
            {"key": "b/ü", "data": {"float32": [0.1, 1e-7, 3.4e38]}, "metadata": {"ok": True, "s": "é"}},
            {"key": "c", "data": {"float32": [-0.0, 2.0, 0.333333]}},
        ]
        client.put_vectors(**where, vectors=vectors)
        out: list[Any] = []
        got = client.get_vectors(**where, keys=["c", "a", "b/ü"], returnData=True, returnMetadata=True)["vectors"]
        # Compared as float32: S3 Vectors stores float32 (as the endpoint does); moto keeps the doubles sent.
        out.append(sorted((v["key"], as32(v["data"]["float32"]), v.get("metadata") or {}) for v in got))
        listed = client.list_vectors(**where, returnData=False, returnMetadata=True)["vectors"]
        out.append(sorted((v["key"], "data" in v, v.get("metadata") or {}) for v in listed))
        client.delete_vectors(**where, keys=["a", "zzz"])
        out.append(sorted(v["key"] for v in client.list_vectors(**where)["vectors"]))
        client.delete_index(**where)
        client.delete_vector_bucket(vectorBucketName=bucket)
        return out

    assert payloads(moto_url) == payloads(s3vectors_endpoint)
