"""``QueryVectors``: vector search, full-text search and hybrid search, as S3 Vectors ranks them.

* ``queryVector`` only: the engine's exact nearest neighbours after the filter.
* ``queryTexts`` only (ENHANCED indexes): BM25 over the engine's full-text index;
  results are ranked by their BM25 score, summed over the queries.
* both: reciprocal rank fusion (k = 60) of the vector ranking and each text ranking,
  over the top 100 of each, as the service describes its hybrid ranking.

The embedded engine keeps one full-text index over the ``content`` and ``context``
metadata together, so ``queryTexts`` may name only those keys, and a text query
names them both in effect: a word found in ``context`` also counts for ``content``.
Queries that share one text are answered by one search; its BM25 score is reported
under each key that named it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from ..backends import EmbeddedBackend, IndexInfo, TextMatch
from ..core import ValidationError
from ..core._limits import MAX_TOP_K, validate_top_k
from ._buckets import INDEX_MODES, BucketRegistry, IndexExtras
from ._errors import not_implemented
from ._wire import Body, index_of, vector_data

__all__ = ["RRF_K", "SEARCHABLE_KEYS", "query_vectors"]

#: The constant of reciprocal rank fusion: a result at rank r adds 1 / (RRF_K + r).
RRF_K: Final = 60
#: The metadata keys the embedded engine's full-text index covers.
SEARCHABLE_KEYS: Final = frozenset({"content", "context"})
MAX_QUERY_TEXTS: Final = 10
MAX_QUERY_TEXT_CHARS: Final = 1024


def query_vectors(registry: BucketRegistry, body: Body) -> dict[str, Any]:
    """``QueryVectors``: one page holding every result (no ``nextToken`` is issued)."""
    bucket, index = index_of(body)
    top_k = validate_top_k(body.need_integer("topK"))
    query = body.data.get("queryVector")
    vector = None if query is None else vector_data(query, "queryVector")
    texts = _query_texts(body)
    mode = body.enum("queryMode", INDEX_MODES)
    if body.text("nextToken") is not None:
        raise ValidationError("nextToken: this endpoint answers in one page and issues no tokens", field="nextToken")
    flags = {name: body.flag(name) for name in ("returnMetadata", "returnDistance", "returnScores")}
    where = body.data.get("filter")
    backend = registry.backend(bucket)
    info = backend.get_index(index)
    extras = registry.index_extras(bucket, index)
    if mode == "CLASSIC" and extras.mode == "ENHANCED":
        raise ValidationError(f"queryMode CLASSIC cannot be used on the ENHANCED index {index!r}", field="queryMode")
    if not texts:
        if vector is None:
            raise ValidationError("give queryVector, queryTexts or both", field="queryVector")
        matches = backend.query_vectors(
            index,
            vector,
            top_k=top_k,
            filter=where,
            return_metadata=flags["returnMetadata"],
            return_distance=flags["returnDistance"],
        )
        vectors = [_entry(m.key, m.metadata, m.distance, None) for m in matches]
        return {"vectors": vectors, "distanceMetric": info.distance_metric}
    _check_searchable(extras, texts, index)
    groups: dict[str, list[str]] = {}
    for text, key in texts:
        groups.setdefault(text, []).append(key)
    depth = top_k if vector is None and len(groups) == 1 else MAX_TOP_K
    rankings = [
        (keys, backend.search_text(index, text, top_k=depth, filter=where, return_metadata=flags["returnMetadata"]))
        for text, keys in groups.items()
    ]
    if vector is None:
        vectors = _text_only(rankings, top_k, flags)
    else:
        vectors = _hybrid(backend, info, vector, rankings, top_k, where, flags)
    return {"vectors": vectors, "distanceMetric": info.distance_metric}


def _query_texts(body: Body) -> list[tuple[str, str]]:
    """(text, metadataKey) pairs of ``queryTexts``, each key at most once."""
    items = body.items("queryTexts")
    if items is None:
        return []
    if not 1 <= len(items) <= MAX_QUERY_TEXTS:
        raise ValidationError(f"queryTexts takes 1-{MAX_QUERY_TEXTS} entries, got {len(items)}", field="queryTexts")
    pairs: list[tuple[str, str]] = []
    for i, item in enumerate(items):
        entry = Body(item, f"queryTexts[{i}]")
        text, key = entry.need_text("text"), entry.need_text("metadataKey")
        if not 1 <= len(text) <= MAX_QUERY_TEXT_CHARS:
            raise ValidationError(
                f"{entry.field('text')} must be 1-{MAX_QUERY_TEXT_CHARS} characters, got {len(text)}",
                field=entry.field("text"),
                limit=f"1-{MAX_QUERY_TEXT_CHARS} characters",
            )
        if any(key == seen for _, seen in pairs):
            raise ValidationError(f"queryTexts names metadataKey {key!r} twice", field=entry.field("metadataKey"))
        pairs.append((text, key))
    return pairs


def _check_searchable(extras: IndexExtras, texts: Sequence[tuple[str, str]], index: str) -> None:
    if extras.mode != "ENHANCED":
        raise ValidationError(
            f"full-text and hybrid search need an ENHANCED index; {index!r} is {extras.mode}", field="queryTexts"
        )
    configured = {config.get("metadataKey") for config in extras.text_search}
    for i, (_, key) in enumerate(texts):
        if key not in configured:
            raise ValidationError(
                f"metadata key {key!r} has no text search configuration on index {index!r}",
                field=f"queryTexts[{i}].metadataKey",
            )
        if key not in SEARCHABLE_KEYS:
            raise not_implemented(f"full-text search on metadata key {key!r}: only 'content' and 'context' are indexed")


def _entry(
    key: str, metadata: Mapping[str, Any] | None, distance: float | None, scores: dict[str, Any] | None
) -> dict[str, Any]:
    entry: dict[str, Any] = {"key": key}
    if distance is not None:
        entry["distance"] = distance
    if metadata is not None:
        entry["metadata"] = dict(metadata)
    if scores is not None:
        entry["scores"] = scores
    return entry


Rankings = Sequence[tuple[Sequence[str], Sequence[TextMatch]]]


def _collect(rankings: Rankings) -> tuple[dict[str, list[dict[str, Any]]], dict[str, Mapping[str, Any] | None]]:
    """Each hit's BM25 scores by metadata key, and its metadata."""
    bm25: dict[str, list[dict[str, Any]]] = {}
    metadata: dict[str, Mapping[str, Any] | None] = {}
    for keys, hits in rankings:
        for hit in hits:
            bm25.setdefault(hit.key, []).extend({"metadataKey": key, "score": hit.score} for key in keys)
            metadata.setdefault(hit.key, hit.metadata)
    return bm25, metadata


