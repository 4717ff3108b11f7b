"""The service reports what it does: spans and metrics to an in-memory exporter, structured logs."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from strands_vector_memory import MiniLMEmbedder, NewMemory, Scope, ValidationError, VectorMemory
from strands_vector_memory._telemetry import Telemetry

from ..conftest import Clock
from .conftest import open_memory


class Recorder:
    def __init__(self) -> None:
        self.spans = InMemorySpanExporter()
        tracer_provider = TracerProvider()
        tracer_provider.add_span_processor(SimpleSpanProcessor(self.spans))
        self.reader = InMemoryMetricReader()
        self.telemetry = Telemetry(tracer_provider=tracer_provider, meter_provider=MeterProvider([self.reader]))

    def span_names(self) -> list[str]:
        return [span.name for span in self.spans.get_finished_spans()]

    def metrics(self) -> dict[str, Any]:
        data = self.reader.get_metrics_data()
        found: dict[str, Any] = {}
        for resource in data.resource_metrics if data else []:
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    points = list(metric.data.data_points)
                    if hasattr(points[0], "sum") and hasattr(points[0], "bucket_counts"):
                        found[metric.name] = (sum(p.count for p in points), sum(p.sum for p in points))
                    else:
                        found[metric.name] = sum(p.value for p in points)
        return found


@pytest.fixture
def recorded(
    backend_kind: str,
    tmp_path: Path,
    embedder: MiniLMEmbedder,
    clock: Clock,
    s3vectors_endpoint: str,
    aws_env: None,
) -> Iterator[tuple[VectorMemory, Recorder]]:
    recorder = Recorder()
    with open_memory(backend_kind, tmp_path, embedder, clock, s3vectors_endpoint, telemetry=recorder.telemetry) as m:
        yield m, recorder


def test_remember_recall_forget_emit_spans_and_metrics(recorded: tuple[VectorMemory, Recorder]) -> None:
    memory, recorder = recorded
    memory.remember_many(["Alice is allergic to peanuts", "Alice is allergic to peanuts"], user_id="alice")
    memory.remember("The deploy window is Tuesday", user_id="alice", memory_type="semantic")
    memory.remember("The deploy window is Thursday", user_id="alice", memory_type="semantic")
    assert memory.recall("what is Alice allergic to?", user_id="alice", top_k=2)
    assert memory.recall("anything", user_id="nobody") == []
    assert memory.forget(user_id="alice") == 4  # two memories, the newer fact, and the conflict note
    names = recorder.span_names()
    assert names.count("memory.remember") == 3 and names.count("memory.recall") == 2
    assert names.count("memory.forget") == 1
    recall_span = next(s for s in recorder.spans.get_finished_spans() if s.name == "memory.recall")
    assert recall_span.attributes is not None and recall_span.attributes["memory.results"] == 2
    metrics = recorder.metrics()
    assert metrics["memory.writes"] == 3
    assert metrics["memory.dedup.hits"] == 1
    assert metrics["memory.conflicts"] == 1
    assert metrics["memory.recalls"] == 2 and metrics["memory.recall.empty"] == 1
    assert metrics["memory.recall.duration"][0] == 2 and metrics["memory.recall.duration"][1] > 0
    assert metrics["memory.recall.results"] == (2, 2)
    assert metrics["memory.forgotten"] == 4


def test_maintenance_is_traced_and_failures_are_counted_by_type(
    recorded: tuple[VectorMemory, Recorder], clock: Clock
) -> None:
    memory, recorder = recorded
    memory.remember_many([NewMemory(f"note {i}", ttl=1) for i in range(3)], user_id="u")
    clock.now += 2
    memory.expire()
    memory.decay()
    with pytest.raises(ValidationError):
        memory.remember("   ", user_id="u")
    names = recorder.span_names()
    assert {"memory.expire", "memory.decay"} <= set(names)
    failed = [s for s in recorder.spans.get_finished_spans() if s.status.status_code.name == "ERROR"]
    assert [s.name for s in failed] == ["memory.remember"]
    metrics = recorder.metrics()
    assert metrics["memory.expired"] == 3
    assert metrics["memory.errors"] == 1


def test_structured_log_lines_carry_counts_not_content(
    recorded: tuple[VectorMemory, Recorder], caplog: pytest.LogCaptureFixture
) -> None:
    memory, _ = recorded
    with caplog.at_level(logging.INFO, logger="strands_vector_memory"):
        memory.remember("Carol's passport number is in the safe", scope=Scope(user_id="carol"))
    lines = [r for r in caplog.records if getattr(r, "event", None) == "remember"]
    assert len(lines) == 1
    assert lines[0].getMessage().startswith("event=remember ")
    assert "stored=1" in lines[0].getMessage()
    assert "passport" not in lines[0].getMessage()


def test_nothing_is_configured_by_default(tmp_path: Path, embedder: MiniLMEmbedder) -> None:
    from opentelemetry import trace

    with VectorMemory.open(tmp_path / "s", embedder=embedder) as memory:
        memory.remember("a note", user_id="u")
        memory.recall("note", user_id="u")
    assert type(trace.get_tracer_provider()).__name__ in {"ProxyTracerProvider", "NoOpTracerProvider"}
