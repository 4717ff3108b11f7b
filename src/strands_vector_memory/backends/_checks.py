"""Request validation every backend runs before touching storage.

One implementation of the S3 Vectors rules, so the embedded engine, the S3 Vectors
backend and the local endpoint reject the same inputs with the same errors; a request
that fails here has written nothing.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..core import FilterNode, MemoryRecord, ValidationError, parse_filter
from ..core._limits import (
    MAX_DELETE_BATCH,
    MAX_GET_BATCH,
    MAX_LIST_PAGE,
    MAX_LIST_SEGMENTS,
    MAX_PUT_BATCH,
    DistanceMetric,
    MetadataValue,
    check_utf8,
    encode_metadata,
    validate_batch_size,
    validate_dimension,
    validate_distance_metric,
    validate_index_name,
    validate_key,
    validate_non_filterable_keys,
    validate_top_k,
    validate_vector,
)
from ._contract import IndexInfo

__all__ = [
    "CheckedRecord",
    "check_create_index",
    "check_delete_keys",
    "check_get_keys",
    "check_list",
    "check_put",
    "check_query",
    "check_text_query",
    "decode_token",
    "encode_token",
]


@dataclass(frozen=True, slots=True, eq=False)
class CheckedRecord:
    """A record that passed validation: float32 vector, clean metadata and its JSON."""

    key: str
    vector: NDArray[np.float32]
    metadata: dict[str, MetadataValue]
    metadata_json: str


def check_create_index(
    name: str, dimension: int, distance_metric: str, non_filterable_keys: Sequence[str]
) -> tuple[str, int, DistanceMetric, frozenset[str]]:
    """Validate ``CreateIndex`` arguments."""
    if non_filterable_keys is None:
        non_filterable_keys = ()
    if isinstance(non_filterable_keys, str) or not isinstance(non_filterable_keys, Sequence | set | frozenset):
        raise ValidationError("non_filterable_keys must be a list of key names", field="non_filterable_keys")
    return (
        validate_index_name(name),
        validate_dimension(dimension),
        validate_distance_metric(distance_metric),
        validate_non_filterable_keys(non_filterable_keys),
    )


def check_put(info: IndexInfo, records: Sequence[MemoryRecord]) -> list[CheckedRecord]:
    """Validate a ``PutVectors`` batch as a whole; any bad record fails the batch."""
    if not isinstance(records, Sequence):
        raise ValidationError(f"put_vectors takes a list of records, got {type(records).__name__}", field="records")
    validate_batch_size(len(records), MAX_PUT_BATCH, "put_vectors")
    seen: set[str] = set()
    documents = []
    for i, record in enumerate(records):
        if not isinstance(record, MemoryRecord):
            raise ValidationError(
                f"records[{i}] must be a MemoryRecord, got {type(record).__name__}", field=f"records[{i}]"
            )
        key = validate_key(record.key)
        if key in seen:
            raise ValidationError(f"key {key!r} appears twice in one put_vectors batch", field=f"records[{i}].key")
        seen.add(key)
        documents.append(encode_metadata(record.metadata, info.non_filterable_keys, field=f"records[{i}].metadata"))
    vectors = _check_vectors(info, records)
    return [CheckedRecord(record.key, vectors[i], documents[i][0], documents[i][1]) for i, record in enumerate(records)]


def _check_vectors(info: IndexInfo, records: Sequence[MemoryRecord]) -> NDArray[np.float32]:
    """All vectors of a batch as one float32 matrix, checked in one vectorised pass."""
    try:
        if any(record.vector is None for record in records):
            raise ValueError("missing vector")
        vectors = [record.vector for record in records]
        arrays = [
            v for v in vectors if isinstance(v, np.ndarray) and v.dtype == np.float32 and v.shape == (info.dimension,)
        ]
        if len(arrays) == len(vectors):
            as32 = np.stack(arrays)  # what embedders return: no float64 round trip
        else:
            matrix = np.asarray(vectors, dtype=np.float64)
            if matrix.ndim != 2 or matrix.shape[1] != info.dimension:
                raise ValueError("ragged or wrong dimension")
            with np.errstate(over="ignore"):  # beyond float32 becomes inf, rejected below
                as32 = matrix.astype(np.float32)
        bad = ~np.isfinite(as32).all(axis=1)
        if info.distance_metric == "cosine":
            bad |= ~as32.any(axis=1)
        if bad.any():
            raise ValueError("non-finite or zero")
        return as32
    except (TypeError, ValueError, OverflowError):
        # Slow path: find the first offending record for a precise message.
        for i, record in enumerate(records):
            if record.vector is None:
                raise ValidationError(f"records[{i}] has no vector", field=f"records[{i}].vector") from None
            validate_vector(record.vector, info.dimension, info.distance_metric, field=f"records[{i}].vector")
        raise


def _check_keys(keys: Sequence[str], limit: int, what: str) -> list[str]:
    if isinstance(keys, str) or not isinstance(keys, Sequence):
        raise ValidationError(f"{what} takes a list of keys, got {type(keys).__name__}", field="keys")
    validate_batch_size(len(keys), limit, what)
    return [validate_key(k) for k in keys]


def check_get_keys(keys: Sequence[str]) -> list[str]:
    """Validate a ``GetVectors`` key list (1-100 keys)."""
    return _check_keys(keys, MAX_GET_BATCH, "get_vectors")


def check_delete_keys(keys: Sequence[str]) -> list[str]:
    """Validate a ``DeleteVectors`` key list (1-500 keys)."""
    return _check_keys(keys, MAX_DELETE_BATCH, "delete_vectors")


def check_query(
    info: IndexInfo, vector: ArrayLike, top_k: int, filter: Mapping[str, Any] | None
) -> tuple[NDArray[np.float32], int, FilterNode | None]:
    """Validate a ``QueryVectors`` request and parse its filter."""
    return (
        validate_vector(vector, info.dimension, info.distance_metric, field="query vector"),
        validate_top_k(top_k),
        parse_filter(filter, non_filterable=info.non_filterable_keys),
    )


#: Longest full-text query accepted (the longest content a memory may have).
MAX_QUERY_TEXT_BYTES = 32 * 1024


def check_text_query(
    info: IndexInfo, text: str, top_k: int, filter: Mapping[str, Any] | None
) -> tuple[str, int, FilterNode | None]:
    """Validate a full-text search request and parse its filter."""
    if not isinstance(text, str):
        raise ValidationError(f"query text must be a string, got {type(text).__name__}", field="text")
    check_utf8(text, "query text", field="text")
    size = len(text.encode("utf-8"))
    if not text.strip() or size > MAX_QUERY_TEXT_BYTES:
        raise ValidationError(
            f"query text must be 1..{MAX_QUERY_TEXT_BYTES} bytes of non-blank text, got {size} bytes",
            field="text",
            limit=f"1..{MAX_QUERY_TEXT_BYTES} bytes",
        )
    return text, validate_top_k(top_k), parse_filter(filter, non_filterable=info.non_filterable_keys)


def check_list(max_results: int, segment_count: int | None, segment_index: int | None) -> tuple[int, int, int]:
    """Validate ``ListVectors`` paging; returns (page size, segment count, segment index)."""
    if isinstance(max_results, bool) or not isinstance(max_results, int) or not 1 <= max_results <= MAX_LIST_PAGE:
        raise ValidationError(
            f"max_results must be in 1..{MAX_LIST_PAGE}, got {max_results!r}",
            field="max_results",
            limit=f"1..{MAX_LIST_PAGE}",
        )
    if segment_count is None and segment_index is None:
        return max_results, 1, 0
    if segment_count is None or segment_index is None:
        raise ValidationError("segment_count and segment_index must be given together", field="segment_count")
    if not 1 <= segment_count <= MAX_LIST_SEGMENTS:
        raise ValidationError(
            f"segment_count must be in 1..{MAX_LIST_SEGMENTS}, got {segment_count}",
            field="segment_count",
            limit=f"1..{MAX_LIST_SEGMENTS}",
        )
    if not 0 <= segment_index < segment_count:
        raise ValidationError(
            f"segment_index must be in 0..{segment_count - 1}, got {segment_index}", field="segment_index"
        )
    return max_results, segment_count, segment_index


def encode_token(payload: Mapping[str, Any]) -> str:
    """An opaque paging token."""
    return base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode()


def decode_token(token: str, expected: Mapping[str, Any]) -> dict[str, Any]:
    """Decode a paging token and check it belongs to this listing."""
    if not isinstance(token, str):
        raise ValidationError(f"next_token must be a string, got {type(token).__name__}", field="next_token")
    try:
        payload = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise ValidationError("next_token is not a token this backend issued", field="next_token") from exc
    if not isinstance(payload, dict) or any(payload.get(k) != v for k, v in expected.items()):
        raise ValidationError(
            "next_token belongs to a different listing (index or segments differ)", field="next_token"
        )
    return payload
