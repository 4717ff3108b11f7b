"""Tenant isolation on the S3 Vectors face: assumed-role sessions get exactly what their role allows.

The Token Vending Machine flow end to end, offline: the application (a static key)
creates the role, assumes it for tenants "acme" and "globex" with the TenantID session
tag, and each tenant's credentials reach only ``memory-<tenant>`` in the bucket.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import numpy as np
import pytest
from botocore.exceptions import ClientError

from strands_vector_memory.backends import S3VectorsBackend
from strands_vector_memory.core import AccessDeniedError
from strands_vector_memory.server import LocalEndpoint

from ..conftest import Clock
from .conftest import NO_RETRIES
from .iam_documents import APP_KEY, TENANT_ACTIONS, create_tenant_role, permissions_policy

START = 1_750_000_000.0
REGION = "eu-west-1"


@pytest.fixture(scope="module")
def clock() -> Clock:
    return Clock(START)


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory, clock: Clock) -> Iterator[LocalEndpoint]:
    with LocalEndpoint(tmp_path_factory.mktemp("tenants"), region=REGION, clock=clock) as running:
        yield running


def app_client(endpoint: LocalEndpoint, service: str) -> Any:
    kwargs = {**endpoint.client_kwargs(), "aws_access_key_id": APP_KEY, "aws_secret_access_key": "secret"}
    return boto3.client(service, config=NO_RETRIES, **kwargs)


def session_client(endpoint: LocalEndpoint, credentials: dict[str, Any], service: str = "s3vectors") -> Any:
    return boto3.client(service, config=NO_RETRIES, **endpoint.client_kwargs(credentials))


class Tenancy:
    """One bucket, one role, and a way to get a tenant's credentials."""

    def __init__(self, endpoint: LocalEndpoint) -> None:
        self.endpoint = endpoint
        self.app = app_client(endpoint, "s3vectors")
        self.iam = app_client(endpoint, "iam")
        self.sts = app_client(endpoint, "sts")
        suffix = uuid.uuid4().hex[:8]
        self.bucket = f"mem-{suffix}"
        self.role_name = f"tenant-{suffix}"
        self.app.create_vector_bucket(vectorBucketName=self.bucket)
        self.role = create_tenant_role(self.iam, self.role_name, self.bucket)

    def credentials(self, tenant: str) -> dict[str, Any]:
        answer = self.sts.assume_role(
            RoleArn=self.role, RoleSessionName=f"tenant-{tenant}", Tags=[{"Key": "TenantID", "Value": tenant}]
        )
        return dict(answer["Credentials"])

    def client(self, tenant: str) -> Any:
        return session_client(self.endpoint, self.credentials(tenant))

    def index_arn(self, index: str, bucket: str | None = None) -> str:
        return f"arn:aws:s3vectors:{REGION}:123456789012:bucket/{bucket or self.bucket}/index/{index}"


@pytest.fixture
def tenancy(endpoint: LocalEndpoint) -> Tenancy:
    return Tenancy(endpoint)


def create_index(client: Any, bucket: str, index: str) -> None:
    client.create_index(
        vectorBucketName=bucket, indexName=index, dataType="float32", dimension=3, distanceMetric="cosine"
    )


VECTORS = [
    {"key": "a", "data": {"float32": [1.0, 0.0, 0.0]}, "metadata": {"topic": "x"}},
    {"key": "b", "data": {"float32": [0.0, 1.0, 0.0]}, "metadata": {"topic": "y"}},
]


def assert_denied(call: Callable[[], Any], action: str, resource: str, session: str) -> None:
    with pytest.raises(ClientError) as caught:
        call()
    error = caught.value.response
    assert (error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]) == ("AccessDeniedException", 403)
    assert error["Error"]["Message"] == (
        f"User: {session} is not authorized to perform: {action} on resource: {resource} "
        f"because no identity-based policy allows the {action} action"
    )


def test_a_tenant_works_in_its_own_index(tenancy: Tenancy) -> None:
    acme, bucket = tenancy.client("acme"), tenancy.bucket
    create_index(acme, bucket, "memory-acme")
    where = {"vectorBucketName": bucket, "indexName": "memory-acme"}
    acme.put_vectors(**where, vectors=VECTORS)
    hits = acme.query_vectors(
        **where, queryVector={"float32": [1.0, 0.1, 0.0]}, topK=2, returnMetadata=True, filter={"topic": "x"}
    )["vectors"]
    assert [(h["key"], h["metadata"]) for h in hits] == [("a", {"topic": "x"})]
    assert {v["key"] for v in acme.list_vectors(**where, returnMetadata=True)["vectors"]} == {"a", "b"}
    assert [v["key"] for v in acme.get_vectors(**where, keys=["b"], returnData=True)["vectors"]] == ["b"]
    assert acme.get_index(indexArn=tenancy.index_arn("memory-acme"))["index"]["dimension"] == 3
    acme.delete_vectors(**where, keys=["a"])
    assert [v["key"] for v in acme.list_vectors(**where)["vectors"]] == ["b"]


