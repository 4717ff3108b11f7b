"""Erasure on the embedded engine: after delete + ``scrub``, no file holds a byte of what was deleted.

A delete alone is not enough on disk: FTS5 keeps a deleted record's words in its
segments, rebuilt pages keep stale copies of rows in their unused gap, and the WAL
keeps old page images. These tests write records with a distinctive marker word and
sentence, delete them, scrub, and then read every file of the store (the database,
its ``-wal`` and ``-shm``) byte by byte. Each test first checks that the marker *is*
found before, so a search that could never match cannot pass.
"""

from __future__ import annotations

import os
import random
import sqlite3
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import numpy as np
import pytest

import strands_vector_memory
from strands_vector_memory.backends import EmbeddedBackend
from strands_vector_memory.core import BackendUnavailableError, MemoryRecord, NotFoundError

DIM = 8
INDEX = "memories"
#: As VectorMemory declares them: the texts are searchable, not filterable.
NON_FILTERABLE = ("content", "context")
CHILD = Path(__file__).with_name("_child.py")
SRC = Path(strands_vector_memory.__file__).resolve().parents[1]
WORDS = [
    *("apple", "banana", "cherry", "delta", "echo", "foxtrot", "golf", "hotel"),
    *("india", "juliet", "kilo", "lima", "mike", "november", "oscar"),
]


class Secret:
    """A marker word and a sentence no other record contains, in the forms that can reach a file."""

    def __init__(self) -> None:
        token = uuid.uuid4().hex
        self.word = f"zqxjvortex{token}"
        self.sentence = f"my confidential diagnosis is chronic violet elbow syndrome {uuid.uuid4().hex[:10]}"
        # FTS5 stores terms prefix-compressed against the previous term, so a leftover
        # index term may lack the word's first letters: look for the random part too.
        self.needles = [self.word.encode(), token[:24].encode(), self.sentence.encode()]

    def content(self, i: int) -> str:
        return f"note {i} about {self.word}: {self.sentence}"

    def found_in(self, directory: Path) -> dict[str, list[int]]:
        """Per file holding any needle, how often each occurs (empty when nothing is left)."""
        hits = {}
        for path in sorted(p for p in directory.rglob("*") if p.is_file()):
            data = path.read_bytes()
            counts = [data.count(needle) for needle in self.needles]
            if any(counts):
                hits[path.name] = counts
        return hits


def vector(rng: np.random.Generator) -> np.ndarray:
    return rng.random(DIM, dtype=np.float32)


def put_all(backend: EmbeddedBackend, records: list[MemoryRecord]) -> None:
    for start in range(0, len(records), 500):
        backend.put_vectors(INDEX, records[start : start + 500])


def delete_all(backend: EmbeddedBackend, keys: list[str]) -> None:
    for start in range(0, len(keys), 500):
        backend.delete_vectors(INDEX, keys[start : start + 500])


def everything(backend: EmbeddedBackend) -> dict[str, tuple[object, bytes]]:
    """Every record as key -> (metadata, vector bytes), through all pages."""
    out: dict[str, tuple[object, bytes]] = {}
    token = None
    while True:
        page = backend.list_vectors(INDEX, max_results=500, next_token=token, return_metadata=True, return_vector=True)
        for record in page.records:
            assert record.vector is not None
            out[record.key] = (record.metadata, record.vector.tobytes())
        token = page.next_token
        if token is None:
            return out


