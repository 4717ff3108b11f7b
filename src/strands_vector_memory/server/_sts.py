"""A subset of AWS STS: ``AssumeRole`` (with session tags) and ``GetCallerIdentity``.

Why: a Token Vending Machine turns its own credentials into per-tenant ones with
``AssumeRole`` and a ``TenantID`` session tag; the permissions policy then scopes the
session to the tenant's index through ``${aws:PrincipalTag/TenantID}``. AssumeRole here
decides as AWS does: the role's trust policy must allow ``sts:AssumeRole`` for the
caller, and also ``sts:TagSession`` when tags are passed (``sts:SetSourceIdentity`` for a
source identity), with the request's tags, external id and session name as condition
keys. A session assuming a role (role chaining) also needs its own policies to allow
it, passes on its transitive tags and is limited to one hour, as on AWS. An unknown
role is an ``AccessDenied`` like any other refusal, so nothing reveals which roles exist.
Session policies (``Policy``, ``PolicyArns``) and MFA are not supported.
"""

from __future__ import annotations

import math
import re
from typing import Any, Final

from ..core import AccessDeniedError
from ._form import Params, invalid, query_error
from ._iam import iso_time
from ._identity import Authority, Caller
from ._policy import ContextValue, Decision, Request, evaluate

__all__ = ["MAX_CHAINED_DURATION", "assume_role", "get_caller_identity"]

#: A session assuming another role gets at most an hour, as on AWS.
MAX_CHAINED_DURATION: Final = 3600
_DEFAULT_DURATION: Final = 3600
_SESSION_NAME: Final = re.compile(r"[\w+=,.@-]*", re.ASCII)
_EXTERNAL_ID: Final = re.compile(r"[\w+=,.@:/-]*", re.ASCII)
_UNSUPPORTED: Final = {
    "Policy": "session policies (Policy)",
    "PolicyArns": "managed session policies (PolicyArns)",
    "SerialNumber": "MFA (SerialNumber)",
    "TokenCode": "MFA (TokenCode)",
    "ProvidedContexts": "ProvidedContexts",
}
#: Session tags are packed into the token; this is roughly what fits, for PackedPolicySize.
_PACKED_TAG_BUDGET: Final = 2048


def _bounded(params: Params, name: str, low: int, high: int, pattern: re.Pattern[str]) -> str | None:
    value = params.text(name)
    if value is None:
        return None
    field = name[:1].lower() + name[1:]
    if not low <= len(value) <= high:
        raise invalid(field, value, f"Member must have length between {low} and {high}")
    if not pattern.fullmatch(value):
        raise invalid(field, value, f"Member must satisfy regular expression pattern: {pattern.pattern}")
    return value


def _denied(caller: Caller, action: str, role_arn: str) -> AccessDeniedError:
    return AccessDeniedError(f"User: {caller.arn} is not authorized to perform: {action} on resource: {role_arn}")


