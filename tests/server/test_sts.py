"""The endpoint's STS through boto3's ``sts`` client: AssumeRole with session tags, as AWS decides it."""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from strands_vector_memory.server import LocalEndpoint

from ..conftest import Clock
from .conftest import NO_RETRIES
from .iam_documents import APP_ARN, APP_KEY, create_tenant_role, trust_policy

START = 1_750_000_000.0  # 2025-06-15T15:06:40Z


@pytest.fixture(scope="module")
def clock() -> Clock:
    return Clock(START)


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sts")


@pytest.fixture(scope="module")
def endpoint(root: Path, clock: Clock) -> Iterator[LocalEndpoint]:
    with LocalEndpoint(root, region="eu-west-1", clock=clock) as running:
        yield running


def client(endpoint: LocalEndpoint, service: str, credentials: dict[str, Any] | None = None, key: str = APP_KEY) -> Any:
    kwargs = endpoint.client_kwargs(credentials)
    if credentials is None:
        kwargs.update(aws_access_key_id=key, aws_secret_access_key="secret")
    return boto3.client(service, config=NO_RETRIES, **kwargs)


@pytest.fixture(scope="module")
def sts(endpoint: LocalEndpoint) -> Any:
    return client(endpoint, "sts")


@pytest.fixture(scope="module")
def iam(endpoint: LocalEndpoint) -> Any:
    return client(endpoint, "iam")


@pytest.fixture
def role(iam: Any) -> str:
    return create_tenant_role(iam, f"tenant-{uuid.uuid4().hex[:8]}", "mem")


def tenant_tags(tenant: str) -> list[dict[str, str]]:
    return [{"Key": "TenantID", "Value": tenant}]


def denied(caught: pytest.ExceptionInfo[ClientError], action: str, resource: str, who: str = APP_ARN) -> None:
    error = caught.value.response
    assert (error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]) == ("AccessDenied", 403)
    assert error["Error"]["Message"] == f"User: {who} is not authorized to perform: {action} on resource: {resource}"


def test_assume_role_with_a_tenant_tag(sts: Any, endpoint: LocalEndpoint, role: str, clock: Clock) -> None:
    answer = sts.assume_role(RoleArn=role, RoleSessionName="acme-1", Tags=tenant_tags("acme"))
    credentials = answer["Credentials"]
    assert re.fullmatch(r"ASIA[A-Z0-9]{16}", credentials["AccessKeyId"])
    assert len(credentials["SecretAccessKey"]) == 40 and len(credentials["SessionToken"]) > 100
    assert credentials["Expiration"] == dt.datetime.fromtimestamp(clock.now + 3600, dt.timezone.utc)
    role_name = role.rsplit("/", 1)[1]
    user = answer["AssumedRoleUser"]
    assert user["Arn"] == f"arn:aws:sts::123456789012:assumed-role/{role_name}/acme-1"
    assert user["AssumedRoleId"].startswith("AROA") and user["AssumedRoleId"].endswith(":acme-1")
    assert 0 < answer["PackedPolicySize"] <= 100

    me = client(endpoint, "sts", credentials).get_caller_identity()
    assert (me["Arn"], me["UserId"], me["Account"]) == (user["Arn"], user["AssumedRoleId"], "123456789012")
    app = sts.get_caller_identity()
    assert app["Arn"] == APP_ARN and app["UserId"].startswith("AIDA")


def test_duration_within_the_role_s_maximum(sts: Any, iam: Any, role: str, clock: Clock) -> None:
    short = sts.assume_role(RoleArn=role, RoleSessionName="s1", Tags=tenant_tags("acme"), DurationSeconds=900)
    assert short["Credentials"]["Expiration"].timestamp() == clock.now + 900
    with pytest.raises(ClientError, match="exceeds the MaxSessionDuration") as caught:
        sts.assume_role(RoleArn=role, RoleSessionName="s1", Tags=tenant_tags("acme"), DurationSeconds=3601)
    assert caught.value.response["Error"]["Code"] == "ValidationError"
    long_role = f"long-{uuid.uuid4().hex[:8]}"
    arn = iam.create_role(
        RoleName=long_role, AssumeRolePolicyDocument=json.dumps(trust_policy()), MaxSessionDuration=7200
    )["Role"]["Arn"]
    long = sts.assume_role(RoleArn=arn, RoleSessionName="s1", Tags=tenant_tags("acme"), DurationSeconds=7200)
    assert long["Credentials"]["Expiration"].timestamp() == clock.now + 7200


