"""The background worker that turns outbox jobs into memories.

One daemon thread per plugin. It owns no state of its own: everything it needs is in
the outbox, so a worker started by the next process picks up exactly where a crashed
one stopped. Jobs are processed one at a time under a lock, which lets ``flush()`` run
them from the caller's thread without racing the background thread.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from typing import Final

from strands.models import Model

from .._telemetry import ATTR_AGENT_NAME, ATTR_JOB_KIND, ATTR_TRANSCRIPT_MESSAGES, SPAN_SUMMARISE, Telemetry
from ..core import MemoryType, ValidationError
from ..memory import NewMemory, VectorMemory
from ._fitting import fit_context, fit_text
from ._identity import Identity
from ._outbox import Job, JobKind, Outbox
from ._summary import summarise

__all__ = ["MemoryWorker"]

_log = logging.getLogger("strands_vector_memory.strands")

ModelResolver = Callable[[str | None], Model | None]
"""Finds the model to summarise with, by the name of the agent that owned the conversation."""

_IDLE: Final = 5.0  # longest sleep between looks at the outbox when nothing is due
_SOURCE_TURN: Final = "conversation"
_SOURCE_SUMMARY: Final = "conversation-summary"


class MemoryWorker:
    """Processes outbox jobs in a background thread (and on :meth:`flush`).

    Args:
        outbox: Where jobs wait.
        memory: Where their memories go.
        resolve_model: The model to summarise a conversation with, or ``None`` when no
            agent is attached yet (summary jobs then wait; turn jobs still run).
        idle_timeout: Close conversations quiet this long (seconds); ``None`` = never.
        summary_words: Length the summary prompt asks for.
        clock: Epoch seconds now.
        telemetry: Where the summary spans, job failures and the outbox depth gauge go;
            by default the memory service's own, so one service reports in one place.
    """

    def __init__(
        self,
        outbox: Outbox,
        memory: VectorMemory,
        *,
        resolve_model: ModelResolver,
        idle_timeout: float | None,
        summarise_conversations: bool = True,
        summary_words: int = 200,
        clock: Callable[[], float] = time.time,
        telemetry: Telemetry | None = None,
    ) -> None:
        self.outbox = outbox
        self.memory = memory
        self.telemetry: Telemetry = telemetry or memory.telemetry
        # Held weakly: the telemetry may outlive this worker (it is the service's), and a
        # gauge reading must not keep a closed plugin's outbox alive; None unregisters.
        outbox_ref = weakref.ref(outbox)
        self.telemetry.watch_outbox(lambda: None if (box := outbox_ref()) is None else box.pending())
        self._resolve_model = resolve_model
        self.idle_timeout = idle_timeout
        self.summarise_conversations = summarise_conversations
        self.summary_words = summary_words
        self._clock = clock
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._processing = threading.Lock()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def start(self) -> None:
        """Start the background thread (idempotent)."""
        with self._start_lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="strands-memory-worker", daemon=True)
            self._thread.start()

    def wake(self) -> None:
        """Look at the outbox now rather than after the current sleep."""
        self._wake.set()

    def stop(self, timeout: float | None = 10.0) -> None:
        """Stop the background thread (pending jobs stay in the outbox)."""
        self._stop.set()
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.close_idle()
                self.run_once()
            except Exception:  # the loop must outlive any one bad job or a locked file
                _log.exception("memory worker pass failed | retrying shortly")
            self._wake.wait(self._sleep())
            self._wake.clear()

    def _sleep(self) -> float:
        due = self.outbox.next_due()
        delay = _IDLE if due is None else max(0.05, min(_IDLE, due - self._clock()))
        if self.idle_timeout is not None:
            delay = min(delay, max(0.05, self.idle_timeout / 4))
        return delay

    def close_idle(self) -> int:
        """Close conversations past the idle timeout (their summaries become jobs)."""
        if self.idle_timeout is None:
            return 0
        closed = self.outbox.close_idle(self.idle_timeout, summarise=self.summarise_conversations)
        if closed:
            _log.info("conversations=<%d> | closed idle conversations", closed)
        return closed

    def _kinds(self) -> Sequence[JobKind]:
        return ("turns", "summary") if self._resolve_model(None) is not None else ("turns",)

    def run_once(self) -> int:
        """Process the jobs that are due now; returns how many were stored."""
        with self._processing:
            return sum(self._process(job) for job in self.outbox.claim(kinds=self._kinds()))

    def flush(self, timeout: float | None = 30.0, *, kinds: Sequence[JobKind] = ("turns", "summary")) -> int:
        """Try every pending job once (backoff ignored); returns how many remain pending.

        A job that fails here is rescheduled as usual, not retried in a tight loop.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        attempted: set[str] = set()
        wanted = [k for k in kinds if k in self._kinds()]
        while deadline is None or time.monotonic() < deadline:
            with self._processing:
                jobs = self.outbox.claim(kinds=wanted, due_only=False, limit=64, exclude=attempted)
                if not jobs:
                    break
                for job in jobs:
                    attempted.add(job.id)
                    self._process(job)
        return self.outbox.pending(kinds=kinds)

    def catch_up(self, identity: Identity, timeout: float = 2.0) -> int:
        """Store this user's due turn jobs now, so the recall about to run can see them.

        Read-your-own-writes across conversations: what a user said a moment ago in an
        ended conversation is recallable in the next one, even before the background
        thread gets to it. It is on the per-turn path, so it costs one plain read when
        the user has nothing waiting (the usual case) and never waits on other users'
        work for long: if the worker is busy (e.g. in a summary's model call) for
        longer than ``timeout``, the turn goes ahead and the worker stores the jobs
        soon after. Only jobs that are due run (a job backing off after a failure does
        not make every turn wait), and summaries are left to the worker. Returns how
        many jobs were stored.
        """
        user = (identity.tenant_id, identity.user_id)
        if not self.outbox.due_for(user):
            return 0
        if not self._processing.acquire(timeout=timeout):
            _log.debug("user=<%s> | worker busy | recall runs before this user's turns are stored", identity.user_id)
            return 0
        try:
            jobs = self.outbox.claim(kinds=("turns",), limit=64, user=user)
            return sum(self._process(job) for job in jobs)
        finally:
            self._processing.release()

    def _process(self, job: Job) -> int:
        try:
            if job.kind == "turns":
                self._store_turns(job)
            else:
                model = self._resolve_model(job.agent_name)
                if model is None:
                    self.outbox.release(job)
                    return 0
                self._store_summary(job, model)
        except ValidationError as exc:  # the data itself is bad: retrying cannot help
            self.telemetry.error(exc, **{ATTR_JOB_KIND: job.kind})
            _log.error("job=<%s>, reason=<%s> | memory job rejected | parked", job.id, exc)
            self.outbox.fail(job, exc, permanent=True)
            return 0
        except Exception as exc:
            self.telemetry.error(exc, **{ATTR_JOB_KIND: job.kind})
            delay = self.outbox.fail(job, exc)
            if delay is None:
                _log.error("job=<%s>, reason=<%s> | memory job failed too often | parked", job.id, exc)
            else:
                _log.warning("job=<%s>, reason=<%s>, retry_in=<%.1fs> | memory job failed", job.id, exc, delay)
            return 0
        self.outbox.complete(job)
        return 1

    def _store_turns(self, job: Job) -> None:
        items = []
        for turn in job.payload["turns"]:
            metadata = {"role": turn["role"]}
            if turn.get("name"):
                metadata["speaker"] = turn["name"]
            items.append(
                NewMemory(
                    content=fit_text(turn["text"], self.memory.content_limit),
                    memory_type=MemoryType.EPISODIC,
                    source=_SOURCE_TURN,
                    key=turn["key"],
                    created_at=turn["at"],
                    context=fit_context(turn["context"]),
                    metadata=metadata,
                )
            )
        self.memory.remember_many(items, scope=job.identity.write_scope)

    def _store_summary(self, job: Job, model: Model) -> None:
        transcript = job.payload["transcript"]
        attributes = {
            ATTR_JOB_KIND: job.kind,
            ATTR_TRANSCRIPT_MESSAGES: len(transcript),
            ATTR_AGENT_NAME: job.agent_name,
        }
        with self.telemetry.span(SPAN_SUMMARISE, **attributes):  # the model call is the slow, failure-prone part
            text = summarise(model, transcript, max_words=self.summary_words)
            self.memory.remember(
                fit_text(text, self.memory.content_limit),
                scope=job.identity.write_scope,
                memory_type=MemoryType.SUMMARY,
                source=_SOURCE_SUMMARY,
                key=job.payload["key"],
                event_time=float(transcript[-1]["at"]),
                metadata={"part": int(job.payload["part"])},
            )