def assume_role(authority: Authority, caller: Caller, params: Params, region: str | None) -> dict[str, Any]:
    """``AssumeRole``: new credentials for a session of the role, if its trust policy allows the caller."""
    for name, what in _UNSUPPORTED.items():
        if params.has(name):
            raise query_error("NotImplemented", f"{what} is not supported by the local STS endpoint")
    role_arn = params.need("RoleArn")
    if not 20 <= len(role_arn) <= 2048:
        raise invalid("roleArn", role_arn, "Member must have length between 20 and 2048")
    session_name = _bounded(params, "RoleSessionName", 2, 64, _SESSION_NAME)
    if session_name is None:
        raise invalid("roleSessionName", None, "Member must not be null")
    duration = params.integer("DurationSeconds")
    if duration is not None and not 900 <= duration <= 43200:
        raise invalid("durationSeconds", duration, "Member must have value between 900 and 43200")
    external_id = _bounded(params, "ExternalId", 2, 1224, _EXTERNAL_ID)
    source_identity = _bounded(params, "SourceIdentity", 2, 64, _SESSION_NAME)
    tags = params.tags(duplicate_code="InvalidParameterValue")
    tag_keys = {key.lower() for key, _ in tags}
    transitive = params.strings("TransitiveTagKeys")
    if len(transitive) > 50:
        raise invalid(
            "transitiveTagKeys", f"{len(transitive)} keys", "Member must have length less than or equal to 50"
        )
    for key in transitive:
        if key.lower() not in tag_keys:
            raise query_error(
                "InvalidParameterValue", f"The transitive tag key {key!r} must also be passed as a session tag."
            )

    parent = caller.session
    inherited = [(k, v) for k, v in parent.tags if k.lower() in parent.transitive_keys] if parent else []
    for key, _ in inherited:
        if key.lower() in tag_keys:
            raise query_error(
                "InvalidParameterValue",
                f"The session tag {key!r} conflicts with a transitive tag inherited from the calling session.",
            )
    if parent is not None and parent.source_identity is not None:
        if source_identity is not None and source_identity != parent.source_identity:
            raise query_error("InvalidParameterValue", "SourceIdentity cannot be changed once set on a session.")
        source_identity = parent.source_identity

    role = authority.iam.role_for_arn(role_arn)
    if role is None:
        raise _denied(caller, "sts:AssumeRole", role_arn)
    actions = ["sts:AssumeRole"]
    if tags:
        actions.append("sts:TagSession")
    if params.text("SourceIdentity") is not None:
        actions.append("sts:SetSourceIdentity")
    if parent is not None:  # role chaining: the session's own policies must allow it too
        for action in actions:
            if not authority.decide(caller, action, role.arn, region=region).allowed:
                raise _denied(caller, action, role.arn)

    now = authority.sessions.clock()
    context: dict[str, ContextValue] = {
        **caller.context(now, region),
        "aws:TagKeys": [key for key, _ in tags],
        "sts:RoleSessionName": session_name,
        "sts:TransitiveTagKeys": transitive,
    }
    context.update({f"aws:RequestTag/{key}": value for key, value in tags})
    if external_id is not None:
        context["sts:ExternalId"] = external_id
    if params.text("SourceIdentity") is not None:
        context["sts:SourceIdentity"] = params.need("SourceIdentity")
    trust = role.trust()
    for action in actions:
        request = Request(action, role.arn, context, principals=caller.principal_arns, account=caller.account)
        if evaluate([trust], request) is not Decision.ALLOW:
            raise _denied(caller, action, role.arn)

    limit = MAX_CHAINED_DURATION if parent is not None else role.max_session_duration
    seconds = _DEFAULT_DURATION if duration is None else duration
    if seconds > limit:
        why = (
            "the 1 hour session limit for roles assumed by role chaining"
            if parent is not None
            else f"the MaxSessionDuration set for this role ({role.max_session_duration})"
        )
        raise query_error("ValidationError", f"The requested DurationSeconds ({seconds}) exceeds {why}.")

    session = authority.sessions.issue(
        role_arn=role.arn,
        role_id=role.role_id,
        session_name=session_name,
        duration=seconds,
        tags=[*inherited, *tags],
        transitive_keys=frozenset({key.lower() for key in transitive} | {key.lower() for key, _ in inherited}),
        source_identity=source_identity,
        chained=parent is not None,
    )
    result: dict[str, Any] = {
        "Credentials": {
            "AccessKeyId": session.access_key_id,
            "SecretAccessKey": session.secret_access_key,
            "SessionToken": session.session_token,
            "Expiration": iso_time(session.expiration),
        },
        "AssumedRoleUser": {"AssumedRoleId": session.assumed_role_id, "Arn": session.arn},
    }
    if session.tags:
        packed = sum(len(k) + len(v) + 2 for k, v in session.tags)
        result["PackedPolicySize"] = min(100, math.ceil(100 * packed / _PACKED_TAG_BUDGET))
    if session.source_identity is not None:
        result["SourceIdentity"] = session.source_identity
    return result


def get_caller_identity(caller: Caller) -> dict[str, Any]:
    """``GetCallerIdentity``: allowed to everyone, as on AWS."""
    return {"UserId": caller.user_id, "Account": caller.account, "Arn": caller.arn}
