"""Fixtures of the memory tests: one ``VectorMemory`` per backend (embedded, and S3 Vectors over HTTP)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from strands_vector_memory import EmbeddedBackend, MiniLMEmbedder, VectorMemory

from ..conftest import Clock, unique_bucket

BACKENDS = ["embedded", "s3vectors"]


def open_memory(
    kind: str, tmp_path: Path, embedder: MiniLMEmbedder, clock: Clock, endpoint: str, **options: Any
) -> VectorMemory:
    """A fresh memory on ``kind``: its own store directory, or its own bucket on the local endpoint."""
    if kind == "embedded":
        return VectorMemory(EmbeddedBackend(tmp_path / "store"), embedder, clock=clock, **options)
    return VectorMemory.from_s3_vectors(
        unique_bucket("life"),
        region="us-east-1",
        endpoint_url=endpoint,
        embedder=embedder,
        create_bucket=True,
        clock=clock,
        **options,
    )


@pytest.fixture(params=BACKENDS)
def backend_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")


@pytest.fixture
def any_memory(
    backend_kind: str,
    tmp_path: Path,
    embedder: MiniLMEmbedder,
    clock: Clock,
    s3vectors_endpoint: str,
    aws_env: None,
) -> Iterator[VectorMemory]:
    with open_memory(backend_kind, tmp_path, embedder, clock, s3vectors_endpoint) as memory:
        yield memory
