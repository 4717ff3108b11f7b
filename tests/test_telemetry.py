"""Telemetry against the real OpenTelemetry SDK, wired to in-memory exporters (never the globals)."""

from __future__ import annotations

import gc
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import HistogramDataPoint, InMemoryMetricReader, Metric, NumberDataPoint
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import NoOpTracerProvider, StatusCode

from strands_vector_memory import VectorMemory
from strands_vector_memory import _telemetry as tm
from strands_vector_memory._telemetry import JsonLogFormatter, Telemetry
from strands_vector_memory.strands_agents import Identity, Outbox
from strands_vector_memory.strands_agents._outbox import TranscriptMessage
from strands_vector_memory.strands_agents._scripted import ScriptedModel
from strands_vector_memory.strands_agents._worker import MemoryWorker


@dataclass
class Wired:
    telemetry: Telemetry
    exporter: InMemorySpanExporter | None
    reader: InMemoryMetricReader

    def spans(self) -> list[Any]:
        assert self.exporter is not None
        return list(self.exporter.get_finished_spans())

    def metrics(self) -> dict[str, Metric]:
        data = self.reader.get_metrics_data()
        found: dict[str, Metric] = {}
        if data is None:  # nothing recorded yet
            return found
        for resource in data.resource_metrics:
            for scope in resource.scope_metrics:
                assert scope.scope.name == "strands_vector_memory"
                for metric in scope.metrics:
                    found[metric.name] = metric
        return found

    def points(self, name: str) -> list[Any]:
        metric = self.metrics().get(name)
        return [] if metric is None else list(metric.data.data_points)

    def total(self, name: str, **attributes: Any) -> float:
        return sum(
            p.value
            for p in self.points(name)
            if isinstance(p, NumberDataPoint) and dict(p.attributes or {}) == attributes
        )


@pytest.fixture
def wired() -> Iterator[Wired]:
    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider(shutdown_on_exit=False)
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader], shutdown_on_exit=False)
    yield Wired(Telemetry(tracer_provider=tracer_provider, meter_provider=meter_provider), spans, reader)
    tracer_provider.shutdown()
    meter_provider.shutdown()


# -- spans ---------------------------------------------------------------------------------


def test_a_span_carries_its_name_attributes_and_scope(wired: Wired) -> None:
    with wired.telemetry.span(
        tm.SPAN_RECALL, **{"memory.user_id": "alice", "memory.k": 5, "memory.team_id": None}
    ) as s:
        s.set_attribute("memory.results", 3)
    (span,) = wired.spans()
    assert span.name == "memory.recall"
    assert dict(span.attributes or {}) == {"memory.user_id": "alice", "memory.k": 5, "memory.results": 3}
    assert span.status.status_code is StatusCode.UNSET
    assert span.instrumentation_scope is not None
    assert span.instrumentation_scope.name == "strands_vector_memory"
    assert span.instrumentation_scope.version == tm._version()
    assert wired.points(tm.METRIC_ERRORS) == []


def test_nested_spans_are_parent_and_child(wired: Wired) -> None:
    with wired.telemetry.span(tm.SPAN_SUMMARISE), wired.telemetry.span(tm.SPAN_REMEMBER):
        pass
    child, parent = wired.spans()
    assert (child.name, parent.name) == ("memory.remember", "memory.summarise")
    assert child.parent is not None
    assert child.parent.span_id == parent.context.span_id


def test_a_failing_span_records_the_error_counts_it_and_reraises(wired: Wired) -> None:
    with pytest.raises(KeyError), wired.telemetry.span(tm.SPAN_FORGET, key="k1"):
        raise KeyError("k1")
    (span,) = wired.spans()
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description is not None
    assert span.status.description.startswith("KeyError")
    (event,) = span.events
    assert event.name == "exception"
    assert (event.attributes or {})["exception.type"] == "KeyError"
    assert wired.total(tm.METRIC_ERRORS, **{"error.type": "KeyError", "memory.operation": "memory.forget"}) == 1


def test_one_failure_is_one_error_however_many_layers_see_it(wired: Wired) -> None:
    caught: ValueError | None = None
    try:
        with wired.telemetry.span(tm.SPAN_SUMMARISE), wired.telemetry.span(tm.SPAN_REMEMBER):
            raise ValueError("bad")
    except ValueError as exc:
        caught = exc
    assert caught is not None
    wired.telemetry.error(caught, **{"memory.job.kind": "summary"})
    (point,) = wired.points(tm.METRIC_ERRORS)
    assert point.value == 1
    assert dict(point.attributes) == {"error.type": "ValueError", "memory.operation": "memory.remember"}
    assert [s.status.status_code for s in wired.spans()] == [StatusCode.ERROR, StatusCode.ERROR]


