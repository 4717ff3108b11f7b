"""A real boto3 ``s3vectors`` client under botocore's ``Stubber``, and a backend over it.

The Stubber validates every request against the service model and plays back the
responses a test queues, including errors no local endpoint produces on demand
(throttling bursts, 5xx, odd pages). Waits between retries are recorded, not slept.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from strands_vector_memory.backends import RetryPolicy, S3VectorsBackend

BUCKET = "memories"
INDEX = "idx"


def make_client() -> Any:
    return boto3.client("s3vectors", region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")


def index_description(
    name: str = INDEX,
    *,
    dimension: int = 4,
    metric: str = "cosine",
    non_filterable: tuple[str, ...] = ("content", "context"),
    mode: str | None = "ENHANCED",
    text_keys: tuple[str, ...] = ("content", "context"),
    status: str = "ACTIVE",
) -> dict[str, Any]:
    """A ``GetIndex`` response as S3 Vectors sends it."""
    config: dict[str, Any] = {}
    if non_filterable:
        config["nonFilterableMetadataKeys"] = list(non_filterable)
    if text_keys:
        config["textSearchConfigurations"] = [{"metadataKey": k, "status": status} for k in text_keys]
    index: dict[str, Any] = {
        "vectorBucketName": BUCKET,
        "indexName": name,
        "indexArn": f"arn:aws:s3vectors:us-east-1:123456789012:bucket/{BUCKET}/index/{name}",
        "creationTime": dt.datetime(2026, 1, 2, tzinfo=dt.timezone.utc),
        "dataType": "float32",
        "dimension": dimension,
        "distanceMetric": metric,
        "metadataConfiguration": config,
    }
    if mode:
        index["indexMode"] = mode
    return {"index": index}


@dataclass
class Stubbed:
    """A backend, the Stubber behind its client, and the waits it asked for."""

    backend: S3VectorsBackend
    stub: Stubber
    sleeps: list[float] = field(default_factory=list)

    def describe(self, **kwargs: Any) -> None:
        """Queue the GetIndex the backend makes before its first call on an index."""
        name = kwargs.get("name", INDEX)
        self.stub.add_response(
            "get_index", index_description(**kwargs), {"vectorBucketName": BUCKET, "indexName": name}
        )

    def error(self, method: str, code: str, status: int, message: str = "injected", **extra: Any) -> None:
        self.stub.add_client_error(
            method, service_error_code=code, service_message=message, http_status_code=status, **extra
        )


@pytest.fixture
def stubbed() -> Iterator[Stubbed]:
    client = make_client()
    sleeps: list[float] = []
    backend = S3VectorsBackend(
        BUCKET, client=client, retry=RetryPolicy(max_attempts=5, base_delay=0.1, max_delay=1.0), sleep=sleeps.append
    )
    with Stubber(client) as stub:
        yield Stubbed(backend, stub, sleeps)
        stub.assert_no_pending_responses()