def test_a_tenant_is_denied_everything_else(tenancy: Tenancy) -> None:
    acme, globex, bucket = tenancy.client("acme"), tenancy.client("globex"), tenancy.bucket
    create_index(globex, bucket, "memory-globex")
    globex.put_vectors(vectorBucketName=bucket, indexName="memory-globex", vectors=VECTORS)
    create_index(acme, bucket, "memory-acme")
    session = f"arn:aws:sts::123456789012:assumed-role/{tenancy.role_name}/tenant-acme"
    theirs = {"vectorBucketName": bucket, "indexName": "memory-globex"}
    arn = tenancy.index_arn("memory-globex")
    calls: list[tuple[str, Callable[[], Any]]] = [
        ("CreateIndex", lambda: create_index(acme, bucket, "memory-globex")),
        ("GetIndex", lambda: acme.get_index(**theirs)),
        ("GetIndex", lambda: acme.get_index(indexArn=arn)),
        ("PutVectors", lambda: acme.put_vectors(**theirs, vectors=VECTORS)),
        ("GetVectors", lambda: acme.get_vectors(**theirs, keys=["a"])),
        ("ListVectors", lambda: acme.list_vectors(**theirs)),
        ("QueryVectors", lambda: acme.query_vectors(**theirs, queryVector={"float32": [1.0, 0.0, 0.0]}, topK=1)),
        ("DeleteVectors", lambda: acme.delete_vectors(**theirs, keys=["a"])),
    ]
    for operation, call in calls:
        assert_denied(call, f"s3vectors:{operation}", arn, session)
    bucket_arn = f"arn:aws:s3vectors:{REGION}:123456789012:bucket/{bucket}"
    assert_denied(lambda: acme.list_indexes(vectorBucketName=bucket), "s3vectors:ListIndexes", bucket_arn, session)
    assert_denied(
        lambda: acme.get_vector_bucket(vectorBucketArn=bucket_arn), "s3vectors:GetVectorBucket", bucket_arn, session
    )
    assert_denied(lambda: acme.list_vector_buckets(), "s3vectors:ListVectorBuckets", "*", session)
    other = f"other-{uuid.uuid4().hex[:8]}"
    assert_denied(
        lambda: acme.create_vector_bucket(vectorBucketName=other),
        "s3vectors:CreateVectorBucket",
        f"arn:aws:s3vectors:{REGION}:123456789012:bucket/{other}",
        session,
    )
    own = tenancy.index_arn("memory-acme")
    assert_denied(lambda: acme.delete_index(indexArn=own), "s3vectors:DeleteIndex", own, session)  # not granted
    tenancy.app.create_vector_bucket(vectorBucketName=other)
    elsewhere = tenancy.index_arn("memory-acme", other)
    assert_denied(lambda: create_index(acme, other, "memory-acme"), "s3vectors:CreateIndex", elsewhere, session)
    # nothing of globex's was touched, and the application's static key still sees everything
    listed = tenancy.app.list_vectors(**theirs)["vectors"]
    assert {v["key"] for v in listed} == {"a", "b"}
    assert {i["indexName"] for i in tenancy.app.list_indexes(vectorBucketName=bucket)["indexes"]} == {
        "memory-acme",
        "memory-globex",
    }


def test_reading_metadata_needs_get_vectors(tenancy: Tenancy) -> None:
    without = [a for a in TENANT_ACTIONS if a != "s3vectors:GetVectors"]
    tenancy.iam.put_role_policy(
        RoleName=tenancy.role_name,
        PolicyName="tenant-isolation",
        PolicyDocument=json.dumps(permissions_policy(tenancy.bucket, actions=without)),
    )
    acme, bucket = tenancy.client("acme"), tenancy.bucket
    create_index(acme, bucket, "memory-acme")
    where = {"vectorBucketName": bucket, "indexName": "memory-acme"}
    acme.put_vectors(**where, vectors=VECTORS)
    query = {**where, "queryVector": {"float32": [1.0, 0.0, 0.0]}, "topK": 2}
    assert [v["key"] for v in acme.query_vectors(**query)["vectors"]] == ["a", "b"]
    assert len(acme.list_vectors(**where)["vectors"]) == 2
    session = f"arn:aws:sts::123456789012:assumed-role/{tenancy.role_name}/tenant-acme"
    arn = tenancy.index_arn("memory-acme")
    for call in [
        lambda: acme.query_vectors(**query, returnMetadata=True),
        lambda: acme.query_vectors(**query, filter={"topic": "x"}),
        lambda: acme.list_vectors(**where, returnMetadata=True),
        lambda: acme.list_vectors(**where, returnData=True),
        lambda: acme.get_vectors(**where, keys=["a"]),
    ]:
        assert_denied(call, "s3vectors:GetVectors", arn, session)