def test_error_counts_a_failure_by_class_name(wired: Wired) -> None:
    wired.telemetry.error(TimeoutError(), **{"memory.job.kind": "turns", "unused": None})
    wired.telemetry.error(TimeoutError(), **{"memory.job.kind": "turns"})
    wired.telemetry.error(RuntimeError())
    assert wired.total(tm.METRIC_ERRORS, **{"error.type": "TimeoutError", "memory.job.kind": "turns"}) == 2
    assert wired.total(tm.METRIC_ERRORS, **{"error.type": "RuntimeError"}) == 1


def test_a_span_does_not_count_what_it_does_not_catch(wired: Wired) -> None:
    with pytest.raises(KeyboardInterrupt), wired.telemetry.span(tm.SPAN_RECALL):
        raise KeyboardInterrupt
    assert wired.points(tm.METRIC_ERRORS) == []


# -- metrics -------------------------------------------------------------------------------


def test_recorded_recall_feeds_duration_results_recalls_and_empty(wired: Wired) -> None:
    wired.telemetry.recorded_recall(seconds=0.02, results=4, mode="hybrid")
    wired.telemetry.recorded_recall(seconds=0.3, results=0, mode="hybrid")
    found = wired.metrics()

    duration = found["memory.recall.duration"]
    assert duration.unit == "s"
    (d,) = duration.data.data_points
    assert isinstance(d, HistogramDataPoint)
    assert (d.count, d.sum, dict(d.attributes or {})) == (2, pytest.approx(0.32), {"mode": "hybrid"})
    assert tuple(d.explicit_bounds) == tm._DURATION_BUCKETS  # seconds, not the SDK's millisecond buckets

    (r,) = found["memory.recall.results"].data.data_points
    assert isinstance(r, HistogramDataPoint)
    assert (r.count, r.sum, r.min, r.max) == (2, 4, 0, 4)

    assert wired.total("memory.recalls", mode="hybrid") == 2
    assert wired.total("memory.recall.empty", mode="hybrid") == 1


def test_a_recall_with_results_leaves_the_empty_counter_alone(wired: Wired) -> None:
    wired.telemetry.recorded_recall(seconds=0.01, results=1)
    assert "memory.recall.empty" not in wired.metrics()


def test_the_counters(wired: Wired) -> None:
    t = wired.telemetry
    t.writes(3, tenant="acme")
    t.writes(2, tenant="acme")
    t.dedup_hits(tenant="acme")
    t.dedup_hits(2, tenant="acme")
    t.conflicts()
    t.expired(7)
    t.forgotten(4, reason=None)
    assert wired.total("memory.writes", tenant="acme") == 5
    assert wired.total("memory.dedup.hits", tenant="acme") == 3
    assert wired.total("memory.conflicts") == 1
    assert wired.total("memory.expired") == 7
    assert wired.total("memory.forgotten") == 4


def test_every_instrument_has_its_name_unit_and_description(wired: Wired) -> None:
    t = wired.telemetry
    t.recorded_recall(seconds=0.1, results=0)
    t.writes(1)
    t.dedup_hits()
    t.conflicts()
    t.expired(1)
    t.forgotten(1)
    t.error(ValueError())
    t.watch_outbox(lambda: 0)
    found = wired.metrics()
    expected = {
        tm.METRIC_RECALL_DURATION: "s",
        tm.METRIC_RECALL_RESULTS: "{memory}",
        tm.METRIC_RECALL_EMPTY: "{recall}",
        tm.METRIC_RECALLS: "{recall}",
        tm.METRIC_WRITES: "{memory}",
        tm.METRIC_DEDUP_HITS: "{memory}",
        tm.METRIC_CONFLICTS: "{conflict}",
        tm.METRIC_EXPIRED: "{memory}",
        tm.METRIC_FORGOTTEN: "{memory}",
        tm.METRIC_ERRORS: "{error}",
        tm.METRIC_OUTBOX_DEPTH: "{job}",
    }
    assert {name: metric.unit for name, metric in found.items()} == expected
    assert all(metric.description for metric in found.values())
    assert sorted(expected) == sorted(
        [
            "memory.recall.duration",
            "memory.recall.results",
            "memory.recall.empty",
            "memory.recalls",
            "memory.writes",
            "memory.dedup.hits",
            "memory.conflicts",
            "memory.expired",
            "memory.forgotten",
            "memory.errors",
            "memory.outbox.depth",
        ]
    )


