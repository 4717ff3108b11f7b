"""What the Token Vending Machine asks STS, and what STS's answers and errors mean.

Why a module of its own: these are STS's rules, not the cache's. AssumeRole's
parameter grammars (role ARN, session name, ExternalId, duration bounds), the request
sent for one tenant, turning the answer into :class:`TenantCredentials`, and mapping
every STS error code to the project's exception tree, with a hint at what to fix. None
of it holds state, so it reads and tests on its own; :mod:`._tvm` decides *when* to call
STS, this module *how*.

boto3 is the optional ``aws`` extra: it is imported only when a session is built or a
call is made.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Final

from .._aws import RetryPolicy, class_for_status, map_botocore_error, with_user_agent
from ..core import AccessDeniedError, BackendUnavailableError, ThrottledError, ValidationError, VectorMemoryError
from ._naming import TAG_KEY

__all__ = [
    "DEFAULT_STS_RETRY",
    "EXTERNAL_ID_PATTERN",
    "MAX_DURATION_SECONDS",
    "MIN_DURATION_SECONDS",
    "ROLE_ARN_PATTERN",
    "SESSION_PREFIX_PATTERN",
    "STS_ERROR_CLASSES",
    "TenantCredentials",
    "application_session",
    "assume_role_once",
    "assume_role_params",
    "build_sts_client",
    "credentials_from_response",
    "map_sts_error",
    "require_boto3",
    "role_session_name",
]

#: STS's bounds for DurationSeconds (the role's MaxSessionDuration may be lower).
MIN_DURATION_SECONDS: Final = 900
MAX_DURATION_SECONDS: Final = 43200

#: STS throttling is retried briefly inside one fetch; longer trouble becomes the failure backoff.
DEFAULT_STS_RETRY: Final = RetryPolicy(max_attempts=3, base_delay=0.5, max_delay=4.0, deadline=15.0)

#: What STS accepts for the role, the RoleSessionName prefix and the ExternalId.
ROLE_ARN_PATTERN: Final = re.compile(r"arn:aws(?:-[a-z]+)*:iam::[0-9]{12}:role/(?:[!-~]+/)?[\w+=,.@-]{1,64}", re.ASCII)
SESSION_PREFIX_PATTERN: Final = re.compile(r"[\w+=,.@-]{1,32}", re.ASCII)
EXTERNAL_ID_PATTERN: Final = re.compile(r"[\w+=,.@:/-]{2,1224}", re.ASCII)

_SESSION_NAME_MAX: Final = 64
_SESSION_HASH_HEX: Final = 16
_NOT_SESSION_CHARS: Final = re.compile(r"[^\w+=,.@-]", re.ASCII)

#: Every error code STS answers AssumeRole with (those its model declares, and the
#: generic ones every Query API may send), and what it becomes.
STS_ERROR_CLASSES: Final[dict[str, type[VectorMemoryError]]] = {
    "AccessDenied": AccessDeniedError,
    "AccessDeniedException": AccessDeniedError,
    "InvalidClientTokenId": AccessDeniedError,
    "SignatureDoesNotMatch": AccessDeniedError,
    "ExpiredToken": AccessDeniedError,
    "ExpiredTokenException": AccessDeniedError,
    "RegionDisabledException": AccessDeniedError,
    "MalformedPolicyDocument": ValidationError,
    "PackedPolicyTooLarge": ValidationError,
    "ValidationError": ValidationError,
    "InvalidParameterValue": ValidationError,
    "Throttling": ThrottledError,  # STS answers 400, not 429, so the status alone would mislead
    "ThrottlingException": ThrottledError,
    "RequestLimitExceeded": ThrottledError,
    "ServiceUnavailable": BackendUnavailableError,
    "InternalFailure": BackendUnavailableError,
}

_STS_HINTS: Final = {
    "AccessDenied": " (check the role's trust policy: it must allow this application's principal "
    "sts:AssumeRole and sts:TagSession with a TenantID session tag, and name the ExternalId if it requires one)",
    "InvalidClientTokenId": " (the application's own AWS credentials are not valid)",
    "SignatureDoesNotMatch": " (the application's own AWS secret key is wrong)",
    "ExpiredToken": " (the application's own AWS credentials have expired: refresh them)",
    "ExpiredTokenException": " (the application's own AWS credentials have expired: refresh them)",
    "RegionDisabledException": " (activate STS for this region in the IAM console's account settings)",
    "PackedPolicyTooLarge": " (the session tags are too large for STS)",
    "Throttling": " (STS rate limit; the cache makes one call per tenant per credential lifetime)",
}


@dataclass(frozen=True)
class TenantCredentials:
    """Temporary credentials acting as one tenant; the repr never shows the secret or token.

    Attributes:
        tenant_key: The tenant's key (its ``TenantID`` session tag value).
        access_key_id: The session's access key id (``ASIA...``).
        secret_access_key: The session's secret key.
        session_token: The session token every request must carry.
        expiration: When the credentials expire, epoch seconds.
    """

    tenant_key: str
    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str = field(repr=False)
    expiration: float

    def expires_in(self, now: float) -> float:
        """Seconds from ``now`` (epoch seconds) until expiry; negative once expired."""
        return self.expiration - now


def role_session_name(prefix: str, key: str) -> str:
    r"""The RoleSessionName for tenant ``key``: ``<prefix>-<key>``, valid for STS and distinct per key.

    STS allows 2-64 characters of ``[\w+=,.@-]``. A longer name keeps its first
    characters (readable in CloudTrail) and ends in a hash of the whole name, so two
    tenants never share a session name.
    """
    name = _NOT_SESSION_CHARS.sub("-", f"{prefix}-{key}")
    if len(name) <= _SESSION_NAME_MAX:
        return name
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:_SESSION_HASH_HEX]
    return f"{name[: _SESSION_NAME_MAX - _SESSION_HASH_HEX - 1]}-{digest}"


def map_sts_error(exc: Any, role_arn: str, key: str) -> VectorMemoryError:
    """The project exception for an STS ``ClientError`` on AssumeRole; callers ``raise ... from exc``.

    The message names the role and the tenant, and says what to fix. An unknown code
    still maps by HTTP status, so nothing escapes as a raw ``ClientError``.
    """
    error = exc.response.get("Error", {})
    code = str(error.get("Code", ""))
    message = str(error.get("Message") or exc)
    status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
    cls = STS_ERROR_CLASSES.get(code) or class_for_status(status)
    hint = _STS_HINTS.get(code, "")
    text = f"STS AssumeRole of {role_arn} for tenant {key!r} failed with {code or 'an unknown error'} (HTTP {status})"
    if cls is ValidationError:
        duration = "DurationSeconds" in message
        if duration:
            hint = " (duration_seconds may not exceed the role's MaxSessionDuration, nor 3600 s when chaining roles)"
        return ValidationError(f"{text}: {message}{hint}", field="duration_seconds" if duration else None)
    return cls(f"{text}: {message}{hint}")


def assume_role_params(
    role_arn: str, session_name_prefix: str, key: str, duration_seconds: int, external_id: str | None
) -> dict[str, Any]:
    """The AssumeRole parameters for tenant ``key``: the role, a session tagged ``TenantID=<key>``."""
    params: dict[str, Any] = {
        "RoleArn": role_arn,
        "RoleSessionName": role_session_name(session_name_prefix, key),
        "DurationSeconds": duration_seconds,
        "Tags": [{"Key": TAG_KEY, "Value": key}],
    }
    if external_id is not None:
        params["ExternalId"] = external_id
    return params


def assume_role_once(sts: Any, params: dict[str, Any], key: str) -> dict[str, Any]:
    """One AssumeRole call (no retries); every botocore error becomes a project error, raised ``from`` it."""
    from botocore.exceptions import BotoCoreError, ClientError

    role_arn = params["RoleArn"]
    what = f"STS AssumeRole of {role_arn} for tenant {key!r}"
    try:
        response: dict[str, Any] = sts.assume_role(**params)
        return response
    except ClientError as exc:
        raise map_sts_error(exc, role_arn, key) from exc
    except BotoCoreError as exc:
        raise (map_botocore_error(exc, what) or VectorMemoryError(f"{what}: {exc}")) from exc


def credentials_from_response(response: dict[str, Any], key: str) -> TenantCredentials:
    """Tenant ``key``'s credentials from an AssumeRole response (expiry as a datetime or epoch seconds)."""
    raw = response["Credentials"]
    expiration = raw["Expiration"]
    if isinstance(expiration, datetime):
        if expiration.tzinfo is None:
            expiration = expiration.replace(tzinfo=timezone.utc)
        expires = expiration.timestamp()
    else:
        expires = float(expiration)
    return TenantCredentials(
        tenant_key=key,
        access_key_id=raw["AccessKeyId"],
        secret_access_key=raw["SecretAccessKey"],
        session_token=raw["SessionToken"],
        expiration=expires,
    )


