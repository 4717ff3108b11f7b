"""The engine benchmark runs end to end on a small corpus and its checks hold.

Speed is measured, never asserted here: only structure, exactness and cleanup.
"""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path

import numpy as np
import pytest

from strands_vector_memory.backends import EmbeddedBackend
from strands_vector_memory.bench import EngineBenchResult, run_engine_bench
from strands_vector_memory.bench._data import USERS, index_of, key_of, make_corpus, make_queries, user_name
from strands_vector_memory.bench._engine import INDEX, numpy_filtered, numpy_unfiltered

REQUIRED_KEYS = {
    "n",
    "dim",
    "queries",
    "insert_per_s",
    "insert_seconds",
    "cache_load_s",
    "unfiltered_p50_ms",
    "unfiltered_p95_ms",
    "filtered_p50_ms",
    "filtered_p95_ms",
    "numpy_unfiltered_p50_ms",
    "numpy_unfiltered_p95_ms",
    "numpy_filtered_p50_ms",
    "numpy_filtered_p95_ms",
    "unfiltered_ratio_vs_numpy",
    "filtered_ratio_vs_numpy",
    "recall_at_10",
    "index_bytes",
    "python_version",
    "numpy_version",
    "cpu_count",
}


@pytest.fixture(scope="module")
def kept(tmp_path_factory: pytest.TempPathFactory) -> tuple[EngineBenchResult, list[tuple[str, int, int]]]:
    """One small run whose index is kept, shared by the tests that only read it."""
    calls: list[tuple[str, int, int]] = []
    workdir = tmp_path_factory.mktemp("bench")
    result = run_engine_bench(
        n=3000, dim=64, queries=20, seed=7, workdir=workdir, progress=lambda s, d, t: calls.append((s, d, t))
    )
    return result, calls


def test_result_structure_and_json(kept: tuple[EngineBenchResult, list[tuple[str, int, int]]]) -> None:
    result, _ = kept
    data = result.to_dict()
    assert data.keys() >= REQUIRED_KEYS
    assert json.loads(json.dumps(data)) == data
    assert (data["n"], data["dim"], data["queries"]) == (3000, 64, 20)
    assert data["cpu_count"] >= 1
    assert data["numpy_version"] == np.__version__


def test_numbers_are_positive_and_finite(kept: tuple[EngineBenchResult, list[tuple[str, int, int]]]) -> None:
    data = kept[0].to_dict()
    for name, value in data.items():
        if isinstance(value, float):
            assert math.isfinite(value) and value > 0, name
    assert data["index_bytes"] > 3000 * 64 * 4  # at least the raw vectors are on disk


def test_engine_is_exact_and_filters_hold(kept: tuple[EngineBenchResult, list[tuple[str, int, int]]]) -> None:
    result, _ = kept
    assert result.recall_at_10 == 1.0
    assert result.filtered_user_match == 1.0
    assert result.neighbours_in_cluster >= 0.9  # the data is clustered: neighbours are meaningful


def test_filtered_results_belong_to_the_user(kept: tuple[EngineBenchResult, list[tuple[str, int, int]]]) -> None:
    result, _ = kept
    assert result.workdir is not None
    rng = np.random.default_rng(1)
    corpus = make_corpus(3000, 64, np.random.default_rng(7))
    queries, _, users = make_queries(corpus, 10, rng)
    with EmbeddedBackend(result.workdir) as backend:
        for query, user in zip(queries, users.tolist(), strict=True):
            matches = backend.query_vectors(INDEX, query, top_k=10, filter={"user_id": user_name(user)})
            assert len(matches) == 10
            assert all(m.metadata is not None and m.metadata["user_id"] == user_name(user) for m in matches)
            rows = [index_of(m.key) for m in matches]
            assert all(corpus.users[r] == user for r in rows)  # the stored corpus is the generated one


def test_progress_reports_every_stage(kept: tuple[EngineBenchResult, list[tuple[str, int, int]]]) -> None:
    _, calls = kept
    finals = {stage: (done, total) for stage, done, total in calls}
    assert finals == {"generate": (1, 1), "insert": (3000, 3000), "query": (40, 40)}  # both kinds
    inserts = [done for stage, done, _ in calls if stage == "insert"]
    assert inserts == sorted(inserts) and len(inserts) == 6  # one call per 500-record batch


def test_workdir_keeps_the_index(kept: tuple[EngineBenchResult, list[tuple[str, int, int]]]) -> None:
    result, _ = kept
    assert result.workdir is not None
    assert (Path(result.workdir) / f"{INDEX}.sqlite3").is_file()


def test_temporary_directory_is_removed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    result = run_engine_bench(n=200, dim=8, queries=3)
    assert result.workdir is None
    assert list(tmp_path.iterdir()) == []
    assert result.recall_at_10 == 1.0


def test_baselines_agree_with_a_full_sort() -> None:
    corpus = make_corpus(2000, 32, np.random.default_rng(3))
    matrix = corpus.vectors / np.linalg.norm(corpus.vectors, axis=1, keepdims=True)
    queries, _, users = make_queries(corpus, 5, np.random.default_rng(4))
    for query, user in zip(queries, users.tolist(), strict=True):
        q = query / np.linalg.norm(query)
        distances = 1.0 - matrix @ q
        assert numpy_unfiltered(matrix, query).tolist() == np.argsort(distances, kind="stable")[:10].tolist()
        mine = np.flatnonzero(corpus.users == user)
        expected = mine[np.argsort(distances[mine], kind="stable")[:10]]
        got = numpy_filtered(matrix, corpus.users, user, query)
        assert got.tolist() == expected.tolist()
        assert all(corpus.users[got] == user)


def test_synthetic_memories_look_like_memories() -> None:
    corpus = make_corpus(600, 16, np.random.default_rng(0))
    records = corpus.records(0, 3)
    assert [r.key for r in records] == [key_of(i) for i in range(3)]
    meta = records[0].metadata
    assert meta is not None
    assert set(meta) == {"user_id", "memory_type", "created_at", "content"}
    assert isinstance(meta["created_at"], float) and meta["content"]
    assert set(corpus.users.tolist()) <= set(range(USERS))


@pytest.mark.parametrize(("n", "dim", "queries"), [(5, 64, 20), (3000, 64, 0), (3000, 0, 20)])
def test_rejects_degenerate_sizes(n: int, dim: int, queries: int) -> None:
    with pytest.raises(ValueError):
        run_engine_bench(n=n, dim=dim, queries=queries)
