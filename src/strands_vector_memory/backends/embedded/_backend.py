"""The embedded backend: a bucket is a directory, an index is one SQLite file in it.

It is the default engine: no server, no network, same data model, limits, filter
language and errors as Amazon S3 Vectors. Several processes may use one directory at
once; SQLite's locking keeps their writes whole and each process's matrix cache
follows the others' writes.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from numpy.typing import ArrayLike

from ...core import BackendUnavailableError, ConflictError, DistanceMetric, MemoryRecord, NotFoundError
from ...core._limits import validate_index_name
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
from ._index import EmbeddedIndex, create_index_file

__all__ = ["EmbeddedBackend"]

_SUFFIX = ".sqlite3"


class EmbeddedBackend:
    """S3 Vectors-shaped storage in a local directory.

    Args:
        path: The bucket directory; created if missing.
        busy_timeout: Seconds a write waits for another process's write lock before
            failing with ``BackendUnavailableError``.
    """

    def __init__(self, path: str | os.PathLike[str], *, busy_timeout: float = 30.0) -> None:
        if busy_timeout <= 0:
            raise ValueError("busy_timeout must be positive")
        self.path = Path(path)
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise BackendUnavailableError(f"cannot create store directory {self.path}: {exc}") from exc
        self._busy_timeout = busy_timeout
        self._lock = threading.Lock()
        self._open: dict[str, EmbeddedIndex] = {}
        self._closed = False

    def __repr__(self) -> str:
        return f"EmbeddedBackend({str(self.path)!r})"

    def __enter__(self) -> EmbeddedBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _file(self, name: str) -> Path:
        return self.path / f"{name}{_SUFFIX}"

    def _index(self, name: str) -> EmbeddedIndex:
        """The open index, reopened if the file was deleted or replaced meanwhile."""
        index = self._open.get(name)
        if index is not None and not self._closed:
            # Hot path (every call): one stat notices a deleted or replaced file.
            try:
                if os.stat(index.path_str).st_ino == index.inode:
                    return index
            except FileNotFoundError:
                pass
        validate_index_name(name)
        path = self._file(name)
        with self._lock:
            if self._closed:
                raise BackendUnavailableError("this backend has been closed")
            try:
                inode = path.stat().st_ino
            except FileNotFoundError:
                stale = self._open.pop(name, None)
                if stale:
                    stale.close()
                raise NotFoundError(f"index {name!r} does not exist in {self.path}") from None
            index = self._open.get(name)
            if index is not None and index.inode == inode:
                return index
            if index is not None:
                index.close()
            index = EmbeddedIndex(path, busy_timeout=self._busy_timeout)
            self._open[name] = index
            return index

    def create_index(
        self,
        name: str,
        *,
        dimension: int,
        distance_metric: DistanceMetric = "cosine",
        non_filterable_keys: Sequence[str] = (),
    ) -> IndexInfo:
        """Create an index file atomically: built under a temporary name, then linked."""
        name, dimension, metric, non_filterable = check_create_index(
            name, dimension, distance_metric, non_filterable_keys
        )
        info = IndexInfo(name, dimension, metric, non_filterable, time.time())
        temp = self.path / f".{name}.{uuid.uuid4().hex}.tmp"
        try:
            create_index_file(temp, info)
            os.link(temp, self._file(name))
        except FileExistsError:
            raise ConflictError(f"index {name!r} already exists in {self.path}") from None
        finally:
            for leftover in (temp, Path(f"{temp}-wal"), Path(f"{temp}-shm")):
                leftover.unlink(missing_ok=True)
        return info

    def get_index(self, name: str) -> IndexInfo:
        """Describe an index."""
        return self._index(name).info

    def list_indexes(self, *, prefix: str | None = None) -> list[IndexInfo]:
        """Every index in the directory, sorted by name."""
        names = sorted(p.name[: -len(_SUFFIX)] for p in self.path.glob(f"*{_SUFFIX}") if not p.name.startswith("."))
        result = []
        for name in names:
            if prefix and not name.startswith(prefix):
                continue
            try:
                result.append(self._index(name).info)
            except NotFoundError:
                continue  # deleted while we listed
        return result

    def delete_index(self, name: str) -> None:
        """Delete an index file and its WAL; other processes see it gone on their next call."""
        index = self._index(name)
        with self._lock:
            self._open.pop(name, None)
        index.close()
        path = self._file(name)
        try:
            path.unlink()
        except FileNotFoundError:
            raise NotFoundError(f"index {name!r} does not exist in {self.path}") from None
        for extra in ("-wal", "-shm"):
            Path(f"{path}{extra}").unlink(missing_ok=True)

    def put_vectors(self, index: str, records: Sequence[MemoryRecord]) -> None:
        """Insert or overwrite 1-500 records in one durable transaction."""
        target = self._index(index)
        target.put(check_put(target.info, records))

    def get_vectors(
        self, index: str, keys: Sequence[str], *, return_vector: bool = False, return_metadata: bool = True
    ) -> list[MemoryRecord]:
        """Records by key, in request order; missing keys are omitted."""
        target = self._index(index)
        return target.get(check_get_keys(keys), return_vector=return_vector, return_metadata=return_metadata)

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
        """One page of records."""
        size, segments, segment = check_list(max_results, segment_count, segment_index)
        return self._index(index).list_page(
            max_results=size,
            next_token=next_token,
            segments=segments,
            segment=segment,
            return_vector=return_vector,
            return_metadata=return_metadata,
        )

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
        """Exact k-nearest-neighbour search after the metadata filter."""
        target = self._index(index)
        query, k, node = check_query(target.info, vector, top_k, filter)
        return target.query(query, top_k=k, node=node, return_metadata=return_metadata, return_distance=return_distance)

    def supports_text_search(self, index: str) -> bool:
        """Always: every embedded index keeps an FTS5 table over ``content`` and ``context``."""
        return True

    def search_text(
        self,
        index: str,
        text: str,
        *,
        top_k: int,
        filter: Mapping[str, Any] | None = None,
        return_metadata: bool = True,
    ) -> list[TextMatch]:
        """BM25 full-text search (FTS5, porter-stemmed) over ``content`` and ``context``."""
        target = self._index(index)
        query, k, node = check_text_query(target.info, text, top_k, filter)
        return target.search_text(query, top_k=k, node=node, return_metadata=return_metadata)

    def delete_vectors(self, index: str, keys: Sequence[str]) -> None:
        """Delete 1-500 records by key."""
        target = self._index(index)
        target.delete(check_delete_keys(keys))

    def scrub(self, index: str | None = None) -> None:
        """Make deleted data unrecoverable from the files: for erasure ("forget this user").

        A delete removes records at once and zeroes their rows in place, but copies can
        outlive it in the files (the full-text index's segments, stale gaps in rebuilt
        pages, the write-ahead log); a scrub rewrites the index from its live records
        and empties the WAL, after which a byte search of the directory finds nothing of
        what was deleted. Call it after the deletes of an erasure, not after every
        delete: it rewrites the whole file, so it costs about what copying the index
        costs. An index with no write since its last scrub is skipped cheaply.

        Args:
            index: The index to scrub; ``None`` scrubs every index in the directory.

        Raises:
            NotFoundError: ``index`` names an index that does not exist.
            BackendUnavailableError: Another process held the write lock or kept the WAL
                in use past the busy timeout; what is done stays done, scrub again later.
        """
        names = [index] if index is not None else [info.name for info in self.list_indexes()]
        for name in names:
            try:
                target = self._index(name)
            except NotFoundError:
                if index is not None:
                    raise
                continue  # deleted since we listed: nothing left to scrub
            target.scrub()

    def close(self) -> None:
        """Close every open index."""
        with self._lock:
            self._closed = True
            indexes, self._open = list(self._open.values()), {}
        for index in indexes:
            index.close()
