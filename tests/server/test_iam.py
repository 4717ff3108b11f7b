"""The endpoint's IAM subset through boto3's ``iam`` client: round trips, error codes, persistence."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import quote

import boto3
import pytest
from botocore.exceptions import ClientError

from strands_vector_memory.server import LocalEndpoint

from .conftest import NO_RETRIES
from .iam_documents import APP_KEY, permissions_policy, trust_policy

TRUST = json.dumps(trust_policy())
PERMISSIONS = json.dumps(permissions_policy("mem"))


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("iam")


@pytest.fixture(scope="module")
def endpoint(root: Path) -> Iterator[LocalEndpoint]:
    with LocalEndpoint(root, region="eu-west-1") as running:
        yield running


def client(endpoint: LocalEndpoint, service: str = "iam") -> Any:
    kwargs = {**endpoint.client_kwargs(), "aws_access_key_id": APP_KEY, "aws_secret_access_key": "secret"}
    return boto3.client(service, config=NO_RETRIES, **kwargs)


@pytest.fixture(scope="module")
def iam(endpoint: LocalEndpoint) -> Any:
    return client(endpoint)


def role_name() -> str:
    return f"role-{uuid.uuid4().hex[:10]}"


def code_of(caught: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response = caught.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def test_role_round_trip(iam: Any) -> None:
    name = role_name()
    created = iam.create_role(
        RoleName=name,
        AssumeRolePolicyDocument=TRUST,
        Path="/tenants/",
        Description="tenant sessions",
        MaxSessionDuration=7200,
        Tags=[{"Key": "team", "Value": "memory"}],
    )["Role"]
    assert created["Arn"] == f"arn:aws:iam::123456789012:role/tenants/{name}"
    assert created["RoleId"].startswith("AROA") and len(created["RoleId"]) == 21
    assert created["AssumeRolePolicyDocument"] == trust_policy()  # botocore decodes IAM's URL-encoded JSON
    role = iam.get_role(RoleName=name)["Role"]
    assert {k: role[k] for k in ("Path", "RoleName", "RoleId", "Arn", "Description", "MaxSessionDuration")} == {
        "Path": "/tenants/",
        "RoleName": name,
        "RoleId": created["RoleId"],
        "Arn": created["Arn"],
        "Description": "tenant sessions",
        "MaxSessionDuration": 7200,
    }
    assert role["Tags"] == [{"Key": "team", "Value": "memory"}] and role["CreateDate"] == created["CreateDate"]
    assert iam.get_role(RoleName=name.upper())["Role"]["RoleName"] == name  # names are case-insensitive

    narrower = trust_policy(external_id="tvm-42")
    iam.update_assume_role_policy(RoleName=name, PolicyDocument=json.dumps(narrower))
    assert iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"] == narrower

    assert iam.list_role_policies(RoleName=name)["PolicyNames"] == []
    iam.put_role_policy(RoleName=name, PolicyName="tenant", PolicyDocument=PERMISSIONS)
    iam.put_role_policy(RoleName=name, PolicyName="extra", PolicyDocument=PERMISSIONS)
    got = iam.get_role_policy(RoleName=name, PolicyName="tenant")
    assert (got["RoleName"], got["PolicyName"], got["PolicyDocument"]) == (name, "tenant", permissions_policy("mem"))
    assert iam.list_role_policies(RoleName=name)["PolicyNames"] == ["extra", "tenant"]
    iam.put_role_policy(RoleName=name, PolicyName="tenant", PolicyDocument=json.dumps(permissions_policy("other")))
    assert iam.get_role_policy(RoleName=name, PolicyName="tenant")["PolicyDocument"] == permissions_policy("other")

    iam.delete_role_policy(RoleName=name, PolicyName="extra")
    iam.delete_role_policy(RoleName=name, PolicyName="tenant")
    iam.delete_role(RoleName=name)
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.get_role(RoleName=name)


def test_error_codes(iam: Any) -> None:
    name = role_name()
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST)
    with pytest.raises(iam.exceptions.EntityAlreadyExistsException) as exists:
        iam.create_role(RoleName=name.upper(), AssumeRolePolicyDocument=TRUST)
    assert code_of(exists) == ("EntityAlreadyExists", 409)

    missing = role_name()
    calls = [
        lambda: iam.get_role(RoleName=missing),
        lambda: iam.delete_role(RoleName=missing),
        lambda: iam.put_role_policy(RoleName=missing, PolicyName="p", PolicyDocument=PERMISSIONS),
        lambda: iam.update_assume_role_policy(RoleName=missing, PolicyDocument=TRUST),
        lambda: iam.list_role_policies(RoleName=missing),
        lambda: iam.get_role_policy(RoleName=name, PolicyName="absent"),
        lambda: iam.delete_role_policy(RoleName=name, PolicyName="absent"),
    ]
    for call in calls:
        with pytest.raises(iam.exceptions.NoSuchEntityException) as absent:
            call()
        assert code_of(absent) == ("NoSuchEntity", 404)
        assert "cannot be found" in str(absent.value)

    iam.put_role_policy(RoleName=name, PolicyName="tenant", PolicyDocument=PERMISSIONS)
    with pytest.raises(iam.exceptions.DeleteConflictException) as conflict:
        iam.delete_role(RoleName=name)
    assert code_of(conflict) == ("DeleteConflict", 409)
    assert "must delete policies first" in str(conflict.value)
    assert iam.get_role(RoleName=name)["Role"]["RoleName"] == name


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("{not json", "not valid JSON"),
        (json.dumps({"Statement": []}), "Version"),
        (json.dumps(permissions_policy("mem")), "prohibited field Resource"),  # a permissions policy as trust
    ],
)
def test_malformed_trust_policies(iam: Any, document: str, message: str) -> None:
    with pytest.raises(iam.exceptions.MalformedPolicyDocumentException, match=message) as caught:
        iam.create_role(RoleName=role_name(), AssumeRolePolicyDocument=document)
    assert code_of(caught) == ("MalformedPolicyDocument", 400)


def test_malformed_permissions_policies(iam: Any) -> None:
    name = role_name()
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST)
    for document, message in [
        (TRUST, "should not specify a principal"),
        (json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*"}]}), "Resource"),
        ("[]", "JSON object"),
    ]:
        with pytest.raises(iam.exceptions.MalformedPolicyDocumentException, match=message):
            iam.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=document)
    with pytest.raises(iam.exceptions.MalformedPolicyDocumentException):
        iam.update_assume_role_policy(RoleName=name, PolicyDocument="{}")
    assert iam.list_role_policies(RoleName=name)["PolicyNames"] == []


def test_documents_may_be_sent_url_encoded(iam: Any) -> None:
    name = role_name()
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=quote(TRUST))
    iam.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=quote(PERMISSIONS))
    assert iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"] == trust_policy()
    assert iam.get_role_policy(RoleName=name, PolicyName="p")["PolicyDocument"] == permissions_policy("mem")


@pytest.mark.parametrize(
    ("arguments", "member"),
    [
        ({"RoleName": "x" * 65}, "roleName"),
        ({"RoleName": "bad name"}, "roleName"),
        ({"RoleName": "ok", "Path": "no-slashes"}, "path"),
        ({"RoleName": "ok", "MaxSessionDuration": 50_000}, "maxSessionDuration"),
        ({"RoleName": "ok", "Tags": [{"Key": "a*b", "Value": "v"}]}, "tags.1.member.key"),
    ],
)
def test_validation_errors(iam: Any, arguments: dict[str, Any], member: str) -> None:
    with pytest.raises(ClientError) as caught:
        iam.create_role(AssumeRolePolicyDocument=TRUST, **arguments)
    assert code_of(caught) == ("ValidationError", 400)
    assert f"at '{member}' failed to satisfy constraint" in str(caught.value)


def test_duplicate_tag_keys_are_invalid_input(iam: Any) -> None:
    tags = [{"Key": "Team", "Value": "a"}, {"Key": "team", "Value": "b"}]
    with pytest.raises(iam.exceptions.InvalidInputException, match="case insensitive"):
        iam.create_role(RoleName=role_name(), AssumeRolePolicyDocument=TRUST, Tags=tags)


def test_a_trust_policy_beyond_iam_s_quota_is_refused(iam: Any) -> None:
    huge = trust_policy()
    huge["Statement"][0]["Principal"]["AWS"] = [f"arn:aws:iam::123456789012:user/u{i:04d}" for i in range(100)]
    with pytest.raises(iam.exceptions.LimitExceededException, match="ACLSizePerRole"):
        iam.create_role(RoleName=role_name(), AssumeRolePolicyDocument=json.dumps(huge))


def test_listing_roles_and_policies_pages(iam: Any) -> None:
    path = f"/list-{uuid.uuid4().hex[:6]}/"
    names = sorted(role_name() for _ in range(5))
    for name in names:
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST, Path=path)
    first = iam.list_roles(PathPrefix=path, MaxItems=2)
    assert [r["RoleName"] for r in first["Roles"]] == names[:2] and first["IsTruncated"] is True
    assert "Tags" not in first["Roles"][0]
    rest = iam.list_roles(PathPrefix=path, Marker=first["Marker"])
    assert [r["RoleName"] for r in rest["Roles"]] == names[2:] and rest["IsTruncated"] is False
    paginated = [
        r["RoleName"] for page in iam.get_paginator("list_roles").paginate(PathPrefix=path) for r in page["Roles"]
    ]
    assert paginated == names

    for policy in ("c", "a", "b"):
        iam.put_role_policy(RoleName=names[0], PolicyName=policy, PolicyDocument=PERMISSIONS)
    page = iam.list_role_policies(RoleName=names[0], MaxItems=2)
    assert page["PolicyNames"] == ["a", "b"] and page["IsTruncated"] is True
    assert iam.list_role_policies(RoleName=names[0], Marker=page["Marker"])["PolicyNames"] == ["c"]


def test_concurrent_changes_are_all_kept(endpoint: LocalEndpoint, root: Path) -> None:
    name = role_name()
    iam = client(endpoint)
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST)

    def put(i: int) -> None:
        client(endpoint).put_role_policy(RoleName=name, PolicyName=f"p{i:02d}", PolicyDocument=PERMISSIONS)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(put, range(16)))
    expected = [f"p{i:02d}" for i in range(16)]
    assert iam.list_role_policies(RoleName=name)["PolicyNames"] == expected
    stored = json.loads((root / ".iam" / "roles.json").read_text())
    assert sorted(next(r for r in stored["roles"] if r["RoleName"] == name)["Policies"]) == expected


def test_roles_survive_a_restart_in_a_hidden_file(endpoint: LocalEndpoint, root: Path, tmp_path: Path) -> None:
    name = role_name()
    client(endpoint).create_role(RoleName=name, AssumeRolePolicyDocument=TRUST)
    client(endpoint).put_role_policy(RoleName=name, PolicyName="tenant", PolicyDocument=PERMISSIONS)
    assert (root / ".iam" / "roles.json").is_file()
    assert ".iam" not in [
        b["vectorBucketName"] for b in client(endpoint, "s3vectors").list_vector_buckets()["vectorBuckets"]
    ]
    with LocalEndpoint(root) as again:
        role = client(again).get_role(RoleName=name)["Role"]
        assert role["AssumeRolePolicyDocument"] == trust_policy()
        assert client(again).get_role_policy(RoleName=name, PolicyName="tenant")[
            "PolicyDocument"
        ] == permissions_policy("mem")


def raw(endpoint: LocalEndpoint, body: bytes, scope: str | None) -> tuple[int, str]:
    headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
    if scope is not None:
        headers["Authorization"] = f"AWS4-HMAC-SHA256 Credential={APP_KEY}/20250101/us-east-1/{scope}/aws4_request, x"
    request = urllib.request.Request(endpoint.url + "/", data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_the_service_comes_from_the_signature_else_the_action_else_the_version(endpoint: LocalEndpoint) -> None:
    status, body = raw(endpoint, b"Action=ListRoles&Version=2010-05-08", "iam")
    assert status == 200 and body.startswith('<ListRolesResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">')
    status, body = raw(endpoint, b"Action=ListRoles&Version=2010-05-08", "s3vectors")
    assert status == 200 and "<ListRolesResult>" in body
    status, body = raw(endpoint, b"Action=CreateUser&Version=2010-05-08&UserName=x", "s3vectors")
    assert status == 501 and "<Code>NotImplemented</Code>" in body and "IAM CreateUser" in body
    status, body = raw(endpoint, b"Action=Frobnicate&Version=1999-01-01", None)
    assert status == 400 and "<Code>InvalidAction</Code>" in body
    status, body = raw(endpoint, b"Action=ListRoles&Version=2010-05-08", None)
    assert status == 403 and "<Code>MissingAuthenticationToken</Code>" in body
    assert "<Type>Sender</Type>" in body and "<RequestId>" in body
