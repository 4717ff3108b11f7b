"""``strands-memory tenancy policy`` offline, and ``tenancy setup`` against moto's IAM and STS over HTTP."""

from __future__ import annotations

import json
import sys
import uuid
from typing import Any

import boto3
import pytest
from click.testing import CliRunner, Result

from strands_vector_memory.cli import cli
from strands_vector_memory.tenancy import DEFAULT_POLICY_NAME, permissions_policy, trust_policy

ACCOUNT = "123456789012"  # moto's account
TVM = f"arn:aws:iam::{ACCOUNT}:role/tvm"


@pytest.fixture(autouse=True)
def _environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Dummy credentials and region; no endpoint or bucket from the developer's shell."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    for name in (
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "S3_VECTOR_BUCKET_NAME",
        "STRANDS_MEMORY_BACKEND",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_IAM",
        "AWS_ENDPOINT_URL_STS",
        "AWS_ENDPOINT_URL_S3VECTORS",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def iam(moto_url: str) -> Any:
    return boto3.client("iam", endpoint_url=moto_url, region_name="us-east-1")


@pytest.fixture
def role_name() -> str:
    return f"memory-tenants-{uuid.uuid4().hex[:12]}"


def invoke(*args: str, code: int = 0) -> Result:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == code, f"exit {result.exit_code}\n{result.output}\n{result.exception!r}"
    return result


def setup_on(url: str, role_name: str, *args: str, code: int = 0) -> Result:
    """``tenancy setup`` of ``role_name`` with IAM (and the caller identity) at ``url``."""
    return invoke("tenancy", "setup", "--role-name", role_name, "--iam-endpoint-url", url, *args, code=code)


# --- help ------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", [[], ["policy"], ["setup"]])
def test_every_tenancy_command_has_help_with_an_example(command: list[str]) -> None:
    for flag in ("-h", "--help"):
        result = invoke("tenancy", *command, flag)
        assert result.stdout.startswith(f"Usage: strands-memory {' '.join(['tenancy', *command])} ")
        example = result.stdout.split("Example:", 1)[1].split("Options:", 1)[0]
        assert f"strands-memory tenancy {command[0] if command else ''}" in example


# --- policy ----------------------------------------------------------------------------------


def test_policy_prints_both_documents_labelled() -> None:
    result = invoke("tenancy", "policy", "--bucket", "my-memories", "--principal", TVM)
    permissions_part, trust_part = result.stdout.split("# Trust policy", 1)
    assert permissions_part.startswith("# Permissions policy")
    permissions_text = permissions_part.split("\n", 1)[1]
    trust_text = trust_part.split("\n", 1)[1]
    assert json.loads(permissions_text) == permissions_policy("my-memories", account=ACCOUNT)
    assert json.loads(trust_text) == trust_policy(TVM)


def test_policy_json_is_one_object_with_both_documents() -> None:
    models = ["amazon.titan-embed-text-v2:0", "us.amazon.nova-2-multimodal-embeddings-v1:0"]
    result = invoke(
        "tenancy", "policy", "--bucket", "my-memories", "--region", "us-west-2", "--principal", TVM,
        "--bedrock-model", models[0], "--bedrock-model", models[1],
        "--tenant-pattern", "acme-*", "--external-id", "ext-1", "--json",
    )  # fmt: skip
    assert json.loads(result.stdout) == {
        "permissions": permissions_policy(
            "my-memories",
            region="us-west-2",
            account=ACCOUNT,
            bedrock_models=models,
        ),
        "trust": trust_policy(TVM, tenant_pattern="acme-*", external_id="ext-1"),
    }


def test_one_document_prints_as_plain_json_ready_for_a_file() -> None:
    result = invoke("tenancy", "policy", "--bucket", "my-memories", "--which", "permissions", "--prefix", "mem-")
    assert json.loads(result.stdout) == permissions_policy("my-memories", prefix="mem-")  # account: '*'
    trust = invoke("tenancy", "policy", "--which", "trust", "--principal", TVM)  # no bucket needed
    assert json.loads(trust.stdout) == trust_policy(TVM)


