"""One embedded index: a SQLite file in WAL mode plus its in-process matrix cache.

Why SQLite: durable commits, crash safety and multi-process locking come for free and
are battle-tested; the file is inspectable with any SQLite tool. Layout:

* ``records(id, key, metadata, seq)``: the record, metadata as JSON, ``seq`` = the
  write transaction that last touched it; ``vectors(id, vector)`` holds the float32
  bytes apart, so fetching the metadata of the top k reads small rows, not 1.5 KB blobs;
* ``meta(vid, name, kind, value)``: filterable metadata, one row per scalar, searched
  by the compiled filter (see ``_sql_filter``);
* ``fts``: an FTS5 table over ``content`` and ``context`` (porter-stemmed) for BM25
  full-text search; ``context`` counts half as much as the memory's own text;
* ``tombstones(seq, vid)``: deletions, so other processes' caches can follow them;
* ``state``: the write sequence number (and the one the last scrub saw); ``config``: the
  immutable index settings.

Every write is one ``BEGIN IMMEDIATE`` transaction committed with ``synchronous=FULL``,
so an acknowledged write survives ``kill -9`` and power loss, and a failed batch leaves
nothing behind.

Deleted data and the files: every connection runs with ``secure_delete=ON``, so a
deleted row's bytes are zeroed where it lay and freed pages are zeroed. That is not
all of it, though: the FTS5 index keeps a deleted record's words in its segments until
they are merged (FTS5's own ``secure-delete`` needs SQLite 3.44), a page rebuilt by a
b-tree rebalance keeps stale copies of rows that moved away in its unused gap, and the
WAL keeps old page images until it is checkpointed and truncated. :meth:`EmbeddedIndex.scrub`
deals with all three, for erasure requests ("forget this user").
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ...core import BackendUnavailableError, FilterNode, MemoryRecord, NotFoundError, ValidationError
from ...core._limits import MAX_NON_FILTERABLE_KEYS, validate_distance_metric
from .._checks import CheckedRecord, decode_token, encode_token
from .._contract import IndexInfo, QueryMatch, TextMatch, VectorPage
from ._matrix import MatrixCache
from ._sql_filter import KIND_PRESENT, SqlFilter, compile_filter, kind_of, sql_value
from ._text import fts_query

__all__ = ["EmbeddedIndex", "create_index_file"]

FORMAT_VERSION = 2
_TOMBSTONE_LIMIT = 100_000

_FTS_TABLE = "CREATE VIRTUAL TABLE fts USING fts5(content, context, tokenize='porter unicode61')"
#: BM25 column weights: the memory's own text, then its context.
_FTS_WEIGHTS = "1.0, 0.5"

_SCHEMA = f"""
CREATE TABLE config(name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE state(name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE records(
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,
    metadata TEXT NOT NULL,
    seq INTEGER NOT NULL
);
CREATE INDEX records_by_seq ON records(seq);
CREATE TABLE vectors(id INTEGER PRIMARY KEY, vector BLOB NOT NULL);
CREATE TABLE meta(
    vid INTEGER NOT NULL,
    name TEXT NOT NULL,
    kind INTEGER NOT NULL,
    value,
    PRIMARY KEY (vid, name, kind, value)
) WITHOUT ROWID;
CREATE INDEX meta_by_value ON meta(name, kind, value);
CREATE TABLE tombstones(seq INTEGER NOT NULL, vid INTEGER NOT NULL);
CREATE INDEX tombstones_by_seq ON tombstones(seq);
{_FTS_TABLE};
INSERT INTO state(name, value) VALUES ('seq', 0), ('tombstone_floor', 0), ('scrubbed_seq', 0);
"""


def connect(path: Path, busy_timeout: float) -> sqlite3.Connection:
    """Open a connection with the pragmas every connection to an index needs."""
    conn = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
    conn.execute("PRAGMA cache_size=-65536")
    # Zero a deleted row's bytes and freed pages instead of leaving them in the file for
    # anyone with a hex editor: a user's erased memory must not be recoverable. Many
    # builds (Debian's) already default to it, python.org's and macOS's do not.
    conn.execute("PRAGMA secure_delete=ON")
    # Checkpoint the WAL every ~32 MB instead of 4 MB: index pages rewritten by many
    # small transactions reach the main file once per checkpoint, not once per 4 MB.
    conn.execute("PRAGMA wal_autocheckpoint=8192")
    return conn


def create_index_file(path: Path, info: IndexInfo) -> None:
    """Write a complete, empty index file at ``path`` (a temporary name; the caller links it)."""
    conn = connect(path, busy_timeout=5.0)
    try:
        conn.executescript("BEGIN;" + _SCHEMA + "COMMIT;")
        settings = {
            "format_version": str(FORMAT_VERSION),
            "name": info.name,
            "dimension": str(info.dimension),
            "distance_metric": info.distance_metric,
            "non_filterable_keys": json.dumps(sorted(info.non_filterable_keys)),
            "created_at": repr(info.created_at),
        }
        with _transaction(conn, "BEGIN IMMEDIATE"):
            conn.executemany("INSERT INTO config(name, value) VALUES (?, ?)", settings.items())
    finally:
        conn.close()


@contextmanager
def _transaction(conn: sqlite3.Connection, begin: str) -> Iterator[None]:
    conn.execute(begin)
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _compiled(node: FilterNode) -> SqlFilter:
    # Nodes compare like their values, and 1 == 1.0 == True in Python, so a cache keyed
    # on the node alone would hand {"k": true} the SQL compiled for {"k": 1}. repr() keeps
    # the types apart.
    return _compiled_by_repr(repr(node), node)


@lru_cache(maxsize=256)
def _compiled_by_repr(signature: str, node: FilterNode) -> SqlFilter:
    return compile_filter(node)


def _metadata_rows(vid: int, metadata: dict[str, Any], non_filterable: frozenset[str]) -> Iterator[tuple[object, ...]]:
    for name, value in metadata.items():
        if name in non_filterable:
            continue
        if isinstance(value, list):
            if not value:  # an empty list still "exists"; other keys exist through their values
                yield (vid, name, KIND_PRESENT, "")
            for item in value:
                yield (vid, name, kind_of(item), sql_value(item))
        else:
            yield (vid, name, kind_of(value), sql_value(value))


def _text_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _migrate(conn: sqlite3.Connection, settings: dict[str, str]) -> dict[str, str]:
    """Bring an older index file to the current format in one transaction.

    Version 1 had an unstemmed FTS table over ``content`` only; the records are kept
    and the text index is rebuilt from them. An index made by ``VectorMemory`` (it
    declares ``content`` non-filterable) also gets ``context`` declared non-filterable.
    """
    version = int(settings.get("format_version", "1"))
    if version == FORMAT_VERSION:
        return settings
    if version > FORMAT_VERSION:
        raise BackendUnavailableError(
            f"index file format {version} is newer than this library understands ({FORMAT_VERSION}): upgrade"
        )
    with _transaction(conn, "BEGIN IMMEDIATE"):
        current = dict(conn.execute("SELECT name, value FROM config").fetchall())
        if int(current.get("format_version", "1")) == 1:
            conn.execute("DROP TABLE fts")
            conn.execute(_FTS_TABLE)
            conn.execute(
                "INSERT INTO fts(rowid, content, context) SELECT id, json_extract(metadata, '$.content'), "
                "json_extract(metadata, '$.context') FROM records "
                "WHERE json_type(metadata, '$.content') = 'text' OR json_type(metadata, '$.context') = 'text'"
            )
            keys = set(json.loads(current["non_filterable_keys"]))
            if "content" in keys and "context" not in keys and len(keys) < MAX_NON_FILTERABLE_KEYS:
                keys.add("context")
            conn.execute("UPDATE config SET value = ? WHERE name = 'non_filterable_keys'", (json.dumps(sorted(keys)),))
            conn.execute(
                "INSERT OR REPLACE INTO config(name, value) VALUES ('format_version', ?)", (str(FORMAT_VERSION),)
            )
        return dict(conn.execute("SELECT name, value FROM config").fetchall())


def _unreadable(path: Path, exc: sqlite3.DatabaseError) -> Exception:
    """The error for a ``*.sqlite3`` file that cannot be opened as an index.

    Another SQLite file in the directory is not an index: the Strands plugin keeps its
    outbox beside the embedded store by default (``outbox.sqlite3``), so listing (and
    scrubbing) every index must skip it rather than fail on it.
    """
    if "no such table" in str(exc) or "not a database" in str(exc):
        return NotFoundError(f"{path.name} is not an index file (another SQLite database in the directory)")
    return BackendUnavailableError(f"cannot open index file {path.name}: {exc}")


def _as_matrix(blobs: Sequence[bytes], dimension: int) -> NDArray[np.float32]:
    return np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(-1, dimension)


class EmbeddedIndex:
    """Operations on one index file; thread-safe (one connection, one lock)."""

    def __init__(self, path: Path, *, busy_timeout: float) -> None:
        self.path = path
        self.path_str = str(path)
        self._busy_timeout = busy_timeout
        self._lock = threading.RLock()
        try:
            self._conn = connect(path, busy_timeout)
        except sqlite3.DatabaseError as exc:
            raise _unreadable(path, exc) from None
        self.inode = path.stat().st_ino
        try:
            settings = dict(self._conn.execute("SELECT name, value FROM config").fetchall())
        except sqlite3.DatabaseError as exc:
            self._conn.close()
            raise _unreadable(path, exc) from None
        if not settings:
            self._conn.close()
            raise NotFoundError(f"index file {path.name} is not initialised")
        try:
            settings = _migrate(self._conn, settings)
        except BaseException:
            self._conn.close()
            raise
        self.info = IndexInfo(
            name=settings["name"],
            dimension=int(settings["dimension"]),
            distance_metric=validate_distance_metric(settings["distance_metric"]),
            non_filterable_keys=frozenset(json.loads(settings["non_filterable_keys"])),
            created_at=float(settings["created_at"]),
        )
        self._cache = MatrixCache(self.info.dimension, self.info.distance_metric)

    def close(self) -> None:
        """Close the connection; the cache is dropped."""
        with self._lock:
            self._conn.close()
            self._cache.reset()

    @contextmanager
    def _guard(self, what: str) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                yield self._conn
            except sqlite3.OperationalError as exc:
                if "locked" in str(exc) or "busy" in str(exc):
                    raise BackendUnavailableError(
                        f"index {self.info.name!r} stayed locked by another writer for over "
                        f"{self._busy_timeout:g}s during {what}; retry later"
                    ) from exc
                raise BackendUnavailableError(f"embedded engine failed during {what}: {exc}") from exc
            except sqlite3.Error as exc:
                raise BackendUnavailableError(f"embedded engine failed during {what}: {exc}") from exc

    def _next_seq(self, conn: sqlite3.Connection) -> int:
        row = conn.execute("UPDATE state SET value = value + 1 WHERE name = 'seq' RETURNING value").fetchone()
        return int(row[0])

    def put(self, records: Sequence[CheckedRecord]) -> None:
        """Insert or overwrite records in one durable transaction."""
        nf = self.info.non_filterable_keys
        with self._guard("put_vectors") as conn, _transaction(conn, "BEGIN IMMEDIATE"):
            seq = self._next_seq(conn)
            keys = [r.key for r in records]
            existing = dict(
                conn.execute(f"SELECT key, id FROM records WHERE key IN ({','.join('?' * len(keys))})", keys).fetchall()
            )
            row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'records'").fetchone()
            next_id = (int(row[0]) if row else 0) + 1
            updates: list[tuple[object, ...]] = []
            inserts: list[tuple[object, ...]] = []
            blobs: list[tuple[object, ...]] = []
            meta_rows: list[tuple[object, ...]] = []
            fts_rows: list[tuple[object, ...]] = []
            for record in records:
                blob = record.vector.tobytes()
                doc = record.metadata_json
                vid = existing.get(record.key)
                if vid is None:
                    vid, next_id = next_id, next_id + 1
                    inserts.append((vid, record.key, doc, seq))
                else:
                    updates.append((doc, seq, vid))
                blobs.append((vid, blob))
                meta_rows.extend(_metadata_rows(vid, record.metadata, nf))
                content = record.metadata.get("content")
                context = record.metadata.get("context")
                if isinstance(content, str) or isinstance(context, str):
                    fts_rows.append((vid, _text_or_none(content), _text_or_none(context)))
            if updates:
                conn.executemany("UPDATE records SET metadata = ?, seq = ? WHERE id = ?", updates)
                stale = [(u[2],) for u in updates]
                conn.executemany("DELETE FROM meta WHERE vid = ?", stale)
                conn.executemany("DELETE FROM fts WHERE rowid = ?", stale)
            if inserts:
                conn.executemany("INSERT INTO records(id, key, metadata, seq) VALUES (?, ?, ?, ?)", inserts)
            conn.executemany("INSERT OR REPLACE INTO vectors(id, vector) VALUES (?, ?)", blobs)
            conn.executemany("INSERT OR IGNORE INTO meta(vid, name, kind, value) VALUES (?, ?, ?, ?)", meta_rows)
            conn.executemany("INSERT INTO fts(rowid, content, context) VALUES (?, ?, ?)", fts_rows)

    def delete(self, keys: Sequence[str]) -> None:
        """Delete records by key; absent keys are ignored."""
        with self._guard("delete_vectors") as conn, _transaction(conn, "BEGIN IMMEDIATE"):
            ids = [
                (r[0],)
                for r in conn.execute(f"SELECT id FROM records WHERE key IN ({','.join('?' * len(keys))})", list(keys))
            ]
            if not ids:
                return
            seq = self._next_seq(conn)
            conn.executemany("DELETE FROM records WHERE id = ?", ids)
            conn.executemany("DELETE FROM vectors WHERE id = ?", ids)
            conn.executemany("DELETE FROM meta WHERE vid = ?", ids)
            conn.executemany("DELETE FROM fts WHERE rowid = ?", ids)
            conn.executemany("INSERT INTO tombstones(seq, vid) VALUES (?, ?)", [(seq, i[0]) for i in ids])
            self._prune_tombstones(conn, seq)

    def _prune_tombstones(self, conn: sqlite3.Connection, seq: int) -> None:
        # Keep the log bounded. A cache older than the floor reloads in full instead.
        (count,) = conn.execute("SELECT count(*) FROM tombstones").fetchone()
        if count <= _TOMBSTONE_LIMIT:
            return
        (cutoff,) = conn.execute("SELECT seq FROM tombstones ORDER BY seq LIMIT 1 OFFSET ?", (count // 2,)).fetchone()
        conn.execute("DELETE FROM tombstones WHERE seq < ?", (cutoff,))
        conn.execute("UPDATE state SET value = ? WHERE name = 'tombstone_floor'", (cutoff - 1,))

    def get(self, keys: Sequence[str], *, return_vector: bool, return_metadata: bool) -> list[MemoryRecord]:
        """Records by key in request order; missing keys omitted."""
        with self._guard("get_vectors") as conn:
            rows = conn.execute(
                f"SELECT r.key, {self._vector_column(return_vector)}, r.metadata FROM records r "
                f"WHERE r.key IN ({','.join('?' * len(keys))})",
                list(keys),
            ).fetchall()
        found = {row[0]: row for row in rows}
        return [self._record(found[k], return_vector, return_metadata) for k in dict.fromkeys(keys) if k in found]

    @staticmethod
    def _vector_column(wanted: bool) -> str:
        """The vector blob when asked for (a subquery), else NULL so no blob page is read."""
        return "(SELECT v.vector FROM vectors v WHERE v.id = r.id)" if wanted else "NULL"

    def _record(self, row: tuple[Any, ...], return_vector: bool, return_metadata: bool) -> MemoryRecord:
        key, blob, doc = row
        vector = np.frombuffer(blob, dtype=np.float32).copy() if return_vector and blob is not None else None
        return MemoryRecord(key, vector, json.loads(doc) if return_metadata else None)

    def list_page(
        self,
        *,
        max_results: int,
        next_token: str | None,
        segments: int,
        segment: int,
        return_vector: bool,
        return_metadata: bool,
    ) -> VectorPage:
        """One page of records in id order, optionally of one segment."""
        scope = {"index": self.info.name, "segments": segments, "segment": segment}
        after = decode_token(next_token, scope).get("after") if next_token else 0
        if isinstance(after, bool) or not isinstance(after, int):
            raise ValidationError("next_token is not a token this backend issued", field="next_token")
        where = "r.id > ?" + (" AND r.id % ? = ?" if segments > 1 else "")
        params: list[int] = [after] + ([segments, segment] if segments > 1 else [])
        with self._guard("list_vectors") as conn:
            rows = conn.execute(
                f"SELECT r.id, r.key, {self._vector_column(return_vector)}, r.metadata FROM records r "
                f"WHERE {where} ORDER BY r.id LIMIT ?",
                [*params, max_results + 1],
            ).fetchall()
        more = len(rows) > max_results
        rows = rows[:max_results]
        records = [self._record(row[1:], return_vector, return_metadata) for row in rows]
        token = encode_token({**scope, "after": rows[-1][0]}) if more else None
        return VectorPage(records, token)

    def query(
        self,
        vector: NDArray[np.float32],
        *,
        top_k: int,
        node: FilterNode | None,
        return_metadata: bool,
        return_distance: bool,
    ) -> list[QueryMatch]:
        """Exact nearest neighbours among the records that pass ``node``."""
        with self._guard("query_vectors") as conn, _transaction(conn, "BEGIN"):
            self._sync_cache(conn)
            positions = None
            if node is not None:
                positions = self._cache.positions(self._matching_ids(conn, node))
            best_ids, distances = self._cache.top_k(vector, top_k, positions)
            if best_ids.size == 0:
                return []
            id_list = best_ids.tolist()
            column = "metadata" if return_metadata else "NULL"
            rows = conn.execute(
                f"SELECT id, key, {column} FROM records WHERE id IN ({','.join('?' * len(id_list))})", id_list
            ).fetchall()
        by_id = {row[0]: row for row in rows}
        return [
            QueryMatch(
                key=by_id[i][1],
                distance=float(d) if return_distance else None,
                metadata=json.loads(by_id[i][2]) if return_metadata else None,
            )
            for i, d in zip(id_list, distances.tolist(), strict=True)
            if i in by_id
        ]

    def search_text(self, text: str, *, top_k: int, node: FilterNode | None, return_metadata: bool) -> list[TextMatch]:
        """BM25 ranking of the records whose content or context shares words with ``text``."""
        match = fts_query(text)
        if match is None:
            return []
        where, params = "fts MATCH ?", list[object]([match])
        if node is not None:
            sql, filter_params = _compiled(node).select_ids()
            where += f" AND +fts.rowid IN ({sql})"  # unary +: filter the hits, do not drive FTS by rowid
            params.extend(filter_params)
        column = "r.metadata" if return_metadata else "NULL"
        with self._guard("search_text") as conn:
            rows = conn.execute(
                f"SELECT r.key, {column}, hits.rank FROM ("
                f"SELECT fts.rowid AS id, bm25(fts, {_FTS_WEIGHTS}) AS rank FROM fts WHERE {where} "
                f"ORDER BY rank LIMIT ?) AS hits JOIN records r ON r.id = hits.id ORDER BY hits.rank",
                [*params, top_k],
            ).fetchall()
        # FTS5's bm25() is negated so that ascending order is best first; flip it back.
        return [TextMatch(key, -float(rank), json.loads(doc) if return_metadata else None) for key, doc, rank in rows]

    def _matching_ids(self, conn: sqlite3.Connection, node: FilterNode) -> NDArray[np.int64]:
        """Distinct ids of the records that pass ``node``, in no particular order."""
        compiled = _compiled(node)
        sql, params = compiled.select_ids()
        # One string from SQLite parsed by numpy is ~3x faster than stepping rows in Python.
        (text,) = conn.execute(f"SELECT group_concat(id) FROM ({sql})", params).fetchone()
        if not text:
            return np.empty(0, dtype=np.int64)
        ids = np.fromstring(text, dtype=np.int64, sep=",")
        return ids if compiled.distinct else np.unique(ids)

    def _sync_cache(self, conn: sqlite3.Connection) -> None:
        """Bring the matrix cache to the file's current write sequence (inside a read txn)."""
        seq, floor = (
            int(v)
            for (v,) in conn.execute("SELECT value FROM state WHERE name IN ('seq', 'tombstone_floor') ORDER BY name")
        )
        cache = self._cache
        if seq == cache.seq:
            return
        if cache.seq < 0 or cache.seq < floor:
            cache.load(*self._read_all_vectors(conn))
        else:
            dead = [r[0] for r in conn.execute("SELECT vid FROM tombstones WHERE seq > ?", (cache.seq,))]
            cache.remove(np.asarray(dead, dtype=np.int64))
            rows = conn.execute(
                "SELECT v.id, v.vector FROM records r JOIN vectors v ON v.id = r.id WHERE r.seq > ?", (cache.seq,)
            ).fetchall()
            if rows:
                ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
                cache.upsert(ids, _as_matrix([r[1] for r in rows], self.info.dimension))
        cache.seq = seq

    def _read_all_vectors(self, conn: sqlite3.Connection) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
        """Every vector in id order, streamed into one preallocated matrix (no 2x peak copy)."""
        (count,) = conn.execute("SELECT count(*) FROM vectors").fetchone()
        ids = np.empty(count, dtype=np.int64)
        matrix = np.empty((count, self.info.dimension), dtype=np.float32)
        cursor = conn.execute("SELECT id, vector FROM vectors ORDER BY id")
        filled = 0
        while chunk := cursor.fetchmany(4096):
            end = filled + len(chunk)
            ids[filled:end] = [row[0] for row in chunk]
            matrix[filled:end] = _as_matrix([row[1] for row in chunk], self.info.dimension)
            filled = end
        return ids[:filled], matrix[:filled]

    def scrub(self) -> None:
        """Make deleted and overwritten data unrecoverable from the index's files.

        ``secure_delete`` zeroes a deleted row where it lay, but three copies survive it:
        the record's words in FTS5 segments not yet merged, stale copies of rows in the
        unused gap of pages a rebalance rebuilt, and old page images in the WAL. So:

        1. FTS5 ``optimize`` merges every segment into one; a merge into the oldest
           segment drops deleted entries, and the old segments' pages are freed (zeroed).
        2. ``VACUUM`` rewrites the file from the live rows only, so no page keeps a gap
           or free page with old bytes (and the file shrinks to its live size).
        3. ``wal_checkpoint(TRUNCATE)`` copies the new pages into the file and empties
           the WAL, whose frames held every page image written since the last one.

        Steps 1-2 run only when something was written since the last scrub (the write
        sequence moved), so scrubbing an untouched index costs one read and a no-op
        checkpoint. They hold the write lock like any write, so concurrent readers in
        other processes keep reading their snapshot and other writers wait (up to the
        busy timeout); in this process every other call on the index waits for the scrub.
        The cost is that of rewriting the file: tens of milliseconds for thousands of
        records, seconds for hundreds of thousands.

        Raises:
            BackendUnavailableError: Another writer held the lock past the busy timeout,
                or a reader in another process kept the WAL in use so it could not be
                truncated. What was committed stays committed; calling ``scrub`` again
                finishes the job.
        """
        with self._guard("scrub") as conn:
            with _transaction(conn, "BEGIN IMMEDIATE"):
                state = dict(conn.execute("SELECT name, value FROM state").fetchall())
                # A file made before scrubbing existed has no 'scrubbed_seq': never scrubbed.
                seq, scrubbed = int(state["seq"]), int(state.get("scrubbed_seq", -1))
                if seq != scrubbed:
                    conn.execute("INSERT INTO fts(fts) VALUES('optimize')")
            if seq != scrubbed:
                conn.execute("VACUUM")
                # Recorded only once the file is rewritten, with the sequence seen before the
                # rewrite: a write that slipped in between leaves the index marked dirty.
                with _transaction(conn, "BEGIN IMMEDIATE"):
                    conn.execute("INSERT OR REPLACE INTO state(name, value) VALUES ('scrubbed_seq', ?)", (seq,))
            busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            if busy:
                raise BackendUnavailableError(
                    f"index {self.info.name!r}: another process kept reading for over {self._busy_timeout:g}s, "
                    "so the write-ahead log still holds old page images; retry scrub later"
                )

    def count(self) -> int:
        """Number of records (cheap; used by stats and tests)."""
        with self._guard("count") as conn:
            (n,) = conn.execute("SELECT count(*) FROM records").fetchone()
        return int(n)

    def integrity_check(self) -> str:
        """SQLite's own consistency check of the file ("ok" when healthy)."""
        with self._guard("integrity_check") as conn:
            return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
