"""End-to-end latency of the service with the bundled embedder: what an agent waits for.

Why next to the engine benchmark: the engine numbers exclude embedding, but an agent
calling ``remember`` or ``recall`` pays for tokenising and running the model, the
metadata stamping and a durable SQLite write. This measures exactly those public
calls on a small fresh store. Every text is distinct (the default embedder caches
vectors by exact text, and a cache hit would measure a dictionary lookup).
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final

from ..embedders import Embedder
from ..memory import VectorMemory

__all__ = ["ServiceBenchResult", "run_service_bench"]

TOP_K: Final = 5
WARMUP: Final = 5
USER: Final = "bench-user"
_SUBJECTS: Final = ("the deploy", "lunch", "the quarterly report", "the train", "her sister", "the API key rotation")
_DETAILS: Final = ("moved to Tuesday", "needs a reminder", "was cancelled", "is blocked on review", "went well")


@dataclass(frozen=True, slots=True)
class ServiceBenchResult:
    """Latencies of single public service calls, in milliseconds."""

    calls: int
    store_size: int
    """Memories in the store when ``recall`` was measured."""
    embedder: str
    remember_p50_ms: float
    remember_p95_ms: float
    recall_p50_ms: float
    recall_p95_ms: float

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view with the field names as keys."""
        return asdict(self)


def _text(i: int) -> str:
    """A short, distinct, memory-like sentence (distinct so no embedder cache can answer)."""
    return f"Note {i}: {_SUBJECTS[i % len(_SUBJECTS)]} {_DETAILS[(i // len(_SUBJECTS)) % len(_DETAILS)]}"


def _question(i: int) -> str:
    """A distinct question about one of the subjects the notes mention."""
    return f"what happened with {_SUBJECTS[i % len(_SUBJECTS)]}? (question {i})"


def _timed(call: Callable[..., object], *args: Any, **kwargs: Any) -> float:
    """Milliseconds one call takes."""
    start = time.perf_counter_ns()
    call(*args, **kwargs)
    return (time.perf_counter_ns() - start) / 1e6


def _percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run_service_bench(
    *,
    calls: int = 100,
    embedder: Embedder | None = None,
    workdir: str | os.PathLike[str] | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> ServiceBenchResult:
    """Time ``VectorMemory.remember`` (one short text) and ``recall`` (top 5), ``calls`` times each.

    Args:
        calls: Measured calls of each kind, after a few warm-up calls.
        embedder: Defaults to the bundled offline model.
        workdir: Directory for the store; by default a removed temporary directory.
        progress: Called as ``progress(stage, done, total)`` with stages
            ``"remember"`` and ``"recall"``.

    Returns:
        Median and 95th percentile latencies.
    """
    if calls < 1:
        raise ValueError("calls must be >= 1")
    report = progress or (lambda stage, done, total: None)
    with (
        tempfile.TemporaryDirectory(prefix="svm-service-bench-", dir=workdir) as tmp,
        VectorMemory.open(Path(tmp) / "store", embedder=embedder) as memory,
    ):
        for i in range(WARMUP):  # load the model, create the index, warm SQLite
            memory.remember(_text(i), user_id=USER)
        remember_ms: list[float] = []
        for i in range(calls):
            remember_ms.append(_timed(memory.remember, _text(WARMUP + i), user_id=USER))
            report("remember", i + 1, calls)
        for i in range(WARMUP):  # load the matrix cache
            memory.recall(_question(i), user_id=USER, top_k=TOP_K)
        recall_ms: list[float] = []
        for i in range(calls):
            recall_ms.append(_timed(memory.recall, _question(WARMUP + i), user_id=USER, top_k=TOP_K))
            report("recall", i + 1, calls)
        name = memory.embedder.name
    return ServiceBenchResult(
        calls=calls,
        store_size=WARMUP + calls,
        embedder=name,
        remember_p50_ms=statistics.median(remember_ms),
        remember_p95_ms=_percentile(remember_ms, 0.95),
        recall_p50_ms=statistics.median(recall_ms),
        recall_p95_ms=_percentile(recall_ms, 0.95),
    )
