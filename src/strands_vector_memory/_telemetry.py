"""OpenTelemetry spans and metrics, and structured log lines, for one memory service.

Why the OpenTelemetry *API* only: a library must not decide where its telemetry goes.
With no SDK configured (the default) every call below is a no-op and nothing is sent
anywhere; an application that configures OpenTelemetry globally gets our spans and
metrics next to its own, and a caller can hand in its own providers instead (the tests
pass in-memory ones). Importing this module configures nothing.

What is recorded is metadata only: counts, durations, memory keys, the ids that make up
a scope, job kinds, exception class names. Memory content (what users said, what a
query asked, what a summary says) is user data and is never put in a metric, a span
attribute set by this library, or a log line.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from datetime import datetime, timezone
from importlib import metadata
from typing import Any, Final

from opentelemetry import metrics, trace
from opentelemetry.metrics import CallbackOptions, Histogram, Meter, MeterProvider, Observation
from opentelemetry.trace import (
    INVALID_SPAN,
    NoOpTracerProvider,
    ProxyTracerProvider,
    Span,
    Status,
    StatusCode,
    TracerProvider,
)

__all__ = [
    "ATTR_AGENT_NAME",
    "ATTR_ERROR_TYPE",
    "ATTR_JOB_KIND",
    "ATTR_OPERATION",
    "ATTR_TRANSCRIPT_MESSAGES",
    "LOGGER_NAME",
    "METRIC_CONFLICTS",
    "METRIC_DEDUP_HITS",
    "METRIC_ERRORS",
    "METRIC_EXPIRED",
    "METRIC_FORGOTTEN",
    "METRIC_OUTBOX_DEPTH",
    "METRIC_RECALLS",
    "METRIC_RECALL_DURATION",
    "METRIC_RECALL_EMPTY",
    "METRIC_RECALL_RESULTS",
    "METRIC_WRITES",
    "SCOPE_NAME",
    "SPAN_CONSOLIDATE",
    "SPAN_DECAY",
    "SPAN_EXPIRE",
    "SPAN_FORGET",
    "SPAN_RECALL",
    "SPAN_REMEMBER",
    "SPAN_SUMMARISE",
    "AttributeValue",
    "JsonLogFormatter",
    "Telemetry",
]

AttributeValue = str | int | float | bool | None
"""What a span, metric or log attribute may be; ``None`` means "not known here" and is dropped."""

SCOPE_NAME: Final = "strands_vector_memory"
"""The instrumentation scope of every span and metric (and the default logger's name)."""
LOGGER_NAME: Final = SCOPE_NAME

SPAN_REMEMBER: Final = "memory.remember"
SPAN_RECALL: Final = "memory.recall"
SPAN_FORGET: Final = "memory.forget"
SPAN_SUMMARISE: Final = "memory.summarise"
SPAN_EXPIRE: Final = "memory.expire"
SPAN_CONSOLIDATE: Final = "memory.consolidate"
SPAN_DECAY: Final = "memory.decay"

METRIC_RECALL_DURATION: Final = "memory.recall.duration"
METRIC_RECALL_RESULTS: Final = "memory.recall.results"
METRIC_RECALL_EMPTY: Final = "memory.recall.empty"
METRIC_RECALLS: Final = "memory.recalls"
METRIC_WRITES: Final = "memory.writes"
METRIC_DEDUP_HITS: Final = "memory.dedup.hits"
METRIC_CONFLICTS: Final = "memory.conflicts"
METRIC_EXPIRED: Final = "memory.expired"
METRIC_FORGOTTEN: Final = "memory.forgotten"
METRIC_ERRORS: Final = "memory.errors"
METRIC_OUTBOX_DEPTH: Final = "memory.outbox.depth"

ATTR_ERROR_TYPE: Final = "error.type"
"""The failing exception's class name (OpenTelemetry's semantic-convention key)."""
ATTR_OPERATION: Final = "memory.operation"
"""On ``memory.errors`` counted by :meth:`Telemetry.span`: the span it failed in."""
ATTR_JOB_KIND: Final = "memory.job.kind"
ATTR_TRANSCRIPT_MESSAGES: Final = "memory.transcript.messages"
ATTR_AGENT_NAME: Final = "gen_ai.agent.name"  # the GenAI semantic convention, as Strands' own spans use

# Recall latency is in seconds, so the SDK's default buckets (0, 5, 10, 25, ... meant for
# milliseconds) would put every recall in the first one; these follow the semantic
# conventions' advice for request durations.
_DURATION_BUCKETS: Final = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)
_RESULT_BUCKETS: Final = (0.0, 1.0, 2.0, 3.0, 5.0, 10.0, 20.0, 50.0, 100.0)

