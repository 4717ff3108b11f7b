"""Converting between the backend contract's types and S3 Vectors request/response JSON.

Kept apart from the client code so the shapes (``{"key", "data": {"float32": [...]},
"metadata"}``) live in one place, and so requests can be split by payload size, not
only by count: 500 vectors of 4,096 dimensions are more than the 20 MiB a request may carry.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, Final

import numpy as np

from ...core import MemoryRecord
from .._checks import CheckedRecord
from .._contract import IndexInfo, QueryMatch, TextMatch

__all__ = [
    "MAX_REQUEST_BYTES",
    "active_text_keys",
    "index_info",
    "query_match",
    "record",
    "split_by_size",
    "text_match",
    "to_wire",
]

#: PutVectors payload limit (20 MiB), less headroom for the envelope.
MAX_REQUEST_BYTES: Final = 20 * 1024 * 1024 - 64 * 1024

#: Bytes one float32 takes as JSON at worst (``-1.2345678901234567e-05,``).
_FLOAT_JSON_BYTES: Final = 25


def to_wire(record: CheckedRecord) -> dict[str, Any]:
    """One ``PutVectors`` entry from a validated record."""
    entry: dict[str, Any] = {"key": record.key, "data": {"float32": record.vector.tolist()}}
    if record.metadata:
        entry["metadata"] = record.metadata
    return entry


def wire_size(record: CheckedRecord) -> int:
    """An upper bound on the JSON bytes ``record`` adds to a request."""
    text = len(record.key.encode("utf-8")) + len(record.metadata_json.encode("utf-8"))
    return text + 64 + int(record.vector.shape[0]) * _FLOAT_JSON_BYTES


def split_by_size(records: Sequence[CheckedRecord], limit: int = MAX_REQUEST_BYTES) -> Iterator[list[CheckedRecord]]:
    """Consecutive runs of ``records`` whose requests stay under ``limit`` bytes."""
    batch: list[CheckedRecord] = []
    size = 0
    for item in records:
        cost = wire_size(item)
        if batch and size + cost > limit:
            yield batch
            batch, size = [], 0
        batch.append(item)
        size += cost
    if batch:
        yield batch


def _vector(entry: Mapping[str, Any]) -> np.ndarray | None:
    data = entry.get("data")
    if not data or "float32" not in data:
        return None
    return np.asarray(data["float32"], dtype=np.float32)


def record(entry: Mapping[str, Any], *, with_vector: bool, with_metadata: bool) -> MemoryRecord:
    """A ``MemoryRecord`` from a ``GetVectors``/``ListVectors`` entry."""
    metadata = entry.get("metadata") if with_metadata else None
    if with_metadata and metadata is None:
        metadata = {}
    return MemoryRecord(
        key=entry["key"],
        vector=_vector(entry) if with_vector else None,
        metadata=dict(metadata) if metadata is not None else None,
    )


def query_match(entry: Mapping[str, Any], *, with_metadata: bool, with_distance: bool) -> QueryMatch:
    """A ``QueryMatch`` from a ``QueryVectors`` result entry."""
    metadata = entry.get("metadata") if with_metadata else None
    distance = entry.get("distance") if with_distance else None
    return QueryMatch(
        key=entry["key"],
        distance=float(distance) if distance is not None else None,
        metadata=dict(metadata) if metadata is not None else ({} if with_metadata else None),
    )


def text_match(entry: Mapping[str, Any], rank: int, *, with_metadata: bool) -> TextMatch:
    """A ``TextMatch`` from a full-text ``QueryVectors`` result, scored by its BM25 scores.

    Several searched fields (``content``, ``context``) each report a BM25 score; the
    best one is the record's score. Without scores the rank stands in, so the order the
    service chose is kept either way.
    """
    scores = entry.get("scores") or {}
    bm25 = [float(s["score"]) for s in scores.get("bm25Scores") or [] if "score" in s]
    if bm25:
        score = max(bm25)
    elif scores.get("fused") is not None:
        score = float(scores["fused"])
    else:
        score = 1.0 / (rank + 1)
    metadata = entry.get("metadata") if with_metadata else None
    return TextMatch(
        key=entry["key"],
        score=score,
        metadata=dict(metadata) if metadata is not None else ({} if with_metadata else None),
    )


def index_info(index: Mapping[str, Any]) -> IndexInfo:
    """An ``IndexInfo`` from ``GetIndex``'s ``index`` member."""
    config = index.get("metadataConfiguration") or {}
    created = index.get("creationTime")
    created_at = created.timestamp() if isinstance(created, datetime) else float(created or 0.0)
    return IndexInfo(
        name=index["indexName"],
        dimension=int(index["dimension"]),
        distance_metric=index["distanceMetric"],
        non_filterable_keys=frozenset(config.get("nonFilterableMetadataKeys") or ()),
        created_at=created_at,
    )


def active_text_keys(index: Mapping[str, Any]) -> frozenset[str]:
    """The metadata keys an ENHANCED index can full-text search right now."""
    if index.get("indexMode") != "ENHANCED":
        return frozenset()
    configs = (index.get("metadataConfiguration") or {}).get("textSearchConfigurations") or []
    return frozenset(c["metadataKey"] for c in configs if c.get("status", "ACTIVE") == "ACTIVE")
