"""The embedded engine across processes and crashes, and its matrix cache under churn.

* two processes writing one index at once lose nothing;
* ``kill -9`` in the middle of a write loop loses no acknowledged write and leaves a
  healthy file;
* a query sees another process's put, overwrite and delete at once (the matrix cache
  follows other processes' writes);
* the matrix cache stays exact through many puts, overwrites and deletes, including
  compaction and a full reload after the tombstone log was pruned.

Child processes run ``_child.py`` beside this file.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import strands_vector_memory
from strands_vector_memory.backends import EmbeddedBackend
from strands_vector_memory.backends.embedded import _index, _matrix
from strands_vector_memory.core import MemoryRecord, matches, parse_filter

CHILD = Path(__file__).with_name("_child.py")
SRC = Path(strands_vector_memory.__file__).resolve().parents[1]
TIMEOUT = 120
WATCHDOGS: dict[int, threading.Timer] = {}


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(SRC), env.get("PYTHONPATH", "")) if p)
    env["PYTHONWARNINGS"] = "error"
    return env


def spawn(*args: str) -> subprocess.Popen[str]:
    child = subprocess.Popen(
        [sys.executable, str(CHILD), *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=child_env(),
    )
    # A hung child must fail the test, not hang it: kill it after TIMEOUT seconds regardless.
    watchdog = threading.Timer(TIMEOUT, child.kill)
    watchdog.daemon = True
    watchdog.start()
    WATCHDOGS[child.pid] = watchdog
    return child


def read_line(child: subprocess.Popen[str]) -> str:
    assert child.stdout is not None
    line = child.stdout.readline()
    if not line:
        child.wait(timeout=TIMEOUT)
        stderr = child.stderr.read() if child.stderr else ""
        raise AssertionError(f"child exited with {child.returncode}: {stderr}")
    return line.rstrip("\n")


@pytest.fixture
def children() -> Iterator[list[subprocess.Popen[str]]]:
    """Children started by a test; any still running at the end are killed."""
    started: list[subprocess.Popen[str]] = []
    yield started
    for child in started:
        if child.poll() is None:
            child.kill()
        child.wait(timeout=TIMEOUT)
        WATCHDOGS.pop(child.pid).cancel()
        for stream in (child.stdin, child.stdout, child.stderr):
            if stream:
                stream.close()


def get_all(backend: EmbeddedBackend, index: str, keys: list[str], **kwargs: Any) -> list[MemoryRecord]:
    out: list[MemoryRecord] = []
    for start in range(0, len(keys), 100):
        out.extend(backend.get_vectors(index, keys[start : start + 100], **kwargs))
    return out


def list_keys(backend: EmbeddedBackend, index: str) -> list[str]:
    keys: list[str] = []
    token = None
    while True:
        page = backend.list_vectors(index, max_results=1000, next_token=token)
        keys.extend(r.key for r in page.records)
        token = page.next_token
        if token is None:
            return keys


# --------------------------------------------------------------------------- (a) concurrent writers


@pytest.mark.slow
def test_two_processes_writing_one_index_lose_nothing(tmp_path: Path, children: list[subprocess.Popen[str]]) -> None:
    bucket = tmp_path / "bucket"
    per_writer = 400
    with EmbeddedBackend(bucket) as backend:
        backend.create_index("shared", dimension=8)
        backend.query_vectors("shared", np.ones(8), top_k=1)  # this process's cache is now warm (and empty)

        for prefix, seed in (("alpha", 1), ("beta", 2)):
            children.append(spawn("writer", str(bucket), "shared", prefix, str(per_writer), str(seed)))
        for child in children:
            assert read_line(child) == "ready"
        for child in children:  # release both at once
            assert child.stdin is not None
            child.stdin.write("go\n")
            child.stdin.flush()
        for child in children:
            assert read_line(child) == "done"
            assert child.wait(timeout=TIMEOUT) == 0

        expected = [f"{prefix}-{i}" for prefix in ("alpha", "beta") for i in range(per_writer)]
        listed = list_keys(backend, "shared")
        assert len(listed) == len(set(listed)) == 2 * per_writer
        assert set(listed) == set(expected)

        records = get_all(backend, "shared", expected, return_vector=True)
        assert [r.key for r in records] == expected
        for record in records:
            prefix, n = record.key.split("-")
            assert dict(record.metadata or {}) == {"writer": prefix, "n": int(n)}

        # Every record is found by its own vector, through the cache warmed before the writes.
        for record in records:
            (first,) = backend.query_vectors("shared", record.vector, top_k=1, return_metadata=False)
            assert first.key == record.key
        for prefix in ("alpha", "beta"):
            found = backend.query_vectors("shared", np.ones(8), top_k=100, filter={"writer": prefix, "n": {"$lt": 50}})
            assert {m.key for m in found} == {f"{prefix}-{i}" for i in range(50)}


# --------------------------------------------------------------------------- (b) kill -9


def kill_after(bucket: Path, start: int, acks: int, children: list[subprocess.Popen[str]]) -> list[str]:
    """Run an ack-loop child from ``k<start>``, SIGKILL it after ``acks`` acknowledgements."""
    child = spawn("ack-loop", str(bucket), "crash", str(start))
    children.append(child)
    acknowledged = [read_line(child) for _ in range(acks)]
    os.kill(child.pid, signal.SIGKILL)
    assert child.wait(timeout=TIMEOUT) == -signal.SIGKILL
    return acknowledged


@pytest.mark.slow
def test_kill_9_during_writes_loses_no_acknowledged_write(
    tmp_path: Path, children: list[subprocess.Popen[str]]
) -> None:
    bucket = tmp_path / "bucket"
    dimension = 64
    with EmbeddedBackend(bucket) as backend:
        backend.create_index("crash", dimension=dimension, non_filterable_keys=["content"])

    rounds = 4
    acknowledged: list[str] = []
    for _ in range(rounds):
        # A killed round may have committed one record more than it acknowledged; start after it.
        with EmbeddedBackend(bucket) as backend:
            start = len(list_keys(backend, "crash"))
        acknowledged += kill_after(bucket, start, 60, children)

    file = bucket / "crash.sqlite3"
    connection = sqlite3.connect(file)
    try:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    finally:
        connection.close()

    with EmbeddedBackend(bucket) as backend:
        records = get_all(backend, "crash", acknowledged, return_vector=True)
        assert [r.key for r in records] == acknowledged, "an acknowledged write was lost"
        for record in records:
            n = int(record.key[1:])
            assert dict(record.metadata or {}) == {"n": n, "content": f"record {n} " + "x" * 1000}
            expected = np.random.default_rng(n).normal(size=dimension).astype(np.float32)
            np.testing.assert_array_equal(record.vector, expected)
        # No gaps and no half-written records: keys run k0..k<m>, at most one unacknowledged per kill.
        present = list_keys(backend, "crash")
        numbers = sorted(int(k[1:]) for k in present)
        assert numbers == list(range(len(numbers)))
        assert len(acknowledged) <= len(present) <= len(acknowledged) + rounds
        for record in get_all(backend, "crash", present):
            assert record.metadata is not None and record.metadata["n"] == int(record.key[1:])
        # The index takes writes again (no stale lock) and queries find the acknowledged records.
        backend.put_vectors("crash", [MemoryRecord("after", np.ones(dimension), {"n": -1})])
        (first,) = backend.query_vectors("crash", records[7].vector, top_k=1)
        assert first.key == records[7].key
        assert len(backend.query_vectors("crash", np.ones(dimension), top_k=100, filter={"n": {"$gte": 0}})) == 100


# --------------------------------------------------------------------------- (c) read-after-write


def command(child: subprocess.Popen[str], line: str) -> str:
    assert child.stdin is not None
    child.stdin.write(line + "\n")
    child.stdin.flush()
    answer = read_line(child)
    assert answer.startswith("ok"), answer
    return answer[3:]


def csv(vector: Any) -> str:
    return ",".join(repr(float(x)) for x in vector)


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_queries_see_other_processes_writes_at_once(
    tmp_path: Path, children: list[subprocess.Popen[str]], metric: str
) -> None:
    bucket = tmp_path / "bucket"
    dimension = 6
    rng = np.random.default_rng(5)
    with EmbeddedBackend(bucket) as backend:
        backend.create_index("raw", dimension=dimension, distance_metric=metric)  # type: ignore[arg-type]
        backend.put_vectors(
            "raw", [MemoryRecord(f"p{i}", rng.normal(size=dimension), {"by": "parent"}) for i in range(50)]
        )
        here, there = rng.normal(size=dimension) * 4, rng.normal(size=dimension) * 4
        before = [m.key for m in backend.query_vectors("raw", here, top_k=5)]  # warm the cache

        child = spawn("serve", str(bucket), "raw")
        children.append(child)

        command(child, f"put x {csv(here)} {json.dumps({'by': 'child'})}")
        (first, *_) = backend.query_vectors("raw", here, top_k=5)
        assert first.key == "x" and dict(first.metadata or {}) == {"by": "child"}
        assert [m.key for m in backend.query_vectors("raw", here, top_k=5, filter={"by": "child"})] == ["x"]

        command(child, f"put x {csv(there)} {json.dumps({'by': 'child', 'moved': True})}")  # overwrite
        assert backend.query_vectors("raw", there, top_k=1)[0].key == "x"
        assert [m.key for m in backend.query_vectors("raw", here, top_k=5)] == before
        assert [m.key for m in backend.query_vectors("raw", here, top_k=5, filter={"moved": True})] == ["x"]

        command(child, "delete x")
        assert "x" not in {m.key for m in backend.query_vectors("raw", there, top_k=100)}
        assert backend.query_vectors("raw", there, top_k=5, filter={"by": "child"}) == []
        assert backend.get_vectors("raw", ["x"]) == []

        # And the other way round: the child sees the parent's writes.
        backend.put_vectors("raw", [MemoryRecord("y", there, {"by": "parent"})])
        assert command(child, f"query {csv(there)}").split()[0] == "y"
        backend.delete_vectors("raw", ["y"])
        assert "y" not in command(child, f"query {csv(there)}").split()
        assert child.stdin is not None
        child.stdin.write("quit\n")
        child.stdin.flush()
        assert child.wait(timeout=TIMEOUT) == 0


# --------------------------------------------------------------------------- (d) matrix cache under churn


def brute_force(
    state: dict[str, tuple[np.ndarray, dict[str, Any]]], query: np.ndarray, metric: str
) -> dict[str, float]:
    q = query.astype(np.float64)
    out = {}
    for key, (vector, _) in state.items():
        v = vector.astype(np.float64)
        if metric == "cosine":
            out[key] = float(1.0 - v @ q / (np.linalg.norm(v) * np.linalg.norm(q)))
        else:
            out[key] = float(np.linalg.norm(v - q))
    return out


def assert_exact(got: list[Any], truth: dict[str, float], k: int, tol: float = 1e-4) -> None:
    expected = sorted(truth, key=lambda key: (truth[key], key))[:k]
    assert len(got) == len(expected)
    keys = [m.key for m in got]
    assert len(set(keys)) == len(keys)
    for match in got:
        assert match.distance == pytest.approx(truth[match.key], abs=tol, rel=tol)
    if expected:
        kth = truth[expected[-1]]
        assert all(truth[key] <= kth + tol for key in keys)
        ranked = [truth[key] for key in keys]
        assert all(b >= a - tol for a, b in itertools.pairwise(ranked))


@pytest.mark.slow
@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_matrix_cache_stays_exact_through_churn(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, metric: str) -> None:
    # Count the cache's maintenance paths so the test proves it went through them.
    calls = {"compact": 0, "reload": 0}
    compact, reset = _matrix.MatrixCache._compact, _matrix.MatrixCache.reset

    def counted_compact(self: _matrix.MatrixCache) -> None:
        calls["compact"] += 1
        compact(self)

    def counted_reset(self: _matrix.MatrixCache) -> None:
        if getattr(self, "seq", -1) >= 0:  # a cache that had synced is thrown away: a full reload
            calls["reload"] += 1
        reset(self)

    monkeypatch.setattr(_matrix.MatrixCache, "_compact", counted_compact)
    monkeypatch.setattr(_matrix.MatrixCache, "reset", counted_reset)
    monkeypatch.setattr(_index, "_TOMBSTONE_LIMIT", 300)  # prune the tombstone log early

    dimension = 12
    rng = np.random.default_rng(2024)
    writer = EmbeddedBackend(tmp_path / "bucket")
    # Two more connections with their own caches, as other processes have: one follows every
    # write, one falls far behind (past the pruned tombstone log) and must reload in full.
    follower = EmbeddedBackend(tmp_path / "bucket")
    lagging = EmbeddedBackend(tmp_path / "bucket")
    writer.create_index("churn", dimension=dimension, distance_metric=metric)  # type: ignore[arg-type]
    state: dict[str, tuple[np.ndarray, dict[str, Any]]] = {}
    next_key = 0

    def check(backends: list[EmbeddedBackend]) -> None:
        for _ in range(3):
            q = rng.normal(size=dimension).astype(np.float32)
            truth = brute_force(state, q, metric)
            for backend in backends:
                assert_exact(backend.query_vectors("churn", q, top_k=25, return_metadata=False), truth, 25)
            document = {"group": int(rng.integers(0, 4))}
            node = parse_filter(document)
            allowed = {k: v for k, v in truth.items() if matches(node, state[k][1])}
            for backend in backends:
                assert_exact(backend.query_vectors("churn", q, top_k=25, filter=document), allowed, 25)

    try:
        for step in range(60):
            action = ["put", "put", "overwrite", "delete"][step % 4] if step < 40 else ["delete", "put"][step % 2]
            if action == "put":
                batch = []
                for _ in range(int(rng.integers(20, 60))):
                    key = f"k{next_key}"
                    next_key += 1
                    batch.append(
                        (key, rng.normal(size=dimension).astype(np.float32), {"group": int(rng.integers(0, 4))})
                    )
            elif action == "overwrite" and state:
                keys = rng.choice(sorted(state), size=min(len(state), 30), replace=False)
                batch = [
                    (str(k), rng.normal(size=dimension).astype(np.float32), {"group": int(rng.integers(0, 4))})
                    for k in keys
                ]
            else:
                batch = []
            if batch:
                writer.put_vectors("churn", [MemoryRecord(k, v, md) for k, v, md in batch])
                state.update({k: (v, md) for k, v, md in batch})
            if action == "delete" and state:
                doomed = [str(k) for k in rng.choice(sorted(state), size=max(1, len(state) * 2 // 5), replace=False)]
                for start in range(0, len(doomed), 500):
                    writer.delete_vectors("churn", doomed[start : start + 500])
                for k in doomed:
                    del state[k]
            check([writer, follower, lagging] if step in (3, 7) else [writer, follower])
        check([writer, follower, lagging])
        assert sorted(list_keys(writer, "churn"), key=lambda k: int(k[1:])) == sorted(state, key=lambda k: int(k[1:]))
        assert calls["compact"] > 0, "no compaction happened: delete more"
        assert calls["reload"] > 0, "no cache was reloaded after the tombstone log was pruned"
    finally:
        for backend in (writer, follower, lagging):
            backend.close()