# Field names that would carry user text if a caller slipped: redacted in log lines.
_CONTENT_FIELDS: Final = frozenset({"content", "text", "query", "transcript"})
# Marks an exception already counted in memory.errors, so a failure seen by nested spans
# and by the caller that handles it is one error, not three.
_COUNTED: Final = "_strands_memory_error_counted"
_JSON_RECORD_KEYS: Final = frozenset({"ts", "level", "logger", "event", "message", "exception"})

_internal_log = logging.getLogger(f"{SCOPE_NAME}.telemetry")


def _version() -> str:
    try:
        return metadata.version("strands-vector-memory")
    except metadata.PackageNotFoundError:  # running from a source tree that was never installed
        return "0"


def _histogram(meter: Meter, name: str, unit: str, description: str, buckets: tuple[float, ...]) -> Histogram:
    try:
        return meter.create_histogram(name, unit, description, explicit_bucket_boundaries_advisory=buckets)
    except TypeError:  # opentelemetry-api before 1.23 has no bucket advice: the SDK's defaults then
        return meter.create_histogram(name, unit, description)


def _is_noop(provider: TracerProvider) -> bool:
    # The proxy is what the API hands out until an app sets a global provider.
    return isinstance(provider, (ProxyTracerProvider, NoOpTracerProvider))


def _clean(attributes: Mapping[str, AttributeValue]) -> dict[str, str | int | float | bool]:
    return {key: value for key, value in attributes.items() if value is not None}


