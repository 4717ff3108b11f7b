"""Benchmark of the embedded engine against plain numpy on the same data and queries.

The question it answers: how much does the engine (durable SQLite storage, S3 Vectors
filters, a per-process matrix cache) cost over the fastest exact search one could
hand-write with numpy? So the baselines use the same float32 matrix, the same query
vectors and the same top-10 semantics (cosine distance, exact, ties by insertion
order), and engine and numpy calls alternate query by query (which one goes first
alternates too) so that load from other processes on a shared machine hits both alike.
The engine's answers are also checked against the baseline (``recall_at_10``): an
exact engine must score 1.0, and a fast but wrong engine must not look good.
"""

from __future__ import annotations

import os
import platform
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from ..backends import EmbeddedBackend, QueryMatch
from ..core import Field
from ._data import USERS, Corpus, index_of, make_corpus, make_queries, user_name

__all__ = ["EngineBenchResult", "ProgressCallback", "run_engine_bench"]

ProgressCallback = Callable[[str, int, int], None]
"""``(stage, done, total)``; stages are ``"generate"``, ``"insert"`` and ``"query"``."""

TOP_K: Final = 10
BATCH: Final = 500
"""The ``put_vectors`` maximum: one durable transaction per 500 records."""
WARMUP: Final = 10
INDEX: Final = "bench"

