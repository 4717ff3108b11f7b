"""What every AWS face of the library shares: user agent, region lookup, generic error mapping.

The S3 Vectors backend and the Bedrock embedders each keep their own service's error
table; what does not depend on the service (our User-Agent suffix, reading
``$AWS_REGION``, mapping an unknown code by HTTP status, botocore's own non-HTTP
errors) lives here once. botocore is imported inside the functions that need it, so
importing this module never requires the ``aws`` extra.
"""

from __future__ import annotations

import os
from typing import Any, Final

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

__all__ = ["class_for_status", "map_botocore_error", "resolve_region", "user_agent", "with_user_agent"]

#: Environment variables that name the region, most specific first. botocore itself
#: reads only AWS_DEFAULT_REGION, but most AWS tooling (and Lambda) sets AWS_REGION.
REGION_ENV: Final = ("AWS_REGION", "AWS_DEFAULT_REGION")

#: For codes a service table does not know (a proxy's error page, a future error).
_BY_STATUS: Final[dict[int, type[VectorMemoryError]]] = {
    400: ValidationError,
    402: QuotaExceededError,
    403: AccessDeniedError,
    404: NotFoundError,
    409: ConflictError,
    429: ThrottledError,
}


def user_agent() -> str:
    """The suffix every request's User-Agent carries, so AWS-side logs show who called."""
    from .. import __version__  # here: the package root imports the modules that import this one

    return f"strands-vector-memory/{__version__}"


def with_user_agent(config: Any) -> Any:
    """``config`` (a botocore ``Config``) with our user agent appended to its own, once."""
    from botocore.config import Config

    agent = user_agent()
    theirs = getattr(config, "user_agent_extra", None) or ""
    if agent in theirs:
        return config
    return config.merge(Config(user_agent_extra=f"{theirs} {agent}".strip()))


def resolve_region(region_name: str | None) -> str | None:
    """``region_name``, else ``$AWS_REGION``, else ``$AWS_DEFAULT_REGION`` (else boto3's own lookup)."""
    if region_name:
        return region_name
    for name in REGION_ENV:
        value = os.environ.get(name)
        if value:
            return value
    return None


def class_for_status(status: int) -> type[VectorMemoryError]:
    """The project exception for an HTTP status whose error code no table knows."""
    if status >= 500 or status == 0:
        return BackendUnavailableError
    return _BY_STATUS.get(status, VectorMemoryError)


def map_botocore_error(exc: Exception, what: str) -> VectorMemoryError | None:
    """The project exception for a botocore error that is not a ``ClientError``, if known.

    ``what`` names the call in the message (``"S3 Vectors PutVectors"``). Connection
    failures and timeouts are retryable (``BackendUnavailableError``); missing
    credentials or region are configuration mistakes with a message saying what to set.
    """
    from botocore import exceptions as bx

    if isinstance(exc, bx.NoCredentialsError | bx.PartialCredentialsError):
        return AccessDeniedError(
            f"{what}: no AWS credentials found "
            "(set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or pass a boto3 session)"
        )
    if isinstance(exc, bx.NoRegionError):
        return ValidationError(
            f"{what}: no AWS region configured (set AWS_REGION or pass region_name=)", field="region"
        )
    if isinstance(exc, bx.ParamValidationError):
        return ValidationError(f"{what}: {exc}")
    if isinstance(exc, bx.EndpointConnectionError | bx.ConnectionError | bx.HTTPClientError):
        return BackendUnavailableError(f"{what}: cannot reach the endpoint: {exc}")
    return None