def test_the_span_names() -> None:
    assert (
        tm.SPAN_REMEMBER,
        tm.SPAN_RECALL,
        tm.SPAN_FORGET,
        tm.SPAN_SUMMARISE,
        tm.SPAN_EXPIRE,
        tm.SPAN_CONSOLIDATE,
        tm.SPAN_DECAY,
    ) == (
        "memory.remember",
        "memory.recall",
        "memory.forget",
        "memory.summarise",
        "memory.expire",
        "memory.consolidate",
        "memory.decay",
    )


# -- the outbox gauge ----------------------------------------------------------------------


def _gauge(wired: Wired) -> dict[frozenset[tuple[str, Any]], float]:
    return {frozenset((p.attributes or {}).items()): p.value for p in wired.points(tm.METRIC_OUTBOX_DEPTH)}


def test_two_outboxes_report_on_one_gauge(wired: Wired) -> None:
    depths = {"a": 3, "b": 5}
    wired.telemetry.watch_outbox(lambda: depths["a"], plugin="a")
    wired.telemetry.watch_outbox(lambda: depths["b"], plugin="b")
    assert _gauge(wired) == {frozenset({("plugin", "a")}): 3, frozenset({("plugin", "b")}): 5}
    depths["a"] = 0
    assert _gauge(wired) == {frozenset({("plugin", "a")}): 0, frozenset({("plugin", "b")}): 5}


def test_outboxes_with_the_same_attributes_add_up(wired: Wired) -> None:
    wired.telemetry.watch_outbox(lambda: 2)
    wired.telemetry.watch_outbox(lambda: 4, unused=None)
    assert _gauge(wired) == {frozenset(): 6}


def test_a_broken_outbox_is_skipped_and_a_gone_one_unregisters(wired: Wired) -> None:
    calls = {"gone": 0}

    def broken() -> int:
        raise RuntimeError("closed")

    def gone() -> int | None:
        calls["gone"] += 1
        return None

    wired.telemetry.watch_outbox(broken, plugin="broken")
    wired.telemetry.watch_outbox(gone, plugin="gone")
    wired.telemetry.watch_outbox(lambda: 1, plugin="fine")
    assert _gauge(wired) == {frozenset({("plugin", "fine")}): 1}
    assert _gauge(wired) == {frozenset({("plugin", "fine")}): 1}
    assert calls["gone"] == 1  # dropped after it said it was gone


# -- logs ----------------------------------------------------------------------------------


def test_a_log_line_is_event_then_key_values(wired: Wired, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="strands_vector_memory"):
        wired.telemetry.log(
            "memory.expired",
            count=3,
            seconds=0.25,
            tenant="acme",
            note="two words",
            empty="",
            flag=True,
            missing=None,
        )
    (record,) = caplog.records
    assert record.name == "strands_vector_memory"
    assert record.levelno == logging.INFO
    assert record.getMessage() == (
        'event=memory.expired count=3 seconds=0.25 tenant=acme note="two words" empty="" flag=true'
    )
    assert record.event == "memory.expired"  # type: ignore[attr-defined]
    assert record.fields == {  # type: ignore[attr-defined]
        "count": 3,
        "seconds": 0.25,
        "tenant": "acme",
        "note": "two words",
        "empty": "",
        "flag": True,
    }
    assert record.funcName == "test_a_log_line_is_event_then_key_values"  # points at the caller


def test_a_log_line_quotes_what_would_break_parsing(wired: Wired, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="strands_vector_memory"):
        wired.telemetry.log("memory.job.failed", logging.WARNING, reason='a="b"\nc', key="k=v")
    (record,) = caplog.records
    assert record.levelno == logging.WARNING
    assert record.getMessage() == r'event=memory.job.failed reason="a=\"b\"\nc" key="k=v"'


def test_content_fields_never_reach_a_log_line(wired: Wired, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="strands_vector_memory"):
        wired.telemetry.log("memory.remember", content="my PIN is 1234", query="pin?", key="k1")
    (record,) = caplog.records
    assert "1234" not in record.getMessage()
    assert "pin?" not in record.getMessage()
    assert "1234" not in json.dumps(record.fields)  # type: ignore[attr-defined]
    assert "key=k1" in record.getMessage()


def test_a_disabled_level_logs_nothing(wired: Wired, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="strands_vector_memory"):
        wired.telemetry.log("memory.expired", count=1)
    assert caplog.records == []


def test_a_logger_can_be_passed_in(caplog: pytest.LogCaptureFixture) -> None:
    telemetry = Telemetry(logger=logging.getLogger("my.app.memory"))
    with caplog.at_level(logging.DEBUG, logger="my.app.memory"):
        telemetry.log("memory.decay", logging.DEBUG, count=2)
    (record,) = caplog.records
    assert (record.name, record.getMessage()) == ("my.app.memory", "event=memory.decay count=2")