def populate(backend: EmbeddedBackend, secret: Secret, *, others: int = 1200, secrets: int = 120) -> list[str]:
    """Bob's ordinary records interleaved with Alice's secret ones; returns Alice's keys.

    The secret is in ``content``, in ``context`` and in a filterable field, so it reaches
    the records table, the FTS table and its index, and the metadata index. Enough
    records to split pages, so rows move between pages as they would in a real store.
    """
    rng = np.random.default_rng(7)
    chooser = random.Random(7)
    records: list[MemoryRecord] = []
    alice: list[str] = []
    for i in range(others + secrets):
        if i % ((others + secrets) // secrets) == 0 and len(alice) < secrets:
            metadata = {
                "content": secret.content(i),
                "context": f"earlier: {secret.sentence}",
                "user_id": "alice",
                "topic": f"t-{secret.word}",
            }
            alice.append(f"alice-{i}")
            records.append(MemoryRecord(alice[-1], vector(rng), metadata))
        else:
            text = " ".join(chooser.choices(WORDS, k=25))
            metadata = {"content": text, "user_id": "bob", "topic": chooser.choice(WORDS)}
            records.append(MemoryRecord(f"bob-{i}", vector(rng), metadata))
    put_all(backend, records)
    return alice


@pytest.fixture
def store(tmp_path: Path) -> EmbeddedBackend:
    backend = EmbeddedBackend(tmp_path / "store")
    backend.create_index(INDEX, dimension=DIM, non_filterable_keys=NON_FILTERABLE)
    return backend


def test_delete_then_scrub_leaves_no_byte_of_the_deleted_records(store: EmbeddedBackend) -> None:
    secret = Secret()
    with store:
        # With this sequence of writes (page layout depends only on the sizes and order
        # of the rows, so it is deterministic), a b-tree rebalance leaves a stale partial
        # copy of one of Alice's metadata index entries in the unused gap of a rebuilt
        # page: secure_delete never sees it, FTS optimize does not touch it, and only
        # the rewrite (VACUUM) in scrub removes it (found on SQLite 3.40.1).
        alice = populate(store, secret, others=3000, secrets=300)
        assert secret.found_in(store.path), "control: the marker must be findable before the delete"

        delete_all(store, alice)
        # Control: a delete alone leaves copies (FTS segments, the WAL); this is why scrub exists.
        assert secret.found_in(store.path)

        store.scrub(INDEX)
        assert secret.found_in(store.path) == {}
        wal = store.path / f"{INDEX}.sqlite3-wal"
        assert not wal.exists() or wal.stat().st_size == 0
    # Closing (SQLite's last-connection checkpoint) brings nothing back either.
    assert secret.found_in(store.path) == {}


def test_overwritten_content_is_scrubbed_too(store: EmbeddedBackend) -> None:
    secret = Secret()
    rng = np.random.default_rng(1)
    with store:
        populate(store, Secret(), others=300, secrets=30)
        store.put_vectors(INDEX, [MemoryRecord("edited", vector(rng), {"content": secret.content(0)})])
        assert secret.found_in(store.path)
        store.put_vectors(INDEX, [MemoryRecord("edited", vector(rng), {"content": "a harmless new text"})])
        store.scrub()
        assert secret.found_in(store.path) == {}
        assert store.get_vectors(INDEX, ["edited"])[0].metadata == {"content": "a harmless new text"}


def test_everyone_else_is_intact_and_searchable_after_a_scrub(store: EmbeddedBackend) -> None:
    secret = Secret()
    with store:
        alice = populate(store, secret)
        before = everything(store)
        probe = np.full(DIM, 0.5, dtype=np.float32)
        nearest_bob = [m.key for m in store.query_vectors(INDEX, probe, top_k=10, filter={"user_id": "bob"})]
        text_hits = [m.key for m in store.search_text(INDEX, "apple banana", top_k=10, filter={"user_id": "bob"})]

        delete_all(store, alice)
        store.scrub(INDEX)

        assert store._index(INDEX).integrity_check() == "ok"
        assert everything(store) == {k: r for k, r in before.items() if not k.startswith("alice-")}
        assert [m.key for m in store.query_vectors(INDEX, probe, top_k=10, filter={"user_id": "bob"})] == nearest_bob
        assert [m.key for m in store.search_text(INDEX, "apple banana", top_k=10, filter={"user_id": "bob"})] == (
            text_hits
        )
        assert store.search_text(INDEX, secret.word, top_k=10) == []
        assert store.search_text(INDEX, "violet elbow syndrome", top_k=10) == []
        assert store.query_vectors(INDEX, probe, top_k=10, filter={"user_id": "alice"}) == []

        # The index keeps working for writes, deletes and text search after the rewrite.
        store.put_vectors(INDEX, [MemoryRecord("carol-1", probe, {"content": "carol likes kayaking", "user_id": "c"})])
        assert [m.key for m in store.search_text(INDEX, "kayak", top_k=3)] == ["carol-1"]
        assert store.query_vectors(INDEX, probe, top_k=1)[0].key == "carol-1"
        store.delete_vectors(INDEX, ["carol-1"])
        assert store.search_text(INDEX, "kayak", top_k=3) == []


def test_another_process_sees_the_scrubbed_index_unchanged(store: EmbeddedBackend) -> None:
    """A second backend on the directory (as another process would) keeps a coherent view."""
    secret = Secret()
    with store, EmbeddedBackend(store.path) as other:
        alice = populate(store, secret, others=300, secrets=30)
        probe = np.full(DIM, 0.5, dtype=np.float32)
        alice_top = other.query_vectors(INDEX, probe, top_k=100, filter={"user_id": "alice"})
        assert len(alice_top) == 30  # its matrix cache is warm, and has Alice's records
        delete_all(store, alice)
        store.scrub(INDEX)
        assert other.query_vectors(INDEX, probe, top_k=100, filter={"user_id": "alice"}) == []
        assert [m.key for m in other.query_vectors(INDEX, probe, top_k=100)] == [
            m.key for m in store.query_vectors(INDEX, probe, top_k=100)
        ]
        assert everything(other) == everything(store)
        other.put_vectors(INDEX, [MemoryRecord("from-other", probe, {"content": "written after the scrub"})])
        assert store.get_vectors(INDEX, ["from-other"])[0].key == "from-other"


def test_scrub_without_an_index_scrubs_every_index(tmp_path: Path) -> None:
    secret = Secret()
    with EmbeddedBackend(tmp_path / "store") as backend:
        rng = np.random.default_rng(3)
        for name in ("one", "two"):
            backend.create_index(name, dimension=DIM, non_filterable_keys=NON_FILTERABLE)
            backend.put_vectors(
                name, [MemoryRecord(f"{name}-{i}", vector(rng), {"content": secret.content(i)}) for i in range(50)]
            )
            backend.put_vectors(name, [MemoryRecord(f"keep-{i}", vector(rng), {"content": "kept"}) for i in range(50)])
            backend.delete_vectors(name, [f"{name}-{i}" for i in range(50)])
        assert secret.found_in(backend.path)
        backend.scrub()
        assert secret.found_in(backend.path) == {}
        assert [len(backend.list_vectors(n, max_results=500).records) for n in ("one", "two")] == [50, 50]


def test_another_sqlite_file_in_the_directory_is_not_taken_for_an_index(store: EmbeddedBackend) -> None:
    """The Strands plugin keeps its outbox beside the store: listing and scrubbing skip it."""
    with sqlite3.connect(store.path / "outbox.sqlite3") as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("CREATE TABLE jobs (id TEXT PRIMARY KEY, payload TEXT)")
    db.close()
    (store.path / "garbage.sqlite3").write_bytes(b"not a database at all, just bytes " * 200)
    with store:
        assert [info.name for info in store.list_indexes()] == [INDEX]
        store.scrub()
        with pytest.raises(NotFoundError, match="not an index file"):
            store.get_index("outbox")
        with pytest.raises(NotFoundError, match="not an index file"):
            store.scrub("garbage")


def test_scrubbing_a_missing_index_is_not_found(store: EmbeddedBackend) -> None:
    with store, pytest.raises(NotFoundError):
        store.scrub("no-such-index")


def test_a_second_scrub_with_nothing_written_since_leaves_the_file_alone(store: EmbeddedBackend) -> None:
    with store:
        delete_all(store, populate(store, Secret(), others=200, secrets=20))
        store.scrub(INDEX)
        path = store.path / f"{INDEX}.sqlite3"
        image = path.read_bytes()
        store.scrub(INDEX)
        assert path.read_bytes() == image  # no rewrite: the write sequence has not moved
        store.delete_vectors(INDEX, ["bob-1"])
        store.scrub(INDEX)
        assert path.read_bytes() != image


def test_an_index_file_from_before_scrub_existed_is_scrubbed(store: EmbeddedBackend) -> None:
    """Files written by earlier versions have no record of a scrub: they count as never scrubbed."""
    secret = Secret()
    with store:
        delete_all(store, populate(store, secret, others=200, secrets=20))
    with sqlite3.connect(store.path / f"{INDEX}.sqlite3") as db:
        db.execute("DELETE FROM state WHERE name = 'scrubbed_seq'")
    db.close()
    with EmbeddedBackend(store.path) as reopened:
        assert secret.found_in(reopened.path)
        reopened.scrub(INDEX)
        assert secret.found_in(reopened.path) == {}


def test_every_connection_zeroes_deleted_rows(store: EmbeddedBackend) -> None:
    with store:
        assert store._index(INDEX)._conn.execute("PRAGMA secure_delete").fetchone() == (1,)


def test_a_reader_holding_the_wal_makes_scrub_fail_loudly_and_a_retry_finishes(tmp_path: Path) -> None:
    """A reader in another connection pins the WAL: the scrub says so instead of claiming success."""
    secret = Secret()
    with EmbeddedBackend(tmp_path / "store", busy_timeout=0.2) as backend:
        backend.create_index(INDEX, dimension=DIM, non_filterable_keys=NON_FILTERABLE)
        alice = populate(backend, secret, others=200, secrets=20)
        reader = sqlite3.connect(backend.path / f"{INDEX}.sqlite3", isolation_level=None)
        try:
            reader.execute("BEGIN")
            assert reader.execute("SELECT count(*) FROM records").fetchone() == (220,)  # holds its snapshot
            delete_all(backend, alice)
            with pytest.raises(BackendUnavailableError, match="retry scrub later"):
                backend.scrub(INDEX)
            assert backend.get_vectors(INDEX, alice[:3]) == []  # the deletes stand meanwhile
            reader.execute("COMMIT")
        finally:
            reader.close()
        backend.scrub(INDEX)
        assert secret.found_in(backend.path) == {}


def test_scrub_is_safe_alongside_writers_and_readers_in_other_threads(store: EmbeddedBackend) -> None:
    rng = np.random.default_rng(5)
    errors: list[BaseException] = []
    stop = threading.Event()
    written: list[str] = []

    def writer() -> None:
        try:
            local = np.random.default_rng(9)
            n = 0
            while not stop.is_set():
                keys = [f"w-{n}-{i}" for i in range(20)]
                store.put_vectors(INDEX, [MemoryRecord(k, vector(local), {"content": f"writer {k}"}) for k in keys])
                store.delete_vectors(INDEX, keys[:10])
                written.extend(keys[10:])
                n += 1
        except BaseException as exc:  # reported below: a thread's failure must fail the test
            errors.append(exc)

    def reader() -> None:
        try:
            while not stop.is_set():
                store.query_vectors(INDEX, vector(rng), top_k=5)
                store.search_text(INDEX, "writer", top_k=5)
        except BaseException as exc:
            errors.append(exc)

    with store:
        populate(store, Secret(), others=200, secrets=20)
        threads = [threading.Thread(target=writer), threading.Thread(target=reader)]
        for thread in threads:
            thread.start()
        try:
            for _ in range(15):
                store.scrub(INDEX)
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=60)
        assert errors == []
        assert written, "the writer must have run alongside the scrubs"
        assert {r.key for r in store.get_vectors(INDEX, written[-100:])} == set(written[-100:])
        assert store._index(INDEX).integrity_check() == "ok"