def test_an_explicit_account_beats_the_principals() -> None:
    result = invoke("tenancy", "policy", "--bucket", "b1b", "--principal", TVM, "--account", "210987654321", "--json")
    assert ":210987654321:bucket/b1b/" in json.loads(result.stdout)["permissions"]["Statement"][0]["Resource"]


def test_the_trust_policy_needs_a_principal() -> None:
    for args in (["--which", "trust"], []):
        result = invoke("tenancy", "policy", "--bucket", "b1b", *args, code=2)
        assert "--principal" in result.output and "Traceback" not in result.output


def test_the_bucket_comes_from_the_environment_or_the_global_option(monkeypatch: pytest.MonkeyPatch) -> None:
    permissions_only = ["tenancy", "policy", "--which", "permissions"]
    monkeypatch.setenv("S3_VECTOR_BUCKET_NAME", "env-bucket")
    assert json.loads(invoke(*permissions_only).stdout) == permissions_policy("env-bucket")
    monkeypatch.delenv("S3_VECTOR_BUCKET_NAME")
    global_bucket = ["--backend", "s3vectors", "--bucket", "global-bucket"]
    assert json.loads(invoke(*global_bucket, *permissions_only).stdout) == permissions_policy("global-bucket")
    local = invoke(*global_bucket, *permissions_only, "--bucket", "local-bucket")
    assert json.loads(local.stdout) == permissions_policy("local-bucket")


def test_a_missing_bucket_says_what_to_set() -> None:
    result = invoke("tenancy", "policy", "--which", "permissions", code=2)
    assert "S3_VECTOR_BUCKET_NAME" in result.output and "--bucket" in result.output


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--region", "Mars"], "region"),
        (["--account", "42"], "account"),
        (["--bedrock-model", "titan"], "Bedrock model id"),
        (["--prefix", "Tenant_"], "prefix"),
        (["--bucket", "Bad_Bucket"], "bucket name"),
        (["--principal", "arn:aws:sts::123456789012:assumed-role/tvm/s", "--which", "trust"], "IAM principal"),
        (["--principal", TVM, "--external-id", "x"], "external id"),
        (["--principal", TVM, "--tenant-pattern", "${aws:username}"], "tenant pattern"),
    ],
)
def test_invalid_input_is_a_clean_message_with_exit_2(args: list[str], words: str) -> None:
    base = [] if "--bucket" in args else ["--bucket", "b1b"]
    which = [] if "--which" in args or "--principal" in args else ["--which", "permissions"]
    result = invoke("tenancy", "policy", *base, *which, *args, code=2)
    assert result.output.startswith("Error: ") and words in result.output and "Traceback" not in result.output


# --- setup -----------------------------------------------------------------------------------


def test_setup_creates_the_role_then_updates_it(moto_url: str, iam: Any, role_name: str) -> None:
    first = setup_on(moto_url, role_name, "--principal", TVM, "--bucket", "my-memories")
    arn = f"arn:aws:iam::{ACCOUNT}:role/{role_name}"
    assert first.stdout == f"export S3_VECTOR_TVM_ROLE_ARN={arn}\n"
    assert f"Created role {role_name}: {arn}" in first.stderr
    assert "bucket/my-memories/index/memory-${aws:PrincipalTag/TenantID}" in first.stderr
    role = iam.get_role(RoleName=role_name)["Role"]
    assert role["AssumeRolePolicyDocument"] == trust_policy(TVM)
    stored = iam.get_role_policy(RoleName=role_name, PolicyName=DEFAULT_POLICY_NAME)["PolicyDocument"]
    assert stored == permissions_policy("my-memories", account=ACCOUNT)

    model = "amazon.titan-embed-text-v2:0"
    again = setup_on(
        moto_url, role_name, "--principal", TVM, "--bucket", "my-memories", "--region", "us-east-1",
        "--bedrock-model", model, "--max-session-seconds", "7200",
    )  # fmt: skip
    assert again.stdout == first.stdout
    assert f"Updated role {role_name}" in again.stderr
    assert iam.get_role(RoleName=role_name)["Role"]["MaxSessionDuration"] == 7200
    stored = iam.get_role_policy(RoleName=role_name, PolicyName=DEFAULT_POLICY_NAME)["PolicyDocument"]
    assert stored == permissions_policy("my-memories", region="us-east-1", account=ACCOUNT, bedrock_models=[model])


