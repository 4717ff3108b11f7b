"""Setting up the tenant role against moto's IAM over real HTTP, with a real boto3 client.

moto stands in for IAM and STS (create, update, read back, delete, assume a role);
the error mapping for answers moto never gives (AccessDenied, Throttling, a 5xx) is
checked with botocore's Stubber on the same real client.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.config import Config
from botocore.stub import Stubber

from strands_vector_memory.core import (
    AccessDeniedError,
    BackendUnavailableError,
    ConflictError,
    NotFoundError,
    QuotaExceededError,
    ThrottledError,
    ValidationError,
)
from strands_vector_memory.tenancy import (
    DEFAULT_POLICY_NAME,
    caller_principal,
    permissions_policy,
    principal_from_caller,
    remove_tenant_role,
    setup_tenant_role,
    trust_policy,
)
from strands_vector_memory.tenancy._setup import IAM_ERROR_CLASSES

ACCOUNT = "123456789012"  # moto's account
TVM = f"arn:aws:iam::{ACCOUNT}:role/tvm"
CREDENTIALS = {"aws_access_key_id": "test", "aws_secret_access_key": "test", "region_name": "us-east-1"}


@pytest.fixture
def iam(moto_url: str) -> Any:
    return boto3.client("iam", endpoint_url=moto_url, **CREDENTIALS)


@pytest.fixture
def role_name() -> str:
    return f"memory-tenants-{uuid.uuid4().hex[:12]}"


def test_setup_creates_the_role_with_exactly_our_documents(iam: Any, role_name: str) -> None:
    result = setup_tenant_role(iam, role_name=role_name, principal_arn=TVM, bucket="my-memories")
    assert result.created is True
    assert result.role_name == role_name
    assert result.role_arn == f"arn:aws:iam::{ACCOUNT}:role/{role_name}"
    assert result.trust_policy == trust_policy(TVM)
    # The bucket's account defaults to the principal's.
    assert result.permissions_policy == permissions_policy("my-memories", account=ACCOUNT)
    role = iam.get_role(RoleName=role_name)["Role"]
    assert role["Arn"] == result.role_arn
    assert role["AssumeRolePolicyDocument"] == result.trust_policy
    assert role["MaxSessionDuration"] == 3600
    assert "my-memories" in role["Description"]
    stored = iam.get_role_policy(RoleName=role_name, PolicyName=DEFAULT_POLICY_NAME)["PolicyDocument"]
    assert stored == result.permissions_policy
    assert iam.list_role_policies(RoleName=role_name)["PolicyNames"] == [DEFAULT_POLICY_NAME]


def test_rerunning_converges_on_the_new_arguments(iam: Any, role_name: str) -> None:
    first = setup_tenant_role(iam, role_name=role_name, principal_arn=TVM, bucket="my-memories")
    other = f"arn:aws:iam::{ACCOUNT}:user/tvm-user"
    second = setup_tenant_role(
        iam,
        role_name=role_name,
        principal_arn=other,
        bucket="other-memories",
        region="eu-west-1",
        account="*",
        prefix="mem-",
        bedrock_models=["amazon.titan-embed-text-v2:0"],
        tenant_pattern="acme-*",
        external_id="ext-123",
        max_session_seconds=7200,
    )
    assert second.created is False
    assert second.role_arn == first.role_arn
    assert second.trust_policy == trust_policy(other, tenant_pattern="acme-*", external_id="ext-123")
    assert second.permissions_policy == permissions_policy(
        "other-memories", region="eu-west-1", prefix="mem-", bedrock_models=["amazon.titan-embed-text-v2:0"]
    )
    role = iam.get_role(RoleName=role_name)["Role"]
    assert role["AssumeRolePolicyDocument"] == second.trust_policy
    assert role["MaxSessionDuration"] == 7200
    assert "other-memories" in role["Description"]
    stored = iam.get_role_policy(RoleName=role_name, PolicyName=DEFAULT_POLICY_NAME)["PolicyDocument"]
    assert stored == second.permissions_policy
    assert iam.list_role_policies(RoleName=role_name)["PolicyNames"] == [DEFAULT_POLICY_NAME]


def test_rerunning_with_the_same_arguments_changes_nothing(iam: Any, role_name: str) -> None:
    arguments: dict[str, Any] = {"role_name": role_name, "principal_arn": TVM, "bucket": "my-memories"}
    first = setup_tenant_role(iam, **arguments)
    again = setup_tenant_role(iam, **arguments)
    assert (again.created, again.role_arn) == (False, first.role_arn)
    assert (again.trust_policy, again.permissions_policy) == (first.trust_policy, first.permissions_policy)
    assert iam.get_role(RoleName=role_name)["Role"]["AssumeRolePolicyDocument"] == first.trust_policy


def test_a_custom_policy_name_is_the_one_written(iam: Any, role_name: str) -> None:
    setup_tenant_role(iam, role_name=role_name, principal_arn=TVM, bucket="my-memories", policy_name="custom")
    assert iam.list_role_policies(RoleName=role_name)["PolicyNames"] == ["custom"]
    assert remove_tenant_role(iam, role_name, policy_name="custom") is True


def test_remove_deletes_the_policy_and_the_role_and_a_missing_role_is_false(iam: Any, role_name: str) -> None:
    setup_tenant_role(iam, role_name=role_name, principal_arn=TVM, bucket="my-memories")
    assert remove_tenant_role(iam, role_name) is True
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.get_role(RoleName=role_name)
    assert remove_tenant_role(iam, role_name) is False


def test_remove_leaves_policies_it_did_not_write_and_says_so(iam: Any, role_name: str) -> None:
    setup_tenant_role(iam, role_name=role_name, principal_arn=TVM, bucket="my-memories")
    iam.put_role_policy(
        RoleName=role_name, PolicyName="someone-elses", PolicyDocument=json.dumps(permissions_policy("other-bucket"))
    )
    with pytest.raises(ConflictError, match="detach or delete those first"):
        remove_tenant_role(iam, role_name)
    assert iam.list_role_policies(RoleName=role_name)["PolicyNames"] == ["someone-elses"]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"role_name": "has space"}, "role_name"),
        ({"role_name": "x" * 65}, "role_name"),
        ({"role_name": ""}, "role_name"),
        ({"policy_name": "bad/name"}, "policy_name"),
        ({"max_session_seconds": 3599}, "max_session_seconds"),
        ({"max_session_seconds": 43201}, "max_session_seconds"),
        ({"max_session_seconds": True}, "max_session_seconds"),
        ({"principal_arn": "arn:aws:sts::123456789012:assumed-role/tvm/s"}, "principal_arn"),
        ({"bucket": "Bad_Bucket"}, "bucket_name"),
        ({"external_id": "x"}, "external_id"),
        ({"bedrock_models": ["nope"]}, "bedrock_models"),
    ],
)
def test_arguments_are_checked_before_anything_is_created(
    iam: Any, role_name: str, kwargs: dict[str, Any], field: str
) -> None:
    arguments: dict[str, Any] = {"role_name": role_name, "principal_arn": TVM, "bucket": "my-memories", **kwargs}
    with pytest.raises(ValidationError) as caught:
        setup_tenant_role(iam, **arguments)
    assert caught.value.field == field
    names = {r["RoleName"] for r in iam.list_roles()["Roles"]}
    assert arguments["role_name"] not in names


def test_the_partition_follows_the_principal() -> None:
    client = boto3.client("iam", **CREDENTIALS)
    principal = "arn:aws-cn:iam::123456789012:role/tvm"
    with Stubber(client) as stub:
        stub.add_response("create_role", {"Role": _role("r1", "arn:aws-cn:iam::123456789012:role/r1")})
        stub.add_response("put_role_policy", {})
        result = setup_tenant_role(client, role_name="r1", principal_arn=principal, bucket="b1b")
    assert result.permissions_policy["Statement"][0]["Resource"].startswith("arn:aws-cn:s3vectors:*:123456789012:")


# --- caller identity -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("caller", "principal"),
    [
        ("arn:aws:sts::123456789012:assumed-role/tvm/i-0abc", "arn:aws:iam::123456789012:role/tvm"),
        ("arn:aws-cn:sts::123456789012:assumed-role/a.b@c/s", "arn:aws-cn:iam::123456789012:role/a.b@c"),
        ("arn:aws:iam::123456789012:user/alice", "arn:aws:iam::123456789012:user/alice"),
        ("arn:aws:iam::123456789012:root", "arn:aws:iam::123456789012:root"),
    ],
)
def test_principal_from_caller(caller: str, principal: str) -> None:
    assert principal_from_caller(caller) == principal


@pytest.mark.parametrize(
    "caller", ["arn:aws:sts::123456789012:federated-user/bob", "arn:aws:sts::123456789012:user/moto", "nonsense"]
)
def test_a_caller_no_trust_policy_can_name_asks_for_the_principal(caller: str) -> None:
    with pytest.raises(ValidationError, match="--principal") as caught:
        principal_from_caller(caller)
    assert caught.value.field == "principal_arn"


def test_an_assumed_role_caller_is_its_role_with_the_path(moto_url: str, iam: Any, role_name: str) -> None:
    iam.create_role(RoleName=role_name, Path="/apps/", AssumeRolePolicyDocument=json.dumps(trust_policy(TVM)))
    sts = boto3.client("sts", endpoint_url=moto_url, **CREDENTIALS)
    credentials = sts.assume_role(
        RoleArn=f"arn:aws:iam::{ACCOUNT}:role/apps/{role_name}", RoleSessionName="s1", Tags=[{"Key": "a", "Value": "b"}]
    )["Credentials"]
    as_role = boto3.client(
        "sts",
        endpoint_url=moto_url,
        region_name="us-east-1",
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )
    assert caller_principal(as_role, iam) == f"arn:aws:iam::{ACCOUNT}:role/apps/{role_name}"
    assert caller_principal(as_role) == f"arn:aws:iam::{ACCOUNT}:role/{role_name}"  # no IAM client: no path


def test_a_caller_whose_role_cannot_be_read_keeps_the_pathless_arn() -> None:
    sts = boto3.client("sts", **CREDENTIALS)
    iam = boto3.client("iam", **CREDENTIALS)
    with Stubber(sts) as sts_stub, Stubber(iam) as iam_stub:
        sts_stub.add_response(
            "get_caller_identity",
            {"Arn": "arn:aws:sts::123456789012:assumed-role/tvm/s", "Account": "123456789012", "UserId": "AROA:s"},
        )
        iam_stub.add_client_error("get_role", service_error_code="AccessDenied", http_status_code=403)
        assert caller_principal(sts, iam) == "arn:aws:iam::123456789012:role/tvm"


# --- errors ----------------------------------------------------------------------------------


OPERATIONS = [
    "CreateRole",
    "UpdateAssumeRolePolicy",
    "UpdateRole",
    "GetRole",
    "PutRolePolicy",
    "DeleteRolePolicy",
    "DeleteRole",
]


def test_every_error_code_our_iam_operations_declare_is_mapped() -> None:
    model = botocore.session.get_session().get_service_model("iam")
    declared = {
        shape.metadata["error"]["code"] for op in OPERATIONS for shape in model.operation_model(op).error_shapes
    }
    assert declared <= set(IAM_ERROR_CLASSES)


@pytest.mark.parametrize(
    ("code", "status", "expected", "hint"),
    [
        ("AccessDenied", 403, AccessDeniedError, "iam:CreateRole"),
        ("Throttling", 400, ThrottledError, ""),
        ("LimitExceeded", 409, QuotaExceededError, "2,048"),
        ("MalformedPolicyDocument", 400, ValidationError, "principal ARN"),
        ("UnmodifiableEntity", 400, ConflictError, "service-linked"),
        ("ServiceFailure", 500, BackendUnavailableError, ""),
        ("SomethingNew", 503, BackendUnavailableError, "SomethingNew (HTTP 503)"),
        ("SomethingElse", 404, NotFoundError, "SomethingElse"),
    ],
)
def test_iam_errors_become_project_exceptions(code: str, status: int, expected: type[Exception], hint: str) -> None:
    client = boto3.client("iam", **CREDENTIALS)
    with Stubber(client) as stub:
        stub.add_client_error("create_role", service_error_code=code, service_message="nope", http_status_code=status)
        with pytest.raises(expected, match="IAM CreateRole") as caught:
            setup_tenant_role(client, role_name="r1", principal_arn=TVM, bucket="b1b")
    assert hint in str(caught.value)
    assert caught.value.__cause__ is not None


def test_an_unreachable_endpoint_is_backend_unavailable() -> None:
    client = boto3.client(
        "iam",
        endpoint_url="http://127.0.0.1:9",
        config=Config(retries={"max_attempts": 1}, connect_timeout=2),
        **CREDENTIALS,
    )
    with pytest.raises(BackendUnavailableError, match="IAM CreateRole: cannot reach"):
        setup_tenant_role(client, role_name="r1", principal_arn=TVM, bucket="b1b")


def test_missing_credentials_say_what_to_set(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", raising=False)
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", raising=False)
    client = boto3.session.Session().client("iam", endpoint_url=moto_url, region_name="us-east-1")
    with pytest.raises(AccessDeniedError, match="no AWS credentials"):
        remove_tenant_role(client, "r1")


def _role(name: str, arn: str) -> dict[str, Any]:
    import datetime as dt

    return {
        "Path": "/",
        "RoleName": name,
        "RoleId": "AROAEXAMPLEEXAMPLE01",
        "Arn": arn,
        "CreateDate": dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc),
    }