def test_scrub_is_safe_alongside_a_writer_in_another_process(store: EmbeddedBackend) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(SRC), os.environ.get("PYTHONPATH", "")) if p)}
    env["PYTHONWARNINGS"] = "error"
    with store:
        alice = populate(store, Secret(), others=200, secrets=20)
        child = subprocess.Popen(
            [sys.executable, str(CHILD), "writer", str(store.path), INDEX, "other", "400", "1"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        try:
            assert child.stdin is not None and child.stdout is not None
            assert child.stdout.readline() == "ready\n"
            child.stdin.write("go\n")
            child.stdin.flush()
            scrubs = 0
            while child.poll() is None or scrubs == 0:
                store.delete_vectors(INDEX, [alice[scrubs % len(alice)]])  # something to scrub each time
                store.scrub(INDEX)
                scrubs += 1
            out, err = child.communicate(timeout=120)
        finally:
            if child.poll() is None:
                child.kill()
                child.communicate()
        assert child.returncode == 0, err
        assert out == "done\n"
        assert len(store.get_vectors(INDEX, [f"other-{i}" for i in range(100)])) == 100
        assert len(store.get_vectors(INDEX, [f"other-{i}" for i in range(300, 400)])) == 100
        assert store._index(INDEX).integrity_check() == "ok"