def test_json_formatter_renders_one_object_per_record(wired: Wired, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="strands_vector_memory"):
        wired.telemetry.log("memory.forget", count=2, scope="acme/alice", message="shadowed", ts=0)
    (record,) = caplog.records
    out = json.loads(JsonLogFormatter().format(record))
    assert list(out) == ["ts", "level", "logger", "event", "count", "scope", "fields.message", "fields.ts", "message"]
    assert out["ts"].endswith("+00:00")
    assert out["level"] == "INFO"
    assert out["logger"] == "strands_vector_memory"
    assert out["event"] == "memory.forget"
    assert (out["count"], out["scope"], out["fields.message"], out["fields.ts"]) == (2, "acme/alice", "shadowed", 0)
    assert out["message"] == "event=memory.forget count=2 scope=acme/alice message=shadowed ts=0"


def test_json_formatter_handles_plain_records_and_exceptions() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.getLogger("other").makeRecord(
            "other", logging.ERROR, __file__, 1, "failed %s", ("x",), sys.exc_info()
        )
    out = json.loads(JsonLogFormatter().format(record))
    assert out["message"] == "failed x"
    assert "event" not in out
    assert "ValueError: boom" in out["exception"]


def test_json_formatter_stringifies_what_json_cannot_hold() -> None:
    record = logging.makeLogRecord({"msg": "m", "event": "e", "fields": {"when": object}})
    out = json.loads(JsonLogFormatter().format(record))
    assert out["when"] == str(object)


# -- nothing configured --------------------------------------------------------------------


def test_with_nothing_configured_everything_is_a_quiet_no_op() -> None:
    telemetry = Telemetry()
    with telemetry.span(tm.SPAN_RECALL, user="alice") as span:
        span.set_attribute("memory.results", 1)
        assert not span.is_recording()
    with pytest.raises(ValueError), telemetry.span(tm.SPAN_REMEMBER):
        raise ValueError("x")
    telemetry.recorded_recall(seconds=0.1, results=0)
    telemetry.writes(1)
    telemetry.dedup_hits()
    telemetry.conflicts()
    telemetry.expired(1)
    telemetry.forgotten(1)
    telemetry.error(RuntimeError())
    telemetry.watch_outbox(lambda: 1)
    telemetry.log("memory.expired", count=1)


def test_a_noop_tracer_still_counts_errors_when_metrics_are_on() -> None:
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader], shutdown_on_exit=False)
    wired = Wired(Telemetry(tracer_provider=NoOpTracerProvider(), meter_provider=meter_provider), None, reader)
    with pytest.raises(ValueError), wired.telemetry.span(tm.SPAN_EXPIRE):
        raise ValueError("x")
    assert wired.total(tm.METRIC_ERRORS, **{"error.type": "ValueError", "memory.operation": "memory.expire"}) == 1
    meter_provider.shutdown()


def _no_otel_env() -> dict[str, str]:
    # OTEL_PYTHON_TRACER_PROVIDER and friends would configure a provider from the environment.
    return {key: value for key, value in os.environ.items() if not key.startswith("OTEL_")}


def test_the_global_provider_is_used_when_none_is_passed() -> None:
    # Hermetic: setting a global provider is once per process, so it happens in a child.
    code = """
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from strands_vector_memory._telemetry import Telemetry

telemetry = Telemetry()  # made before the app configures OpenTelemetry
with telemetry.span("memory.recall"):
    pass
exporter = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
trace.set_tracer_provider(provider)
with telemetry.span("memory.remember"):
    pass
print([s.name for s in exporter.get_finished_spans()])
"""
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=_no_otel_env()
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['memory.remember']"


def test_importing_the_module_configures_no_global_provider() -> None:
    code = """
from opentelemetry import metrics, trace
import strands_vector_memory._telemetry
from strands_vector_memory._telemetry import Telemetry
Telemetry()
print(type(trace.get_tracer_provider()).__name__, type(metrics.get_meter_provider()).__name__)
"""
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=_no_otel_env()
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["ProxyTracerProvider", "_ProxyMeterProvider"]


# -- the worker ----------------------------------------------------------------------------

ALICE = Identity(user_id="alice", conversation_id="conv-1", tenant_id="acme", agent_id="helper")
T0 = 1_750_000_000.0


def _turn(question: str, answer: str) -> list[TranscriptMessage]:
    return [
        TranscriptMessage(role="user", text=question, at=T0, name=None),
        TranscriptMessage(role="assistant", text=answer, at=T0 + 1, name=None),
    ]


