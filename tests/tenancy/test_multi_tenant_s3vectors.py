"""The whole multi-tenant path, offline: IAM role, STS, per-tenant credentials, IAM enforcement.

``strands-memory serve`` plays S3 Vectors, STS and IAM over real HTTP. The role is made
by ``setup_tenant_role`` (the code behind ``strands-memory tenancy setup``), the Token
Vending Machine assumes it per tenant, and the endpoint evaluates the generated policy
on every call, so "tenant B's credentials cannot touch tenant A's index" is checked
the way AWS would check it, not by the library's own routing.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from strands_vector_memory import (
    AccessDeniedError,
    IsolationError,
    MiniLMEmbedder,
    Scope,
    TitanEmbedder,
    VectorMemory,
)
from strands_vector_memory.core import Field
from strands_vector_memory.tenancy import TenantIndexLayout, setup_tenant_role, tenant_key, tenant_memory_parts
from strands_vector_memory.tenancy._admin import list_tenants, offboard_tenant
from strands_vector_memory.tenancy._tvm import TokenVendingMachine

from ..conftest import unique_bucket

APP_KEY = "app-tenancy-tests"
APP_PRINCIPAL = f"arn:aws:iam::123456789012:user/{APP_KEY}"
ACME = Scope(tenant_id="acme", user_id="u1")
GLOBEX = Scope(tenant_id="Globex Corp", user_id="u1")


@pytest.fixture(autouse=True)
def _app_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """The application's own static key; tenants get STS sessions from it."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", APP_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "app-secret")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3VECTORS", "AWS_ENDPOINT_URL_STS"):
        monkeypatch.delenv(name, raising=False)


@dataclass
class Tenancy:
    endpoint: str
    bucket: str
    tvm: TokenVendingMachine
    memory: VectorMemory  # acts as each caller's tenant
    admin: VectorMemory  # the application's own credentials


@pytest.fixture
def tenancy(s3vectors_endpoint: str, embedder: MiniLMEmbedder) -> Iterator[Tenancy]:
    bucket = unique_bucket("mt")
    client = boto3.client("s3vectors", endpoint_url=s3vectors_endpoint, region_name="us-east-1")
    client.create_vector_bucket(vectorBucketName=bucket)
    iam = boto3.client("iam", endpoint_url=s3vectors_endpoint, region_name="us-east-1")
    role = setup_tenant_role(
        iam, role_name=f"tenants-{uuid.uuid4().hex[:8]}", principal_arn=APP_PRINCIPAL, bucket=bucket
    )
    tvm = TokenVendingMachine(role.role_arn, "us-east-1", endpoint_url=s3vectors_endpoint)
    memory = VectorMemory.from_s3_vectors(bucket, endpoint_url=s3vectors_endpoint, tvm=tvm, embedder=embedder)
    admin = VectorMemory.from_s3_vectors(
        bucket, endpoint_url=s3vectors_endpoint, embedder=embedder, layout=TenantIndexLayout()
    )
    yield Tenancy(s3vectors_endpoint, bucket, tvm, memory, admin)
    memory.close()
    admin.close()


def test_each_tenant_recalls_only_its_own_memories(tenancy: Tenancy) -> None:
    tenancy.memory.remember("Our Q4 budget is two million dollars.", scope=ACME)
    tenancy.memory.remember("Our Q4 budget is nine million dollars.", scope=GLOBEX)
    assert [m.content for m in tenancy.memory.recall("Q4 budget", scope=ACME, top_k=10)] == [
        "Our Q4 budget is two million dollars."
    ]
    assert [m.content for m in tenancy.memory.recall("Q4 budget", scope=GLOBEX, top_k=10)] == [
        "Our Q4 budget is nine million dollars."
    ]
    assert [t.index for t in list_tenants(tenancy.admin)] == sorted(
        ["memory-acme", f"memory-{tenant_key('Globex Corp')}"]
    )
    assert tenancy.tvm.stats()["sts_calls"] == 2  # one session per tenant, reused across calls


def test_another_tenants_credentials_are_denied_on_its_index(tenancy: Tenancy) -> None:
    tenancy.memory.remember("acme's secret plan", scope=ACME)
    globex = tenancy.memory.backend.for_scope(GLOBEX)  # type: ignore[union-attr]
    for call in (
        lambda: globex.list_vectors("memory-acme"),
        lambda: globex.get_vectors("memory-acme", ["k"]),
        lambda: globex.delete_vectors("memory-acme", ["k"]),
        lambda: globex.get_index("memory-acme"),
    ):
        with pytest.raises(AccessDeniedError, match="not authorized"):
            call()