def test_policy_changes_apply_to_live_sessions(tenancy: Tenancy) -> None:
    acme = tenancy.client("acme")
    create_index(acme, tenancy.bucket, "memory-acme")
    tenancy.iam.delete_role_policy(RoleName=tenancy.role_name, PolicyName="tenant-isolation")
    with pytest.raises(acme.exceptions.AccessDeniedException):
        acme.get_index(vectorBucketName=tenancy.bucket, indexName="memory-acme")
    tenancy.iam.put_role_policy(
        RoleName=tenancy.role_name,
        PolicyName="deny-writes",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    permissions_policy(tenancy.bucket)["Statement"][0],
                    {"Effect": "Deny", "Action": "s3vectors:Put*", "Resource": "*"},
                ],
            }
        ),
    )
    acme.get_index(vectorBucketName=tenancy.bucket, indexName="memory-acme")
    with pytest.raises(acme.exceptions.AccessDeniedException, match="with an explicit deny"):
        acme.put_vectors(vectorBucketName=tenancy.bucket, indexName="memory-acme", vectors=VECTORS)


def test_a_deleted_role_s_sessions_lose_access(tenancy: Tenancy) -> None:
    acme = tenancy.client("acme")
    create_index(acme, tenancy.bucket, "memory-acme")
    tenancy.iam.delete_role_policy(RoleName=tenancy.role_name, PolicyName="tenant-isolation")
    tenancy.iam.delete_role(RoleName=tenancy.role_name)
    create_tenant_role(tenancy.iam, tenancy.role_name, tenancy.bucket)  # same name, new role id
    with pytest.raises(acme.exceptions.AccessDeniedException):
        acme.get_index(vectorBucketName=tenancy.bucket, indexName="memory-acme")
    tenancy.client("acme").get_index(vectorBucketName=tenancy.bucket, indexName="memory-acme")


def test_a_wrong_or_missing_session_token_is_refused(tenancy: Tenancy) -> None:
    credentials = tenancy.credentials("acme")
    forged = {**credentials, "SessionToken": "SVMLocal" + "A" * 128}
    bare = {"aws_access_key_id": credentials["AccessKeyId"], "aws_secret_access_key": credentials["SecretAccessKey"]}
    clients = [
        session_client(tenancy.endpoint, forged),
        boto3.client("s3vectors", config=NO_RETRIES, **{**tenancy.endpoint.client_kwargs(), **bare}),
    ]
    for client in clients:
        with pytest.raises(ClientError) as caught:
            client.list_vector_buckets()
        error = caught.value.response
        assert (error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]) == (
            "UnrecognizedClientException",
            403,
        )
        assert error["Error"]["Message"] == "The security token included in the request is invalid."


def test_expired_credentials_are_refused(tenancy: Tenancy, clock: Clock) -> None:
    acme = tenancy.client("acme")
    create_index(acme, tenancy.bucket, "memory-acme")
    clock.now += 3600
    try:
        with pytest.raises(ClientError) as caught:
            acme.get_index(vectorBucketName=tenancy.bucket, indexName="memory-acme")
        error = caught.value.response
        assert (error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]) == ("ExpiredTokenException", 403)
        tenancy.client("acme").get_index(vectorBucketName=tenancy.bucket, indexName="memory-acme")  # a fresh session
    finally:
        clock.now -= 3600


def test_sessions_are_held_to_their_policies_on_iam_too(tenancy: Tenancy) -> None:
    iam = session_client(tenancy.endpoint, tenancy.credentials("acme"), "iam")
    with pytest.raises(ClientError) as caught:
        iam.put_role_policy(RoleName=tenancy.role_name, PolicyName="escalate", PolicyDocument="{}")
    assert caught.value.response["Error"]["Code"] == "AccessDenied"
    assert "iam:PutRolePolicy on resource: " + tenancy.role in caught.value.response["Error"]["Message"]


def test_the_library_backend_sees_access_denied(tenancy: Tenancy) -> None:
    globex = tenancy.client("globex")
    create_index(globex, tenancy.bucket, "memory-globex")
    backend = S3VectorsBackend(tenancy.bucket, client=tenancy.client("acme"))
    with pytest.raises(AccessDeniedError, match="memory-globex because no identity-based policy allows"):
        backend.query_vectors("memory-globex", np.array([1.0, 0.0, 0.0], dtype=np.float32), top_k=1)


def test_static_keys_keep_full_access(tenancy: Tenancy, endpoint: LocalEndpoint) -> None:
    static = boto3.client("s3vectors", config=NO_RETRIES, **endpoint.client_kwargs())
    assert tenancy.bucket in [b["vectorBucketName"] for b in static.list_vector_buckets()["vectorBuckets"]]
    static.delete_vector_bucket(vectorBucketName=tenancy.bucket)
    me = boto3.client("sts", config=NO_RETRIES, **endpoint.client_kwargs()).get_caller_identity()
    assert me["Arn"] == "arn:aws:iam::123456789012:user/local"
