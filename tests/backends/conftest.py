"""The backend fixture every contract test runs on, and small Protocol-only helpers.

``BACKEND_FACTORIES`` lists one factory per implementation of ``VectorBackend``. A factory
takes the pytest ``request`` (so it can pull a server fixture with
``request.getfixturevalue``) and a fresh temporary directory, and returns a backend over an
empty bucket. Tests that take ``backend`` run once per factory; they may use only the
Protocol, never an implementation's internals, so a new backend joins by adding a line.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from strands_vector_memory.backends import EmbeddedBackend, VectorBackend
from strands_vector_memory.core import MemoryRecord

BackendFactory = Callable[[pytest.FixtureRequest, Path], VectorBackend]


def _embedded(request: pytest.FixtureRequest, path: Path) -> VectorBackend:
    return EmbeddedBackend(path / "bucket")


def _s3vectors_over_http(request: pytest.FixtureRequest, path: Path) -> VectorBackend:
    """``S3VectorsBackend`` on a fresh bucket of a real local endpoint, over real HTTP."""
    import boto3

    from strands_vector_memory.backends import S3VectorsBackend

    from ..conftest import unique_bucket

    url = request.getfixturevalue("s3vectors_endpoint")
    session = boto3.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")
    backend = S3VectorsBackend(unique_bucket(), session=session, endpoint_url=url)
    backend.create_bucket(exist_ok=False)
    return backend


BACKEND_FACTORIES: list[Any] = [
    pytest.param(_embedded, id="embedded"),
    pytest.param(_s3vectors_over_http, id="s3vectors-http"),
]


@pytest.fixture(params=BACKEND_FACTORIES)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[VectorBackend]:
    """A backend over an empty bucket, closed after the test."""
    factory: BackendFactory = request.param
    store = factory(request, tmp_path)
    assert isinstance(store, VectorBackend)
    try:
        yield store
    finally:
        store.close()


Snapshot = dict[str, tuple[tuple[float, ...], str]]


def all_records(store: VectorBackend, index: str, *, page: int = 1000) -> list[MemoryRecord]:
    """Every record of an index (vectors and metadata), walking list_vectors pages."""
    records: list[MemoryRecord] = []
    token: str | None = None
    while True:
        result = store.list_vectors(index, max_results=page, next_token=token, return_vector=True, return_metadata=True)
        records.extend(result.records)
        token = result.next_token
        if token is None:
            return records


def snapshot(store: VectorBackend, index: str) -> Snapshot:
    """Key -> (vector, canonical metadata JSON): equal snapshots mean nothing was written."""
    out: Snapshot = {}
    for record in all_records(store, index):
        assert record.vector is not None
        vector = tuple(float(x) for x in np.asarray(record.vector, dtype=np.float32))
        out[record.key] = (vector, json.dumps(record.metadata, sort_keys=True))
    return out


@pytest.fixture
def records_of() -> Callable[..., list[MemoryRecord]]:
    """``records_of(backend, index)``: every record of an index."""
    return all_records


@pytest.fixture
def snapshot_of() -> Callable[[VectorBackend, str], Snapshot]:
    """``snapshot_of(backend, index)``: a comparable picture of an index's whole content."""
    return snapshot