def test_a_layout_bug_that_names_another_tenants_index_is_refused_by_iam(tenancy: Tenancy) -> None:
    """Credentials follow the caller's tenant, not the index name: a wrong index is denied, not served."""

    class Buggy(TenantIndexLayout):
        def index_for(self, scope: Scope) -> str:
            return "memory-acme"  # the bug: every tenant is sent to acme's index

    tenancy.memory.remember("acme's secret plan", scope=ACME)
    backend, embedder, layout = tenant_memory_parts(
        tenancy.bucket, tenancy.tvm, embedder=tenancy.memory.embedder, layout=Buggy(), endpoint_url=tenancy.endpoint
    )
    with VectorMemory(backend, embedder, layout=layout) as buggy:
        with pytest.raises(AccessDeniedError, match="memory-acme"):
            buggy.recall("secret plan", scope=GLOBEX)
        with pytest.raises(AccessDeniedError):
            buggy.remember("globex overwrites acme", scope=GLOBEX)
    assert [m.content for m in tenancy.memory.recall("plan", scope=ACME)] == ["acme's secret plan"]


def test_a_call_without_a_tenant_never_reaches_sts(tenancy: Tenancy) -> None:
    for call in (
        lambda: tenancy.memory.remember("x", user_id="u1"),
        lambda: tenancy.memory.recall("x", user_id="u1"),
        lambda: tenancy.memory.forget(user_id="u1"),
    ):
        with pytest.raises(IsolationError):
            call()
    assert tenancy.tvm.stats()["sts_calls"] == 0


def test_tenant_credentials_cannot_list_the_bucket_or_drop_an_index(tenancy: Tenancy) -> None:
    tenancy.memory.remember("fact", scope=ACME)
    own = tenancy.memory.backend.for_scope(ACME)  # type: ignore[union-attr]
    with pytest.raises(AccessDeniedError):
        own.list_indexes()
    with pytest.raises(AccessDeniedError):
        own.delete_index("memory-acme")  # offboarding is the application's act
    with pytest.raises(IsolationError):
        tenancy.memory.backend.list_indexes()
    stats = tenancy.memory.stats(scope=ACME)  # falls back to the tenant's own index
    assert stats.total == 1 and stats.indexes == ["memory-acme"]


def test_offboarding_deletes_every_vector_and_a_later_recall_finds_nothing(tenancy: Tenancy) -> None:
    tenancy.memory.remember_many([f"acme fact {i}" for i in range(30)], scope=ACME)
    tenancy.memory.remember("globex fact", scope=GLOBEX)
    done = offboard_tenant(tenancy.admin, "acme")
    assert done.existed and done.vectors == 30
    assert tenancy.memory.recall("fact", scope=ACME) == []
    assert tenancy.memory.list(scope=ACME).memories == []
    assert [m.content for m in tenancy.memory.recall("fact", scope=GLOBEX)] == ["globex fact"]
    raw = boto3.client("s3vectors", endpoint_url=tenancy.endpoint, region_name="us-east-1")
    names = [i["indexName"] for i in raw.list_indexes(vectorBucketName=tenancy.bucket)["indexes"]]
    assert "memory-acme" not in names


def _titan_response(vector: list[float]) -> dict[str, Any]:
    import io
    import json

    from botocore.response import StreamingBody

    body = json.dumps({"embedding": vector, "inputTextTokenCount": 3}).encode()
    return {"body": StreamingBody(io.BytesIO(body), len(body)), "contentType": "application/json"}


def test_bedrock_embeddings_are_fetched_with_the_tenants_credentials(tenancy: Tenancy) -> None:
    ambient = boto3.client("bedrock-runtime", region_name="us-east-1")
    titan = TitanEmbedder(dimension=256, client=ambient)
    backend, embedder, layout = tenant_memory_parts(
        tenancy.bucket, tenancy.tvm, embedder=titan, endpoint_url=tenancy.endpoint
    )
    tenant_client = tenancy.tvm.client_for_key("acme", "bedrock-runtime")
    per_tenant = embedder.for_scope(ACME)  # type: ignore[attr-defined]
    assert per_tenant._client is tenant_client and per_tenant._client is not ambient
    frozen = tenant_client._request_signer._credentials.get_frozen_credentials()
    assert frozen.access_key == tenancy.tvm.credentials("acme").access_key_id != APP_KEY
    with Stubber(tenant_client) as bedrock, Stubber(ambient) as unused:
        bedrock.add_response("invoke_model", _titan_response([1.0] + [0.0] * 255))
        with VectorMemory(backend, embedder, layout=layout) as memory:
            stored = memory.remember("embedded as acme", scope=ACME)
        bedrock.assert_no_pending_responses()
        unused.assert_no_pending_responses()
    assert stored.metadata[Field.TENANT_ID] == "acme"
