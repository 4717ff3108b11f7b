"""S3 Vectors errors, mapped once onto the project's exception tree.

Why a table and not ``isinstance`` chains: the service model declares its errors by
code, and ``tests/backends/s3vectors/test_errors.py`` checks that every code any
operation declares has a row here, so a new botocore release that adds an error fails
a test instead of leaking a raw ``ClientError`` to users.
"""

from __future__ import annotations

import re
from typing import Any, Final

from ..._aws import class_for_status
from ...core import (
    AccessDeniedError,
    BackendUnavailableError,
    ConflictError,
    NotFoundError,
    QuotaExceededError,
    ThrottledError,
    ValidationError,
    VectorMemoryError,
)

__all__ = ["ERROR_CLASSES", "RETRYABLE_CODES", "map_client_error"]

#: Every error code the ``s3vectors`` service model declares, and what it becomes.
ERROR_CLASSES: Final[dict[str, type[VectorMemoryError]]] = {
    "ValidationException": ValidationError,
    "NotFoundException": NotFoundError,
    "ConflictException": ConflictError,
    "AccessDeniedException": AccessDeniedError,
    "ServiceQuotaExceededException": QuotaExceededError,
    "TooManyRequestsException": ThrottledError,
    "ServiceUnavailableException": BackendUnavailableError,
    "InternalServerException": BackendUnavailableError,
    "RequestTimeoutException": BackendUnavailableError,
    # The bucket's customer-managed KMS key cannot be used: only its owner can fix that.
    "KmsDisabledException": AccessDeniedError,
    "KmsInvalidKeyUsageException": AccessDeniedError,
    "KmsInvalidStateException": AccessDeniedError,
    "KmsNotFoundException": NotFoundError,
}

#: Codes worth another attempt: the request was not applied and may succeed later.
RETRYABLE_CODES: Final = frozenset(
    {"TooManyRequestsException", "ServiceUnavailableException", "InternalServerException", "RequestTimeoutException"}
)

_HINTS: Final = {
    "AccessDeniedException": " (check the credentials' IAM policy for this bucket and index)",
    "TooManyRequestsException": " (S3 Vectors allows about 1,000 writes or 2,500 vectors per second per index)",
    "KmsDisabledException": " (the bucket's KMS key is disabled)",
    "KmsInvalidStateException": " (the bucket's KMS key is pending deletion or import)",
    "KmsInvalidKeyUsageException": " (the bucket's KMS key cannot be used for encryption)",
}


def error_code(exc: Any) -> str:
    """The error code of a botocore ``ClientError``."""
    return str(exc.response.get("Error", {}).get("Code", ""))


def map_client_error(exc: Any, operation: str) -> VectorMemoryError:
    """The project exception for a botocore ``ClientError``; callers ``raise ... from exc``.

    An unknown code still maps by HTTP status (404 is ``NotFoundError``, 429
    ``ThrottledError``, any 5xx ``BackendUnavailableError``, ...), so nothing escapes
    as a raw ``ClientError``.
    """
    error = exc.response.get("Error", {})
    code = str(error.get("Code", ""))
    message = str(error.get("Message") or exc)
    status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
    text = f"S3 Vectors {operation}: {message}{_HINTS.get(code, '')}"
    cls = ERROR_CLASSES.get(code)
    if cls is None:
        cls = class_for_status(status)
        text = f"S3 Vectors {operation} failed with {code or 'an unknown error'} (HTTP {status}): {message[:300]}"
    if cls is ValidationError:
        fields = exc.response.get("fieldList") or []
        path = fields[0].get("path") if fields and isinstance(fields[0], dict) else None
        return ValidationError(text, field=_contract_field(path) if isinstance(path, str) else None)
    return cls(text)


def _contract_field(path: str) -> str:
    """A wire field path in the backend contract's names: ``nextToken`` -> ``next_token``."""
    snake = re.sub(r"(?<=[a-z0-9])([A-Z])", lambda m: "_" + m.group(1).lower(), path)
    return re.sub(r"^vectors(?=\[|$)", "records", snake)
