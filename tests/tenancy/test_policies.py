"""The tenant role's IAM documents: exact shapes, validation, and the one-index guarantee."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from strands_vector_memory.core import ValidationError
from strands_vector_memory.tenancy import (
    TAG_KEY,
    TENANT_ACTIONS,
    index_for_tenant,
    permissions_policy,
    policy_json,
    tenant_key,
    trust_policy,
)
from strands_vector_memory.tenancy._policies import bedrock_resources, principal_parts

ACTIONS = [
    "s3vectors:CreateIndex",
    "s3vectors:GetIndex",
    "s3vectors:PutVectors",
    "s3vectors:GetVectors",
    "s3vectors:ListVectors",
    "s3vectors:QueryVectors",
    "s3vectors:DeleteVectors",
]
TVM = "arn:aws:iam::123456789012:role/tvm"
VARIABLE = "${aws:PrincipalTag/TenantID}"


def test_the_permissions_policy_is_exactly_the_designed_document() -> None:
    assert permissions_policy("my-memories") == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "TenantOwnIndexOnly",
                "Effect": "Allow",
                "Action": ACTIONS,
                "Resource": "arn:aws:s3vectors:*:*:bucket/my-memories/index/memory-${aws:PrincipalTag/TenantID}",
            }
        ],
    }


def test_region_account_prefix_partition_and_tag_key_land_in_the_resource() -> None:
    document = permissions_policy(
        "b1b", region="eu-central-1", account="210987654321", prefix="mem.", tag_key="Tenant", partition="aws-cn"
    )
    assert document["Statement"][0]["Resource"] == (
        "arn:aws-cn:s3vectors:eu-central-1:210987654321:bucket/b1b/index/mem.${aws:PrincipalTag/Tenant}"
    )


def test_tenant_actions_are_the_seven_and_never_delete_or_list_indexes() -> None:
    assert list(TENANT_ACTIONS) == ACTIONS
    assert "s3vectors:DeleteIndex" not in TENANT_ACTIONS and "s3vectors:ListIndexes" not in TENANT_ACTIONS


def test_a_plain_bedrock_model_is_the_foundation_model_in_the_region() -> None:
    document = permissions_policy("b1b", region="us-east-1", bedrock_models=["amazon.titan-embed-text-v2:0"])
    assert document["Statement"][1] == {
        "Sid": "TenantEmbeddings",
        "Effect": "Allow",
        "Action": "bedrock:InvokeModel",
        "Resource": ["arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-embed-text-v2:0"],
    }


@pytest.mark.parametrize("geo", ["us", "eu", "apac", "global", "us-gov", "jp"])
def test_an_inference_profile_needs_the_profile_and_the_model_in_every_region(geo: str) -> None:
    model = f"{geo}.amazon.nova-2-multimodal-embeddings-v1:0"
    assert bedrock_resources([model], region="us-west-2", account="123456789012") == [
        f"arn:aws:bedrock:us-west-2:123456789012:inference-profile/{model}",
        "arn:aws:bedrock:*::foundation-model/amazon.nova-2-multimodal-embeddings-v1:0",
    ]


def test_bedrock_arns_are_kept_and_duplicates_dropped() -> None:
    arn = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123"
    resources = bedrock_resources(
        [arn, "amazon.titan-embed-text-v2:0", "us.amazon.titan-embed-text-v2:0", "amazon.titan-embed-text-v2:0"]
    )
    assert resources == [
        arn,
        "arn:aws:bedrock:*::foundation-model/amazon.titan-embed-text-v2:0",
        "arn:aws:bedrock:*:*:inference-profile/us.amazon.titan-embed-text-v2:0",
    ]


def test_one_model_id_given_as_a_string_is_one_model() -> None:
    document = permissions_policy("b1b", bedrock_models="amazon.titan-embed-text-v2:0")
    assert document["Statement"][1]["Resource"] == ["arn:aws:bedrock:*::foundation-model/amazon.titan-embed-text-v2:0"]


def test_no_models_means_no_bedrock_statement() -> None:
    assert len(permissions_policy("b1b", bedrock_models=())["Statement"]) == 1


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"bucket": "My_Bucket"}, "bucket_name"),
        ({"bucket": "ab"}, "bucket_name"),
        ({"region": "Mars"}, "region"),
        ({"region": "us-east-1 "}, "region"),
        ({"region": ""}, "region"),
        ({"account": "12345"}, "account"),
        ({"account": "12345678901a"}, "account"),
        ({"prefix": ""}, "prefix"),
        ({"prefix": "Memory-"}, "prefix"),
        ({"prefix": "-memory"}, "prefix"),
        ({"prefix": "mem_"}, "prefix"),
        ({"prefix": "tenant-memory-"}, "prefix"),
        ({"tag_key": "aws:TenantID"}, "tag_key"),
        ({"tag_key": "Tenant ID"}, "tag_key"),
        ({"tag_key": "Tenant}"}, "tag_key"),
        ({"partition": "azure"}, "partition"),
        ({"bedrock_models": ["titan"]}, "bedrock_models"),
        ({"bedrock_models": ["amazon.titan*"]}, "bedrock_models"),
        ({"bedrock_models": ["arn:aws:s3:::bucket"]}, "bedrock_models"),
        ({"bedrock_models": [7]}, "bedrock_models"),
    ],
)
def test_invalid_permissions_arguments_name_their_field(kwargs: dict[str, Any], field: str) -> None:
    arguments: dict[str, Any] = {"bucket": "my-memories", **kwargs}
    bucket = arguments.pop("bucket")
    with pytest.raises(ValidationError) as caught:
        permissions_policy(bucket, **arguments)
    assert caught.value.field == field


def test_the_trust_policy_is_exactly_the_designed_document() -> None:
    assert trust_policy(TVM) == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "TokenVendingMachine",
                "Effect": "Allow",
                "Principal": {"AWS": TVM},
                "Action": ["sts:AssumeRole", "sts:TagSession"],
                "Condition": {
                    "StringLike": {"aws:RequestTag/TenantID": "?*"},
                    "ForAllValues:StringEquals": {"aws:TagKeys": ["TenantID"]},
                },
            }
        ],
    }


def test_an_external_id_and_a_pattern_become_conditions() -> None:
    condition = trust_policy(TVM, tenant_pattern="acme-*", external_id="partner:42/x")["Statement"][0]["Condition"]
    assert condition == {
        "StringLike": {"aws:RequestTag/TenantID": "acme-*"},
        "ForAllValues:StringEquals": {"aws:TagKeys": ["TenantID"]},
        "StringEquals": {"sts:ExternalId": "partner:42/x"},
    }


@pytest.mark.parametrize(
    "principal",
    [
        "arn:aws:iam::123456789012:root",
        "arn:aws:iam::123456789012:user/alice",
        "arn:aws:iam::123456789012:user/division/team/alice+ops@corp.example",
        "arn:aws:iam::123456789012:role/service-role/tvm",
        "arn:aws-us-gov:iam::123456789012:role/tvm",
    ],
)
def test_iam_principals_are_accepted(principal: str) -> None:
    assert trust_policy(principal)["Statement"][0]["Principal"] == {"AWS": principal}


@pytest.mark.parametrize(
    "principal",
    [
        "arn:aws:sts::123456789012:assumed-role/tvm/session",
        "arn:aws:iam::12345678901:role/tvm",
        "arn:aws:iam::123456789012:group/admins",
        "arn:aws:iam::123456789012:role/",
        "arn:aws:iam::123456789012:role/a b",
        "arn:aws:iam::123456789012:*",
        "123456789012",
        "*",
        "",
    ],
)
def test_anything_but_an_iam_principal_is_refused(principal: str) -> None:
    with pytest.raises(ValidationError, match="not an IAM principal ARN") as caught:
        trust_policy(principal)
    assert caught.value.field == "principal_arn"


def test_a_session_arn_is_refused_with_the_role_to_use_instead() -> None:
    with pytest.raises(ValidationError, match=r"arn:aws:iam::\.\.\.:role/R"):
        trust_policy("arn:aws:sts::123456789012:assumed-role/tvm/session")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"tenant_pattern": ""}, "tenant_pattern"),
        ({"tenant_pattern": "${aws:username}"}, "tenant_pattern"),
        ({"tenant_pattern": "a" * 257}, "tenant_pattern"),
        ({"tenant_pattern": "acme\n"}, "tenant_pattern"),
        ({"external_id": "x"}, "external_id"),
        ({"external_id": "x" * 1225}, "external_id"),
        ({"external_id": "has space"}, "external_id"),
        ({"external_id": ""}, "external_id"),
        ({"tag_key": "aws:PrincipalTag"}, "tag_key"),
    ],
)
def test_invalid_trust_arguments_name_their_field(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        trust_policy(TVM, **kwargs)
    assert caught.value.field == field


@pytest.mark.parametrize("pattern", ["*", "?*", "acme-?", "tenant-*.*", "a b"])
def test_star_and_question_mark_are_the_wildcards(pattern: str) -> None:
    assert trust_policy(TVM, tenant_pattern=pattern)["Statement"][0]["Condition"]["StringLike"] == {
        "aws:RequestTag/TenantID": pattern
    }


def test_external_ids_at_their_length_limits_are_accepted() -> None:
    for external_id in ("ab", "x" * 1224):
        assert trust_policy(TVM, external_id=external_id)["Statement"][0]["Condition"]["StringEquals"] == {
            "sts:ExternalId": external_id
        }


def test_policy_json_is_stable_indented_and_round_trips() -> None:
    document = permissions_policy("my-memories", bedrock_models=["amazon.titan-embed-text-v2:0"])
    text = policy_json(document)
    assert text == policy_json(permissions_policy("my-memories", bedrock_models=["amazon.titan-embed-text-v2:0"]))
    assert text.startswith('{\n  "Version": "2012-10-17",\n  "Statement": [')
    assert json.loads(text) == document


def test_principal_parts_are_partition_and_account() -> None:
    assert principal_parts("arn:aws-cn:iam::123456789012:role/x") == ("aws-cn", "123456789012")
    with pytest.raises(ValidationError):
        principal_parts("arn:aws:sts::123456789012:assumed-role/x/y")


buckets = st.from_regex(r"[a-z0-9][a-z0-9-]{1,61}[a-z0-9]", fullmatch=True)
prefixes = st.from_regex(r"[a-z0-9][a-z0-9.-]{0,6}", fullmatch=True)
regions = st.sampled_from(["*", "us-east-1", "eu-west-3", "ap-southeast-2", "us-gov-west-1", "il-central-1"])
accounts = st.one_of(st.just("*"), st.from_regex(r"[0-9]{12}", fullmatch=True))


@given(bucket=buckets, prefix=prefixes, region=regions, account=accounts)
def test_the_resource_is_always_one_index_pattern_under_that_bucket(
    bucket: str, prefix: str, region: str, account: str
) -> None:
    resource = permissions_policy(bucket, region=region, account=account, prefix=prefix)["Statement"][0]["Resource"]
    assert isinstance(resource, str)
    assert resource.startswith(f"arn:aws:s3vectors:{region}:{account}:bucket/{bucket}/index/")
    assert resource.endswith(VARIABLE)
    assert resource == f"arn:aws:s3vectors:{region}:{account}:bucket/{bucket}/index/{prefix}{VARIABLE}"
    # The only wildcards are region and account; the bucket and index parts hold none.
    assert "*" not in resource.split(":bucket/", 1)[1] and "?" not in resource


@given(tenant=st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=60))
def test_the_tag_variable_resolves_to_the_tenants_own_index(tenant: str) -> None:
    assume(tenant.strip() != "")
    resource = permissions_policy("my-memories")["Statement"][0]["Resource"]
    resolved = resource.replace("${aws:PrincipalTag/" + TAG_KEY + "}", tenant_key(tenant))
    assert resolved == f"arn:aws:s3vectors:*:*:bucket/my-memories/index/{index_for_tenant(tenant)}"