class Telemetry:
    """OpenTelemetry spans and metrics plus structured log lines, for one memory service.

    Uses the OpenTelemetry API only: with no SDK configured (the default) every call is a
    no-op and nothing is sent anywhere. Pass providers to route to your own exporters
    (tests pass in-memory ones); otherwise the global providers are used, so an app that
    configures OpenTelemetry globally gets our data, even if it does so after this object
    was made (the API's proxies forward to the providers set later).

    The instruments are created once, here, so recording is a dictionary filter and a
    call into the API; with nothing configured a span costs a microsecond or two.

    Attributes must be metadata: counts, durations, keys, the ids that make up a scope,
    kinds and outcomes. Never pass memory content, queries or transcripts: they are user
    data, and telemetry backends are rarely held to the same access rules as the store.
    Keep metric attributes low in cardinality (a scope's tenant id, not a memory key).

    Args:
        tracer_provider: Where spans go; the global provider when ``None``.
        meter_provider: Where metrics go; the global provider when ``None``.
        logger: Where :meth:`log` writes; the ``strands_vector_memory`` logger when ``None``.
    """

    def __init__(
        self,
        *,
        tracer_provider: TracerProvider | None = None,
        meter_provider: MeterProvider | None = None,
        logger: logging.Logger | None = None,
    ) -> None:
        version = _version()
        self.logger = logger if logger is not None else logging.getLogger(LOGGER_NAME)
        self._tracer = trace.get_tracer(SCOPE_NAME, version, tracer_provider)
        # Whether spans can go anywhere, fixed for a provider passed in; for the global one
        # asked per span, since an app may configure OpenTelemetry after making us.
        self._tracing: bool | None = None if tracer_provider is None else not _is_noop(tracer_provider)
        meter = metrics.get_meter(SCOPE_NAME, version, meter_provider)
        self._recall_duration = _histogram(
            meter,
            METRIC_RECALL_DURATION,
            "s",
            "How long a recall took, embedding and ranking included.",
            _DURATION_BUCKETS,
        )
        self._recall_results = _histogram(
            meter, METRIC_RECALL_RESULTS, "{memory}", "How many memories a recall returned.", _RESULT_BUCKETS
        )
        self._recall_empty = meter.create_counter(
            METRIC_RECALL_EMPTY, unit="{recall}", description="Recalls that found nothing."
        )
        self._recalls = meter.create_counter(METRIC_RECALLS, unit="{recall}", description="Recalls made.")
        self._writes = meter.create_counter(METRIC_WRITES, unit="{memory}", description="Memories written.")
        self._dedup_hits = meter.create_counter(
            METRIC_DEDUP_HITS, unit="{memory}", description="Writes that matched a memory already stored."
        )
        self._conflicts = meter.create_counter(
            METRIC_CONFLICTS, unit="{conflict}", description="Writes that contradicted a stored memory."
        )
        self._expired = meter.create_counter(
            METRIC_EXPIRED, unit="{memory}", description="Memories removed because they expired."
        )
        self._forgotten = meter.create_counter(
            METRIC_FORGOTTEN, unit="{memory}", description="Memories deleted on request."
        )
        self._errors = meter.create_counter(
            METRIC_ERRORS, unit="{error}", description="Failed operations, by exception class (error.type)."
        )
        self._outboxes: list[tuple[Callable[[], int | None], dict[str, str | int | float | bool]]] = []
        self._outboxes_lock = threading.Lock()
        meter.create_observable_gauge(
            METRIC_OUTBOX_DEPTH,
            callbacks=[self._observe_outboxes],
            unit="{job}",
            description="Jobs waiting in the durable outbox (retries backing off included).",
        )

    # -- spans -------------------------------------------------------------------------

    @contextmanager
    def span(self, name: str, **attributes: AttributeValue) -> Iterator[Span]:
        """Run the block in span ``name``, made the current span so nested spans are its children.

        A failure is recorded on the span (exception event, status ``ERROR``) and counted
        once in ``memory.errors`` with ``error.type`` and ``memory.operation``, then
        re-raised: telemetry never changes what the caller sees.

        Args:
            name: The span name, one of the ``SPAN_*`` constants.
            **attributes: Span attributes; ``None`` values are dropped, so callers can pass
                optional ids without a branch each.

        Yields:
            The span, to add attributes known only once the work is done (its result count).
        """
        if not self._tracing_on():
            # Nothing can record this span: skip the API's no-op span and its context switch
            # (most of the cost), but still count the failure, as metrics may be on.
            try:
                yield INVALID_SPAN
            except Exception as exc:
                self._count_error(exc, {ATTR_OPERATION: name})
                raise
            return
        with self._tracer.start_as_current_span(
            name, attributes=_clean(attributes), record_exception=False, set_status_on_exception=False
        ) as current:
            try:
                yield current
            except Exception as exc:
                if current.is_recording():
                    current.record_exception(exc)
                    current.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))
                self._count_error(exc, {ATTR_OPERATION: name})
                raise

    def _tracing_on(self) -> bool:
        if self._tracing is not None:
            return self._tracing
        return not _is_noop(trace.get_tracer_provider())

    # -- metrics -----------------------------------------------------------------------

    def recorded_recall(self, *, seconds: float, results: int, **attributes: AttributeValue) -> None:
        """Record one finished recall: its duration, its result count, and whether it came back empty.

        Args:
            seconds: Wall time the recall took.
            results: Memories it returned.
            **attributes: Metric attributes (low cardinality); ``None`` values are dropped.
        """
        attrs = _clean(attributes)
        self._recall_duration.record(seconds, attrs)
        self._recall_results.record(results, attrs)
        self._recalls.add(1, attrs)
        if results == 0:
            self._recall_empty.add(1, attrs)

    def writes(self, count: int, **attributes: AttributeValue) -> None:
        """Count memories written (a batch counts each memory)."""
        self._writes.add(count, _clean(attributes))

    def dedup_hits(self, count: int = 1, **attributes: AttributeValue) -> None:
        """Count writes that found the same memory already stored."""
        self._dedup_hits.add(count, _clean(attributes))

    def conflicts(self, count: int = 1, **attributes: AttributeValue) -> None:
        """Count writes that contradicted a stored memory."""
        self._conflicts.add(count, _clean(attributes))

    def expired(self, count: int, **attributes: AttributeValue) -> None:
        """Count memories removed because their time ran out."""
        self._expired.add(count, _clean(attributes))

    def forgotten(self, count: int, **attributes: AttributeValue) -> None:
        """Count memories deleted on request (forget, erase a user)."""
        self._forgotten.add(count, _clean(attributes))

    def error(self, exc: BaseException, **attributes: AttributeValue) -> None:
        """Count a failure in ``memory.errors`` with ``error.type`` set to its class name.

        An exception already counted (by a :meth:`span` it passed through, or an earlier
        call) is not counted again: one failure is one error however many layers see it.

        Args:
            exc: The failure.
            **attributes: More metric attributes (low cardinality); ``None`` values are dropped.
        """
        self._count_error(exc, _clean(attributes))

    def _count_error(self, exc: BaseException, attributes: dict[str, str | int | float | bool]) -> None:
        if getattr(exc, _COUNTED, False):
            return
        with suppress(AttributeError, TypeError):  # an exception type with __slots__: counted, maybe twice
            setattr(exc, _COUNTED, True)
        attributes[ATTR_ERROR_TYPE] = type(exc).__name__
        self._errors.add(1, attributes)

    def watch_outbox(self, depth: Callable[[], int | None], **attributes: AttributeValue) -> None:
        """Report an outbox's pending jobs in the ``memory.outbox.depth`` gauge.

        Several outboxes may register; they share the one instrument, and readings with
        the same attributes are added up (the depth of all of them). ``depth`` is called
        only when a metric reader collects (never with nothing configured), possibly from
        the reader's thread. A reading that raises (a closed outbox) is skipped; one that
        returns ``None`` unregisters the callback, so an owner can hold its outbox weakly
        and let it go.

        Args:
            depth: Returns the pending job count, or ``None`` once the outbox is gone.
            **attributes: Gauge attributes for this outbox; ``None`` values are dropped.
        """
        with self._outboxes_lock:
            self._outboxes.append((depth, _clean(attributes)))

    def _observe_outboxes(self, _options: CallbackOptions) -> Iterable[Observation]:
        with self._outboxes_lock:
            watched = list(self._outboxes)
        totals: dict[frozenset[tuple[str, str | int | float | bool]], int] = {}
        gone: set[int] = set()
        for entry in watched:
            depth, attrs = entry
            try:
                value = depth()
            except Exception:  # one broken outbox must not hide the others' readings
                _internal_log.debug("outbox depth reading failed | skipped", exc_info=True)
                continue
            if value is None:
                gone.add(id(entry))
                continue
            key = frozenset(attrs.items())
            totals[key] = totals.get(key, 0) + int(value)
        if gone:
            with self._outboxes_lock:
                self._outboxes = [entry for entry in self._outboxes if id(entry) not in gone]
        return [Observation(total, dict(key)) for key, total in totals.items()]

    # -- logs --------------------------------------------------------------------------

    def log(self, event: str, level: int = logging.INFO, **fields: AttributeValue) -> None:
        """Write one structured log line: ``event=<event> key=value ...``.

        The fields also travel on the record as ``extra={"event": ..., "fields": {...}}``,
        for :class:`JsonLogFormatter` or any JSON formatter. Fields are metadata (counts,
        keys, scope ids, durations); a field named ``content``, ``text``, ``query`` or
        ``transcript`` is replaced by its length, since its value would be user data.
        ``None`` values are dropped. Nothing is formatted when the level is disabled.

        Args:
            event: What happened, a short dotted name such as ``memory.expired``.
            level: The logging level.
            **fields: The line's key/value pairs.
        """
        if not self.logger.isEnabledFor(level):
            return
        clean: dict[str, str | int | float | bool] = {}
        for key, value in fields.items():
            if value is None:
                continue
            clean[key] = f"<redacted {len(str(value))} chars>" if key in _CONTENT_FIELDS else value
        line = " ".join(f"{key}={_render(value)}" for key, value in (("event", event), *clean.items()))
        self.logger.log(level, "%s", line, extra={"event": event, "fields": clean}, stacklevel=2)