def require_boto3() -> Any:
    """The ``boto3`` module, or an ``ImportError`` naming the extra to install."""
    try:
        import boto3
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        raise ImportError("the Token Vending Machine needs boto3: pip install 'strands-vector-memory[aws]'") from exc
    return boto3


def application_session() -> Any:
    """A new boto3 session with the application's own credentials, preferring regional STS."""
    boto3 = require_boto3()
    import botocore.session
    from botocore.exceptions import BotoCoreError

    core = botocore.session.Session()
    # botocore < 1.40 defaults to the global endpoint (us-east-1): prefer the regional
    # one unless the environment or the profile chose.
    if "AWS_STS_REGIONAL_ENDPOINTS" not in os.environ:
        try:
            chosen = "sts_regional_endpoints" in core.get_scoped_config()
        except BotoCoreError:  # a missing profile fails later, with botocore's own message
            chosen = True
        if not chosen:
            core.set_config_variable("sts_regional_endpoints", "regional")
    return boto3.session.Session(botocore_session=core)


def build_sts_client(session: Any, region: str, endpoint_url: str | None, config: Any) -> Any:
    """An STS client on ``session`` with bounded timeouts and retries, ``config`` merged over them."""
    from botocore.config import Config

    base = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=5, read_timeout=10)
    return session.client(
        "sts",
        region_name=region,
        endpoint_url=endpoint_url,
        config=with_user_agent(base if config is None else base.merge(config)),
    )
