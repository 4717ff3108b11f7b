"""The old plugin's store API over VectorMemory: same calls and result shapes, no fallbacks."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest

from strands_vector_memory import IsolationError, MiniLMEmbedder, ValidationError
from strands_vector_memory.compat import (
    DEFAULT_EMBEDDING_MODEL,
    MultiTenantS3VectorMemory,
    S3VectorMemory,
    embedder_for_model,
)
from strands_vector_memory.embedders import NovaEmbedder, TitanEmbedder

from ..conftest import unique_bucket

ROLE = "arn:aws:iam::123456789012:role/strands-memory-tenants"


@pytest.fixture(autouse=True)
def _aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "app")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "app")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    for name in ("EMBEDDING_MODEL", "S3_VECTOR_BUCKET_NAME", "AWS_ENDPOINT_URL_S3VECTORS", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def bucket(s3vectors_endpoint: str) -> str:
    name = unique_bucket("compat")
    client = boto3.client("s3vectors", endpoint_url=s3vectors_endpoint, region_name="us-east-1")
    client.create_vector_bucket(vectorBucketName=name)
    return name


@pytest.fixture
def store(bucket: str, s3vectors_endpoint: str, embedder: MiniLMEmbedder) -> Iterator[S3VectorMemory]:
    made = S3VectorMemory(bucket, embedding_model=embedder, endpoint_url=s3vectors_endpoint)
    yield made
    made.close()


def test_store_and_retrieve_keep_the_old_shapes(store: S3VectorMemory) -> None:
    stored = store.store_memory("user-001", "My favourite framework is Strands Agents.")
    assert stored["status"] == "success" and stored["index_name"] == "memories" and stored["key"]
    store.store_memory("user-002", "My favourite framework is something else entirely.")
    found = store.retrieve_memories("user-001", "which framework do I like?", top_k=5)
    assert [r["content"] for r in found] == ["My favourite framework is Strands Agents."]
    result = found[0]
    assert set(result) >= {"key", "content", "similarity", "stored_at"}
    assert result["key"] == stored["key"] and 0.5 < result["similarity"] <= 1.0
    assert result["stored_at"].endswith("+00:00")
    assert store.retrieve_memories("user-001", "   ") == []  # as before: an empty query finds nothing


def test_agent_name_narrows_retrieval_and_none_reads_every_agent(store: S3VectorMemory) -> None:
    store.store_memory("u", "The orchestrator chose PostgreSQL.", agent_name="orchestrator")
    store.store_memory("u", "The researcher found PostgreSQL benchmarks.", agent_name="researcher")
    mine = store.retrieve_memories("u", "PostgreSQL", agent_name="researcher")
    assert [r["agent_name"] for r in mine] == ["researcher"]
    assert {r["agent_name"] for r in store.retrieve_memories("u", "PostgreSQL", agent_name=None)} == {
        "orchestrator",
        "researcher",
    }


def test_bad_input_is_refused_not_truncated(store: S3VectorMemory) -> None:
    with pytest.raises(ValidationError):
        store.store_memory("u", "x" * 50_000)  # the old store cut it to 4 KB silently
    with pytest.raises(ValidationError):
        store.retrieve_memories("u", "query", top_k=10_000)


def test_multi_tenant_refuses_to_run_without_a_tvm_role(bucket: str, s3vectors_endpoint: str) -> None:
    with pytest.raises(ValueError, match="tvm_role_arn"):
        MultiTenantS3VectorMemory(bucket, embedding_model="local", endpoint_url=s3vectors_endpoint)


def test_multi_tenant_calls_must_name_a_tenant(bucket: str, s3vectors_endpoint: str, embedder: MiniLMEmbedder) -> None:
    store = MultiTenantS3VectorMemory(
        bucket, embedding_model=embedder, tvm_role_arn=ROLE, endpoint_url=s3vectors_endpoint
    )
    for bad in (None, {}, {"tenantId": ""}, {"tenantName": "Acme"}):
        with pytest.raises(IsolationError):
            store.store_memory("u", "text", tenant_context=bad)
        with pytest.raises(IsolationError):
            store.retrieve_memories("u", "text", tenant_context=bad)
    assert store.tvm.stats()["sts_calls"] == 0  # refused before any credentials were fetched
    store.close()


@pytest.mark.parametrize(
    ("model", "kind", "dimension"),
    [
        ("amazon.titan-embed-text-v2:0", TitanEmbedder, 1024),
        (DEFAULT_EMBEDDING_MODEL, NovaEmbedder, 1024),
        ("local", MiniLMEmbedder, 384),
    ],
)
def test_embedding_model_ids_pick_the_embedder(model: str, kind: type, dimension: int) -> None:
    made = embedder_for_model(model, "us-east-1")
    assert isinstance(made, kind) and made.dimension == dimension


def test_the_embedding_model_defaults_to_the_environment_then_nova(monkeypatch: pytest.MonkeyPatch) -> None:
    assert isinstance(embedder_for_model(None, "us-east-1"), NovaEmbedder)
    monkeypatch.setenv("EMBEDDING_MODEL", "local")
    assert isinstance(embedder_for_model(None), MiniLMEmbedder)
    with pytest.raises(ValidationError, match="unknown embedding_model"):
        embedder_for_model("gpt-4o")