IdArray = NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class EngineBenchResult:
    """Numbers from one benchmark run: latencies in milliseconds (``_ms``), durations in seconds."""

    n: int
    dim: int
    queries: int
    seed: int
    clusters: int
    users: int
    insert_seconds: float
    insert_per_s: float
    cache_load_s: float
    unfiltered_p50_ms: float
    unfiltered_p95_ms: float
    filtered_p50_ms: float
    filtered_p95_ms: float
    numpy_unfiltered_p50_ms: float
    numpy_unfiltered_p95_ms: float
    numpy_filtered_p50_ms: float
    """Mask over the ``user_id`` strings, exactly the values the engine stores and filters."""
    numpy_filtered_p95_ms: float
    numpy_filtered_intcodes_p50_ms: float
    """The same mask over dictionary-encoded integer user ids: a stricter, hand-tuned baseline."""
    unfiltered_ratio_vs_numpy: float
    filtered_ratio_vs_numpy: float
    filtered_ratio_vs_numpy_intcodes: float
    recall_at_10: float
    """Mean overlap of the engine's top 10 with the exact numpy top 10 (1.0 = exact)."""
    filtered_user_match: float
    """Share of filtered results whose metadata has the filtered ``user_id`` (must be 1.0)."""
    neighbours_in_cluster: float
    """Share of unfiltered top-10 results from the query's own cluster: the data is clustered."""
    index_bytes: int
    python_version: str
    numpy_version: str
    sqlite_version: str
    cpu_count: int
    workdir: str | None
    """Where the index was kept, or ``None`` when it lived in a removed temporary directory."""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view with the field names as keys (the CLI's ``--json`` shape)."""
        return asdict(self)


def run_engine_bench(
    *,
    n: int = 100_000,
    dim: int = 384,
    queries: int = 200,
    seed: int = 0,
    workdir: str | os.PathLike[str] | None = None,
    progress: ProgressCallback | None = None,
) -> EngineBenchResult:
    """Insert ``n`` synthetic memories durably, then time exact top-10 queries against numpy.

    Args:
        n: Records to insert (at least 10).
        dim: Vector dimension.
        queries: Measured queries of each kind (unfiltered and filtered by one user).
        seed: Seed for data and queries, so two runs measure the same work.
        workdir: Keep the index in a new subdirectory of this directory; by default a
            temporary directory is used and removed afterwards.
        progress: Called as ``progress(stage, done, total)`` while generating,
            inserting and querying, for a progress bar.

    Returns:
        Throughput, latency percentiles, ratios to numpy and exactness checks.
    """
    if n < TOP_K or dim < 1 or queries < 1:
        raise ValueError(f"need n >= {TOP_K}, dim >= 1 and queries >= 1")
    report = progress or (lambda stage, done, total: None)
    rng = np.random.default_rng(seed)
    report("generate", 0, 1)
    corpus = make_corpus(n, dim, rng)
    warm, _, warm_users = make_queries(corpus, WARMUP, rng)
    vectors, clusters, users = make_queries(corpus, queries, rng)
    report("generate", 1, 1)
    with _bucket(workdir) as bucket:
        with EmbeddedBackend(bucket) as backend:
            backend.create_index(INDEX, dimension=dim, non_filterable_keys=sorted(Field.NON_FILTERABLE))
            insert_s = _insert(backend, corpus, report)
            # The same normalisation the engine's cache applies, so both score identical rows.
            matrix = corpus.vectors / np.linalg.norm(corpus.vectors, axis=1, keepdims=True)
            start = time.perf_counter_ns()
            backend.query_vectors(INDEX, warm[0], top_k=TOP_K)
            cache_load_s = (time.perf_counter_ns() - start) / 1e9
            bench = _QueryBench(backend, matrix, corpus)
            # One phase per query kind, each measured in its own steady state: an unfiltered
            # scan streams the whole matrix through the CPU caches and would leave every
            # filtered query after it cold. Within a phase engine and numpy alternate.
            for phase, filtered in enumerate((False, True)):
                bench.measuring = False
                for q, u in zip(warm, warm_users.tolist(), strict=True):
                    bench.run(q, u if filtered else None, first="engine")
                bench.measuring = True
                for i, (q, u) in enumerate(zip(vectors, users.tolist(), strict=True)):
                    first = "engine" if i % 2 == 0 else "numpy"
                    bench.run(q, u if filtered else None, first=first, cluster=None if filtered else int(clusters[i]))
                    report("query", phase * queries + i + 1, 2 * queries)
        index_bytes = sum(p.stat().st_size for p in Path(bucket).iterdir() if p.is_file())
    engine_unf, numpy_unf = _pct(bench.times["engine", False]), _pct(bench.times["numpy", False])
    engine_flt, numpy_flt = _pct(bench.times["engine", True]), _pct(bench.times["numpy", True])
    numpy_codes = _pct(bench.times["numpy-intcodes", True])
    return EngineBenchResult(
        n=n,
        dim=dim,
        queries=queries,
        seed=seed,
        clusters=int(corpus.centres.shape[0]),
        users=USERS,
        insert_seconds=insert_s,
        insert_per_s=n / insert_s,
        cache_load_s=cache_load_s,
        unfiltered_p50_ms=engine_unf[0],
        unfiltered_p95_ms=engine_unf[1],
        filtered_p50_ms=engine_flt[0],
        filtered_p95_ms=engine_flt[1],
        numpy_unfiltered_p50_ms=numpy_unf[0],
        numpy_unfiltered_p95_ms=numpy_unf[1],
        numpy_filtered_p50_ms=numpy_flt[0],
        numpy_filtered_p95_ms=numpy_flt[1],
        numpy_filtered_intcodes_p50_ms=numpy_codes[0],
        unfiltered_ratio_vs_numpy=engine_unf[0] / numpy_unf[0],
        filtered_ratio_vs_numpy=engine_flt[0] / numpy_flt[0],
        filtered_ratio_vs_numpy_intcodes=engine_flt[0] / numpy_codes[0],
        recall_at_10=float(np.mean(bench.recalls)),
        filtered_user_match=bench.user_hits / max(1, bench.user_total),
        neighbours_in_cluster=bench.cluster_hits / max(1, bench.cluster_total),
        index_bytes=index_bytes,
        python_version=platform.python_version(),
        numpy_version=np.__version__,
        sqlite_version=sqlite3.sqlite_version,
        cpu_count=os.cpu_count() or 1,
        workdir=None if workdir is None else str(bucket),
    )


@contextmanager
def _bucket(workdir: str | os.PathLike[str] | None) -> Iterator[str]:
    """A fresh bucket directory: temporary (removed after) or new under ``workdir`` (kept)."""
    if workdir is None:
        with tempfile.TemporaryDirectory(prefix="svm-engine-bench-") as path:
            yield path
        return
    Path(workdir).mkdir(parents=True, exist_ok=True)
    yield tempfile.mkdtemp(prefix="engine-bench-", dir=workdir)


def _insert(backend: EmbeddedBackend, corpus: Corpus, report: ProgressCallback) -> float:
    """Durably insert every record in 500-record transactions; returns wall seconds.

    Building the ``MemoryRecord`` objects is counted: a caller has to build them too.
    """
    total = corpus.size
    start = time.perf_counter_ns()
    for lo in range(0, total, BATCH):
        hi = min(lo + BATCH, total)
        backend.put_vectors(INDEX, corpus.records(lo, hi))
        report("insert", hi, total)
    return (time.perf_counter_ns() - start) / 1e9


def _top(distances: NDArray[np.float32], k: int) -> IdArray:
    """Positions of the ``k`` smallest distances, nearest first (ties by position)."""
    k = min(k, int(distances.size))
    part = np.argpartition(distances, k - 1)[:k] if k < distances.size else np.arange(distances.size)
    return part[np.lexsort((part, distances[part]))]


def numpy_unfiltered(matrix: NDArray[np.float32], query: NDArray[np.float32]) -> IdArray:
    """Baseline: brute-force cosine top 10 over the whole normalised matrix."""
    q = query / np.linalg.norm(query)
    return _top(1.0 - matrix @ q, TOP_K)


def numpy_filtered(
    matrix: NDArray[np.float32], users: NDArray[Any], user: int | str, query: NDArray[np.float32]
) -> IdArray:
    """Baseline: mask the user's rows, gather them, brute-force their top 10."""
    idx = np.flatnonzero(users == user)
    if idx.size == 0:
        return idx
    q = query / np.linalg.norm(query)
    return idx[_top(1.0 - matrix[idx] @ q, TOP_K)]


class _QueryBench:
    """Times one engine and one numpy call per query and checks their answers agree."""

    def __init__(self, backend: EmbeddedBackend, matrix: NDArray[np.float32], corpus: Corpus) -> None:
        self._backend = backend
        self._matrix = matrix
        self._corpus = corpus
        self.measuring = False
        """Whether calls count (off while warming up)."""
        self._user_ids = np.array([user_name(u) for u in corpus.users.tolist()])
        self.times: dict[tuple[str, bool], list[int]] = {
            (who, filtered): [] for who in ("engine", "numpy", "numpy-intcodes") for filtered in (False, True)
        }
        self.recalls: list[float] = []
        self.user_hits = self.user_total = self.cluster_hits = self.cluster_total = 0

    def run(self, query: NDArray[np.float32], user: int | None, *, first: str, cluster: int | None = None) -> None:
        """One engine call and one numpy call (in the order ``first`` says) for ``query``."""
        if first == "engine":
            got, engine_ns = self._engine(query, user)
            expected, numpy_ns = self._numpy(query, user)
        else:
            expected, numpy_ns = self._numpy(query, user)
            got, engine_ns = self._engine(query, user)
        if user is not None:
            start = time.perf_counter_ns()
            coded = numpy_filtered(self._matrix, self._corpus.users, user, query)
            codes_ns = time.perf_counter_ns() - start
            assert np.array_equal(coded, expected)
        if not self.measuring:
            return
        self.times["engine", user is not None].append(engine_ns)
        self.times["numpy", user is not None].append(numpy_ns)
        if user is not None:
            self.times["numpy-intcodes", True].append(codes_ns)
        if expected.size:
            self.recalls.append(len({index_of(m.key) for m in got} & set(expected.tolist())) / expected.size)
        if user is not None:
            self.user_total += len(got)
            self.user_hits += sum((m.metadata or {}).get(Field.USER_ID) == user_name(user) for m in got)
        if cluster is not None:
            rows = [index_of(m.key) for m in got]
            self.cluster_total += len(rows)
            self.cluster_hits += int(np.count_nonzero(self._corpus.clusters[rows] == cluster))

    def _engine(self, query: NDArray[np.float32], user: int | None) -> tuple[list[QueryMatch], int]:
        """Timed engine query, with metadata as a recall asks for it."""
        flt = None if user is None else {Field.USER_ID: user_name(user)}
        start = time.perf_counter_ns()
        matches = self._backend.query_vectors(INDEX, query, top_k=TOP_K, filter=flt, return_metadata=True)
        return matches, time.perf_counter_ns() - start

    def _numpy(self, query: NDArray[np.float32], user: int | None) -> tuple[IdArray, int]:
        """Timed numpy baseline for the same query; returns row numbers."""
        start = time.perf_counter_ns()
        if user is None:
            result = numpy_unfiltered(self._matrix, query)
        else:
            result = numpy_filtered(self._matrix, self._user_ids, user_name(user), query)
        return result, time.perf_counter_ns() - start


def _pct(samples_ns: list[int]) -> tuple[float, float]:
    """p50 and p95 in milliseconds."""
    p50, p95 = np.percentile(np.asarray(samples_ns, dtype=np.float64), [50, 95])
    return float(p50) / 1e6, float(p95) / 1e6
