"""A durable outbox: conversation transcripts and the memory writes they owe.

The plugin we replace kept conversations in memory and summarised them in a thread
pool, so a crash, a restart or a forgotten ``end_session`` lost them. Here every
completed turn is committed to a small SQLite file before the hook returns: its
messages join the conversation's transcript and, in the same transaction, the writes
it owes become jobs (store these turns; summarise this conversation). A worker turns
jobs into memories later and deletes them only once stored, so a job survives
``kill -9`` and is resumed by the next process. Every job's memory key is
deterministic, so a job that runs twice overwrites rather than duplicates.

Transcripts are bounded: past ``max_transcript_chars`` the oldest part is handed to a
summary job of its own and dropped from the buffer, so nothing is lost and nothing
grows without limit.

Erasure: :meth:`Outbox.forget` and :meth:`Outbox.forget_tenant` delete everything a
user (or tenant) has here and leave no copy in the files: the connection zeroes
deleted rows (``secure_delete``), and a forget ends with ``VACUUM`` (pages a b-tree
rebalance rebuilt keep stale copies of moved rows in their unused gap) and a
truncating checkpoint (the WAL keeps old page images). A job a live worker is
processing right then cannot be taken back from it, so forget waits for it: see
:meth:`Outbox.forget` for the order an erasure must follow.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

from ..core import BackendUnavailableError, ValidationError
from ._checks import check_number
from ._identity import Identity

__all__ = ["Job", "JobKind", "Outbox", "TranscriptMessage"]

JobKind = Literal["turns", "summary"]

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS conversations (
    conv_key TEXT PRIMARY KEY,
    identity TEXT NOT NULL,
    agent_name TEXT,
    next_seq INTEGER NOT NULL DEFAULT 0,
    part INTEGER NOT NULL DEFAULT 0,
    chars INTEGER NOT NULL DEFAULT 0,
    open INTEGER NOT NULL DEFAULT 0,
    last_active REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS transcript (
    conv_key TEXT NOT NULL,
    seq INTEGER NOT NULL,
    role TEXT NOT NULL,
    text TEXT NOT NULL,
    at REAL NOT NULL,
    PRIMARY KEY (conv_key, seq)
);
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    identity TEXT NOT NULL,
    agent_name TEXT,
    payload TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at REAL NOT NULL,
    owner TEXT,
    lease_until REAL,
    state TEXT NOT NULL DEFAULT 'pending',
    last_error TEXT,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_due ON jobs (state, next_at);
"""

#: The state of a job whose user was forgotten while a live worker held its lease: its
#: payload and identity are already wiped, and the row only tells :meth:`Outbox.forget`
#: when that worker is done (its ``complete``, ``fail`` or ``release`` deletes the row).
_FORGETTING: Final = "forgetting"
#: How often a forget looks again for in-flight jobs held by another process.
_FORGET_POLL: Final = 0.05
#: Matches the rows of one user, given (user_id, tenant_id); ``IS`` matches a NULL tenant.
_USER_MATCH: Final = "json_extract(identity, '$.user_id') = ? AND json_extract(identity, '$.tenant_id') IS ?"
_TENANT_MATCH: Final = "json_extract(identity, '$.tenant_id') = ?"

#: How much of each neighbouring message a stored turn keeps as retrieval context.
_CONTEXT_CHARS: Final = 1200
_CONTEXT_NEIGHBOURS: Final = 2


@dataclass(frozen=True, slots=True)
class TranscriptMessage:
    """One message of a conversation as the memory layer keeps it.

    ``role`` is ``user``, ``assistant`` or ``tool``; ``name`` is the agent that spoke
    (team conversations interleave several).
    """

    role: str
    text: str
    at: float
    name: str | None = None

    def label(self) -> str:
        """How the transcript shows the speaker."""
        if self.role == "assistant" and self.name:
            return f"assistant ({self.name})"
        return self.role