def _render(value: str | int | float | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if not isinstance(value, str):
        return str(value)
    if not value or any(ch.isspace() or ch in '="' for ch in value):
        return json.dumps(value)
    return value


class JsonLogFormatter(logging.Formatter):
    """Renders a log record as one JSON object per line, for machine-readable logs.

    Keys: ``ts`` (UTC, ISO 8601), ``level``, ``logger``, ``event`` (when the record has
    one, as :meth:`Telemetry.log` records do), the record's structured fields, then
    ``message`` and, for a logged exception, ``exception``. A field whose name collides
    with one of those keys is written as ``fields.<name>`` so it cannot overwrite it.
    Records from other loggers work too (they just have no event or fields)::

        handler = logging.StreamHandler()
        handler.setFormatter(JsonLogFormatter())
        logging.getLogger("strands_vector_memory").addHandler(handler)
    """

    def format(self, record: logging.LogRecord) -> str:
        """Render ``record`` as one JSON object (values JSON cannot hold become strings)."""
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, tz=timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
        }
        event = getattr(record, "event", None)
        if event is not None:
            out["event"] = event
        fields = getattr(record, "fields", None)
        if isinstance(fields, Mapping):
            for key, value in fields.items():
                out[f"fields.{key}" if key in _JSON_RECORD_KEYS else str(key)] = value
        out["message"] = record.getMessage()
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            out["exception"] = record.exc_text
        return json.dumps(out, default=str, ensure_ascii=False)
