"""Core types, limits and the filter language; knows nothing of any backend."""

from ._exceptions import (
    AccessDeniedError,
    BackendUnavailableError,
    ConflictError,
    FilterError,
    GuardrailError,
    IsolationError,
    NotFoundError,
    QuotaExceededError,
    RetryableError,
    ThrottledError,
    ValidationError,
    VectorMemoryError,
)
from ._filter import And, Compare, FilterNode, Or, conjoin, filter_keys, matches, parse_filter
from ._limits import DistanceMetric, MetadataValue
from ._types import Field, Memory, MemoryRecord, MemoryType, Scope, WriteOutcome, epoch_to_iso, number

__all__ = [
    "AccessDeniedError",
    "And",
    "BackendUnavailableError",
    "Compare",
    "ConflictError",
    "DistanceMetric",
    "Field",
    "FilterError",
    "FilterNode",
    "GuardrailError",
    "IsolationError",
    "Memory",
    "MemoryRecord",
    "MemoryType",
    "MetadataValue",
    "NotFoundError",
    "Or",
    "QuotaExceededError",
    "RetryableError",
    "Scope",
    "WriteOutcome",
    "ThrottledError",
    "ValidationError",
    "VectorMemoryError",
    "conjoin",
    "epoch_to_iso",
    "number",
    "filter_keys",
    "matches",
    "parse_filter",
]
