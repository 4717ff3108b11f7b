"""The one exception tree of strands-vector-memory.

Every error the library raises on purpose is a ``VectorMemoryError``; backend errors
(SQLite, botocore ``ClientError``) are re-raised as the most specific subclass with
``raise ... from exc`` so callers never need to import a backend to catch them::

    VectorMemoryError
    ├── ValidationError          bad input; nothing was written (also a ValueError)
    │   ├── FilterError          a malformed metadata filter
    │   └── GuardrailError       a write guardrail refused the content
    ├── NotFoundError            bucket, index or record does not exist (also a LookupError)
    ├── ConflictError            already exists, or incompatible with what exists
    ├── QuotaExceededError       a service quota was reached (S3 Vectors 402)
    ├── AccessDeniedError        credentials may not touch this resource
    │   └── IsolationError       the call would cross a tenant boundary; refused locally
    └── RetryableError           try again later; the write was not acknowledged
        ├── ThrottledError       too many requests (S3 Vectors 429)
        └── BackendUnavailableError  the store cannot be reached or is busy (5xx, locked)

``ValidationError`` carries ``field`` and ``limit`` so a caller (or a CLI) can point at
the offending input without parsing the message; ``GuardrailError`` adds ``guardrail``,
the name of the step that refused.
"""

from __future__ import annotations

__all__ = [
    "AccessDeniedError",
    "BackendUnavailableError",
    "ConflictError",
    "FilterError",
    "GuardrailError",
    "IsolationError",
    "NotFoundError",
    "QuotaExceededError",
    "RetryableError",
    "ThrottledError",
    "ValidationError",
    "VectorMemoryError",
]


class VectorMemoryError(Exception):
    """Root of every error strands-vector-memory raises on purpose."""


class ValidationError(VectorMemoryError, ValueError):
    """Input breaks a rule of the data model; nothing of the request was stored.

    Attributes:
        field: The name of the offending input (``"key"``, ``"metadata.user_id"``, ...).
        limit: The rule that was broken, in words (``"1-1024 characters"``), if any.
    """

    def __init__(self, message: str, *, field: str | None = None, limit: str | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.limit = limit


class FilterError(ValidationError):
    """A metadata filter is not valid in the S3 Vectors filter language."""


class GuardrailError(ValidationError):
    """A write guardrail refused the content (too big, instruction-like, ...); nothing was stored.

    A subclass of ``ValidationError`` because the remedy is the same: change the input.
    ``field`` is ``"content"`` unless the guardrail says otherwise.

    Attributes:
        guardrail: The name of the pipeline step that refused (``"max_size"``, ``"instructions"``, ...);
            a step may leave it empty and the pipeline fills in the step's name.
    """

    def __init__(
        self, message: str, *, guardrail: str = "", field: str | None = "content", limit: str | None = None
    ) -> None:
        super().__init__(message, field=field, limit=limit)
        self.guardrail = guardrail


class NotFoundError(VectorMemoryError, LookupError):
    """The bucket, index or record named does not exist."""


class ConflictError(VectorMemoryError):
    """The resource already exists or is incompatible with the request."""


class QuotaExceededError(VectorMemoryError):
    """A service quota (e.g. indexes per bucket) has been reached."""


class AccessDeniedError(VectorMemoryError, PermissionError):
    """The credentials in use may not perform this operation on this resource."""


class IsolationError(AccessDeniedError):
    """A multi-tenant call names no tenant, or would touch another tenant's data.

    Raised before anything is sent: in multi-tenant mode there is no fallback to a
    shared index or to the application's own credentials, because a silent fallback is
    exactly how one tenant ends up reading another's memories.
    """


class RetryableError(VectorMemoryError):
    """A transient failure: the request was not acknowledged and may be retried."""


class ThrottledError(RetryableError):
    """The backend asked us to slow down (S3 Vectors 429 TooManyRequestsException)."""


class BackendUnavailableError(RetryableError):
    """The backend is unreachable, failing (5xx) or locked for longer than allowed."""