@pytest.fixture
def outbox(tmp_path: Path, clock: Any) -> Iterator[Outbox]:
    box = Outbox(tmp_path / "outbox.sqlite3", clock=clock)
    yield box
    box.close()


def _worker(outbox: Outbox, memory: VectorMemory, clock: Any, model: Any, telemetry: Telemetry) -> MemoryWorker:
    return MemoryWorker(
        outbox, memory, resolve_model=lambda _name: model, idle_timeout=None, clock=clock, telemetry=telemetry
    )


def test_the_worker_traces_summaries_and_gauges_its_outbox(
    wired: Wired, outbox: Outbox, memory: VectorMemory, clock: Any
) -> None:
    outbox.commit_turn(ALICE, _turn("My cat is Miso", "Nice."), agent_name="helper", end_session=True)
    worker = _worker(outbox, memory, clock, ScriptedModel(respond=lambda _r: "Alice has a cat."), wired.telemetry)
    assert _gauge(wired) == {frozenset(): 2}  # the turns job and the summary job
    assert worker.run_once() == 2
    assert _gauge(wired) == {frozenset(): 0}
    (span,) = [s for s in wired.spans() if s.name == "memory.summarise"]
    assert dict(span.attributes or {}) == {
        "memory.job.kind": "summary",
        "memory.transcript.messages": 2,
        "gen_ai.agent.name": "helper",
    }
    assert span.status.status_code is StatusCode.UNSET
    assert "Miso" not in json.dumps(dict(span.attributes or {}))  # counts, not content
    assert wired.points(tm.METRIC_ERRORS) == []


def test_a_failing_summary_is_one_error_on_an_error_span(
    wired: Wired, outbox: Outbox, memory: VectorMemory, clock: Any
) -> None:
    outbox.commit_turn(ALICE, _turn("hi", "hello"), end_session=True)
    model = ScriptedModel(respond=lambda _r: ConnectionError("throttled"))
    worker = _worker(outbox, memory, clock, model, wired.telemetry)
    assert worker.run_once() == 1  # the turns; the summary backs off
    (span,) = [s for s in wired.spans() if s.name == "memory.summarise"]
    assert span.status.status_code is StatusCode.ERROR
    assert "gen_ai.agent.name" not in (span.attributes or {})  # no agent name: dropped, not "None"
    (point,) = wired.points(tm.METRIC_ERRORS)
    assert (point.value, dict(point.attributes)) == (
        1,
        {"error.type": "ConnectionError", "memory.operation": "memory.summarise"},
    )
    assert _gauge(wired) == {frozenset(): 1}  # the summary waits to be retried


def test_a_failing_turns_job_is_counted_by_kind(
    wired: Wired, outbox: Outbox, memory: VectorMemory, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def down(*_args: Any, **_kwargs: Any) -> None:
        raise OSError("disk gone")

    monkeypatch.setattr(memory, "remember_many", down)
    outbox.commit_turn(ALICE, _turn("hi", "hello"))
    worker = _worker(outbox, memory, clock, None, wired.telemetry)
    assert worker.run_once() == 0
    assert wired.total(tm.METRIC_ERRORS, **{"error.type": "OSError", "memory.job.kind": "turns"}) == 1


def test_the_worker_reports_through_its_memory_services_telemetry(outbox: Outbox, clock: Any) -> None:
    telemetry = Telemetry()
    service: Any = SimpleNamespace(telemetry=telemetry)
    assert MemoryWorker(outbox, service, resolve_model=lambda _n: None, idle_timeout=None).telemetry is telemetry


def test_a_closed_outbox_drops_out_of_the_gauge(wired: Wired, tmp_path: Path, clock: Any) -> None:
    kept = Outbox(tmp_path / "kept.sqlite3", clock=clock)
    kept.commit_turn(ALICE, _turn("hi", "hello"))
    gone = Outbox(tmp_path / "gone.sqlite3", clock=clock)
    gone.commit_turn(ALICE, _turn("hi", "hello"), end_session=True)
    service: Any = SimpleNamespace()
    workers = [
        MemoryWorker(box, service, resolve_model=lambda _n: None, idle_timeout=None, telemetry=wired.telemetry)
        for box in (kept, gone)
    ]
    assert _gauge(wired) == {frozenset(): 3}
    gone.close()
    assert _gauge(wired) == {frozenset(): 1}  # closed: its reading fails and is skipped
    del workers, gone
    gc.collect()
    assert _gauge(wired) == {frozenset(): 1}
    assert len(wired.telemetry._outboxes) == 1  # the dead outbox's callback was dropped
    kept.close()