def _text_only(rankings: Rankings, top_k: int, flags: Mapping[str, bool]) -> list[dict[str, Any]]:
    """Rank by BM25, summed over distinct query texts."""
    bm25, metadata = _collect(rankings)
    total: dict[str, float] = {}
    for _, hits in rankings:
        for hit in hits:
            total[hit.key] = total.get(hit.key, 0.0) + hit.score
    order = sorted(total, key=lambda k: -total[k])[:top_k]
    return [
        _entry(key, metadata[key], None, {"bm25Scores": bm25[key]} if flags["returnScores"] else None) for key in order
    ]


def _hybrid(
    backend: EmbeddedBackend,
    info: IndexInfo,
    vector: NDArray[np.float32],
    rankings: Rankings,
    top_k: int,
    where: Any,
    flags: Mapping[str, bool],
) -> list[dict[str, Any]]:
    """Reciprocal rank fusion of the vector ranking and every text ranking."""
    neighbours = backend.query_vectors(
        info.name, vector, top_k=MAX_TOP_K, filter=where, return_metadata=flags["returnMetadata"]
    )
    fused: dict[str, float] = {}
    distance: dict[str, float] = {}
    metadata: dict[str, Mapping[str, Any] | None] = {}
    for rank, match in enumerate(neighbours, start=1):
        fused[match.key] = 1.0 / (RRF_K + rank)
        distance[match.key] = float(match.distance or 0.0)
        metadata[match.key] = match.metadata
    for _, hits in rankings:
        for rank, hit in enumerate(hits, start=1):
            fused[hit.key] = fused.get(hit.key, 0.0) + 1.0 / (RRF_K + rank)
    bm25, text_metadata = _collect(rankings)
    order = sorted(fused, key=lambda k: -fused[k])[:top_k]
    missing = [key for key in order if key not in distance]
    if missing and (flags["returnDistance"] or flags["returnScores"]):
        distance.update(_distances(backend, info, vector, missing))
    entries = []
    for key in order:
        scores = None
        if flags["returnScores"]:
            scores = {"fused": fused[key], "bm25Scores": bm25.get(key, [])}
            if key in distance:
                scores["vectorDistance"] = distance[key]
        shown = distance.get(key) if flags["returnDistance"] else None
        entries.append(_entry(key, metadata.get(key, text_metadata.get(key)), shown, scores))
    return entries


def _distances(
    backend: EmbeddedBackend, info: IndexInfo, vector: NDArray[np.float32], keys: Sequence[str]
) -> dict[str, float]:
    """Distances of records the vector ranking did not reach (found by text only)."""
    query = vector.astype(np.float64)
    result = {}
    for record in backend.get_vectors(info.name, keys, return_vector=True, return_metadata=False):
        if record.vector is None:
            continue
        other = record.vector.astype(np.float64)
        if info.distance_metric == "cosine":
            value = 1.0 - float(query @ other) / float(np.linalg.norm(query) * np.linalg.norm(other))
        else:
            value = float(np.linalg.norm(query - other))
        result[record.key] = value
    return result