def test_no_tenant_tag_is_denied(sts: Any, role: str) -> None:
    with pytest.raises(ClientError) as caught:
        sts.assume_role(RoleArn=role, RoleSessionName="untagged")
    denied(caught, "sts:AssumeRole", role)
    with pytest.raises(ClientError) as empty:
        sts.assume_role(RoleArn=role, RoleSessionName="empty", Tags=tenant_tags(""))
    denied(empty, "sts:AssumeRole", role)


def test_extra_tag_keys_are_denied(sts: Any, role: str) -> None:
    tags = [*tenant_tags("acme"), {"Key": "Admin", "Value": "true"}]
    with pytest.raises(ClientError) as caught:
        sts.assume_role(RoleArn=role, RoleSessionName="sneaky", Tags=tags)
    denied(caught, "sts:AssumeRole", role)


def test_a_caller_the_role_does_not_trust_is_denied(endpoint: LocalEndpoint, role: str) -> None:
    intruder = client(endpoint, "sts", key="AKIAINTRUDER")
    with pytest.raises(ClientError) as caught:
        intruder.assume_role(RoleArn=role, RoleSessionName="x1", Tags=tenant_tags("acme"))
    denied(caught, "sts:AssumeRole", role, who="arn:aws:iam::123456789012:user/AKIAINTRUDER")


def test_an_unknown_role_is_denied_like_any_other(sts: Any) -> None:
    for arn in ("arn:aws:iam::123456789012:role/never-created", "arn:aws:iam::999999999999:role/elsewhere"):
        with pytest.raises(ClientError) as caught:
            sts.assume_role(RoleArn=arn, RoleSessionName="s1", Tags=tenant_tags("acme"))
        denied(caught, "sts:AssumeRole", arn)


def test_tags_need_sts_tag_session(sts: Any, iam: Any) -> None:
    trust = trust_policy()
    trust["Statement"][0]["Action"] = "sts:AssumeRole"
    del trust["Statement"][0]["Condition"]
    arn = iam.create_role(RoleName=f"notag-{uuid.uuid4().hex[:8]}", AssumeRolePolicyDocument=json.dumps(trust))
    arn = arn["Role"]["Arn"]
    assert sts.assume_role(RoleArn=arn, RoleSessionName="plain")["Credentials"]["AccessKeyId"]
    with pytest.raises(ClientError) as caught:
        sts.assume_role(RoleArn=arn, RoleSessionName="tagged", Tags=tenant_tags("acme"))
    denied(caught, "sts:TagSession", arn)


def test_external_id(sts: Any, iam: Any) -> None:
    arn = create_tenant_role(iam, f"ext-{uuid.uuid4().hex[:8]}", "mem", external_id="tvm-42")
    for external in (None, "wrong-id"):
        extra = {} if external is None else {"ExternalId": external}
        with pytest.raises(ClientError) as caught:
            sts.assume_role(RoleArn=arn, RoleSessionName="e1", Tags=tenant_tags("acme"), **extra)
        denied(caught, "sts:AssumeRole", arn)
    sts.assume_role(RoleArn=arn, RoleSessionName="e1", Tags=tenant_tags("acme"), ExternalId="tvm-42")


def test_the_trust_policy_sees_the_session_name(sts: Any, iam: Any) -> None:
    trust = trust_policy()
    trust["Statement"][0]["Condition"]["StringLike"]["sts:RoleSessionName"] = "tenant-*"
    arn = iam.create_role(RoleName=f"named-{uuid.uuid4().hex[:8]}", AssumeRolePolicyDocument=json.dumps(trust))
    arn = arn["Role"]["Arn"]
    sts.assume_role(RoleArn=arn, RoleSessionName="tenant-acme", Tags=tenant_tags("acme"))
    with pytest.raises(ClientError) as caught:
        sts.assume_role(RoleArn=arn, RoleSessionName="admin", Tags=tenant_tags("acme"))
    denied(caught, "sts:AssumeRole", arn)


@pytest.mark.parametrize(
    ("arguments", "code", "status", "message"),
    [
        ({"RoleSessionName": "has space"}, "ValidationError", 400, "roleSessionName"),
        ({"RoleSessionName": "x" * 65}, "ValidationError", 400, "roleSessionName"),
        (
            {"Tags": [{"Key": "TenantID", "Value": "a"}, {"Key": "tenantid", "Value": "b"}]},
            "InvalidParameterValue",
            400,
            "case insensitive",
        ),
        ({"TransitiveTagKeys": ["Other"]}, "InvalidParameterValue", 400, "transitive tag key"),
        ({"Policy": '{"Version": "2012-10-17"}'}, "NotImplemented", 501, r"\(Policy\) is not supported"),
        ({"DurationSeconds": 50_000}, "ValidationError", 400, "durationSeconds"),
    ],
)
def test_invalid_requests(sts: Any, role: str, arguments: dict[str, Any], code: str, status: int, message: str) -> None:
    request = {"RoleArn": role, "RoleSessionName": "s1", "Tags": tenant_tags("acme"), **arguments}
    with pytest.raises(ClientError, match=message) as caught:
        sts.assume_role(**request)
    error = caught.value.response
    assert (error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]) == (code, status)