def test_setup_json_reports_the_role_and_its_documents(moto_url: str, role_name: str) -> None:
    result = setup_on(moto_url, role_name, "--principal", TVM, "--bucket", "b1b", "--external-id", "ext-1", "--json")
    info = json.loads(result.stdout)
    arn = f"arn:aws:iam::{ACCOUNT}:role/{role_name}"
    assert info == {
        "role_name": role_name,
        "role_arn": arn,
        "created": True,
        "principal": TVM,
        "policy_name": DEFAULT_POLICY_NAME,
        "trust_policy": trust_policy(TVM, external_id="ext-1"),
        "permissions_policy": permissions_policy("b1b", account=ACCOUNT),
        "env": {"S3_VECTOR_TVM_ROLE_ARN": arn},
    }


def test_the_iam_endpoint_can_come_from_the_environment(
    moto_url: str, iam: Any, role_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_IAM", moto_url)
    invoke("tenancy", "setup", "--role-name", role_name, "--principal", TVM, "--bucket", "b1b")
    assert iam.get_role(RoleName=role_name)["Role"]["AssumeRolePolicyDocument"] == trust_policy(TVM)


def test_setup_defaults_the_principal_to_the_callers_role(
    moto_url: str, iam: Any, role_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run as an assumed-role session (as on EC2, Lambda or SSO): the trust names the role, path included."""
    app_role = f"app-{uuid.uuid4().hex[:8]}"
    iam.create_role(RoleName=app_role, Path="/apps/", AssumeRolePolicyDocument=json.dumps(trust_policy(TVM)))
    sts = boto3.client("sts", endpoint_url=moto_url, region_name="us-east-1")
    credentials = sts.assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/apps/{app_role}", RoleSessionName="admin")[
        "Credentials"
    ]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", credentials["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", credentials["SecretAccessKey"])
    monkeypatch.setenv("AWS_SESSION_TOKEN", credentials["SessionToken"])
    result = setup_on(moto_url, role_name, "--bucket", "b1b")
    principal = f"arn:aws:iam::{ACCOUNT}:role/apps/{app_role}"
    assert f"Principal (the caller): {principal}" in result.stderr
    assert iam.get_role(RoleName=role_name)["Role"]["AssumeRolePolicyDocument"] == trust_policy(principal)


def test_a_caller_that_cannot_be_a_principal_asks_for_one(moto_url: str, iam: Any, role_name: str) -> None:
    # moto's static credentials identify as arn:aws:sts::123456789012:user/moto, no IAM ARN.
    result = setup_on(moto_url, role_name, "--bucket", "b1b", code=2)
    assert "--principal" in result.output and "Traceback" not in result.output
    assert role_name not in {r["RoleName"] for r in iam.list_roles()["Roles"]}


def test_an_unreachable_iam_fails_cleanly_with_exit_1(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    result = setup_on("http://127.0.0.1:9", "r1", "--principal", TVM, "--bucket", "b1b", code=1)
    assert result.output.startswith("Error: IAM CreateRole: cannot reach") and "Traceback" not in result.output


@pytest.mark.parametrize(
    "args",
    [
        ["--principal", TVM, "--bucket", "b1b"],  # no --role-name
        ["--role-name", "r1", "--principal", TVM, "--bucket", "b1b", "--max-session-seconds", "100"],
        ["--role-name", "has space", "--principal", TVM, "--bucket", "b1b"],
    ],
)
def test_setup_rejects_bad_options_before_calling_aws(args: list[str]) -> None:
    result = invoke("tenancy", "setup", *args, "--iam-endpoint-url", "http://127.0.0.1:9", code=2)
    assert "Traceback" not in result.output and "cannot reach" not in result.output


def test_without_boto3_policy_works_and_setup_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "boto3", None)  # import boto3 now raises ImportError
    assert json.loads(invoke("tenancy", "policy", "--bucket", "b1b", "--which", "permissions").stdout)
    result = invoke("tenancy", "setup", "--role-name", "r1", "--principal", TVM, "--bucket", "b1b", code=1)
    assert "pip install 'strands-vector-memory[aws]'" in result.output
