"""Opening an index file written by an older (format 1) or newer library.

Format 1 had an unstemmed FTS table over ``content`` alone. The files here are made
with today's backend and then rewritten by hand to the format-1 layout, so the test
does not depend on an old release being installed.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import closing
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from strands_vector_memory.backends import EmbeddedBackend
from strands_vector_memory.core import BackendUnavailableError, MemoryRecord, ValidationError

DIM = 4
IDX = "old-index"

RECORDS: dict[str, dict[str, Any]] = {
    "painted": {"content": "She painted a sunset over the lake", "year": 2021},
    "swims": {"content": "He swims every morning before work", "year": 2022},
    "numbers": {"content": "Order ZX-4471 shipped", "year": 2023},
    "no-text": {"year": 2024},
}


def vector(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=DIM).astype(np.float32)


def index_file(bucket: Path, name: str = IDX) -> Path:
    return bucket / f"{name}.sqlite3"


@pytest.fixture
def bucket(tmp_path: Path) -> Path:
    return tmp_path / "bucket"


def make_index(
    bucket: Path,
    *,
    non_filterable: Sequence[str] = ("content",),
    records: dict[str, dict[str, Any]] = RECORDS,
) -> None:
    with EmbeddedBackend(bucket) as backend:
        backend.create_index(IDX, dimension=DIM, non_filterable_keys=list(non_filterable))
        backend.put_vectors(IDX, [MemoryRecord(k, vector(i), m) for i, (k, m) in enumerate(records.items())])


def rewrite_as_v1(path: Path, *, non_filterable: Sequence[str], with_version_row: bool = True) -> None:
    """Give the file the format-1 layout: ``fts(content)`` unstemmed, ``format_version`` 1."""
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("DROP TABLE fts")
        conn.execute("CREATE VIRTUAL TABLE fts USING fts5(content)")
        conn.execute(
            "INSERT INTO fts(rowid, content) SELECT id, json_extract(metadata, '$.content') FROM records "
            "WHERE json_type(metadata, '$.content') = 'text'"
        )
        if with_version_row:
            conn.execute("UPDATE config SET value = '1' WHERE name = 'format_version'")
        else:
            conn.execute("DELETE FROM config WHERE name = 'format_version'")
        conn.execute(
            "UPDATE config SET value = ? WHERE name = 'non_filterable_keys'", (json.dumps(sorted(non_filterable)),)
        )
        conn.execute("COMMIT")


def config(path: Path) -> dict[str, str]:
    with closing(sqlite3.connect(path)) as conn:
        return dict(conn.execute("SELECT name, value FROM config").fetchall())


def fts_columns(path: Path) -> list[str]:
    with closing(sqlite3.connect(path)) as conn:
        return [row[1] for row in conn.execute("PRAGMA table_info(fts)")]


@pytest.fixture
def v1_bucket(bucket: Path) -> Iterator[Path]:
    """A bucket holding one format-1 index made for VectorMemory (``content`` non-filterable)."""
    make_index(bucket)
    rewrite_as_v1(index_file(bucket), non_filterable=["content"])
    assert config(index_file(bucket))["format_version"] == "1"
    assert fts_columns(index_file(bucket)) == ["content"]
    yield bucket


# --------------------------------------------------------------------------- format 1 -> 2


def test_a_v1_file_keeps_every_record_with_its_vector_and_metadata(v1_bucket: Path) -> None:
    with EmbeddedBackend(v1_bucket) as backend:
        got = backend.get_vectors(IDX, list(RECORDS), return_vector=True)
    assert [r.key for r in got] == list(RECORDS)
    for i, record in enumerate(got):
        assert record.metadata == RECORDS[record.key]
        np.testing.assert_array_equal(record.vector, vector(i))


def test_a_v1_file_is_rewritten_to_the_current_format(v1_bucket: Path) -> None:
    with EmbeddedBackend(v1_bucket) as backend:
        backend.get_index(IDX)
    settings = config(index_file(v1_bucket))
    assert settings["format_version"] == "2"
    assert fts_columns(index_file(v1_bucket)) == ["content", "context"]


def test_a_migrated_file_gets_a_stemmed_text_index(v1_bucket: Path) -> None:
    with EmbeddedBackend(v1_bucket) as backend:
        assert [m.key for m in backend.search_text(IDX, "painting", top_k=10)] == ["painted"]
        assert [m.key for m in backend.search_text(IDX, "swimming", top_k=10)] == ["swims"]
        assert [m.key for m in backend.search_text(IDX, "zx 4471", top_k=10)] == ["numbers"]


def test_context_becomes_non_filterable_where_content_was(v1_bucket: Path) -> None:
    with EmbeddedBackend(v1_bucket) as backend:
        assert backend.get_index(IDX).non_filterable_keys == frozenset({"content", "context"})
        with pytest.raises(ValidationError):
            backend.search_text(IDX, "lake", top_k=10, filter={"context": "x"})
    assert json.loads(config(index_file(v1_bucket))["non_filterable_keys"]) == ["content", "context"]


def test_context_stays_filterable_when_content_was_filterable(bucket: Path) -> None:
    make_index(bucket, non_filterable=())
    rewrite_as_v1(index_file(bucket), non_filterable=[])
    with EmbeddedBackend(bucket) as backend:
        assert backend.get_index(IDX).non_filterable_keys == frozenset()
        assert [m.key for m in backend.search_text(IDX, "painting", top_k=10)] == ["painted"]


def test_ten_non_filterable_keys_are_not_exceeded_by_the_migration(bucket: Path) -> None:
    ten = ["content", *(f"raw{i}" for i in range(9))]
    make_index(bucket, non_filterable=ten)
    rewrite_as_v1(index_file(bucket), non_filterable=ten)
    with EmbeddedBackend(bucket) as backend:
        assert backend.get_index(IDX).non_filterable_keys == frozenset(ten)
        assert [m.key for m in backend.search_text(IDX, "painting", top_k=10)] == ["painted"]
    assert config(index_file(bucket))["format_version"] == "2"


def test_a_migrated_file_answers_vector_queries_and_filters(v1_bucket: Path) -> None:
    with EmbeddedBackend(v1_bucket) as backend:
        (nearest,) = backend.query_vectors(IDX, vector(1), top_k=1)
        assert nearest.key == "swims"
        assert nearest.distance == pytest.approx(0.0, abs=1e-5)
        recent = backend.query_vectors(IDX, vector(0), top_k=10, filter={"year": {"$gte": 2023}})
        assert {m.key for m in recent} == {"numbers", "no-text"}
        found = backend.search_text(IDX, "lake morning", top_k=10, filter={"year": {"$lt": 2022}})
        assert [m.key for m in found] == ["painted"]


def test_a_migrated_file_accepts_writes_to_both_text_columns(v1_bucket: Path) -> None:
    with EmbeddedBackend(v1_bucket) as backend:
        backend.put_vectors(IDX, [MemoryRecord("new", vector(9), {"content": "a note", "context": "kayaking trip"})])
        backend.put_vectors(IDX, [MemoryRecord("painted", vector(0), {"content": "she sketched a heron"})])
        assert [m.key for m in backend.search_text(IDX, "kayak", top_k=10)] == ["new"]
        assert backend.search_text(IDX, "sunset", top_k=10) == []
        backend.delete_vectors(IDX, ["swims"])
        assert backend.search_text(IDX, "swim", top_k=10) == []


def test_a_v1_file_without_a_version_row_is_migrated(bucket: Path) -> None:
    make_index(bucket)
    rewrite_as_v1(index_file(bucket), non_filterable=["content"], with_version_row=False)
    with EmbeddedBackend(bucket) as backend:
        assert [m.key for m in backend.search_text(IDX, "painting", top_k=10)] == ["painted"]
    assert config(index_file(bucket))["format_version"] == "2"


def test_migration_happens_once_and_reopening_changes_nothing(v1_bucket: Path) -> None:
    with EmbeddedBackend(v1_bucket) as backend:
        backend.get_index(IDX)
    migrated = config(index_file(v1_bucket))
    with EmbeddedBackend(v1_bucket) as backend:
        assert [m.key for m in backend.search_text(IDX, "painting", top_k=10)] == ["painted"]
    assert config(index_file(v1_bucket)) == migrated


def test_the_migrated_file_passes_an_integrity_check(v1_bucket: Path) -> None:
    with EmbeddedBackend(v1_bucket) as backend:
        backend.get_index(IDX)
    with closing(sqlite3.connect(index_file(v1_bucket))) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        conn.execute("INSERT INTO fts(fts) VALUES ('integrity-check')")  # raises if fts disagrees with itself


# --------------------------------------------------------------------------- newer formats


def test_a_file_from_a_newer_format_fails_clearly(bucket: Path) -> None:
    make_index(bucket)
    with closing(sqlite3.connect(index_file(bucket), isolation_level=None)) as conn:
        conn.execute("UPDATE config SET value = '3' WHERE name = 'format_version'")
    before = index_file(bucket).read_bytes()
    with EmbeddedBackend(bucket) as backend:
        with pytest.raises(BackendUnavailableError, match=r"format 3 is newer .*upgrade"):
            backend.get_index(IDX)
        with pytest.raises(BackendUnavailableError):
            backend.search_text(IDX, "painting", top_k=10)
    assert config(index_file(bucket))["format_version"] == "3"
    assert index_file(bucket).read_bytes() == before
