"""The IAM policy evaluator: AWS's decision rules, variables, conditions, and the wildcard matcher."""

from __future__ import annotations

import json
import logging
import re
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from strands_vector_memory.server._policy import Decision, PolicyError, Request, evaluate, load_policy, wildcard_match

from .iam_documents import APP_ARN, permissions_policy, trust_policy

INDEX = "arn:aws:s3vectors:eu-west-1:123456789012:bucket/mem/index/memory-{}"
TENANT = {"aws:PrincipalTag/TenantID": "acme"}


def allow(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def decide(policy: dict[str, Any], action: str, resource: str, **context: Any) -> Decision:
    return evaluate([policy], Request(action, resource, context))


# -- wildcards -----------------------------------------------------------------------------------


def reference_match(pattern: str, value: str) -> bool:
    """``*`` any run, ``?`` one character, everything else literal: dynamic programming, no regex."""
    previous = [True] + [False] * len(value)
    for p in pattern:
        current = [previous[0] and p == "*"] + [False] * len(value)
        for j, v in enumerate(value, start=1):
            if p == "*":
                current[j] = previous[j] or current[j - 1]
            else:
                current[j] = previous[j - 1] and (p == "?" or p == v)
        previous = current
    return previous[-1]


PATTERN_CHARS = st.sampled_from("ab*?.[]$^\\/:-")
VALUE_CHARS = st.sampled_from("ab.[]$^\\/:-*?\n")


@given(st.text(PATTERN_CHARS, max_size=10), st.text(VALUE_CHARS, max_size=10))
def test_wildcards_match_like_the_reference(pattern: str, value: str) -> None:
    assert wildcard_match(pattern, value) == reference_match(pattern, value)


@given(st.text(PATTERN_CHARS, max_size=8), st.text(VALUE_CHARS, max_size=8))
def test_wildcards_ignore_case_only_when_asked(pattern: str, value: str) -> None:
    assert wildcard_match(pattern.upper(), value.lower(), ignore_case=True) == reference_match(
        pattern.lower(), value.lower()
    )


@given(st.text(max_size=12))
def test_a_pattern_without_wildcards_matches_only_itself(text: str) -> None:
    literal = text.replace("*", "").replace("?", "")
    assert wildcard_match(literal, literal)
    assert not wildcard_match(literal, literal + "x")
    assert wildcard_match("*", text) and wildcard_match("?" * len(text), text)


def test_brackets_are_literal_not_character_classes() -> None:
    assert wildcard_match("[ab]", "[ab]") and not wildcard_match("[ab]", "a")


# -- decisions -----------------------------------------------------------------------------------


def test_default_deny_allow_and_explicit_deny_wins() -> None:
    everything = {"Effect": "Allow", "Action": "s3vectors:*", "Resource": "*"}
    no_deletes = {"Effect": "Deny", "Action": "s3vectors:Delete*", "Resource": "*"}
    assert evaluate([], Request("s3vectors:GetIndex", "*")) is Decision.IMPLICIT_DENY
    assert decide(allow(everything), "s3vectors:GetIndex", INDEX.format("a")) is Decision.ALLOW
    assert decide(allow(everything, no_deletes), "s3vectors:DeleteIndex", "x") is Decision.EXPLICIT_DENY
    # a Deny in another policy wins too
    assert evaluate([allow(everything), allow(no_deletes)], Request("s3vectors:DeleteVectors", "x")).allowed is False
    assert decide(allow(everything), "bedrock:InvokeModel", "*") is Decision.IMPLICIT_DENY


def test_actions_are_case_insensitive_and_resources_case_sensitive() -> None:
    policy = allow({"Effect": "Allow", "Action": "S3Vectors:queryvectors", "Resource": INDEX.format("acme")})
    assert decide(policy, "s3vectors:QueryVectors", INDEX.format("acme")).allowed
    assert not decide(policy, "s3vectors:QueryVectors", INDEX.format("ACME")).allowed


def test_not_action_and_not_resource() -> None:
    policy = allow({"Effect": "Allow", "NotAction": "s3vectors:Delete*", "NotResource": INDEX.format("other")})
    assert decide(policy, "s3vectors:PutVectors", INDEX.format("acme")).allowed
    assert not decide(policy, "s3vectors:DeleteIndex", INDEX.format("acme")).allowed
    assert not decide(policy, "s3vectors:PutVectors", INDEX.format("other")).allowed


def test_resource_wildcards_stay_inside_their_arn_segment() -> None:
    policy = allow({"Effect": "Allow", "Action": "*", "Resource": "arn:aws:s3vectors:*:123456789012:bucket/*"})
    assert decide(policy, "s3vectors:GetIndex", INDEX.format("acme")).allowed  # '*' spans '/' in the resource part
    wide_region = allow({"Effect": "Allow", "Action": "*", "Resource": "arn:aws:s3vectors:*:bucket/mem"})
    # five segments in the pattern: matched as one string, as AWS does for a malformed ARN pattern
    assert decide(wide_region, "s3vectors:GetIndex", "arn:aws:s3vectors:eu-west-1:123456789012:bucket/mem").allowed
    segments = allow({"Effect": "Allow", "Action": "*", "Resource": "arn:aws:s3vectors:*:*:bucket/mem"})
    assert decide(segments, "s3vectors:GetIndex", "arn:aws:s3vectors:eu-west-1:123456789012:bucket/mem").allowed
    # a whole-string match would let the account '*' swallow "x:y"; per segment it cannot
    assert not decide(segments, "s3vectors:GetIndex", "arn:aws:s3vectors:eu:x:y:bucket/mem").allowed


def test_the_tenant_permissions_policy_scopes_by_principal_tag() -> None:
    policy = permissions_policy("mem")
    assert decide(policy, "s3vectors:QueryVectors", INDEX.format("acme"), **TENANT).allowed
    assert not decide(policy, "s3vectors:QueryVectors", INDEX.format("globex"), **TENANT).allowed
    assert not decide(policy, "s3vectors:DeleteIndex", INDEX.format("acme"), **TENANT).allowed
    bucket = "arn:aws:s3vectors:eu-west-1:123456789012:bucket/mem"
    assert not decide(policy, "s3vectors:ListIndexes", bucket, **TENANT).allowed
    # tag keys are case-insensitive, tag values are not
    assert decide(policy, "s3vectors:GetIndex", INDEX.format("acme"), **{"AWS:principaltag/tenantid": "acme"}).allowed
    assert not decide(
        policy, "s3vectors:GetIndex", INDEX.format("acme"), **{"aws:PrincipalTag/TenantID": "ACME"}
    ).allowed


def test_a_missing_variable_makes_the_statement_not_apply() -> None:
    policy = permissions_policy("mem")
    assert decide(policy, "s3vectors:GetIndex", INDEX.format("")) is Decision.IMPLICIT_DENY
    deny = allow(
        {"Effect": "Allow", "Action": "*", "Resource": "*"},
        {"Effect": "Deny", "Action": "*", "Resource": "arn:aws:s3vectors:::${aws:username}"},
    )
    assert decide(deny, "s3vectors:GetIndex", "arn:aws:s3vectors:::x").allowed  # the Deny needs aws:username
    assert decide(deny, "s3vectors:GetIndex", "arn:aws:s3vectors:::x", **{"aws:username": "x"}).value == "explicit deny"


def test_substituted_values_are_literal_never_wildcards() -> None:
    policy = permissions_policy("mem")
    assert not decide(policy, "s3vectors:GetIndex", INDEX.format("acme"), **{"aws:PrincipalTag/TenantID": "*"}).allowed
    assert decide(policy, "s3vectors:GetIndex", INDEX.format("*"), **{"aws:PrincipalTag/TenantID": "*"}).allowed
    escaped = allow({"Effect": "Allow", "Action": "*", "Resource": "arn:aws:s3vectors:::a${*}b${?}"})
    assert decide(escaped, "x:y", "arn:aws:s3vectors:::a*b?").allowed
    assert not decide(escaped, "x:y", "arn:aws:s3vectors:::aXXbY").allowed


def test_variables_with_defaults_and_the_2008_language() -> None:
    policy = allow(
        {"Effect": "Allow", "Action": "*", "Resource": "arn:aws:s3vectors:::${aws:PrincipalTag/team, 'shared'}"}
    )
    assert decide(policy, "x:y", "arn:aws:s3vectors:::shared").allowed
    assert decide(policy, "x:y", "arn:aws:s3vectors:::red", **{"aws:PrincipalTag/team": "red"}).allowed
    old = {"Version": "2008-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "a${aws:username}"}]}
    assert decide(old, "x:y", "a${aws:username}", **{"aws:username": "bob"}).allowed  # no variables in 2008


# -- trust policies and principals -----------------------------------------------------------------


def trust_request(action: str = "sts:AssumeRole", principals: tuple[str, ...] = (APP_ARN,), **context: Any) -> Request:
    return Request(action, "arn:aws:iam::123456789012:role/r", context, principals=principals, account="123456789012")


def test_the_trust_policy_needs_one_non_empty_tenant_tag() -> None:
    trust = trust_policy()
    tagged = {"aws:RequestTag/TenantID": "acme", "aws:TagKeys": ["TenantID"]}
    assert evaluate([trust], trust_request(**tagged)).allowed
    assert evaluate([trust], trust_request("sts:TagSession", **tagged)).allowed
    assert not evaluate([trust], trust_request()).allowed  # no tag
    assert not evaluate([trust], trust_request(**{"aws:RequestTag/TenantID": "", "aws:TagKeys": ["TenantID"]})).allowed
    extra = {**tagged, "aws:RequestTag/Admin": "1", "aws:TagKeys": ["TenantID", "Admin"]}
    assert not evaluate([trust], trust_request(**extra)).allowed
    other = ("arn:aws:iam::123456789012:user/intruder",)
    assert not evaluate([trust], trust_request(principals=other, **tagged)).allowed


@pytest.mark.parametrize(
    ("principal", "allowed"),
    [
        ("*", True),
        ({"AWS": "*"}, True),
        ({"AWS": "123456789012"}, True),
        ({"AWS": "arn:aws:iam::123456789012:root"}, True),
        ({"AWS": "arn:aws:iam::999999999999:root"}, False),
        ({"AWS": ["arn:aws:iam::123456789012:user/other", "arn:aws:iam::123456789012:role/app"]}, True),
        ({"AWS": "arn:aws:iam::123456789012:user/other"}, False),
        ({"Service": "lambda.amazonaws.com"}, False),
    ],
)
def test_principals(principal: Any, allowed: bool) -> None:
    policy = allow({"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"})
    session = ("arn:aws:sts::123456789012:assumed-role/app/s1", "arn:aws:iam::123456789012:role/app")
    assert evaluate([policy], trust_request(principals=session)).allowed is allowed


# -- conditions ----------------------------------------------------------------------------------


def holds(condition: dict[str, Any], **context: Any) -> bool:
    policy = allow({"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": condition})
    return decide(policy, "x:y", "*", **context).allowed


def test_string_operators() -> None:
    assert holds({"StringEquals": {"k": ["a", "b"]}}, k="b")  # OR within a key
    assert not holds({"StringEquals": {"k": "a"}}, k="A")
    assert not holds({"StringEquals": {"k": "a"}})  # missing key
    assert holds({"StringEqualsIgnoreCase": {"k": "a"}}, k="A")
    assert holds({"StringNotEquals": {"k": "a"}}, k="b")
    assert holds({"StringNotEquals": {"k": "a"}})  # negated operators hold when the key is absent
    assert not holds({"StringNotEquals": {"k": ["a", "b"]}}, k="b")
    assert holds({"StringLike": {"k": "ac*e"}}, k="acme")
    assert not holds({"StringLike": {"k": "ac*e"}}, k="acmex")
    assert holds({"StringNotLike": {"k": "a*"}}, k="b")
    assert holds({"StringEqualsIfExists": {"k": "a"}}) and not holds({"StringEqualsIfExists": {"k": "a"}}, k="b")
    assert holds({"StringEquals": {"k": "${aws:username}"}}, k="bob", **{"aws:username": "bob"})
    assert not holds({"StringEquals": {"k": "${aws:username}"}}, k="bob")  # unresolved: not applied


def test_conditions_are_and_across_keys_and_operators() -> None:
    condition = {"StringEquals": {"a": "1", "b": "2"}, "StringLike": {"c": "x*"}}
    assert holds(condition, a="1", b="2", c="xy")
    assert not holds(condition, a="1", b="2", c="y")
    assert not holds(condition, a="1", c="xy")


def test_set_operators() -> None:
    only_tenant = {"ForAllValues:StringEquals": {"aws:TagKeys": ["TenantID"]}}
    assert holds(only_tenant, **{"aws:TagKeys": ["TenantID"]})
    assert holds(only_tenant)  # vacuously true when absent, as on AWS
    assert holds(only_tenant, **{"aws:TagKeys": []})
    assert not holds(only_tenant, **{"aws:TagKeys": ["TenantID", "Role"]})
    any_admin = {"ForAnyValue:StringLike": {"aws:TagKeys": "Adm*"}}
    assert holds(any_admin, **{"aws:TagKeys": ["TenantID", "Admin"]})
    assert not holds(any_admin, **{"aws:TagKeys": ["TenantID"]}) and not holds(any_admin)
    assert holds({"ForAllValues:StringNotEquals": {"t": ["x"]}}, t=["a", "b"])
    assert not holds({"ForAnyValue:StringNotEquals": {"t": ["a", "b"]}}, t=["a", "b"])


def test_null_and_bool() -> None:
    assert holds({"Null": {"k": "true"}}) and not holds({"Null": {"k": "true"}}, k="v")
    assert holds({"Null": {"k": False}}, k="v") and not holds({"Null": {"k": "false"}})
    assert holds({"Bool": {"aws:SecureTransport": "false"}}, **{"aws:SecureTransport": "false"})
    assert not holds({"Bool": {"aws:SecureTransport": True}}, **{"aws:SecureTransport": "false"})
    assert not holds({"Bool": {"aws:SecureTransport": "true"}})


def test_condition_keys_are_case_insensitive() -> None:
    assert holds({"StringEquals": {"AWS:RequestTag/tenantid": "acme"}}, **{"aws:RequestTag/TenantID": "acme"})


def test_an_operator_that_cannot_be_evaluated_fails_closed(caplog: pytest.LogCaptureFixture) -> None:
    numeric = {"NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}}
    with caplog.at_level(logging.WARNING, logger="strands_vector_memory.server.policy"):
        assert not holds(numeric, **{"aws:MultiFactorAuthAge": "10"})  # an Allow with it never applies
        policy = allow(
            {"Effect": "Allow", "Action": "*", "Resource": "*"},
            {"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": numeric},
        )
        assert decide(policy, "x:y", "*") is Decision.EXPLICIT_DENY  # a Deny with it always does
    assert "unsupported condition operator" in caplog.text


# -- documents -----------------------------------------------------------------------------------


ANY: dict[str, Any] = {"Effect": "Allow", "Action": "*", "Resource": "*"}


def statement_doc(**statement: Any) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": statement})


@pytest.mark.parametrize(
    ("document", "kind", "message"),
    [
        ("not json", "identity", "not valid JSON"),
        ("[]", "identity", "JSON object"),
        ('{"Statement": []}', "identity", "Version"),
        ('{"Version": "2012-10-17"}', "identity", "Statement"),
        (statement_doc(**{**ANY, "Effect": "Maybe"}), "identity", "Effect"),
        (statement_doc(Effect="Allow", Resource="*"), "identity", "Action"),
        (statement_doc(Effect="Allow", Action="*"), "identity", "Resource"),
        (statement_doc(**ANY, Principal="*"), "identity", "principal"),
        (statement_doc(**ANY), "trust", "Resource"),
        (statement_doc(Effect="Allow", Action="*"), "trust", "Principal"),
        (statement_doc(**ANY, Condition={"StringSortOf": {"k": "v"}}), "identity", "StringSortOf"),
        (statement_doc(**{**ANY, "Action": 7}), "identity", "Action"),
        (statement_doc(**ANY, Color="red"), "identity", "Color"),
    ],
)
def test_malformed_documents_are_refused(document: str, kind: Any, message: str) -> None:
    with pytest.raises(PolicyError, match=re.escape(message)):
        load_policy(document, kind)


def test_documents_may_come_url_encoded() -> None:
    policy = permissions_policy("mem")
    assert load_policy(quote(json.dumps(policy))) == policy
    assert load_policy(json.dumps(trust_policy()), "trust")["Statement"][0]["Sid"] == "TokenVendingMachine"
