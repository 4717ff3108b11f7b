"""The Amazon S3 Vectors backend: the contract over boto3's ``s3vectors`` client.

Every request is validated locally first (``backends/_checks.py``, the rules the
embedded engine enforces), so bad input fails fast with the same error everywhere and
never costs a round trip. Calls go through one wrapper that maps botocore errors onto
the project's exception tree and retries throttling and 5xx (see ``_retry.py``), so no
write is reported done unless S3 Vectors acknowledged it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from numpy.typing import ArrayLike

from ..._aws import RetryPolicy, call_with_retries, map_botocore_error
from ...core import BackendUnavailableError, ConflictError, DistanceMetric, MemoryRecord, NotFoundError, ValidationError
from ...core._limits import validate_bucket_name, validate_index_name
from .._checks import (
    check_create_index,
    check_delete_keys,
    check_get_keys,
    check_list,
    check_put,
    check_query,
    check_text_query,
)
from .._contract import IndexInfo, QueryMatch, TextMatch, VectorPage
from ._client import make_client, supports_text_search
from ._errors import map_client_error
from ._wire import active_text_keys, index_info, query_match, record, split_by_size, text_match, to_wire

__all__ = ["S3VectorsBackend"]

_log = logging.getLogger("strands_vector_memory.backends.s3vectors")

T = TypeVar("T")

#: Longest ``queryTexts`` entry S3 Vectors accepts (characters).
MAX_QUERY_TEXT_CHARS = 1024

#: Fields the memory service stores its text in; searched when the index allows it.
DEFAULT_TEXT_KEYS = ("content", "context")

#: How long an index that was not (yet) text-searchable is trusted before asking again.
_TEXT_STATUS_TTL = 60.0


@dataclass(frozen=True, slots=True)
class _Described:
    info: IndexInfo
    text_keys: frozenset[str]
    fetched: float


class S3VectorsBackend:
    """S3 Vectors-backed storage for one vector bucket.

    Args:
        bucket: The vector bucket's name (it must exist; see :meth:`create_bucket`).
        client: A ready ``boto3.client("s3vectors")``; when given, ``session``,
            ``region_name``, ``endpoint_url`` and ``config`` are not used.
        session: A ``boto3.Session`` to build the client from (credentials, profile).
        region_name: AWS region, e.g. ``"us-east-1"``.
        endpoint_url: Another endpoint, such as a local ``strands-memory serve``.
        config: A botocore ``Config`` merged over the defaults (adaptive retries,
            5 s connect and 30 s read timeouts, this library's user agent).
        retry: How long to keep retrying throttled or failing calls.
        text_search: ``None`` (default) uses full-text ``queryTexts`` when botocore and
            the index support it (ENHANCED mode); ``False`` never does.
        text_keys: The metadata keys created full-text searchable and searched.
        sleep: Waits between retries (injected by tests).
    """

    def __init__(
        self,
        bucket: str,
        *,
        client: Any = None,
        session: Any = None,
        region_name: str | None = None,
        endpoint_url: str | None = None,
        config: Any = None,
        retry: RetryPolicy | None = None,
        text_search: bool | None = None,
        text_keys: Sequence[str] = DEFAULT_TEXT_KEYS,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.bucket = validate_bucket_name(bucket)
        self.client = client if client is not None else make_client(session, region_name, endpoint_url, config)
        self.retry = retry or RetryPolicy()
        self._text_search = text_search is not False and supports_text_search(self.client)
        self.text_keys = tuple(text_keys)
        self._sleep = sleep
        self._owns_client = client is None
        self._described: dict[str, _Described] = {}
        self._lock = threading.Lock()
        self._closed = False

    def __repr__(self) -> str:
        return f"S3VectorsBackend(bucket={self.bucket!r}, endpoint={self.client.meta.endpoint_url!r})"

    def __enter__(self) -> S3VectorsBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing --------------------------------------------------------------

    def _call(self, operation: str, **params: Any) -> dict[str, Any]:
        """One S3 Vectors call with error mapping and retries; returns the parsed response."""
        if self._closed:
            raise BackendUnavailableError("this backend has been closed")
        from botocore.exceptions import BotoCoreError, ClientError

        method = getattr(self.client, _snake(operation))

        def once() -> dict[str, Any]:
            try:
                response: dict[str, Any] = method(vectorBucketName=self.bucket, **params)
                return response
            except ClientError as exc:
                raise map_client_error(exc, operation) from exc
            except BotoCoreError as exc:
                mapped = map_botocore_error(exc, f"S3 Vectors {operation}")
                if mapped is None:
                    raise
                raise mapped from exc

        return call_with_retries(once, policy=self.retry, operation=operation, sleep=self._sleep)

    def _on_index(self, index: str, operation: str, **params: Any) -> dict[str, Any]:
        """A call naming an index; a NotFound forgets what we knew about the index."""
        try:
            return self._call(operation, indexName=index, **params)
        except NotFoundError:
            self._described.pop(index, None)
            raise

    def _describe(self, name: str, *, fresh: bool = False) -> _Described:
        """The index's configuration, cached: it is immutable once created."""
        cached = self._described.get(name)
        now = time.monotonic()
        # A not-yet-searchable index is asked again now and then (BUILDING -> ACTIVE).
        settled = cached is not None and (cached.text_keys or not self._text_search)
        if cached is not None and not fresh and (settled or now - cached.fetched < _TEXT_STATUS_TTL):
            return cached
        validate_index_name(name)
        raw = self._on_index(name, "GetIndex")["index"]
        described = _Described(index_info(raw), active_text_keys(raw), now)
        with self._lock:
            self._described[name] = described
        return described

    # -- buckets ---------------------------------------------------------------

    def create_bucket(self, *, exist_ok: bool = True) -> None:
        """Create the vector bucket; an existing one is fine unless ``exist_ok=False``."""
        try:
            self._call("CreateVectorBucket")
        except ConflictError:
            if not exist_ok:
                raise

    def bucket_exists(self) -> bool:
        """Whether the vector bucket exists (and these credentials may see it)."""
        try:
            self._call("GetVectorBucket")
        except NotFoundError:
            return False
        return True

    def delete_bucket(self) -> None:
        """Delete the (empty) vector bucket."""
        self._call("DeleteVectorBucket")

    # -- indexes ---------------------------------------------------------------

    def create_index(
        self,
        name: str,
        *,
        dimension: int,
        distance_metric: DistanceMetric = "cosine",
        non_filterable_keys: Sequence[str] = (),
    ) -> IndexInfo:
        """Create an index; text keys among ``non_filterable_keys`` are made full-text searchable."""
        name, dimension, metric, non_filterable = check_create_index(
            name, dimension, distance_metric, non_filterable_keys
        )
        config: dict[str, Any] = {}
        if non_filterable:
            config["nonFilterableMetadataKeys"] = sorted(non_filterable)
        searchable = [key for key in self.text_keys if key in non_filterable]
        if self._text_search and searchable:
            config["textSearchConfigurations"] = [{"metadataKey": key} for key in searchable]
        params: dict[str, Any] = {"dataType": "float32", "dimension": dimension, "distanceMetric": metric}
        if config:
            params["metadataConfiguration"] = config
        self._call("CreateIndex", indexName=name, **params)
        return self._describe(name, fresh=True).info

    def get_index(self, name: str) -> IndexInfo:
        """Describe an index (cached after the first call)."""
        return self._describe(name).info

    def list_indexes(self, *, prefix: str | None = None) -> list[IndexInfo]:
        """Every index whose name starts with ``prefix``, sorted by name (one GetIndex each, cached)."""
        names: list[str] = []
        token: str | None = None
        while True:
            params: dict[str, Any] = {"maxResults": 500}
            if prefix:
                params["prefix"] = prefix
            if token:
                params["nextToken"] = token
            page = self._call("ListIndexes", **params)
            names.extend(summary["indexName"] for summary in page.get("indexes", []))
            token = page.get("nextToken")
            if not token:
                break
        infos = []
        for name in sorted(names):
            try:
                infos.append(self._describe(name).info)
            except NotFoundError:
                continue  # deleted while we listed
        return infos

    def delete_index(self, name: str) -> None:
        """Delete an index and every vector in it."""
        validate_index_name(name)
        self._described.pop(name, None)
        self._on_index(name, "DeleteIndex")

    def supports_text_search(self, index: str) -> bool:
        """Whether ``search_text`` can answer for ``index`` (ENHANCED, text keys ACTIVE)."""
        return self._text_search and bool(self._described_text_keys(index))

    def _described_text_keys(self, index: str) -> list[str]:
        keys = self._describe(index).text_keys
        return [key for key in self.text_keys if key in keys]

    # -- vectors ---------------------------------------------------------------

    def put_vectors(self, index: str, records: Sequence[MemoryRecord]) -> None:
        """Insert or overwrite 1-500 records; split further only if over 20 MiB of JSON.

        The whole batch is validated before anything is sent, so bad input writes
        nothing. A batch split by size that fails part-way may leave its earlier part
        written; repeating the call converges, since writes are overwrites by key.
        """
        checked = check_put(self._describe(index).info, records)
        for part in split_by_size(checked):
            self._on_index(index, "PutVectors", vectors=[to_wire(item) for item in part])

    def get_vectors(
        self, index: str, keys: Sequence[str], *, return_vector: bool = False, return_metadata: bool = True
    ) -> list[MemoryRecord]:
        """Records by key, in request order; missing keys are omitted."""
        wanted = check_get_keys(keys)
        self._describe(index)
        response = self._on_index(
            index, "GetVectors", keys=wanted, returnData=return_vector, returnMetadata=return_metadata
        )
        found = {
            entry["key"]: record(entry, with_vector=return_vector, with_metadata=return_metadata)
            for entry in response.get("vectors", [])
        }
        return [found[key] for key in dict.fromkeys(wanted) if key in found]

    def list_vectors(
        self,
        index: str,
        *,
        max_results: int = 500,
        next_token: str | None = None,
        return_vector: bool = False,
        return_metadata: bool = False,
        segment_count: int | None = None,
        segment_index: int | None = None,
    ) -> VectorPage:
        """One page of records, passing S3 Vectors' own paging token through."""
        size, segments, segment = check_list(max_results, segment_count, segment_index)
        self._describe(index)
        params: dict[str, Any] = {"maxResults": size, "returnData": return_vector, "returnMetadata": return_metadata}
        if segment_count is not None:
            params.update(segmentCount=segments, segmentIndex=segment)
        if next_token is not None:
            if not isinstance(next_token, str) or not next_token:
                raise ValidationError(
                    f"next_token must be a string token from a previous page, got {next_token!r}", field="next_token"
                )
            params["nextToken"] = next_token
        response = self._on_index(index, "ListVectors", **params)
        records = [
            record(entry, with_vector=return_vector, with_metadata=return_metadata)
            for entry in response.get("vectors", [])
        ]
        return VectorPage(records, response.get("nextToken") or None)

    def query_vectors(
        self,
        index: str,
        vector: ArrayLike,
        *,
        top_k: int,
        filter: Mapping[str, Any] | None = None,
        return_metadata: bool = True,
        return_distance: bool = True,
    ) -> list[QueryMatch]:
        """The ``top_k`` nearest records matching ``filter``, nearest first."""
        query, k, _ = check_query(self._describe(index).info, vector, top_k, filter)
        params: dict[str, Any] = {
            "topK": k,
            "queryVector": {"float32": query.tolist()},
            "returnMetadata": return_metadata,
            "returnDistance": return_distance,
        }
        if filter:
            params["filter"] = dict(filter)
        response = self._on_index(index, "QueryVectors", **params)
        return [
            query_match(entry, with_metadata=return_metadata, with_distance=return_distance)
            for entry in response.get("vectors", [])
        ]

    def search_text(
        self,
        index: str,
        text: str,
        *,
        top_k: int,
        filter: Mapping[str, Any] | None = None,
        return_metadata: bool = True,
    ) -> list[TextMatch]:
        """BM25 full-text search over the index's searchable text keys (``queryTexts``).

        Raises ``ValidationError`` on an index that cannot search text; recall asks
        :meth:`supports_text_search` first and falls back to dense-only.
        """
        query, k, _ = check_text_query(self._describe(index).info, text, top_k, filter)
        keys = self._described_text_keys(index)
        if not keys:
            raise ValidationError(
                f"index {index!r} has no full-text search: it needs ENHANCED mode and text search "
                f"configured on {', '.join(self.text_keys)}",
                field="index",
            )
        clipped = query[:MAX_QUERY_TEXT_CHARS]
        params: dict[str, Any] = {
            "topK": k,
            "queryTexts": [{"text": clipped, "metadataKey": key} for key in keys],
            "returnMetadata": return_metadata,
            "returnScores": True,
        }
        if filter:
            params["filter"] = dict(filter)
        response = self._on_index(index, "QueryVectors", **params)
        return [
            text_match(entry, rank, with_metadata=return_metadata)
            for rank, entry in enumerate(response.get("vectors", []))
        ]

    def delete_vectors(self, index: str, keys: Sequence[str]) -> None:
        """Delete 1-500 records by key; absent keys are ignored."""
        wanted = check_delete_keys(keys)
        self._describe(index)
        self._on_index(index, "DeleteVectors", keys=wanted)

    def close(self) -> None:
        """Close the HTTP connections of a client this backend built."""
        self._closed = True
        if self._owns_client:
            self.client.close()


def _snake(operation: str) -> str:
    """``PutVectors`` -> ``put_vectors``: boto3's method name for an operation."""
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in operation).lstrip("_")
