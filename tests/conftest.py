"""Fixtures shared by every test package: a real store on disk with the real embedder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from strands_vector_memory import EmbeddedBackend, MiniLMEmbedder, VectorMemory


@pytest.fixture(scope="session")
def embedder() -> MiniLMEmbedder:
    """The bundled offline embedder, loaded once per test session."""
    return MiniLMEmbedder()


class Clock:
    """A settable clock, so expiry is tested without sleeping."""

    def __init__(self, now: float = 1_750_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def memory(tmp_path: Path, embedder: MiniLMEmbedder, clock: Clock) -> Iterator[VectorMemory]:
    """A fresh VectorMemory on a real embedded store in a temporary directory."""
    with VectorMemory(EmbeddedBackend(tmp_path / "store"), embedder, clock=clock) as vm:
        yield vm


@pytest.fixture(scope="session")
def s3vectors_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real ``strands-memory serve`` endpoint on a free loopback port, for the whole session.

    Tests share it but never a bucket: each makes its own (``unique_bucket``).
    """
    from strands_vector_memory.server import LocalEndpoint

    with LocalEndpoint(tmp_path_factory.mktemp("s3vectors-endpoint")) as endpoint:
        yield endpoint.url


def unique_bucket(prefix: str = "t") -> str:
    """A fresh bucket name, so tests sharing one endpoint never see each other's data."""
    import uuid

    return f"{prefix}-{uuid.uuid4().hex[:16]}"


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    """moto's real HTTP server (IAM, S3 Vectors CRUD), shared by the session; tests use unique names."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()
