"""Errors on the wire, shaped as S3 Vectors sends them.

Every error answer carries the HTTP status of its type, an ``x-amzn-ErrorType`` header
naming the code (botocore reads the code from it) and a JSON body with ``message``;
a ``ValidationException`` adds ``fieldList`` when the project's ``ValidationError``
names a field. The project exceptions map one to one onto the service's error types,
so a client sees the same codes from this endpoint as from AWS. Field names are
translated from the library's words (``top_k``, ``records[3].vector``) to the wire's
(``topK``, ``vectors[3].data``) so a ``fieldList`` path points into the request.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final

from ..core import (
    AccessDeniedError,
    BackendUnavailableError,
    ConflictError,
    NotFoundError,
    QuotaExceededError,
    RetryableError,
    ThrottledError,
    ValidationError,
    VectorMemoryError,
)

__all__ = [
    "ERROR_TYPES",
    "INTERNAL",
    "EndpointError",
    "ErrorReply",
    "error_reply",
    "not_implemented",
    "unknown_operation",
    "wire_field",
]

#: Project exception -> (S3 Vectors error code, HTTP status); looked up along the MRO.
ERROR_TYPES: Final[dict[type[VectorMemoryError], tuple[str, int]]] = {
    ValidationError: ("ValidationException", 400),
    NotFoundError: ("NotFoundException", 404),
    ConflictError: ("ConflictException", 409),
    QuotaExceededError: ("ServiceQuotaExceededException", 402),
    AccessDeniedError: ("AccessDeniedException", 403),
    ThrottledError: ("TooManyRequestsException", 429),
    BackendUnavailableError: ("ServiceUnavailableException", 503),
    RetryableError: ("ServiceUnavailableException", 503),
}

INTERNAL: Final = ("InternalServerException", 500)


class EndpointError(Exception):
    """An answer of the endpoint itself (unknown or unsupported operation) with its own code."""

    def __init__(self, code: str, status: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


def not_implemented(message: str) -> EndpointError:
    """A request AWS would serve but this local endpoint cannot (HTTP 501, never retried)."""
    return EndpointError("NotImplemented", 501, f"{message} (not supported by the local S3 Vectors endpoint)")


def unknown_operation(name: str) -> EndpointError:
    """A path that names no S3 Vectors operation."""
    return EndpointError("UnknownOperationException", 404, f"unknown operation {name!r}")


@dataclass(frozen=True, slots=True)
class ErrorReply:
    """What goes on the wire for one error."""

    status: int
    code: str
    body: dict[str, Any]


def error_reply(exc: BaseException) -> ErrorReply:
    """The wire form of ``exc``; anything unexpected is an ``InternalServerException``."""
    if isinstance(exc, EndpointError):
        return ErrorReply(exc.status, exc.code, {"message": str(exc)})
    code, status = INTERNAL
    for klass in type(exc).__mro__:
        if klass in ERROR_TYPES:
            code, status = ERROR_TYPES[klass]
            break
    if (code, status) == INTERNAL:
        return ErrorReply(status, code, {"message": "internal error; see the endpoint's log"})
    message = str(exc)
    if not isinstance(exc, ValidationError) or not exc.field:
        return ErrorReply(status, code, {"message": message})
    path = wire_field(exc.field)
    if message.startswith(exc.field) and exc.field not in _OPERATION_FIELDS:
        message = path + message[len(exc.field) :]  # "top_k must be ..." -> "topK must be ..."
    return ErrorReply(status, code, {"message": message, "fieldList": [{"path": path, "message": message}]})


_FIELD_NAMES: Final = {
    "top_k": "topK",
    "query vector": "queryVector",
    "text": "queryTexts",
    "max_results": "maxResults",
    "next_token": "nextToken",
    "segment_count": "segmentCount",
    "segment_index": "segmentIndex",
    "index_name": "indexName",
    "bucket_name": "vectorBucketName",
    "distance_metric": "distanceMetric",
    "non_filterable_keys": "metadataConfiguration.nonFilterableMetadataKeys",
    "records": "vectors",
    "put_vectors": "vectors",
    "get_vectors": "keys",
    "delete_vectors": "keys",
    "key": "keys",
}
#: Fields that name a library call (``put_vectors takes 1-500 items``): kept as they are in messages.
_OPERATION_FIELDS: Final = frozenset({"put_vectors", "get_vectors", "delete_vectors"})
_RECORD_FIELD = re.compile(r"records\[(\d+)\](.*)", re.DOTALL)


def wire_field(field: str) -> str:
    """The request member a library field name refers to (unknown names pass through)."""
    if field in _FIELD_NAMES:
        return _FIELD_NAMES[field]
    match = _RECORD_FIELD.fullmatch(field)
    if match:
        rest = ".data" if match.group(2) == ".vector" else match.group(2)
        return f"vectors[{match.group(1)}]{rest}"
    return field