def test_session_token_must_match_and_be_current(endpoint: LocalEndpoint, sts: Any, role: str, clock: Clock) -> None:
    credentials = sts.assume_role(RoleArn=role, RoleSessionName="t1", Tags=tenant_tags("acme"))["Credentials"]
    forged = {**credentials, "SessionToken": credentials["SessionToken"][:-4] + "AAAA"}
    with pytest.raises(ClientError, match="security token included in the request is invalid") as invalid:
        client(endpoint, "sts", forged).get_caller_identity()
    assert invalid.value.response["Error"]["Code"] == "InvalidClientTokenId"
    assert invalid.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403

    session = client(endpoint, "sts", credentials)
    clock.now += 3599
    session.get_caller_identity()
    clock.now += 1
    try:
        with pytest.raises(session.exceptions.ExpiredTokenException, match="expired"):
            session.get_caller_identity()
    finally:
        clock.now -= 3600


def test_credentials_from_before_a_restart_are_refused(root: Path, sts: Any, role: str, clock: Clock) -> None:
    credentials = sts.assume_role(RoleArn=role, RoleSessionName="r1", Tags=tenant_tags("acme"))["Credentials"]
    with LocalEndpoint(root, clock=clock) as restarted:
        session = client(restarted, "sts", credentials)
        with pytest.raises(session.exceptions.ExpiredTokenException, match="assume the role again"):
            session.get_caller_identity()
        client(restarted, "sts").assume_role(RoleArn=role, RoleSessionName="r1", Tags=tenant_tags("acme"))


def test_role_chaining_passes_transitive_tags_and_is_capped_at_an_hour(
    endpoint: LocalEndpoint, sts: Any, iam: Any
) -> None:
    suffix = uuid.uuid4().hex[:8]
    first = create_tenant_role(iam, f"first-{suffix}", "mem")
    second_trust = trust_policy(principal=first)
    second = create_tenant_role(iam, f"second-{suffix}", "mem")
    iam.update_assume_role_policy(RoleName=f"second-{suffix}", PolicyDocument=json.dumps(second_trust))
    may_chain = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["sts:AssumeRole", "sts:TagSession"], "Resource": second}],
    }
    tags = tenant_tags("acme")
    plain = sts.assume_role(RoleArn=first, RoleSessionName="one", Tags=tags)["Credentials"]
    with pytest.raises(ClientError) as caught:  # the first role's policies do not allow it yet
        client(endpoint, "sts", plain).assume_role(RoleArn=second, RoleSessionName="two")
    assert caught.value.response["Error"]["Code"] == "AccessDenied"
    assert f"sts:AssumeRole on resource: {second}" in caught.value.response["Error"]["Message"]

    iam.put_role_policy(RoleName=f"first-{suffix}", PolicyName="chain", PolicyDocument=json.dumps(may_chain))
    transitive = sts.assume_role(RoleArn=first, RoleSessionName="one", Tags=tags, TransitiveTagKeys=["TenantID"])
    chained_sts = client(endpoint, "sts", transitive["Credentials"])
    # the TenantID tag is inherited, so the second role's trust policy (which wants it as a request tag) refuses
    with pytest.raises(ClientError):
        chained_sts.assume_role(RoleArn=second, RoleSessionName="two")
    with pytest.raises(ClientError, match="conflicts with a transitive tag"):
        chained_sts.assume_role(RoleArn=second, RoleSessionName="two", Tags=tenant_tags("globex"))

    relaxed = trust_policy(principal=first)
    del relaxed["Statement"][0]["Condition"]
    iam.update_assume_role_policy(RoleName=f"second-{suffix}", PolicyDocument=json.dumps(relaxed))
    with pytest.raises(ClientError, match="1 hour session limit"):
        chained_sts.assume_role(RoleArn=second, RoleSessionName="two", DurationSeconds=3601)
    chained = chained_sts.assume_role(RoleArn=second, RoleSessionName="two")
    assert chained["AssumedRoleUser"]["Arn"].endswith(f"assumed-role/second-{suffix}/two")
    assert chained["PackedPolicySize"] > 0  # the inherited tag travels with the session