@dataclass(frozen=True, slots=True)
class Job:
    """A memory write owed by a conversation, claimed by one worker at a time."""

    id: str
    kind: JobKind
    identity: Identity
    agent_name: str | None
    payload: dict[str, Any]
    attempts: int


def _digest(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, ensure_ascii=False).encode("utf-8")).hexdigest()[:40]


def turn_key(identity: Identity, seq: int) -> str:
    """The memory key of turn ``seq`` of ``identity``'s conversation."""
    return "turn-" + _digest(identity.conversation_key, seq)


def summary_key(identity: Identity, part: int) -> str:
    """The memory key of summary ``part`` of ``identity``'s conversation."""
    return "summary-" + _digest(identity.conversation_key, part)


#: Owners of the outboxes open in this process: a lease held by one of them is live
#: even though its pid is ours (two plugins can share one file).
_LIVE_OWNERS: set[str] = set()


def _check_id(value: object, name: str) -> str:
    if not isinstance(value, str) or not value:
        raise ValidationError(f"{name} must be a non-empty string, got {value!r}", field=name)
    return value


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        return True
    return True


class Outbox:
    """The SQLite file behind the plugin's durability.

    Args:
        path: The outbox file (created with its directory).
        max_transcript_chars: Transcript size at which the oldest part is summarised
            on its own and dropped from the buffer.
        max_attempts: After this many failures a job is parked as ``failed`` (kept for
            inspection and :meth:`requeue_failed`, never deleted silently).
        base_delay: First retry delay in seconds; doubles per attempt, with jitter.
        max_delay: Longest retry delay.
        lease_seconds: How long a claimed job stays claimed by a live process.
        clock: Epoch seconds now (injectable for tests).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        max_transcript_chars: int = 60_000,
        max_attempts: int = 8,
        base_delay: float = 2.0,
        max_delay: float = 300.0,
        lease_seconds: float = 600.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        check_number("max_transcript_chars", max_transcript_chars, least=1000, integer=True)
        check_number("max_attempts", max_attempts, least=1, integer=True)
        for name, seconds in (("base_delay", base_delay), ("max_delay", max_delay), ("lease_seconds", lease_seconds)):
            check_number(name, seconds, least=0)
        self.path = Path(path)
        self.max_transcript_chars = max_transcript_chars
        self.max_attempts = max_attempts
        self.base_delay = float(base_delay)
        self.max_delay = float(max_delay)
        self.lease_seconds = float(lease_seconds)
        self._clock = clock
        self._owner = f"{os.getpid()}:{uuid.uuid4().hex[:12]}"
        _LIVE_OWNERS.add(self._owner)
        self._lock = threading.Lock()
        # Notified whenever this process finishes with a claimed job, so a forget waiting
        # for an in-flight job of its user wakes at once instead of at its next poll.
        self._settled = threading.Condition()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30.0)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")  # an acknowledged turn survives power loss too
            # A deleted transcript row is zeroed in place, not left in a free page: what a
            # forgotten user said must not be recoverable from the file (see forget()).
            self._db.execute("PRAGMA secure_delete=ON")
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise BackendUnavailableError(f"cannot open the memory outbox at {self.path}: {exc}") from exc

    def __repr__(self) -> str:
        return f"Outbox({str(self.path)!r})"

    def close(self) -> None:
        """Close the file (pending jobs stay in it for the next process)."""
        _LIVE_OWNERS.discard(self._owner)
        with self._lock:
            self._db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    yield self._db
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                raise BackendUnavailableError(f"memory outbox {self.path} failed: {exc}") from exc

    # -- conversations -------------------------------------------------------------

    def commit_turn(
        self,
        identity: Identity,
        messages: Sequence[TranscriptMessage],
        *,
        agent_name: str | None = None,
        store_turns: bool = True,
        turn_roles: Sequence[str] = ("user", "assistant"),
        summarise: bool = True,
        end_session: bool = False,
    ) -> None:
        """Record a completed turn and the writes it owes, atomically.

        ``store_turns`` owes one memory per message with text whose role is in
        ``turn_roles``; ``end_session`` closes the conversation (its summary is owed and
        its transcript dropped).
        """
        now = self._clock()
        key = identity.conversation_key
        # A lone surrogate cannot be stored as UTF-8: it becomes "?" rather than failing the turn.
        messages = [
            TranscriptMessage(m.role, m.text.encode("utf-8", "replace").decode("utf-8"), m.at, m.name) for m in messages
        ]
        with self._transaction() as db:
            row = db.execute("SELECT next_seq, chars FROM conversations WHERE conv_key = ?", (key,)).fetchone()
            if row is None:
                db.execute(
                    "INSERT INTO conversations (conv_key, identity, agent_name, last_active) VALUES (?, ?, ?, ?)",
                    (key, identity.to_json(), agent_name, now),
                )
                next_seq, chars = 0, 0
            else:
                next_seq, chars = int(row[0]), int(row[1])
            first_seq = next_seq
            for message in messages:
                db.execute(
                    "INSERT INTO transcript (conv_key, seq, role, text, at) VALUES (?, ?, ?, ?, ?)",
                    (key, next_seq, message.label(), message.text, message.at),
                )
                next_seq += 1
                chars += len(message.text)
            db.execute(
                "UPDATE conversations SET identity = ?, agent_name = ?, next_seq = ?, chars = ?, open = 1,"
                " last_active = ? WHERE conv_key = ?",
                (identity.to_json(), agent_name, next_seq, chars, now, key),
            )
            if store_turns and messages:
                self._owe_turns(db, identity, agent_name, first_seq, messages, now, turn_roles)
            if end_session:
                self._close(db, key, identity, agent_name, now, summarise=summarise)
            elif chars > self.max_transcript_chars:
                self._roll_over(db, key, identity, agent_name, chars, now, summarise=summarise)

    def _owe_turns(
        self,
        db: sqlite3.Connection,
        identity: Identity,
        agent_name: str | None,
        first_seq: int,
        messages: Sequence[TranscriptMessage],
        now: float,
        roles: Sequence[str],
    ) -> None:
        """A job storing each message of ``roles`` with text, with its neighbours as context."""
        earlier = db.execute(
            "SELECT text FROM transcript WHERE conv_key = ? AND seq < ? AND role != 'tool' ORDER BY seq DESC LIMIT ?",
            (identity.conversation_key, first_seq, _CONTEXT_NEIGHBOURS),
        ).fetchall()
        texts = [str(r[0]) for r in reversed(earlier)]
        spoken = [(first_seq + i, m) for i, m in enumerate(messages) if m.role != "tool" and m.text.strip()]
        window = texts + [m.text for _, m in spoken]
        offset = len(texts)
        turns = []
        for i, (seq, message) in enumerate(spoken):
            if message.role not in roles:
                continue
            position = offset + i
            around = window[max(0, position - _CONTEXT_NEIGHBOURS) : position] + window[position + 1 : position + 2]
            turns.append(
                {
                    "key": turn_key(identity, seq),
                    "seq": seq,
                    "role": message.role,
                    "name": message.name,
                    "text": message.text,
                    "at": message.at,
                    "context": [t[:_CONTEXT_CHARS] for t in around if t.strip()],
                }
            )
        if turns:
            job_id = f"turns:{identity.conversation_key}:{first_seq}"
            self._enqueue(db, job_id, "turns", identity, agent_name, {"turns": turns}, now)

    def _roll_over(
        self,
        db: sqlite3.Connection,
        key: str,
        identity: Identity,
        agent_name: str | None,
        chars: int,
        now: float,
        *,
        summarise: bool,
    ) -> None:
        """Hand the oldest messages (down to half the limit) to a summary job of their own."""
        rows = db.execute("SELECT seq, text FROM transcript WHERE conv_key = ? ORDER BY seq", (key,)).fetchall()
        keep_from, remaining = None, chars
        for seq, text in rows:
            if remaining <= self.max_transcript_chars // 2:
                keep_from = int(seq)
                break
            remaining -= len(str(text))
        if keep_from is None:  # one huge message: summarise everything
            self._close(db, key, identity, agent_name, now, summarise=summarise, keep_open=True)
            return
        self._close(db, key, identity, agent_name, now, summarise=summarise, keep_open=True, before_seq=keep_from)

    def _close(
        self,
        db: sqlite3.Connection,
        key: str,
        identity: Identity,
        agent_name: str | None,
        now: float,
        *,
        summarise: bool,
        keep_open: bool = False,
        before_seq: int | None = None,
    ) -> None:
        """Owe a summary of the buffered transcript (or its part before ``before_seq``) and drop it."""
        bound = "" if before_seq is None else " AND seq < ?"
        args: tuple[Any, ...] = (key,) if before_seq is None else (key, before_seq)
        rows = db.execute(f"SELECT role, text, at FROM transcript WHERE conv_key = ?{bound} ORDER BY seq", args)
        transcript = [{"role": r, "text": t, "at": a} for r, t, a in rows.fetchall()]
        part = int(db.execute("SELECT part FROM conversations WHERE conv_key = ?", (key,)).fetchone()[0])
        if summarise and transcript:
            payload = {"key": summary_key(identity, part), "part": part, "transcript": transcript}
            self._enqueue(db, f"summary:{key}:{part}", "summary", identity, agent_name, payload, now)
        db.execute(f"DELETE FROM transcript WHERE conv_key = ?{bound}", args)
        chars = db.execute("SELECT COALESCE(SUM(LENGTH(text)), 0) FROM transcript WHERE conv_key = ?", (key,))
        db.execute(
            "UPDATE conversations SET part = part + ?, chars = ?, open = ? WHERE conv_key = ?",
            (1 if transcript else 0, int(chars.fetchone()[0]), 1 if keep_open else 0, key),
        )

    def close_conversation(self, identity: Identity, *, summarise: bool = True) -> None:
        """Close ``identity``'s conversation now (as ``end_session`` does)."""
        with self._transaction() as db:
            row = db.execute(
                "SELECT agent_name FROM conversations WHERE conv_key = ? AND open = 1", (identity.conversation_key,)
            ).fetchone()
            if row is not None:
                self._close(db, identity.conversation_key, identity, row[0], self._clock(), summarise=summarise)

    def close_idle(self, idle_seconds: float, *, summarise: bool = True) -> int:
        """Close every conversation quiet for ``idle_seconds``; returns how many."""
        now = self._clock()
        with self._transaction() as db:
            rows = db.execute(
                "SELECT conv_key, identity, agent_name FROM conversations WHERE open = 1 AND last_active <= ?",
                (now - idle_seconds,),
            ).fetchall()
            for key, identity, agent_name in rows:
                self._close(db, key, Identity.from_json(identity), agent_name, now, summarise=summarise)
        return len(rows)

    def transcript(self, identity: Identity) -> list[TranscriptMessage]:
        """The buffered (not yet summarised) messages of ``identity``'s conversation."""
        with self._lock:
            rows = self._db.execute(
                "SELECT role, text, at FROM transcript WHERE conv_key = ? ORDER BY seq", (identity.conversation_key,)
            ).fetchall()
        return [TranscriptMessage(role=r, text=t, at=a) for r, t, a in rows]

    def open_conversations(self) -> int:
        """How many conversations have buffered turns and no summary yet."""
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM conversations WHERE open = 1").fetchone()[0])

    # -- jobs ---------------------------------------------------------------------

    def _enqueue(
        self,
        db: sqlite3.Connection,
        job_id: str,
        kind: JobKind,
        identity: Identity,
        agent_name: str | None,
        payload: dict[str, Any],
        now: float,
    ) -> None:
        db.execute(
            "INSERT OR REPLACE INTO jobs (id, kind, identity, agent_name, payload, next_at, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (job_id, kind, identity.to_json(), agent_name, json.dumps(payload, ensure_ascii=False), now, now),
        )

    def claim(
        self,
        *,
        kinds: Sequence[JobKind] = ("turns", "summary"),
        limit: int = 16,
        due_only: bool = True,
        exclude: Collection[str] = (),
        user: tuple[str | None, str] | None = None,
    ) -> list[Job]:
        """Lease up to ``limit`` pending jobs to this process, oldest first.

        A job leased by a process that has died (or whose lease ran out) is taken over,
        which is how a restart resumes the work a crash interrupted. Jobs whose ids are
        in ``exclude`` are left alone (``flush`` tries each job once); with ``user``
        (tenant id, user id) only that user's jobs are taken.
        """
        if not kinds:
            return []
        now = self._clock()
        marks = ",".join("?" for _ in kinds)
        due = " AND next_at <= ?" if due_only else ""
        args: tuple[Any, ...] = (*kinds, now) if due_only else tuple(kinds)
        claimed: list[Job] = []
        with self._transaction() as db:
            rows = db.execute(
                f"SELECT id, kind, identity, agent_name, payload, attempts, owner, lease_until FROM jobs"
                f" WHERE state = 'pending' AND kind IN ({marks}){due} ORDER BY created_at, id",
                args,
            ).fetchall()
            for job_id, kind, identity, agent_name, payload, attempts, owner, lease_until in rows:
                if len(claimed) >= limit:
                    break
                if job_id in exclude:
                    continue
                who = Identity.from_json(identity)
                if user is not None and (who.tenant_id, who.user_id) != user:
                    continue
                if owner != self._owner and self._held(owner, lease_until, now):
                    continue
                db.execute(
                    "UPDATE jobs SET owner = ?, lease_until = ? WHERE id = ?",
                    (self._owner, now + self.lease_seconds, job_id),
                )
                claimed.append(Job(job_id, kind, who, agent_name, json.loads(payload), int(attempts)))
        return claimed

    def _held(self, owner: str | None, lease_until: float | None, now: float) -> bool:
        """Whether a live worker (of any process, this one included) holds a job's lease."""
        if owner is None or lease_until is None or lease_until <= now:
            return False
        if owner == self._owner:
            return True
        pid = int(str(owner).split(":", 1)[0])
        return owner in _LIVE_OWNERS if pid == os.getpid() else _pid_alive(pid)

    def _settle(self) -> None:
        with self._settled:
            self._settled.notify_all()

    def complete(self, job: Job) -> None:
        """The job's memories are stored: forget the job.

        A job whose user was forgotten meanwhile is deleted all the same (its row is a
        content-free marker by then, or gone), so completing it brings nothing back.
        """
        with self._transaction() as db:
            db.execute("DELETE FROM jobs WHERE id = ? AND owner = ?", (job.id, self._owner))
        self._settle()

    def release(self, job: Job) -> None:
        """Give a claimed job back untouched (e.g. no model to summarise it with yet).

        A job whose user was forgotten meanwhile is dropped instead of given back.
        """
        with self._transaction() as db:
            forgotten = db.execute(
                "DELETE FROM jobs WHERE id = ? AND owner = ? AND state = ?", (job.id, self._owner, _FORGETTING)
            )
            if not forgotten.rowcount:
                db.execute(
                    "UPDATE jobs SET owner = NULL, lease_until = NULL WHERE id = ? AND owner = ? AND state = 'pending'",
                    (job.id, self._owner),
                )
        self._settle()

    def fail(self, job: Job, error: BaseException, *, permanent: bool = False) -> float | None:
        """Schedule a retry with jittered exponential backoff; park it after ``max_attempts``.

        ``permanent`` parks it at once (its data was rejected, so retrying cannot help).
        Returns the delay before the retry, or ``None`` once the job is parked. A job
        whose user was forgotten meanwhile is dropped, not rescheduled (and ``None`` is
        returned): a retry would write a forgotten user's memory, and the error message
        could quote their text.
        """
        attempts = job.attempts + 1
        message = f"{type(error).__name__}: {error}"[:2000]
        try:
            with self._transaction() as db:
                forgotten = db.execute(
                    "DELETE FROM jobs WHERE id = ? AND owner = ? AND state = ?", (job.id, self._owner, _FORGETTING)
                )
                if forgotten.rowcount:
                    return None
                if permanent or attempts >= self.max_attempts:
                    db.execute(
                        "UPDATE jobs SET attempts = ?, state = 'failed', owner = NULL, last_error = ?"
                        " WHERE id = ? AND owner = ? AND state = 'pending'",
                        (attempts, message, job.id, self._owner),
                    )
                    return None
                delay = float(min(self.max_delay, self.base_delay * 2.0 ** (attempts - 1)) * random.uniform(0.5, 1.0))
                db.execute(
                    "UPDATE jobs SET attempts = ?, next_at = ?, owner = NULL, lease_until = NULL, last_error = ?"
                    " WHERE id = ? AND owner = ? AND state = 'pending'",
                    (attempts, self._clock() + delay, message, job.id, self._owner),
                )
            return delay
        finally:
            self._settle()

    def requeue_failed(self) -> int:
        """Give every parked job a fresh set of attempts; returns how many."""
        with self._transaction() as db:
            cursor = db.execute(
                "UPDATE jobs SET state = 'pending', attempts = 0, next_at = ? WHERE state = 'failed'", (self._clock(),)
            )
            return int(cursor.rowcount)

    def pending(self, *, kinds: Sequence[JobKind] = ("turns", "summary")) -> int:
        """How many jobs are waiting (including ones backing off)."""
        marks = ",".join("?" for _ in kinds)
        with self._lock:
            row = self._db.execute(
                f"SELECT COUNT(*) FROM jobs WHERE state = 'pending' AND kind IN ({marks})", tuple(kinds)
            ).fetchone()
        return int(row[0])

    def due_for(self, user: tuple[str | None, str], *, kinds: Sequence[JobKind] = ("turns",)) -> int:
        """How many due jobs belong to ``user`` (tenant id, user id); a plain read, no write lock."""
        marks = ",".join("?" for _ in kinds)
        with self._lock:
            rows = self._db.execute(
                f"SELECT identity FROM jobs WHERE state = 'pending' AND kind IN ({marks}) AND next_at <= ?",
                (*kinds, self._clock()),
            ).fetchall()
        owners = (Identity.from_json(identity) for (identity,) in rows)
        return sum(1 for who in owners if (who.tenant_id, who.user_id) == user)

    def failed(self) -> list[tuple[str, str]]:
        """Parked jobs as (id, last error)."""
        with self._lock:
            rows = self._db.execute("SELECT id, last_error FROM jobs WHERE state = 'failed' ORDER BY id").fetchall()
        return [(str(i), str(e)) for i, e in rows]

    def next_due(self) -> float | None:
        """When the earliest pending job is due (epoch seconds), if any."""
        with self._lock:
            row = self._db.execute("SELECT MIN(next_at) FROM jobs WHERE state = 'pending'").fetchone()
        value = row[0]
        return None if value is None else float(value)

    # -- erasure ------------------------------------------------------------------

    def forget(self, *, user_id: str, tenant_id: str | None = None, timeout: float = 60.0) -> int:
        """Delete everything held for one user and leave no copy of it in the files.

        Every conversation, buffered transcript message and job (pending, backing off,
        leased or parked as failed) whose identity has exactly this ``user_id`` and
        ``tenant_id`` goes, in one transaction; ``tenant_id=None`` means the user's
        identities without a tenant (a user of the same id under a tenant is another
        user and is kept). Then the file is rewritten (``VACUUM``) and the WAL emptied,
        so a byte search of the outbox files finds nothing the user said.

        A job a live worker has claimed cannot be taken back from it: the worker holds
        the texts in memory and may be writing them to the vector store right now. Such
        a job is reduced to a content-free marker, and this call waits until its worker
        is done with it (``complete``, ``fail`` and ``release`` all delete the marker;
        a lease that runs out or a worker process that dies count as done). So when
        this returns, no memory of the user is still on its way to the store, and an
        erasure must go in this order:

        1. stop the user's new turns from arriving (they would be new data);
        2. ``forget`` here (purges the outbox, then waits out in-flight jobs);
        3. delete the user's memories from the vector store (this catches whatever an
           in-flight job wrote), then scrub the store's files.

        Deleting memories first and purging the outbox second would let a job the
        worker held write a memory after the delete.

        Args:
            user_id: The user, as in the identity their turns were committed with.
            tenant_id: Their tenant; ``None`` for identities without one.
            timeout: Longest wait, in seconds, for in-flight jobs.

        Returns:
            How many rows were removed (conversations, transcript messages and jobs).

        Raises:
            ValidationError: An id is not a non-empty string.
            BackendUnavailableError: The file could not be written, or a worker still
                held one of the user's jobs after ``timeout`` (whatever that job writes
                to the store may land after this call: call ``forget`` again, which
                waits again, before deleting the memories), or another process kept the
                WAL in use. The deletion itself is committed either way.
        """
        args: tuple[str | None, ...] = (
            _check_id(user_id, "user_id"),
            None if tenant_id is None else _check_id(tenant_id, "tenant_id"),
        )
        return self._purge(_USER_MATCH, args, timeout)

    def forget_tenant(self, tenant_id: str, *, timeout: float = 60.0) -> int:
        """:meth:`forget` every user of ``tenant_id`` at once (tenant offboarding).

        Same guarantees, same order of erasure and same errors as :meth:`forget`.
        """
        return self._purge(_TENANT_MATCH, (_check_id(tenant_id, "tenant_id"),), timeout)

    def _purge(self, match: str, args: tuple[str | None, ...], timeout: float) -> int:
        check_number("timeout", timeout, least=0)
        now = self._clock()
        with self._transaction() as db:
            keys = {str(k) for (k,) in db.execute(f"SELECT conv_key FROM conversations WHERE {match}", args)}
            jobs = db.execute(
                f"SELECT id, identity, owner, lease_until FROM jobs WHERE state != ? AND {match}", (_FORGETTING, *args)
            ).fetchall()
            # Belt and braces: a job's conversation has its transcript under the same key.
            keys.update(Identity.from_json(identity).conversation_key for _, identity, _, _ in jobs)
            removed = sum(db.execute("DELETE FROM transcript WHERE conv_key = ?", (k,)).rowcount for k in keys)
            removed += db.execute(f"DELETE FROM conversations WHERE {match}", args).rowcount
            in_flight = [(job_id,) for job_id, _, owner, lease_until in jobs if self._held(owner, lease_until, now)]
            db.executemany(
                "UPDATE jobs SET state = ?, identity = '{}', payload = '{}', agent_name = NULL, last_error = NULL"
                " WHERE id = ?",
                [(_FORGETTING, job_id) for (job_id,) in in_flight],
            )
            removed += len(in_flight)
            removed += db.execute(f"DELETE FROM jobs WHERE state != ? AND {match}", (_FORGETTING, *args)).rowcount
        try:
            self._await_forgetting(timeout)
        finally:
            self._compact()
        return removed

    def _await_forgetting(self, timeout: float) -> None:
        """Wait until no forgotten job is held by a live worker, dropping the markers of the others.

        It waits for every marker, not only this call's: a forget retried after a
        timeout no longer knows which markers were its user's (they are content-free).
        """
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                rows = self._db.execute("SELECT id, owner, lease_until FROM jobs WHERE state = ?", (_FORGETTING,))
                markers = rows.fetchall()
            now = self._clock()
            done = [(job_id,) for job_id, owner, lease_until in markers if not self._held(owner, lease_until, now)]
            if done:
                with self._transaction() as db:
                    db.executemany("DELETE FROM jobs WHERE id = ? AND state = ?", [(*d, _FORGETTING) for d in done])
            if len(done) == len(markers):
                return
            left = deadline - time.monotonic()
            if left <= 0:
                held = sorted(str(job_id) for job_id, _, _ in markers if (job_id,) not in done)
                raise BackendUnavailableError(
                    f"memory outbox {self.path}: {len(held)} job(s) of a forgotten user are still being processed "
                    f"by a worker after {timeout:g}s ({', '.join(held[:3])}); their memories may be written after "
                    "this call: call forget again before deleting the memories"
                )
            with self._settled:
                self._settled.wait(min(_FORGET_POLL, left))

    def _compact(self) -> None:
        """Rewrite the file from its live rows and empty the WAL, so no deleted byte survives."""
        with self._lock:
            try:
                self._db.execute("VACUUM")
                busy = self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
            except sqlite3.Error as exc:
                raise BackendUnavailableError(f"memory outbox {self.path} could not be compacted: {exc}") from exc
        if busy:
            raise BackendUnavailableError(
                f"memory outbox {self.path}: another process kept reading, so the write-ahead log still holds "
                "deleted rows; call forget again"
            )

    def export(self, *, user_id: str, tenant_id: str | None = None) -> list[dict[str, Any]]:
        """What the outbox holds about one user that is not a memory yet, JSON-ready.

        For a data-subject access request: the buffered (not yet summarised) transcript
        messages of each of the user's conversations, then the queued jobs' texts (turns
        waiting to be stored, transcripts waiting to be summarised), pending or parked.
        Identity matching is as in :meth:`forget`. Each item has a ``source``:

        * ``"transcript"``: ``identity``, ``agent_name``, ``seq``, ``role``, ``text``, ``at``;
        * ``"turn"`` (one per owed turn memory): ``identity``, ``agent_name``, ``state``,
          ``key`` (the memory's future key), ``role``, ``speaker``, ``text``, ``at``,
          ``context`` (the neighbouring texts stored with it);
        * ``"summary"`` (one per owed summary): ``identity``, ``agent_name``, ``state``,
          ``key``, ``part``, ``transcript`` (list of ``role``, ``text``, ``at``).

        Raises:
            ValidationError: An id is not a non-empty string.
        """
        args = (_check_id(user_id, "user_id"), None if tenant_id is None else _check_id(tenant_id, "tenant_id"))
        with self._lock:
            conversations = self._db.execute(
                f"SELECT conv_key, identity, agent_name FROM conversations WHERE {_USER_MATCH} ORDER BY last_active",
                args,
            ).fetchall()
            messages = {
                key: self._db.execute(
                    "SELECT seq, role, text, at FROM transcript WHERE conv_key = ? ORDER BY seq", (key,)
                ).fetchall()
                for key, _, _ in conversations
            }
            jobs = self._db.execute(
                f"SELECT kind, identity, agent_name, payload, state FROM jobs WHERE state != ? AND {_USER_MATCH}"
                " ORDER BY created_at, id",
                (_FORGETTING, *args),
            ).fetchall()
        items: list[dict[str, Any]] = []
        for key, identity, agent_name in conversations:
            who = json.loads(identity)
            for seq, role, text, at in messages[key]:
                items.append(
                    {
                        "source": "transcript",
                        "identity": who,
                        "agent_name": agent_name,
                        "seq": seq,
                        "role": role,
                        "text": text,
                        "at": at,
                    }
                )
        for kind, identity, agent_name, payload, state in jobs:
            who, body = json.loads(identity), json.loads(payload)
            common = {"identity": who, "agent_name": agent_name, "state": state}
            if kind == "turns":
                for turn in body.get("turns", []):
                    items.append(
                        {
                            "source": "turn",
                            **common,
                            "key": turn.get("key"),
                            "role": turn.get("role"),
                            "speaker": turn.get("name"),
                            "text": turn.get("text"),
                            "at": turn.get("at"),
                            "context": list(turn.get("context", [])),
                        }
                    )
            else:
                items.append(
                    {
                        "source": "summary",
                        **common,
                        "key": body.get("key"),
                        "part": body.get("part"),
                        "transcript": list(body.get("transcript", [])),
                    }
                )
        return items
