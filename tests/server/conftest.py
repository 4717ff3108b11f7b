"""One local S3 Vectors endpoint for the session, and raw boto3 clients pointed at it.

Tests talk to the endpoint only through boto3 (or raw HTTP for what boto3 never sends),
so they check the wire protocol, not the implementation. Each test makes its own
bucket with a unique name, so they share the endpoint without seeing each other.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from strands_vector_memory.server import LocalEndpoint

#: No retries: a test sees every error the endpoint sends, once.
NO_RETRIES = Config(retries={"total_max_attempts": 1})

_names = itertools.count()


@pytest.fixture(scope="session")
def endpoint_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("s3vectors")


@pytest.fixture(scope="session")
def endpoint(endpoint_root: Path) -> Iterator[LocalEndpoint]:
    with LocalEndpoint(endpoint_root, region="eu-west-1") as running:
        yield running


def make_client(endpoint: LocalEndpoint) -> Any:
    """A raw boto3 ``s3vectors`` client with dummy credentials and no retries."""
    return boto3.client(
        "s3vectors",
        endpoint_url=endpoint.url,
        region_name="eu-west-1",
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        config=NO_RETRIES,
    )


@pytest.fixture(scope="session")
def client_for() -> Callable[[LocalEndpoint], Any]:
    return make_client


@pytest.fixture(scope="session")
def client(endpoint: LocalEndpoint) -> Any:
    return make_client(endpoint)


def unique(prefix: str = "b") -> str:
    """A bucket or index name no other test uses."""
    return f"{prefix}-{next(_names)}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="session")
def new_name() -> Callable[..., str]:
    return unique


@pytest.fixture
def bucket(client: Any) -> str:
    name = unique()
    client.create_vector_bucket(vectorBucketName=name)
    return name


MakeIndex = Callable[..., str]


@pytest.fixture
def make_index(client: Any, bucket: str) -> MakeIndex:
    """Create an index in ``bucket`` (dimension 4, cosine, full-text on content and context by default)."""

    def make(
        name: str = "idx",
        *,
        dimension: int = 4,
        metric: str = "cosine",
        non_filterable: tuple[str, ...] = ("content", "context"),
        text_keys: tuple[str, ...] = ("content", "context"),
    ) -> str:
        config: dict[str, Any] = {"nonFilterableMetadataKeys": list(non_filterable)}
        if text_keys:
            config["textSearchConfigurations"] = [{"metadataKey": key} for key in text_keys]
        client.create_index(
            vectorBucketName=bucket,
            indexName=name,
            dataType="float32",
            dimension=dimension,
            distanceMetric=metric,
            metadataConfiguration=config,
        )
        return name

    return make


@pytest.fixture
def index(make_index: MakeIndex) -> str:
    return make_index()
