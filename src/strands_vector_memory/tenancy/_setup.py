"""Creating (and removing) the tenant role in IAM, so re-running setup always converges.

Why idempotent rather than create-once: the role's documents are derived from
arguments (bucket, region, models, principal) that change over an application's life.
Running :func:`setup_tenant_role` again with new arguments rewrites the trust policy,
the inline permissions policy and the session length, so what IAM holds is always what
the last run computed, with no drift to diff by hand.

The IAM client is injected (``boto3.client("iam")`` or one pointed at a local
endpoint); this module never imports boto3, only botocore's exception classes, and only
inside the calls that need them. Every botocore error leaves as a project exception.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from .._aws import class_for_status, map_botocore_error
from ..core import (
    AccessDeniedError,
    BackendUnavailableError,
    ConflictError,
    NotFoundError,
    QuotaExceededError,
    ThrottledError,
    ValidationError,
    VectorMemoryError,
)
from ._naming import INDEX_PREFIX
from ._policies import permissions_policy, policy_json, principal_parts, trust_policy

__all__ = [
    "DEFAULT_POLICY_NAME",
    "IAM_ERROR_CLASSES",
    "MAX_SESSION_SECONDS",
    "MIN_SESSION_SECONDS",
    "RoleSetup",
    "caller_principal",
    "map_iam_error",
    "principal_from_caller",
    "remove_tenant_role",
    "setup_tenant_role",
]

#: The inline policy's name on the role: the one policy setup writes and remove deletes.
DEFAULT_POLICY_NAME: Final = "strands-vector-memory-tenant-access"

#: IAM's bounds for a role's MaxSessionDuration (and so for tenant credentials' lifetime).
MIN_SESSION_SECONDS: Final = 3600
MAX_SESSION_SECONDS: Final = 43200

#: Every error code IAM (and STS, for the caller identity) answers these calls with.
IAM_ERROR_CLASSES: Final[dict[str, type[VectorMemoryError]]] = {
    "NoSuchEntity": NotFoundError,
    "EntityAlreadyExists": ConflictError,
    "DeleteConflict": ConflictError,
    "ConcurrentModification": ConflictError,
    # A service-linked role: AWS owns it, nobody may rewrite its policies.
    "UnmodifiableEntity": ConflictError,
    "LimitExceeded": QuotaExceededError,
    "MalformedPolicyDocument": ValidationError,
    "InvalidInput": ValidationError,
    "ServiceFailure": BackendUnavailableError,
    "AccessDenied": AccessDeniedError,
    "AccessDeniedException": AccessDeniedError,
    "InvalidClientTokenId": AccessDeniedError,
    "SignatureDoesNotMatch": AccessDeniedError,
    "ExpiredToken": AccessDeniedError,
    "Throttling": ThrottledError,  # IAM answers 400, not 429, so the status alone would mislead
    "ThrottlingException": ThrottledError,
}

_HINTS: Final = {
    "AccessDenied": " (setting up needs iam:CreateRole, iam:GetRole, iam:UpdateRole, iam:UpdateAssumeRolePolicy "
    "and iam:PutRolePolicy on the role; removing it iam:DeleteRolePolicy and iam:DeleteRole)",
    "MalformedPolicyDocument": " (IAM also rejects a principal that does not exist: check the principal ARN)",
    "LimitExceeded": " (IAM allows 2,048 characters of trust policy and 10,240 of inline policies per role)",
    "UnmodifiableEntity": " (a service-linked role cannot be changed: choose another role name)",
    "ExpiredToken": " (refresh the AWS credentials)",
}

_ROLE_NAME: Final = re.compile(r"[\w+=,.@-]{1,64}", re.ASCII)
_POLICY_NAME: Final = re.compile(r"[\w+=,.@-]{1,128}", re.ASCII)
_ASSUMED_ROLE: Final = re.compile(
    r"arn:(?P<partition>aws(?:-[a-z]+)*):sts::(?P<account>[0-9]{12}):assumed-role/(?P<role>[\w+=,.@-]+)/[^/]+",
    re.ASCII,
)


@dataclass(frozen=True)
class RoleSetup:
    """What :func:`setup_tenant_role` left in IAM.

    Attributes:
        role_name: The role's name.
        role_arn: The role's ARN: what the token vending machine assumes
            (``S3_VECTOR_TVM_ROLE_ARN``).
        created: ``True`` if this run created the role, ``False`` if it updated it.
        trust_policy: The role's trust policy, as written.
        permissions_policy: The role's inline permissions policy, as written.
        policy_name: The inline policy's name.
    """

    role_name: str
    role_arn: str
    created: bool
    trust_policy: dict[str, Any]
    permissions_policy: dict[str, Any]
    policy_name: str = DEFAULT_POLICY_NAME


def setup_tenant_role(
    iam_client: Any,
    *,
    role_name: str,
    principal_arn: str,
    bucket: str,
    region: str = "*",
    account: str | None = None,
    prefix: str = INDEX_PREFIX,
    bedrock_models: Sequence[str] = (),
    tenant_pattern: str = "?*",
    external_id: str | None = None,
    max_session_seconds: int = MIN_SESSION_SECONDS,
    policy_name: str = DEFAULT_POLICY_NAME,
) -> RoleSetup:
    """Create the tenant role, or bring an existing one up to date with these arguments.

    Creates ``role_name`` with the :func:`trust_policy` of ``principal_arn`` and the
    inline :func:`permissions_policy` named ``policy_name``. If the role exists, its
    trust policy (UpdateAssumeRolePolicy), inline policy (PutRolePolicy), session
    length and description (UpdateRole) are rewritten, so re-running converges. Other
    policies on an existing role are left alone. Every argument is validated before
    the first IAM call.

    Args:
        iam_client: A boto3 IAM client.
        role_name: The role to create or update (1-64 characters of ``[A-Za-z0-9+=,.@_-]``).
        principal_arn: Who may assume the role: the token vending machine's identity.
        bucket: The vector bucket holding the tenants' indexes.
        region: The bucket's region, or ``*``.
        account: The bucket owner's account id, or ``*``; default: the principal's account.
        prefix: The tenant index name prefix.
        bedrock_models: Embedding models tenant sessions may invoke.
        tenant_pattern: ``StringLike`` pattern tenant keys must match.
        external_id: An ``sts:ExternalId`` AssumeRole must pass, if any.
        max_session_seconds: Longest session the role grants (3600-43200).
        policy_name: Name of the inline permissions policy.

    Returns:
        The role's ARN, whether it was created, and the documents written.

    Raises:
        ValidationError: If an argument is invalid, or IAM rejects a document.
        AccessDeniedError: If the caller may not manage the role.
        ConflictError: If the role cannot be changed (service-linked) or is being changed concurrently.
    """
    _check_name(role_name, _ROLE_NAME, "role_name", "1-64")
    _check_name(policy_name, _POLICY_NAME, "policy_name", "1-128")
    if (
        isinstance(max_session_seconds, bool)
        or not isinstance(max_session_seconds, int)
        or not MIN_SESSION_SECONDS <= max_session_seconds <= MAX_SESSION_SECONDS
    ):
        raise ValidationError(
            f"max session seconds must be an integer in {MIN_SESSION_SECONDS}..{MAX_SESSION_SECONDS} "
            f"(IAM's bounds), got {max_session_seconds!r}",
            field="max_session_seconds",
            limit=f"{MIN_SESSION_SECONDS}..{MAX_SESSION_SECONDS}",
        )
    partition, principal_account = principal_parts(principal_arn)
    trust = trust_policy(principal_arn, tenant_pattern=tenant_pattern, external_id=external_id)
    permissions = permissions_policy(
        bucket,
        region=region,
        account=principal_account if account is None else account,
        prefix=prefix,
        bedrock_models=bedrock_models,
        partition=partition,
    )
    description = (
        f"strands-vector-memory tenants: a session tagged TenantID=<key> reaches only index "
        f"{prefix}<key> of vector bucket {bucket}"
    )
    created = _call(
        iam_client,
        "IAM",
        "create_role",
        RoleName=role_name,
        AssumeRolePolicyDocument=policy_json(trust),
        Description=description,
        MaxSessionDuration=max_session_seconds,
        tolerate=frozenset({"EntityAlreadyExists"}),
    )
    if created is not None:
        role_arn = str(created["Role"]["Arn"])
    else:
        _call(iam_client, "IAM", "update_assume_role_policy", RoleName=role_name, PolicyDocument=policy_json(trust))
        _call(
            iam_client,
            "IAM",
            "update_role",
            RoleName=role_name,
            Description=description,
            MaxSessionDuration=max_session_seconds,
        )
        role_arn = str(_call(iam_client, "IAM", "get_role", RoleName=role_name)["Role"]["Arn"])
    _call(
        iam_client,
        "IAM",
        "put_role_policy",
        RoleName=role_name,
        PolicyName=policy_name,
        PolicyDocument=policy_json(permissions),
    )
    return RoleSetup(role_name, role_arn, created is not None, trust, permissions, policy_name)


def remove_tenant_role(iam_client: Any, role_name: str, policy_name: str = DEFAULT_POLICY_NAME) -> bool:
    """Delete the role's inline policy ``policy_name``, then the role; ``False`` if it did not exist.

    Only what :func:`setup_tenant_role` wrote is removed: a role that also carries
    other policies (inline or attached) or sits in an instance profile is not stripped
    of them, the deletion fails with ``ConflictError`` saying what is left. Tenants'
    indexes are untouched; sessions already issued stay valid until they expire.

    Raises:
        ConflictError: If the role has policies or instance profiles this library did not add.
        AccessDeniedError: If the caller may not delete the role.
    """
    _check_name(role_name, _ROLE_NAME, "role_name", "1-64")
    _check_name(policy_name, _POLICY_NAME, "policy_name", "1-128")
    tolerate = frozenset({"NoSuchEntity"})
    _call(iam_client, "IAM", "delete_role_policy", RoleName=role_name, PolicyName=policy_name, tolerate=tolerate)
    try:
        deleted = _call(iam_client, "IAM", "delete_role", RoleName=role_name, tolerate=tolerate)
    except ConflictError as exc:
        if _code(exc.__cause__) != "DeleteConflict":
            raise
        raise ConflictError(
            f"{exc} (role {role_name} has policies or instance profiles besides {policy_name!r}; "
            "strands-vector-memory removes only what it created: detach or delete those first)"
        ) from exc.__cause__
    return deleted is not None


def principal_from_caller(caller_arn: str) -> str:
    """The trust-policy principal for a caller identity ARN (as GetCallerIdentity returns it).

    An assumed-role session ``arn:aws:sts::A:assumed-role/R/S`` becomes its role
    ``arn:aws:iam::A:role/R``: trust policies name roles, and a session ARN would stop
    matching at the next session. IAM users and the root user are kept as they are.
    The role's path is not in a session ARN; :func:`caller_principal` looks it up.

    Raises:
        ValidationError: If the ARN is neither an IAM user, root, role nor assumed-role session
            (a federated user, say): name the principal explicitly instead.
    """
    match = _ASSUMED_ROLE.fullmatch(caller_arn) if isinstance(caller_arn, str) else None
    if match is not None:
        return f"arn:{match['partition']}:iam::{match['account']}:role/{match['role']}"
    try:
        principal_parts(caller_arn)
    except ValidationError:
        raise ValidationError(
            f"the caller identity {caller_arn!r} cannot be named in a trust policy: "
            "pass the principal ARN explicitly (CLI: --principal arn:aws:iam::<account>:role/<name>)",
            field="principal_arn",
        ) from None
    return caller_arn


def caller_principal(sts_client: Any, iam_client: Any = None) -> str:
    """The principal ARN of whoever runs this (STS GetCallerIdentity), ready for :func:`trust_policy`.

    For an assumed-role session the role's full ARN, path included, is read with
    ``iam_client`` (GetRole) when one is given and the caller may; otherwise the
    path-less role ARN of :func:`principal_from_caller` is returned (right for the
    usual role without a path).
    """
    identity = _call(sts_client, "STS", "get_caller_identity")
    caller_arn = str(identity["Arn"])
    principal = principal_from_caller(caller_arn)
    match = _ASSUMED_ROLE.fullmatch(caller_arn)
    if match is not None and iam_client is not None:
        with contextlib.suppress(VectorMemoryError):  # no iam:GetRole: right unless the role has a path
            principal = str(_call(iam_client, "IAM", "get_role", RoleName=match["role"])["Role"]["Arn"])
    return principal


def map_iam_error(exc: Any, service: str, operation: str) -> VectorMemoryError:
    """The project exception for an IAM or STS ``ClientError``; callers ``raise ... from exc``.

    An unknown code maps by HTTP status, so nothing escapes as a raw ``ClientError``.
    """
    error = exc.response.get("Error", {})
    code = str(error.get("Code", ""))
    message = str(error.get("Message") or exc)
    status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
    cls = IAM_ERROR_CLASSES.get(code)
    if cls is None:
        cls = class_for_status(status)
        text = f"{service} {operation} failed with {code or 'an unknown error'} (HTTP {status}): {message[:300]}"
    else:
        text = f"{service} {operation}: {message}{_HINTS.get(code, '')}"
    return cls(text)


def _call(client: Any, service: str, method: str, *, tolerate: frozenset[str] = frozenset(), **params: Any) -> Any:
    """``client.<method>(**params)`` with errors mapped; ``None`` for a ``tolerate``-d error code."""
    from botocore.exceptions import BotoCoreError, ClientError

    operation = "".join(part.capitalize() for part in method.split("_"))
    try:
        return getattr(client, method)(**params)
    except ClientError as exc:
        if _code(exc) in tolerate:
            return None
        raise map_iam_error(exc, service, operation) from exc
    except BotoCoreError as exc:
        mapped = map_botocore_error(exc, f"{service} {operation}")
        if mapped is None:
            raise
        raise mapped from exc


def _code(exc: object) -> str:
    """The error code of a botocore ``ClientError`` (empty for anything else)."""
    response = getattr(exc, "response", None)
    return str(response.get("Error", {}).get("Code", "")) if isinstance(response, dict) else ""


def _check_name(name: object, pattern: re.Pattern[str], field: str, length: str) -> None:
    if not isinstance(name, str) or not pattern.fullmatch(name):
        raise ValidationError(
            f"invalid {field.replace('_', ' ')} {name!r}: must be {length} letters, digits or +=,.@_-",
            field=field,
            limit=f"{length} characters of [A-Za-z0-9+=,.@_-]",
        )
